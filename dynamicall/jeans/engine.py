r"""The Jeans engine: pure JAX functions of profiles on a static :class:`LogGrid`.

General path, any beta(r) (e.g. Binney & Tremaine 2008 eq. 4.216; Mamon & Lokas 2005):

1. radial pressure :math:`p = \nu\sigma_r^2 = \frac{1}{f(r)}\int_r^\infty f \nu
   \frac{G M}{s^2} ds`, with :math:`f = \exp\int 2\beta/r\,dr`, by cumulative quadrature
   from the outside in (sums of positive terms: no cancellation);
2. projections (Binney & Mamon 1982; Strigari, Bullock & Kaplinghat 2007):

   .. math::
      \Sigma\sigma_{los}^2 &= 2\int_R^\infty (1 - \beta R^2/r^2)\, p\, \frac{r\,dr}{\sqrt{r^2 - R^2}},\\
      \Sigma\sigma_{pm,R}^2 &= 2\int_R^\infty (1 - \beta + \beta R^2/r^2)\, p\, \frac{r\,dr}{\sqrt{r^2 - R^2}},\\
      \Sigma\sigma_{pm,T}^2 &= 2\int_R^\infty (1 - \beta)\, p\, \frac{r\,dr}{\sqrt{r^2 - R^2}},\quad
      \Sigma = 2\int_R^\infty \nu\, \frac{r\,dr}{\sqrt{r^2 - R^2}}.

Beyond the grid every function is continued as the power law through its last two grid
values (exact tails of the Abel integrals to order (R/r_end)^6); below it, the enclosed
mass of a profile without a closed form is continued as the inner power law.

A tracer with a finite, concrete ``truncation_radius`` r_t (King) gets the logit grid of
:class:`~dynamicall.jeans.grid.LogGrid`, s = ln(r / (r_t - r)): integrals in s carry the
Jacobian d ln r / ds = 1 - r / r_t, and the tails beyond the grid (r_t - r < r_t e^{-s_end})
are the exponential continuations of the last two grid values. At and beyond r_t the
surface density and every dispersion are zero (the limit of sigma^2 ~ (r_t - R) there).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ..profiles import Composite
from ..quadrature import cast
from ..units import G

FOUR_PI = 4.0 * jnp.pi


def interval_integrals(values, grid, dtype):
    """Integrals over each of the n - 1 grid intervals of a grid function (last axis).

    Each interval uses the local Lagrange stencil of ``order`` points; written as sums of
    static slices (no gathers), which XLA fuses into one loop.
    """
    n, p = grid.n, grid.config.order
    lead = p // 2 - 1
    w = cast(grid.interval_w, dtype)
    batch = values.shape[:-1]
    total = 0.0
    for j in range(p):
        column = jnp.concatenate(
            [
                jnp.broadcast_to(values[..., j : j + 1], batch + (lead,)),
                values[..., j : j + n - p + 1],
                jnp.broadcast_to(values[..., n - p + j : n - p + j + 1], batch + (lead,)),
            ],
            axis=-1,
        )
        total = total + w[:, j] * column
    return total


def cumulative_before(values, grid, dtype):
    """int_{s_0}^{s_k} q ds at every grid point."""
    steps = interval_integrals(values, grid, dtype)
    return jnp.concatenate([jnp.zeros(values.shape[:-1] + (1,), dtype), jnp.cumsum(steps, axis=-1)], -1)


def cumulative_after(values, grid, dtype):
    """int_{s_k}^{s_end} q ds at every grid point (summed from the outside in)."""
    steps = interval_integrals(values, grid, dtype)
    rev = jnp.cumsum(steps[..., ::-1], axis=-1)[..., ::-1]
    return jnp.concatenate([rev, jnp.zeros(values.shape[:-1] + (1,), dtype)], -1)


def _decay_rate(first, second, step):
    """Exponential decay rate per unit s from two positive neighbouring values (guarded)."""
    ok = (first > 0) & (second > 0)
    # a difference of logs: the derivative of a ratio squares its denominator, which
    # underflows for tails below 1e-154 (Sersic, Gaussian tracers) and gives NaN gradients
    rate = (jnp.log(jnp.where(ok, first, 2.0)) - jnp.log(jnp.where(ok, second, 1.0))) / step
    return jnp.where(ok, rate, jnp.inf)


def components(mass):
    return mass.components if isinstance(mass, Composite) else (mass,)


def cumulative_mass(profile, grid, dtype, r=None):
    """M(<r) on the grid from the density: 4 pi int rho r^3 ds, inner power-law start.

    ``r`` (default: the grid's radii) may be the grid shifted by a traced factor, as long
    as it is uniform in ln r with the grid's step.
    """
    r = cast(grid.r, dtype) if r is None else r
    q = FOUR_PI * r**3 * profile.density(r)
    if grid.truncated:  # d ln r = (1 - r / r_t) ds on the logit grid
        q = q * cast(grid.jacobian, dtype)
    h = grid.config.step
    inner_slope = jnp.maximum(jnp.log(q[1] / q[0]) / h, 1e-3)  # 3 - gamma near r_0
    return q[0] / inner_slope + cumulative_before(q, grid, dtype)


def component_masses(mass, grid, dtype, r=None):
    """The enclosed mass of each component of a profile or composite on the grid (closed
    forms where cheap, :func:`cumulative_mass` otherwise): (components, masses)."""
    r = cast(grid.r, dtype) if r is None else r
    parts = components(mass)
    return parts, [p.mass(r) if p.cheap_mass else cumulative_mass(p, grid, dtype, r) for p in parts]


def mass_on_grid(mass, grid, dtype):
    """Enclosed mass of a profile or composite on the grid."""
    return sum(component_masses(mass, grid, dtype)[1])


def pressure(grid, tracer, mass, anisotropy, dtype):
    """Radial pressure p = nu sigma_r^2 on the grid, with nu, beta and the integrand.

    Returns
    -------
    dict with ``nu``, ``p``, ``beta``, ``log_f`` (normalised at the grid centre), ``g``
    (the integrand f nu G M / r in s) and ``g_tail`` (its integral beyond the grid).
    """
    r = cast(grid.r, dtype)
    # A fixed tracer (the usual case in a fit) makes nu a compile-time constant, and XLA
    # would then constant-fold the large projection products at compile time (seconds);
    # the barrier keeps them run-time work, which costs microseconds.
    nu = jax.lax.optimization_barrier(tracer.density(r))
    m = mass_on_grid(mass, grid, dtype)
    log_f = anisotropy.log_f(r)
    log_f = log_f - log_f[grid.n // 2]
    f = jnp.exp(log_f)
    g = f * nu * G * m / r
    if grid.truncated:  # the integrand in s, not ln r
        g = g * cast(grid.jacobian, dtype)
    g_tail = g[-1] / _decay_rate(g[-2], g[-1], grid.config.step)
    p = (cumulative_after(g, grid, dtype) + g_tail) / f
    return dict(nu=nu, p=p, beta=anisotropy.beta_at(r), log_f=log_f, g=g, g_tail=g_tail)


def _abel_tails(grid, values, dtype):
    """Tails beyond r_end of the two Abel kernels for power-law continuations.

    ``values`` has the grid on its last axis. Returns (t_r, t_rr), each (..., n_R):
    int_{r_end}^inf q r dr / sqrt(r^2 - R^2) and the same with R^2/r^2, for
    q = q_end (r / r_end)^-m, expanded to O((R/r_end)^6).
    """
    m = _decay_rate(values[..., -2:-1], values[..., -1:], grid.config.step)
    if grid.truncated:
        # beyond the logit grid q ~ exp(-m s) and r dr / sqrt(r^2 - R^2) = edge_tail exp(-s) ds
        # to O(exp(-s_end)) (r_t - r_end < r_t e^{-s_end}: a part in ~1e-9 of the integral)
        t_r = values[..., -1:] * cast(grid.edge_tail, dtype) / jnp.maximum(m + 1.0, 1e-6)
        return t_r, t_r * cast((grid.R / grid.r[-1]) ** 2, dtype)
    m = jnp.maximum(m, 1.0 + 1e-6)
    x = cast(grid.tail_ratio2, dtype)
    scale = values[..., -1:] * float(grid.r[-1])
    t_r = scale * (1.0 / (m - 1.0) + x / (2.0 * (m + 1.0)) + 3.0 * x * x / (8.0 * (m + 3.0)))
    t_rr = scale * x * (1.0 / (m + 1.0) + x / (2.0 * (m + 3.0)) + 3.0 * x * x / (8.0 * (m + 5.0)))
    return t_r, t_rr


def projected_moments(grid, tracer, mass, anisotropy, dtype):
    """Surface density and the three projected second moments at the grid's R.

    Returns
    -------
    dict with ``sigma`` (Sigma, tracer units x kpc), ``los2``, ``pmR2``, ``pmT2``
    (dispersions squared, (km/s)^2).
    """
    pr = pressure(grid, tracer, mass, anisotropy, dtype)
    p, beta, nu = pr["p"], pr["beta"], pr["nu"]
    # a single matrix-vector product for all four projections (one dot: on CPU the cost of
    # these small products is mostly per-call overhead)
    funcs = jnp.stack([p, nu])
    body = cast(grid.proj_block, dtype) @ jnp.concatenate([p, nu, beta * p])
    body_p, body_nu, body_bp, body_bp_rr = jnp.split(body, 4)
    t_r, t_rr = _abel_tails(grid, funcs, dtype)
    b_end = beta[-1]
    ap = body_p + t_r[0]  # int p r dr / sqrt(r^2 - R^2)
    sigma = 2.0 * (body_nu + t_r[1])
    abp = body_bp + b_end * t_r[0]  # int beta p r dr / sqrt
    abp_rr = body_bp_rr + b_end * t_rr[0]  # int beta p R^2/r^2 r dr / sqrt
    per_sigma = over_surface_density(grid, tracer, sigma)
    return dict(
        sigma=sigma,
        los2=per_sigma(2.0 * (ap - abp_rr)),
        pmR2=per_sigma(2.0 * (ap - abp + abp_rr)),
        pmT2=per_sigma(2.0 * (ap - abp)),
    )


def _beyond_edge(radii, static_mask, tracer):
    """Which target radii lie at or beyond the tracer's edge: ``static_mask`` from the grid
    (concrete r_t), a traced mask from the tracer (traced r_t), or None (no truncation)."""
    if static_mask is not None:
        return static_mask
    r_t = getattr(tracer, "truncation_radius", None)
    if r_t is None:
        return None
    return jnp.asarray(radii) >= r_t


def _divide_inside(num, den, outside):
    """num / den, and zero where ``outside`` (with finite gradients there)."""
    if outside is None:
        return num / den
    return jnp.where(outside, 0.0, num / jnp.where(outside, 1.0, den))


def over_surface_density(grid, tracer, sigma):
    """The division of projected moments by Sigma, zero at and beyond a tracer's edge."""
    outside = _beyond_edge(grid.R, grid.R_outside if grid.truncated else None, tracer)
    return lambda moment: _divide_inside(moment, sigma, outside)


def intrinsic_moments(grid, r, tracer, mass, anisotropy, dtype):
    """sigma_r^2 and sigma_t^2 ((km/s)^2) at the grid's target 3D radii ``r`` (kpc)."""
    pr = pressure(grid, tracer, mass, anisotropy, dtype)
    after = cast(grid.from_r, dtype) @ pr["g"] + pr["g_tail"]
    r = jnp.asarray(r, dtype)
    log_f = anisotropy.log_f(r) - (anisotropy.log_f(cast(grid.r[grid.n // 2], dtype)))
    outside = _beyond_edge(r, grid.r_outside if grid.truncated else None, tracer)
    sr2 = _divide_inside(after * jnp.exp(-log_f), tracer.density(r), outside)
    return dict(r2=sr2, t2=(1.0 - anisotropy.beta_at(r)) * sr2)
