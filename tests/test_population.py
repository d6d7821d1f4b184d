"""Population (hierarchical) models: prior predictive, the vmapped forward model against a
per-galaxy loop, the log density against single-galaxy models (identity), a small
recovery and exact-vs-emulator agreement (slow), command-line mistakes."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynamicall.data import StarCatalog
from dynamicall.infer.population import HYPER, PopulationModel, truncated_normal_from_z

jax.config.update("jax_enable_x64", True)

EMULATOR = "zhao_bvh_plummer_v3"
SIZES = ((0.25, 40), (0.6, 25), (0.12, 31))  # R_half (kpc), stars: three star counts -> padding


def _catalogs():
    rng = np.random.default_rng(5)
    out = []
    for i, (R_half, n) in enumerate(SIZES):
        R = R_half * np.sqrt(rng.uniform(0.01, 3.0, n))
        out.append(StarCatalog.from_arrays(R=R, v=50.0 + 8.0 * rng.standard_normal(n), v_err=rng.uniform(1, 3, n),
                                           R_half=R_half, meta={"name": f"dwarf{i}", "log10_m_star": 5.0 + i}))
    return out


@pytest.fixture(scope="module")
def catalogs():
    return _catalogs()


@pytest.fixture(scope="module")
def emulated(catalogs):
    return PopulationModel(catalogs, forward=EMULATOR, trend="log10_m_star")


def _point(model, seed=0):
    """Sampled-site values: hyper inside their priors, z and unpooled sites drawn."""
    rng = np.random.default_rng(seed)
    ref = model.reference()
    out = {}
    for k, v in ref.items():
        if k.endswith(":z"):
            out[k] = float(rng.standard_normal())
        elif k.endswith(".scatter"):
            out[k] = 0.2
        elif k.endswith(".slope"):
            out[k] = 0.1
        elif k.endswith("v_sys"):
            out[k] = 50.0 + rng.normal()
        else:
            out[k] = float(v)
    out[f"{HYPER}:halo.gamma.mean"] = 0.9
    return out


def test_truncated_normal_has_the_truncated_moments():
    """The non-centred map gives N(mu, tau) truncated to [a, b]: mean and variance of the
    closed form (to 4 standard errors with 100k draws), draws inside the bounds, and
    mu + tau z when the bounds are far."""
    z = np.random.default_rng(1).standard_normal(100_000)
    mu, tau, lo, hi = 0.3, 0.5, 0.0, 1.5
    draw = jax.jit(truncated_normal_from_z)
    x = np.asarray(draw(jnp.asarray(z), mu, tau, lo, hi))
    a, b = (lo - mu) / tau, (hi - mu) / tau
    phi = lambda t: math.exp(-0.5 * t * t) / math.sqrt(2 * math.pi)  # noqa: E731
    Phi = lambda t: 0.5 * math.erfc(-t / math.sqrt(2))  # noqa: E731
    Z = Phi(b) - Phi(a)
    mean = mu + tau * (phi(a) - phi(b)) / Z
    var = tau**2 * (1 + (a * phi(a) - b * phi(b)) / Z - ((phi(a) - phi(b)) / Z) ** 2)
    assert x.min() >= lo and x.max() <= hi
    assert abs(x.mean() - mean) < 4 * math.sqrt(var / z.size)
    assert abs(x.var() / var - 1) < 4 * math.sqrt(2 / z.size)
    far = np.asarray(draw(jnp.asarray(z[:100]), 1.0, 0.1, -50.0, 50.0))
    np.testing.assert_allclose(far, 1.0 + 0.1 * z[:100], rtol=0, atol=1e-12)
    # an interval far in the upper tail of N(mu, tau): still inside and monotone in z
    tail = np.asarray(draw(jnp.linspace(-3, 3, 7), 0.0, 0.1, 1.0, 1.2))
    assert np.all(np.diff(tail) > 0) and tail.min() >= 1.0 and tail.max() <= 1.2


@pytest.mark.slow
@pytest.mark.emulator
def test_prior_predictive_has_the_population_mean_and_scatter(emulated):
    """Per-galaxy draws of a pooled site, hyperparameters fixed: mean mu + slope (x - x_ref)
    and standard deviation tau per galaxy (to 5 standard errors; bounds >= 5 tau away)."""
    from numpyro.handlers import condition
    from numpyro.infer import Predictive

    model = emulated
    mu, tau, slope = 0.9, 0.12, 0.1
    fixed = {f"{HYPER}:halo.gamma.mean": mu, f"{HYPER}:halo.gamma.scatter": tau,
             f"{HYPER}:halo.gamma.slope": slope}
    n = 2000
    draws = Predictive(condition(model, fixed), num_samples=n)(jax.random.PRNGKey(0), with_likelihood=False)
    gamma = np.asarray(draws["galaxies:halo.gamma"])
    assert gamma.shape == (n, model.n_galaxies)
    expected = mu + slope * (model.property - model.x_ref)
    np.testing.assert_allclose(gamma.mean(axis=0), expected, atol=5 * tau / math.sqrt(n))
    np.testing.assert_allclose(gamma.std(axis=0), tau, rtol=5 / math.sqrt(2 * n))
    assert model.x_ref == pytest.approx(6.0)


@pytest.mark.slow
@pytest.mark.emulator
def test_vmapped_emulator_forward_equals_the_per_galaxy_loop(emulated):
    """One vmapped evaluation for all galaxies (stars padded) equals, galaxy by galaxy,
    the unbatched evaluation and the single-galaxy KinematicModel's lean path (1e-12)."""
    model = emulated
    values = jax.jit(model.galaxy_values)({k: jnp.asarray(v) for k, v in _point(model).items()})
    batched = jax.jit(model.dispersions)(values)
    for i, galaxy in enumerate(model.galaxies):
        n = len(galaxy.data)
        one = {k: v[i] for k, v in values.items()}
        loop, single = jax.jit(lambda x, i=i, g=galaxy: (model.galaxy_dispersions(i, x), g.predict(x)["los"]))(one)
        np.testing.assert_allclose(batched[i, :n], loop, rtol=1e-12)
        np.testing.assert_allclose(batched[i, :n], single, rtol=1e-12)


