"""Mock star catalogues: positions, velocities, observational errors, contaminants.

A mock draws member stars from a tracer in a mass model and writes them in the star
catalogue format of ``docs/catalog_format.md`` (ECSV), the format that
``dynamicall.data.StarCatalog`` reads:

* 3D radii by exact inverse-CDF sampling of the tracer's enclosed mass (a tabulated
  first guess polished by Newton's method on ``tracer.mass``), isotropic directions;
* or, for projected mocks (``velocities="los"``), projected radii by exact inverse-CDF
  sampling of the tracer's projected mass within a survey edge ``R_max``, with Gaussian
  line-of-sight velocities (and proper motions) from the exact projected Jeans dispersions;
* velocities either exactly from the distribution function (:mod:`dynamicall.df`:
  isotropic or Osipkov-Merritt, by rejection sampling under an envelope taken from the
  tabulated DF) or from Gaussians with the Jeans dispersions sigma_r, sigma_t at each
  star's radius (any anisotropy, fast, but not an equilibrium DF);
* the line of sight is the z axis; ``v`` is the line-of-sight velocity plus the systemic
  velocity ``v_sys``; proper motions (optional, at a distance) are relative to the
  systemic proper motion, along (``pm_R``) and across (``pm_T``) the projected radius
  vector, with perspective effects neglected;
* per-star (heteroscedastic) Gaussian errors on velocities and proper motions;
* an optional contaminant population, uniform on the sky with broad Gaussian velocities
  (``member`` is False for them).

Random numbers come from ``numpy.random.default_rng(seed)``: the same seed gives the same
catalogue. Units: kpc, km/s, Msun, mas/yr; astropy Quantities are accepted.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from ._pytree import is_concrete
from .anisotropy import Anisotropy, Constant, OsipkovMerritt
from .profiles import Composite, Profile
from .profiles.base import concrete_value
from .units import KMS_PER_KPC_MASYR, to_internal, to_kms, to_kpc

__all__ = [
    "Contamination",
    "mock_catalog",
    "sample_positions",
    "sample_projected_radii",
    "sample_radii",
    "sample_velocities_df",
    "sample_velocities_gaussian",
    "write_catalog",
]

CHUNK = 8192


@dataclasses.dataclass(frozen=True)
class Contamination:
    """A foreground population mixed into a mock catalogue.

    Parameters
    ----------
    fraction : float
        Fraction of the final catalogue that are contaminants, in [0, 1).
    v_mean, v_sigma : float or Quantity
        Mean (heliocentric) and dispersion of their line-of-sight velocities, km/s.
    R_max : float or Quantity, optional
        They are uniform on the sky within this projected radius (kpc); default the
        largest member radius.
    pm_mean, pm_sigma : float
        Mean and dispersion of each proper-motion component relative to the system, mas/yr.

    Example
    -------
    >>> Contamination(fraction=0.1, v_mean=30.0, v_sigma=40.0).fraction
    0.1
    """

    fraction: float
    v_mean: float = 0.0
    v_sigma: float = 50.0
    R_max: float | None = None
    pm_mean: float = 0.0
    pm_sigma: float = 1.0

    def __post_init__(self):
        if not (0.0 <= float(self.fraction) < 1.0):
            raise ValueError(f"Contamination.fraction must be in [0, 1); got {self.fraction}")
        object.__setattr__(self, "v_mean", float(to_kms(self.v_mean)))
        object.__setattr__(self, "v_sigma", float(to_kms(self.v_sigma)))
        if self.v_sigma <= 0:
            raise ValueError(f"Contamination.v_sigma must be > 0 (km/s); got {self.v_sigma}")
        if self.R_max is not None:
            object.__setattr__(self, "R_max", float(to_kpc(self.R_max)))
            if not self.R_max > 0:
                raise ValueError(f"Contamination.R_max must be > 0 (kpc); got {self.R_max}")
        if self.pm_sigma < 0:
            raise ValueError(f"Contamination.pm_sigma must be >= 0 (mas/yr); got {self.pm_sigma}")


# --------------------------------------------------------------------------- helpers
def _chunked(fn, *arrays, size: int = CHUNK):
    """Evaluate a jitted elementwise ``fn`` on 1D arrays in fixed-size chunks (one
    compilation whatever the length), returning a NumPy array."""
    n = arrays[0].shape[0]
    if n == 0:
        return np.zeros(0)
    out = []
    for start in range(0, n, size):
        parts = [a[start : start + size] for a in arrays]
        m = parts[0].shape[0]
        if m < size:
            parts = [np.concatenate([p, np.full(size - m, p[-1])]) for p in parts]
        out.append(np.asarray(fn(*parts))[:m])
    return np.concatenate(out)


@functools.partial(jax.jit, static_argnums=0)
def _call(method, obj, *args):
    return getattr(obj, method)(*args)


def _method(obj, name):
    """A chunk-friendly jitted call of ``obj.name(*arrays)``."""
    return lambda *a: _call(name, obj, *a)


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _per_star(err, n, rng, name, kind):
    """Per-star errors from a scalar, an array of length n or a (low, high) range."""
    if isinstance(err, tuple) and len(err) == 2:
        lo, hi = (float(to_internal(e, kind)) for e in err)
        if not 0 <= lo <= hi:
            raise ValueError(f"{name} range must satisfy 0 <= low <= high; got {err}")
        return rng.uniform(lo, hi, size=n)
    arr = np.broadcast_to(np.asarray(to_internal(err, kind), dtype=float), (n,)).copy()
    if np.any(~np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be finite and >= 0; got {err!r}")
    return arr


def _contaminant_errors(spec, member_errors, n, rng, name, kind):
    """Errors of contaminants: the same law as the members', or resampled member errors."""
    if isinstance(spec, tuple) or np.ndim(to_internal(spec, kind)) == 0:
        return _per_star(spec, n, rng, name, kind)
    return rng.choice(member_errors, size=n)


