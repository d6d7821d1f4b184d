"""A model specification: tracer, mass model and anisotropy with priors, and the forward
model that turns them into dispersions.

:class:`ModelSpec` knows the parameters of a fit (free, with priors, or fixed), builds
the profile and anisotropy objects from sampled values (traceable: inside numpyro, jit,
grad), and, with an emulator as forward model, truncates the default priors to the
emulator's domain. It holds no data: :class:`dynamicall.infer.models.KinematicModel`
pairs it with a catalogue, :func:`dynamicall.infer.fisher.fisher_matrix` with a survey
design.

Example
-------
>>> spec = ModelSpec("plummer", "nfw", "constant", R_half=0.25)
>>> spec.sites
('halo.log10_rho_s', 'halo.log10_r_s', 'anisotropy.beta')
>>> tracer, mass, anisotropy = spec.build(spec.reference())
>>> round(float(tracer.r_s), 6)
0.25
"""

from __future__ import annotations

import dataclasses
import warnings

import jax.numpy as jnp
import numpy as np

from ..anisotropy import Anisotropy
from ..profiles import Profile
from ..units import to_internal
from .forward import resolve_forward
from .priors import (
    LOG_RANGES,
    Parameter,
    default_prior,
    describe_distribution,
    family,
    field_kind,
    is_distribution,
    numeric_fields,
    parse_prior,
    site_name,
    support_bounds,
    uniform,
)

ROLES = ("tracer", "halo", "stars", "anisotropy")
_NORMALISATIONS = ("m_tot", "rho_s")

#: Parameterisations of the halo's normalisation (see :class:`ModelSpec`).
PARAMETERIZATIONS = ("enclosed_mass", "native")
#: The reference radius of ``halo.log10_m_ref`` in units of the tracer's R_half: Jeans
#: models pin the mass best near 1.8 R_half (Campbell et al. 2017; cf. Wolf et al. 2010).
REFERENCE_RADIUS_IN_R_HALF = 1.8
#: Site of the halo normalisation sampled as log10 M_halo(< r_ref), Msun.
MASS_SITE = "halo.log10_m_ref"


@dataclasses.dataclass(frozen=True)
class Component:
    """One model object of the fit: its class and its parameters (in field order)."""

    role: str
    cls: type
    params: tuple
    static: tuple = ()  # (name, value) of static fields (a tabulated tracer's shape)

    def build(self, values: dict, shared: dict | None = None):
        """The model object from site values (free) and fixed values.

        ``shared`` supplies fields taken from another component (the stellar mass term
        shares the tracer's shape).
        """
        kwargs = {**dict(self.static), **(shared or {})}
        by_mass = []
        for p in self.params:
            x = values[p.site] if p.free else p.value
            if p.reference_radius is None:
                kwargs[p.field] = p.physical(x)
            else:
                by_mass.append((p, x))
                kwargs[p.field] = jnp.ones_like(jnp.asarray(x, dtype=jnp.result_type(float)))
        if not by_mass:
            return self.cls(**kwargs)
        # enclosed mass is linear in the normalisation: norm = M(<r_ref) / M(<r_ref; norm = 1)
        for p, x in by_mass:
            unit_mass = self.cls(**kwargs).mass(p.reference_radius)
            kwargs[p.field] = p.physical(x) / unit_mass
        return self.cls(**kwargs)

    def native_values(self, values: dict) -> dict:
        """Both parameterisations of this component's normalisation at site ``values``.

        Returns
        -------
        dict: for a component with a normalisation sampled as an enclosed mass, its native
        site (e.g. ``halo.log10_rho_s``) and its enclosed-mass site
        (``halo.log10_m_ref``), each log10 in internal units; empty otherwise.
        """
        out = {}
        for p in self.params:
            if p.reference_radius is None:
                continue
            obj = self.build(values)
            out[site_name(self.role, p.field, True)] = jnp.log10(getattr(obj, p.field))
            out[p.site] = values[p.site] if p.free else jnp.asarray(p.value)
        return out


