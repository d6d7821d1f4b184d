"""The Hernquist-Zhao (alpha, beta, gamma) double power law."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln

from .._pytree import parameter, pytree_dataclass
from .base import FOUR_PI, Profile, concrete_value


def _zhao_log_density(x, alpha, beta, gamma):
    """ln(rho / rho_s) = -gamma ln x - (beta - gamma)/alpha ln(1 + x^alpha)."""
    lnx = jnp.log(x)
    return -gamma * lnx - (beta - gamma) / alpha * jax.nn.softplus(alpha * lnx)


def _mass_shape_quadrature(x, alpha, beta, gamma):
    """Dimensionless M / (4 pi rho_s r_s^3) by the generic quadrature (any beta)."""
    unit = Zhao(rho_s=1.0, r_s=1.0, alpha=alpha, beta=beta, gamma=gamma)
    return Profile.mass(unit, x) / FOUR_PI


def _beta_params(alpha, beta, gamma):
    return (3.0 - gamma) / alpha, (beta - 3.0) / alpha


@jax.custom_jvp
def _mass_shape(x, alpha, beta, gamma):
    """Dimensionless mass M / (4 pi rho_s r_s^3) inside x = r / r_s, by the quadrature
    (any beta, concrete or traced).

    For beta > 3 a closed form exists, B(a, b) I_y(a, b) / alpha with a = (3 - gamma)/alpha,
    b = (beta - 3)/alpha, y = x^alpha / (1 + x^alpha), but through JAX's incomplete beta
    function it is the less accurate of the two: against scipy's adaptive quadrature
    (relative tolerance 2e-14) the quadrature agrees to 1e-15, where the incomplete beta
    loses up to 1e-11 as beta approaches 3 and 2e-10 at x ~ 1e4
    (``tests/test_zhao_traced_mass.py``). It would not save work under autodiff either: JAX's
    betainc has no derivative in its parameters, so the shape tangents need the
    quadrature anyway. The JVP evaluates the quadrature once, for the value and the
    shape tangents; the tangent in x is exact (x^2 rho / rho_s).
    """
    return _mass_shape_quadrature(x, alpha, beta, gamma)


@_mass_shape.defjvp
def _mass_shape_jvp(primals, tangents):
    x, alpha, beta, gamma = primals
    dx, dalpha, dbeta, dgamma = tangents
    quadrature, d_shape = jax.jvp(
        lambda a, b, g: _mass_shape_quadrature(x, a, b, g), (alpha, beta, gamma), (dalpha, dbeta, dgamma)
    )
    d_x = x * x * jnp.exp(_zhao_log_density(x, alpha, beta, gamma)) * dx
    return quadrature, d_shape + d_x


@pytree_dataclass
class Zhao(Profile):
    r"""Hernquist-Zhao profile :math:`\rho = \rho_s x^{-\gamma} (1 + x^\alpha)^{-(\beta -
    \gamma)/\alpha}`, :math:`x = r / r_s`.

    (alpha, beta, gamma) = (1, 3, 1) is NFW, (1, 4, 1) Hernquist, (2, 5, 0) Plummer,
    (1, 4, gamma) Dehnen. The mass is finite only for beta > 3. ``mass`` integrates the
    density by quadrature for every beta (1e-15 relative; the incomplete-beta closed form
    is less accurate, see ``_mass_shape``); ``total_mass`` is the complete beta function.

    Parameters
    ----------
    rho_s : float or Quantity
        Scale density, Msun/kpc^3 (> 0).
    r_s : float or Quantity
        Scale radius, kpc (> 0).
    alpha : float
        Sharpness of the transition (> 0).
    beta : float
        Outer log slope (> 2, so that the potential is finite).
    gamma : float
        Inner log slope, in [0, 3).

    Example
    -------
    >>> z = Zhao(rho_s=1.0, r_s=1.0, alpha=1.0, beta=4.0, gamma=1.0)
    >>> round(float(z.mass(1.0) / z.total_mass()), 12)  # Hernquist: x^2/(1+x)^2
    0.25
    """

    rho_s: float = parameter(kind="density", lower=0)
    r_s: float = parameter(kind="length", lower=0)
    alpha: float = parameter(lower=0)
    beta: float = parameter(lower=2)
    gamma: float = parameter(lower=0, upper=3, lower_inclusive=True)

    eager_methods = ("total_mass",)

    def has_finite_mass(self) -> bool:
        beta = concrete_value(self.beta)
        return beta is None or beta > 3.0

    def density(self, r):
        r, _ = self._radius(r)
        return self.rho_s * jnp.exp(
            _zhao_log_density(r / self.r_s, self.alpha, self.beta, self.gamma)
        )

    def mass(self, r):
        r, _ = self._radius(r)
        norm = FOUR_PI * self.rho_s * self.r_s**3
        return norm * _mass_shape(r / self.r_s, self.alpha, self.beta, self.gamma)

    def total_mass(self):
        self._require_finite_mass("total_mass()")
        a, b = _beta_params(self.alpha, self.beta, self.gamma)
        log_b = gammaln(a) + gammaln(b) - gammaln(a + b)
        return FOUR_PI * self.rho_s * self.r_s**3 * jnp.exp(log_b) / self.alpha