def _unit_vectors(n, rng):
    cos_t = rng.uniform(-1.0, 1.0, size=n)
    phi = rng.uniform(0.0, 2.0 * np.pi, size=n)
    sin_t = np.sqrt(1.0 - cos_t**2)
    return np.stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t], axis=-1)


# --------------------------------------------------------------------------- positions
def _sampling_setup(tracer, n, seed, caller: str):
    """Checked (n, random generator, concrete scale radius) of a radius sampler."""
    if not isinstance(tracer, Profile):
        raise TypeError(f"tracer must be a Profile, got {type(tracer).__name__}")
    n = int(n)
    if n < 0:
        raise ValueError(f"n must be >= 0; got {n}")
    scale = concrete_value(tracer.scale_radius)
    if scale is None:
        raise ValueError(f"{caller} needs concrete tracer parameters")
    return n, _rng(seed), scale


def sample_radii(tracer, n: int, seed=0, *, r_max=None):
    """3D radii (kpc) drawn from the tracer's enclosed-mass profile (inverse CDF).

    Parameters
    ----------
    tracer : Profile
        Tracer density; its total mass must be finite unless ``r_max`` is given.
    n : int
        Number of radii.
    seed : int or numpy.random.Generator
    r_max : float or Quantity, optional
        Truncation radius (kpc): radii are drawn from M(<r) / M(<r_max).

    Returns
    -------
    numpy.ndarray
        Radii in kpc, solving M(<r) = u M_total to float64 round-off.

    Example
    -------
    >>> from dynamicall.profiles import Plummer
    >>> r = sample_radii(Plummer(m_tot=1.0, r_s=1.0), 4000, seed=1)
    >>> bool(abs(np.median(r) / 1.3048 - 1) < 0.05)  # half-mass radius of Plummer
    True
    """
    n, rng, scale = _sampling_setup(tracer, n, seed, "sample_radii")
    if r_max is None:
        if not tracer.has_finite_mass():
            raise ValueError(f"{type(tracer).__name__} has infinite mass: give r_max (kpc) to truncate it")
        total = float(tracer.total_mass())
    else:
        r_max = float(to_kpc(r_max))
        if not r_max > 0:
            raise ValueError(f"r_max must be > 0 (kpc); got {r_max}")
        total = float(tracer.mass(r_max))
    target = rng.uniform(0.0, 1.0, size=n) * total
    return _invert_cumulative(tracer, "mass", "density", 4.0 * np.pi, 3, target, scale)


