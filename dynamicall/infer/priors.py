"""Model families by name, their parameters, and default priors.

Every numeric field of a profile or anisotropy model becomes one parameter of a fit. A
scale (a density, a length or a mass) is sampled as its base-10 logarithm, so its default
prior, uniform in that logarithm, is log-uniform; shapes (slopes, anisotropies) are
sampled as they are. Sampled names ("sites") are ``<role>.<name>`` with ``role`` one of
``tracer``, ``halo``, ``stars``, ``anisotropy``, e.g. ``halo.log10_rho_s``,
``halo.gamma``, ``anisotropy.log10_r_a``.

=================  =========================  ======================================
kind               sampled as                 default prior
=================  =========================  ======================================
density            log10 (Msun / kpc^3)       U(4, 11)
length             log10 (kpc)                U(-2, 1.5)
mass               log10 (Msun)               U(4, 11)
Zhao alpha, beta   alpha, beta                U(0.5, 3), U(3, 7)
Zhao gamma         gamma                      U(0, 2)
Dehnen gamma       gamma                      U(0, 2)
Einasto alpha      alpha                      U(0.05, 1)
CoreNFW n          n                          U(0, 1)
Sersic n           n                          U(0.5, 6) (a tracer's n: give it)
anisotropies       beta, beta_0, beta_inf     U(-1, 0.9)
Baes-van Hese eta  eta                        U(1, 3)
halo.log10_m_ref   log10 (Msun)               U(4, 11)
=================  =========================  ======================================

``halo.log10_m_ref`` replaces the halo's normalisation (``log10_rho_s`` or
``log10_m_tot``) under ``parameterization="enclosed_mass"`` (the default of ``fit``): log10
of the halo mass inside r_ref = 1.8 R_half. Uniform priors on either logarithm are the
same prior inside their boxes (the map between them is a shift by a function of the other
parameters, so its Jacobian is 1); they differ only at the box edges.

The tracer's parameters are fixed by default: its scale so that its projected half-light
radius equals ``R_half``, its normalisation to 1 (the Jeans solution does not depend on
it).

Example
-------
>>> family("baes-van-hese").__name__, family("NFW").__name__
('BaesVanHese', 'NFW')
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..registry import lookup
from ..units import INTERNAL_UNITS

#: Kinds of field sampled in log10, and their default ranges (log10 of internal units).
LOG_RANGES = {"density": (4.0, 11.0), "length": (-2.0, 1.5), "mass": (4.0, 11.0)}

#: Default uniform ranges of shape parameters, by (family, field).
SHAPE_RANGES = {
    ("Zhao", "alpha"): (0.5, 3.0),
    ("Zhao", "beta"): (3.0, 7.0),
    ("Zhao", "gamma"): (0.0, 2.0),
    ("Dehnen", "gamma"): (0.0, 2.0),
    ("Einasto", "alpha"): (0.05, 1.0),
    ("CoreNFW", "n"): (0.0, 1.0),
    ("Sersic", "n"): (0.5, 6.0),
    ("Constant", "beta"): (-1.0, 0.9),
    ("BaesVanHese", "beta_0"): (-1.0, 0.9),
    ("BaesVanHese", "beta_inf"): (-1.0, 0.9),
    ("BaesVanHese", "eta"): (1.0, 3.0),
}

_UNIT_TEXT = {"density": "Msun/kpc^3", "length": "kpc", "mass": "Msun", "dimensionless": ""}


def family(name):
    """The profile or anisotropy class called ``name`` (any case; dashes ignored): see
    :func:`dynamicall.registry.lookup`, the one table of names.

    Raises
    ------
    ValueError
        For an unknown name, listing the known ones.
    """
    return lookup(name)


def field_kind(cls, field: str) -> str:
    """Physical kind of a field of a model class ("density", "length", ...)."""
    for f in dataclasses.fields(cls):
        if f.name == field:
            return f.metadata.get("kind", "dimensionless")
    raise ValueError(f"{cls.__name__} has no parameter {field!r}")


def numeric_fields(cls) -> tuple[str, ...]:
    """The parameter (leaf) fields of a model class, in declaration order."""
    return tuple(cls._leaf_names)


def field_meta(cls, field: str) -> dict:
    for f in dataclasses.fields(cls):
        if f.name == field:
            return f.metadata
    raise ValueError(f"{cls.__name__} has no parameter {field!r}")


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One parameter of a fit: a field of a model component, fixed or with a prior.

    Attributes
    ----------
    site : str
        Sampled name, e.g. ``"halo.log10_r_s"``.
    role : str
        Component: "tracer", "halo", "stars" or "anisotropy".
    field : str
        Field of the model class, e.g. ``"r_s"``.
    log10 : bool
        Whether the site is log10 of the field.
    kind : str
        Physical kind of the field (units: :data:`dynamicall.units.INTERNAL_UNITS`).
    prior : numpyro Distribution or None
        The prior of the site; None when fixed.
    value : float or None
        The fixed value of the site (log10 for scales); None when free.
    default : bool
        Whether the prior (or value) is a default rather than the user's.
    reference_radius : float or None
        Set for a normalisation sampled as an enclosed mass (``halo.log10_m_ref``): the
        site is log10 of the component's mass inside this radius (kpc), and the field
        (``rho_s`` or ``m_tot``) follows exactly from it, because enclosed mass is linear
        in the normalisation (see :meth:`dynamicall.infer.spec.Component.build`).
    """

    site: str
    role: str
    field: str
    log10: bool
    kind: str
    prior: object = None
    value: float | None = None
    default: bool = True
    reference_radius: float | None = None

    @property
    def free(self) -> bool:
        return self.prior is not None

    @property
    def unit(self) -> str:
        """Unit of the site's value, for display (log10 sites: the log of the unit)."""
        unit = _UNIT_TEXT.get(self.kind, INTERNAL_UNITS.get(self.kind, ""))
        return f"log10 {unit}" if self.log10 and unit else unit

    def physical(self, x):
        """The field's value in internal units from the site's value ``x``."""
        return 10.0**x if self.log10 else x

    def describe(self) -> str:
        """Short text: the prior, or the fixed value."""
        if self.free:
            return describe_distribution(self.prior)
        return f"fixed at {self.value:.6g}"


