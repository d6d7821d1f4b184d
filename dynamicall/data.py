"""Star catalogues and binned dispersion profiles: reading, validation, units.

A :class:`StarCatalog` holds, for each star, its projected radius ``R`` (kpc), its
line-of-sight velocity ``v`` and error ``v_err`` (km/s) and, optionally, its proper
motions along and across the projected radius vector ``pm_R``, ``pm_T`` with errors
(mas/yr, relative to the systemic proper motion). It is read from an astropy Table (ECSV
or FITS) in the schema of ``docs/catalog_format.md``; units come from the file and are
converted to the internal units (kpc, km/s, mas/yr). Every value is checked once, here:
a missing column, a missing unit, a non-finite or masked value or a negative error raises
``ValueError`` naming the column and the (0-based) row.

A :class:`BinnedProfile` holds a published (or computed) dispersion profile: bin radii,
dispersions and their errors.

Example
-------
>>> import numpy as np
>>> cat = StarCatalog.from_arrays(R=[0.1, 0.2, 0.4], v=[50.0, 62.0, 41.0],
...                               v_err=[2.0, 1.5, 3.0], R_half=0.25)
>>> len(cat), cat.R_half
(3, 0.25)
"""

from __future__ import annotations

import dataclasses
import os
import numpy as np

from .units import KMS_PER_KPC_MASYR, parse_quantity, to_internal  # noqa: F401 (parse_quantity: re-exported)

#: Columns of the catalogue schema and their physical kinds.
REQUIRED = ("v", "v_err")
PM_COLUMNS = ("pm_R", "pm_T", "pm_R_err", "pm_T_err")
SCHEMA_DOC = "docs/catalog_format.md"

_UNIT_EXAMPLES = {
    "length": "kpc or pc",
    "angle": "arcmin or deg",
    "velocity": "km / s",
    "proper_motion": "mas / yr",
}


def _fmt_rows(rows, values=None, limit=5) -> str:
    rows = list(rows)
    shown = rows[:limit]
    if values is None:
        text = ", ".join(str(r) for r in shown)
    else:
        text = ", ".join(f"{r} ({float(values[r])!r})" for r in shown)
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return f"row{'s' if len(rows) > 1 else ''} {text}{more}"


def _check_values(name: str, values: np.ndarray, *, nonnegative=False, positive=False, unit="") -> None:
    """Raise ``ValueError`` naming column ``name`` and the rows with bad values."""
    values = np.asarray(values, dtype=float)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise ValueError(
            f"column '{name}' has non-finite values at {_fmt_rows(bad, values)} (rows are 0-based)"
        )
    if positive:
        bad = np.flatnonzero(values <= 0)
        if bad.size:
            raise ValueError(
                f"column '{name}' must be > 0 ({unit}); bad values at {_fmt_rows(bad, values)} (0-based)"
            )
    if nonnegative:
        bad = np.flatnonzero(values < 0)
        if bad.size:
            raise ValueError(
                f"column '{name}' is an error and must be >= 0 ({unit}); negative at "
                f"{_fmt_rows(bad, values)} (0-based)"
            )


def _meta_get(meta, key):
    """Case-insensitive metadata lookup (FITS headers upper-case their keys)."""
    if meta is None:
        return None
    for k, value in meta.items():
        if str(k).lower() == key.lower():
            return value
    return None


def _meta_quantity(meta, key: str, kind: str, source: str):
    """A metadata value with units (a Quantity or a string such as ``"80 kpc"``) in the
    internal unit of ``kind``; ``None`` when absent."""
    value = _meta_get(meta, key)
    if value is None:
        return None
    import astropy.units as u

    if isinstance(value, str):
        try:
            value = u.Quantity(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"{source}: metadata '{key}' = {value!r} is not a quantity; write it with a "
                f"unit, e.g. '80 kpc'"
            ) from None
    if not hasattr(value, "unit") or value.unit == u.dimensionless_unscaled:
        raise ValueError(
            f"{source}: metadata '{key}' = {value!r} has no unit; write it with a unit, e.g. '80 kpc'"
        )
    out = float(to_internal(value, kind))
    if not np.isfinite(out):
        raise ValueError(f"{source}: metadata '{key}' must be finite; got {value!r}")
    return out


