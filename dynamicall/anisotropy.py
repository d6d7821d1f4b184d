r"""Velocity anisotropy models beta(r) = 1 - sigma_t^2 / sigma_r^2.

Each model gives ``beta_at(r)`` and the logarithm of the integrating factor of the Jeans
equation, :math:`\ln f(r) = \int 2\beta(r)/r\, dr` (up to a constant), in closed form:

================  ===================================================  ==============================================
model             beta(r)                                              ln f(r)
================  ===================================================  ==============================================
Constant          beta                                                 2 beta ln r
OsipkovMerritt    r^2 / (r^2 + r_a^2)                                  ln(1 + r^2 / r_a^2)
BaesVanHese       (beta_0 + beta_inf x^eta) / (1 + x^eta), x = r/r_a   2 beta_0 ln x + 2 (beta_inf - beta_0)/eta ln(1 + x^eta)
================  ===================================================  ==============================================

beta must stay below 1 (radial orbits); bad values raise ``ValueError``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ._pytree import parameter, pytree_dataclass
from .units import to_kpc


class Anisotropy:
    """Base class of anisotropy models: subclasses define ``beta_at`` and ``log_f``."""

    #: Name of the Mamon & Lokas (2005) kernel for this model, or None.
    kernel = None

    def beta_at(self, r):
        """Anisotropy beta at 3D radius ``r`` (kpc)."""
        raise NotImplementedError

    def log_f(self, r):
        """ln of the integrating factor f(r) = exp(int 2 beta / r dr), up to a constant."""
        raise NotImplementedError

    def _r(self, r):
        return jnp.asarray(to_kpc(r))


@pytree_dataclass
class Constant(Anisotropy):
    """Radially constant anisotropy.

    Parameters
    ----------
    beta : float
        Anisotropy, in (-inf, 1): 0 isotropic, > 0 radially biased, < 0 tangentially.

    Example
    -------
    >>> Constant(beta=0.3).beta_at(2.0)
    Array(0.3, dtype=float64, weak_type=True)
    """

    beta: float = parameter(upper=1)

    kernel = "constant"

    def beta_at(self, r):
        return self.beta * jnp.ones_like(self._r(r))

    def log_f(self, r):
        return 2.0 * self.beta * jnp.log(self._r(r))


@pytree_dataclass
class OsipkovMerritt(Anisotropy):
    """Osipkov (1979) - Merritt (1985) anisotropy: isotropic inside r_a, radial outside.

    Parameters
    ----------
    r_a : float or Quantity
        Anisotropy radius, kpc (> 0).

    Example
    -------
    >>> float(OsipkovMerritt(r_a=1.0).beta_at(1.0))
    0.5
    """

    r_a: float = parameter(kind="length", lower=0)

    kernel = "osipkov_merritt"

    def beta_at(self, r):
        x2 = (self._r(r) / self.r_a) ** 2
        return x2 / (1.0 + x2)

    def log_f(self, r):
        return jnp.log1p((self._r(r) / self.r_a) ** 2)


@pytree_dataclass
class BaesVanHese(Anisotropy):
    """Baes & van Hese (2007) anisotropy, as used by GravSphere (Read & Steger 2017).

    beta(r) = (beta_0 + beta_inf (r/r_a)^eta) / (1 + (r/r_a)^eta).

    Parameters
    ----------
    beta_0 : float
        Inner anisotropy, < 1.
    beta_inf : float
        Outer anisotropy, < 1.
    r_a : float or Quantity
        Transition radius, kpc (> 0).
    eta : float
        Sharpness of the transition (> 0).

    Example
    -------
    >>> float(BaesVanHese(beta_0=0.0, beta_inf=0.5, r_a=1.0, eta=2.0).beta_at(1.0))
    0.25
    """

    beta_0: float = parameter(upper=1)
    beta_inf: float = parameter(upper=1)
    r_a: float = parameter(kind="length", lower=0)
    eta: float = parameter(lower=0)

    def beta_at(self, r):
        w = jax.nn.sigmoid(self.eta * jnp.log(self._r(r) / self.r_a))
        return self.beta_0 + (self.beta_inf - self.beta_0) * w

    def log_f(self, r):
        lx = jnp.log(self._r(r) / self.r_a)
        return 2.0 * self.beta_0 * lx + 2.0 * (self.beta_inf - self.beta_0) / self.eta * jax.nn.softplus(
            self.eta * lx
        )


#: Every anisotropy model by name.
#: Every built-in model by class name: the declaration; :mod:`dynamicall.registry` looks any
#: spelling up ("baes-van-hese", "bvh") for the commands and the library.
ANISOTROPIES = {cls.__name__: cls for cls in (Constant, OsipkovMerritt, BaesVanHese)}