def _invert_cumulative(tracer, cumulative: str, density: str, factor: float, power: int, target, scale):
    """Radii x with ``tracer.<cumulative>(x) = target``: a tabulated first guess polished by
    Newton's method in ln x, with d cumulative / d ln x = factor x^power ``tracer.<density>(x)``
    (mass: 4 pi r^3 rho; projected mass: 2 pi R^2 Sigma)."""
    x_tab = scale * np.geomspace(1e-8, 1e8, 1601)
    m_tab = np.asarray(getattr(tracer, cumulative)(x_tab))
    target = np.maximum(target, np.finfo(float).tiny)
    keep = np.concatenate([[True], np.diff(m_tab) > 0]) & (m_tab > 0)
    log_x = np.interp(np.log(target), np.log(m_tab[keep]), np.log(x_tab[keep]))
    cumulative_fn, density_fn = _method(tracer, cumulative), _method(tracer, density)
    for _ in range(4):
        x = np.exp(log_x)
        m = _chunked(cumulative_fn, x)
        slope = factor * x**power * _chunked(density_fn, x)
        step = np.where(slope > 0, (m - target) / np.where(slope > 0, slope, 1.0), 0.0)
        log_x = log_x - np.clip(step, -1.0, 1.0)
    return np.exp(log_x)


def sample_projected_radii(tracer, n: int, seed=0, *, R_max=None):
    """Projected radii (kpc) drawn from the tracer's projected-mass profile (inverse CDF).

    The fraction q of the tracer inside projected radius R is drawn uniformly over
    [0, M_p(R_max) / M_total) (``R_max`` None: [0, 1)), and R solves M_p(R) = q M_total to
    float64 round-off. For a Plummer tracer this is R = a sqrt(q / (1 - q)).

    Parameters
    ----------
    tracer : Profile
        Tracer density (finite mass, unless ``R_max`` is given).
    n : int
        Number of radii.
    seed : int or numpy.random.Generator
    R_max : float or Quantity, optional
        Outer edge of the survey in projected radius (kpc).

    Returns
    -------
    numpy.ndarray
        Projected radii in kpc.

    Example
    -------
    >>> from dynamicall.profiles import Plummer
    >>> R = sample_projected_radii(Plummer(m_tot=1.0, r_s=0.25), 4000, seed=1)
    >>> bool(abs(np.median(R) / 0.25 - 1) < 0.05)  # Plummer's R_half is its scale radius
    True
    """
    n, rng, scale = _sampling_setup(tracer, n, seed, "sample_projected_radii")
    if R_max is not None:
        R_max = float(to_kpc(R_max))
        if not R_max > 0:
            raise ValueError(f"R_max must be > 0 (kpc); got {R_max}")
    if tracer.has_finite_mass():
        total = float(tracer.total_mass())
        fraction = 1.0 if R_max is None else float(tracer.projected_mass(R_max)) / total
    elif R_max is None:
        raise ValueError(f"{type(tracer).__name__} has infinite mass: give R_max (kpc) to truncate it")
    else:
        total, fraction = float(tracer.projected_mass(R_max)), 1.0
    target = rng.uniform(0.0, fraction, size=n) * total
    return _invert_cumulative(tracer, "projected_mass", "surface_density", 2.0 * np.pi, 2, target, scale)


def sample_positions(tracer, n: int, seed=0, *, r_max=None):
    """3D positions (n, 3) in kpc: radii from :func:`sample_radii`, isotropic directions.

    Example
    -------
    >>> from dynamicall.profiles import Plummer
    >>> sample_positions(Plummer(m_tot=1.0, r_s=1.0), 5, seed=0).shape
    (5, 3)
    """
    rng = _rng(seed)
    r = sample_radii(tracer, n, rng, r_max=r_max)
    return r[:, None] * _unit_vectors(n, rng)


# --------------------------------------------------------------------------- velocities
@functools.partial(jax.jit, static_argnums=3)
def _speed_density(df, log_r, u, squared_speed: bool = False):
    """Density of u (E = Psi(e^(log_r + u^2))) at fixed radius, or the squared speed."""
    measure, w2 = df.energy_measure(log_r, u)
    return w2 if squared_speed else measure * jnp.sqrt(w2)


