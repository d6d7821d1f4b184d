"""Public Jeans functions: dispersions of a tracer in a mass model with an anisotropy.

Radii are concrete (NumPy arrays, floats or astropy Quantities, in kpc): they fix the
static grid whose operators are built once and cached. Everything else - the profiles
and the anisotropy - may be traced, so the functions can be used inside ``jit``, ``vmap``
and ``grad`` with respect to any model parameter. To evaluate at radii that are only
known inside ``jit`` (a likelihood over stars), compute on a :func:`log_grid` and use
:func:`interp_loglog`.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from .._pytree import is_concrete
from ..anisotropy import Anisotropy
from ..profiles import Profile
from ..quadrature import float_dtype
from ..units import to_kpc
from . import engine, kernel
from .grid import JeansConfig, log_grid_for

METHODS = ("general", "kernel")

# The grid (hashable, cached per radii and settings) and the dtype are static: each
# distinct grid compiles once, then eager calls reuse the compiled function.
_projected = jax.jit(engine.projected_moments, static_argnums=(0, 4))
_kernel_los = jax.jit(kernel.los_moment, static_argnums=(0, 4))
_intrinsic = jax.jit(engine.intrinsic_moments, static_argnums=(0, 5))


def _radii(x, name: str) -> np.ndarray:
    x = to_kpc(x)
    if isinstance(x, jax.core.Tracer) or not is_concrete(x) and not isinstance(x, (list, tuple)):
        raise TypeError(
            f"{name} must be concrete (a NumPy array, float or Quantity), not a traced value: "
            "the Jeans engine builds static operators for it. Inside jit, evaluate on a "
            "log_grid(...) and interpolate with interp_loglog(...)."
        )
    arr = np.asarray(x, dtype=float)
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name} must be finite and > 0 (kpc); got {x!r}")
    return arr


def _scales(tracer, mass, anisotropy):
    """Concrete scale radii (kpc) of the models, for the grid's outer reach."""
    parts = [tracer, *engine.components(mass)]
    values = [getattr(p, "scale_radius", None) for p in parts] + [getattr(anisotropy, "r_a", None)]
    out = []
    for v in values:
        try:
            if v is not None and is_concrete(v) and np.ndim(v) == 0:
                out.append(float(v))
        except (TypeError, jax.errors.ConcretizationTypeError):
            pass
    return out


def _edge(tracer):
    """The tracer's truncation radius (kpc) when finite and concrete, else None.

    A concrete edge gets the engine's logit grid (accurate up to the edge); a traced one
    (r_t sampled or differentiated) keeps the plain log grid, whose polynomial stencils do
    not follow the (r_t - r)^{3/2} edge of a King density (see docs/jeans.md)."""
    value = getattr(tracer, "truncation_radius", None)
    try:
        if value is not None and is_concrete(value) and np.ndim(value) == 0 and np.isfinite(float(value)):
            return float(value)
    except (TypeError, jax.errors.ConcretizationTypeError):
        pass
    return None


def _root(moment, tracer):
    """sqrt of a second moment; for a truncated tracer, zero (with a zero gradient, not
    NaN) where the moment is exactly zero: at and beyond its edge."""
    if getattr(tracer, "truncation_radius", None) is None:
        return jnp.sqrt(moment)
    empty = moment == 0
    return jnp.where(empty, 0.0, jnp.sqrt(jnp.where(empty, 1.0, moment)))


def _check_models(tracer, mass, anisotropy):
    if not isinstance(tracer, Profile):
        raise TypeError(f"tracer must be a Profile, got {type(tracer).__name__}")
    if not isinstance(mass, Profile):
        raise TypeError(f"mass must be a Profile (or a sum of profiles), got {type(mass).__name__}")
    if not isinstance(anisotropy, Anisotropy):
        raise TypeError(f"anisotropy must be an Anisotropy model, got {type(anisotropy).__name__}")
    return float_dtype(*jax.tree_util.tree_leaves((tracer, mass, anisotropy)))


