"""The Burkert (1995) cored halo."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .._pytree import parameter, pytree_dataclass
from ..units import G
from .base import Profile

_SMALL_X = 0.1
_N_TERMS = 8  # series terms x^(4k+3), x^(4k+4): 0.1^32 relative


@pytree_dataclass
class Burkert(Profile):
    r"""Burkert halo: :math:`\rho = \rho_s / [(1 + x)(1 + x^2)]`, :math:`x = r/r_s`.

    The total mass is infinite (logarithmically divergent).

    Parameters
    ----------
    rho_s : float or Quantity
        Central density, Msun/kpc^3 (> 0).
    r_s : float or Quantity
        Core radius, kpc (> 0).

    Example
    -------
    >>> b = Burkert(rho_s=1.0, r_s=1.0)
    >>> round(float(b.mass(1.0)), 10)  # pi (3 ln 2 - pi/2)
    1.5979560704
    """

    rho_s: float = parameter(kind="density", lower=0)
    r_s: float = parameter(kind="length", lower=0)

    cheap_mass = True

    def has_finite_mass(self) -> bool:
        return False

    def density(self, r):
        r, _ = self._radius(r)
        x = r / self.r_s
        return self.rho_s / ((1.0 + x) * (1.0 + x * x))

    def mass(self, r):
        r, _ = self._radius(r)
        x = r / self.r_s
        small = x < _SMALL_X
        xs = jnp.where(small, x, 0.0)
        # x^2 / ((1+x)(1+x^2)) = x^2 (1 - x) sum_k x^(4k): integrate term by term
        series = sum(
            xs ** (4 * k + 3) / (4 * k + 3) - xs ** (4 * k + 4) / (4 * k + 4)
            for k in range(_N_TERMS)
        )
        xl = jnp.where(small, 1.0, x)
        closed = 0.25 * (jnp.log1p(xl * xl) + 2.0 * jnp.log1p(xl) - 2.0 * jnp.arctan(xl))
        return 4.0 * np.pi * self.rho_s * self.r_s**3 * jnp.where(small, series, closed)

    def potential(self, r):
        r, _ = self._radius(r)
        x = r / self.r_s
        outer = 0.25 * np.pi + 0.5 * jnp.log1p(x) - 0.25 * jnp.log1p(x * x) - 0.5 * jnp.arctan(x)
        return -G * (self.mass(r) / r + 4.0 * np.pi * self.rho_s * self.r_s**2 * outer)
