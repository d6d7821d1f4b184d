r"""Virial shape parameters: fourth-moment constraints that break the mass-anisotropy degeneracy.

The two virial shape parameters (Merrifield & Kent 1990; Richardson & Fairbairn 2014;
Read & Steger 2017, GravSphere) are projected fourth moments of the line-of-sight
velocities that a model predicts from its second moments alone:

.. math::
    v_{s1} &= \int_0^\infty \Sigma\langle v_{los}^4\rangle R\,dR
            = \frac{2}{5}\int_0^\infty G M (5 - 2\beta)\,\nu\sigma_r^2\, r\,dr,\\
    v_{s2} &= \int_0^\infty \Sigma\langle v_{los}^4\rangle R^3\,dR
            = \frac{4}{35}\int_0^\infty G M (7 - 6\beta)\,\nu\sigma_r^2\, r^3\,dr.

The tracer is normalised to unit total number, :math:`\int\Sigma\, 2\pi R\,dR = 1` (as in
GravSphere), so v_s1 is in (km/s)^4 and v_s2 in (km/s)^4 kpc^2. The first identity is the
virial theorem of the fourth-order moment :math:`z v_z^3` of the collisionless Boltzmann
equation and holds for any spherical equilibrium and any beta(r); ``tests/test_vsp.py``
checks both against the fourth moments of Eddington distribution functions.

From a star catalogue, with per-star Gaussian errors :math:`\epsilon_i`, the unbiased
per-star estimate of :math:`v^4` is :math:`t_i = u_i^4 - 6u_i^2\epsilon_i^2 +
3\epsilon_i^4` (:math:`u_i = v_i - v_{sys}`), and

.. math::
    \hat v_{s1} = \frac{1}{2\pi}\,\overline{t},\qquad
    \hat v_{s2} = \frac{1}{2\pi}\,\overline{R^2 t}

for a sample that follows the tracer (complete). For a spatially selected sample, give the
tracer (photometric) profile: the estimate becomes a sum over radial bins of
:math:`\overline{t}_b \int_b \Sigma R\,dR` (and :math:`\overline{R^2 t}_b` for v_s2).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from .anisotropy import Anisotropy
from .jeans import engine
from .jeans.grid import JeansConfig, log_grid_for
from .profiles import Profile
from .profiles.base import concrete_value
from .quadrature import cast, float_dtype
from .units import G, to_internal, to_kms, to_kpc

__all__ = ["VSPEstimate", "vsp_estimate", "vsp_from_catalog", "vsp_model"]


def _integral(q, grid, dtype):
    """int q ds over the whole line: grid intervals plus power-law tails at both ends."""
    h = grid.config.step
    body = jnp.sum(engine.interval_integrals(q, grid, dtype))
    inner = q[0] / jnp.maximum(jnp.log(q[1] / q[0]) / h, 1e-3)
    outer = q[-1] / jnp.maximum(jnp.log(q[-2] / q[-1]) / h, 1e-3)
    return body + inner + outer


def _vsp(grid, tracer, mass, anisotropy, dtype):
    r = cast(grid.r, dtype)
    pr = engine.pressure(grid, tracer, mass, anisotropy, dtype)
    gm_p = G * engine.mass_on_grid(mass, grid, dtype) * pr["p"] / tracer.total_mass()
    beta = pr["beta"]
    vs1 = 0.4 * _integral(gm_p * (5.0 - 2.0 * beta) * r**2, grid, dtype)
    vs2 = (4.0 / 35.0) * _integral(gm_p * (7.0 - 6.0 * beta) * r**4, grid, dtype)
    return jnp.stack([vs1, vs2])


_vsp_jit = jax.jit(_vsp, static_argnums=(0, 4))


def vsp_model(tracer, mass, anisotropy, *, r_range=None, config: JeansConfig = JeansConfig()):
    """The model's virial shape parameters (v_s1, v_s2).

    Parameters
    ----------
    tracer : Profile
        Tracer density (finite total mass; normalised to one star internally).
    mass : Profile
        Total mass model.
    anisotropy : Anisotropy
        Any anisotropy model (constant, Baes-van Hese, Osipkov-Merritt, ...).
    r_range : (float, float), optional
        Radii (kpc) around which the Jeans grid is built (it extends ``config.inner`` and
        ``config.outer`` e-folds beyond); default 1e-2 and 1e2 tracer scale radii.
        Required when the tracer's scale radius is traced (inside ``jit`` / numpyro).
    config : JeansConfig
        Grid settings of the Jeans engine.

    Returns
    -------
    jax.Array, shape (2,)
        v_s1 in (km/s)^4 and v_s2 in (km/s)^4 kpc^2; differentiable in every parameter.

    Example
    -------
    >>> from dynamicall.profiles import Plummer
    >>> from dynamicall.anisotropy import Constant
    >>> from dynamicall.units import G
    >>> p = Plummer(m_tot=1e6, r_s=0.3)
    >>> vs1, vs2 = vsp_model(p, p, Constant(beta=0.0))  # closed forms for isotropic Plummer
    >>> bool(abs(vs1 / ((G * 1e6) ** 2 / (70 * jnp.pi * 0.09)) - 1) < 1e-8)
    True
    """
    if not isinstance(tracer, Profile) or not isinstance(mass, Profile):
        raise TypeError("tracer and mass must be Profiles")
    if not isinstance(anisotropy, Anisotropy):
        raise TypeError(f"anisotropy must be an Anisotropy model, got {type(anisotropy).__name__}")
    if not tracer.has_finite_mass():
        raise ValueError(f"the tracer ({type(tracer).__name__}) must have a finite total mass to normalise the VSPs")
    if r_range is None:
        scale = concrete_value(tracer.scale_radius)
        if scale is None:
            raise ValueError("give r_range=(r_min, r_max) in kpc when the tracer's parameters are traced")
        r_range = (1e-2 * scale, 1e2 * scale)
    lo, hi = (float(to_kpc(x)) for x in r_range)
    if not 0 < lo < hi < np.inf:
        raise ValueError(f"r_range must satisfy 0 < r_min < r_max < inf (kpc); got {r_range}")
    grid = log_grid_for((), np.array([lo, hi]), config)
    dtype = jnp.dtype(float_dtype(*jax.tree_util.tree_leaves((tracer, mass, anisotropy))))
    return _vsp_jit(grid, tracer, mass, anisotropy, dtype)


@dataclasses.dataclass(frozen=True)
class VSPEstimate:
    """Virial shape parameters estimated from stars, with their covariance.

    Attributes
    ----------
    vsp1 : float
        (km/s)^4.
    vsp2 : float
        (km/s)^4 kpc^2.
    cov : numpy.ndarray (2, 2)
        Covariance of (vsp1, vsp2) from the scatter of the per-star terms.
    n_stars : int
    """

    vsp1: float
    vsp2: float
    cov: np.ndarray
    n_stars: int

    @property
    def vsp1_err(self) -> float:
        """1-sigma error of vsp1."""
        return float(np.sqrt(self.cov[0, 0]))

    @property
    def vsp2_err(self) -> float:
        """1-sigma error of vsp2."""
        return float(np.sqrt(self.cov[1, 1]))

    @property
    def values(self) -> np.ndarray:
        """(vsp1, vsp2) as an array."""
        return np.array([self.vsp1, self.vsp2])


def vsp_estimate(R, v, v_err=0.0, *, v_sys=None, tracer=None, n_bins: int = 10, edges=None):
    """Estimate (v_s1, v_s2) from stars' projected radii and line-of-sight velocities.

    Parameters
    ----------
    R : array or Quantity
        Projected radii, kpc.
    v : array or Quantity
        Line-of-sight velocities, km/s.
    v_err : float, array or Quantity
        Their Gaussian 1-sigma errors (km/s); removed without bias from the fourth moment.
    v_sys : float or Quantity, optional
        Systemic velocity (km/s); default the sample mean.
    tracer : Profile, optional
        Photometric tracer profile. Without it the sample is taken as complete (its stars
        follow the tracer): plain means over stars. With it, means in ``n_bins`` radial
        bins (equal numbers of stars) are weighted by the tracer's projected number in
        each bin, which corrects a radially selected sample.
    n_bins : int
        Number of radial bins when ``tracer`` is given.
    edges : array, optional
        Inner edges of the radial bins (kpc, increasing, the first 0) instead of
        ``n_bins`` quantiles: put edges where the selection function changes, so that
        it is uniform inside each bin. The last bin extends to infinity.

    Returns
    -------
    VSPEstimate

    Example
    -------
    >>> rng = np.random.default_rng(0)
    >>> v = rng.normal(0.0, 10.0, 20000)           # Gaussian: <v^4> = 3 sigma^4
    >>> est = vsp_estimate(np.ones(20000), v, v_sys=0.0)
    >>> bool(abs(est.vsp1 * 2 * np.pi / 3e4 - 1) < 4 * est.vsp1_err / est.vsp1)
    True
    """
    R = np.asarray(to_kpc(R), dtype=float).ravel()
    v = np.asarray(to_kms(v), dtype=float).ravel()
    err = np.broadcast_to(np.asarray(to_internal(v_err, "velocity"), dtype=float), v.shape)
    if R.shape != v.shape:
        raise ValueError(f"R and v must have the same length; got {R.size} and {v.size}")
    if v.size < 2:
        raise ValueError("need at least 2 stars")
    if np.any(~np.isfinite(R)) or np.any(R < 0) or np.any(~np.isfinite(v)):
        raise ValueError("R must be finite and >= 0 (kpc) and v finite (km/s)")
    if np.any(~np.isfinite(err)) or np.any(err < 0):
        raise ValueError("v_err must be finite and >= 0 (km/s)")
    centre = float(np.mean(v)) if v_sys is None else float(to_kms(v_sys))
    du = v - centre
    t = du**4 - 6.0 * du**2 * err**2 + 3.0 * err**4
    terms = np.stack([t, R**2 * t]) / (2.0 * np.pi)
    if tracer is None:
        values = terms.mean(axis=1)
        cov = np.cov(terms) / v.size
        return VSPEstimate(float(values[0]), float(values[1]), cov, int(v.size))
    if not isinstance(tracer, Profile):
        raise TypeError(f"tracer must be a Profile, got {type(tracer).__name__}")
    if edges is None:
        n_bins = int(n_bins)
        if not 1 <= n_bins <= v.size // 2:
            raise ValueError(f"n_bins must be in [1, {v.size // 2}] (at least 2 stars per bin); got {n_bins}")
        inner = np.quantile(R, np.linspace(0.0, 1.0, n_bins + 1))[:-1]
        inner[0] = 0.0
    else:
        inner = np.asarray(to_kpc(edges), dtype=float).ravel()
        if inner.size < 1 or inner[0] != 0.0 or np.any(np.diff(inner) <= 0):
            raise ValueError("edges must start at 0 and increase (kpc)")
        n_bins = inner.size
    which = np.searchsorted(inner, R, side="right") - 1
    total = float(tracer.total_mass())
    cumulative = np.asarray(tracer.projected_mass(inner[1:])) / total if n_bins > 1 else np.zeros(0)
    fractions = np.diff(np.concatenate([[0.0], cumulative, [1.0]]))
    values = np.zeros(2)
    cov = np.zeros((2, 2))
    for b in range(n_bins):
        sel = which == b
        if sel.sum() < 2:
            raise ValueError(f"radial bin {b} (R from {inner[b]:.4g} kpc) has fewer than 2 stars")
        part = terms[:, sel] * fractions[b]
        values += part.mean(axis=1)
        cov += np.cov(part) / sel.sum()
    return VSPEstimate(float(values[0]), float(values[1]), cov, int(v.size))


def vsp_from_catalog(table, *, mask=None, tracer=None, v_sys=None, n_bins: int = 10):
    """:func:`vsp_estimate` from a star catalogue (docs/catalog_format.md).

    Uses the columns ``R`` (length, or angle with ``meta['distance']``), ``v`` and ``v_err``.
    ``mask`` selects stars (e.g. ``table['member']`` for a mock's members).

    Example
    -------
    >>> from dynamicall.mock import mock_catalog
    >>> from dynamicall.profiles import Plummer
    >>> from dynamicall.anisotropy import Constant
    >>> p = Plummer(m_tot=1e6, r_s=0.3)
    >>> est = vsp_from_catalog(mock_catalog(p, p, Constant(beta=0.0), 500, v_err=1.0, seed=1))
    >>> est.n_stars
    500
    """
    import astropy.units as u

    R = table["R"].quantity if hasattr(table["R"], "quantity") else table["R"]
    if getattr(R, "unit", None) is not None and R.unit.physical_type == "angle":
        if "distance" not in table.meta:
            raise ValueError("angular radii R need meta['distance']")
        dist = u.Quantity(table.meta["distance"]).to_value(u.kpc)
        R = np.tan(R.to_value(u.rad)) * dist
    v = table["v"].quantity if getattr(table["v"], "unit", None) is not None else table["v"]
    err = table["v_err"].quantity if getattr(table["v_err"], "unit", None) is not None else table["v_err"]
    sel = np.ones(len(table), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    return vsp_estimate(R[sel], v[sel], err[sel], v_sys=v_sys, tracer=tracer, n_bins=n_bins)
