"""Zhao enclosed mass with a traced outer slope (as in a fit with beta free).

One JVP evaluates the quadrature once for the shape tangents and, where beta <= 3, for
the value; where beta > 3 the value is the incomplete-beta closed form. Checked against
the concrete-shape path (closed form for beta > 3, quadrature otherwise) and central
finite differences.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpy.testing import assert_allclose

from dynamicall.profiles import Zhao

R = np.array([0.05, 0.45, 3.0])  # kpc


@jax.jit
def _traced(alpha, beta, gamma, r_s):
    return Zhao(rho_s=1e7, r_s=r_s, alpha=alpha, beta=beta, gamma=gamma).mass(R)


_jacobian = jax.jit(jax.jacfwd(lambda p: jnp.log(_traced(*p))))


@pytest.mark.parametrize("beta", [2.5, 3.0, 3.5, 6.0])
def test_traced_shape_equals_the_concrete_shape(beta):
    shape = dict(alpha=1.3, beta=beta, gamma=0.7, r_s=0.8)
    concrete = Zhao(rho_s=1e7, **shape).mass(R)
    assert_allclose(_traced(*shape.values()), concrete, rtol=1e-12)


@pytest.mark.slow  # compiles the Jacobian (~6 s); the fast lane checks the values above
@pytest.mark.parametrize("beta", [2.5, 4.5])
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