def site_name(role: str, field: str, log10: bool) -> str:
    return f"{role}.log10_{field}" if log10 else f"{role}.{field}"


def uniform(lo: float, hi: float):
    import numpyro.distributions as dist

    return dist.Uniform(float(lo), float(hi))


def default_prior(cls, field: str, kind: str):
    """The default prior of a field (on its site), or None if there is none."""
    if kind in LOG_RANGES:
        return uniform(*LOG_RANGES[kind])
    rng = SHAPE_RANGES.get((cls.__name__, field))
    return None if rng is None else uniform(*rng)


def describe_distribution(d) -> str:
    """A compact text for a numpyro distribution, e.g. ``Uniform(4, 11)``."""
    name = type(d).__name__
    args = []
    for attr in getattr(d, "arg_constraints", {}):
        value = getattr(d, attr, None)
        if value is None:
            continue
        arr = np.asarray(value)
        if arr.ndim == 0:
            args.append(f"{float(arr):.4g}")
    if name == "TwoSidedTruncatedDistribution" or "Truncated" in name:
        lo, hi = support_bounds(d)
        base = getattr(d, "base_dist", None)
        inner = describe_distribution(base) if base is not None else name
        return f"{inner} truncated to [{lo:.4g}, {hi:.4g}]"
    return f"{name}({', '.join(args)})"


def support_bounds(d) -> tuple[float, float]:
    """Lower and upper bounds of a distribution's support (+-inf when unbounded)."""
    from numpyro.distributions import constraints

    s = d.support
    lo = getattr(s, "lower_bound", None)
    hi = getattr(s, "upper_bound", None)
    if s is constraints.real:
        return -np.inf, np.inf
    if s is constraints.positive:
        return 0.0, np.inf
    lo = -np.inf if lo is None else float(np.asarray(lo))
    hi = np.inf if hi is None else float(np.asarray(hi))
    return lo, hi


def is_distribution(x) -> bool:
    from numpyro.distributions import Distribution

    return isinstance(x, Distribution)


def parse_prior(site: str, value, kind: str, log10: bool):
    """Interpret a user prior for ``site``.

    Parameters
    ----------
    value : numpyro Distribution, (lo, hi) tuple, number or Quantity
        A distribution; a pair of bounds (uniform on the site); or a fixed value. A
        Quantity is a fixed physical value (converted, and log10-ed for scale sites).

    Returns
    -------
    (prior, fixed_value) with exactly one of them not None.
    """
    from ..units import is_quantity, to_internal

    if is_distribution(value):
        if tuple(value.batch_shape) or tuple(value.event_shape):
            raise ValueError(f"prior of {site} must be a scalar distribution; got shape {value.batch_shape}")
        return value, None
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"prior of {site}: give (lower, upper) bounds; got {value!r}")
        lo, hi = (float(v) for v in value)
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise ValueError(f"prior of {site}: need finite lower < upper; got {value!r}")
        return uniform(lo, hi), None
    if is_quantity(value):
        x = float(to_internal(value, kind))
        if log10:
            if x <= 0:
                raise ValueError(f"{site}: a scale must be > 0; got {value!r}")
            x = float(np.log10(x))
        return None, x
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"prior of {site}: expected a numpyro distribution, (lower, upper), or a number; got {value!r}"
        ) from None
    if not np.isfinite(x):
        raise ValueError(f"{site}: fixed value must be finite; got {value!r}")
    return None, x