class ModelSpec:
    """Tracer, mass model and anisotropy with priors, and a forward model.

    Parameters
    ----------
    tracer : str, class or Profile
        Tracer family ("plummer", "hernquist", "dehnen", "zhao", "einasto", ...) or a
        fixed profile. By default its parameters are fixed: the normalisation to 1 and the
        scale so that its projected half-light radius is ``R_half``.
    halo : str, class or Profile
        Dark-matter family ("zhao", "nfw", "core-nfw", "burkert", "einasto", "plummer",
        "hernquist", "dehnen"), or a fixed profile.
    anisotropy : str, class or Anisotropy
        "constant", "osipkov-merritt" or "baes-van-hese", or a fixed model.
    R_half : float or Quantity, optional
        Projected half-light radius of the tracer, kpc (needed unless ``tracer`` is a
        profile).
    priors : dict, optional
        Overrides by site name (see :attr:`sites`, :mod:`dynamicall.infer.priors`): a
        numpyro distribution; ``(lower, upper)`` for a uniform prior; or a number to fix
        the site. A scale can also be fixed by its field name with a Quantity, e.g.
        ``{"halo.r_s": 1 * u.kpc}``.
    stellar_mass : None, float, Quantity or distribution
        Adds the stars' own mass (tracer shape, total mass ``stars.log10_m_tot``) to the
        mass model: a fixed mass (Msun) or a prior on its log10. None: halo alone.
    forward : "exact", emulator name/folder/object, or JeansConfig
        The forward model (see :func:`dynamicall.infer.forward.resolve_forward`).
    parameterization : {"native", "enclosed_mass"}
        How the halo's normalisation is sampled. "native": its own field, ``log10_rho_s``
        (or ``log10_m_tot``), prior U(4, 11) by default. "enclosed_mass": the halo mass
        inside r_ref = 1.8 R_half, site ``halo.log10_m_ref`` [log10 Msun], prior U(4, 11)
        by default; the field follows exactly (enclosed mass is linear in it), and a
        uniform prior on either log is the same prior inside the box (the map is a shift
        by a function of the other parameters, Jacobian 1), so the two differ only at the
        box edges. Kinematics measure M(< r_ref) almost independently of the halo's shape,
        so this site removes the ridge that log10_rho_s forms with r_s and gamma: NUTS
        needs far fewer leapfrog steps (docs/fitting.md). ``fit`` and ``dynamicall fit``
        default to "enclosed_mass"; ModelSpec keeps "native" by default so that code
        written for its sites (truths, Fisher forecasts) keeps working.

    Raises
    ------
    ValueError
        Unknown names or sites, missing R_half, priors outside an emulator's domain.
    """

    def __init__(self, tracer="plummer", halo="zhao", anisotropy="baes-van-hese", *,
                 R_half=None, priors=None, stellar_mass=None, forward="exact",
                 parameterization="native"):
        if parameterization not in PARAMETERIZATIONS:
            raise ValueError(f"parameterization must be one of {PARAMETERIZATIONS}; got {parameterization!r}")
        self.parameterization = parameterization
        self.forward = resolve_forward(forward)
        user = dict(priors or {})
        used = set()

        def take(site, alias=None):
            for key in (site, alias):
                if key is not None and key in user:
                    used.add(key)
                    return key, user[key]
            return None, None

        # --- tracer
        if isinstance(tracer, Profile):
            tracer_cls, tracer_fixed = type(tracer), tracer
            if R_half is None:
                R_half = float(tracer.half_light_radius())
        else:
            tracer_cls, tracer_fixed = family(tracer), None
            if not issubclass(tracer_cls, Profile):
                raise ValueError(f"tracer must be a density profile family; got {tracer!r}")
        if R_half is None:
            raise ValueError(
                "R_half (projected half-light radius of the tracer, kpc) is needed to fix the "
                "tracer's scale: pass R_half=..., or give the catalogue an 'R_half' metadata entry"
            )
        self.R_half = float(to_internal(R_half, "length"))
        if not (np.isfinite(self.R_half) and self.R_half > 0):
            raise ValueError(f"R_half must be finite and > 0 (kpc); got {R_half!r}")

        components = []
        tracer_params = self._tracer_params(tracer_cls, tracer_fixed, take)
        static = () if tracer_fixed is None else tuple((n, getattr(tracer_fixed, n)) for n in tracer_cls._static_names)
        components.append(Component("tracer", tracer_cls, tracer_params, static))

        # --- halo
        halo_component = self._component("halo", halo, Profile, take)
        if parameterization == "enclosed_mass":
            halo_component = self._by_enclosed_mass(halo_component, take)
        components.append(halo_component)

        # --- stars (optional)
        if stellar_mass is not None:
            if "m_tot" not in numeric_fields(tracer_cls):
                raise ValueError(
                    f"stellar_mass needs a tracer with a total mass m_tot (Plummer, Hernquist, "
                    f"Dehnen); {tracer_cls.__name__} has none"
                )
            site = "stars.log10_m_tot"
            key, value = take(site, "stars.m_tot")
            if key is not None:
                prior, fixed = self._parse(site, key, value, "mass", True)
            elif is_distribution(stellar_mass):
                prior, fixed = stellar_mass, None
            else:
                prior, fixed = self._parse(site, "stars.m_tot", stellar_mass, "mass", True)
            components.append(Component("stars", tracer_cls, (
                Parameter(site, "stars", "m_tot", True, "mass", prior, fixed, default=False),), static))

        # --- anisotropy
        components.append(self._component("anisotropy", anisotropy, Anisotropy, take))

        unknown = sorted(set(user) - used)
        if unknown:
            sites = [p.site for c in components for p in c.params]
            raise ValueError(f"unknown prior names {unknown}; the parameters are {sites}")
        self.components = tuple(components)
        self.forward.check(*self.build(self.reference()), ("los",))
        self._truncate_to_forward()

    # ------------------------------------------------------------------ building
    def _tracer_params(self, cls, fixed_obj, take):
        fields = numeric_fields(cls)
        scale = getattr(cls, "scale_field", "r_s")  # fixed from R_half (Sersic: R_e; King: none)
        params = []
        shape_values = {}
        for field in fields:
            kind = field_kind(cls, field)
            log10 = kind in LOG_RANGES
            site = site_name("tracer", field, log10)
            key, value = take(site, f"tracer.{field}" if log10 else None)
            prior = fixed = None
            if key is not None:
                prior, fixed = self._parse(site, key, value, kind, log10)
            elif fixed_obj is not None:
                x = float(getattr(fixed_obj, field))
                fixed = float(np.log10(x)) if log10 else x
            elif field in _NORMALISATIONS:
                fixed = 0.0
            elif field == scale:
                fixed = None  # set below from R_half
            else:
                raise ValueError(
                    f"tracer {cls.__name__} needs a value for its shape parameter '{field}': "
                    f"priors={{'tracer.{field}': ...}}"
                )
            if field != scale and not log10:
                shape_values[field] = fixed if fixed is not None else _centre(prior)
            params.append(Parameter(site, "tracer", field, log10, kind, prior, fixed, default=key is None))
        for i, p in enumerate(params):
            if p.field == scale and p.value is None and p.prior is None:
                unit = {f: (1.0 if f in _NORMALISATIONS or f == scale else shape_values[f]) for f in fields}
                ratio = float(cls(**unit).half_light_radius())
                params[i] = dataclasses.replace(p, value=float(np.log10(self.R_half / ratio)))
        return tuple(params)

    def _component(self, role, spec, base, take):
        if isinstance(spec, base):
            cls, fixed_obj = type(spec), spec
        else:
            cls, fixed_obj = family(spec), None
            if not issubclass(cls, base):
                kind = "a density profile" if base is Profile else "an anisotropy model"
                raise ValueError(f"{role} must be {kind} family; got {spec!r}")
        params = []
        for field in numeric_fields(cls):
            kind = field_kind(cls, field)
            log10 = kind in LOG_RANGES
            site = site_name(role, field, log10)
            key, value = take(site, f"{role}.{field}" if log10 else None)
            if key is not None:
                prior, fixed = self._parse(site, key, value, kind, log10)
            elif fixed_obj is not None:
                x = float(getattr(fixed_obj, field))
                prior, fixed = None, (float(np.log10(x)) if log10 else x)
            else:
                prior, fixed = default_prior(cls, field, kind), None
                if prior is None:
                    raise ValueError(
                        f"{role} {cls.__name__}.{field} has no default prior; give one: "
                        f"priors={{'{site}': (lower, upper)}} or a fixed value"
                    )
            params.append(Parameter(site, role, field, log10, kind, prior, fixed, default=key is None))
        return Component(role, cls, tuple(params))

    @property
    def reference_radius(self) -> float:
        """r_ref = 1.8 R_half (kpc): the radius of ``halo.log10_m_ref``."""
        return REFERENCE_RADIUS_IN_R_HALF * self.R_half

    def _by_enclosed_mass(self, component, take):
        """Replace the free normalisation of ``component`` by ``halo.log10_m_ref``."""
        norm = [p for p in component.params if p.field in _NORMALISATIONS]
        if not norm:
            return component
        p = norm[0]
        key, value = take(MASS_SITE)
        if not p.free and key is None:
            return component  # fixed halo or fixed normalisation: nothing to sample
        if not p.default:
            raise ValueError(
                f"a prior on {p.site} belongs to parameterization='native'; with "
                f"parameterization='enclosed_mass' give the prior of {MASS_SITE} (log10 of the halo "
                f"mass inside {REFERENCE_RADIUS_IN_R_HALF} R_half, Msun)"
            )
        if key is not None:
            prior, fixed = parse_prior(MASS_SITE, value, "mass", True)
        else:
            prior, fixed = uniform(*LOG_RANGES["mass"]), None
        new = Parameter(MASS_SITE, p.role, p.field, True, "mass", prior, fixed, default=key is None,
                        reference_radius=self.reference_radius)
        params = tuple(new if q is p else q for q in component.params)
        return dataclasses.replace(component, params=params)

    def native_values(self, values: dict) -> dict:
        """The halo normalisation in both parameterisations at site ``values`` (traceable):
        ``{"halo.log10_rho_s" (or log10_m_tot): ..., "halo.log10_m_ref": ...}``."""
        halo = self.component("halo")
        out = halo.native_values(values)
        if out:
            return out
        norm = [p for p in halo.params if p.field in _NORMALISATIONS]
        if not norm:
            return {}
        obj = halo.build(values)
        return {site_name("halo", norm[0].field, True): jnp.log10(getattr(obj, norm[0].field)),
                MASS_SITE: jnp.log10(obj.mass(self.reference_radius))}

    @staticmethod
    def _parse(site, key, value, kind, log10):
        if key != site:  # physical alias "halo.r_s": fixed values only
            if hasattr(value, "sample") or isinstance(value, (tuple, list)):
                raise ValueError(f"give the prior of a scale on its log10 site '{site}', not '{key}'")
            x = float(to_internal(value, kind))
            if not (np.isfinite(x) and x > 0):
                raise ValueError(f"{key} must be finite and > 0; got {value!r}")
            return None, float(np.log10(x))
        return parse_prior(site, value, kind, log10)

    # ------------------------------------------------------------------ truncation
    def _truncate_to_forward(self):
        """With an emulator: truncate default priors to its domain; check user priors."""
        if not getattr(self.forward, "is_emulator", False):
            self.domain = {}
            return
        bounds = emulator_site_bounds(self)
        self.domain = bounds
        new = []
        for comp in self.components:
            params = []
            for p in comp.params:
                if p.free and p.site in bounds:
                    dlo, dhi = bounds[p.site]
                    lo, hi = support_bounds(p.prior)
                    if p.default:
                        nlo, nhi = max(lo, dlo), min(hi, dhi)
                        if not nlo < nhi:
                            raise ValueError(
                                f"the default prior of {p.site} [{lo:g}, {hi:g}] does not overlap the "
                                f"emulator domain [{dlo:.4g}, {dhi:.4g}]"
                            )
                        p = dataclasses.replace(p, prior=uniform(nlo, nhi))
                    else:
                        tol = 1e-9 * max(1.0, abs(dlo), abs(dhi))
                        if lo < dlo - tol or hi > dhi + tol:
                            raise ValueError(
                                f"the prior of {p.site}, {describe_distribution(p.prior)}, reaches outside "
                                f"the domain of emulator '{self.forward.name}', [{dlo:.4g}, {dhi:.4g}]: "
                                f"narrow it, e.g. priors={{'{p.site}': ({dlo:.4g}, {dhi:.4g})}}, or use "
                                f"forward='exact'"
                            )
                params.append(p)
            new.append(dataclasses.replace(comp, params=tuple(params)))
        self.components = tuple(new)

    # ------------------------------------------------------------------ access
    @property
    def parameters(self) -> tuple:
        """Every parameter (free and fixed), component by component."""
        return tuple(p for c in self.components for p in c.params)

    @property
    def free(self) -> tuple:
        """The free parameters (with priors)."""
        return tuple(p for p in self.parameters if p.free)

    @property
    def sites(self) -> tuple:
        """Names of the free parameters, in sampling order."""
        return tuple(p.site for p in self.free)

    def parameter(self, site: str) -> Parameter:
        for p in self.parameters:
            if p.site == site:
                return p
        raise KeyError(f"no parameter {site!r}; the parameters are {[p.site for p in self.parameters]}")

    def component(self, role: str) -> Component | None:
        for c in self.components:
            if c.role == role:
                return c
        return None

    def reference(self) -> dict:
        """A point inside every prior: the centre of bounded priors, else the mean."""
        return {p.site: _centre(p.prior) for p in self.free}

    def sample(self) -> dict:
        """numpyro ``sample`` statements for the free parameters; returns their values."""
        import numpyro

        return {p.site: numpyro.sample(p.site, p.prior) for p in self.free}

    def build(self, values: dict):
        """``(tracer, mass, anisotropy)`` from values of the free sites (traceable).

        The mass model is the halo, plus the stars when a stellar mass is modelled.
        """
        tracer_c = self.component("tracer")
        tracer = tracer_c.build(values)
        halo = self.component("halo").build(values)
        stars_c = self.component("stars")
        if stars_c is not None:
            shared = {f: getattr(tracer, f) for f in numeric_fields(tracer_c.cls) if f != "m_tot"}
            mass = halo + stars_c.build(values, shared)
        else:
            mass = halo
        anisotropy = self.component("anisotropy").build(values)
        return tracer, mass, anisotropy

    def halo(self, values: dict):
        """The dark-matter halo alone."""
        return self.component("halo").build(values)

    def describe(self) -> dict:
        """JSON-ready description: families, priors, fixed values, forward model."""
        return {
            "components": {c.role: c.cls.__name__ for c in self.components},
            "parameters": {p.site: {"free": p.free, "prior": p.describe(), "unit": p.unit,
                                    "default": p.default} for p in self.parameters},
            "R_half_kpc": self.R_half,
            "parameterization": self.parameterization,
            "reference_radius_kpc": self.reference_radius,
            "forward": self.forward.describe(),
            "emulator_domain": {k: list(v) for k, v in self.domain.items()},
        }

    def __repr__(self):
        names = ", ".join(f"{c.role}={c.cls.__name__}" for c in self.components)
        return f"ModelSpec({names}, forward={self.forward.name!r}, free={list(self.sites)})"