def _column(table, name: str, kinds, source: str):
    """Column ``name`` as a float array in internal units, with its physical kind.

    ``kinds`` is a tuple of accepted kinds (e.g. ("length", "angle")); the first that the
    column's unit converts to is used.
    """
    import astropy.units as u

    if name not in table.colnames:
        raise ValueError(
            f"{source}: required column '{name}' is missing; columns present: "
            f"{list(table.colnames)} (schema: {SCHEMA_DOC})"
        )
    col = table[name]
    mask = getattr(col, "mask", None)
    if mask is not None and np.any(mask):
        rows = np.flatnonzero(np.asarray(mask))
        raise ValueError(f"column '{name}' has missing (masked) values at {_fmt_rows(rows)} (rows are 0-based)")
    unit = getattr(col, "unit", None)
    expected = " or ".join(f"{k} ({_UNIT_EXAMPLES.get(k, k)})" for k in kinds)
    if unit is None or unit == u.dimensionless_unscaled:
        raise ValueError(f"{source}: column '{name}' has no unit; give it a unit: {expected}")
    quantity = u.Quantity(np.asarray(col, dtype=float), unit)
    for kind in kinds:
        try:
            return np.asarray(to_internal(quantity, kind), dtype=float), kind
        except ValueError:
            continue
    raise ValueError(f"{source}: column '{name}' has unit '{unit}', which is not a {expected}")


@dataclasses.dataclass(frozen=True)
class BinnedProfile:
    """A binned velocity-dispersion profile (published or computed from stars).

    Parameters
    ----------
    R : array
        Bin radii (projected), kpc.
    sigma : array
        Line-of-sight velocity dispersion in each bin, km/s.
    sigma_err : array
        Its 1 sigma error, km/s (> 0).
    R_half : float, optional
        Projected half-light radius of the tracer, kpc.
    n_stars : array, optional
        Stars per bin (informational).

    Example
    -------
    >>> prof = BinnedProfile(R=[0.1, 0.3], sigma=[9.5, 10.2], sigma_err=[0.8, 1.0])
    >>> prof.sigma.tolist()
    [9.5, 10.2]
    """

    R: np.ndarray
    sigma: np.ndarray
    sigma_err: np.ndarray
    R_half: float | None = None
    n_stars: np.ndarray | None = None
    meta: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        R = np.atleast_1d(np.asarray(to_internal(self.R, "length"), dtype=float))
        sigma = np.atleast_1d(np.asarray(to_internal(self.sigma, "velocity"), dtype=float))
        err = np.atleast_1d(np.asarray(to_internal(self.sigma_err, "velocity"), dtype=float))
        if not (R.shape == sigma.shape == err.shape) or R.ndim != 1:
            raise ValueError(
                f"BinnedProfile: R, sigma and sigma_err must be 1-D and equally long; got shapes "
                f"{R.shape}, {sigma.shape}, {err.shape}"
            )
        _check_values("R", R, positive=True, unit="kpc")
        _check_values("sigma", sigma, positive=True, unit="km/s")
        _check_values("sigma_err", err, positive=True, unit="km/s")
        object.__setattr__(self, "R", R)
        object.__setattr__(self, "sigma", sigma)
        object.__setattr__(self, "sigma_err", err)
        if self.R_half is not None:
            object.__setattr__(self, "R_half", float(to_internal(self.R_half, "length")))

    def __len__(self):
        return self.R.size

    @classmethod
    def read(cls, path, format=None):
        """Read a binned profile: columns ``R`` (length), ``sigma_los`` and
        ``sigma_los_err`` (velocity); optional metadata ``R_half``.

        Example
        -------
        >>> import tempfile, os
        >>> prof = BinnedProfile(R=[0.1, 0.3], sigma=[9.5, 10.2], sigma_err=[0.8, 1.0])
        >>> path = os.path.join(tempfile.mkdtemp(), "binned.ecsv")
        >>> prof.write(path)
        >>> BinnedProfile.read(path).sigma_err.tolist()
        [0.8, 1.0]
        """
        table, source = _read_table(path, format)
        R, kind = _column(table, "R", ("length",), source)
        sigma, _ = _column(table, "sigma_los", ("velocity",), source)
        err, _ = _column(table, "sigma_los_err", ("velocity",), source)
        _check_values("sigma_los_err", err, positive=True, unit="km/s")
        R_half = _meta_quantity(table.meta, "R_half", "length", source)
        return cls(R=R, sigma=sigma, sigma_err=err, R_half=R_half, meta=dict(table.meta))

    def to_table(self):
        """The profile as an astropy Table with units."""
        import astropy.units as u
        from astropy.table import Table

        t = Table()
        t["R"] = self.R * u.kpc
        t["sigma_los"] = self.sigma * u.km / u.s
        t["sigma_los_err"] = self.sigma_err * u.km / u.s
        if self.n_stars is not None:
            t["n_stars"] = np.asarray(self.n_stars)
        t.meta.update({k: v for k, v in self.meta.items()})
        if self.R_half is not None:
            t.meta["R_half"] = f"{self.R_half!r} kpc"
        return t

    def write(self, path, overwrite=True):
        """Write as ECSV (or FITS, by extension)."""
        self.to_table().write(path, format=_format_for(path), overwrite=overwrite)


