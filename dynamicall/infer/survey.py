"""Survey designs: where the stars of a planned (or real) survey are and how well they are
measured, for Fisher forecasts (:mod:`dynamicall.infer.fisher`).

A :class:`SurveyDesign` is a set of weighted nodes: projected radius, number of stars,
velocity error (and proper-motion error). :meth:`SurveyDesign.from_tracer` places the
nodes by Gauss-Legendre quadrature in the tracer's cumulative projected number, so that
sums over the nodes are integrals over the radial distribution of the stars;
:meth:`SurveyDesign.from_catalog` takes real stars as they are.

Example
-------
>>> from dynamicall.profiles import Plummer
>>> design = SurveyDesign.from_tracer(Plummer(m_tot=1.0, r_s=0.25), 500, v_err=2.0, R_max=1.25)
>>> design.n_stars, design.R.size
(500.0, 32)
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..quadrature import gauss_legendre
from ..units import to_internal


@dataclasses.dataclass(frozen=True)
class SurveyDesign:
    """Where the stars of a survey are and how well they are measured.

    Each node stands for ``weights[i]`` stars at projected radius ``R[i]`` with velocity
    error ``v_err[i]`` (and proper-motion error ``pm_err[i]``). Build with
    :meth:`from_tracer` (a planned survey) or :meth:`from_catalog` (real stars).

    Attributes
    ----------
    R : ndarray
        Node radii, kpc.
    weights : ndarray
        Stars per node (they sum to the number of stars).
    v_err : ndarray
        Line-of-sight velocity error per node, km/s.
    pm_err : ndarray or None
        Proper-motion error per node and component, mas/yr.
    distance : float or None
        Distance, kpc (needed with proper motions).
    """

    R: np.ndarray
    weights: np.ndarray
    v_err: np.ndarray
    pm_err: np.ndarray | None = None
    distance: float | None = None

    def __post_init__(self):
        R = np.atleast_1d(np.asarray(to_internal(self.R, "length"), dtype=float))
        w = np.broadcast_to(np.asarray(self.weights, dtype=float), R.shape).copy()
        e = np.broadcast_to(np.asarray(to_internal(self.v_err, "velocity"), dtype=float), R.shape).copy()
        if not (np.all(np.isfinite(R)) and np.all(R > 0)):
            raise ValueError("SurveyDesign.R must be finite and > 0 (kpc)")
        if not (np.all(np.isfinite(w)) and np.all(w >= 0) and w.sum() > 0):
            raise ValueError("SurveyDesign.weights must be finite, >= 0, with a positive sum")
        if not (np.all(np.isfinite(e)) and np.all(e >= 0)):
            raise ValueError("SurveyDesign.v_err must be finite and >= 0 (km/s)")
        object.__setattr__(self, "R", R)
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "v_err", e)
        if self.pm_err is not None:
            pm = np.broadcast_to(np.asarray(to_internal(self.pm_err, "proper_motion"), dtype=float), R.shape).copy()
            if not (np.all(np.isfinite(pm)) and np.all(pm >= 0)):
                raise ValueError("SurveyDesign.pm_err must be finite and >= 0 (mas/yr)")
            object.__setattr__(self, "pm_err", pm)
            if self.distance is None:
                raise ValueError("SurveyDesign with proper motions needs the distance (kpc)")
        if self.distance is not None:
            d = float(to_internal(self.distance, "length"))
            if not (np.isfinite(d) and d > 0):
                raise ValueError(f"SurveyDesign.distance must be finite and > 0 (kpc); got {self.distance!r}")
            object.__setattr__(self, "distance", d)

    @property
    def n_stars(self) -> float:
        """Number of stars the design stands for."""
        return float(self.weights.sum())

    @property
    def has_proper_motions(self) -> bool:
        return self.pm_err is not None

    def scaled(self, n_stars) -> "SurveyDesign":
        """The same design with ``n_stars`` stars (Fisher information scales linearly).

        Example
        -------
        >>> d = SurveyDesign(R=[0.1, 0.2], weights=[5, 5], v_err=2.0)
        >>> d.scaled(100).n_stars
        100.0
        """
        return dataclasses.replace(self, weights=self.weights * (float(n_stars) / self.n_stars))

    @classmethod
    def from_tracer(cls, tracer, n_stars, v_err, *, R_min=None, R_max=None, pm_err=None,
                    distance=None, nodes: int = 32) -> "SurveyDesign":
        """A planned survey of ``n_stars`` stars following the tracer's projected profile.

        Parameters
        ----------
        tracer : Profile
            Tracer profile (its projected number profile sets the radial distribution).
        n_stars : float
            Number of stars.
        v_err : float or array
            Velocity error (km/s); an array is a sample of the error distribution
            (equal weights), combined with every radial node.
        R_min, R_max : float or Quantity, optional
            Radial range of the survey (default: 0 to 10 R_half).
        pm_err : float or array, optional
            Proper-motion error per component (mas/yr), like ``v_err``.
        distance : float or Quantity, optional
            Distance (kpc), needed with proper motions.
        nodes : int
            Gauss-Legendre nodes in the cumulative projected number.

        Example
        -------
        >>> from dynamicall.profiles import Plummer
        >>> d = SurveyDesign.from_tracer(Plummer(m_tot=1.0, r_s=0.25), 200, v_err=[1.0, 3.0])
        >>> d.n_stars, d.R.size
        (200.0, 64)
        """
        R_half = float(tracer.half_light_radius())
        r_lo = 0.0 if R_min is None else float(to_internal(R_min, "length"))
        r_hi = 10.0 * R_half if R_max is None else float(to_internal(R_max, "length"))
        if not (0 <= r_lo < r_hi < np.inf):
            raise ValueError(f"need 0 <= R_min < R_max < inf (kpc); got {r_lo}, {r_hi}")
        if not (np.isfinite(n_stars) and n_stars > 0):
            raise ValueError(f"n_stars must be > 0; got {n_stars!r}")
        # cumulative projected number on a fine log grid, inverted by interpolation
        grid = np.geomspace(max(r_lo, 1e-4 * R_half), r_hi, 2000)
        cum = np.asarray(tracer.projected_mass(grid), dtype=float)
        cum = cum / float(tracer.total_mass()) if tracer.has_finite_mass() else cum / cum[-1]
        f_lo = float(np.interp(r_lo, grid, cum)) if r_lo > 0 else 0.0
        f_hi = float(cum[-1])
        x, w = gauss_legendre(int(nodes))
        u = f_lo + (f_hi - f_lo) * x
        ext_grid = np.concatenate([[0.0], grid]) if r_lo == 0 else grid
        ext_cum = np.concatenate([[0.0], cum]) if r_lo == 0 else cum
        R = np.interp(u, ext_cum, ext_grid)
        norm = float(tracer.total_mass()) if tracer.has_finite_mass() else float(tracer.projected_mass(r_hi))
        for _ in range(3):  # Newton on N(<R) = u: d N(<R) / dR = 2 pi R Sigma(R)
            F = np.asarray(tracer.projected_mass(R), dtype=float) / norm
            dF = 2 * np.pi * R * np.asarray(tracer.surface_density(R), dtype=float) / norm
            R = np.clip(R - (F - u) / dF, 0.5 * R, 2.0 * R)
        errs = np.atleast_1d(np.asarray(to_internal(v_err, "velocity"), dtype=float))
        pms = None if pm_err is None else np.atleast_1d(np.asarray(to_internal(pm_err, "proper_motion"), dtype=float))
        n_e = errs.size
        if pms is not None and pms.size not in (1, n_e):
            raise ValueError("pm_err must be a scalar or have as many entries as v_err")
        R_all = np.repeat(R, n_e)
        w_all = np.repeat(w, n_e) * (float(n_stars) / n_e)
        e_all = np.tile(errs, R.size)
        pm_all = None if pms is None else np.tile(np.broadcast_to(pms, (n_e,)), R.size)
        return cls(R=R_all, weights=w_all, v_err=e_all, pm_err=pm_all, distance=distance)

    @classmethod
    def from_catalog(cls, catalog, proper_motions: bool = False) -> "SurveyDesign":
        """The stars of a catalogue as they are (one node per star).

        With proper motions, the two components' errors are combined into one per star
        (their root mean square).
        """
        R = np.maximum(catalog.R, catalog.R[catalog.R > 0].min())
        pm = None
        if proper_motions:
            if not catalog.has_proper_motions:
                raise ValueError("the catalogue has no proper motions")
            pm = np.sqrt(0.5 * (catalog.pm_R_err**2 + catalog.pm_T_err**2))
        return cls(R=R, weights=np.ones_like(R), v_err=catalog.v_err, pm_err=pm,
                   distance=catalog.distance if proper_motions else None)