def sample_velocities_df(df, positions, seed=0, *, bins: int = 32, margin: float = 1.1, progress: bool = False):
    """Velocities (n, 3) in km/s drawn exactly from a distribution function.

    At radius r the DF is f(Psi - w^2/2) in a velocity space w that is isotropic (ergodic
    DF: w = v; Osipkov-Merritt: w_r = v_r, w_t = v_t sqrt(1 + r^2/r_a^2), whose Jacobian is
    constant at fixed r). The speed is drawn through u, with E = Psi(r e^(u^2)) and
    density p(u) = 4 pi f(E) |dE/du| w (the substitution removes the end point at
    E = Psi): rejection sampling under a piecewise-constant envelope on ``bins`` intervals
    of u (``margin`` times the largest of p at each interval's ends and middle). A
    proposal above the envelope raises instead of biasing the sample. Directions are
    isotropic in w.

    Parameters
    ----------
    df : DistributionFunction
        From :func:`dynamicall.df.eddington`; must be non-negative everywhere.
    positions : array (n, 3)
        Positions in kpc.
    seed : int or numpy.random.Generator
    bins : int
        Intervals of the envelope.
    margin : float
        Safety factor of the envelope (> 1).
    progress : bool
        Show a progress bar (tqdm).

    Returns
    -------
    numpy.ndarray (n, 3)

    Example
    -------
    >>> from dynamicall.profiles import Plummer
    >>> from dynamicall.df import eddington
    >>> p = Plummer(m_tot=1e6, r_s=0.3)
    >>> pos = sample_positions(p, 100, seed=2)
    >>> sample_velocities_df(eddington(p, p), pos, seed=3).shape
    (100, 3)
    """
    rng = _rng(seed)
    positions = np.asarray(to_kpc(positions), dtype=float)
    if positions.ndim != 2 or positions.shape[1] != 3:
        raise ValueError(f"positions must have shape (n, 3); got {positions.shape}")
    if not df.is_consistent():
        where = "; ".join(f"E in [{lo:.4g}, {hi:.4g}] (km/s)^2" for lo, hi, _, _ in df.negative_ranges())
        raise ValueError(
            f"the distribution function is negative ({where}), so it cannot be "
            "sampled; choose a consistent model (see dynamicall.df.is_consistent) or "
            "velocities='gaussian'"
        )
    if not margin > 1.0:
        raise ValueError(f"margin must be > 1; got {margin}")
    n = positions.shape[0]
    r = np.linalg.norm(positions, axis=1)
    log_r = np.log(r)
    top = np.sqrt(np.maximum(float(np.asarray(df.log_radius_end)) - log_r, 0.0))

    def density(lr, u):
        out = _chunked(lambda a, b: _speed_density(df, a, b, False), lr, u, size=4 * CHUNK)
        return np.maximum(out, 0.0)

    grid = np.linspace(0.0, 1.0, 2 * bins + 1)
    nodes = top[:, None] * grid[None, :]
    p_nodes = density(np.repeat(log_r, grid.size), nodes.ravel()).reshape(n, grid.size)
    envelope = margin * np.maximum(np.maximum(p_nodes[:, 0:-1:2], p_nodes[:, 1::2]), p_nodes[:, 2::2])
    cumulative = np.cumsum(envelope, axis=1)
    u = np.full(n, np.nan)
    remaining = np.arange(n)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, desc="DF velocities", unit="star")
    try:
        while remaining.size:
            cum = cumulative[remaining]
            pick = rng.uniform(size=remaining.size) * cum[:, -1]
            b = np.minimum((cum < pick[:, None]).sum(axis=1), bins - 1)
            trial = top[remaining] * (b + rng.uniform(size=remaining.size)) / bins
            p = density(log_r[remaining], trial)
            bound = envelope[remaining, b]
            if np.any(p > bound):
                worst = int(np.argmax(p / bound))
                raise RuntimeError(
                    f"DF envelope exceeded by a factor {p[worst] / bound[worst]:.4f} at "
                    f"r = {r[remaining[worst]]:.4g} kpc; increase bins or margin"
                )
            accepted = rng.uniform(size=remaining.size) * bound < p
            u[remaining[accepted]] = trial[accepted]
            remaining = remaining[~accepted]
            if bar is not None:
                bar.update(int(accepted.sum()))
    finally:
        if bar is not None:
            bar.close()
    w2 = _chunked(lambda a, b: _speed_density(df, a, b, True), log_r, u, size=4 * CHUNK)
    w = np.sqrt(w2)[:, None] * _unit_vectors(n, rng)
    radial_dir = positions / r[:, None]
    w_r = np.sum(w * radial_dir, axis=1)
    w_t = w - w_r[:, None] * radial_dir
    r_a = float(np.asarray(df.r_a))
    stretch = np.sqrt(1.0 + (r / r_a) ** 2) if np.isfinite(r_a) else np.ones(n)
    return w_r[:, None] * radial_dir + w_t / stretch[:, None]


