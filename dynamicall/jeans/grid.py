"""Static operators of the Jeans engine on a uniform grid in s = ln r (NumPy, float64).

Every function sampled on the grid is represented, interval by interval, by the local
Lagrange polynomial through ``order`` neighbouring grid values. Integrals of such a
function, with or without a singular kernel, are then fixed linear maps of the grid
values; this module computes them once per (radii, configuration) and caches them:

* ``interval_w``: the integral over each grid interval from its local stencil;
* ``proj_r``, ``proj_rr``: the Abel projections ``int_R^r_end q(r) r dr / sqrt(r^2 - R^2)``
  and the same with an extra ``R^2 / r^2``, for each target projected radius R, computed by
  Gauss-Legendre quadrature in r = R cosh(th), which removes the square-root singularity;
* ``from_r``: ``int_{ln r}^{s_end} q ds`` for each target 3D radius r;
* ``kernel_*``: points and weights of the Mamon & Lokas (2005) single-integral form.

Beyond the grid, functions are continued as power laws (see :mod:`.engine`). For a tracer
truncated at a concrete radius (King's r_t) the grid is uniform in s = ln(r / (r_t - r))
instead (see :class:`LogGrid`); the operators are the same maps in that coordinate.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from ..interpolate import lagrange_basis, stencil_start
from ..quadrature import gauss_legendre


@dataclasses.dataclass(frozen=True)
class JeansConfig:
    """Static accuracy settings of the Jeans engine.

    Parameters
    ----------
    step : float
        Grid spacing in ln r.
    order : int
        Number of grid points of the local interpolant (even; error ~ step**order).
    inner : float
        Extent of the grid below the smallest requested radius, in ln r (the enclosed
        mass below it is continued as a power law).
    outer : float
        Extent of the grid above the largest requested radius, in ln r (functions beyond
        it are continued as power laws).
    nodes : int
        Gauss-Legendre nodes per grid interval for the singular projection kernels.

    The default reaches ~1e-12 relative on the analytic test models; :meth:`fast`
    reaches ~2e-8 (median) and 4e-6 (worst corner of the shipped emulator's domain) in
    ln sigma for Zhao haloes and Plummer tracers, with a third of the grid points.

    Example
    -------
    >>> JeansConfig.fast().step
    0.1
    """

    step: float = 0.04
    order: int = 12
    inner: float = 10.0
    outer: float = 8.0
    nodes: int = 12

    def __post_init__(self):
        if not (0 < self.step <= 1):
            raise ValueError(f"JeansConfig.step must be in (0, 1]; got {self.step}")
        if self.order < 2 or self.order % 2:
            raise ValueError(f"JeansConfig.order must be an even integer >= 2; got {self.order}")
        if self.inner < 0 or self.outer < 1:
            raise ValueError("JeansConfig.inner must be >= 0 and JeansConfig.outer >= 1")
        if self.nodes < 2:
            raise ValueError(f"JeansConfig.nodes must be >= 2; got {self.nodes}")

    @classmethod
    def fast(cls) -> "JeansConfig":
        """Coarser settings for bulk work (training sets, benchmarks): ~2e-8 typical,
        4e-6 at worst over the Zhao/Baes-van Hese emulator domain."""
        return cls(step=0.1, order=12, inner=6.0, outer=6.0, nodes=8)


class LogGrid:
    """The grid in s = ln r and its static operators for given target radii.

    For a tracer truncated at a finite radius ``edge`` (King's tidal radius), the grid
    coordinate is instead the logit s = ln(r / (edge - r)): the same as ln(r / edge)
    well inside the edge, while the edge itself lies at s = +inf, where a density
    vanishing as (edge - r)^k decays as exp(-k s) - smooth on a uniform grid in s and
    continued beyond it exactly like a power-law tail (see :mod:`.engine`).

    Parameters
    ----------
    R : array
        Projected radii (kpc) at which projections are wanted (may be empty).
    r : array
        3D radii (kpc) at which intrinsic quantities are wanted (may be empty).
    config : JeansConfig
    reach : float
        Smallest acceptable outer end of the grid (kpc): the grid must reach beyond the
        profiles' scale radii for the power-law continuation of its tails to be exact
        (ignored with a finite ``edge``: nothing lies beyond it).
    edge : float
        Radius (kpc) beyond which the tracer has no stars (``inf``: none). Targets at or
        beyond it get empty operators (the engine returns zero there).
    """

    def __init__(self, R: np.ndarray, r: np.ndarray, config: JeansConfig, reach: float = 0.0,
                 edge: float = np.inf):
        self.config = config
        self.R = np.asarray(R, dtype=float)
        self.r_targets = np.asarray(r, dtype=float)
        self.edge = float(edge)
        self.truncated = bool(np.isfinite(self.edge))
        everything = np.concatenate([self.R, self.r_targets])
        h, p = config.step, config.order
        if self.truncated:
            inside = self.coordinate(everything[everything < self.edge])
            if inside.size == 0:
                inside = np.zeros(1)
            s_lo = inside.min() - config.inner
            # at least `outer` e-folds of (edge - r) beyond r = edge / 2, where the tails of
            # the functions have become exp(-k s) to O(exp(-s))
            s_hi = max(inside.max(), 0.0) + config.outer
        else:
            s_lo = np.log(everything.min()) - config.inner
            s_hi = max(np.log(everything.max()) + config.outer, np.log(reach) if reach > 0 else -np.inf)
        n = int(np.ceil((s_hi - s_lo) / h)) + 1
        n = max(n, p + 1)
        self.s = s_lo + h * np.arange(n)
        self.r = self.radius(self.s)
        #: d ln r / d s on the grid (1 for the plain log grid)
        self.jacobian = 1.0 / (1.0 + np.exp(self.s)) if self.truncated else np.ones(n)
        self.n = n
        #: targets at or beyond the edge (their operators are zero)
        self.R_outside = self.R >= self.edge
        self.r_outside = self.r_targets >= self.edge
        self._interval_weights()
        self._cumulative_from()
        self.proj_r, self.proj_rr = self._projection()
        zero = np.zeros_like(self.proj_r)
        self.proj_block = np.block(
            [
                [self.proj_r, zero, zero],
                [zero, self.proj_r, zero],
                [zero, zero, self.proj_r],
                [zero, zero, self.proj_rr],
            ]
        )
        self.from_r = self._partial_from()
        self.tail_ratio2 = (self.R / self.r[-1]) ** 2
        if self.truncated:
            # int_{r_end}^{edge} r dr / sqrt(r^2 - R^2) per unit of a q decaying as exp(-m s):
            # r^2 J / sqrt(r^2 - R^2) at the grid's end (times 1 / (m + 1), in the engine)
            r_end, j_end = self.r[-1], self.jacobian[-1]
            inside = ~self.R_outside
            self.edge_tail = np.where(inside, r_end**2 * j_end / np.sqrt(np.maximum(r_end**2 - self.R**2, 1e-300)), 0.0)

    # ------------------------------------------------------------- coordinate
    def coordinate(self, r):
        """The grid coordinate s of radii ``r`` (kpc): ln r, or ln(r / (edge - r))."""
        r = np.asarray(r, dtype=float)
        return np.log(r) - np.log(self.edge - r) if self.truncated else np.log(r)

    def radius(self, s):
        """The radius (kpc) at grid coordinate ``s``: exp(s), or edge / (1 + exp(-s))."""
        s = np.asarray(s, dtype=float)
        return self.edge / (1.0 + np.exp(-s)) if self.truncated else np.exp(s)

    def abel_nodes(self, R: float, x: np.ndarray):
        """Nodes of the Abel integral int_R^{r_end} q r dr / sqrt(r^2 - R^2) in r = R cosh(th).

        Gauss-Legendre points ``x`` (on [0, 1]) in theta inside every grid interval above R
        (the square-root singularity at r = R becomes a smooth integrand).

        Returns
        -------
        m : intervals used; th, dth : nodes (len(m), len(x)) and their theta widths
        (len(m),); s_pts : the nodes' grid coordinates (len(m), len(x)).
        """
        n = self.n
        if self.truncated and R >= self.edge:  # nothing to integrate: one empty interval
            m = np.array([n - 2])
            th = np.zeros((1, x.size))
            return m, th, np.zeros(1), np.full((1, x.size), self.s[n - 2])
        if self.truncated:
            sR = float(self.coordinate(R))
        else:
            sR = np.log(R)
        m0 = int(np.clip(np.searchsorted(self.s, sR, side="right") - 1, 0, n - 2))
        m = np.arange(m0, n - 1)
        lo = np.maximum(self.s[m], sR)
        hi = self.s[m + 1]
        if self.truncated:
            th_lo = np.arccosh(np.maximum(self.radius(lo) / R, 1.0))
            th_lo[lo == sR] = 0.0  # exactly R, whatever the rounding of radius(coordinate(R))
            th_hi = np.arccosh(np.maximum(self.radius(hi) / R, 1.0))
        else:
            th_lo = np.arccosh(np.maximum(np.exp(lo - sR), 1.0))
            th_hi = np.arccosh(np.exp(hi - sR))
        th = th_lo[:, None] + (th_hi - th_lo)[:, None] * x[None, :]
        if self.truncated:
            s_pts = self.coordinate(R * np.cosh(th))
        else:
            s_pts = sR + np.log(np.cosh(th))
        return m, th, th_hi - th_lo, s_pts

    # ---------------------------------------------------------------- pieces
    def _interval_weights(self):
        h, p, n = self.config.step, self.config.order, self.n
        m = np.arange(n - 1)
        start = stencil_start(m, n, p)
        self.interval_idx = start[:, None] + np.arange(p)[None, :]
        x, w = gauss_legendre(p + 2)
        local = (m - start)[:, None] + x[None, :]  # interval position inside its stencil, units of h
        weights = np.einsum("g,kgp->kp", w, lagrange_basis(local, p))
        self.interval_w = h * weights

    def _cumulative_from(self):
        """``after[k] . q = int_{s_k}^{s_end} q ds`` as a dense operator (rows: grid points),
        used for intrinsic dispersions at arbitrary radii."""
        n = self.n
        scattered = np.zeros((n - 1, n))
        np.add.at(scattered, (np.arange(n - 1)[:, None], self.interval_idx), self.interval_w)
        self.after = np.zeros((n, n))
        self.after[:-1] = np.cumsum(scattered[::-1], axis=0)[::-1]

    def _basis_at(self, s_points: np.ndarray, m: np.ndarray):
        """Stencil start and basis values (len, order) for points ``s`` in intervals ``m``."""
        p = self.config.order
        start = stencil_start(m, self.n, p)
        local = (s_points - self.s[start]) / self.config.step
        return start, lagrange_basis(local, p)

    def _projection(self):
        """proj_r[i] . q = int_{R_i}^{r_end} q r dr / sqrt(r^2 - R_i^2); proj_rr adds R^2/r^2."""
        n_R, n, p = self.R.size, self.n, self.config.order
        proj_r = np.zeros((n_R, n))
        proj_rr = np.zeros((n_R, n))
        x, w = gauss_legendre(self.config.nodes)
        for i, R in enumerate(self.R):
            if self.R_outside[i]:
                continue
            m, th, dth, s_pts = self.abel_nodes(R, x)
            wt = dth[:, None] * w[None, :]
            start, basis = self._basis_at(s_pts.ravel(), np.repeat(m, x.size))
            k1 = (wt * R * np.cosh(th)).ravel()
            k2 = (wt * R / np.cosh(th)).ravel()
            cols = start[:, None] + np.arange(p)[None, :]
            np.add.at(proj_r[i], cols, basis * k1[:, None])
            np.add.at(proj_rr[i], cols, basis * k2[:, None])
        return proj_r, proj_rr

    def _partial_from(self):
        """from_r[i] . q = int_{ln r_i}^{s_end} q ds for each target 3D radius."""
        n, p = self.n, self.config.order
        out = np.zeros((self.r_targets.size, n))
        x, w = gauss_legendre(p + 2)
        for i, r in enumerate(self.r_targets):
            if self.r_outside[i]:
                continue
            s0 = float(self.coordinate(r))
            m0 = int(np.clip(np.searchsorted(self.s, s0, side="right") - 1, 0, n - 2))
            span = self.s[m0 + 1] - s0
            start, basis = self._basis_at(s0 + span * x, np.full(x.size, m0))
            np.add.at(out[i], start[:, None] + np.arange(p)[None, :], basis * (span * w)[:, None])
            out[i] += self.after[m0 + 1]
        return out


@functools.lru_cache(maxsize=64)
def _cached(R_bytes: bytes, r_bytes: bytes, config: JeansConfig, reach: float, edge: float = np.inf) -> LogGrid:
    R = np.frombuffer(R_bytes, dtype=float)
    r = np.frombuffer(r_bytes, dtype=float)
    return LogGrid(R, r, config, reach, edge)


def log_grid_for(R=(), r=(), config: JeansConfig = JeansConfig(), scales=(), edge=None) -> LogGrid:
    """The (cached) grid and operators for projected radii ``R`` and 3D radii ``r`` (kpc).

    ``scales`` (kpc): the models' scale radii, when known; the grid then also reaches
    ``config.outer`` e-folds beyond the largest of them, rounded up to a whole e-fold so
    that nearby models share one grid (and one compilation). ``edge`` (kpc): the tracer's
    truncation radius, when finite and concrete (the grid is then the logit grid of
    :class:`LogGrid`, one per edge value).
    """
    R = np.ascontiguousarray(np.ravel(np.asarray(R, dtype=float)))
    r = np.ascontiguousarray(np.ravel(np.asarray(r, dtype=float)))
    if edge is not None and np.isfinite(edge):
        return _cached(R.tobytes(), r.tobytes(), config, 0.0, float(edge))
    scales = [float(x) for x in scales if np.isfinite(x) and x > 0]
    reach = float(np.exp(np.ceil(np.log(max(scales)) + config.outer))) if scales else 0.0
    return _cached(R.tobytes(), r.tobytes(), config, reach)
