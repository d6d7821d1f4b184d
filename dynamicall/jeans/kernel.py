r"""Mamon & Lokas (2005) single-integral form of the line-of-sight dispersion.

.. math::
    \Sigma(R)\,\sigma_{los}^2(R) = 2G \int_R^\infty K\!\left(\frac{r}{R}\right) \nu(r)
    M(r) \frac{dr}{r}

with the kernels (their eq. A16; u = r/R = cosh(theta), u_a = r_a/R)

* constant beta: :math:`K(u) = \int_0^{\theta} (1 - \beta\,{\rm sech}^2\varphi)
  (\cosh\varphi / \cosh\theta)^{1-2\beta} d\varphi` (a smooth form of their incomplete-beta
  expression, valid for every beta < 1 and differentiable in beta);
* Osipkov-Merritt: :math:`K = \frac{u_a^2 + 1/2}{(u_a^2 + 1)^{3/2}} \frac{u^2 + u_a^2}{u}
  \arctan\sqrt{\frac{u^2 - 1}{u_a^2 + 1}} - \frac{\sqrt{1 - 1/u^2}}{2 (u_a^2 + 1)}`.

The integral runs over the same grid as the general path: nu M is interpolated by the
local Lagrange polynomials of the grid, and the kernel is evaluated exactly at
Gauss-Legendre nodes in theta inside every grid interval. The constant-beta kernel comes
from a cumulative quadrature of its integrand on a fine uniform grid in phi.

This path is the independent check of the general one (it never forms nu sigma_r^2) and
is meant for float64: the constant-beta kernel's partial integrals overflow float32 for
radii spanning more than ~15 e-folds.
"""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np

from ..anisotropy import Constant, OsipkovMerritt
from ..quadrature import cast, gauss_legendre
from ..units import G
from . import engine
from ..interpolate import lagrange_basis, stencil_start

_PHI_STEP = 0.01


@functools.lru_cache(maxsize=64)
def kernel_nodes(grid):
    """Static nodes of the kernel integral for every target R of ``grid``.

    Returns theta (n_R, P), weights w (n_R, P) for ds = tanh(th) d th, the Lagrange
    stencil columns (n_R, P, order) and basis values (n_R, P, order); rows are padded
    with zero weights.
    """
    p = grid.config.order
    x, w = gauss_legendre(grid.config.nodes)
    rows = []
    for R in grid.R:
        m, th, dth, s_pts = grid.abel_nodes(R, x)
        wt = dth[:, None] * w[None, :] * np.tanh(th)  # zero beyond a truncated tracer's edge
        start, basis = grid._basis_at(s_pts.ravel(), np.repeat(m, x.size))
        rows.append((th.ravel(), wt.ravel(), start[:, None] + np.arange(p)[None, :], basis))
    size = max(r[0].size for r in rows)
    pad = lambda a, fill: np.concatenate([a, np.full((size - a.shape[0],) + a.shape[1:], fill)])  # noqa: E731
    theta = np.stack([pad(r[0], 0.0) for r in rows])
    weight = np.stack([pad(r[1], 0.0) for r in rows])
    cols = np.stack([pad(r[2], 0) for r in rows]).astype(int)
    basis = np.stack([pad(r[3], 0.0) for r in rows])
    return theta, weight, cols, basis


@functools.lru_cache(maxsize=64)
def _phi_operators(grid, order: int = 12):
    """Cumulative-quadrature weights on the phi grid and the interpolation to the nodes."""
    theta = kernel_nodes(grid)[0]
    n = int(np.ceil(theta.max() / _PHI_STEP)) + order + 1
    m = np.arange(n - 1)
    start = stencil_start(m, n, order)
    xg, wg = gauss_legendre(order + 2)
    local = (m - start)[:, None] + xg[None, :]
    weights = _PHI_STEP * np.einsum("mgk,g->mk", lagrange_basis(local, order), wg)
    idx = start[:, None] + np.arange(order)[None, :]
    u = theta / _PHI_STEP
    node_start = stencil_start(np.clip(np.floor(u).astype(int), 0, n - 2), n, order)
    node_basis = lagrange_basis(u - node_start, order)
    node_cols = node_start[..., None] + np.arange(order)
    return _PHI_STEP * np.arange(n), idx, weights, node_cols, node_basis