def sample_velocities_gaussian(tracer, mass, anisotropy, positions, seed=0, *, config=None):
    """Velocities (n, 3) in km/s from Gaussians with the Jeans dispersions.

    v_r ~ N(0, sigma_r(r)) and each tangential component ~ N(0, sigma_t(r)), with
    sigma_r, sigma_t from :func:`dynamicall.jeans.intrinsic_dispersions` on a log grid
    (interpolated to the stars). Second moments are exact for any anisotropy; higher
    moments are Gaussian, not those of an equilibrium DF.

    Example
    -------
    >>> from dynamicall.profiles import Plummer
    >>> from dynamicall.anisotropy import Constant
    >>> p = Plummer(m_tot=1e6, r_s=0.3)
    >>> v = sample_velocities_gaussian(p, p, Constant(beta=0.3), sample_positions(p, 50, seed=1))
    >>> v.shape
    (50, 3)
    """
    from .jeans import JeansConfig, interp_loglog, intrinsic_dispersions, log_grid

    rng = _rng(seed)
    positions = np.asarray(to_kpc(positions), dtype=float)
    r = np.linalg.norm(positions, axis=1)
    scale = concrete_value(tracer.scale_radius)
    lo = min(float(r.min()), 1e-3 * scale) if r.size else 1e-3 * scale
    hi = max(float(r.max()), 1e3 * scale) if r.size else 1e3 * scale
    if r.size and np.isfinite(getattr(tracer, "truncation_radius", np.inf)):  # no dispersion beyond the edge
        hi = float(r.max())
    grid = log_grid(lo, hi, 96)
    disp = intrinsic_dispersions(grid, tracer, mass, anisotropy, config=config or JeansConfig())
    sigma_r = np.asarray(interp_loglog(r, grid, disp["radial"]))
    sigma_t = np.asarray(interp_loglog(r, grid, disp["tangential"]))
    g = rng.standard_normal((r.size, 3))
    radial_dir = positions / r[:, None]
    g_r = np.sum(g * radial_dir, axis=1)
    g_t = g - g_r[:, None] * radial_dir
    return (sigma_r * g_r)[:, None] * radial_dir + sigma_t[:, None] * g_t


# --------------------------------------------------------------------------- catalogue
def _describe(obj):
    """Plain-Python description of a profile / anisotropy (for the catalogue's truth)."""
    if isinstance(obj, Composite):
        return [_describe(c) for c in obj.components]
    out = {"family": type(obj).__name__}
    for name in getattr(obj, "_leaf_names", ()):
        value = getattr(obj, name)
        out[name] = float(np.asarray(value)) if is_concrete(value) and np.ndim(value) == 0 else None
    return out


def _df_capable(anisotropy):
    if isinstance(anisotropy, OsipkovMerritt):
        return True
    return isinstance(anisotropy, Constant) and concrete_value(anisotropy.beta) == 0.0


