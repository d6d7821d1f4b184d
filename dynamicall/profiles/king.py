r"""The King (1962) tracer of globular clusters, defined by its projected light.

With :math:`x = R/r_c`, :math:`x_t = r_t/r_c`,

.. math::
   \Sigma(R) = k\Big[\frac{1}{\sqrt{1 + x^2}} - \frac{1}{\sqrt{1 + x_t^2}}\Big]^2
   \quad (R < r_t),\qquad 0 \text{ beyond},

and its exact deprojection (King 1962, eq. 27), with :math:`z = \sqrt{(1+x^2)/(1+x_t^2)}`,

.. math::
   \rho(r) = \frac{k}{\pi r_c (1+x_t^2)^{3/2}}\,\frac{1}{z^2}
             \Big[\frac{\arccos z}{z} - \sqrt{1 - z^2}\Big]
           = \frac{4k}{\pi r_c}\,\frac{\phi^3 S(2\phi)}{(1 + x^2)^{3/2}},

where :math:`\phi = \arccos z` and :math:`S(u) = (u - \sin u)/u^3` (the second form has no
cancellation near the tidal radius). The projected mass is a closed form; the enclosed
mass and the potential are tanh-sinh quadratures of the closed-form density over
:math:`[0, \min(r, r_t)]` or its complement (the density vanishes as
:math:`(r_t - r)^{3/2}` at the tidal radius, an end point of every integral).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .._pytree import parameter, pytree_dataclass
from ..units import G
from . import _abel, _generic
from .base import FOUR_PI, Profile


@pytree_dataclass
class King(Profile):
    r"""King (1962) tracer with core radius ``r_c`` and tidal radius ``r_t``.

    Parameters
    ----------
    m_tot : float or Quantity
        Total mass (or luminosity), Msun (> 0).
    r_c : float or Quantity
        Core radius, kpc (> 0).
    r_t : float or Quantity
        Tidal (truncation) radius, kpc (> r_c); the concentration is log10(r_t / r_c).

    Example
    -------
    >>> k = King(m_tot=1e5, r_c=0.001, r_t=0.03)
    >>> float(k.density(0.031)), round(float(k.projected_mass(0.03) / 1e5), 12)
    (0.0, 1.0)
    """

    m_tot: float = parameter(kind="mass", lower=0)
    r_c: float = parameter(kind="length", lower=0)
    r_t: float = parameter(kind="length", lower=0)

    scale_field = None  # ModelSpec needs r_c and r_t (no single scale fixed by R_half)

    def _validate(self):
        if not float(self.r_t) > float(self.r_c):
            raise ValueError(f"King.r_t must be > King.r_c (concentration > 0); got r_c={self.r_c}, r_t={self.r_t}")

    @property
    def scale_radius(self):
        return self.r_c

    @property
    def truncation_radius(self):
        """The radius beyond which there is no tracer (kpc): r_t."""
        return self.r_t

    # ---------------------------------------------------------------- closed forms
    def _k(self):
        """The normalisation k of Sigma (Msun/kpc^2) from the total mass."""
        xt2 = (self.r_t / self.r_c) ** 2
        c = 1.0 / jnp.sqrt(1.0 + xt2)
        norm = jnp.log1p(xt2) - 4.0 * (1.0 - c) + xt2 / (1.0 + xt2)
        return self.m_tot / (np.pi * self.r_c**2 * norm)

    def surface_density(self, R):
        R, _ = self._radius(R)
        x2 = (R / self.r_c) ** 2
        xt2 = (self.r_t / self.r_c) ** 2
        q, qt = jnp.sqrt(1.0 + x2), jnp.sqrt(1.0 + xt2)
        diff = jnp.maximum(xt2 - x2, 0.0) / (q * qt * (q + qt))  # 1/q - 1/qt without cancellation
        return self._k() * diff * diff

    def projected_mass(self, R):
        R, _ = self._radius(R)
        x2 = jnp.minimum(R / self.r_c, self.r_t / self.r_c) ** 2
        xt2 = (self.r_t / self.r_c) ** 2
        c = 1.0 / jnp.sqrt(1.0 + xt2)
        q = jnp.sqrt(1.0 + x2)
        inner = jnp.log1p(x2) - 4.0 * c * x2 / (q + 1.0) + c * c * x2
        return np.pi * self.r_c**2 * self._k() * inner

    def density(self, r):
        r, _ = self._radius(r)
        x2 = (r / self.r_c) ** 2
        d = (self.r_t / self.r_c) ** 2 - x2
        inside = d > 0
        phi = jnp.where(inside, jnp.arctan2(jnp.sqrt(jnp.where(inside, d, 1.0)), jnp.sqrt(1.0 + x2)), 0.0)
        q = jnp.sqrt(1.0 + x2)
        return 4.0 * self._k() / (np.pi * self.r_c) * phi**3 * _abel.x_minus_sin_over_cube(2.0 * phi) / (q * q * q)

    # ----------------------------------------------------- quadratures of rho
    def _shell_integral(self, lo, hi, power):
        """4 pi int_lo^hi rho(s) s^power ds (tanh-sinh; zero when lo == hi)."""
        f = lambda s: FOUR_PI * s**power * self.density(s)  # noqa: E731
        return _generic.finite_integral(f, lo, hi, lo.dtype)

    def mass(self, r):
        r, _ = self._radius(r)
        return _mass(r, self)

    def potential(self, r):
        r, _ = self._radius(r)
        return -G * (_mass(r, self) / r + _beyond(r, self))

    def total_mass(self):
        return self.m_tot * jnp.ones(())


def _raw_mass(r, king):
    """M(<r): 4 pi int_0^r rho s^2 ds inside r_t / 2, m_tot minus the rest beyond."""
    # where the integration switches sides: a choice, not a function of r_t to differentiate
    half = 0.5 * jax.lax.stop_gradient(king.r_t) * jnp.ones_like(r)
    cap = jnp.minimum(r, king.r_t)
    inner = king._shell_integral(jnp.zeros_like(r), jnp.minimum(cap, half), 2.0)
    outer = king._shell_integral(jnp.maximum(cap, half), king.r_t * jnp.ones_like(r), 2.0)
    return jnp.where(cap <= half, inner, king.m_tot - outer)


def _raw_beyond(r, king):
    """4 pi int_r^r_t rho s ds (zero beyond r_t)."""
    cap = jnp.minimum(r, king.r_t)
    return king._shell_integral(cap, king.r_t * jnp.ones_like(r), 1.0)


_mass = _abel.exact_radial_derivative(_raw_mass, lambda r, k: FOUR_PI * r * r * k.density(r))
_beyond = _abel.exact_radial_derivative(_raw_beyond, lambda r, k: -FOUR_PI * r * k.density(r))