def _centre(prior) -> float:
    """Centre of a bounded prior, else its mean."""
    lo, hi = support_bounds(prior)
    if np.isfinite(lo) and np.isfinite(hi):
        return 0.5 * (lo + hi)
    return float(np.asarray(prior.mean))


def emulator_site_bounds(spec: ModelSpec) -> dict:
    """Bounds on free sites implied by an emulator's domain.

    Each emulator input (``emu.features``) that is an affine function of a single free
    site (checked numerically: a Jacobian at the reference point and a second point)
    bounds that site; inputs that depend on no free site are checked against the domain;
    inputs that mix several sites cannot be turned into prior bounds and are left to the
    domain penalty (with a warning).

    Returns
    -------
    dict site -> (lower, upper)
    """
    import jax
    import jax.numpy as jnp

    emu = spec.forward.emulator
    names = list(emu.input_names)
    domain = dict(emu.bounds)
    free = spec.free
    sites = [p.site for p in free]
    x0 = np.array([_centre(p.prior) for p in free], dtype=float)

    def feats(x):
        return jnp.asarray(emu.features(*spec.build(dict(zip(sites, x)))), dtype=float).reshape(-1)

    f0 = np.asarray(feats(x0))
    if f0.size != len(names):
        raise ValueError(f"emulator features have {f0.size} entries but input_names has {len(names)}")
    if not sites:
        J = np.zeros((f0.size, 0))
        affine = np.ones(f0.size, bool)
    else:
        J = np.asarray(jax.jacfwd(feats)(x0))
        widths = np.array([min(support_bounds(p.prior)[1] - support_bounds(p.prior)[0], 1.0)
                           if np.isfinite(support_bounds(p.prior)[1] - support_bounds(p.prior)[0]) else 1.0
                           for p in free])
        delta = 0.3 * widths * np.linspace(-1.0, 1.0, len(sites) + 2)[1:-1]
        f1 = np.asarray(feats(x0 + delta))
        affine = np.abs(f1 - f0 - J @ delta) <= 1e-5 * (1.0 + np.abs(f1))
    bounds: dict = {}
    for k, name in enumerate(names):
        lo, hi = (float(b) for b in domain[name])
        deps = np.flatnonzero(np.abs(J[k]) > 1e-12)
        if deps.size == 0:
            tol = 1e-6 * max(1.0, abs(lo), abs(hi))
            if not (lo - tol <= f0[k] <= hi + tol):
                raise ValueError(
                    f"emulator '{spec.forward.name}' input {name} = {f0[k]:.4g} is fixed outside its "
                    f"domain [{lo:.4g}, {hi:.4g}]; change the fixed parameters or use forward='exact'"
                )
            continue
        if deps.size == 1 and affine[k]:
            j = int(deps[0])
            a = J[k, j]
            b = f0[k] - a * x0[j]
            s_lo, s_hi = sorted(((lo - b) / a, (hi - b) / a))
            old = bounds.get(sites[j], (-np.inf, np.inf))
            bounds[sites[j]] = (max(old[0], s_lo), min(old[1], s_hi))
            continue
        warnings.warn(
            f"emulator input {name} depends on {[sites[j] for j in deps]} "
            f"{'non-linearly' if not affine[k] else 'jointly'}: its domain is enforced by the "
            f"emulator's penalty only, not by prior truncation",
            stacklevel=3,
        )
    return {s: (float(a), float(b)) for s, (a, b) in bounds.items()}