@pytest.mark.slow
@pytest.mark.emulator
def test_log_density_is_the_sum_of_single_galaxy_models(emulated):
    """numpyro's log density of the population model = hyperpriors + N(0,1) of the z's +
    the truncated-normal population density of the centred sites (scipy) + the
    single-galaxy priors of unpooled sites + sum over galaxies of the single-galaxy
    KinematicModel log-likelihood and domain penalty at the same per-galaxy values."""
    from numpyro.infer.util import log_density
    from scipy.stats import truncnorm

    model = emulated
    assert model.centred == ("halo.log10_m_ref",)  # the default
    point = _point(model, seed=3)
    priors = model.named_priors()
    centred = 0.0
    for site in model.centred:
        mean, tau = point[f"{HYPER}:{site}.mean"], point[f"{HYPER}:{site}.scatter"]
        slope = point[f"{HYPER}:{site}.slope"]
        for i, lab in enumerate(model.labels):
            k = model.galaxy_site(lab, site)
            mu = mean + slope * (model.property[i] - model.x_ref)
            lo, hi = model.bounds[site][i]
            centred += truncnorm.logpdf(point[k], (lo - mu) / tau, (hi - mu) / tau, loc=mu, scale=tau)
            centred -= float(priors[k].log_prob(point[k]))  # the support's uniform, summed below

    def both(p):
        total = log_density(model, (), {}, model.vector_params(p))[0]  # the sampled (vector) sites
        values = model.galaxy_values(p)
        expected = sum(priors[k].log_prob(v) for k, v in p.items())
        for i, galaxy in enumerate(model.galaxies):
            one = {k: v[i] for k, v in values.items()}
            expected = expected + galaxy.log_likelihood(one) + galaxy.log_penalty(one)
        return total, expected, model.log_likelihood(values)

    total, expected, likelihood = jax.jit(both)({k: jnp.asarray(v) for k, v in point.items()})
    assert float(total) == pytest.approx(float(expected) + centred, rel=1e-12, abs=1e-9)
    assert abs(float(likelihood)) > 10  # a real likelihood, not zero


