r"""Hierarchical (population) models: many galaxies fitted at once, with hyperparameters.

:class:`PopulationModel` is one numpyro model over N star catalogues. Every galaxy keeps
its own tracer (a Plummer of its catalogue's ``R_half`` by default), systemic velocity,
anisotropy and halo, exactly as :func:`dynamicall.infer.fit` would fit it alone
(``parameterization="enclosed_mass"``: the halo normalisation is ``halo.log10_m_ref``,
log10 of the halo mass inside 1.8 R_half). Chosen halo sites (default ``halo.gamma``,
``halo.log10_m_ref``, ``halo.log10_r_s``) are *pooled*: drawn from a population
distribution with hyperparameters, each non-centred or centred (``centred``; by default
``halo.log10_m_ref`` centred, the others non-centred).

The model
---------
For a pooled site :math:`\theta` and galaxy :math:`g` with property :math:`x_g` (optional
trend, e.g. log10 stellar mass; :math:`x_{ref}` the mean of the :math:`x_g`):

.. math::

    \mu_g = \mu + s\,(x_g - x_{ref}), \qquad
    \theta_g \sim N(\mu_g, \tau^2) \text{ truncated to } [a_g, b_g],

where :math:`[a_g, b_g]` are the bounds of the single-galaxy prior of that site (with an
emulator: already truncated to the emulator's domain, in units of the galaxy's R_half, by
:class:`~dynamicall.infer.spec.ModelSpec`). Non-centred (the default but for
:data:`CENTRED_DEFAULT`): the sampler draws :math:`z_g \sim N(0, 1)` and

.. math::

    \theta_g = \mu_g + \tau\,\Phi^{-1}\!\big(\Phi(\alpha_g) + \Phi(z_g)\,
    [\Phi(\beta_g) - \Phi(\alpha_g)]\big), \quad \alpha_g = (a_g - \mu_g)/\tau,\
    \beta_g = (b_g - \mu_g)/\tau,

the inverse-CDF map of the truncated normal (so :math:`\theta_g` has exactly that
distribution, stays inside the bounds, and reduces to :math:`\mu_g + \tau z_g` when the
bounds are far). Centred (the sites named in ``centred``): the sampler draws
:math:`\theta_g` itself, with the density of that truncated normal
(:class:`PopulationTruncatedNormal`, normaliser :math:`\ln[\Phi(\beta_g) - \Phi(\alpha_g)]`
included, since it depends on the hyperparameters). The two are one posterior (a change of
variables); they differ in the geometry NUTS sees. Non-centred suits a site the stars
barely constrain (gamma, r_s: theta_g follows the hyperparameters, z_g stays N(0, 1)-like);
centred suits a site each galaxy measures far better than the scatter (log10 M(<1.8
R_half), ~0.05 dex against ~0.3 dex: non-centred, z_g = (theta_g - mu)/tau is pinned to a
curved ridge that moves with tau, and on the recovery benchmark's population seed 1004
the scatter's r_hat was 1.31 with 118 divergences, against 1.00 and 1 centred).
Hyperpriors (weakly informative):

* mean :math:`\mu` ~ U(min_g a_g, max_g b_g) (the single-galaxy prior box);
* scatter :math:`\tau` ~ HalfNormal(``SCATTER_SCALE[site]``): 0.5 for ``halo.gamma``,
  1.0 dex for ``halo.log10_m_ref``, 0.5 dex for ``halo.log10_r_s``;
* slope :math:`s` ~ N(0, 1) per unit of the property (only with a trend).

Unpooled sites keep their single-galaxy priors. The likelihood is the product of the
galaxies' Gaussian likelihoods (:func:`dynamicall.infer.likelihoods.gaussian_los`), and
with an emulator each galaxy's domain penalty is added, as in
:class:`~dynamicall.infer.models.KinematicModel`.

Batching
--------
The forward model runs once for all galaxies (``vmap``): every galaxy is evaluated in
units of its own R_half (lengths / R_half, masses as they are, dispersions x sqrt(R_half)),
where all tracers are the same concrete profile. The emulator's lean path
(:meth:`dynamicall.emulate.Emulator.predictor`) gives ln sigma on its grid, and a
per-galaxy interpolation matrix (stacked, stars padded to the largest catalogue with a
mask) takes it to the stars; the exact engine runs on one log grid in R / R_half spanning
every galaxy's stars and is interpolated with :func:`dynamicall.jeans.interp_loglog`.

Sites
-----
The sampler sees one numpyro site per parameter (:meth:`PopulationModel.priors`):
``pop:<site>.mean``, ``pop:<site>.scatter`` (and ``pop:<site>.slope``), the
hyperparameters (scalars); ``galaxy:<site>:z``, the standard-normal variables of a
non-centred pooled site, and ``galaxy:<site>``, a centred pooled or an unpooled site, all
vectors of shape ``(n_galaxies,)``
(a vector site compiles once, where one scalar site per galaxy made the NUTS program, and
its compilation time, grow with the number of galaxies). Draws are returned
(:meth:`PopulationModel.split_samples`) and written under per-galaxy names
(:attr:`PopulationModel.sites`): ``<galaxy>:<site>:z`` and ``<galaxy>:<site>``
(e.g. ``draco:v_sys``). :meth:`PopulationModel.galaxy_values` turns draws (vector or
named) into every galaxy's physical values.

Example
-------
>>> from dynamicall.data import StarCatalog
>>> cats = [StarCatalog.from_arrays(R=[0.05, 0.2, 0.6] * 8, v=[1.0, -2.0, 3.0] * 8,
...                                 v_err=[2.0] * 24, R_half=rh) for rh in (0.2, 0.4)]
>>> model = PopulationModel(cats, halo="nfw", anisotropy="constant",
...                         pool=("halo.log10_m_ref", "halo.log10_r_s"))
>>> model.labels, model.hyper_sites
(('galaxy0', 'galaxy1'), ('pop:halo.log10_m_ref.mean', 'pop:halo.log10_m_ref.scatter', 'pop:halo.log10_r_s.mean', 'pop:halo.log10_r_s.scatter'))
"""

from __future__ import annotations

import functools
import os
import re
import types

import jax
import jax.numpy as jnp
import numpy as np

from . import likelihoods as lk
from .spec import MASS_SITE, ModelSpec