def projected_dispersions(R, tracer, mass, anisotropy, *, config: JeansConfig = JeansConfig(), method="general"):
    """Line-of-sight and plane-of-sky velocity dispersions at projected radii ``R``.

    Parameters
    ----------
    R : array or Quantity
        Projected radii, kpc (concrete values, any shape).
    tracer : Profile
        Number-density profile of the tracer stars (its normalisation is irrelevant).
    mass : Profile
        Total mass model (e.g. ``halo + stars``).
    anisotropy : Anisotropy
        Velocity anisotropy of the tracer.
    config : JeansConfig
        Grid settings (accuracy); the default reaches ~1e-13 relative.
    method : {"general", "kernel"}
        "general": radial Jeans equation then projection, any beta(r) (default);
        "kernel": Mamon & Lokas (2005) single-integral kernels (Constant, OsipkovMerritt).

    Returns
    -------
    dict
        ``los``, ``pm_radial``, ``pm_tangential``: dispersions in km/s, shaped like ``R``
        (the proper-motion pair only for ``method="general"``).

    Example
    -------
    >>> from dynamicall.profiles import Plummer
    >>> from dynamicall.anisotropy import Constant
    >>> out = projected_dispersions([0.1, 1.0], Plummer(m_tot=1e6, r_s=0.3),
    ...                             Plummer(m_tot=1e6, r_s=0.3), Constant(beta=0.0))
    >>> sorted(out)
    ['los', 'pm_radial', 'pm_tangential']
    """
    R = _radii(R, "R")
    dtype = _check_models(tracer, mass, anisotropy)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    grid = log_grid_for(R, (), config, _scales(tracer, mass, anisotropy), _edge(tracer))
    shape = R.shape
    if method == "kernel":
        los2 = _kernel_los(grid, tracer, mass, anisotropy, dtype)
        return dict(los=_root(los2, tracer).reshape(shape))
    m = _projected(grid, tracer, mass, anisotropy, dtype)
    return dict(
        los=_root(m["los2"], tracer).reshape(shape),
        pm_radial=_root(m["pmR2"], tracer).reshape(shape),
        pm_tangential=_root(m["pmT2"], tracer).reshape(shape),
    )


def sigma_los(R, tracer, mass, anisotropy, *, config: JeansConfig = JeansConfig(), method="general"):
    """Projected line-of-sight velocity dispersion (km/s) at projected radii ``R`` (kpc).

    See :func:`projected_dispersions` for the parameters.

    Example
    -------
    >>> from dynamicall.profiles import Plummer
    >>> from dynamicall.anisotropy import Constant
    >>> from dynamicall.units import G
    >>> p = Plummer(m_tot=1e6, r_s=0.3)
    >>> s = sigma_los(0.3, p, p, Constant(beta=0.0))
    >>> bool(abs(s**2 / (3 * jnp.pi * G * 1e6 / (64 * (2 * 0.09) ** 0.5)) - 1) < 1e-10)
    True
    """
    return projected_dispersions(R, tracer, mass, anisotropy, config=config, method=method)["los"]


def sigma_pm_radial(R, tracer, mass, anisotropy, *, config: JeansConfig = JeansConfig()):
    """Projected plane-of-sky dispersion along the projected radius (km/s).

    Convert to mas/yr with :func:`dynamicall.units.kms_to_mas_per_yr`.
    """
    return projected_dispersions(R, tracer, mass, anisotropy, config=config)["pm_radial"]


def sigma_pm_tangential(R, tracer, mass, anisotropy, *, config: JeansConfig = JeansConfig()):
    """Projected plane-of-sky dispersion perpendicular to the projected radius (km/s)."""
    return projected_dispersions(R, tracer, mass, anisotropy, config=config)["pm_tangential"]