def _members_3d(tracer, mass, anisotropy, n, rng, *, velocities, auto, df, r_max, v_sys, v_err,
                proper_motions, pm_err, distance, progress):
    """Member columns from 3D positions and velocities (modes "df" and "gaussian")."""
    positions = sample_positions(tracer, n, rng, r_max=r_max)
    if velocities == "df" and df is None:
        from .df import eddington

        df = eddington(tracer, mass, anisotropy if isinstance(anisotropy, OsipkovMerritt) else None)
    if velocities == "df" and auto and not df.is_consistent():
        warnings.warn(
            "the model has no non-negative distribution function: velocities='auto' falls "
            "back to Gaussian velocities with the Jeans dispersions",
            stacklevel=3,
        )
        velocities = "gaussian"
    if velocities == "df":
        vel = sample_velocities_df(df, positions, rng, progress=progress)
    else:
        vel = sample_velocities_gaussian(tracer, mass, anisotropy, positions, rng)

    x, y = positions[:, 0], positions[:, 1]
    R = np.hypot(x, y)
    errors = _per_star(v_err, n, rng, "v_err", "velocity")
    v = vel[:, 2] + v_sys + errors * rng.standard_normal(n)
    columns = dict(R=R, x=x, y=y, v=v, v_err=errors, velocities=velocities)
    if proper_motions:
        cos_p, sin_p = x / R, y / R
        to_pm = 1.0 / (KMS_PER_KPC_MASYR * distance)
        pm_err_R = _per_star(pm_err, n, rng, "pm_err", "proper_motion")
        pm_err_T = _per_star(pm_err, n, rng, "pm_err", "proper_motion")
        columns["pm_R"] = (vel[:, 0] * cos_p + vel[:, 1] * sin_p) * to_pm + pm_err_R * rng.standard_normal(n)
        columns["pm_T"] = (-vel[:, 0] * sin_p + vel[:, 1] * cos_p) * to_pm + pm_err_T * rng.standard_normal(n)
        columns["pm_R_err"], columns["pm_T_err"] = pm_err_R, pm_err_T
    return columns


def _projected_members(tracer, mass, anisotropy, n, rng, *, R_max, v_sys, v_err, proper_motions,
                       pm_err, distance):
    """Member columns from projected radii and Gaussian line-of-sight velocities (mode "los")."""
    from .jeans import interp_loglog, log_grid, projected_dispersions

    R = sample_projected_radii(tracer, n, rng, R_max=R_max)
    errors = _per_star(v_err, n, rng, "v_err", "velocity")
    lo, hi = float(R.min()), float(R.max())
    grid = log_grid(lo, hi if hi > lo else 1.01 * lo, 64)
    disp = {k: np.asarray(interp_loglog(R, grid, value))
            for k, value in projected_dispersions(grid, tracer, mass, anisotropy).items()}
    v = v_sys + rng.normal(0.0, disp["los"]) + rng.normal(0.0, errors)
    columns = dict(R=R, v=v, v_err=errors)
    if proper_motions:
        to_pm = 1.0 / (KMS_PER_KPC_MASYR * distance)
        for name, key in (("pm_R", "pm_radial"), ("pm_T", "pm_tangential")):
            e = _per_star(pm_err, n, rng, "pm_err", "proper_motion")
            columns[name] = rng.normal(0.0, to_pm * disp[key]) + rng.normal(0.0, e)
            columns[f"{name}_err"] = e
    angle = rng.uniform(0.0, 2.0 * np.pi, n)
    columns["x"], columns["y"] = R * np.cos(angle), R * np.sin(angle)
    return {k: columns[k] for k in ("R", "x", "y", "v", "v_err", *[c for c in columns if c.startswith("pm")])}


