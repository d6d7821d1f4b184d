"""The tracer's light profile for a fit: from catalogue metadata or a photometry file.

A fit needs the tracer's density (the stars' number density, traced by their light).
:func:`light_from_catalog` reads it from the star catalogue's metadata; :func:`light_from_photometry`
fits it to a surface-density table (ECSV or FITS: columns ``R``, ``Sigma`` and optional
``Sigma_err``). Both return a :class:`Light` whose ``tracer``, ``priors`` and ``R_half``
go to :class:`~dynamicall.infer.spec.ModelSpec` (or to :func:`~dynamicall.infer.run.fit`
as ``tracer=light``). With ``marginalise=True`` the light profile's parameters are free
with Gaussian priors from the photometry (their errors), so the kinematic posterior
includes the photometric uncertainty; otherwise they are fixed at the best values.

Catalogue metadata keys (case-insensitive; lengths as quantity strings, e.g. ``"0.3 kpc"``):

==============  ================================================  =========================
``tracer``      family: sersic, exponential, king, plummer, ...   required for this route
``sersic_n``    Sersic index (``sersic_n_err``: its 1-sigma error)  sersic
``R_e``         effective radius (``R_e_err``), else ``R_half``   sersic, exponential
``r_c, r_t``    King core and tidal radii (``r_c_err``, ``r_t_err``)  king
==============  ================================================  =========================

Example
-------
>>> light = light_from_catalog({"tracer": "sersic", "sersic_n": 2.0, "R_e": "0.3 kpc"})
>>> light.tracer, light.priors, round(light.R_half, 6)
('sersic', {'tracer.n': 2.0}, 0.3)
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from ..units import to_internal

#: Photometry file columns.
PHOTOMETRY_COLUMNS = ("R", "Sigma", "Sigma_err")
MODELS = ("sersic", "exponential", "tabulated")


@dataclasses.dataclass(frozen=True)
class Light:
    """A tracer light profile ready for a fit.

    Attributes
    ----------
    tracer : str or Profile
        Family name (with ``priors``) or a fixed profile (tabulated photometry).
    priors : dict
        Site -> fixed value or numpyro distribution (``tracer.*`` sites).
    R_half : float
        Projected half-light radius, kpc (fixes the scale of families that need one).
    source : str
        Where it came from (for the fit's record).
    info : dict
        Best-fit values, errors and fit quality (photometry), or the metadata used.
    """

    tracer: object
    priors: dict
    R_half: float
    source: str
    info: dict = dataclasses.field(default_factory=dict)

    def spec_arguments(self, priors=None, R_half=None) -> dict:
        """``tracer``, ``priors`` and ``R_half`` for ModelSpec, merged with the user's
        (the user's priors and R_half win)."""
        return dict(tracer=self.tracer, priors={**self.priors, **dict(priors or {})},
                    R_half=self.R_half if R_half is None else R_half)


# ------------------------------------------------------------------- metadata
def _get(meta, key):
    for k, value in (meta or {}).items():
        if str(k).lower() == key.lower():
            return value
    return None


def _length(meta, key, source):
    value = _get(meta, key)
    if value is None:
        return None
    import astropy.units as u

    try:
        q = u.Quantity(value)
    except (TypeError, ValueError):
        raise ValueError(f"{source}: metadata '{key}' = {value!r} is not a length; write it as e.g. '0.3 kpc'") from None
    if q.unit == u.dimensionless_unscaled:
        raise ValueError(f"{source}: metadata '{key}' = {value!r} has no unit; write it as e.g. '0.3 kpc'")
    x = float(to_internal(q, "length"))
    if not (np.isfinite(x) and x > 0):
        raise ValueError(f"{source}: metadata '{key}' must be a finite length > 0; got {value!r}")
    return x


def _number(meta, key, source):
    value = _get(meta, key)
    if value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{source}: metadata '{key}' = {value!r} is not a number") from None
    if not np.isfinite(x):
        raise ValueError(f"{source}: metadata '{key}' must be finite; got {value!r}")
    return x


def _log10_prior(value, error, marginalise):
    """Fixed log10 value, or a Normal prior on it from a 1-sigma error of the value."""
    if marginalise and error:
        import numpyro.distributions as dist

        return dist.Normal(float(np.log10(value)), float(error / (value * np.log(10.0))))
    return float(np.log10(value))


def _n_prior(n, error, marginalise):
    from ..profiles.sersic import N_RANGE

    if marginalise and error:
        import numpyro.distributions as dist

        return dist.TruncatedNormal(float(n), float(error), low=N_RANGE[0], high=N_RANGE[1])
    return float(n)


def light_from_catalog(meta, *, marginalise: bool = False, source: str = "catalogue") -> Light:
    """The tracer's light profile from a catalogue's metadata (keys in the module docs).

    Parameters
    ----------
    meta : dict-like or StarCatalog
        The metadata (``catalog.meta`` plus ``R_half``; a StarCatalog is read for both).
    marginalise : bool
        Free the light parameters with Gaussian priors from their ``*_err`` entries
        (parameters without an error stay fixed).

    Raises
    ------
    ValueError
        Naming the missing or malformed key.
    """
    R_half = None
    if hasattr(meta, "meta") and hasattr(meta, "R_half"):
        R_half = meta.R_half
        meta = meta.meta
    from ..registry import key as _key

    family = _get(meta, "tracer")
    if family is None:
        raise ValueError(f"{source}: metadata has no 'tracer' entry (e.g. tracer: sersic, with sersic_n and R_e)")
    family = _key(family)
    R_half = _length(meta, "R_half", source) or R_half
    if family == "sersic":
        n = _number(meta, "sersic_n", source)
        R_e = _length(meta, "R_e", source) or R_half
        if n is None or R_e is None:
            raise ValueError(f"{source}: tracer 'sersic' needs metadata 'sersic_n' and 'R_e' (e.g. R_e: 0.3 kpc)")
        priors = {"tracer.n": _n_prior(n, _number(meta, "sersic_n_err", source), marginalise)}
        R_e_err = _length(meta, "R_e_err", source)
        if marginalise and R_e_err:
            priors["tracer.log10_R_e"] = _log10_prior(R_e, R_e_err, True)
        return Light("sersic", priors, R_e, source, dict(n=n, R_e=R_e))
    if family == "exponential":
        R_d = _length(meta, "R_d", source)
        R_e = _length(meta, "R_e", source) or R_half
        if R_d is None and R_e is None:
            raise ValueError(f"{source}: tracer 'exponential' needs metadata 'R_d' or 'R_e'")
        from ..profiles.sersic import sersic_b

        b1 = float(sersic_b(1.0))
        R_e = R_e if R_d is None else b1 * R_d
        priors = {}
        R_d_err = _length(meta, "R_d_err", source)
        if R_d is not None and (marginalise and R_d_err):
            priors["tracer.log10_R_d"] = _log10_prior(R_d, R_d_err, True)
        return Light("exponential", priors, R_e, source, dict(R_e=R_e))
    if family == "king":
        r_c, r_t = _length(meta, "r_c", source), _length(meta, "r_t", source)
        if r_c is None or r_t is None:
            raise ValueError(f"{source}: tracer 'king' needs metadata 'r_c' and 'r_t' (e.g. r_c: 2 pc, r_t: 60 pc)")
        priors = {
            "tracer.log10_r_c": _log10_prior(r_c, _length(meta, "r_c_err", source), marginalise),
            "tracer.log10_r_t": _log10_prior(r_t, _length(meta, "r_t_err", source), marginalise),
        }
        from ..profiles import King

        half = float(King(m_tot=1.0, r_c=r_c, r_t=r_t).half_light_radius())
        return Light("king", priors, half, source, dict(r_c=r_c, r_t=r_t))
    if R_half is None:
        raise ValueError(f"{source}: tracer '{family}' needs metadata 'R_half' (e.g. R_half: 0.25 kpc)")
    return Light(family, {}, R_half, source, {})


# ----------------------------------------------------------------- photometry
def read_photometry(path):
    """A surface-density table: ``R`` (kpc), ``Sigma`` and ``Sigma_err`` (Sigma's unit).

    ``R`` is a length column, or an angle with metadata ``distance``; ``Sigma_err`` is
    optional (None when absent).
    """
    import astropy.units as u
    from astropy.table import Table

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such photometry file: '{path}'")
    name = os.path.basename(path)
    table = Table.read(path, format="fits" if path.lower().endswith((".fits", ".fit")) else "ascii.ecsv")
    for col in ("R", "Sigma"):
        if col not in table.colnames:
            raise ValueError(f"photometry '{name}': missing column '{col}' (columns: R, Sigma, optional Sigma_err)")
    R = u.Quantity(table["R"])
    if R.unit.physical_type == "angle":
        distance = _length(table.meta, "distance", f"photometry '{name}'")
        if distance is None:
            raise ValueError(f"photometry '{name}': column 'R' is an angle, so the metadata needs 'distance'")
        R = distance * R.to_value(u.rad)
    elif R.unit == u.dimensionless_unscaled:
        raise ValueError(f"photometry '{name}': column 'R' has no unit; give it a length (kpc, pc) or an angle")
    else:
        R = np.asarray(to_internal(R, "length"), dtype=float)
    Sigma = np.asarray(getattr(table["Sigma"], "value", table["Sigma"]), dtype=float)
    err = None
    if "Sigma_err" in table.colnames:
        err = u.Quantity(table["Sigma_err"]).to_value(u.Quantity(table["Sigma"]).unit)
    return np.asarray(R, dtype=float), Sigma, err


def fit_sersic(R, Sigma, Sigma_err=None, *, n_start: float = 1.0) -> dict:
    """Least-squares Sersic fit of a surface-density table.

    Returns
    -------
    dict
        ``n``, ``R_e`` (kpc), ``log10_R_e``, their 1-sigma errors ``n_err``, ``R_e_err``,
        ``log10_R_e_err`` (from the Jacobian; scaled by the reduced chi^2 when
        ``Sigma_err`` is None), ``corr`` (their correlation), ``chi2``, ``dof``.

    Example
    -------
    >>> R = np.geomspace(0.02, 2.0, 20)
    >>> out = fit_sersic(R, np.exp(-1.678347 * R / 0.3))
    >>> round(out["n"], 4), round(out["R_e"], 4)
    (1.0, 0.3)
    """
    from scipy import optimize, special

    from ..profiles.sersic import N_RANGE

    R, Sigma = np.asarray(R, float), np.asarray(Sigma, float)
    if R.shape != Sigma.shape or R.size < 4 or np.any(R <= 0) or np.any(Sigma <= 0):
        raise ValueError("fit_sersic needs >= 4 points with R > 0 and Sigma > 0")
    err = np.ones_like(Sigma) * 0.01 * Sigma if Sigma_err is None else np.broadcast_to(np.asarray(Sigma_err, float), Sigma.shape)
    if np.any(~(err > 0)):
        raise ValueError("Sigma_err must be > 0")
    R_mid = float(np.exp(np.mean(np.log(R))))

    def model(x):
        lnS, lgR, n = x
        b = special.gammaincinv(2 * n, 0.5)
        return np.exp(lnS - b * ((R / 10**lgR) ** (1 / n) - 1))

    def resid(x):
        return (model(x) - Sigma) / err

    x0 = [np.log(np.interp(np.log(R_mid), np.log(R), Sigma)), np.log10(R_mid), n_start]
    res = optimize.least_squares(resid, x0, bounds=([-np.inf, -np.inf, N_RANGE[0]], [np.inf, np.inf, N_RANGE[1]]),
                                 x_scale=[1.0, 0.1, 0.3], xtol=1e-14, ftol=1e-14, gtol=1e-14, max_nfev=2000)
    chi2, dof = float(np.sum(res.fun**2)), max(R.size - 3, 1)
    cov = np.linalg.pinv(res.jac.T @ res.jac)
    if Sigma_err is None:
        cov = cov * chi2 / dof
    lnS, lgR, n = res.x
    sd = np.sqrt(np.diag(cov))
    return dict(n=float(n), R_e=float(10**lgR), log10_R_e=float(lgR), n_err=float(sd[2]),
                log10_R_e_err=float(sd[1]), R_e_err=float(10**lgR * np.log(10) * sd[1]),
                corr=float(cov[1, 2] / (sd[1] * sd[2])), chi2=chi2, dof=dof, success=bool(res.success))


def light_from_photometry(photometry, *, model: str = "sersic", marginalise: bool = False) -> Light:
    """The tracer's light profile fitted to a photometry table.

    Parameters
    ----------
    photometry : path or (R, Sigma, Sigma_err)
        A file for :func:`read_photometry`, or the arrays (R in kpc; Sigma_err may be None).
    model : {"sersic", "exponential", "tabulated"}
        "sersic": fit n and R_e; "exponential": fit R_d with n = 1; "tabulated": the
        non-parametric multi-Gaussian tracer (:func:`dynamicall.profiles.fit_surface_density`),
        fixed (no marginalisation).
    marginalise : bool
        Free the fitted parameters with Gaussian priors (mean the best fit, width its
        1-sigma error; the correlation between n and R_e is not kept).

    Example
    -------
    >>> R = np.geomspace(0.02, 2.0, 20)
    >>> light = light_from_photometry((R, np.exp(-(R / 0.2) ** 0.5 * 7.669), None))
    >>> light.tracer, round(light.priors["tracer.n"], 3)
    ('sersic', 2.0)
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}; got {model!r}")
    if isinstance(photometry, (str, os.PathLike)):
        source = f"photometry '{os.path.basename(os.fspath(photometry))}'"
        R, Sigma, err = read_photometry(photometry)
    else:
        source = "photometry arrays"
        R, Sigma, err = (None if x is None else np.asarray(x, float) for x in photometry)
    if model == "tabulated":
        from ..profiles import fit_surface_density

        tracer, info = fit_surface_density(R, Sigma, err)
        tracer = dataclasses.replace(tracer, m_tot=1.0)
        return Light(tracer, {}, float(tracer.r_s), source, info)
    if model == "exponential":
        from ..profiles.sersic import sersic_b

        b1 = float(sersic_b(1.0))
        best = _fit_fixed_n(R, Sigma, err, 1.0)
        priors = {"tracer.log10_R_d": _log10_prior(best["R_e"] / b1, best["R_e_err"] / b1, marginalise)}
        return Light("exponential", priors, best["R_e"], source, best)
    best = fit_sersic(R, Sigma, err)
    priors = {"tracer.n": _n_prior(best["n"], best["n_err"], marginalise)}
    if marginalise:
        priors["tracer.log10_R_e"] = _log10_prior(best["R_e"], best["R_e_err"], True)
    return Light("sersic", priors, best["R_e"], source, best)


def _fit_fixed_n(R, Sigma, err, n):
    from scipy import optimize, special

    e = 0.01 * Sigma if err is None else err
    b = special.gammaincinv(2 * n, 0.5)

    def resid(x):
        return (np.exp(x[0] - b * ((R / 10 ** x[1]) ** (1 / n) - 1)) - Sigma) / e

    x0 = [np.log(np.median(Sigma)), np.log10(np.exp(np.mean(np.log(R))))]
    res = optimize.least_squares(resid, x0, xtol=1e-14, ftol=1e-14, gtol=1e-14)
    chi2, dof = float(np.sum(res.fun**2)), max(R.size - 2, 1)
    cov = np.linalg.pinv(res.jac.T @ res.jac) * (chi2 / dof if err is None else 1.0)
    sd = float(np.sqrt(cov[1, 1]))
    R_e = float(10 ** res.x[1])
    return dict(n=n, R_e=R_e, R_e_err=R_e * np.log(10) * sd, chi2=chi2, dof=dof)