#: Sites pooled by default.
POOL_DEFAULT = ("halo.gamma", MASS_SITE, "halo.log10_r_s")
#: Pooled sites sampled *centred* by default (when pooled): the halo mass inside
#: 1.8 R_half, which the stars of one galaxy measure far better than the population
#: scatter (see docs/population.md, part (c), for the measurement behind this default).
CENTRED_DEFAULT = (MASS_SITE,)
#: Scale of the half-normal hyperprior on each pooled site's scatter (default 0.5).
SCATTER_SCALE = {"halo.gamma": 0.5, MASS_SITE: 1.0, "halo.log10_r_s": 0.5}
#: Width of the normal hyperprior on a trend's slope (per unit of the property).
SLOPE_SCALE = 1.0
#: Prefix of the hyperparameter sites.
HYPER = "pop"
#: Prefix of the per-galaxy vector sites (shape (n_galaxies,)) that the sampler sees.
GALAXY = "galaxy"


def stack_distributions(dists, where: str = "site"):
    """One numpyro distribution of batch shape (n,) from n scalar distributions of one
    family (e.g. ``Uniform(low_i, high_i)`` -> ``Uniform(low, high)``, vectors).

    Raises
    ------
    ValueError
        Distributions of different families (or one without parameters to stack).

    Example
    -------
    >>> import numpyro.distributions as dist
    >>> d = stack_distributions([dist.Uniform(0.0, 1.0), dist.Uniform(1.0, 3.0)])
    >>> d.batch_shape, [float(x) for x in d.high]
    ((2,), [1.0, 3.0])
    """
    first = dists[0]
    kind = type(first)
    names = [k for k in getattr(first, "arg_constraints", {}) if getattr(first, k, None) is not None]
    if any(type(d) is not kind for d in dists) or not names or first.batch_shape != () or first.event_shape != ():
        raise ValueError(f"{where}: the galaxies' priors must be scalar distributions of one family to be "
                         f"sampled as one vector; got {[type(d).__name__ for d in dists]}")
    # numpy (concrete) parameters: the distribution may be built inside a trace
    params = {k: np.array([np.asarray(getattr(d, k), dtype=float) for d in dists]) for k in names}
    return kind(**params)


def _normal_cdf(x):
    return jax.scipy.special.ndtr(x)


def truncated_normal_from_z(z, mean, scatter, lower, upper):
    r"""The non-centred truncated normal: the value of N(mean, scatter^2) truncated to
    [lower, upper] whose CDF equals Phi(z) (inverse-CDF map; traceable, elementwise).

    Parameters
    ----------
    z : array
        Standard-normal variables.
    mean, scatter : array
        Location and scale (scatter > 0).
    lower, upper : array
        Bounds (may be infinite).

    Returns
    -------
    array: inside [lower, upper]; ``mean + scatter * z`` when the bounds are far.

    Example
    -------
    >>> float(truncated_normal_from_z(0.5, 1.0, 0.1, -jnp.inf, jnp.inf))
    1.05
    """
    dtype = jnp.result_type(z, mean, scatter, float)
    tiny = jnp.finfo(dtype).tiny
    scatter = jnp.maximum(scatter, 1e-12)
    a = (lower - mean) / scatter
    b = (upper - mean) / scatter
    # Phi(a) + Phi(z)(Phi(b) - Phi(a)), or the same from the other tail (mirror identity
    # Phi(x) = 1 - Phi(-x)) when the interval lies in the upper tail, where the first
    # form loses precision; both are the same function of z.
    upper_tail = (a + b) > 0
    p_low = _normal_cdf(a) + _normal_cdf(z) * (_normal_cdf(b) - _normal_cdf(a))
    p_high = _normal_cdf(-b) + _normal_cdf(-z) * (_normal_cdf(-a) - _normal_cdf(-b))
    x_low = jax.scipy.special.ndtri(jnp.clip(p_low, tiny, 1.0 - jnp.finfo(dtype).eps))
    x_high = -jax.scipy.special.ndtri(jnp.clip(p_high, tiny, 1.0 - jnp.finfo(dtype).eps))
    x = jnp.where(upper_tail, x_high, x_low)
    return jnp.clip(mean + scatter * x, lower, upper)


def truncated_normal_log_prob(x, mean, scatter, lower, upper):
    r"""ln of the density at ``x`` of N(mean, scatter^2) truncated to [lower, upper]
    (traceable, elementwise; the normaliser ln[Phi(beta) - Phi(alpha)] computed from the
    tail where it keeps its precision).

    Example
    -------
    >>> round(float(truncated_normal_log_prob(0.0, 0.0, 1.0, 0.0, jnp.inf)), 6)  # 2 N(0 | 0, 1)
    -0.225791
    """
    from jax.scipy.special import log_ndtr

    scatter = jnp.maximum(scatter, 1e-12)
    a = (lower - mean) / scatter
    b = (upper - mean) / scatter
    u = (x - mean) / scatter
    # ln(Phi(b) - Phi(a)) = ln Phi(b) + ln(1 - exp(ln Phi(a) - ln Phi(b))); mirrored
    # (Phi(x) = 1 - Phi(-x)) when the interval lies in the upper tail
    upper_tail = (a + b) > 0
    hi = jnp.where(upper_tail, -a, b)
    lo = jnp.where(upper_tail, -b, a)
    log_hi, log_lo = log_ndtr(hi), log_ndtr(lo)
    d = log_lo - log_hi  # <= 0; ln(1 - e^d) from expm1 near 0, log1p elsewhere
    log_z = log_hi + jnp.where(d > -0.6931, jnp.log(-jnp.expm1(jnp.minimum(d, -1e-300))),
                               jnp.log1p(-jnp.exp(jnp.minimum(d, -0.6931))))
    return -0.5 * u ** 2 - 0.5 * jnp.log(2 * jnp.pi) - jnp.log(scatter) - log_z


@functools.lru_cache(maxsize=None)
def _population_truncated_normal():
    import numpyro.distributions as dist
    from numpyro.distributions import constraints
    from numpyro.distributions.util import promote_shapes

    class PopulationTruncatedNormal(dist.Distribution):
        """N(loc, scale^2) truncated to [low, high] (finite bounds), elementwise: drawn
        by :func:`truncated_normal_from_z`, density :func:`truncated_normal_log_prob`
        (normaliser from the precise tail). The density of a centred pooled site.

        Example
        -------
        >>> d = PopulationTruncatedNormal(0.0, 1.0, 0.0, 2.0)
        >>> round(float(d.log_prob(0.5)), 4)
        -0.3042
        """

        arg_constraints = {"loc": constraints.real, "scale": constraints.positive,
                           "low": constraints.real, "high": constraints.real}
        reparametrized_params = ["loc", "scale"]

        def __init__(self, loc, scale, low, high, *, validate_args=None):
            self.loc, self.scale, self.low, self.high = promote_shapes(loc, scale, low, high)
            batch_shape = jax.lax.broadcast_shapes(*(jnp.shape(x) for x in (loc, scale, low, high)))
            super().__init__(batch_shape=batch_shape, validate_args=validate_args)

        @constraints.dependent_property(is_discrete=False, event_dim=0)
        def support(self):
            return constraints.interval(self.low, self.high)

        def sample(self, key, sample_shape=()):
            z = jax.random.normal(key, tuple(sample_shape) + tuple(self.batch_shape))
            return truncated_normal_from_z(z, self.loc, self.scale, self.low, self.high)

        def log_prob(self, value):
            return truncated_normal_log_prob(value, self.loc, self.scale, self.low, self.high)

    return PopulationTruncatedNormal