def _format_for(path) -> str:
    name = os.fspath(path).lower()
    if name.endswith((".fits", ".fit", ".fits.gz", ".fit.gz")):
        return "fits"
    if name.endswith(".ecsv"):
        return "ascii.ecsv"
    if name.endswith((".h5", ".hdf5")):
        return "hdf5"
    raise ValueError(f"cannot tell the format of '{path}': use a .ecsv or .fits name, or pass format=")


def _read_table(path, format=None):
    from astropy.table import Table

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such catalogue file: '{path}'")
    fmt = format or _format_for(path)
    table = Table.read(path, format=fmt)
    return table, f"catalogue '{os.path.basename(path)}'"


@dataclasses.dataclass(frozen=True)
class StarCatalog:
    """Stars with projected radii, line-of-sight velocities and optional proper motions.

    Build with :meth:`read` (ECSV/FITS, schema in ``docs/catalog_format.md``),
    :meth:`from_table` or :meth:`from_arrays`. Arrays are stored in internal units.

    Attributes
    ----------
    R : ndarray
        Projected radius from the centre, kpc (>= 0).
    v, v_err : ndarray
        Line-of-sight velocity (systemic included) and its 1 sigma error, km/s.
    pm_R, pm_T, pm_R_err, pm_T_err : ndarray or None
        Proper motions along / across the projected radius vector relative to the
        systemic proper motion, and errors, mas/yr.
    distance : float or None
        Heliocentric distance, kpc (needed for proper motions and angular radii).
    R_half : float or None
        Projected half-light radius of the tracer, kpc (from photometry).
    meta : dict
        Remaining metadata (``truth`` and ``seed`` for mocks).
    source : str or None
        Where the catalogue came from.

    Example
    -------
    >>> cat = StarCatalog.from_arrays(R=[0.1, 0.3], v=[10.0, 12.0], v_err=[1.0, 2.0])
    >>> cat.has_proper_motions
    False
    """

    R: np.ndarray
    v: np.ndarray
    v_err: np.ndarray
    pm_R: np.ndarray | None = None
    pm_T: np.ndarray | None = None
    pm_R_err: np.ndarray | None = None
    pm_T_err: np.ndarray | None = None
    distance: float | None = None
    R_half: float | None = None
    meta: dict = dataclasses.field(default_factory=dict)
    source: str | None = None

    def __post_init__(self):
        n = None
        for name, kind in (("R", "length"), ("v", "velocity"), ("v_err", "velocity")):
            arr = np.atleast_1d(np.asarray(to_internal(getattr(self, name), kind), dtype=float))
            if arr.ndim != 1:
                raise ValueError(f"column '{name}' must be 1-D; got shape {arr.shape}")
            n = arr.size if n is None else n
            if arr.size != n:
                raise ValueError(f"columns R, v, v_err must have equal lengths; '{name}' has {arr.size}, not {n}")
            object.__setattr__(self, name, arr)
        if n == 0:
            raise ValueError("the catalogue has no stars")
        _check_values("R", self.R, unit="kpc")
        bad = np.flatnonzero(self.R < 0)
        if bad.size:
            raise ValueError(f"column 'R' must be >= 0 (kpc); negative at {_fmt_rows(bad, self.R)} (0-based)")
        _check_values("v", self.v, unit="km/s")
        _check_values("v_err", self.v_err, nonnegative=True, unit="km/s")
        given = [c for c in PM_COLUMNS if getattr(self, c) is not None]
        if given and len(given) != len(PM_COLUMNS):
            missing = [c for c in PM_COLUMNS if c not in given]
            raise ValueError(f"proper motions need all of {list(PM_COLUMNS)}; missing {missing}")
        for name in given:
            arr = np.atleast_1d(np.asarray(to_internal(getattr(self, name), "proper_motion"), dtype=float))
            if arr.shape != (n,):
                raise ValueError(f"column '{name}' must have {n} values; got shape {arr.shape}")
            _check_values(name, arr, nonnegative=name.endswith("_err"), unit="mas/yr")
            object.__setattr__(self, name, arr)
        for name in ("distance", "R_half"):
            value = getattr(self, name)
            if value is not None:
                value = float(to_internal(value, "length"))
                if not (np.isfinite(value) and value > 0):
                    raise ValueError(f"StarCatalog.{name} must be finite and > 0 (kpc); got {value!r}")
                object.__setattr__(self, name, value)

    # ---------------------------------------------------------------- constructors
    @classmethod
    def from_arrays(cls, R, v, v_err, *, pm_R=None, pm_T=None, pm_R_err=None, pm_T_err=None,
                    distance=None, R_half=None, meta=None):
        """Catalogue from arrays: plain numbers are internal units (kpc, km/s, mas/yr);
        astropy Quantities are converted.

        Example
        -------
        >>> import astropy.units as u
        >>> cat = StarCatalog.from_arrays(R=[100, 200] * u.pc, v=[1.0, 2.0], v_err=[1.0, 1.0])
        >>> cat.R.tolist()
        [0.1, 0.2]
        """
        return cls(R=R, v=v, v_err=v_err, pm_R=pm_R, pm_T=pm_T, pm_R_err=pm_R_err,
                   pm_T_err=pm_T_err, distance=distance, R_half=R_half, meta=dict(meta or {}))

    @classmethod
    def read(cls, path, format=None) -> "StarCatalog":
        """Read a catalogue file (ECSV or FITS; format from the extension unless given).

        Parameters
        ----------
        path : str or path-like
            The file.
        format : str, optional
            An astropy Table format ("ascii.ecsv", "fits").

        Raises
        ------
        FileNotFoundError
            If the file does not exist.
        ValueError
            Missing columns or units, bad values (naming the column and row).

        Example
        -------
        >>> import tempfile, os
        >>> cat = StarCatalog.from_arrays(R=[0.1, 0.3], v=[10.0, 12.0], v_err=[1.0, 2.0],
        ...                               distance=80.0, R_half=0.25)
        >>> path = os.path.join(tempfile.mkdtemp(), "stars.ecsv")
        >>> cat.write(path)
        >>> StarCatalog.read(path).distance
        80.0
        """
        table, source = _read_table(path, format)
        return cls.from_table(table, source=os.fspath(path))

    @classmethod
    def from_table(cls, table, source=None) -> "StarCatalog":
        """Catalogue from an astropy Table in the schema of ``docs/catalog_format.md``.

        Projected radii come from column ``R`` (a length, or an angle with metadata
        ``distance``) or from columns ``ra``, ``dec`` with metadata ``ra_centre``,
        ``dec_centre`` and ``distance``.
        """
        label = f"catalogue '{os.path.basename(source)}'" if source else "catalogue"
        meta = dict(table.meta)
        distance = _meta_quantity(meta, "distance", "length", label)
        R_half = _meta_quantity(meta, "R_half", "length", label)
        if "R" in table.colnames:
            R, kind = _column(table, "R", ("length", "angle"), label)
            if kind == "angle":
                if distance is None:
                    raise ValueError(
                        f"{label}: column 'R' is an angle, so the metadata needs 'distance' "
                        f"(e.g. '80 kpc') to convert it to kpc"
                    )
                _check_values("R", R, unit="deg")
                R = distance * np.tan(np.deg2rad(R))
        elif "ra" in table.colnames and "dec" in table.colnames:
            R = _radius_from_sky(table, meta, distance, label)
        else:
            raise ValueError(
                f"{label}: needs a column 'R' (projected radius) or columns 'ra' and 'dec'; "
                f"columns present: {list(table.colnames)} (schema: {SCHEMA_DOC})"
            )
        v, _ = _column(table, "v", ("velocity",), label)
        v_err, _ = _column(table, "v_err", ("velocity",), label)
        pms = {}
        present = [c for c in PM_COLUMNS if c in table.colnames]
        if present:
            for name in PM_COLUMNS:
                if name not in table.colnames:
                    raise ValueError(
                        f"{label}: proper motions need columns {list(PM_COLUMNS)}; column '{name}' is missing"
                    )
                pms[name], _ = _column(table, name, ("proper_motion",), label)
        keep = {k: v_ for k, v_ in meta.items() if str(k).lower() not in ("distance", "r_half")}
        try:
            return cls(R=R, v=v, v_err=v_err, distance=distance, R_half=R_half, meta=keep,
                       source=source, **pms)
        except ValueError as err:
            raise ValueError(f"{label}: {err}") from None

    # ---------------------------------------------------------------- properties
    def __len__(self) -> int:
        return self.R.size

    @property
    def n_stars(self) -> int:
        """Number of stars."""
        return self.R.size

    @property
    def has_proper_motions(self) -> bool:
        """True when the catalogue has both proper-motion components and their errors."""
        return self.pm_R is not None

    @property
    def truth(self) -> dict | None:
        """The parameters a mock was made with (metadata ``truth``), if any."""
        return _meta_get(self.meta, "truth")

    def proper_motions_kms(self):
        """Proper motions and errors converted to km/s at the catalogue's distance.

        Returns
        -------
        dict with ``pm_R``, ``pm_T``, ``pm_R_err``, ``pm_T_err`` in km/s.
        """
        if not self.has_proper_motions:
            raise ValueError("the catalogue has no proper motions (columns pm_R, pm_T, pm_R_err, pm_T_err)")
        if self.distance is None:
            raise ValueError("converting proper motions to km/s needs the distance (metadata 'distance')")
        k = KMS_PER_KPC_MASYR * self.distance
        return {name: k * getattr(self, name) for name in PM_COLUMNS}

    def select(self, mask) -> "StarCatalog":
        """A catalogue with the stars where ``mask`` is true (or at the given indices).

        Example
        -------
        >>> cat = StarCatalog.from_arrays(R=[0.1, 0.3, 0.5], v=[1.0, 2.0, 3.0], v_err=[1.0] * 3)
        >>> len(cat.select(cat.R < 0.4))
        2
        """
        idx = np.arange(len(self))[np.asarray(mask)]
        changes = {name: getattr(self, name)[idx] for name in ("R", "v", "v_err")}
        if self.has_proper_motions:
            changes.update({name: getattr(self, name)[idx] for name in PM_COLUMNS})
        return dataclasses.replace(self, **changes)

    # ---------------------------------------------------------------- output
    def to_table(self):
        """The catalogue as an astropy Table in the schema of ``docs/catalog_format.md``."""
        import astropy.units as u
        from astropy.table import Table

        t = Table()
        t["R"] = self.R * u.kpc
        t["v"] = self.v * u.km / u.s
        t["v_err"] = self.v_err * u.km / u.s
        if self.has_proper_motions:
            for name in PM_COLUMNS:
                t[name] = getattr(self, name) * u.mas / u.yr
        t.meta.update(self.meta)
        if self.distance is not None:
            t.meta["distance"] = f"{self.distance!r} kpc"
        if self.R_half is not None:
            t.meta["R_half"] = f"{self.R_half!r} kpc"
        return t

    def write(self, path, overwrite=True):
        """Write the catalogue (ECSV or FITS, by extension)."""
        self.to_table().write(path, format=_format_for(path), overwrite=overwrite)

    # ---------------------------------------------------------------- binning
    def binned(self, n_bins: int = 8, *, v_sys=None, quantity: str = "los") -> BinnedProfile:
        """Maximum-likelihood dispersion in bins of equal star counts.

        The estimator is :func:`dynamicall.binning.binned_dispersion`; the systemic
        velocity is the error-weighted mean of all stars unless given. Used for plots and
        to make binned data.

        Parameters
        ----------
        n_bins : int
            Number of bins (>= 1, at most n_stars / 5).
        v_sys : float, optional
            Systemic velocity, km/s (line of sight only).
        quantity : {"los", "pm_R", "pm_T"}
            Line-of-sight velocities, or a proper-motion component converted to km/s at
            the catalogue's distance (mean zero).

        Example
        -------
        >>> rng = np.random.default_rng(0)
        >>> cat = StarCatalog.from_arrays(R=rng.uniform(0.01, 1, 400),
        ...                               v=rng.normal(0, 10, 400), v_err=np.ones(400))
        >>> prof = cat.binned(4, v_sys=0.0)
        >>> bool(np.all(np.abs(prof.sigma - 10) < 3 * prof.sigma_err))
        True
        """
        from .binning import binned_dispersion

        if quantity == "los":
            values, errors = self.v, self.v_err
            if v_sys is None:
                w = 1.0 / (np.var(self.v) + self.v_err**2)
                v_sys = float(np.sum(w * self.v) / np.sum(w))
        elif quantity in ("pm_R", "pm_T"):
            kms = self.proper_motions_kms()
            values, errors, v_sys = kms[quantity], kms[f"{quantity}_err"], 0.0
        else:
            raise ValueError(f"quantity must be 'los', 'pm_R' or 'pm_T'; got {quantity!r}")
        out = binned_dispersion(self.R, values, errors, n_bins, v_sys)
        return BinnedProfile(R=out["R"], sigma=out["sigma"], sigma_err=out["sigma_err"],
                             R_half=self.R_half, n_stars=out["n_stars"])


