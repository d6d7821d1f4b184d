"""Sums of profiles: ``halo + stars``."""

from __future__ import annotations

import jax.numpy as jnp

from .._pytree import child, pytree_dataclass
from .base import Profile


@pytree_dataclass
class Composite(Profile):
    """The sum of several profiles: density, mass, potential and surface density add.

    Built with ``+``; nested sums are flattened.

    Parameters
    ----------
    components : tuple of Profile
        The summed profiles.

    Example
    -------
    >>> from dynamicall.profiles import NFW, Plummer
    >>> total = NFW(rho_s=1e7, r_s=1.0) + Plummer(m_tot=1e6, r_s=0.3)
    >>> bool(abs(total.mass(1.0) - NFW(rho_s=1e7, r_s=1.0).mass(1.0)
    ...          - Plummer(m_tot=1e6, r_s=0.3).mass(1.0)) < 1e-3)
    True
    """

    components: tuple = child()

    def __post_init__(self):
        comps = tuple(self.components)
        if not comps or not all(isinstance(c, Profile) for c in comps):
            raise ValueError("Composite.components must be a non-empty tuple of Profiles")
        object.__setattr__(self, "components", comps)

    @property
    def scale_radius(self):
        return self.components[0].scale_radius

    def has_finite_mass(self) -> bool:
        return all(c.has_finite_mass() for c in self.components)

    def _sum(self, method, x):
        return sum(getattr(c, method)(x) for c in self.components)

    def density(self, r):
        return self._sum("density", r)

    def mass(self, r):
        return self._sum("mass", r)

    def potential(self, r):
        return self._sum("potential", r)

    def surface_density(self, R):
        return self._sum("surface_density", R)

    def projected_mass(self, R):
        return self._sum("projected_mass", R)

    def total_mass(self):
        return sum(c.total_mass() for c in self.components)
