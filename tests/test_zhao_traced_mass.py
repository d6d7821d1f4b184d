"""Zhao enclosed mass, concrete or traced shape (as in a fit with beta free).

One rule for every beta (binomial series at both ends, Gauss-Legendre between); its JVP
evaluates it once, for the value and every shape tangent (the tangent in r exact).
Checked against scipy's adaptive quadrature of the density and the closed forms of NFW,
Hernquist and Plummer (independent truths), and against central finite differences.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import integrate

from dynamicall.profiles import Zhao

R = np.array([0.05, 0.45, 3.0, 60.0, 2000.0])  # kpc; r / r_s up to 2e4


@jax.jit
def _traced(alpha, beta, gamma, r_s):
    return Zhao(rho_s=1e7, r_s=r_s, alpha=alpha, beta=beta, gamma=gamma).mass(R)


_jacobian = jax.jit(jax.jacfwd(lambda p: jnp.log(_traced(*p))))


CLOSED_FORMS = {  # (alpha, beta, gamma): M / (4 pi rho_s r_s^3) at x = r / r_s
    (1.0, 3.0, 1.0): lambda x: np.log1p(x) - x / (1 + x),                    # NFW
    (1.0, 4.0, 1.0): lambda x: 0.5 * x**2 / (1 + x) ** 2,                    # Hernquist
    (2.0, 5.0, 0.0): lambda x: x**3 / (3.0 * (1 + x**2) ** 1.5),             # Plummer
}


@pytest.mark.parametrize("shape", sorted(CLOSED_FORMS))
@pytest.mark.parametrize("traced", [False, True])
def test_mass_equals_the_closed_forms(shape, traced):
    alpha, beta, gamma = shape
    r_s = 0.8
    got = _traced(alpha, beta, gamma, r_s) if traced else \
        Zhao(rho_s=1e7, r_s=r_s, alpha=alpha, beta=beta, gamma=gamma).mass(R)
    truth = 4 * np.pi * 1e7 * r_s**3 * CLOSED_FORMS[shape](R / r_s)
    assert_allclose(got, truth, rtol=1e-13)


def _scipy_mass(r, rho_s, r_s, alpha, beta, gamma):
    """4 pi rho_s r_s^3 int_0^(r/r_s) x^(2-gamma) (1+x^alpha)^(-(beta-gamma)/alpha) dx by
    scipy's adaptive quadrature in u = ln x."""
    def integrand(u):
        return np.exp((3.0 - gamma) * u - (beta - gamma) / alpha * np.logaddexp(0.0, alpha * u))
    integral = integrate.quad(integrand, -np.inf, np.log(r / r_s), epsabs=0.0, epsrel=2e-14, limit=500)[0]
    return 4.0 * np.pi * rho_s * r_s**3 * integral


@pytest.mark.parametrize("beta", [2.5, 3.0005, 3.02, 4.5, 7.0])
def test_mass_equals_adaptive_quadrature(beta):
    # the incomplete-beta closed form loses ~1e-11 near beta = 3 and ~1e-10 at r / r_s ~ 1e4
    shape = dict(alpha=1.5, beta=beta, gamma=1.5, r_s=0.1)
    truth = [_scipy_mass(r, 1e7, **shape) for r in R]
    assert_allclose(_traced(*shape.values()), truth, rtol=1e-13)
    assert_allclose(Zhao(rho_s=1e7, **shape).mass(R), truth, rtol=1e-13)


def _box(n, alpha, beta, gamma, x, seed=20261202):
    """n points (x, alpha, beta, gamma), log-uniform in x and alpha, uniform in beta, gamma."""
    rng = np.random.default_rng(seed)
    return np.column_stack([np.exp(rng.uniform(*np.log(x), n)), np.exp(rng.uniform(*np.log(alpha), n)),
                            rng.uniform(*beta, n), rng.uniform(*gamma, n)])


def _masses(points):
    return jax.jit(jax.vmap(lambda x, a, b, g: Zhao(rho_s=1.0, r_s=1.0, alpha=a, beta=b, gamma=g).mass(x)))(
        *jnp.asarray(points.T))


def test_mass_equals_adaptive_quadrature_over_the_default_priors():
    points = _box(40, (0.5, 3.0), (3.0, 7.0), (0.0, 2.0), (1e-3, 1e4))
    truth = [_scipy_mass(x, 1.0, 1.0, a, b, g) for x, a, b, g in points]
    assert_allclose(_masses(points), truth, rtol=1e-13)


def test_mass_equals_adaptive_quadrature_far_outside_the_priors():
    # shallow transitions (alpha -> 0.05: a, p ~ 100, a sharp peak in the integrand: the
    # Gauss-Legendre stretch gives ~4e-12 there, 4e-14 for alpha >= 0.1) and near-divergent
    # cusps (gamma -> 2.9), where the generic quadrature of Profile.mass loses up to 7e-5
    points = np.vstack([_box(40, (0.05, 5.0), (2.05, 10.0), (0.0, 2.9), (1e-4, 1e5)),
                        [[718.3, 0.202, 9.99, 2.897], [3e3, 0.05, 7.9, 0.1], [0.01, 0.05, 2.5, 2.5],
                         [5e4, 0.216, 8.35, 0.18]]])
    truth = [_scipy_mass(x, 1.0, 1.0, a, b, g) for x, a, b, g in points]
    got, truth = np.asarray(_masses(points)), np.asarray(truth)
    assert_allclose(got, truth, rtol=1e-11)
    shallow = points[:, 1] < 0.1
    assert_allclose(got[~shallow], truth[~shallow], rtol=1e-13)


@pytest.mark.slow  # compiles the Jacobian (~6 s); the fast lane checks the values above
@pytest.mark.parametrize("beta", [2.5, 3.0, 4.5])
def test_traced_shape_gradient_matches_finite_differences(beta):
    p0 = np.array([1.3, beta, 0.7, 0.8])
    jac = np.asarray(_jacobian(jnp.asarray(p0)))
    for i in range(p0.size):
        h = 1e-5 * p0[i]
        up, down = p0.copy(), p0.copy()
        up[i] += h
        down[i] -= h
        fd = (np.log(_traced(*up)) - np.log(_traced(*down))) / (2 * h)
        assert_allclose(jac[:, i], fd, rtol=1e-6, atol=1e-9)
