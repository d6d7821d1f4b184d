"""Hernquist (1990) and Dehnen (1993) spheres."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .._pytree import parameter, pytree_dataclass
from .._special import expm1_ratio, projection_x
from ..units import G
from .base import Profile


@pytree_dataclass
class Hernquist(Profile):
    r"""Hernquist sphere: :math:`\rho = \frac{M a}{2\pi r (r + a)^3}`.

    Parameters
    ----------
    m_tot : float or Quantity
        Total mass, Msun (> 0).
    r_s : float or Quantity
        Scale radius a, kpc (> 0).

    Example
    -------
    >>> h = Hernquist(m_tot=1e10, r_s=1.0)
    >>> round(float(h.half_mass_radius()), 10)  # (1 + sqrt 2) a
    2.4142135624
    """

    m_tot: float = parameter(kind="mass", lower=0)
    r_s: float = parameter(kind="length", lower=0)

    cheap_mass = True

    def density(self, r):
        r, _ = self._radius(r)
        a = self.r_s
        return self.m_tot * a / (2.0 * np.pi * r * (r + a) ** 3)

    def mass(self, r):
        r, _ = self._radius(r)
        return self.m_tot * (r / (r + self.r_s)) ** 2

    def potential(self, r):
        r, _ = self._radius(r)
        return -G * self.m_tot / (r + self.r_s)

    def surface_density(self, R):
        R, _ = self._radius(R)
        _, _, bracket = projection_x(R / self.r_s)
        return self.m_tot / (2.0 * np.pi * self.r_s**2) * bracket

    def projected_mass(self, R):
        R, _ = self._radius(R)
        s = R / self.r_s
        _, xm1, _ = projection_x(s)
        return self.m_tot * s * s * xm1

    def total_mass(self):
        return self.m_tot * jnp.ones(())

    def half_mass_radius(self):
        return self.r_s * (1.0 + np.sqrt(2.0))


@pytree_dataclass
class Dehnen(Profile):
    r"""Dehnen (1993) sphere: :math:`\rho = \frac{(3-\gamma) M}{4\pi}
    \frac{a}{r^\gamma (r + a)^{4-\gamma}}`.

    Parameters
    ----------
    m_tot : float or Quantity
        Total mass, Msun (> 0).
    r_s : float or Quantity
        Scale radius a, kpc (> 0).
    gamma : float
        Inner log slope, in [0, 3). gamma = 1 is Hernquist, gamma = 2 Jaffe.

    Example
    -------
    >>> d = Dehnen(m_tot=1.0, r_s=1.0, gamma=1.0)
    >>> round(float(d.mass(1.0)), 12)
    0.25
    """

    m_tot: float = parameter(kind="mass", lower=0)
    r_s: float = parameter(kind="length", lower=0)
    gamma: float = parameter(lower=0, upper=3, lower_inclusive=True)

    cheap_mass = True

    def density(self, r):
        r, _ = self._radius(r)
        a, g = self.r_s, self.gamma
        x = r / a
        lnx = jnp.log(x)
        return (3.0 - g) * self.m_tot / (4.0 * np.pi * a**3) * jnp.exp(
            -g * lnx + (g - 4.0) * jnp.log1p(x)
        )

    def _log_y(self, r):
        x = r / self.r_s
        return -jnp.log1p(1.0 / x)  # ln(x / (1 + x))

    def mass(self, r):
        r, _ = self._radius(r)
        return self.m_tot * jnp.exp((3.0 - self.gamma) * self._log_y(r))

    def potential(self, r):
        r, _ = self._radius(r)
        return G * self.m_tot / self.r_s * expm1_ratio(self._log_y(r), 2.0 - self.gamma)

    def total_mass(self):
        return self.m_tot * jnp.ones(())

    def half_mass_radius(self):
        y = 2.0 ** (-1.0 / (3.0 - self.gamma))
        return self.r_s * y / (1.0 - y)
