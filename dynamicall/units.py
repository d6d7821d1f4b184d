"""Internal unit system and conversion of astropy Quantities at the public boundary.

Everything inside Dynamicall works in one system of units:

==========  ===================  =========================================
quantity    unit                 note
==========  ===================  =========================================
length      kpc                  3D radius ``r`` and projected radius ``R``
velocity    km/s                 dispersions, circular velocity
mass        Msun                 ``m_tot``, enclosed mass
density     Msun / kpc^3         ``rho_s``
surface     Msun / kpc^2         surface density
potential   (km/s)^2             gravitational potential
G           4.300917270036279e-6 kpc (km/s)^2 / Msun (CODATA 2018, IAU)
==========  ===================  =========================================

Plain numbers are taken to be in these units already. Quantities (anything with a
``unit`` attribute, i.e. :class:`astropy.units.Quantity`) are converted; astropy is
imported lazily, only when a Quantity is actually seen, so numerical code never
depends on it.

Example
-------
>>> import astropy.units as u
>>> from dynamicall.units import to_internal
>>> float(to_internal(300 * u.pc, "length"))
0.3
"""

from __future__ import annotations

import numpy as np

#: Newton's constant in kpc (km/s)^2 / Msun (astropy's G and solar mass).
G = 4.300917270036279e-06

#: km/s per (kpc * mas/yr): v [km/s] = KMS_PER_KPC_MASYR * d [kpc] * mu [mas/yr].
KMS_PER_KPC_MASYR = 4.740470463533348

#: The internal unit of each physical kind, as an astropy unit string.
INTERNAL_UNITS = {
    "length": "kpc",
    "mass": "Msun",
    "velocity": "km / s",
    "density": "Msun / kpc3",
    "surface_density": "Msun / kpc2",
    "potential": "km2 / s2",
    "angle": "deg",
    "proper_motion": "mas / yr",
    "dimensionless": "",
}


def is_quantity(value) -> bool:
    """True if ``value`` carries astropy units."""
    return hasattr(value, "unit") and hasattr(value, "to_value")


def to_internal(value, kind: str):
    """Convert ``value`` to the internal unit of ``kind``.

    Parameters
    ----------
    value : float, array or astropy.units.Quantity
        Plain numbers are returned unchanged (already in internal units).
    kind : str
        One of the keys of :data:`INTERNAL_UNITS` ("length", "mass", ...).

    Returns
    -------
    float or array
        The value in the internal unit, without units.

    Raises
    ------
    ValueError
        If ``kind`` is unknown or the Quantity's unit cannot be converted.

    Example
    -------
    >>> import astropy.units as u
    >>> float(to_internal(2e3 * u.pc, "length"))
    2.0
    """
    if kind not in INTERNAL_UNITS:
        raise ValueError(f"unknown unit kind {kind!r}; allowed: {sorted(INTERNAL_UNITS)}")
    if not is_quantity(value):
        return value
    import astropy.units as u

    target = u.Unit(INTERNAL_UNITS[kind])
    try:
        out = value.to_value(target)
    except u.UnitConversionError as err:
        raise ValueError(
            f"cannot convert {value.unit} to {kind} ({target or 'dimensionless'}): {err}"
        ) from None
    return out if np.ndim(out) else float(out)


def to_kpc(value):
    """Length in kpc (plain numbers pass through). See :func:`to_internal`."""
    return to_internal(value, "length")


def to_msun(value):
    """Mass in Msun (plain numbers pass through). See :func:`to_internal`."""
    return to_internal(value, "mass")


def to_kms(value):
    """Velocity in km/s (plain numbers pass through). See :func:`to_internal`."""
    return to_internal(value, "velocity")


def kms_to_mas_per_yr(velocity, distance):
    """Convert a plane-of-sky velocity to a proper motion.

    Parameters
    ----------
    velocity : float, array or Quantity
        Tangential velocity or dispersion, km/s.
    distance : float or Quantity
        Heliocentric distance, kpc.

    Returns
    -------
    float or array
        Proper motion (or proper-motion dispersion) in mas/yr.

    Example
    -------
    >>> round(float(kms_to_mas_per_yr(10.0, 100.0)), 6)
    0.021095
    """
    return to_kms(velocity) / (KMS_PER_KPC_MASYR * to_kpc(distance))


def mas_per_yr_to_kms(proper_motion, distance):
    """Inverse of :func:`kms_to_mas_per_yr`: mas/yr at ``distance`` (kpc) to km/s.

    Example
    -------
    >>> round(float(mas_per_yr_to_kms(kms_to_mas_per_yr(10.0, 80.0), 80.0)), 12)
    10.0
    """
    pm = to_internal(proper_motion, "proper_motion")
    return pm * KMS_PER_KPC_MASYR * to_kpc(distance)


def angle_to_kpc(angle, distance):
    """Projected radius from an angular separation and a distance (small angles exact).

    Parameters
    ----------
    angle : float or Quantity
        Angular radius; plain numbers are degrees.
    distance : float or Quantity
        Distance, kpc.

    Returns
    -------
    float or array
        ``distance * tan(angle)`` in kpc.

    Example
    -------
    >>> import astropy.units as u
    >>> round(float(angle_to_kpc(1 * u.arcmin, 100 * u.kpc)), 8)
    0.02908882
    """
    theta = np.deg2rad(to_internal(angle, "angle"))
    return to_kpc(distance) * np.tan(theta)


_NUMBER = r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?"


def parse_quantity(text, kind: str | None = None):
    """A number or quantity written as text (a command-line value, a metadata string).

    Plain numbers (``"0.25"``) are taken to be in internal units already; text with a
    unit (``"250 pc"``, ``"0.25kpc"``) is read by astropy. This is the one parser of
    quantities the commands and the catalogue reader use.

    Parameters
    ----------
    text : str, number or Quantity
        The value.
    kind : str, optional
        A key of :data:`INTERNAL_UNITS`: the result is then a float in that internal
        unit. Without it, a number stays a float and text with a unit becomes an astropy
        Quantity (to be converted where its kind is known).

    Raises
    ------
    ValueError
        Text that is neither a number nor a quantity, or a unit of the wrong kind; the
        message names the text and shows an example.

    Example
    -------
    >>> parse_quantity("250 pc", "length")
    0.25
    >>> parse_quantity("0.3")
    0.3
    >>> parse_quantity("2 km/s").unit
    Unit("km / s")
    """
    import re

    if is_quantity(text):
        return float(to_internal(text, kind)) if kind else text
    if isinstance(text, (int, float, np.number)):
        return float(text)
    text = str(text).strip()
    example = {"length": "'250 pc'", "velocity": "'2 km/s'", "mass": "'1e6 solMass'",
               "angle": "'0.5 deg'"}.get(kind, "'250 pc' or '2 km/s'")
    if re.fullmatch(_NUMBER, text):
        return float(text)
    import astropy.units as u

    try:
        q = u.Quantity(text)
    except (TypeError, ValueError):
        what = f"a {kind}" if kind else "a number or a quantity"
        raise ValueError(f"cannot read {text!r} as {what}; write e.g. {example}") from None
    if kind is None:
        return q
    try:
        return float(to_internal(q, kind))
    except ValueError:
        raise ValueError(
            f"{text!r} is not a {kind} (its unit is '{q.unit}'); write e.g. {example}"
        ) from None
