r"""Forecasts from the posterior a fit of the planned survey would report: of the noise-free
data set, or averaged over simulated surveys.

A Fisher forecast (:func:`dynamicall.infer.fisher.forecast`) linearises the model at the
truth and replaces every prior by a Gaussian. For a degenerate model (a Zhao halo with
Baes-van Hese anisotropy: 9 parameters, most left to their priors by line-of-sight
velocities) the posterior is neither: it follows a curved ridge cut by the priors'
bounds, and the linear forecast of a quantity that is constant along the ridge (the
density at 150 pc) comes out up to 2x too wide (docs/forecast.md).

:func:`posterior_forecast` samples instead the posterior of the *noise-free* data set
(the "Asimov" data set of Cowan et al. 2011): the log-likelihood is replaced by its
expectation over data sets drawn from the truth,

.. math::

    E[\ln L(\theta)] = \sum_i w_i \left[-\tfrac12 \ln 2\pi C_i(\theta)
                       - \tfrac12 C_i(\theta_0) / C_i(\theta)\right],
    \qquad C_i = \sigma_{\rm los}^2(R_i) + e_i^2

(:func:`dynamicall.infer.fisher.expected_log_likelihood`, whose Hessian at the truth is
minus the Fisher matrix), times the exact priors a fit of the same
:class:`~dynamicall.infer.spec.ModelSpec` uses, with NUTS. Its standard deviations are the
forecast. In the Gaussian limit (many stars, parameters far from their bounds) it equals
the Fisher forecast; beyond it, it keeps the ridge's curvature and the priors' bounds. The
systemic velocity decouples from the dispersions (the cross terms of its Fisher matrix
vanish), so it is held at the truth and its error is the Fisher one, 1 / sqrt(sum w / C).

The width one survey gets scatters around this: its data are a random draw. With
``realisations=K`` the forecast is instead the mean width over the posteriors of K
simulated surveys (:func:`survey_data_sets`: a Poisson number of stars at each node of
the design and the sum of their squared velocities drawn from the truth, the sufficient
statistics of the Gaussian likelihood), and the 16-84 % range of their widths is returned.
For the Zhao + Baes-van Hese model at 1600 stars that range is about +-15 %, and the mean
matches the mean NUTS width of ten mock catalogues (docs/forecast.md).

Cost: one NUTS run per survey size, with the forward model of ``spec`` (exact engine or
emulator), compiled once for every size (the data are arguments of the compiled
program): 30-45 s each on a 2-core CPU for the 9-parameter model with the exact engine;
with ``realisations=16`` 200-270 s (vectorised chains wait for the longest trajectory).

Example
-------
>>> from dynamicall.infer.spec import ModelSpec
>>> from dynamicall.infer.survey import SurveyDesign
>>> spec = ModelSpec("plummer", "nfw", "constant", R_half=0.25)
>>> truth = {"halo.log10_rho_s": 7.6, "halo.log10_r_s": 0.0, "anisotropy.beta": 0.2}
>>> design = SurveyDesign.from_tracer(spec.build(truth)[0], 100, v_err=2.0, R_max=1.25)
>>> out = posterior_forecast(spec, truth, design, [300, 3000])  # doctest: +SKIP
>>> relative = out["sigma"]["M_1.8_R_half"] / out["values"]["M_1.8_R_half"]  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

#: NUTS settings of a posterior forecast (per survey size). Monte Carlo error of the
#: standard deviations, measured: ~3 % for a near-Gaussian posterior, ~7 % for the
#: 9-parameter Zhao + Baes-van Hese model at 400 and 1600 stars (twelve seeds at 1600: sd ln M
#: 0.076-0.097; its slowest direction, along gamma, mixes least).
DEFAULT_WARMUP = 500
DEFAULT_SAMPLES = 1000
DEFAULT_CHAINS = 4
#: The same per simulated survey: the forecast averages the surveys' widths, so their
#: scatter (~15 % per survey at 1600 stars), not each run's Monte Carlo error, sets its noise.
SIMULATED_NUTS = dict(warmup=300, samples=500, chains=2)
#: Derived quantities whose width is that of ln Q (relative); the others absolute.
LOG_QUANTITIES = ("M_1.8_R_half", "rho_150pc")

METHOD = ("noise-free posterior: NUTS on the expected log-likelihood of the survey with the priors a "
          "fit uses (exact, bounds included)")
SIMULATED_METHOD = ("posterior of simulated surveys: the mean standard deviation of NUTS posteriors of {k} "
                    "surveys drawn from the truth, with the priors a fit uses (exact, bounds included)")


def _derived_function(spec):
    """(names, draws -> derived quantities (draws, names)), compiled."""
    import jax

    from .derived import DERIVED_NAMES, derived_array

    return DERIVED_NAMES, jax.jit(jax.vmap(lambda values: derived_array(spec, values)))


def _widths(draws: dict, derived_names, derived_draws) -> dict:
    """Standard deviation of every site and derived quantity over the draws; masses and
    densities as sd of ln Q (multiplied by |Q| at the truth by the caller)."""
    out = {k: float(np.std(v)) for k, v in draws.items()}
    for i, name in enumerate(derived_names):
        x = np.asarray(derived_draws[:, i], float)
        if name in LOG_QUANTITIES:
            x = np.log(x)
        out[name] = float(np.std(x))
    return out


def _prior_draws(spec, size: int, seed: int) -> dict:
    """``size`` independent draws from each free parameter's prior."""
    import jax

    keys = jax.random.split(jax.random.PRNGKey(seed + 1), len(spec.free))
    return {p.site: np.asarray(p.prior.sample(k, (size,)), float) for p, k in zip(spec.free, keys)}


