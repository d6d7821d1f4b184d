r"""Fisher forecasts for a population: how well N galaxies of n stars each would measure
the population's hyperparameters (the mean, scatter and trend of pooled halo parameters).

The population model (as in a hierarchical fit): for each pooled site s (by default the
inner slope ``halo.gamma``, ``halo.log10_m_ref`` = log10 M_halo(< 1.8 R_half) and
``halo.log10_r_s``), galaxy i has

.. math::
    \theta_{i,s} = \mu_s + b_s (x_i - x_{ref}) + \sigma_s z_{i,s}, \qquad z_{i,s} \sim N(0, 1),

with mean :math:`\mu_s`, scatter :math:`\sigma_s` and an optional trend slope :math:`b_s`
with a galaxy property :math:`x_i` (e.g. log10 stellar mass). Each galaxy's own data
measure its pooled values to within a covariance :math:`C_i` (its Fisher matrix,
:func:`dynamicall.infer.fisher.fisher_matrix`, with the fit's priors on every other
site, marginalised to the pooled sites). To Gaussian order the galaxies' estimates are
then :math:`\hat\theta_i \sim N(m_i, S_i)` with :math:`m_i = \mu + b (x_i - x_{ref})`
and :math:`S_i = \Sigma + C_i`, :math:`\Sigma = \mathrm{diag}(\sigma^2)`, and the
Fisher information of the hyperparameters h is

.. math::
    F_{ab} = \sum_i \partial_a m_i^T S_i^{-1} \partial_b m_i
             + \tfrac12 \mathrm{tr}(S_i^{-1} \partial_a S_i\, S_i^{-1} \partial_b S_i).

The pooled sites get no prior of their own in :math:`C_i`: in the hierarchy the
population distribution is their prior, and adding the fit's prior on each galaxy
would count that information once per galaxy. :math:`S_i^{-1}` is computed from the
marginal information :math:`I_i = C_i^{-1}` (the Schur complement of the galaxy's
Fisher + prior matrix on the pooled sites) as :math:`S_i^{-1} = I_i (1 + \Sigma
I_i)^{-1}`, which stays finite when a galaxy's data leave a pooled direction
unconstrained (:math:`I_i` singular): such a galaxy then adds nothing on it. By default
the means also get the information of the fit's prior on their site, once
(``hyper_priors``); scatters and slopes get none. A hyperparameter the data do not
constrain has an infinite error (:func:`~dynamicall.infer.fisher.constrained_variance`).

:func:`population_fisher` takes explicit galaxies (each a :class:`PopulationGalaxy`:
model, truth, survey design, property); :func:`population_forecast` the grid over the
number of galaxies and stars per galaxy, for galaxies alike but for their pooled values.

Example
-------
>>> import numpy as np
>>> hyper = HyperTruth(mean={"halo.gamma": 0.5}, scatter={"halo.gamma": 0.3})
>>> F = hyper_fisher(hyper, ("halo.gamma",), [np.array([[1 / 0.04]])] * 10, np.zeros(10))
>>> names, sigma = F.names, np.sqrt(np.diag(np.linalg.inv(F.matrix)))
>>> names, np.round(sigma, 4).tolist()   # sqrt((0.09 + 0.04) / 10), (0.09 + 0.04) / sqrt(2 * 10 * 0.09)
(('mean[halo.gamma]', 'scatter[halo.gamma]'), [0.114, 0.0969])
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .fisher import (FLAT_PRIOR, PRIOR_DOMINATED, FisherMatrix, constrained_variance, fisher_matrix,
                     prior_precision)

__all__ = [
    "DEFAULT_POOLED", "HyperTruth", "PopulationGalaxy", "hyper_fisher", "pooled_information",
    "population_fisher", "population_forecast", "representative_galaxies",
]

#: Pooled halo sites by default (those the model has): the inner slope, log10 of the halo
#: mass inside 1.8 R_half (``parameterization="enclosed_mass"``) and log10 r_s.
DEFAULT_POOLED = ("halo.gamma", "halo.log10_m_ref", "halo.log10_r_s")


def _hyper_names(sites, slopes):
    names = []
    for s in sites:
        names += [f"mean[{s}]", f"scatter[{s}]"] + ([f"slope[{s}]"] if s in slopes else [])
    return tuple(names)


@dataclasses.dataclass(frozen=True)
class HyperTruth:
    """The population's true hyperparameters, by pooled site.

    Attributes
    ----------
    mean : dict
        site -> population mean (at ``property_ref``), in the site's sampled coordinate.
    scatter : dict
        site -> intrinsic scatter (standard deviation, > 0), same coordinate.
    slope : dict
        site -> trend slope with the galaxy property (only these sites get a slope).
    property_ref : float
        Reference value x_ref of the galaxy property.

    Example
    -------
    >>> h = HyperTruth({"halo.gamma": 0.5}, {"halo.gamma": 0.2}, slope={"halo.gamma": 0.1})
    >>> h.sites, h.names
    (('halo.gamma',), ('mean[halo.gamma]', 'scatter[halo.gamma]', 'slope[halo.gamma]'))
    """

    mean: dict
    scatter: dict
    slope: dict = dataclasses.field(default_factory=dict)
    property_ref: float = 0.0

    def __post_init__(self):
        mean = {str(k): float(v) for k, v in dict(self.mean).items()}
        scatter = {str(k): float(v) for k, v in dict(self.scatter).items()}
        slope = {str(k): float(v) for k, v in dict(self.slope or {}).items()}
        if not mean:
            raise ValueError("HyperTruth needs the mean of at least one pooled site")
        if set(scatter) != set(mean):
            raise ValueError(f"HyperTruth: give a mean and a scatter for the same sites; means for "
                             f"{sorted(mean)}, scatters for {sorted(scatter)}")
        extra = sorted(set(slope) - set(mean))
        if extra:
            raise ValueError(f"HyperTruth: slopes for {extra}, which have no mean; the pooled sites are {sorted(mean)}")
        for name, table in (("mean", mean), ("slope", slope)):
            bad = {k: v for k, v in table.items() if not np.isfinite(v)}
            if bad:
                raise ValueError(f"HyperTruth {name} must be finite; got {bad}")
        bad = {k: v for k, v in scatter.items() if not (np.isfinite(v) and v > 0)}
        if bad:
            raise ValueError(f"HyperTruth scatter must be finite and > 0 (a scatter of 0 carries no Fisher "
                             f"information on itself; use a small value, e.g. 0.02, for a nearly uniform "
                             f"population); got {bad}")
        if not np.isfinite(float(self.property_ref)):
            raise ValueError(f"HyperTruth property_ref must be finite; got {self.property_ref!r}")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "scatter", scatter)
        object.__setattr__(self, "slope", slope)
        object.__setattr__(self, "property_ref", float(self.property_ref))

    @property
    def sites(self) -> tuple:
        """The pooled sites, in the order given."""
        return tuple(self.mean)

    @property
    def names(self) -> tuple:
        """Hyperparameter names: ``mean[site]``, ``scatter[site]`` (and ``slope[site]``)."""
        return _hyper_names(self.sites, self.slope)

    @property
    def values(self) -> dict:
        """Hyperparameter name -> true value."""
        out = {}
        for s in self.sites:
            out[f"mean[{s}]"], out[f"scatter[{s}]"] = self.mean[s], self.scatter[s]
            if s in self.slope:
                out[f"slope[{s}]"] = self.slope[s]
        return out

    def centre(self, x) -> dict:
        """site -> mean + slope (x - x_ref): the population centre at property ``x``."""
        return {s: self.mean[s] + self.slope.get(s, 0.0) * (float(x) - self.property_ref) for s in self.sites}


@dataclasses.dataclass(frozen=True)
class PopulationGalaxy:
    """One galaxy of a population forecast.

    Attributes
    ----------
    spec : ModelSpec
        Its model (own R_half, priors, forward model); the pooled sites must be free.
    truth : dict
        site -> value of every free site (its pooled values included).
    design : SurveyDesign
        Its stars.
    property : float
        The galaxy property x_i of the trend (unused without slopes).
    """

    spec: object
    truth: dict
    design: object
    property: float = 0.0


def pooled_information(F: FisherMatrix, spec, pooled, *, priors: bool = True, flat_prior: str | None = None,
                       n_stars: float | None = None) -> np.ndarray:
    r"""A galaxy's information on its pooled sites, the others marginalised.

    With the galaxy's Fisher matrix F (scaled to ``n_stars``) plus the fit's prior
    information P on the sites that are not pooled (``priors``), split into pooled (p)
    and other (o) blocks, the marginal information is the Schur complement
    :math:`I = M_{pp} - M_{po} M_{oo}^{-1} M_{op}`; its inverse is the covariance C of
    the galaxy's pooled values.

    Parameters
    ----------
    F : FisherMatrix
        From :func:`~dynamicall.infer.fisher.fisher_matrix` (with or without ``v_sys``).
    spec : ModelSpec
    pooled : sequence of str
        The pooled sites.
    priors : bool
        Add the fit's prior information on the other sites (default).
    flat_prior : {"variance", "entropy"}, optional
        Rule for flat priors (:func:`~dynamicall.infer.fisher.prior_precision`).
    n_stars : float, optional
        Scale F to this number of stars (default: as computed).

    Returns
    -------
    ndarray (k, k)
    """
    from .optimize import inverse_positive_definite

    pooled = tuple(pooled)
    M = np.array(F.matrix, dtype=float) * (1.0 if n_stars is None else float(n_stars) / F.n_stars)
    if priors:
        P, _ = prior_precision(spec, dict(zip(F.names, F.values)), F.names, flat=flat_prior)
        for s in pooled:
            i = F.index(s)
            P[i, i] = 0.0  # the population distribution is the pooled sites' prior
        M = M + P
    p = [F.index(s) for s in pooled]
    o = [i for i in range(len(F.names)) if i not in p]
    info = M[np.ix_(p, p)]
    if o:
        inv, ok = inverse_positive_definite(M[np.ix_(o, o)])
        if not bool(ok):
            raise ValueError("the information on the galaxy's non-pooled sites is not positive definite: "
                             "give them priors (priors=True) or fix them")
        B = M[np.ix_(p, o)]
        info = info - B @ np.asarray(inv) @ B.T
    return 0.5 * (info + info.T)


def hyper_fisher(hyper: HyperTruth, pooled, informations, properties, *,
                 weights=None) -> FisherMatrix:
    r"""Fisher matrix of the hyperparameters from the galaxies' pooled information.

    :math:`F_{ab} = \sum_i w_i [\partial_a m_i^T S_i^{-1} \partial_b m_i + \frac12
    \mathrm{tr}(S_i^{-1} \partial_a \Sigma\, S_i^{-1} \partial_b \Sigma)]` with
    :math:`S_i^{-1} = I_i (1 + \Sigma I_i)^{-1}` (finite for a singular :math:`I_i`).

    Parameters
    ----------
    hyper : HyperTruth
    pooled : sequence of str
        The order of the rows of each information matrix (the hyper-truth's sites).
    informations : sequence of array (k, k)
        Each galaxy's information :math:`I_i = C_i^{-1}` on the pooled sites
        (:func:`pooled_information`).
    properties : sequence of float
        Each galaxy's property x_i.
    weights : sequence of float, optional
        Galaxies each one stands for (default 1): a representative galaxy of weight w
        counts as w galaxies like it.

    Returns
    -------
    FisherMatrix
        Names :attr:`HyperTruth.names`, values the true hyperparameters, ``n_stars`` the
        number of galaxies.
    """
    pooled = tuple(pooled)
    if set(pooled) != set(hyper.sites) or len(pooled) != len(hyper.sites):
        raise ValueError(f"the pooled sites {list(pooled)} must be the hyper-truth's {list(hyper.sites)}")
    names = hyper.names
    k, H = len(pooled), len(names)
    properties = np.atleast_1d(np.asarray(properties, dtype=float))
    weights = np.ones(len(informations)) if weights is None else np.asarray(weights, dtype=float)
    if not (len(properties) == len(informations) == len(weights)):
        raise ValueError("give one information matrix, property and weight per galaxy")
    sigma = np.array([hyper.scatter[s] for s in pooled])
    Sigma = np.diag(sigma**2)
    dSigma = np.zeros((H, k, k))
    index = {n: a for a, n in enumerate(names)}
    for j, s in enumerate(pooled):
        dSigma[index[f"scatter[{s}]"], j, j] = 2.0 * sigma[j]
    F = np.zeros((H, H))
    for info, x, w in zip(informations, properties, weights):
        info = np.asarray(info, dtype=float).reshape(k, k)
        S_inv = info @ np.linalg.inv(np.eye(k) + Sigma @ info)
        S_inv = 0.5 * (S_inv + S_inv.T)
        dm = np.zeros((H, k))
        for j, s in enumerate(pooled):
            dm[index[f"mean[{s}]"], j] = 1.0
            if s in hyper.slope:
                dm[index[f"slope[{s}]"], j] = x - hyper.property_ref
        A = np.einsum("ij,ajk->aik", S_inv, dSigma)  # S^-1 dSigma_a
        F += w * (dm @ S_inv @ dm.T + 0.5 * np.einsum("aij,bji->ab", A, A))
    values = np.array([hyper.values[n] for n in names])
    return FisherMatrix(0.5 * (F + F.T), names, values, float(np.sum(weights)))


def _hyper_prior(hyper, spec, point, flat_prior):
    """Prior information on the hyperparameters: each mean gets its site's prior in the
    fit (once); scatters and slopes none."""
    names = hyper.names
    P = np.zeros((len(names), len(names)))
    prior, _ = prior_precision(spec, point, hyper.sites, flat=flat_prior)
    for j, s in enumerate(hyper.sites):
        i = names.index(f"mean[{s}]")
        P[i, i] = prior[j, j]
    return P


def _errors(F, P):
    """1 sigma of each hyperparameter from the information F + P (inf where unconstrained)."""
    M = np.asarray(F, dtype=float) + P
    with np.errstate(invalid="ignore"):
        return np.sqrt(constrained_variance(np.eye(len(M)), M))


def _check_pooled(spec, pooled):
    missing = [s for s in pooled if s not in spec.sites]
    if missing:
        raise ValueError(f"pooled sites {missing} are not free parameters of the model; its free parameters "
                         f"are {list(spec.sites)} (halo.log10_m_ref needs parameterization='enclosed_mass')")


def population_fisher(galaxies, hyper: HyperTruth, *, priors: bool = True, hyper_priors: bool = True,
                      flat_prior: str | None = None) -> dict:
    """Forecast errors of the population's hyperparameters from explicit galaxies.

    Parameters
    ----------
    galaxies : sequence of PopulationGalaxy
        Each galaxy's model, truth (its pooled values included), design and property.
    hyper : HyperTruth
        The true hyperparameters; its sites are the pooled sites.
    priors : bool
        The fit's priors on each galaxy's non-pooled sites (default True).
    hyper_priors : bool
        Add, once, the fit's prior of each pooled site as information on its mean
        (default True).
    flat_prior : {"variance", "entropy"}, optional
        Rule for flat priors (:func:`~dynamicall.infer.fisher.prior_precision`).

    Returns
    -------
    dict with ``names``, ``values`` (name -> truth), ``sigma`` (name -> 1 sigma; inf if
    unconstrained), ``fisher`` (:class:`FisherMatrix` of the hyperparameters, without
    the hyperpriors), ``galaxy_sigma`` (pooled site -> array of each galaxy's own 1
    sigma, inf where its data leave it open), ``method`` (text).

    Example
    -------
    >>> import jax; jax.config.update("jax_enable_x64", True)
    >>> from dynamicall.infer.spec import ModelSpec
    >>> from dynamicall.infer.survey import SurveyDesign
    >>> spec = ModelSpec("plummer", "nfw", "constant", R_half=0.25, parameterization="enclosed_mass")
    >>> truth = {"halo.log10_m_ref": 7.5, "halo.log10_r_s": 0.0, "anisotropy.beta": 0.2}
    >>> design = SurveyDesign.from_tracer(spec.build(truth)[0], 200, v_err=2.0, R_max=1.25)
    >>> hyper = HyperTruth({"halo.log10_m_ref": 7.5}, {"halo.log10_m_ref": 0.1})
    >>> out = population_fisher([PopulationGalaxy(spec, truth, design)] * 10, hyper)
    >>> 0.03 < out["sigma"]["mean[halo.log10_m_ref]"] < 0.05
    True
    """
    galaxies = list(galaxies)
    if not galaxies:
        raise ValueError("population_fisher needs at least one galaxy")
    pooled = hyper.sites
    infos, xs, own = [], [], []
    cache = {}
    for g in galaxies:
        _check_pooled(g.spec, pooled)
        key = (id(g.spec), id(g.design), tuple(sorted(g.truth.items())))
        if key not in cache:
            F = fisher_matrix(g.spec, g.truth, g.design)
            cache[key] = pooled_information(F, g.spec, pooled, priors=priors, flat_prior=flat_prior)
        infos.append(cache[key])
        xs.append(float(g.property))
        own.append(_own_sigma(cache[key]))
    F = hyper_fisher(hyper, pooled, infos, xs)
    P = _hyper_prior(hyper, galaxies[0].spec, galaxies[0].truth, flat_prior) if hyper_priors else 0.0 * F.matrix
    sigma = _errors(F.matrix, P)
    return dict(names=F.names, values=hyper.values, sigma=dict(zip(F.names, sigma.tolist())), fisher=F,
                galaxy_sigma={s: np.array([o[j] for o in own]) for j, s in enumerate(pooled)},
                method=_method(priors, hyper_priors, flat_prior))


def _own_sigma(info):
    """Each pooled site's 1 sigma from one galaxy alone (inf where unconstrained)."""
    with np.errstate(invalid="ignore"):
        return np.sqrt(constrained_variance(np.eye(len(info)), info))


def _method(priors, hyper_priors, flat_prior):
    rule = flat_prior or FLAT_PRIOR
    text = ("hyperparameter Fisher matrix of the Gaussian population model, theta_i ~ N(mean + slope "
            "(x_i - x_ref), scatter^2 + C_i), C_i: each galaxy's Fisher covariance of its pooled sites"
            + (f" with the fit's priors on its other sites (flat priors: {rule} rule)" if priors else
               " without priors"))
    if hyper_priors:
        text += "; each mean also gets its site's prior in the fit, once"
    return text


def representative_galaxies(hyper: HyperTruth, count: int, property_range=None, seed: int = 0):
    r"""Pooled values and properties of ``count`` galaxies that stand for the population.

    A Latin hypercube at bin midpoints: for each pooled site,
    :math:`z_k = \Phi^{-1}((\pi_s(k) + 1/2) / K)` with a fixed random permutation
    :math:`\pi_s` per site (``seed``), so that each site's values are the K quantiles of
    its population distribution; the property likewise spreads over ``property_range``
    (uniform; default: every galaxy at x_ref). ``count=1`` gives the population centre.

    Returns
    -------
    (values, properties) : list of dict site -> value, array (count,)

    Example
    -------
    >>> h = HyperTruth({"halo.gamma": 0.5}, {"halo.gamma": 0.2})
    >>> values, x = representative_galaxies(h, 2)
    >>> sorted(round(v["halo.gamma"], 4) for v in values)
    [0.3651, 0.6349]
    """
    from scipy.special import ndtri

    count = int(count)
    if count < 1:
        raise ValueError(f"count (representative galaxies) must be >= 1; got {count}")
    rng = np.random.default_rng(seed)
    mid = (np.arange(count) + 0.5) / count
    z = {s: ndtri(mid[rng.permutation(count)]) for s in hyper.sites}
    if property_range is None:
        if hyper.slope:
            raise ValueError("a trend (slope) needs the galaxies' property spread: give property_range=(lo, hi)")
        x = np.full(count, hyper.property_ref)
    else:
        lo, hi = (float(v) for v in property_range)
        if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
            raise ValueError(f"property_range must be finite (lo, hi) with lo <= hi; got {property_range!r}")
        x = lo + (hi - lo) * mid[rng.permutation(count)]
    values = []
    for k in range(count):
        centre = hyper.centre(x[k])
        values.append({s: centre[s] + hyper.scatter[s] * float(z[s][k]) for s in hyper.sites})
    return values, x


def _inside_prior(spec, values):
    """Values moved inside their site's prior support (by 1e-3 of its width) where outside."""
    from .priors import support_bounds

    out = dict(values)
    moved = []
    for s, v in values.items():
        lo, hi = support_bounds(spec.parameter(s).prior)
        pad = 1e-3 * (hi - lo) if np.isfinite(hi - lo) else 0.0
        x = float(np.clip(v, lo + pad, hi - pad))
        if x != v:
            moved.append(s)
        out[s] = x
    return out, moved


def population_forecast(spec, truth: dict, design, hyper: HyperTruth, n_galaxies, n_stars, *,
                        representatives: int = 8, property_range=None, priors: bool = True,
                        hyper_priors: bool = True, flat_prior: str | None = None, seed: int = 0) -> dict:
    r"""Hyperparameter errors over a grid of the number of galaxies and stars per galaxy.

    The galaxies are alike (model ``spec``, ``truth`` for the non-pooled sites, survey
    ``design`` scaled to each number of stars) except for their pooled values, which
    follow the population: ``representatives`` galaxies
    (:func:`representative_galaxies`) each get a Fisher matrix (computed once, scaled
    with the number of stars), and N galaxies carry N times their mean information
    (the expected Fisher information per galaxy):

    .. math::
        F(N, n) = \frac{N}{K} \sum_{k=1}^K f_k(n) + P_{hyper}.

    Parameters
    ----------
    spec : ModelSpec
        The galaxies' model; the pooled sites (``hyper.sites``) must be free.
    truth : dict
        Values of the non-pooled sites (pooled ones are replaced; a native
        normalisation is converted, :func:`~dynamicall.infer.fisher.truth_in_parameterization`).
    design : SurveyDesign
        One galaxy's survey (its radial distribution and errors); scaled to ``n_stars``.
    hyper : HyperTruth
    n_galaxies, n_stars : sequences of numbers (> 0)
    representatives : int
        K galaxies standing for the population (default 8).
    property_range : (lo, hi), optional
        Spread of the galaxy property (needed with slopes).
    priors, hyper_priors, flat_prior
        As for :func:`population_fisher`.
    seed : int
        The permutations of :func:`representative_galaxies`.

    Returns
    -------
    dict with ``n_galaxies``, ``n_stars`` (arrays), ``names``, ``values``,
    ``sigma`` (name -> array (len(n_galaxies), len(n_stars)); inf where unconstrained),
    ``prior_sigma`` (name -> the hyperpriors' width alone, inf for none),
    ``prior_dominated`` (name -> bool array: sigma > 1/sqrt(2) x prior_sigma),
    ``galaxy_sigma`` (pooled site -> array over n_stars: one galaxy's own 1 sigma, median
    over the representatives), ``representatives`` (their pooled values and properties),
    ``moved`` (sites of representatives moved inside their prior support), ``method``.

    Example
    -------
    >>> import jax; jax.config.update("jax_enable_x64", True)
    >>> from dynamicall.infer.spec import ModelSpec
    >>> from dynamicall.infer.survey import SurveyDesign
    >>> spec = ModelSpec("plummer", "nfw", "constant", R_half=0.25, parameterization="enclosed_mass")
    >>> truth = {"halo.log10_m_ref": 7.5, "halo.log10_r_s": 0.0, "anisotropy.beta": 0.2}
    >>> design = SurveyDesign.from_tracer(spec.build(truth)[0], 100, v_err=2.0, R_max=1.25)
    >>> hyper = HyperTruth({"halo.log10_m_ref": 7.5}, {"halo.log10_m_ref": 0.1})
    >>> out = population_forecast(spec, truth, design, hyper, [10, 40], [100, 400], representatives=2,
    ...                           hyper_priors=False)
    >>> s = out["sigma"]["mean[halo.log10_m_ref]"]
    >>> round(float(s[0, 0] / s[1, 0]), 6)   # 4x the galaxies: half the error
    2.0
    """
    from .fisher import truth_in_parameterization

    n_galaxies = np.atleast_1d(np.asarray(n_galaxies, dtype=float))
    n_stars = np.atleast_1d(np.asarray(n_stars, dtype=float))
    for name, arr in (("n_galaxies", n_galaxies), ("n_stars", n_stars)):
        if not (arr.size and np.all(np.isfinite(arr)) and np.all(arr > 0)):
            raise ValueError(f"{name} must be finite and > 0; got {arr.tolist()}")
    pooled = hyper.sites
    _check_pooled(spec, pooled)
    base = truth_in_parameterization(spec, dict(truth))
    base = {k: v for k, v in base.items() if k in spec.sites or k == "v_sys"}
    missing = [s for s in spec.sites if s not in base and s not in pooled]
    if missing:
        raise ValueError(f"truth lacks values for {missing}; the free parameters are {list(spec.sites)}")
    values, xs = representative_galaxies(hyper, representatives, property_range, seed)
    fishers, moved = [], set()
    for v in values:
        inside, out_of = _inside_prior(spec, v)
        moved.update(out_of)
        fishers.append(fisher_matrix(spec, {**base, **inside}, design))
    names = hyper.names
    point = {**base, **_inside_prior(spec, hyper.centre(hyper.property_ref))[0]}
    P = _hyper_prior(hyper, spec, point, flat_prior) if hyper_priors else np.zeros((len(names),) * 2)
    sigma = {n: np.zeros((n_galaxies.size, n_stars.size)) for n in names}
    galaxy_sigma = {s: np.zeros(n_stars.size) for s in pooled}
    for j, n in enumerate(n_stars):
        infos = [pooled_information(F, spec, pooled, priors=priors, flat_prior=flat_prior, n_stars=n)
                 for F in fishers]
        per_galaxy = hyper_fisher(hyper, pooled, infos, xs, weights=np.full(len(infos), 1.0 / len(infos)))
        own = np.array([_own_sigma(i) for i in infos])
        for q, s in enumerate(pooled):
            galaxy_sigma[s][j] = float(np.median(own[:, q]))
        for i, N in enumerate(n_galaxies):
            errs = _errors(per_galaxy.matrix * N, P)
            for name, e in zip(names, errs):
                sigma[name][i, j] = e
    prior_sigma = {n: (1.0 / np.sqrt(P[a, a]) if P[a, a] > 0 else np.inf) for a, n in enumerate(names)}
    dominated = {n: sigma[n] > PRIOR_DOMINATED * prior_sigma[n] for n in names}
    return dict(n_galaxies=n_galaxies, n_stars=n_stars, names=names, values=hyper.values, sigma=sigma,
                prior_sigma=prior_sigma, prior_dominated=dominated, galaxy_sigma=galaxy_sigma,
                representatives=dict(values=values, properties=xs), moved=sorted(moved),
                method=_method(priors, hyper_priors, flat_prior), pooled=pooled)