@pytest.mark.slow
def test_exact_forward_vmapped_equals_loop_and_single_galaxy_models(catalogs):
    """Exact engine: the vmapped evaluation equals the per-galaxy loop (1e-12), and the
    single-galaxy KinematicModel evaluated on the same grid (R / R_half grid x R_half)
    agrees to the engine's accuracy (JeansConfig.fast, ~3e-7: the population runs the
    engine in units of R_half, whose grid reach differs by a rounding of e-folds)."""
    model = PopulationModel(catalogs, forward="exact")
    values = model.galaxy_values({k: jnp.asarray(v) for k, v in _point(model).items()})
    batched = model.dispersions(values)
    for i, galaxy in enumerate(model.galaxies):
        n = len(galaxy.data)
        one = {k: v[i] for k, v in values.items()}
        np.testing.assert_allclose(batched[i, :n], model.galaxy_dispersions(i, one), rtol=1e-12)
        galaxy.R_grid = model.u_grid * galaxy.spec.R_half
        np.testing.assert_allclose(batched[i, :n], galaxy.predict(one)["los"], rtol=1e-6)


def _recovery_population(n_galaxies, seed):
    from dynamicall.infer.population_mocks import FIXED_TRUTH, mock_population

    hyper = {"halo.gamma": {"mean": 0.8, "scatter": 0.2}, "halo.log10_m_ref": {"mean": 7.4, "scatter": 0.3}}
    pop = mock_population(hyper, n_galaxies, seed, n_stars=(150, 250), anisotropy="constant",
                          truth={**FIXED_TRUTH, "halo.log10_r_s": 0.0})
    return [StarCatalog.from_table(t) for t in pop["catalogs"]], pop["truths"]


def _fit(catalogs, forward, **kw):
    from dynamicall.infer.population import fit_population

    return fit_population(catalogs, anisotropy="constant", forward=forward, priors=COMPARE_PRIORS,
                          pool=("halo.gamma", "halo.log10_m_ref"), progress=False, **kw)


#: One prior box for both forward models.
COMPARE_PRIORS = {"halo.alpha": 1.0, "halo.beta": 4.0, "halo.log10_r_s": (-0.5, 0.5), "halo.gamma": (0.0, 1.5)}


@pytest.fixture(scope="module")
def small_population():
    """4 mock galaxies (150-250 stars) and the emulator's fit of them (fitted once)."""
    catalogs, truths = _recovery_population(4, 7)
    return catalogs, truths, _fit(catalogs, EMULATOR, **SMALL_RUN)


SMALL_RUN = dict(warmup=400, samples=400, chains=2, seed=1)


@pytest.mark.slow
@pytest.mark.emulator
def test_small_recovery_and_outputs(small_population, tmp_path):
    """The emulator fit's hyper-means hold their truth within their 99 % intervals,
    per-galaxy log10 M(<1.8 R_half) lies within 4 sigma of the truth, and the outputs
    (summary.json, samples.h5, plots) are written as one set."""
    catalogs, truths, emu = small_population
    for site in ("halo.gamma", "halo.log10_m_ref"):
        draws = np.asarray(emu.samples[f"{HYPER}:{site}.mean"]).reshape(-1)
        lo, hi = np.percentile(draws, [0.5, 99.5])
        assert lo <= truths["hyper_truth"][site]["mean"] <= hi, site
    derived = emu.derived()
    for label, truth in truths["galaxies"].items():
        m = np.log10(derived[f"{label}:M_1.8_R_half"]).reshape(-1)
        assert abs(np.median(m) - math.log10(truth["M_1.8_R_half"])) < 4 * np.std(m), label
    paths = emu.save(tmp_path / "fit")
    import json

    summary = json.loads(open(paths["summary"]).read())
    assert set(summary["galaxies"]) == set(truths["galaxies"])
    assert summary["hyper_truth"]["pop:halo.gamma.mean"] == 0.8
    assert {"hyper_corner", "galaxies", "samples"} <= set(paths)


