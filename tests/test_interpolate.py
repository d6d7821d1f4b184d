"""dynamicall.interpolate: the one Lagrange interpolation (Jeans grids, DFs, log-log to
stars). Exact on polynomials of degree order - 1 inside the grid and on power laws in
log-log; outside, the end segment's straight line (a power law in log-log)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpy.testing import assert_allclose

from dynamicall.interpolate import (
    interp_loglog,
    interpolate_uniform,
    interpolation_matrix,
    lagrange_basis,
    lagrange_stencil,
    stencil_start,
)

N = 12
POSITIONS = np.linspace(0.0, N - 1.0, 89)  # every interval, both end intervals, the nodes


@pytest.mark.parametrize("order", [2, 4, 6, 8])
def test_exact_on_polynomials_of_degree_below_order(order):
    rng = np.random.default_rng(order)
    coeffs = rng.normal(size=order)  # degree order - 1
    poly = lambda x: np.polyval(coeffs, x / N)  # noqa: E731
    values = poly(np.arange(N, dtype=float))
    want = poly(POSITIONS)
    assert_allclose(interpolate_uniform(values, POSITIONS, order), want, rtol=1e-12, atol=1e-12)
    assert_allclose(interpolation_matrix(POSITIONS, N, order) @ values, want, rtol=1e-12, atol=1e-12)


def test_not_exact_one_degree_higher():
    """The exactness above is a property of the order, not of a lenient comparison."""
    values = (np.arange(N, dtype=float) / N) ** 4
    error = np.max(np.abs(interpolate_uniform(values, POSITIONS, 4) - (POSITIONS / N) ** 4))
    assert error > 1e-6


def test_edge_rule_outside_is_the_end_segment_line():
    values = np.arange(N, dtype=float) ** 2  # curved: Lagrange would continue the parabola
    u = np.array([-2.0, -0.5, N - 1 + 0.5, N + 2.0])
    line_low = values[0] + (values[1] - values[0]) * u[:2]
    line_high = values[-1] + (values[-1] - values[-2]) * (u[2:] - (N - 1))
    want = np.concatenate([line_low, line_high])
    assert_allclose(interpolate_uniform(values, u, 6), want, rtol=1e-14)
    assert_allclose(interpolation_matrix(u, N, 6) @ values, want, rtol=1e-14)
    assert not np.allclose(want, u**2)


def test_stencil_is_centred_and_shifted_inward_at_the_ends():
    assert stencil_start(np.arange(N - 1), N, 4).tolist() == [0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 8]
    start, basis, below, above = lagrange_stencil(np.array([-1.0, 0.0, 5.5, 11.0, 12.0]), N, 4)
    assert start.tolist() == [0, 0, 4, 8, 8]
    assert below.tolist() == [True, False, False, False, False]
    assert above.tolist() == [False, False, False, False, True]
    assert_allclose(basis.sum(-1), 1.0, rtol=1e-14)
    assert_allclose(lagrange_basis(np.arange(4.0), 4), np.eye(4), atol=1e-15)


def test_batched_values_and_gradient():
    values = jnp.stack([jnp.arange(N, dtype=float), 2.0 * jnp.arange(N, dtype=float) ** 3])
    u = jnp.array([[0.25, 3.7], [10.9, -1.0]])
    # compiled whole: one compilation each (eager, one per operation: the tests above)
    out = jax.jit(interpolate_uniform, static_argnums=2)(values, u, 6)
    assert out.shape == (2, 2, 2)
    assert_allclose(out[1, 0], 2.0 * np.array([0.25, 3.7]) ** 3, rtol=1e-12)
    slope = jax.jit(jax.grad(lambda x: interpolate_uniform(values[1], x, 6)))(3.7)
    assert_allclose(slope, 6.0 * 3.7**2, rtol=1e-10)  # derivative of the exact cubic


@pytest.mark.parametrize("traced", [False, True])
def test_loglog_exact_on_power_laws_inside_and_outside(traced):
    grid = np.geomspace(0.01, 10.0, 20)
    R = np.array([0.003, 0.01, 0.0137, 0.5, 9.99, 10.0, 40.0])
    f = lambda x: 3.0 * x**-0.7  # noqa: E731
    call = jax.jit(lambda r: interp_loglog(r, grid, f(grid))) if traced else (
        lambda r: interp_loglog(r, grid, f(grid)))
    assert_allclose(call(R), f(R), rtol=1e-12)
    # a polynomial of degree 5 in ln R (exact with the default 6 points), not a power law
    g = lambda x: np.exp(0.1 * np.log(x) ** 2 - 0.02 * np.log(x) ** 5)  # noqa: E731
    inside = R[1:-1]
    assert_allclose(interp_loglog(inside, grid, g(grid)), g(inside), rtol=1e-10)


def test_bad_input():
    with pytest.raises(ValueError, match="log-spaced"):
        interp_loglog(1.0, np.array([1.0, 2.0, 4.0, 5.0]), np.ones(4), order=2)
    with pytest.raises(ValueError, match="order"):
        interpolate_uniform(np.ones(3), 1.0, 4)