def _radius_from_sky(table, meta, distance, label) -> np.ndarray:
    """Projected radius (kpc) from sky positions, a centre and a distance (gnomonic)."""
    from astropy.coordinates import angular_separation

    ra, _ = _column(table, "ra", ("angle",), label)
    dec, _ = _column(table, "dec", ("angle",), label)
    ra0 = _meta_quantity(meta, "ra_centre", "angle", label)
    dec0 = _meta_quantity(meta, "dec_centre", "angle", label)
    missing = [k for k, v in (("ra_centre", ra0), ("dec_centre", dec0), ("distance", distance)) if v is None]
    if missing:
        raise ValueError(
            f"{label}: positions are given as 'ra', 'dec', so the metadata needs {missing} "
            f"(e.g. ra_centre: '15.0392 deg', distance: '86 kpc')"
        )
    sep = np.asarray(angular_separation(np.deg2rad(ra), np.deg2rad(dec), np.deg2rad(ra0), np.deg2rad(dec0)))
    if np.any(sep >= np.pi / 2):
        rows = np.flatnonzero(sep >= np.pi / 2)
        raise ValueError(f"{label}: stars at {_fmt_rows(rows)} are 90 deg or more from the centre")
    return distance * np.tan(sep)


#: Median R / R_half beyond which (or below whose inverse) the radii are taken to be in
#: the wrong unit: an error. Between WARN and ERROR: a warning (a survey may target the
#: outskirts, or the centre, only).
R_RATIO_ERROR = 100.0
R_RATIO_WARN = 10.0
#: Velocity errors this many times the velocities' spread are impossible (the spread
#: includes the errors): an error.
ERR_OVER_SPREAD_ERROR = 3.0
ERR_OVER_SPREAD_WARN = 1.5
#: A spread of line-of-sight velocities above this (km/s) is not a dwarf galaxy or star
#: cluster: a warning.
SPREAD_WARN_KMS = 1000.0