def mock_catalog(
    tracer,
    mass,
    anisotropy,
    n: int,
    *,
    velocities: str = "auto",
    v_sys=0.0,
    v_err=0.0,
    distance=None,
    proper_motions: bool = False,
    pm_err=0.0,
    contamination: Contamination | None = None,
    r_max=None,
    R_max=None,
    seed: int = 0,
    df=None,
    progress: bool = False,
):
    """A mock star catalogue (astropy Table in the format of docs/catalog_format.md): the
    one generator of mock stars in Dynamicall (``dynamicall mock``, ``data/mock_dwarf.ecsv``
    through :func:`dynamicall.infer.mocks.dwarf_mock`, the tests).

    The table is the on-disk catalogue: besides what a fit reads
    (:meth:`dynamicall.data.StarCatalog.from_table`) it holds the per-star truth a
    :class:`~dynamicall.data.StarCatalog` does not keep (``x``, ``y``, ``member``).

    Parameters
    ----------
    tracer : Profile
        Tracer density of the member stars.
    mass : Profile
        Total mass model.
    anisotropy : Anisotropy
        Velocity anisotropy of the members.
    n : int
        Number of member stars (> 0).
    velocities : {"auto", "df", "gaussian", "los"}
        "df": exact sampling from the distribution function (isotropic or Osipkov-Merritt
        only; ValueError if the DF is negative somewhere); "gaussian": Gaussians with the
        Jeans dispersions (any anisotropy); "auto": "df" where a non-negative DF exists,
        else "gaussian" (with a warning when the DF is negative). These three draw 3D
        positions and velocities. "los": projected radii only
        (:func:`sample_projected_radii`, within ``R_max``) and Gaussian line-of-sight
        velocities (and proper motions) with the exact projected Jeans dispersions at each
        star (any anisotropy; the exact engine on a 64-point log grid, interpolated log-log:
        < 1e-6 relative).
    v_sys : float or Quantity
        Systemic line-of-sight velocity (km/s), added to every member.
    v_err : float, array (n,), (low, high) or Quantity
        Per-star 1-sigma velocity errors (km/s); a (low, high) pair draws them uniformly.
    distance : float or Quantity, optional
        Heliocentric distance (kpc); needed for proper motions.
    proper_motions : bool
        Add ``pm_R``, ``pm_T`` (mas/yr) and their errors.
    pm_err : float, array (n,) or (low, high)
        Per-star 1-sigma proper-motion errors (mas/yr).
    contamination : Contamination, optional
        A foreground population (``member`` False).
    r_max : float or Quantity, optional
        Truncation radius of the tracer (needed for infinite-mass tracers), 3D modes.
    R_max : float or Quantity, optional
        Outer edge of the survey in projected radius (kpc), ``velocities="los"`` only.
    seed : int
        Random seed: the same seed gives the same catalogue.
    df : DistributionFunction, optional
        A prebuilt DF for ``velocities="df"`` (else built here).
    progress : bool
        Show a progress bar while sampling DF velocities.

    Returns
    -------
    astropy.table.Table
        Columns R, x, y [kpc], v, v_err [km/s], (pm_R, pm_T, pm_R_err, pm_T_err
        [mas/yr]), member; meta ``distance``, ``R_half``, ``truth``, ``seed``.

    Example
    -------
    >>> from dynamicall.profiles import NFW, Plummer
    >>> from dynamicall.anisotropy import Constant
    >>> stars = Plummer(m_tot=1e6, r_s=0.25)
    >>> cat = mock_catalog(stars, NFW.from_m200_c(1e9, 15.0) + stars, Constant(beta=0.2),
    ...                    200, v_err=(1.0, 3.0), distance=80.0, proper_motions=True, seed=4)
    >>> len(cat), cat["v"].unit.to_string(), cat.meta["distance"]
    (200, 'km / s', '80.0 kpc')
    """
    import astropy.units as u
    from astropy.table import Table

    if not isinstance(anisotropy, Anisotropy):
        raise TypeError(f"anisotropy must be an Anisotropy model, got {type(anisotropy).__name__}")
    n = int(n)
    if n <= 0:
        raise ValueError(f"n must be > 0; got {n}")
    if velocities not in ("auto", "df", "gaussian", "los"):
        raise ValueError(f"velocities must be 'auto', 'df', 'gaussian' or 'los'; got {velocities!r}")
    if R_max is not None and velocities != "los":
        raise ValueError("R_max (projected survey edge) needs velocities='los'; for 3D positions "
                         "truncate the tracer with r_max")
    if r_max is not None and velocities == "los":
        raise ValueError("velocities='los' draws projected radii: give R_max, not r_max")
    auto = velocities == "auto"
    if auto:
        velocities = "df" if _df_capable(anisotropy) else "gaussian"
    elif velocities == "df" and not _df_capable(anisotropy):
        raise ValueError(
            "velocities='df' needs isotropy (Constant(beta=0)) or OsipkovMerritt anisotropy; "
            f"got {anisotropy!r}: use velocities='gaussian'"
        )
    if proper_motions and distance is None:
        raise ValueError("proper_motions=True needs the distance (kpc)")
    dist = None if distance is None else float(to_kpc(distance))
    if dist is not None and not dist > 0:
        raise ValueError(f"distance must be > 0 (kpc); got {distance}")
    v_sys = float(to_kms(v_sys))
    rng = np.random.default_rng(seed)

    if velocities == "los":
        columns = _projected_members(tracer, mass, anisotropy, n, rng, R_max=R_max, v_sys=v_sys,
                                     v_err=v_err, proper_motions=proper_motions, pm_err=pm_err,
                                     distance=dist)
    else:
        columns = _members_3d(tracer, mass, anisotropy, n, rng, velocities=velocities, auto=auto,
                              df=df, r_max=r_max, v_sys=v_sys, v_err=v_err,
                              proper_motions=proper_motions, pm_err=pm_err, distance=dist,
                              progress=progress)
        velocities = columns.pop("velocities")
    R, errors = columns["R"], columns["v_err"]
    member = np.ones(n, dtype=bool)

    n_cont = 0
    if contamination is not None and contamination.fraction > 0:
        c = contamination
        n_cont = int(round(n * c.fraction / (1.0 - c.fraction)))
        R_edge = c.R_max if c.R_max is not None else float(R.max())
        Rc = R_edge * np.sqrt(rng.uniform(size=n_cont))
        angle = rng.uniform(0.0, 2.0 * np.pi, size=n_cont)
        err_c = _contaminant_errors(v_err, errors, n_cont, rng, "v_err", "velocity")
        extra = dict(
            R=Rc,
            x=Rc * np.cos(angle),
            y=Rc * np.sin(angle),
            v=c.v_mean + c.v_sigma * rng.standard_normal(n_cont) + err_c * rng.standard_normal(n_cont),
            v_err=err_c,
        )
        if proper_motions:
            for comp in ("R", "T"):
                e = _contaminant_errors(pm_err, columns[f"pm_{comp}_err"], n_cont, rng, "pm_err", "proper_motion")
                extra[f"pm_{comp}"] = c.pm_mean + c.pm_sigma * rng.standard_normal(n_cont) + e * rng.standard_normal(n_cont)
                extra[f"pm_{comp}_err"] = e
        columns = {k: np.concatenate([columns[k], extra[k]]) for k in columns}
        member = np.concatenate([member, np.zeros(n_cont, dtype=bool)])

    # contaminants are shuffled among the members (no shuffle without them)
    order = rng.permutation(member.size) if n_cont else np.arange(member.size)
    units = dict(R=u.kpc, x=u.kpc, y=u.kpc, v=u.km / u.s, v_err=u.km / u.s)
    units.update({k: u.mas / u.yr for k in ("pm_R", "pm_T", "pm_R_err", "pm_T_err")})
    table = Table()
    for name, values in columns.items():
        table[name] = values[order] * units[name]
    table["member"] = member[order]

    truth = dict(
        tracer=_describe(tracer),
        mass=_describe(mass),
        anisotropy=_describe(anisotropy),
        v_sys=v_sys,
        velocities=velocities,
        n_members=n,
        n_contaminants=n_cont,
        units="kpc, km/s, Msun, mas/yr",
    )
    if r_max is not None:
        truth["r_max"] = float(to_kpc(r_max))
    if R_max is not None:
        truth["R_max"] = float(to_kpc(R_max))
    if contamination is not None:
        truth["contamination"] = dataclasses.asdict(contamination)
    if dist is not None:
        table.meta["distance"] = f"{dist!r} kpc"
    if tracer.has_finite_mass():
        table.meta["R_half"] = f"{float(tracer.half_light_radius())!r} kpc"
    table.meta["truth"] = truth
    table.meta["seed"] = int(seed) if not isinstance(seed, np.random.Generator) else None
    return table


def write_catalog(table, path, overwrite: bool = True):
    """Write a catalogue as ECSV (the format of docs/catalog_format.md), atomically.

    Example
    -------
    >>> import tempfile, os
    >>> from astropy.table import Table
    >>> from dynamicall.profiles import Plummer
    >>> from dynamicall.anisotropy import Constant
    >>> p = Plummer(m_tot=1e6, r_s=0.3)
    >>> cat = mock_catalog(p, p, Constant(beta=0.0), 20, seed=1)
    >>> path = os.path.join(tempfile.mkdtemp(), "mock.ecsv")
    >>> write_catalog(cat, path)
    >>> Table.read(path).meta["seed"]
    1
    """
    import pathlib

    from ._durable import atomic_file

    path = pathlib.Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists: choose another name or pass overwrite=True")
    with atomic_file(path) as tmp:  # a complete file or the old one, never a torn one
        table.write(tmp, format="ascii.ecsv", overwrite=True)