def intrinsic_dispersions(r, tracer, mass, anisotropy, *, config: JeansConfig = JeansConfig()):
    """Radial and (one-component) tangential dispersions (km/s) at 3D radii ``r`` (kpc).

    Returns
    -------
    dict with ``radial`` and ``tangential``, shaped like ``r``.
    """
    r = _radii(r, "r")
    dtype = _check_models(tracer, mass, anisotropy)
    grid = log_grid_for((), r, config, _scales(tracer, mass, anisotropy), _edge(tracer))
    m = _intrinsic(grid, r.ravel(), tracer, mass, anisotropy, dtype)
    return dict(radial=_root(m["r2"], tracer).reshape(r.shape), tangential=_root(m["t2"], tracer).reshape(r.shape))


def sigma_r(r, tracer, mass, anisotropy, *, config: JeansConfig = JeansConfig()):
    """Intrinsic radial velocity dispersion (km/s) at 3D radii ``r`` (kpc).

    Example
    -------
    >>> from dynamicall.profiles import Plummer
    >>> from dynamicall.anisotropy import Constant
    >>> from dynamicall.units import G
    >>> p = Plummer(m_tot=1e6, r_s=0.3)
    >>> s = sigma_r(0.3, p, p, Constant(beta=0.0))  # G M / (6 sqrt(r^2 + a^2))
    >>> bool(abs(s**2 / (G * 1e6 / (6 * (2 * 0.09) ** 0.5)) - 1) < 1e-10)
    True
    """
    return intrinsic_dispersions(r, tracer, mass, anisotropy, config=config)["radial"]


def sigma_t(r, tracer, mass, anisotropy, *, config: JeansConfig = JeansConfig()):
    """Intrinsic tangential dispersion, one component: sqrt(1 - beta) sigma_r (km/s)."""
    return intrinsic_dispersions(r, tracer, mass, anisotropy, config=config)["tangential"]


def log_grid(R_min, R_max, n: int) -> np.ndarray:
    """``n`` radii log-spaced from ``R_min`` to ``R_max`` (kpc or Quantities).

    Example
    -------
    >>> log_grid(0.01, 1.0, 3)
    array([0.01, 0.1 , 1.  ])
    """
    lo, hi = float(to_kpc(R_min)), float(to_kpc(R_max))
    if not (0 < lo < hi) or not np.isfinite(hi) or int(n) < 2:
        raise ValueError(f"log_grid needs 0 < R_min < R_max < inf and n >= 2; got {R_min}, {R_max}, {n}")
    return np.geomspace(lo, hi, int(n))


@dataclasses.dataclass(frozen=True)
class JeansModel:
    """A tracer, a mass model and an anisotropy, with the Jeans functions as methods.

    Example
    -------
    >>> from dynamicall.profiles import NFW, Plummer
    >>> from dynamicall.anisotropy import OsipkovMerritt
    >>> model = JeansModel(Plummer(m_tot=1e6, r_s=0.3), NFW(rho_s=2e7, r_s=1.0),
    ...                    OsipkovMerritt(r_a=0.5))
    >>> model.sigma_los([0.1, 0.3, 1.0]).shape
    (3,)
    """

    tracer: Profile
    mass: Profile
    anisotropy: Anisotropy
    config: JeansConfig = JeansConfig()

    def _args(self):
        return self.tracer, self.mass, self.anisotropy

    def sigma_los(self, R, method="general"):
        return sigma_los(R, *self._args(), config=self.config, method=method)

    def sigma_pm_radial(self, R):
        return sigma_pm_radial(R, *self._args(), config=self.config)

    def sigma_pm_tangential(self, R):
        return sigma_pm_tangential(R, *self._args(), config=self.config)

    def projected_dispersions(self, R, method="general"):
        return projected_dispersions(R, *self._args(), config=self.config, method=method)

    def sigma_r(self, r):
        return sigma_r(r, *self._args(), config=self.config)

    def sigma_t(self, r):
        return sigma_t(r, *self._args(), config=self.config)