def constant_beta_kernel(grid, beta, dtype):
    """K(cosh theta) for constant beta at the kernel nodes of ``grid`` (float64 advised)."""
    phi_np, idx, w, node_cols, node_basis = _phi_operators(grid)
    c = jnp.cosh(cast(phi_np, dtype))
    h = (1.0 - beta / (c * c)) * jnp.exp((1.0 - 2.0 * beta) * jnp.log(c))
    steps = jnp.sum(h[idx] * cast(w, dtype), axis=-1)
    big_j = jnp.concatenate([jnp.zeros((1,), dtype), jnp.cumsum(steps)])
    j_theta = jnp.sum(cast(node_basis, dtype) * big_j[node_cols], axis=-1)
    cosh_t = cast(np.cosh(kernel_nodes(grid)[0]), dtype)
    return jnp.exp((2.0 * beta - 1.0) * jnp.log(cosh_t)) * j_theta


def _constant_beta_kernel_direct(theta, beta, dtype, n_sub: int = 64):
    """K(cosh theta) for a few theta values by brute-force Gauss-Legendre (tails only)."""
    x, w = gauss_legendre(n_sub)
    theta = np.asarray(theta)
    phi = cast(theta[..., None] * x, dtype)
    c = jnp.cosh(phi)
    ratio = c / cast(np.cosh(theta), dtype)[..., None]
    h = (1.0 - beta / (c * c)) * jnp.exp((1.0 - 2.0 * beta) * jnp.log(ratio))
    return jnp.sum(h * cast(theta[..., None] * w, dtype), axis=-1)


def osipkov_merritt_kernel(theta, u_a2, dtype):
    """ML05 Osipkov-Merritt kernel at u = cosh(theta), for u_a^2 = (r_a/R)^2."""
    theta = cast(theta, dtype)
    u = jnp.cosh(theta)
    a1 = u_a2 + 1.0
    first = (u_a2 + 0.5) / a1**1.5 * (u * u + u_a2) / u * jnp.arctan(jnp.sinh(theta) / jnp.sqrt(a1))
    return first - jnp.tanh(theta) / (2.0 * a1)


def kernel_values(theta, anisotropy, R, dtype, grid=None):
    """The ML05 kernel at u = cosh(theta) for each target R (rows of theta); with
    ``grid``, ``theta`` are that grid's kernel nodes."""
    if isinstance(anisotropy, Constant):
        if grid is not None:
            return constant_beta_kernel(grid, anisotropy.beta, dtype)
        return _constant_beta_kernel_direct(theta, anisotropy.beta, dtype)
    if isinstance(anisotropy, OsipkovMerritt):
        u_a2 = (anisotropy.r_a / cast(R, dtype)) ** 2
        return osipkov_merritt_kernel(theta, u_a2[:, None], dtype)
    raise ValueError(
        f"method='kernel' needs Constant or OsipkovMerritt anisotropy, not {type(anisotropy).__name__}; "
        "use method='general'"
    )


def los_moment(grid, tracer, mass, anisotropy, dtype):
    """sigma_los^2 ((km/s)^2) at the grid's R by the single-integral kernel form."""
    theta, weight, cols, basis = kernel_nodes(grid)
    r = cast(grid.r, dtype)
    q = tracer.density(r) * engine.mass_on_grid(mass, grid, dtype)
    q_nodes = jnp.sum(cast(basis, dtype) * q[cols], axis=-1)
    k = kernel_values(theta, anisotropy, grid.R, dtype, grid)
    body = jnp.sum(cast(weight, dtype) * k * q_nodes, axis=-1)
    # beyond the grid: nu M continued as a power law, the kernel as its local power law
    # (a truncated tracer: R of the grid's end that lie beyond the edge take a dummy theta)
    ratio_end = grid.r[[-2, -1]][None, :] / grid.R[:, None]
    th_end = np.arccosh(np.where(grid.R_outside[:, None], 1.5, ratio_end) if grid.truncated else ratio_end)
    k_end = kernel_values(th_end, anisotropy, grid.R, dtype)
    if grid.truncated:  # nu M ~ exp(-m s), dr / r = J ds ~ exp(-s) ds, K smooth at r_t
        decay = engine._decay_rate(q[-2], q[-1], grid.config.step) + 1.0
        tail = jnp.where(jnp.asarray(grid.R_outside), 0.0, k_end[:, 1]) * q[-1] * float(grid.jacobian[-1]) / decay
    else:
        kernel_slope = jnp.log(k_end[:, 1] / k_end[:, 0]) / grid.config.step
        decay = engine._decay_rate(q[-2], q[-1], grid.config.step) - kernel_slope
        tail = k_end[:, 1] * q[-1] / jnp.maximum(decay, 1e-6)
    nu = tracer.density(r)
    sigma = 2.0 * (cast(grid.proj_r, dtype) @ nu + engine._abel_tails(grid, nu, dtype)[0])
    return engine.over_surface_density(grid, tracer, sigma)(2.0 * G * (body + tail))
