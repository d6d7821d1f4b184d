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

Beyond the grid, functions are continued as power laws (see :mod:`.engine`).
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

    Parameters
    ----------
    R : array
        Projected radii (kpc) at which projections are wanted (may be empty).
    r : array
        3D radii (kpc) at which intrinsic quantities are wanted (may be empty).
    config : JeansConfig
    reach : float
        Smallest acceptable outer end of the grid (kpc): the grid must reach beyond the
        profiles' scale radii for the power-law continuation of its tails to be exact.
    """

    def __init__(self, R: np.ndarray, r: np.ndarray, config: JeansConfig, reach: float = 0.0):
        self.config = config
        self.R = np.asarray(R, dtype=float)
        self.r_targets = np.asarray(r, dtype=float)
        everything = np.concatenate([self.R, self.r_targets])
        h, p = config.step, config.order
        s_lo = np.log(everything.min()) - config.inner
        s_hi = max(np.log(everything.max()) + config.outer, np.log(reach) if reach > 0 else -np.inf)
        n = int(np.ceil((s_hi - s_lo) / h)) + 1
        n = max(n, p + 1)
        self.s = s_lo + h * np.arange(n)
        self.r = np.exp(self.s)
        self.n = n
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
            lnR = np.log(R)
            m0 = int(np.clip(np.searchsorted(self.s, lnR, side="right") - 1, 0, n - 2))
            m = np.arange(m0, n - 1)
            lo = np.maximum(self.s[m], lnR)
            hi = self.s[m + 1]
            th_lo = np.arccosh(np.maximum(np.exp(lo - lnR), 1.0))
            th_hi = np.arccosh(np.exp(hi - lnR))
            th = th_lo[:, None] + (th_hi - th_lo)[:, None] * x[None, :]
            wt = (th_hi - th_lo)[:, None] * w[None, :]
            s_pts = lnR + np.log(np.cosh(th))
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
            s0 = np.log(r)
            m0 = int(np.clip(np.searchsorted(self.s, s0, side="right") - 1, 0, n - 2))
            span = self.s[m0 + 1] - s0
            start, basis = self._basis_at(s0 + span * x, np.full(x.size, m0))
            np.add.at(out[i], start[:, None] + np.arange(p)[None, :], basis * (span * w)[:, None])
            out[i] += self.after[m0 + 1]
        return out


@functools.lru_cache(maxsize=64)
def _cached(R_bytes: bytes, r_bytes: bytes, config: JeansConfig, reach: float) -> LogGrid:
    R = np.frombuffer(R_bytes, dtype=float)
    r = np.frombuffer(r_bytes, dtype=float)
    return LogGrid(R, r, config, reach)


def log_grid_for(R=(), r=(), config: JeansConfig = JeansConfig(), scales=()) -> LogGrid:
    """The (cached) grid and operators for projected radii ``R`` and 3D radii ``r`` (kpc).

    ``scales`` (kpc): the models' scale radii, when known; the grid then also reaches
    ``config.outer`` e-folds beyond the largest of them, rounded up to a whole e-fold so
    that nearby models share one grid (and one compilation).
    """
    R = np.ascontiguousarray(np.ravel(np.asarray(R, dtype=float)))
    r = np.ascontiguousarray(np.ravel(np.asarray(r, dtype=float)))
    scales = [float(x) for x in scales if np.isfinite(x) and x > 0]
    reach = float(np.exp(np.ceil(np.log(max(scales)) + config.outer))) if scales else 0.0
    return _cached(R.tobytes(), r.tobytes(), config, reach)