@pytest.mark.slow
@pytest.mark.emulator
def test_exact_engine_agrees_with_the_emulator(small_population):
    """The emulator's draws, importance-reweighted to the exact engine's likelihood (same
    priors: gamma in the emulator's [0, 1.5], where the default exact box is [0, 2]), are
    the exact hyperposterior: the weights are nearly equal (their ESS > 95 % of the draws)
    and every hyperparameter's median moves by < 0.1 sigma.

    Reweighting compares the two forward models on the same draws, without the Monte Carlo
    noise of two independent chains: at this run length (2 x 400 draws) two emulator fits
    of the same posterior differed by 0.3 sigma in the median of gamma's population mean
    (measured 2026-12-02), and an exact and an emulator fit by 0.58 sigma (the strict xfail
    this test replaces), while ln L_exact - ln L_emulator varied by 0.002 over the draws."""
    from dynamicall.infer.population import reweighted_hyperposterior

    catalogs, _, emu = small_population
    exact = PopulationModel(catalogs, anisotropy="constant", forward="exact", priors=COMPARE_PRIORS,
                            pool=("halo.gamma", "halo.log10_m_ref"))
    rw = reweighted_hyperposterior(emu, exact)
    assert rw["ess_weights"] > 0.95 * rw["n_draws"], rw
    assert rw["delta_loglik_std"] > 0  # two forward models, not one evaluated twice
    for k, h in rw["hyper"].items():
        assert abs(h["q50"] - h["q50_unweighted"]) < 0.1 * h["std"], (k, h)


# ---------------------------------------------------------------------- commands
def _one_line_error(capsys, argv):
    from dynamicall.cli import USER_ERROR, main

    assert main(argv) == USER_ERROR
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error:" in err[0] and "Traceback" not in err[0]
    return err[0]


def test_commands_refuse_bad_input_in_one_line(tmp_path, capsys, catalogs):
    one = tmp_path / "one.ecsv"
    catalogs[0].to_table().write(one, format="ascii.ecsv")
    assert "at least 2 catalogues" in _one_line_error(capsys, ["fit-population", str(one), "--out", str(tmp_path / "f")])
    no_half = tmp_path / "nohalf.ecsv"
    t = catalogs[1].to_table()
    t.meta.pop("R_half", None)
    t.write(no_half, format="ascii.ecsv")
    assert "R_half" in _one_line_error(capsys, ["fit-population", str(one), str(no_half), "--out", str(tmp_path / "f")])
    assert "--R-half" in _one_line_error(capsys, ["fit-population", str(one), str(one), "--R-half", "1 kpc",
                                                  "--out", str(tmp_path / "f")])
    assert "trend-property" in _one_line_error(capsys, ["fit-population", str(one), str(one), "--trend-property",
                                                        "missing", "--out", str(tmp_path / "f")])
    assert "--centred" in _one_line_error(capsys, ["fit-population", str(one), str(one), "--pool", "halo.gamma",
                                                   "--centred", "halo.log10_m_ref", "--out", str(tmp_path / "f")])
    assert "SCATTER" in _one_line_error(capsys, ["mock-population", "--hyper", "halo.gamma=1", "--out", str(tmp_path / "m")])
    full = tmp_path / "full"
    full.mkdir()
    (full / "galaxy00.ecsv").write_text("x")
    assert "--overwrite" in _one_line_error(capsys, ["mock-population", "--out", str(full)])


