"""Navarro, Frenk & White (1997) haloes and the cored NFW of Read et al. (2016)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .._pytree import parameter, pytree_dataclass
from .._special import log1p_minus_frac, log_tanh, projection_x, sech2
from ..units import G, to_msun
from .base import Profile

#: Critical density of the Universe today in h^2 Msun/kpc^3: 3 (100 km/s/Mpc)^2 / (8 pi G).
RHO_CRIT_H2 = 3.0 * (0.1) ** 2 / (8.0 * np.pi * G)


@pytree_dataclass
class NFW(Profile):
    r"""NFW halo: :math:`\rho = \rho_s / [x (1 + x)^2]`, :math:`x = r / r_s`.

    The total mass is infinite (logarithmically divergent).

    Parameters
    ----------
    rho_s : float or Quantity
        Scale density, Msun/kpc^3 (> 0).
    r_s : float or Quantity
        Scale radius, kpc (> 0).

    Example
    -------
    >>> halo = NFW.from_m200_c(1e9, 15.0)
    >>> round(float(halo.mass(halo.r_s * 15.0) / 1e9), 10)
    1.0
    """

    rho_s: float = parameter(kind="density", lower=0)
    r_s: float = parameter(kind="length", lower=0)

    cheap_mass = True

    @classmethod
    def from_m200_c(cls, m200, c, h: float = 0.674, delta: float = 200.0):
        """NFW halo from its virial mass and concentration.

        Parameters
        ----------
        m200 : float or Quantity
            Mass inside r200, the radius within which the mean density is ``delta``
            times the critical density, Msun.
        c : float
            Concentration r200 / r_s.
        h : float
            Hubble constant in units of 100 km/s/Mpc (default 0.674, Planck 2018), which
            sets the critical density 277.5 h^2 Msun/kpc^3.
        delta : float
            Overdensity relative to critical (default 200).

        Returns
        -------
        NFW
        """
        m200 = to_msun(m200)
        rho_crit = RHO_CRIT_H2 * h**2
        r200 = (3.0 * m200 / (4.0 * np.pi * delta * rho_crit)) ** (1.0 / 3.0)
        r_s = r200 / c
        rho_s = m200 / (4.0 * np.pi * r_s**3 * log1p_minus_frac(c))
        return cls(rho_s=rho_s, r_s=r_s)

    def has_finite_mass(self) -> bool:
        return False

    def density(self, r):
        r, _ = self._radius(r)
        x = r / self.r_s
        return self.rho_s / (x * (1.0 + x) ** 2)

    def mass(self, r):
        r, _ = self._radius(r)
        return 4.0 * np.pi * self.rho_s * self.r_s**3 * log1p_minus_frac(r / self.r_s)

    def potential(self, r):
        r, _ = self._radius(r)
        x = r / self.r_s
        return -4.0 * np.pi * G * self.rho_s * self.r_s**2 * jnp.log1p(x) / x

    def surface_density(self, R):
        R, _ = self._radius(R)
        _, xm1, _ = projection_x(R / self.r_s)
        return 2.0 * self.rho_s * self.r_s * xm1

    def projected_mass(self, R):
        R, _ = self._radius(R)
        s = R / self.r_s
        x, _, _ = projection_x(s)
        # For s < 1/2, ln(s/2) + X(s) = [-ln(s/2) s^2/(1+c) + ln((1+c)/2)] / c with
        # c = sqrt(1 - s^2): the same value without the cancellation of ~ln(2/s).
        small = s < 0.5
        ss = jnp.where(small, s, 0.25)
        c = jnp.sqrt(1.0 - ss * ss)
        stable = (-jnp.log(0.5 * ss) * ss * ss / (1.0 + c) + jnp.log1p(-ss * ss / (2.0 * (1.0 + c)))) / c
        shape = jnp.where(small, stable, jnp.log(0.5 * s) + x)
        return 4.0 * np.pi * self.rho_s * self.r_s**3 * shape


@pytree_dataclass
class CoreNFW(Profile):
    r"""Cored NFW of Read, Agertz & Collins (2016): :math:`M(r) = M_{\rm NFW}(r)
    \tanh(r/r_c)^n`.

    ``n = 0`` is NFW; ``n = 1`` a full core inside ``r_c``. The density follows from
    dM/dr: :math:`\rho = f^n \rho_{\rm NFW} + \frac{n f^{n-1} (1 - f^2)}{4\pi r^2 r_c}
    M_{\rm NFW}`, :math:`f = \tanh(r/r_c)`.

    Parameters
    ----------
    rho_s : float or Quantity
        NFW scale density, Msun/kpc^3 (> 0).
    r_s : float or Quantity
        NFW scale radius, kpc (> 0).
    r_c : float or Quantity
        Core radius, kpc (> 0).
    n : float
        Core strength in [0, 1].

    Example
    -------
    >>> halo = CoreNFW(rho_s=1e7, r_s=1.0, r_c=0.5, n=1.0)
    >>> bool(halo.mass(0.01) < NFW(rho_s=1e7, r_s=1.0).mass(0.01))
    True
    """

    rho_s: float = parameter(kind="density", lower=0)
    r_s: float = parameter(kind="length", lower=0)
    r_c: float = parameter(kind="length", lower=0)
    n: float = parameter(lower=0, upper=1, lower_inclusive=True, upper_inclusive=True)

    cheap_mass = True

    def has_finite_mass(self) -> bool:
        return False

    def _nfw(self):
        return NFW(rho_s=self.rho_s, r_s=self.r_s)

    def density(self, r):
        r, _ = self._radius(r)
        nfw = self._nfw()
        z = r / self.r_c
        lnf = log_tanh(z)
        core = jnp.exp(self.n * lnf) * nfw.density(r)
        # n f^(n-1) (1 - f^2) = n f^n sech^2 / f
        grad_term = self.n * jnp.exp((self.n - 1.0) * lnf) * sech2(z)
        return core + grad_term * nfw.mass(r) / (4.0 * np.pi * r * r * self.r_c)

    def mass(self, r):
        r, _ = self._radius(r)
        return self._nfw().mass(r) * jnp.exp(self.n * log_tanh(r / self.r_c))
