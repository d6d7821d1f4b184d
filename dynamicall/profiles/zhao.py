"""The Hernquist-Zhao (alpha, beta, gamma) double power law."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln

from .._pytree import parameter, pytree_dataclass
from .._special import expm1_ratio
from .base import FOUR_PI, Profile, concrete_value


def _zhao_log_density(x, alpha, beta, gamma):
    """ln(rho / rho_s) = -gamma ln x - (beta - gamma)/alpha ln(1 + x^alpha)."""
    lnx = jnp.log(x)
    return -gamma * lnx - (beta - gamma) / alpha * jax.nn.softplus(alpha * lnx)


#: Gauss-Legendre rule of the middle stretch of :func:`_mass_shape_series`.
_MIDDLE_NODES, _MIDDLE_WEIGHTS = np.polynomial.legendre.leggauss(64)
#: Binomial-series terms of its two ends (each term ~10x smaller than the one before).
_SERIES_TERMS = 18


def _mass_shape_series(x, alpha, beta, gamma):
    """Dimensionless mass M / (4 pi rho_s r_s^3) inside x = r / r_s.

    With u = x^alpha, a = (3 - gamma) / alpha and p = (beta - gamma) / alpha, it is
    (1 / alpha) int e^(a w) (1 + e^w)^(-p) dw over w = ln u from -inf to alpha ln x. The
    integrand's only singularities lie at w = i pi (2m + 1), a distance pi from the real
    line whatever alpha is (in ln r they lie at pi / alpha), so in w three pieces suffice:

    * below w0 = ln(0.1 / max(|p|, 1)), the binomial series of (1 + e^w)^(-p),
      integrated term by term: sum_k C(-p, k) e^((a + k) w0) / (a + k);
    * above w1 = ln(10 max(|p|, 1)), the series of (1 + e^-w)^(-p), term by term
      (the exponents a - p - k may vanish, as for NFW: hence ``expm1_ratio``);
    * between them, a 64-node Gauss-Legendre rule.

    Each series term is at most a tenth of the one before. Against scipy's adaptive
    quadrature (relative tolerance 2e-14) it agrees to 1e-14 over the default priors and
    to 1e-13 for alpha in [0.1, 5], beta in (2, 10], gamma in [0, 2.9] and x in
    [1e-4, 1e5]; at alpha = 0.05 (a, p ~ 100: a sharp peak in the integrand) to 4e-12
    (``tests/test_zhao_traced_mass.py``). The generic quadrature of :meth:`Profile.mass`
    loses up to 7e-5 near gamma = 2.9 and 1e-5 at alpha = 0.05, and its value and
    gradient cost ~1.5x this rule's (a fit's enclosed-mass parameterisation evaluates it
    at every gradient).
    """
    x, alpha, beta, gamma = jnp.broadcast_arrays(*(jnp.asarray(v) for v in (x, alpha, beta, gamma)))
    dtype = jnp.result_type(float, x, alpha, beta, gamma)  # float32 stays float32, integers become float
    nodes, weights = jnp.asarray(_MIDDLE_NODES, dtype), jnp.asarray(_MIDDLE_WEIGHTS, dtype)
    k = jnp.arange(_SERIES_TERMS, dtype=dtype)
    a = ((3.0 - gamma) / alpha)[..., None]
    p = ((beta - gamma) / alpha)[..., None]
    w_end = (alpha * jnp.log(x))[..., None]
    scale = jnp.maximum(jnp.abs(p), 1.0)
    w0, w1 = jnp.log(0.1 / scale), jnp.log(10.0 * scale)
    coefficients = [jnp.ones_like(p)]  # C(-p, k), unrolled: XLA fuses it, a cumprod it does not
    for j in range(_SERIES_TERMS - 1):
        coefficients.append(coefficients[-1] * (-(p + j) / (j + 1.0)))
    c = jnp.concatenate(coefficients, axis=-1)

    w_inner = jnp.minimum(w_end, w0)
    inner = jnp.sum(c * jnp.exp((a + k) * w_inner) / (a + k), axis=-1)

    hi = jnp.clip(w_end, w0, w1)
    half = 0.5 * (hi - w0)
    w = 0.5 * (hi + w0) + half * nodes
    middle = half[..., 0] * jnp.sum(weights * jnp.exp(a * w - p * jax.nn.softplus(w)), axis=-1)

    span = jnp.maximum(w_end, w1) - w1
    exponent = a - p - k
    outer = jnp.sum(c * jnp.exp(exponent * w1) * expm1_ratio(span, exponent), axis=-1)
    return (inner + middle + outer) / alpha


def _beta_params(alpha, beta, gamma):
    return (3.0 - gamma) / alpha, (beta - 3.0) / alpha


@jax.custom_jvp
def _mass_shape(x, alpha, beta, gamma):
    """Dimensionless mass M / (4 pi rho_s r_s^3) inside x = r / r_s
    (:func:`_mass_shape_series`; any beta, concrete or traced).

    For beta > 3 a closed form exists, B(a, b) I_y(a, b) / alpha with a = (3 - gamma)/alpha,
    b = (beta - 3)/alpha, y = x^alpha / (1 + x^alpha), but through JAX's incomplete beta
    function it is the less accurate of the two: it loses up to 1e-11 as beta approaches 3
    and 2e-10 at x ~ 1e4 (``tests/test_zhao_traced_mass.py``). It would not save work under
    autodiff either: JAX's betainc has no derivative in its parameters. The JVP evaluates
    the series once, for the value and the shape tangents; the tangent in x is exact
    (x^2 rho / rho_s).
    """
    return _mass_shape_series(x, alpha, beta, gamma)


@_mass_shape.defjvp
def _mass_shape_jvp(primals, tangents):
    x, alpha, beta, gamma = primals
    dx, dalpha, dbeta, dgamma = tangents
    value, d_shape = jax.jvp(
        lambda a, b, g: _mass_shape_series(x, a, b, g), (alpha, beta, gamma), (dalpha, dbeta, dgamma)
    )
    d_x = x * x * jnp.exp(_zhao_log_density(x, alpha, beta, gamma)) * dx
    return value, d_shape + d_x


@pytree_dataclass
class Zhao(Profile):
    r"""Hernquist-Zhao profile :math:`\rho = \rho_s x^{-\gamma} (1 + x^\alpha)^{-(\beta -
    \gamma)/\alpha}`, :math:`x = r / r_s`.

    (alpha, beta, gamma) = (1, 3, 1) is NFW, (1, 4, 1) Hernquist, (2, 5, 0) Plummer,
    (1, 4, gamma) Dehnen. The mass is finite only for beta > 3. ``mass`` sums binomial
    series at both ends of the integral and a Gauss-Legendre rule between, for every beta
    (1e-14 relative over the default priors; the incomplete-beta closed form is less
    accurate, see ``_mass_shape_series``); ``total_mass`` is the complete beta function.

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