def _max_split_r_hat(draws: dict) -> float:
    from numpyro.diagnostics import split_gelman_rubin

    return float(max(np.max(split_gelman_rubin(np.asarray(v))) for v in draws.values()))


def _compiled_nuts(model, data0, init_values, warmup, samples, chains, seed):
    """``run(data, seed) -> (draws, diverging)``: NUTS (dense mass, chains vectorised,
    started at ``init_values``) on ``model(*data_k)`` for every data set ``k`` (the arrays
    of ``data`` carry a leading data-set axis), compiled once for every shape of ``data``
    (numpyro's ``MCMC`` compiles again at each run). ``draws``: site -> (data sets, chains,
    samples), constrained; ``data0``: one data set, to build the model."""
    import jax
    import jax.numpy as jnp
    from numpyro.infer import init_to_value
    from numpyro.infer.hmc import hmc
    from numpyro.infer.util import initialize_model

    info, potential_gen, postprocess_gen, _ = initialize_model(
        jax.random.PRNGKey(seed), model, model_args=data0, dynamic_args=True,
        init_strategy=init_to_value(values=init_values))
    init_kernel, sample_kernel = hmc(potential_fn_gen=potential_gen, algo="NUTS")
    z0 = info.z
    total = warmup + samples

    def one_data_set(data, key):
        def init(k):
            return init_kernel(z0, warmup, dense_mass=True, rng_key=k, model_args=data)

        state = jax.vmap(init)(jax.random.split(key, chains))
        step = jax.vmap(lambda st: sample_kernel(st, model_args=data))

        def body(st, _):
            st = step(st)
            return st, (st.z, st.diverging)

        _, (z, diverging) = jax.lax.scan(body, state, None, length=total)
        z = jax.tree_util.tree_map(lambda x: x[warmup:], z)
        constrained = jax.vmap(jax.vmap(postprocess_gen(*data)))(z)  # (samples, chains)
        return constrained, diverging[warmup:]

    @jax.jit
    def run_all(data, key):
        keys = jax.random.split(key, data[0].shape[0])
        return jax.vmap(one_data_set)(data, keys)

    def run(data, run_seed):
        data = tuple(jnp.asarray(a, float) for a in data)
        draws, diverging = run_all(data, jax.random.PRNGKey(run_seed))
        draws = {k: np.swapaxes(np.asarray(v, float), 1, 2) for k, v in draws.items()}
        return draws, np.asarray(diverging)

    return run


def survey_data_sets(stars_per_node, C0, n_quantities: int, realisations: int, rng):
    """The sufficient statistics of the Gaussian likelihood at each node of a design:
    (counts, sums), each (data sets, nodes x quantities), for
    :func:`dynamicall.infer.likelihoods.gaussian_summed`.

    ``realisations == 0``: the noise-free data set, n_j = the expected number of stars
    and S_j = n_j C_j(theta_0) (its log-likelihood is the expected one). Otherwise that
    many simulated surveys: n_j ~ Poisson(expected number) per node (the stars' radii
    and errors; shared by a star's measured quantities) and S_j = C_j(theta_0) chi^2_{n_j}
    (the sum of the squared velocities of those stars about v_sys).

    Parameters
    ----------
    stars_per_node : ndarray (nodes,)
        Expected number of stars at each node.
    C0 : ndarray (nodes x quantities,)
        Variances at the truth, km^2/s^2 (quantities stacked as the design's).
    n_quantities : int
    realisations : int
    rng : numpy.random.Generator
    """
    lam = np.asarray(stars_per_node, float)
    if realisations == 0:
        counts = np.tile(lam, n_quantities)[None]
        return counts, counts * C0
    nodes = rng.poisson(lam, size=(int(realisations), lam.size)).astype(float)
    counts = np.tile(nodes, (1, n_quantities))
    chi2 = 2.0 * rng.gamma(np.where(counts > 0, counts, 1.0) / 2.0)
    return counts, np.where(counts > 0, chi2, 0.0) * C0


