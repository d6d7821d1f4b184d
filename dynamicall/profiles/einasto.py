"""The Einasto (1965) profile."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammainc, gammaincc, gammaln

from .._pytree import parameter, pytree_dataclass
from ..units import G
from .base import FOUR_PI, Profile


@pytree_dataclass
class Einasto(Profile):
    r"""Einasto profile :math:`\rho = \rho_s \exp[-(2/\alpha)(x^\alpha - 1)]`,
    :math:`x = r / r_s`, with ``r_s`` the radius where the log slope is -2 and
    ``rho_s`` the density there.

    Mass and potential are closed forms in the incomplete gamma function
    (Cardone et al. 2005; Retana-Montenegro et al. 2012).

    Parameters
    ----------
    rho_s : float or Quantity
        Density at r_s, Msun/kpc^3 (> 0).
    r_s : float or Quantity
        Radius of log slope -2, kpc (> 0).
    alpha : float
        Shape parameter (> 0); haloes in simulations have 0.12-0.25.

    Example
    -------
    >>> e = Einasto(rho_s=1.0, r_s=1.0, alpha=0.17)
    >>> bool(abs(e.log_slope(1.0) + 2.0) < 1e-6)
    True
    """

    rho_s: float = parameter(kind="density", lower=0)
    r_s: float = parameter(kind="length", lower=0)
    alpha: float = parameter(lower=0)

    def density(self, r):
        r, _ = self._radius(r)
        x = r / self.r_s
        # exp(.) - 1 rather than expm1: JAX differentiates expm1 as expm1 + 1, which
        # cancels at small x; an absolute error of eps in x^alpha - 1 is harmless here.
        return self.rho_s * jnp.exp(-2.0 / self.alpha * (jnp.exp(self.alpha * jnp.log(x)) - 1.0))

    def _u(self, r):
        return 2.0 / self.alpha * jnp.exp(self.alpha * jnp.log(r / self.r_s))

    def _norm(self, k):
        """4 pi rho_s r_s^(k) e^(2/alpha) (alpha/2)^(k/alpha) Gamma(k/alpha) / alpha."""
        a = self.alpha
        log = 2.0 / a + (k / a) * jnp.log(a / 2.0) + gammaln(k / a) - jnp.log(a)
        return FOUR_PI * self.rho_s * self.r_s**k * jnp.exp(log)

    def mass(self, r):
        r, _ = self._radius(r)
        return self._norm(3.0) * gammainc(3.0 / self.alpha, self._u(r))

    def total_mass(self):
        return self._norm(3.0)

    def potential(self, r):
        r, _ = self._radius(r)
        outer = self._norm(2.0) * gammaincc(2.0 / self.alpha, self._u(r))
        return -G * (self.mass(r) / r + outer)
