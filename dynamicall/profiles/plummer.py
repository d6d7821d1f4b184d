"""The Plummer (1911) sphere."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .._pytree import parameter, pytree_dataclass
from ..units import G
from .base import Profile


@pytree_dataclass
class Plummer(Profile):
    r"""Plummer sphere: :math:`\rho = \frac{3M}{4\pi a^3}(1 + r^2/a^2)^{-5/2}`.

    Parameters
    ----------
    m_tot : float or Quantity
        Total mass, Msun (> 0).
    r_s : float or Quantity
        Plummer scale radius a, kpc (> 0). It equals the projected half-light radius.

    Example
    -------
    >>> import astropy.units as u
    >>> p = Plummer(m_tot=1e6, r_s=300 * u.pc)
    >>> round(float(p.half_light_radius()), 12)
    0.3
    """

    m_tot: float = parameter(kind="mass", lower=0)
    r_s: float = parameter(kind="length", lower=0)

    cheap_mass = True

    def density(self, r):
        r, _ = self._radius(r)
        a = self.r_s
        u = 1.0 + (r / a) ** 2
        return 3.0 * self.m_tot / (4.0 * np.pi * a**3) / (u * u * jnp.sqrt(u))

    def mass(self, r):
        r, _ = self._radius(r)
        u = 1.0 + (self.r_s / r) ** 2
        return self.m_tot / (u * jnp.sqrt(u))

    def potential(self, r):
        r, _ = self._radius(r)
        return -G * self.m_tot / jnp.sqrt(r * r + self.r_s**2)

    def surface_density(self, R):
        R, _ = self._radius(R)
        a2 = self.r_s**2
        return self.m_tot * a2 / (np.pi * (a2 + R * R) ** 2)

    def projected_mass(self, R):
        R, _ = self._radius(R)
        return self.m_tot * R * R / (R * R + self.r_s**2)

    def total_mass(self):
        return self.m_tot * jnp.ones(())

    def half_mass_radius(self):
        return self.r_s / jnp.sqrt(2.0 ** (2.0 / 3.0) - 1.0)

    def half_light_radius(self):
        return self.r_s * jnp.ones(())