class PosteriorForecaster:
    """The forecast posterior of one survey design, for any number of stars: the
    likelihood, the priors and the NUTS program are built and compiled once (the data,
    so the number of stars, are arguments of the compiled program).

    Parameters are those of :func:`posterior_forecast` (without ``n_stars``).
    """

    def __init__(self, spec, truth: dict, design, *, proper_motions=None, realisations: int = 0,
                 warmup: int | None = None, samples: int | None = None, chains: int | None = None,
                 seed: int = 0):
        import jax.numpy as jnp
        import numpyro

        from .derived import DERIVED
        from .fisher import _design_quantities, _theta, _variances
        from .likelihoods import gaussian_summed

        if int(realisations) != realisations or realisations < 0:
            raise ValueError(f"realisations must be an integer >= 0 (0: the noise-free data set); "
                             f"got {realisations!r}")
        defaults = (SIMULATED_NUTS if realisations else
                    dict(warmup=DEFAULT_WARMUP, samples=DEFAULT_SAMPLES, chains=DEFAULT_CHAINS))
        warmup = defaults["warmup"] if warmup is None else warmup
        samples = defaults["samples"] if samples is None else samples
        chains = defaults["chains"] if chains is None else chains
        for name, value in (("warmup", warmup), ("samples", samples), ("chains", chains)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be an integer >= 1; got {value!r}")
        self.chains, self.seed, self.realisations = int(chains), int(seed), int(realisations)
        self.method = SIMULATED_METHOD.format(k=self.realisations) if self.realisations else METHOD
        sites, theta0 = _theta(spec, truth)
        theta0 = np.asarray(theta0, float)
        v_sys = float(truth.get("v_sys", 0.0))
        quantities = _design_quantities(design, proper_motions)
        variances = _variances(spec, design, quantities, sites)
        self._C0 = np.asarray(variances(jnp.asarray(theta0)), float)
        self._n_quantities = len(quantities)
        self._weights = np.asarray(design.weights, float)
        self.n_design = float(design.n_stars)

        def model(counts, sums):
            values = spec.sample()
            C = variances(jnp.stack([jnp.asarray(values[s], theta0.dtype) for s in sites]))
            numpyro.factor("log_likelihood", gaussian_summed(counts, sums, C))

        # v_sys: -d^2 E[ln L] / d v_sys^2 per design, sum over line-of-sight nodes of w / C
        self.curvature_v = float(np.sum(self._weights / self._C0[:self._weights.size]))
        self.derived_names, self.derived_fn = _derived_function(spec)
        at_truth = dict(zip(sites, theta0))
        data0 = tuple(a[0] for a in self._data_sets(self.n_design, None, realisations=0))
        self._run = _compiled_nuts(model, data0, at_truth, int(warmup), int(samples), self.chains, self.seed)
        self._calls = 0
        # the truth's derived quantities and the priors-alone widths, through the same
        # compiled batch as the draws (data sets x chains x samples points)
        prior_draws = _prior_draws(spec, max(self.realisations, 1) * self.chains * int(samples) - 1, self.seed)
        batch = {k: np.append(prior_draws[k], at_truth[k]) for k in sites}
        derived = np.asarray(self.derived_fn({k: jnp.asarray(v) for k, v in batch.items()}))
        values = {s: float(v) for s, v in at_truth.items()}
        values["v_sys"] = v_sys
        values.update({n: float(v) for n, v in zip(self.derived_names, derived[-1])})
        self.values = values
        self._scale = {n: abs(values[n]) if n in LOG_QUANTITIES else 1.0 for n in self.derived_names}
        prior = self._in_units(_widths(prior_draws, self.derived_names, derived[:-1]))
        for p in spec.free:  # exact where the prior has a finite variance
            try:
                variance = float(p.prior.variance)
            except (NotImplementedError, TypeError, ValueError):
                continue
            if np.isfinite(variance):
                prior[p.site] = float(np.sqrt(variance))
        prior["v_sys"] = np.inf  # a fit's v_sys prior follows the data
        self.order = list(sites) + ["v_sys"] + list(self.derived_names)
        self.prior_sigma = {k: prior[k] for k in self.order}
        units = {p.site: p.unit for p in spec.free}
        units["v_sys"] = "km/s"
        units.update({n: DERIVED[n][0] for n in self.derived_names})
        self.units = units
        self.sites = sites

    def _in_units(self, widths: dict) -> dict:
        widths.update({k: widths[k] * self._scale[k] for k in self.derived_names})
        return widths

    def _data_sets(self, n_stars, rng, realisations=None):
        k = self.realisations if realisations is None else realisations
        return survey_data_sets(self._weights * (n_stars / self.n_design), self._C0, self._n_quantities, k, rng)

    def sigma_at(self, n_stars: float) -> dict:
        """name -> 1 sigma for ``n_stars`` stars (the mean over the simulated surveys if
        ``realisations``), plus ``_r_hat`` (the largest), ``_divergences`` (all) and, with
        ``realisations``, ``_spread``: name -> the 16th and 84th percentiles of the
        surveys' widths."""
        import jax.numpy as jnp

        n = float(n_stars)
        if not (np.isfinite(n) and n > 0):
            raise ValueError(f"n_stars must be finite and > 0; got {n_stars!r}")
        run_seed = self.seed + self._calls
        self._calls += 1
        data = self._data_sets(n, np.random.default_rng([self.seed, run_seed]))
        draws, diverging = self._run(data, run_seed)
        K = data[0].shape[0]
        flat = {k: v.reshape(K, -1) for k, v in draws.items()}
        derived = np.asarray(self.derived_fn({k: jnp.asarray(v.reshape(-1)) for k, v in flat.items()}))
        derived = derived.reshape(K, -1, derived.shape[-1])
        per_set = [self._in_units(_widths({k: v[i] for k, v in flat.items()}, self.derived_names, derived[i]))
                   for i in range(K)]
        out = {k: float(np.mean([w[k] for w in per_set])) for k in per_set[0]}
        out["v_sys"] = float(1.0 / np.sqrt(n / self.n_design * self.curvature_v))
        out = {k: out[k] for k in self.order}
        out["_r_hat"] = (max(_max_split_r_hat({k: v[i] for k, v in draws.items()}) for i in range(K))
                         if self.chains > 1 else float("nan"))
        out["_divergences"] = int(diverging.sum())
        if self.realisations:
            out["_spread"] = {k: tuple(float(x) for x in np.percentile([w[k] for w in per_set], [16, 84]))
                              for k in per_set[0]}
        return out


def posterior_forecast(spec, truth: dict, design, n_stars, *, proper_motions=None, realisations: int = 0,
                       warmup: int | None = None, samples: int | None = None, chains: int | None = None,
                       seed: int = 0, forecaster=None) -> dict:
    """1 sigma forecasts for several survey sizes from the noise-free posterior, or the mean
    over simulated surveys (``realisations``).

    Parameters
    ----------
    spec : ModelSpec
        Model, priors and forward model (as for a fit).
    truth : dict
        site -> value of the true model (``v_sys`` optional, km/s), in ``spec``'s
        parameterisation (:func:`dynamicall.infer.fisher.truth_in_parameterization`).
    design : SurveyDesign
        The stars' radii, errors and weights (scaled to each size).
    n_stars : sequence of numbers
        Survey sizes (> 0).
    proper_motions : bool, optional
        Use the design's proper motions (default: if it has them).
    realisations : int
        0 (default): the posterior of the noise-free data set. K > 0: the mean width over
        the posteriors of K simulated surveys (Poisson numbers of stars at the design's
        nodes, velocities drawn from the truth; :func:`survey_data_sets`), with the
        16-84 % range of their widths in ``spread``: the width one survey gets scatters
        (~15 % at 1600 stars for the Zhao + Baes-van Hese model). Costs K runs,
        vectorised.
    warmup, samples, chains : int, optional
        NUTS settings per survey size and data set (chains vectorised, dense mass matrix);
        default 500, 1000 and 4 for the noise-free data set, :data:`SIMULATED_NUTS` for
        simulated surveys.
    seed : int
        Random seed.
    forecaster : PosteriorForecaster, optional
        One already built for this design (to reuse its compiled sampler).

    Returns
    -------
    dict with the keys of :func:`dynamicall.infer.fisher.forecast` (``n_stars``,
    ``sigma``: name -> array over sizes, in the quantity's units (masses and densities:
    sd of ln Q times Q at the truth), ``values``, ``units``, ``prior_sigma``: the same
    widths from the priors alone, ``prior_dominated``, ``priors`` (True),
    ``prior_sources``, ``method``), plus ``r_hat`` and ``divergences`` per size, and with
    ``realisations`` ``spread``: name -> (sizes, 2) array of the 16th and 84th
    percentiles of the simulated surveys' widths.

    Raises
    ------
    ValueError
        Bad sizes or NUTS settings.
    """
    from .fisher import PRIOR_DOMINATED

    n_stars = np.atleast_1d(np.asarray(n_stars, dtype=float))
    if not (n_stars.size and np.all(np.isfinite(n_stars)) and np.all(n_stars > 0)):
        raise ValueError(f"n_stars must be finite and > 0; got {n_stars.tolist()}")
    f = forecaster or PosteriorForecaster(spec, truth, design, proper_motions=proper_motions,
                                          realisations=realisations, warmup=warmup, samples=samples,
                                          chains=chains, seed=seed)
    rows = [f.sigma_at(n) for n in n_stars]
    sigma = {k: np.asarray([r[k] for r in rows]) for k in f.order}
    dominated = {k: s > PRIOR_DOMINATED * f.prior_sigma[k] for k, s in sigma.items()}
    out = dict(n_stars=n_stars, sigma=sigma, prior_dominated=dominated, values=dict(f.values),
               units=dict(f.units), prior_sigma=dict(f.prior_sigma), priors=True,
               prior_sources={s: "exact" for s in f.sites}, method=f.method,
               r_hat=np.asarray([r["_r_hat"] for r in rows]),
               divergences=np.asarray([r["_divergences"] for r in rows]), realisations=f.realisations)
    if f.realisations:
        out["spread"] = {k: np.asarray([r["_spread"][k] for r in rows]) for k in f.order if k != "v_sys"}
    return out


def posterior_stars_for_target(forecaster, fisher_sigma, quantity: str, target: float, *,
                               relative: bool = False, iterations: int = 3, n_max: float = 1e8) -> dict:
    """The number of stars at which the forecaster's posterior 1 sigma of ``quantity`` (noise-free,
    or the mean over its simulated surveys) reaches ``target``.

    A posterior run per trial size is too costly for a bisection, so the Fisher curve
    sigma_F(N) (cheap, monotone) is corrected by the posterior: starting from the Fisher
    answer N_0, each iteration runs the posterior at N_k, takes the ratio
    r_k = sigma_post(N_k) / sigma_F(N_k), and solves r_k sigma_F(N) = target for
    N_{k+1} (bisection in ln N); it stops when N changes by less than 5 %.

    Parameters
    ----------
    forecaster : PosteriorForecaster
    fisher_sigma : callable
        N -> the Fisher forecast's 1 sigma of ``quantity`` (same units).
    quantity, target, relative
        As for :func:`dynamicall.infer.fisher.stars_for_target`.
    iterations : int
        Most posterior runs.

    Returns
    -------
    dict as :func:`~dynamicall.infer.fisher.stars_for_target`, plus ``posterior_sigma``
    (the posterior's width, relative if ``relative``, at ``posterior_n``: the size of the
    last posterior run, within 5 % of the returned N when ``converged``) and
    ``posterior_runs``.
    """
    if quantity not in forecaster.values:
        raise ValueError(f"unknown target quantity {quantity!r}; choose from {sorted(forecaster.values)}")
    value = forecaster.values[quantity]
    scale = abs(value) if relative else 1.0
    if relative and scale == 0:
        raise ValueError(f"{quantity} is 0 at the truth: give an absolute target")
    out = dict(quantity=quantity, target=float(target), relative=bool(relative), value=value, n_max=float(n_max))
    if forecaster.prior_sigma[quantity] / scale <= target:
        out.update(n_stars=0.0, sigma_at_n_max=float("nan"), posterior_runs=0)
        return out

    from .fisher import solve_stars

    def solve(ratio):
        return solve_stars(lambda n: ratio * fisher_sigma(n) / scale, target, n_max)

    n, ratio, runs, sigma, n_run, converged = solve(1.0), 1.0, 0, float("nan"), float("nan"), False
    for _ in range(int(iterations)):
        if not np.isfinite(n):
            break
        sigma, n_run = forecaster.sigma_at(n)[quantity], n
        runs += 1
        ratio = sigma / fisher_sigma(n)
        new = solve(ratio)
        converged = bool(np.isfinite(new) and abs(np.log(new / n)) < 0.05)
        n = new
        if converged:
            break
    out.update(n_stars=float(n), sigma_at_n_max=float(ratio * fisher_sigma(n_max) / scale),
               posterior_sigma=sigma / scale, posterior_n=float(n_run), posterior_runs=runs, converged=converged)
    return out