def test_truncated_normal_log_prob_matches_scipy():
    """The centred sites' density: ln of the truncated normal against scipy's truncnorm,
    intervals around the mean, in the lower and in the far upper tail (mirrored normaliser),
    one-sided; the distribution's draws stay inside and have the truncated mean."""
    from scipy.stats import truncnorm

    from dynamicall.infer.population import PopulationTruncatedNormal, truncated_normal_log_prob

    cases = [(7.3, 7.4, 0.3, 4.0, 11.0), (0.2, 0.8, 0.2, 0.0, 1.5), (1.3, 0.1, 0.2, 1.2, 1.5),
             (-0.2, 3.0, 0.5, -1.0, 0.3), (5.0, 4.0, 1.0, 3.0, np.inf), (0.5, 0.0, 1.0, -np.inf, 1.0)]
    x, mu, tau, lo, hi = np.array(cases).T
    expected = truncnorm.logpdf(x, (lo - mu) / tau, (hi - mu) / tau, loc=mu, scale=tau)
    np.testing.assert_allclose(jax.jit(truncated_normal_log_prob)(x, mu, tau, lo, hi), expected, rtol=1e-9, atol=1e-9)

    @jax.jit
    def draws(key):
        d = PopulationTruncatedNormal(jnp.array([0.3, 7.4]), jnp.array([0.5, 0.3]), np.array([0.0, 4.0]),
                                      np.array([1.5, 11.0]))
        return d.sample(key, (20_000,)), d.log_prob(jnp.array([0.5, 7.0]))

    x, log_p = draws(jax.random.PRNGKey(0))
    x = np.asarray(x)
    np.testing.assert_allclose(log_p, truncnorm.logpdf([0.5, 7.0], [-0.6, -3.4 / 0.3], [2.4, 3.6 / 0.3],
                                                       loc=[0.3, 7.4], scale=[0.5, 0.3]), rtol=1e-9)
    assert x.shape == (20_000, 2) and np.all(x >= [0.0, 4.0]) and np.all(x <= [1.5, 11.0])
    np.testing.assert_allclose(x.mean(axis=0), truncnorm.mean([-0.6, -3.4 / 0.3], [2.4, 3.6 / 0.3],
                                                              loc=[0.3, 7.4], scale=[0.5, 0.3]), atol=0.02)


@pytest.mark.slow
def test_centred_and_noncentred_define_one_posterior(catalogs):
    """The centred parameterisation of a pooled site is a change of variables of the
    non-centred one: ln p_centred(theta) + ln |d theta / d z| = ln p_noncentred(z) at
    theta = the truncated-normal map of z (priors and population densities; the
    likelihood is the same function of theta in both)."""
    from numpyro.infer.util import log_density

    site = "halo.log10_m_ref"
    noncentred = PopulationModel(catalogs, forward="exact", centred=())
    centred = PopulationModel(catalogs, forward="exact")
    assert centred.centred == (site,) and noncentred.centred == ()
    assert centred.vector_site(site) == "galaxy:halo.log10_m_ref" and noncentred.vector_site(site).endswith(":z")
    point = _point(noncentred, seed=3)
    point[f"{HYPER}:{site}.mean"], point[f"{HYPER}:{site}.scatter"] = 7.2, 0.4
    z = jnp.array([point[noncentred.galaxy_site(lab, site)] for lab in noncentred.labels])
    b = noncentred.bounds[site]

    def theta_of(z1, lo, hi):
        return truncated_normal_from_z(z1, 7.2, 0.4, lo, hi)

    theta = jax.vmap(theta_of)(z, b[:, 0], b[:, 1])
    jacobian = jax.vmap(jax.grad(theta_of))(z, b[:, 0], b[:, 1])
    moved = {k: v for k, v in point.items() if not k.endswith(f"{site}:z")}
    moved.update({centred.galaxy_site(lab, site): theta[i] for i, lab in enumerate(centred.labels)})

    def log_p(model, p):
        sampled = model.vector_params({k: jnp.asarray(v) for k, v in p.items()})
        return float(log_density(model, (False,), {}, sampled)[0])

    assert log_p(centred, moved) + float(jnp.sum(jnp.log(jacobian))) == pytest.approx(log_p(noncentred, point),
                                                                                       rel=1e-12, abs=1e-10)
    np.testing.assert_allclose(centred.galaxy_values(moved)[site], theta, rtol=1e-14)


def test_model_refuses_bad_arguments(catalogs):
    with pytest.raises(ValueError, match="centred site 'halo.gamma' is not pooled"):
        PopulationModel(catalogs, pool=("halo.log10_m_ref",), centred=("halo.gamma",))
    with pytest.raises(ValueError, match="not a free halo site"):
        PopulationModel(catalogs, pool=("anisotropy.beta_0",))
    with pytest.raises(ValueError, match="scale differs"):
        PopulationModel(catalogs, priors={"anisotropy.log10_r_a": -0.5})
    with pytest.raises(ValueError, match="trend property"):
        PopulationModel(catalogs, trend="no_such_key")
    with pytest.raises(ValueError, match="R_half"):
        PopulationModel([StarCatalog.from_arrays(R=[0.1, 0.2], v=[1.0, 2.0], v_err=[1.0, 1.0])])
