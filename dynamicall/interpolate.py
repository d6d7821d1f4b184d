r"""Lagrange interpolation on uniform grids: the one home of the stencils used by the Jeans
engine, the distribution functions and the log-log interpolation of dispersions.

Edge rules (the same everywhere)
--------------------------------
A uniform grid has points :math:`0, 1, \dots, n-1` (positions ``u`` are in units of the grid
step, measured from the first point).

* **Stencil.** A point inside the interval :math:`[m, m+1]` is interpolated through the
  ``order`` grid points starting at :func:`stencil_start` :math:`= m - order/2 + 1`, i.e.
  ``order/2`` points on each side of the interval, shifted inward near the ends so that it
  never leaves the grid. The interpolant is exact for polynomials of degree ``order - 1``
  everywhere in :math:`[0, n-1]`, including the end intervals.
* **Outside the grid** (:math:`u < 0` or :math:`u > n-1`): the straight line through the two
  end points, continued. In log-log coordinates (:func:`interp_loglog`) this continues the
  end values as power laws, exact for a power law.

Example
-------
>>> import numpy as np
>>> grid = np.arange(8.0)
>>> float(interpolate_uniform(grid**3, 2.5, 4))  # cubic, exact with 4 points
15.625
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .units import to_kpc

__all__ = [
    "interp_loglog",
    "interpolate_uniform",
    "interpolation_matrix",
    "lagrange_basis",
    "lagrange_stencil",
    "stencil_start",
]


def stencil_start(interval, n_points: int, order: int):
    """First grid index of the ``order``-point stencil of interval ``interval`` (between points
    ``interval`` and ``interval + 1``): centred on it, shifted inward at the grid ends.

    Works on NumPy and JAX integer arrays.

    Example
    -------
    >>> stencil_start(np.array([0, 4, 8]), 10, 4).tolist()
    [0, 3, 6]
    """
    return (jnp if isinstance(interval, jax.Array) else np).clip(
        interval - order // 2 + 1, 0, n_points - order)


def lagrange_basis(local, order: int, xp=np):
    """Lagrange basis polynomials of the stencil points ``0, 1, ..., order-1`` at ``local``.

    Parameters
    ----------
    local : array
        Positions in units of the grid step, relative to the stencil's first point.
    order : int
        Number of stencil points (>= 2).
    xp : module
        ``numpy`` or ``jax.numpy``.

    Returns
    -------
    array of shape ``local.shape + (order,)``
        Basis value k is 1 at point k and 0 at the other stencil points; the values sum to 1.

    Example
    -------
    >>> (lagrange_basis(np.array([1.0]), 4).round(12) + 0.0).tolist()  # + 0.0: no -0.0
    [[0.0, 1.0, 0.0, 0.0]]
    """
    local = xp.asarray(local)
    diffs = local[..., None] - np.arange(order)
    ones = xp.ones_like(diffs[..., :1])
    left = xp.cumprod(xp.concatenate([ones, diffs[..., :-1]], -1), -1)  # prod over j < k
    right = xp.cumprod(xp.concatenate([ones, diffs[..., :0:-1]], -1), -1)[..., ::-1]  # j > k
    denominators = np.array([np.prod([k - j for j in range(order) if j != k]) for k in range(order)],
                            dtype=float)
    return left * right / denominators


def lagrange_stencil(u, n_points: int, order: int, xp=np):
    """Stencil start, basis values and out-of-grid masks at fractional grid positions ``u``.

    Returns
    -------
    start : int array, shape of ``u``
    basis : array, ``u.shape + (order,)`` (evaluated at ``u`` clipped to the grid)
    below, above : bool arrays (``u < 0``, ``u > n_points - 1``)
    """
    if n_points < order or order < 2:
        raise ValueError(f"interpolation needs 2 <= order <= number of grid points; got order "
                         f"{order} on {n_points} points")
    uc = xp.clip(u, 0.0, n_points - 1.0)
    interval = xp.minimum(xp.floor(uc).astype(int), n_points - 2)
    start = stencil_start(interval, n_points, order)
    return start, lagrange_basis(uc - start, order, xp), u < 0, u > n_points - 1


def interpolate_uniform(values, u, order: int):
    """Interpolate ``values`` (uniform grid along the last axis) at fractional positions ``u``.

    The edge rules of the module: Lagrange through ``order`` points inside the grid, the end
    segment's straight line outside. Differentiable (JAX) in ``values`` and ``u``.

    Parameters
    ----------
    values : array (..., n)
        Values on the grid points ``0 .. n-1``.
    u : array
        Positions in grid steps from the first point, any shape.
    order : int
        Number of stencil points (``2 <= order <= n``).

    Returns
    -------
    jax.Array of shape ``values.shape[:-1] + u.shape``

    Example
    -------
    >>> float(interpolate_uniform(jnp.arange(5.0) * 2.0, -1.5, 4))  # linear continuation
    -3.0
    """
    values = jnp.asarray(values)
    u = jnp.asarray(u)
    n = values.shape[-1]
    start, basis, below, above = lagrange_stencil(u, n, order, jnp)
    idx = start[..., None] + np.arange(order)
    out = jnp.sum(basis * jnp.take(values, idx, axis=-1), -1)
    lin_below = values[..., :1] + (values[..., 1:2] - values[..., :1]) * u.ravel()
    lin_above = values[..., -1:] + (values[..., -1:] - values[..., -2:-1]) * (u.ravel() - (n - 1))
    shape = values.shape[:-1] + u.shape
    lin_below, lin_above = lin_below.reshape(shape), lin_above.reshape(shape)
    return jnp.where(below, lin_below, jnp.where(above, lin_above, out))


def interpolation_matrix(u, n_points: int, order: int) -> np.ndarray:
    """Dense ``(len(u), n_points)`` NumPy matrix ``W`` with ``W @ values`` equal to
    :func:`interpolate_uniform` at the concrete positions ``u`` (same edge rules).

    Example
    -------
    >>> W = interpolation_matrix(np.array([0.5, 5.0]), 4, 4)
    >>> (W @ np.arange(4.0)).round(12).tolist()
    [0.5, 5.0]
    """
    u = np.asarray(u, dtype=float).ravel()
    start, basis, below, above = lagrange_stencil(u, n_points, order, np)
    rows = np.arange(u.size)
    weights = np.zeros((u.size, n_points))
    np.add.at(weights, (rows[:, None], start[:, None] + np.arange(order)), basis)
    weights[below] = 0.0
    weights[below, 0], weights[below, 1] = 1.0 - u[below], u[below]
    weights[above] = 0.0
    weights[above, n_points - 2] = -(u[above] - (n_points - 1))
    weights[above, n_points - 1] = 1.0 + (u[above] - (n_points - 1))
    return weights


def interp_loglog(R, R_grid, values, order: int = 6):
    """Interpolate positive ``values`` given on the log-spaced grid ``R_grid`` to radii ``R``.

    Lagrange interpolation of ln(values) in ln(R) through ``order`` neighbouring grid points
    (error ~ step^order: 1e-6 for 32 points over 3 decades; exact for power laws and for
    polynomials of degree < ``order`` in ln R); outside the grid the end values continue as
    power laws (the edge rules of :mod:`dynamicall.interpolate`). ``R`` may be traced (stars'
    radii inside a likelihood); ``R_grid`` must be concrete and log-spaced.

    Parameters
    ----------
    R : array or Quantity
        Radii (kpc), any shape.
    R_grid : array or Quantity
        Log-spaced grid of at least ``order`` radii (kpc), e.g. from
        :func:`dynamicall.jeans.log_grid`.
    values : array
        Positive values on the grid (last axis), e.g. dispersions in km/s.
    order : int
        Number of interpolation points.

    Returns
    -------
    jax.Array of shape ``values.shape[:-1] + R.shape``

    Example
    -------
    >>> grid = np.geomspace(0.01, 10.0, 16)
    >>> round(float(interp_loglog(0.5, grid, grid**-0.5)), 12)  # power laws are exact
    1.414213562373
    """
    R_grid = np.asarray(to_kpc(R_grid), dtype=float)
    n = R_grid.size
    steps = np.diff(np.log(R_grid))
    if n < order or not np.allclose(steps, steps[0], rtol=1e-9, atol=0):
        raise ValueError(f"R_grid must be log-spaced with at least {order} points (use log_grid)")
    h = float(steps[0])
    log_values = jnp.log(values)
    R = to_kpc(R)
    if not isinstance(R, jax.core.Tracer):
        # concrete radii (a likelihood's stars): one fixed matrix, no gathers
        u = (np.log(np.asarray(R, dtype=float)) - np.log(R_grid[0])) / h
        weights = interpolation_matrix(u, n, order)
        out = log_values @ jnp.asarray(weights.T, dtype=log_values.dtype)
        return jnp.exp(out).reshape(log_values.shape[:-1] + np.shape(u))
    u = (jnp.log(R) - float(np.log(R_grid[0]))) / h
    return jnp.exp(interpolate_uniform(log_values, u, order))