def check_scales(catalog: "StarCatalog", R_half=None) -> list:
    """Sanity checks that catch unit mistakes before a fit: radii against R_half,
    velocity errors against the velocities' spread.

    A mistake that cannot be right (radii labelled kpc but ~1000 R_half away, i.e. in
    pc; errors several times larger than the whole spread of velocities) raises
    ``ValueError`` naming the likely cause; a doubtful case (radii 10-100 R_half, errors
    comparable to the spread, a spread above 1000 km/s) gives a ``UserWarning``.

    Parameters
    ----------
    catalog : StarCatalog
    R_half : float or Quantity, optional
        Projected half-light radius, kpc (default: the catalogue's).

    Returns
    -------
    list of str
        The warnings given (empty when all is plausible).

    Example
    -------
    >>> cat = StarCatalog.from_arrays(R=[100.0, 200.0, 300.0], v=[1.0, 9.0, -4.0],
    ...                               v_err=[1.0, 1.0, 1.0], R_half=0.25)
    >>> check_scales(cat)
    Traceback (most recent call last):
    ...
    ValueError: the stars' median radius is 200 kpc, 800 times R_half = 0.25 kpc: are the radii in pc but labelled kpc? Fix the unit of column 'R' (or R_half)
    """
    import warnings

    said = []
    R_half = catalog.R_half if R_half is None else float(to_internal(R_half, "length"))
    if R_half is not None and len(catalog) > 0:
        positive = catalog.R[catalog.R > 0]
        if positive.size:
            median = float(np.median(positive))
            ratio = median / R_half
            where = f"the stars' median radius is {median:.4g} kpc"
            fix = "Fix the unit of column 'R' (or R_half)"
            if ratio > R_RATIO_ERROR:
                raise ValueError(f"{where}, {ratio:.3g} times R_half = {R_half:.4g} kpc: are the radii in pc "
                                 f"but labelled kpc? {fix}")
            if ratio < 1 / R_RATIO_ERROR:
                raise ValueError(f"{where}, 1/{1 / ratio:.3g} of R_half = {R_half:.4g} kpc: are the radii in "
                                 f"kpc but labelled pc (or R_half in pc labelled kpc)? {fix}")
            if ratio > R_RATIO_WARN or ratio < 1 / R_RATIO_WARN:
                said.append(f"{where}, {ratio:.3g} times R_half = {R_half:.4g} kpc: check the units of "
                            f"column 'R' and of R_half (fine for a survey of the outskirts or centre only)")
    n = len(catalog)
    if n >= 10:
        v = catalog.v
        spread = float(1.4826 * np.median(np.abs(v - np.median(v))))
        typical_err = float(np.median(catalog.v_err))
        if spread > 0 and typical_err > ERR_OVER_SPREAD_ERROR * spread:
            raise ValueError(
                f"the median velocity error ({typical_err:.4g} km/s) is {typical_err / spread:.3g} times the "
                f"spread of the velocities ({spread:.4g} km/s), which already includes the errors: are the "
                f"errors in another unit (m/s), or variances? Fix column 'v_err'"
            )
        if spread > 0 and typical_err > ERR_OVER_SPREAD_WARN * spread and n >= 30:
            said.append(f"the median velocity error ({typical_err:.4g} km/s) exceeds the spread of the velocities "
                        f"({spread:.4g} km/s): check the units of column 'v_err'")
        if spread > SPREAD_WARN_KMS:
            said.append(f"the velocities spread over {spread:.4g} km/s, far more than a dwarf galaxy's: are they "
                        f"in m/s but labelled km/s? Check the unit of column 'v'")
    for text in said:
        warnings.warn(text, UserWarning, stacklevel=2)
    return said