def __getattr__(name):  # numpyro is imported when the class is first asked for
    if name == "PopulationTruncatedNormal":
        return _population_truncated_normal()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def parse_centred(centred, pool) -> tuple:
    """The pooled sites to sample centred: ``None`` -> those of :data:`CENTRED_DEFAULT`
    that are pooled; else every name must be a pooled site.

    Raises
    ------
    ValueError
        A name that is not pooled, or listed twice.

    Example
    -------
    >>> parse_centred(None, ("halo.gamma", "halo.log10_m_ref"))
    ('halo.log10_m_ref',)
    >>> parse_centred((), ("halo.gamma", "halo.log10_m_ref"))
    ()
    """
    pool = tuple(pool)
    if centred is None:
        return tuple(s for s in CENTRED_DEFAULT if s in pool)
    centred = (centred,) if isinstance(centred, str) else tuple(centred)
    for s in centred:
        if s not in pool:
            raise ValueError(f"centred site {s!r} is not pooled: centred sites must be among the pooled sites "
                             f"{list(pool)}")
    if len(set(centred)) != len(centred):
        raise ValueError(f"centred lists a site twice: {list(centred)}")
    return centred


def _label(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", str(text))


def _as_catalog(item, index):
    from ..data import StarCatalog

    if isinstance(item, StarCatalog):
        return item
    if isinstance(item, (str, os.PathLike)):
        return StarCatalog.read(item)
    if hasattr(item, "colnames"):  # an astropy Table
        return StarCatalog.from_table(item)
    raise TypeError(f"catalogue {index} must be a StarCatalog, an astropy Table or a path; got {type(item).__name__}")


class PopulationData:
    """The stacked data of a population (what checkpoints and ``samples.h5`` read):
    ``R``, ``v``, ``v_err`` of every galaxy concatenated, ``galaxy`` (index of each star),
    and the hyper-truth (``truth``) when the catalogues are mocks of one population."""

    def __init__(self, catalogs, labels):
        self.catalogs = tuple(catalogs)
        self.R = np.concatenate([c.R for c in catalogs])
        self.v = np.concatenate([c.v for c in catalogs])
        self.v_err = np.concatenate([c.v_err for c in catalogs])
        self.galaxy = np.concatenate([np.full(len(c), i) for i, c in enumerate(catalogs)])
        self.labels = tuple(labels)
        truths = [c.meta.get("population_truth") for c in catalogs]
        self.truth = _hyper_truth_sites(truths[0]) if truths[0] and all(t == truths[0] for t in truths) else None
        self.source = ", ".join(str(c.source) for c in catalogs if c.source) or None

    def __len__(self):
        return self.R.size


def _hyper_truth_sites(hyper: dict) -> dict:
    """{"halo.gamma": {"mean": .., "scatter": .., "slope": ..}} -> {"pop:halo.gamma.mean": ..}."""
    out = {}
    for site, entry in dict(hyper).items():
        if isinstance(entry, dict):
            for key in ("mean", "scatter", "slope"):
                if key in entry:
                    out[f"{HYPER}:{site}.{key}"] = float(entry[key])
    return out


class PopulationModel:
    """A hierarchical numpyro model of N galaxies (see the module docstring for the
    equations and the hyperpriors).

    Parameters
    ----------
    catalogs : sequence of StarCatalog, astropy Table or path
        One catalogue per galaxy, each with its ``R_half`` metadata (kpc), as
        :func:`~dynamicall.infer.fit` reads them.
    tracer, halo, anisotropy : str
        Families (as :class:`~dynamicall.infer.ModelSpec`); default Plummer + Zhao +
        Baes-van Hese, the family of the shipped emulators.
    forward : "exact" or emulator name/folder/object
        The forward model, as for :func:`~dynamicall.infer.fit`.
    priors : dict, optional
        Single-galaxy prior overrides (site -> bounds, distribution or fixed value),
        applied to every galaxy; ``v_sys`` too. Scales (lengths, densities) cannot be fixed
        (they differ from galaxy to galaxy): give bounds instead.
    pool : sequence of str
        Halo sites drawn from the population (default :data:`POOL_DEFAULT`). Each must be
        a free site of every galaxy.
    centred : sequence of str, optional
        Pooled sites sampled centred (the galaxy's value itself, with the population's
        truncated-normal density); the others are non-centred (standard-normal ``z``).
        Default: the sites of :data:`CENTRED_DEFAULT` that are pooled (``halo.log10_m_ref``);
        ``()`` for all non-centred.
    trend : str, optional
        Name of a per-catalogue metadata entry (a number, e.g. ``log10_m_star``): the
        population mean of every pooled site becomes linear in it. ``x_ref`` is the mean
        over the galaxies.
    properties : sequence of float, optional
        The trend's property per galaxy, instead of reading metadata ``trend``.
    scatter_scale : dict, optional
        Scale of the half-normal hyperprior of each site's scatter (overrides
        :data:`SCATTER_SCALE`).
    grid_points : int
        Points of the exact engine's log grid in R / R_half (>= 8).
    labels : sequence of str, optional
        Galaxy names used in site names (default: metadata ``name``, else the file name,
        else ``galaxy<i>``).

    Raises
    ------
    ValueError
        No catalogue, a catalogue without R_half, a pooled site that is not a free halo
        site, a centred site that is not pooled, a fixed scale, a trend property missing
        from a catalogue.
    """

    likelihood = "gaussian"
    proper_motions = False

    def __init__(self, catalogs, *, tracer="plummer", halo="zhao", anisotropy="baes-van-hese",
                 forward="exact", priors=None, pool=POOL_DEFAULT, centred=None, trend=None, properties=None,
                 scatter_scale=None, grid_points: int = 32, labels=None):
        from ..jeans import log_grid
        from .forward import resolve_forward
        from .models import KinematicModel

        catalogs = [_as_catalog(c, i) for i, c in enumerate(catalogs)]
        if not catalogs:
            raise ValueError("a population needs at least one catalogue")
        for i, c in enumerate(catalogs):
            if c.R_half is None:
                raise ValueError(f"catalogue {i} ({c.source or 'no file'}) has no R_half metadata: "
                                 f"add it (e.g. R_half: 0.25 kpc), as for 'dynamicall fit'")
        self.forward = resolve_forward(forward)
        grid_points = int(grid_points)
        if grid_points < 8:
            raise ValueError(f"grid_points must be >= 8; got {grid_points}")
        priors = dict(priors or {})
        nuisance = {k: priors.pop(k) for k in list(priors) if k == "v_sys"}
        self.pool = tuple(pool or ())
        if len(set(self.pool)) != len(self.pool):
            raise ValueError(f"pool lists a site twice: {list(self.pool)}")
        self.centred = parse_centred(centred, self.pool)
        # labels
        if labels is None:
            labels = []
            for i, c in enumerate(catalogs):
                name = c.meta.get("name") or (os.path.splitext(os.path.basename(c.source))[0] if c.source else None)
                labels.append(_label(name) if name else f"galaxy{i}")
            if len(set(labels)) != len(labels):
                labels = [f"{lab}_{i}" for i, lab in enumerate(labels)]
        labels = tuple(str(x) for x in labels)
        if len(labels) != len(catalogs) or len(set(labels)) != len(labels) or {HYPER, GALAXY} & set(labels):
            raise ValueError(f"labels must be {len(catalogs)} distinct names other than {HYPER!r} and {GALAXY!r}; "
                             f"got {list(labels)}")
        self.labels = labels
        self.data = PopulationData(catalogs, labels)
        # trend
        self.trend = trend
        if properties is not None:
            x = np.asarray(properties, dtype=float).reshape(-1)
            if x.size != len(catalogs) or not np.all(np.isfinite(x)):
                raise ValueError(f"properties must be {len(catalogs)} finite numbers; got {properties!r}")
            self.trend = trend or "property"
        elif trend is not None:
            vals = []
            for lab, c in zip(labels, catalogs):
                value = c.meta.get(trend)
                try:
                    vals.append(float(value))
                except (TypeError, ValueError):
                    raise ValueError(f"trend property {trend!r}: catalogue {lab} has metadata {trend} = {value!r}, "
                                     f"not a number; add it to every catalogue's metadata") from None
            x = np.array(vals)
        else:
            x = None
        self.property = x
        self.x_ref = float(np.mean(x)) if x is not None else None
        # per-galaxy single models: priors, sites, bounds, and the reference for tests;
        # the first is checked before the others are built
        def single(c):
            return KinematicModel(ModelSpec(tracer, halo, anisotropy, R_half=c.R_half, priors=priors,
                                            forward=self.forward, parameterization="enclosed_mass"),
                                  c, priors=nuisance)

        first = single(catalogs[0])
        self.galaxy_sites = first.sites
        if any(p.free for p in first.spec.component("tracer").params):
            raise ValueError("a population needs fixed tracers (R_half from each catalogue); free tracer "
                             "parameters are not supported")
        if first.spec.component("stars") is not None:
            raise ValueError("a population does not model stellar mass (stellar_mass)")
        for site in self.pool:
            if site not in first.spec.sites or not site.startswith("halo."):
                raise ValueError(f"pooled site {site!r} is not a free halo site; free halo sites: "
                                 f"{[s for s in first.spec.sites if s.startswith('halo.')]}")
        for p in first.spec.parameters:
            if p.role != "tracer" and not p.free and p.kind in ("length", "density"):
                raise ValueError(f"{p.site} is fixed, but a scale differs from galaxy to galaxy: give it "
                                 f"bounds, e.g. priors={{'{p.site}': (lower, upper)}}")
        self.galaxies = (first,) + tuple(single(c) for c in catalogs[1:])
        for g, m in zip(labels, self.galaxies):
            if m.sites != self.galaxy_sites:
                raise ValueError(f"galaxy {g} has sites {m.sites}, galaxy {labels[0]} {self.galaxy_sites}")
        # the spec in units of R_half (R_half = 1): one concrete tracer for every galaxy
        self.unit_spec = ModelSpec(tracer, halo, anisotropy, R_half=1.0,
                                   priors={k: v for k, v in priors.items() if not first.spec.parameter(k).free},
                                   forward=self.forward, parameterization="enclosed_mass")
        if self.unit_spec.sites != first.spec.sites:
            raise ValueError(f"internal: unit spec sites {self.unit_spec.sites} != {first.spec.sites}")
        self.log10_R_half = np.array([np.log10(m.spec.R_half) for m in self.galaxies])
        self._scaling = {}
        for p in self.unit_spec.free:
            power = {"length": -1.0, "density": 3.0}.get(p.kind, 0.0) if p.log10 else 0.0
            if power:
                self._scaling[p.site] = power
        # bounds of every galaxy's prior of each pooled site
        from .priors import support_bounds

        self.bounds = {s: np.array([support_bounds(m.priors()[s]) for m in self.galaxies], dtype=float)
                       for s in self.pool}
        # hyperpriors
        import numpyro.distributions as dist

        from .priors import uniform

        scales = {**SCATTER_SCALE, **dict(scatter_scale or {})}
        self.hyperpriors = {}
        for s in self.pool:
            lo, hi = float(self.bounds[s][:, 0].min()), float(self.bounds[s][:, 1].max())
            if not (np.isfinite(lo) and np.isfinite(hi)):
                raise ValueError(f"pooled site {s} needs a bounded single-galaxy prior; got [{lo}, {hi}]")
            self.hyperpriors[f"{HYPER}:{s}.mean"] = uniform(lo, hi)
            self.hyperpriors[f"{HYPER}:{s}.scatter"] = dist.HalfNormal(float(scales.get(s, 0.5)))
            if x is not None:
                self.hyperpriors[f"{HYPER}:{s}.slope"] = dist.Normal(0.0, SLOPE_SCALE)
        # ---- data, padded to the largest catalogue
        n_max = max(len(c) for c in catalogs)
        G = len(catalogs)
        self.mask = np.zeros((G, n_max))
        self.v = np.zeros((G, n_max))
        self.v_err = np.ones((G, n_max))
        self.u_stars = np.ones((G, n_max))  # R / R_half (padding: 1)
        for i, (m, c) in enumerate(zip(self.galaxies, catalogs)):
            n = len(c)
            self.mask[i, :n] = 1.0
            self.v[i, :n] = c.v
            self.v_err[i, :n] = c.v_err
            self.u_stars[i, :n] = m.R_data / m.spec.R_half
        self.R_half = np.array([m.spec.R_half for m in self.galaxies])
        tracer_unit = self.unit_spec.build(self.unit_spec.reference())[0]
        self._lean = None
        prepare = getattr(self.forward, "prepare", None)
        if self.forward.is_emulator and prepare is not None:
            from ..emulate.emulator import interpolation_matrix

            grid = np.asarray(self.forward.emulator.grid, dtype=float)
            self._lean = prepare(grid, tracer_unit, ("los",))
            if self._lean is not None:
                self.u_grid = grid
                # per-galaxy matrices from the emulator grid to the stars (padding rows: u = 1)
                self.W = np.stack([interpolation_matrix(grid, u) for u in self.u_stars])
        if self._lean is None:
            lo, hi = self.forward.R_range(tracer_unit)
            u_all = np.concatenate([m.R_data / m.spec.R_half for m in self.galaxies])
            lo, hi = max(u_all.min(), lo), min(u_all.max(), hi)
            if not hi > lo * (1 + 1e-6):
                lo, hi = lo / 1.5, lo * 1.5
            self.u_grid = log_grid(lo, hi, grid_points)
            self.W = None
        self._tracer_unit = tracer_unit

    # ------------------------------------------------------------------ access
    @property
    def n_galaxies(self) -> int:
        return len(self.galaxies)

    @property
    def hyper_sites(self) -> tuple:
        """The hyperparameter sites, pooled site by pooled site."""
        return tuple(self.hyperpriors)

    def noncentred(self, site: str) -> bool:
        """True when ``site`` is pooled and sampled through standard-normal ``z``."""
        return site in self.pool and site not in self.centred

    def galaxy_site(self, label: str, site: str) -> str:
        """The per-galaxy name of galaxy ``label``'s ``site`` (``...:z`` when pooled
        non-centred)."""
        return f"{label}:{site}:z" if self.noncentred(site) else f"{label}:{site}"

    def vector_site(self, site: str) -> str:
        """The sampled vector site (shape (n_galaxies,)) of single-galaxy ``site``."""
        return f"{GALAXY}:{site}:z" if self.noncentred(site) else f"{GALAXY}:{site}"

    def _support(self, site: str):
        """Uniform over each galaxy's bounds of pooled ``site``: the support (hence the
        unconstrained transform) and shape of a centred site, as :meth:`priors` states
        them; :meth:`__call__` draws the site from :meth:`population_distribution`, which
        depends on the hyperparameters."""
        import numpyro.distributions as dist

        b = self.bounds[site]
        return dist.Uniform(b[:, 0].copy(), b[:, 1].copy())

    def priors(self) -> dict:
        """site -> numpyro distribution, for every site the sampler sees: the
        hyperparameters (scalars), then one vector site (batch shape (n_galaxies,)) per
        single-galaxy site."""
        import numpyro.distributions as dist

        out = dict(self.hyperpriors)
        G = self.n_galaxies
        for site in self.galaxy_sites:
            if self.noncentred(site):
                out[self.vector_site(site)] = dist.Normal(np.zeros(G), np.ones(G))
            elif site in self.pool:
                out[self.vector_site(site)] = self._support(site)
            else:
                out[self.vector_site(site)] = stack_distributions([m.priors()[site] for m in self.galaxies], site)
        return out

    def named_priors(self) -> dict:
        """Per-galaxy name (:attr:`sites`) -> its scalar prior (what summaries describe;
        for a centred pooled site its support, a uniform over the galaxy's bounds; its
        density is the population's, :meth:`population_distribution`)."""
        import numpyro.distributions as dist

        out = dict(self.hyperpriors)
        for i, (lab, m) in enumerate(zip(self.labels, self.galaxies)):
            gp = m.priors()
            for site in self.galaxy_sites:
                if self.noncentred(site):
                    prior = dist.Normal(0.0, 1.0)
                elif site in self.pool:
                    prior = dist.Uniform(*[float(v) for v in self.bounds[site][i]])
                else:
                    prior = gp[site]
                out[self.galaxy_site(lab, site)] = prior
        return out

    @property
    def sites(self) -> tuple:
        """Every parameter under its per-galaxy name: hyperparameters, then galaxy by
        galaxy (the keys of a fit's samples; the sampler sees vector sites, :meth:`priors`)."""
        return tuple(self.named_priors())

    def split_samples(self, samples: dict) -> dict:
        """Draws of the sampled sites (vector sites (..., n_galaxies)) -> draws under the
        per-galaxy names of :attr:`sites` (hyperparameters unchanged)."""
        out = {k: samples[k] for k in self.hyper_sites}
        for lab_index, lab in enumerate(self.labels):
            for site in self.galaxy_sites:
                out[self.galaxy_site(lab, site)] = np.asarray(samples[self.vector_site(site)])[..., lab_index]
        return out

    def vector_params(self, params: dict) -> dict:
        """Per-galaxy named values (:attr:`sites`) -> the sampled sites (vector sites
        stacked on the last axis); values already keyed by sampled sites pass through."""
        out = {k: params[k] for k in self.hyper_sites}
        for site in self.galaxy_sites:
            key = self.vector_site(site)
            out[key] = params[key] if key in params else \
                jnp.stack([jnp.asarray(params[self.galaxy_site(lab, site)]) for lab in self.labels], axis=-1)
        return out

    def reference(self) -> dict:
        """A point inside every prior (hyper means at their box centres, scatters at their
        prior scale, z = 0, unpooled sites at their galaxies' reference)."""
        from .spec import _centre

        out = {}
        for k, p in self.hyperpriors.items():
            out[k] = float(p.scale) if k.endswith(".scatter") else (0.0 if k.endswith(".slope") else _centre(p))
        for lab, m in zip(self.labels, self.galaxies):
            ref = m.reference()
            for site in self.galaxy_sites:
                out[self.galaxy_site(lab, site)] = 0.0 if self.noncentred(site) else ref[site]
        return out

    def describe(self) -> dict:
        from .priors import describe_distribution

        return {
            "kind": "population",
            "galaxies": {lab: dict(n_stars=int(len(m.data)), R_half_kpc=float(m.spec.R_half),
                                   source=str(m.data.source) if m.data.source else None,
                                   **({"property": float(self.property[i])} if self.property is not None else {}))
                         for i, (lab, m) in enumerate(zip(self.labels, self.galaxies))},
            "pool": list(self.pool),
            "centred": list(self.centred),
            "trend": None if self.trend is None else dict(property=self.trend, x_ref=self.x_ref),
            "hyperpriors": {k: describe_distribution(p) for k, p in self.hyperpriors.items()},
            "galaxy_model": self.galaxies[0].spec.describe() | {"R_half_kpc": None, "reference_radius_kpc": None},
            "forward_path": "lean" if self._lean is not None else "grid",
            "likelihood": self.likelihood,
            "n_data": int(len(self.data)),
        }

    # ------------------------------------------------------------------ values
    def galaxy_values(self, params: dict) -> dict:
        """Every galaxy's physical site values from sampled ones (traceable).

        Parameters
        ----------
        params : dict
            Sampled site -> value: vector sites (..., n_galaxies), or the per-galaxy names
            of :attr:`sites` (scalars, or arrays of draws of one shape).

        Returns
        -------
        dict single-galaxy site -> array (..., n_galaxies).
        """
        out = {}
        params = self.vector_params(params)
        for site in self.galaxy_sites:
            col = jnp.asarray(params[self.vector_site(site)])
            if self.noncentred(site):
                mean, scatter = self.population_location(params, site)
                b = jnp.asarray(self.bounds[site])
                col = truncated_normal_from_z(col, mean, scatter, b[:, 0], b[:, 1])
            out[site] = col
        return out

    def population_location(self, params: dict, site: str):
        """Each galaxy's population mean mu_g (with the trend) and the scatter of pooled
        ``site`` at hyperparameters ``params``: arrays (..., n_galaxies) and (..., 1)."""
        mean = jnp.asarray(params[f"{HYPER}:{site}.mean"])[..., None]
        if self.property is not None:
            slope = jnp.asarray(params[f"{HYPER}:{site}.slope"])[..., None]
            mean = mean + slope * jnp.asarray(self.property - self.x_ref)
        scatter = jnp.asarray(params[f"{HYPER}:{site}.scatter"])[..., None]
        return mean, scatter

    @property
    def _centred_vector_sites(self) -> tuple:
        return tuple(self.vector_site(s) for s in self.centred)

    def population_distribution(self, params: dict, site: str):
        """The population distribution of pooled ``site`` given the hyperparameters in
        ``params``: a :class:`PopulationTruncatedNormal` of batch shape (n_galaxies,),
        N(mu_g, tau^2) truncated to each galaxy's bounds (what a centred site is drawn
        from)."""
        mean, scatter = self.population_location(params, site)
        b = self.bounds[site]
        return _population_truncated_normal()(mean, jnp.broadcast_to(scatter, jnp.shape(mean)),
                                              b[:, 0].copy(), b[:, 1].copy())

    def _unit_values(self, values: dict) -> dict:
        """Site values of the model in units of R_half (lengths / R_half, masses kept)."""
        logL = jnp.asarray(self.log10_R_half)
        return {s: values[s] + self._scaling[s] * logL if s in self._scaling else values[s]
                for s in self.unit_spec.sites}

    # ------------------------------------------------------------------ physics
    def dispersions(self, values: dict):
        """sigma_los (km/s) of every galaxy at its stars, padded: (n_galaxies, n_max).

        ``values``: single-galaxy site -> array (n_galaxies,) (e.g. from
        :meth:`galaxy_values`). One vmapped forward evaluation for all galaxies.
        """
        unit = self._unit_values(values)
        scale = jnp.asarray(1.0 / np.sqrt(self.R_half))

        def one(vals, W_or_u):
            _, mass, anisotropy = self.unit_spec.build(vals)
            if self._lean is not None:
                log_grid = jnp.log(self._lean(mass, anisotropy)["los"])
                return jnp.exp(W_or_u @ log_grid)
            from ..jeans import interp_loglog

            grid = self.forward.dispersions(self.u_grid, self._tracer_unit, mass, anisotropy, ("los",))["los"]
            return interp_loglog(W_or_u, self.u_grid, grid)

        per = jnp.asarray(self.W) if self._lean is not None else jnp.asarray(self.u_stars)
        sigma_unit = jax.vmap(one)(unit, per)
        return sigma_unit * scale[:, None]

    def galaxy_dispersions(self, index: int, values: dict):
        """sigma_los (km/s) of galaxy ``index`` at its stars (no padding), unbatched: the
        per-galaxy loop that :meth:`dispersions` vectorises (for tests)."""
        logL = float(self.log10_R_half[index])
        vals = {s: values[s] + self._scaling[s] * logL if s in self._scaling else values[s]
                for s in self.unit_spec.sites}
        _, mass, anisotropy = self.unit_spec.build(vals)
        n = len(self.galaxies[index].data)
        if self._lean is not None:
            sig = jnp.exp(jnp.asarray(self.W[index, :n]) @ jnp.log(self._lean(mass, anisotropy)["los"]))
        else:
            from ..jeans import interp_loglog

            grid = self.forward.dispersions(self.u_grid, self._tracer_unit, mass, anisotropy, ("los",))["los"]
            sig = interp_loglog(jnp.asarray(self.u_stars[index, :n]), self.u_grid, grid)
        return sig / np.sqrt(self.R_half[index])

    def log_likelihood_terms(self, values: dict):
        """Per-galaxy log-likelihoods (n_galaxies,) at single-galaxy site ``values``."""
        sigma = self.dispersions(values)
        terms = lk.gaussian_los(jnp.asarray(self.v), jnp.asarray(self.v_err), values["v_sys"][:, None], sigma)
        return jnp.sum(terms * jnp.asarray(self.mask), axis=1)

    def log_likelihood(self, values: dict):
        """Total log-likelihood of all galaxies at ``values`` (site -> (n_galaxies,))."""
        return jnp.sum(self.log_likelihood_terms(values))

    def log_penalty(self, values: dict):
        """Sum of the galaxies' emulator domain penalties (0 for the exact engine)."""
        if not self.forward.is_emulator:
            return 0.0
        unit = self._unit_values(values)

        def one(vals):
            pen = self.forward.log_penalty(*self.unit_spec.build(vals))
            return jnp.zeros(()) if pen is None else pen

        return jnp.sum(jax.vmap(one)(unit))

    def __call__(self, with_likelihood: bool = True):
        import numpyro

        params = {}
        for k, p in self.priors().items():
            if k not in self._centred_vector_sites:
                params[k] = numpyro.sample(k, p)
        for site in self.centred:  # their population density depends on the hyperparameters
            k = self.vector_site(site)
            params[k] = numpyro.sample(k, self.population_distribution(params, site))
        values = self.galaxy_values(params)
        for site in self.pool:
            numpyro.deterministic(f"galaxies:{site}", values[site])
        if not with_likelihood:
            return
        if self.forward.is_emulator:
            numpyro.factor("forward_domain", self.log_penalty(values))
        numpyro.factor("log_likelihood", self.log_likelihood(values))

    # ------------------------------------------------------------------ posterior
    def summarize(self, result) -> dict:
        """:func:`population_summary` of a fit of this model (``FitResult.summary()``)."""
        return population_summary(result)

    def write_outputs(self, result, out_dir, plots: bool = True, overwrite: bool = False) -> dict:
        """:func:`write_population_outputs` (``FitResult.save()``)."""
        return write_population_outputs(result, out_dir, plots=plots, overwrite=overwrite)

    def per_galaxy_samples(self, samples: dict) -> dict:
        """label -> {single-galaxy site -> draws}, from the sampled draws (any shape)."""
        vals = jax.jit(self.galaxy_values)({k: jnp.asarray(np.asarray(samples[k])) for k in self.sites})
        return {lab: {s: np.asarray(v[..., i]) for s, v in vals.items()} for i, lab in enumerate(self.labels)}

    def derived(self, samples: dict) -> dict:
        """Per-galaxy physical values and derived quantities per draw, keyed
        ``<galaxy>:<name>`` (see :mod:`dynamicall.infer.derived`): each pooled site's
        value, M_1.8_R_half, rho_150pc, log_slope_150pc, beta_R_half and the halo
        normalisation in both parameterisations."""
        from .derived import derived_quantities

        out = {}
        for lab, m, (_, vals) in zip(self.labels, self.galaxies, self.per_galaxy_samples(samples).items()):
            for s in self.pool:
                out[f"{lab}:{s}"] = vals[s]
            d = derived_quantities(types.SimpleNamespace(spec=m.spec), vals)
            for k, v in d.items():
                if f"{lab}:{k}" not in out:
                    out[f"{lab}:{k}"] = v
        return out


# ---------------------------------------------------------------------- fit + outputs
def fit_population(catalogs, *, tracer="plummer", halo="zhao", anisotropy="baes-van-hese", forward="exact",
                   priors=None, pool=POOL_DEFAULT, centred=None, trend=None, properties=None,
                   scatter_scale=None, grid_points: int = 32, labels=None, **run_kwargs):
    """Build a :class:`PopulationModel` and sample it with :func:`dynamicall.infer.sample`
    (progress, checkpoints, resume, Laplace start, convergence verdict).

    Parameters
    ----------
    catalogs, tracer, halo, anisotropy, forward, priors, pool, centred
        See :class:`PopulationModel`.
    trend, properties, scatter_scale, grid_points, labels
        See :class:`PopulationModel`.
    **run_kwargs
        Passed to :func:`~dynamicall.infer.sample`.

    Returns
    -------
    FitResult, whose ``derived()`` holds the per-galaxy quantities
    (:meth:`PopulationModel.derived`), ``summary()`` is :func:`population_summary` and
    ``save(dir)`` :func:`write_population_outputs`; None if ``stop_after`` ended the run
    early.
    """
    from .run import sample

    model = PopulationModel(catalogs, tracer=tracer, halo=halo, anisotropy=anisotropy, forward=forward,
                            priors=priors, pool=pool, centred=centred, trend=trend, properties=properties,
                            scatter_scale=scatter_scale, grid_points=grid_points, labels=labels)
    return sample(model, **run_kwargs)


def reweighted_hyperposterior(result, model, batch: int = 100) -> dict:
    r"""The hyperposterior of ``model`` estimated from the draws of a fit of another
    forward model with the same priors and data (e.g. the emulator's fit, reweighted to
    the exact engine), by importance weights

    .. math:: w_i \propto \exp\big(\ln L_{model}(\theta_i) - \ln L_{fit}(\theta_i)\big)

    (each ln L with its emulator domain penalty; none for the exact engine).

    Free of the Monte Carlo noise between two independent runs: when the two forward
    models agree, the weights are equal and the reweighted medians are the fit's own.

    Parameters
    ----------
    result : FitResult
        A fit of a :class:`PopulationModel` (its draws).
    model : PopulationModel
        The same catalogues and priors with another forward model.
    batch : int
        Draws per vectorised evaluation.

    Returns
    -------
    dict: ``ess_weights`` (effective sample size of the weights), ``n_draws``,
    ``delta_loglik_std`` and ``delta_loglik_mean`` (of ln L_model - ln L_fit over the
    draws), ``hyper`` (site -> ``q50``, ``std`` weighted; ``q50_unweighted``,
    ``std_unweighted``).

    Raises
    ------
    ValueError
        If ``model`` has other sites or priors than the fitted model.
    """
    from .priors import describe_distribution

    src = result.model
    a = {k: describe_distribution(p) for k, p in src.named_priors().items()}
    b = {k: describe_distribution(p) for k, p in model.named_priors().items()}
    if a != b:
        diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        raise ValueError(f"the two models' priors differ at {diff[:5]}: reweighting needs the same priors")
    flat = {k: np.asarray(v).reshape(-1) for k, v in result.samples.items()}
    n = next(iter(flat.values())).size

    def loglik(m):  # likelihood + domain penalty (0 for the exact engine)
        def one(p):
            values = m.galaxy_values(p)
            return m.log_likelihood(values) + m.log_penalty(values)
        return jax.jit(jax.vmap(one))

    f_src, f_dst = loglik(src), loglik(model)
    parts = []
    for i in range(0, n, int(batch)):
        p = {k: jnp.asarray(v[i:i + batch]) for k, v in flat.items()}
        parts.append(np.asarray(f_dst(p)) - np.asarray(f_src(p)))
    delta = np.concatenate(parts)
    w = np.exp(delta - delta.max())
    w /= w.sum()
    out = dict(ess_weights=float(1.0 / np.sum(w ** 2)), n_draws=int(n), delta_loglik_std=float(np.std(delta)),
               delta_loglik_mean=float(np.mean(delta)), hyper={})
    for k in model.hyper_sites:
        x = flat[k]
        order = np.argsort(x)
        cdf = np.cumsum(w[order]) - 0.5 * w[order]
        mean = float(np.sum(w * x))
        out["hyper"][k] = dict(q50=float(np.interp(0.5, cdf, x[order])),
                               std=float(np.sqrt(np.sum(w * (x - mean) ** 2))),
                               q50_unweighted=float(np.median(x)), std_unweighted=float(np.std(x)))
    return out


def population_summary(result) -> dict:
    """JSON-ready summary of a population fit: ``hyperparameters`` (site -> statistics),
    ``galaxies`` (label -> {parameters, derived}), ``run`` (as
    :func:`~dynamicall.infer.outputs.summarize`, with the convergence verdict over every
    sampled site and derived quantity) and ``model``."""
    import jax as _jax
    import numpyro

    from .. import __version__
    from .derived import DERIVED
    from .outputs import _stats, verdict
    from .priors import describe_distribution, support_bounds

    model = result.model
    priors = model.named_priors()
    centred = {model.galaxy_site(lab, s): s for lab in model.labels for s in model.centred}
    sampled = {}
    for site, draws in result.samples.items():
        st = _stats(draws)
        st["prior"] = describe_distribution(priors[site])
        if site in centred:
            lo, hi = support_bounds(priors[site])
            st["prior"] = (f"population Normal({HYPER}:{centred[site]}.mean, {HYPER}:{centred[site]}.scatter) "
                           f"truncated to [{lo:.4g}, {hi:.4g}] (centred)")
        sampled[site] = st
    hyper = {k: sampled[k] for k in model.hyper_sites}
    derived = result.derived()
    galaxies = {}
    derived_stats = {}
    for lab, m in zip(model.labels, model.galaxies):
        params, quantities = {}, {}
        for site in model.galaxy_sites:
            key = f"{lab}:{site}"
            st = sampled[key] if key in sampled else _stats(derived[key])
            unit = "km/s" if site == "v_sys" else m.spec.parameter(site).unit
            params[site] = dict(st, unit=unit, pooled=site in model.pool)
            if key not in sampled:
                derived_stats[key] = st
        for name, (unit, text) in DERIVED.items():
            st = _stats(derived[f"{lab}:{name}"])
            quantities[name] = dict(st, unit=unit, description=text)
            derived_stats[f"{lab}:{name}"] = st
        galaxies[lab] = dict(parameters=params, derived=quantities, R_half_kpc=float(m.spec.R_half),
                             n_stars=int(len(m.data)))
    ess = [s["ess"] for s in list(sampled.values()) + list(derived_stats.values()) if np.isfinite(s["ess"])]
    t = result.timing
    run = dict(
        forward=model.forward.name, n_galaxies=model.n_galaxies, n_stars=int(len(model.data)),
        wall_time_s=float(t["wall_time_s"]), compile_time_s=float(t["compile_time_s"]),
        sampling_time_s=float(t["sampling_time_s"]), optimize_time_s=float(t.get("optimize_time_s", 0.0)),
        divergences=result.divergences,
        min_ess=float(min(ess)) if ess else float("nan"),
        ess_per_second=float(min(ess) / t["sampling_time_s"]) if ess else float("nan"),
        mean_leapfrog_steps=float(np.mean(result.stats["num_steps"])),
        settings=dict(result.settings), float64=bool(_jax.config.jax_enable_x64),
        versions=dict(dynamicall=__version__, jax=_jax.__version__, numpyro=numpyro.__version__),
    )
    run["convergence"] = verdict(sampled, derived_stats, result.divergences, result.num_chains)
    truth = model.data.truth
    return dict(hyperparameters=hyper, galaxies=galaxies, run=run, model=model.describe(),
                **({"hyper_truth": truth} if truth else {}))


def format_population_summary(summary: dict) -> str:
    """The printed summary: hyperparameters, then per galaxy M(<1.8 R_half) and gamma."""
    from .outputs import format_table

    lines = ["hyperparameters:", format_table(summary["hyperparameters"]), "", "galaxies:"]
    rows = {}
    for lab, g in summary["galaxies"].items():
        m = dict(g["derived"]["M_1.8_R_half"])
        rows[f"{lab}:M_1.8_R_half"] = m
        if "halo.gamma" in g["parameters"]:
            rows[f"{lab}:halo.gamma"] = g["parameters"]["halo.gamma"]
    lines.append(format_table(rows))
    r = summary["run"]
    s = r["settings"]
    lines += ["", f"forward: {r['forward']}; {r['n_galaxies']} galaxies, {r['n_stars']} stars; {s['chains']} chains x "
              f"({s['warmup']} warm-up + {s['samples']} draws); divergences: {r['divergences']}",
              f"wall time {r['wall_time_s']:.1f} s (compilation {r['compile_time_s']:.1f} s, sampling "
              f"{r['sampling_time_s']:.1f} s); min ESS {r['min_ess']:.0f}",
              r["convergence"]["text"]]
    lines += [f"  try: {a}" for a in r["convergence"]["advice"]]
    return "\n".join(lines)


def galaxies_plot(result, path=None):
    """Per-galaxy posteriors: log10 M(<1.8 R_half) and each pooled shape site (e.g. the
    inner slope gamma), median with 68 % and 90 % intervals; the population mean's median
    and 90 % band; red crosses mark the truths of mocks (catalogue metadata ``truth``).

    Returns the matplotlib Figure (saved to ``path`` if given).
    """
    from .plots import _figure

    model = result.model
    derived = result.derived()
    panels = [("M_1.8_R_half", "log10 M(<1.8 R$_{1/2}$) [Msun]", True)]
    panels += [(s, s, False) for s in model.pool if s != MASS_SITE]
    fig = _figure(4.0 * len(panels), 0.35 * model.n_galaxies + 2.0)
    y = np.arange(model.n_galaxies)
    for k, (name, label, log) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), k + 1)
        for i, (lab, m) in enumerate(zip(model.labels, model.galaxies)):
            x = np.asarray(derived[f"{lab}:{name}"], dtype=float).reshape(-1)
            x = np.log10(x) if log else x
            q5, q16, q50, q84, q95 = np.percentile(x, [5, 16, 50, 84, 95])
            ax.plot([q5, q95], [i, i], color="0.6", lw=1)
            ax.plot([q16, q84], [i, i], color="k", lw=2.5)
            ax.plot(q50, i, "o", color="k", ms=4)
            truth = (m.data.truth or {}).get(name)
            if truth is not None:
                ax.plot(np.log10(truth) if log else truth, i, "x", color="tab:red", ms=6)
        mean_key = f"{HYPER}:{name}.mean"
        if mean_key in result.samples and model.property is None:
            mq = np.percentile(np.asarray(result.samples[mean_key]).reshape(-1), [5, 50, 95])
            ax.axvspan(mq[0], mq[2], color="tab:blue", alpha=0.15, lw=0)
            ax.axvline(mq[1], color="tab:blue", lw=1, label="population mean")
            ax.legend(fontsize=6, loc="best")
        ax.set_yticks(y)
        ax.set_yticklabels(model.labels if k == 0 else [], fontsize=7)
        ax.set_xlabel(label, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_ylim(-0.7, model.n_galaxies - 0.3)
    fig.subplots_adjust(left=0.2, bottom=0.16, right=0.97, top=0.95, wspace=0.08)
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


def write_population_outputs(result, out_dir, plots: bool = True, overwrite: bool = False) -> dict:
    """Write summary.json, samples.h5 and the plots (hyper_corner.png, galaxies.png) of a
    population fit to ``out_dir``, as one set (:func:`dynamicall._durable.staged_folder`).

    Returns
    -------
    dict name -> final path.
    """
    import pathlib

    from .._durable import staged_folder
    from .outputs import save_samples, write_summary

    out_dir = pathlib.Path(out_dir)
    summary = population_summary(result)
    names = {}
    with staged_folder(out_dir, overwrite=overwrite) as stage:
        names["summary"] = "summary.json"
        write_summary(summary, stage / names["summary"])
        names["samples"] = "samples.h5"
        save_samples(result, stage / names["samples"])
        if plots:
            from .plots import corner_plot

            names["hyper_corner"] = "hyper_corner.png"
            corner_plot(result, stage / names["hyper_corner"], sites=list(result.model.hyper_sites),
                        derived=False)
            names["galaxies"] = "galaxies.png"
            galaxies_plot(result, stage / names["galaxies"])
    return {key: str(out_dir / name) for key, name in names.items()}
