"""dynamicall.infer: specs and priors, the forward-model swap, likelihoods, NUTS (recovery,
checkpoint/resume), outputs and the ``fit`` command.

NUTS runs use one cached fit (tests/infer_helpers.py: a 2000-star NFW mock, exact engine)
so that compilation is paid once. Tests that need the shipped emulator are marked
``emulator`` and fail (they do not skip) when it is missing.
"""

from __future__ import annotations

import json
import sys
import types
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest

from dynamicall.anisotropy import BaesVanHese, Constant
from dynamicall.data import StarCatalog
from dynamicall.infer import (
    DERIVED,
    EmulatorForward,
    ExactForward,
    KinematicModel,
    ModelSpec,
    load_samples,
    resolve_forward,
    sample,
    to_inference_data,
    write_outputs,
)
from dynamicall.infer.priors import support_bounds
from dynamicall.jeans import JeansConfig, projected_dispersions, sigma_los
from dynamicall.profiles import Hernquist, Plummer, Zhao
from dynamicall.units import KMS_PER_KPC_MASYR

from infer_helpers import (
    NFW_PRIORS,
    NFW_RUN,
    NFW_TRUTH,
    SHIPPED_MOCK,
    FakeEmulator,
    mock,
    mock_table,
    nfw_fit,
    nfw_mock,
    nfw_model,
)

MOCK_TRUTH_SITES = ("halo.log10_rho_s", "halo.log10_r_s", "halo.alpha", "halo.beta", "halo.gamma",
                    "anisotropy.beta_0", "anisotropy.beta_inf", "anisotropy.log10_r_a", "anisotropy.eta")


# ---------------------------------------------------------------------------- specs
def test_spec_sites_and_log_uniform_default_priors():
    spec = ModelSpec("plummer", "zhao", "baes-van-hese", R_half=0.25)
    assert spec.sites == MOCK_TRUTH_SITES
    for site in ("halo.log10_rho_s", "halo.log10_r_s", "anisotropy.log10_r_a"):
        prior = spec.parameter(site).prior
        assert isinstance(prior, dist.Uniform), site  # uniform in log10: log-uniform scale
    assert support_bounds(spec.parameter("halo.gamma").prior) == (0.0, 2.0)
    tracer, mass, anis = spec.build(spec.reference())
    assert isinstance(tracer, Plummer) and float(tracer.r_s) == 0.25
    assert isinstance(mass, Zhao) and isinstance(anis, BaesVanHese)


def test_tracer_scale_is_set_by_R_half_for_any_family():
    spec = ModelSpec("hernquist", "nfw", "constant", R_half=0.3)
    tracer = spec.build(spec.reference())[0]
    assert isinstance(tracer, Hernquist)
    assert float(tracer.half_light_radius()) == pytest.approx(0.3, rel=1e-8)


def test_prior_overrides_fixed_values_and_errors():
    import astropy.units as u

    spec = ModelSpec("plummer", "nfw", "constant", R_half=0.25, priors={
        "halo.log10_rho_s": (6.0, 9.0),
        "halo.r_s": 500 * u.pc,
        "anisotropy.beta": dist.Normal(0.0, 0.3),
    })
    assert spec.sites == ("halo.log10_rho_s", "anisotropy.beta")
    assert spec.parameter("halo.log10_r_s").value == pytest.approx(np.log10(0.5), rel=1e-14)
    assert support_bounds(spec.parameter("halo.log10_rho_s").prior) == (6.0, 9.0)
    with pytest.raises(ValueError, match=r"unknown prior names \['halo.gama'\]"):
        ModelSpec("plummer", "zhao", "constant", R_half=0.25, priors={"halo.gama": 1.0})
    with pytest.raises(ValueError, match="R_half"):
        ModelSpec("plummer", "zhao", "constant")
    with pytest.raises(ValueError, match="unknown model family 'zaho'"):
        ModelSpec("plummer", "zaho", "constant", R_half=0.25)
    with pytest.raises(ValueError, match="log10 site 'halo.log10_r_s'"):
        ModelSpec("plummer", "nfw", "constant", R_half=0.25, priors={"halo.r_s": (0.1, 1.0)})


def test_stellar_mass_adds_the_stars_to_the_mass_model():
    spec = ModelSpec("plummer", "nfw", "constant", R_half=0.25, stellar_mass=1e6)
    tracer, mass, _ = spec.build(spec.reference())
    halo = spec.halo(spec.reference())
    extra = float(mass.mass(0.25) - halo.mass(0.25))
    assert extra == pytest.approx(float(Plummer(m_tot=1e6, r_s=0.25).mass(0.25)), rel=1e-12)


def test_build_is_traceable():
    spec = ModelSpec("plummer", "zhao", "baes-van-hese", R_half=0.25)

    def mass_at_half(theta):
        _, mass, _ = spec.build(dict(zip(spec.sites, theta)))
        return mass.density(0.25)

    theta = jnp.array([7.5, 0.0, 1.0, 4.0, 1.0, 0.0, 0.3, -0.5, 2.0])
    g = jax.jit(jax.grad(mass_at_half))(theta)
    # d rho / d log10 rho_s = ln(10) rho
    assert float(g[0]) == pytest.approx(np.log(10) * float(mass_at_half(theta)), rel=1e-12)


# ---------------------------------------------------------------------------- forward swap
def test_resolve_forward():
    assert isinstance(resolve_forward("exact"), ExactForward)
    assert resolve_forward(JeansConfig()).config.step == 0.04
    fwd = resolve_forward(FakeEmulator())
    assert isinstance(fwd, EmulatorForward) and fwd.emulator.on_domain == "penalty"
    assert fwd.quantities == ("los",)  # card name log_sigma_los -> los
    with pytest.raises(TypeError, match="emulator protocol"):
        resolve_forward(object())


def test_emulator_truncates_default_priors_to_its_domain():
    """Bounds on log10 r_s and log10 r_a are the domain's log10(r / R_half) bounds plus
    log10 R_half; slopes are intersected with the defaults (exact to round-off)."""
    R_half = 0.25
    spec = ModelSpec("plummer", "zhao", "baes-van-hese", R_half=R_half, forward=FakeEmulator())
    lr = np.log10(R_half)
    b = FakeEmulator.bounds
    expected = {
        "halo.log10_r_s": (max(-2.0, b["log10_rs"][0] + lr), min(1.5, b["log10_rs"][1] + lr)),
        "anisotropy.log10_r_a": (max(-2.0, b["log10_ra"][0] + lr), min(1.5, b["log10_ra"][1] + lr)),
        "halo.gamma": (0.0, 1.5),
        "halo.alpha": (0.5, 3.0),
        "anisotropy.eta": (1.0, 3.0),
        "halo.log10_rho_s": (4.0, 11.0),  # a scale: no emulator bound
    }
    for site, (lo, hi) in expected.items():
        got = support_bounds(spec.parameter(site).prior)
        assert got == pytest.approx((lo, hi), abs=1e-12), site


def test_emulator_rejects_user_priors_outside_its_domain():
    with pytest.raises(ValueError, match=r"prior of halo.gamma.*reaches outside the domain.*\[0, 1.5\]"):
        ModelSpec("plummer", "zhao", "baes-van-hese", R_half=0.25, forward=FakeEmulator(),
                  priors={"halo.gamma": (0.0, 2.0)})
    with pytest.raises(ValueError, match=r"input eta = 5 is fixed outside its domain"):
        ModelSpec("plummer", "zhao", "baes-van-hese", R_half=0.25, forward=FakeEmulator(),
                  priors={"anisotropy.eta": 5.0})
    with pytest.raises(ValueError, match="cannot represent this model"):
        ModelSpec("plummer", "nfw", "baes-van-hese", R_half=0.25, forward=FakeEmulator())


def test_emulator_input_of_two_parameters_is_left_to_the_penalty():
    with pytest.warns(UserWarning, match=r"log10_rs depends on \['tracer.log10_r_s', 'halo.log10_r_s'\]"):
        ModelSpec("plummer", "zhao", "baes-van-hese", R_half=0.25, forward=FakeEmulator(),
                  priors={"tracer.log10_r_s": (-0.7, -0.5)})


def test_model_code_is_the_same_for_both_forwards():
    """The numpyro model with the emulator double has the same sites and, the double
    wrapping the exact engine, the same log-likelihood; it adds the domain penalty."""
    cat = StarCatalog.read(SHIPPED_MOCK)
    exact = KinematicModel(ModelSpec("plummer", "zhao", "baes-van-hese", R_half=0.25), cat)
    emu = KinematicModel(ModelSpec("plummer", "zhao", "baes-van-hese", R_half=0.25,
                                   forward=FakeEmulator()), cat)
    assert exact.sites == emu.sites
    values = {**{k: cat.truth[k] for k in MOCK_TRUTH_SITES}, "v_sys": 110.0}
    assert float(emu.log_likelihood(values)) == pytest.approx(float(exact.log_likelihood(values)), rel=1e-12)
    tr = numpyro.handlers.trace(numpyro.handlers.substitute(emu, data=values)).get_trace()
    assert "forward_domain" in tr and float(tr["forward_domain"]["fn"].log_factor) == 0.0
    outside = dict(values, **{"halo.gamma": 1.6})
    tr = numpyro.handlers.trace(numpyro.handlers.substitute(emu, data=outside)).get_trace()
    assert float(tr["forward_domain"]["fn"].log_factor) < 0.0
    tr = numpyro.handlers.trace(numpyro.handlers.substitute(exact, data=values)).get_trace()
    assert "forward_domain" not in tr


def test_stars_beyond_the_emulator_radii_warn():
    cat = StarCatalog.from_arrays(R=[0.01, 0.1, 3.0], v=[0.0, 1.0, 2.0], v_err=[1.0] * 3, R_half=0.25)
    spec = ModelSpec("plummer", "zhao", "baes-van-hese", R_half=0.25, forward=FakeEmulator())
    with pytest.warns(UserWarning, match=r"1 of 3 radii lie outside the radial range"):
        model = KinematicModel(spec, cat)
    assert model.R_grid[-1] == pytest.approx(2.5, rel=1e-12)


# ---------------------------------------------------------------------------- likelihoods
def _mock_values(cat):
    return {**{k: cat.truth[k] for k in MOCK_TRUTH_SITES}, "v_sys": cat.truth["v_sys"]}


@pytest.mark.slow
def test_gaussian_likelihood_matches_a_direct_sum():
    """Grid + log-log interpolation vs the exact engine at every star: 1e-6 relative on
    the total log-likelihood (interpolation error ~1e-6 in sigma)."""
    cat = StarCatalog.read(SHIPPED_MOCK)
    model = KinematicModel(ModelSpec("plummer", "zhao", "baes-van-hese", R_half=0.25), cat)
    values = _mock_values(cat)
    tracer, mass, anis = model.spec.build(values)
    s = np.asarray(sigma_los(cat.R, tracer, mass, anis))
    var = s**2 + cat.v_err**2
    direct = np.sum(-0.5 * (np.log(2 * np.pi * var) + (cat.v - values["v_sys"]) ** 2 / var))
    assert float(model.log_likelihood(values)) == pytest.approx(direct, rel=1e-6)


@pytest.mark.slow
def test_proper_motion_likelihood_matches_a_direct_sum():
    cat = mock(pm_err=(0.005, 0.01))  # the shipped mock's stars (same seed) with proper motions
    model = KinematicModel(ModelSpec("plummer", "zhao", "baes-van-hese", R_half=0.25), cat,
                           proper_motions=True)
    values = _mock_values(cat)
    np.testing.assert_array_equal(cat.R, StarCatalog.read(SHIPPED_MOCK).R)
    tracer, mass, anis = model.spec.build(values)
    d = projected_dispersions(cat.R, tracer, mass, anis)
    k = 1.0 / (KMS_PER_KPC_MASYR * cat.distance)
    total = 0.0
    for x, err, s in ((cat.v - 110.0, cat.v_err, d["los"]), (cat.pm_R, cat.pm_R_err, k * d["pm_radial"]),
                      (cat.pm_T, cat.pm_T_err, k * d["pm_tangential"])):
        var = np.asarray(s) ** 2 + err**2
        total += np.sum(-0.5 * (np.log(2 * np.pi * var) + x**2 / var))
    assert float(model.log_likelihood(values)) == pytest.approx(total, rel=1e-6)
    with pytest.raises(ValueError, match="needs a catalogue with pm_R"):
        KinematicModel(model.spec, StarCatalog.read(SHIPPED_MOCK), proper_motions=True)


@pytest.mark.slow
def test_mixture_reduces_to_gaussian_and_finds_members():
    table = mock_table(n_stars=300, seed=11, contaminant_fraction=0.25, contaminant_mean=25.0,
                       contaminant_sigma=40.0)
    cat = StarCatalog.from_table(table)
    member = np.asarray(table["member"])
    spec = ModelSpec("plummer", "zhao", "baes-van-hese", R_half=0.25)
    gauss = KinematicModel(spec, cat)
    mix = KinematicModel(spec, cat, likelihood="mixture")
    assert mix.sites[-3:] == ("contamination.member_fraction", "contamination.v_mean",
                              "contamination.log10_sigma")
    values = {**_mock_values(cat), "contamination.v_mean": 135.0,
              "contamination.log10_sigma": np.log10(40.0)}
    # member fraction 1: the mixture is the Gaussian likelihood (to round-off)
    ll_g = float(gauss.log_likelihood(values))
    ll_m = float(mix.log_likelihood(dict(values, **{"contamination.member_fraction": 1.0})))
    assert ll_m == pytest.approx(ll_g, rel=1e-12)
    # at the truth, membership separates members from contaminants (true flags in the mock)
    values["contamination.member_fraction"] = 0.75
    _, p = mix.terms(values)
    p = np.asarray(p)
    auc = np.mean(p[member][:, None] > p[~member][None, :])
    assert auc > 0.85, auc  # contaminants overlapping the members' velocities stay ambiguous
    draws = {k: np.full((1, 4), v) for k, v in values.items()}
    np.testing.assert_allclose(mix.membership(draws), p, rtol=1e-12)


@pytest.mark.slow
def test_binned_likelihood_peaks_at_the_truth():
    """On 12 bins of a 2000-star mock, the binned log-likelihood over log10 rho_s (r_s and
    beta at the truth) peaks within 0.05 dex of the truth."""
    cat = nfw_mock()
    binned = cat.binned(12, v_sys=NFW_TRUTH["v_sys"])
    spec = ModelSpec("plummer", "nfw", "constant", R_half=0.25,
                     priors={"halo.log10_r_s": 0.0, "anisotropy.beta": NFW_TRUTH["anisotropy.beta"]})
    model = KinematicModel(spec, binned)
    assert model.likelihood == "binned" and model.sites == ("halo.log10_rho_s",)
    grid = np.linspace(7.3, 7.9, 61)
    ll = np.asarray(jax.jit(jax.vmap(lambda x: model.log_likelihood({"halo.log10_rho_s": x})))(grid))
    assert abs(grid[np.argmax(ll)] - NFW_TRUTH["halo.log10_rho_s"]) <= 0.05
    terms, _ = model.terms({"halo.log10_rho_s": 7.6})
    pred = model.predict({"halo.log10_rho_s": 7.6})["los"]
    direct = -0.5 * (np.log(2 * np.pi * binned.sigma_err**2) + (binned.sigma - pred) ** 2 / binned.sigma_err**2)
    np.testing.assert_allclose(terms, direct, rtol=1e-12)


# ---------------------------------------------------------------------------- NUTS
@pytest.mark.slow
def test_nuts_recovers_the_mass_at_1p8_R_half():
    """Recovery: the truth lies inside the 95 % interval of M(<1.8 R_half) and of every
    sampled parameter; chains converged (r_hat < 1.02, >= 300 effective draws)."""
    result = nfw_fit()
    cat = result.model.data
    m = result.derived()["M_1.8_R_half"]
    lo, hi = np.percentile(m, [2.5, 97.5])
    assert lo < cat.truth["M_1.8_R_half"] < hi
    summary = result.summary()
    for site, st in summary["parameters"].items():
        lo, hi = np.percentile(result.samples[site], [2.5, 97.5])
        assert lo < NFW_TRUTH[site] < hi, site
        assert st["r_hat"] < 1.02 and st["ess"] > 300, (site, st)
    assert result.divergences == 0


@pytest.mark.slow
def test_checkpoint_resume_gives_the_same_draws(tmp_path):
    """A run stopped after 6 chunks (the warm-up) and resumed from its checkpoint
    reproduces the uninterrupted run exactly (same compiled sampler, same seed)."""
    full = nfw_fit()
    model = nfw_model()
    ckpt = tmp_path / "checkpoint.npz"
    assert sample(model, checkpoint=ckpt, stop_after=6, progress=False, **NFW_RUN) is None
    meta = json.loads(bytes(np.load(ckpt)["meta"]).decode())
    assert meta["done"] == 300
    resumed = sample(model, checkpoint=ckpt, resume=True, progress=False, **NFW_RUN)
    for site in model.sites:
        np.testing.assert_array_equal(resumed.samples[site], full.samples[site])
    np.testing.assert_array_equal(resumed.stats["num_steps"], full.stats["num_steps"])
    other = nfw_model(grid_points=24)
    with pytest.raises(ValueError, match="another model, data set or run settings"):
        sample(other, checkpoint=ckpt, resume=True, progress=False, **NFW_RUN)


def test_sampler_settings_are_validated():
    model = nfw_model()
    with pytest.raises(ValueError, match="chain_method must be one of"):
        sample(model, chain_method="threads")
    with pytest.raises(ValueError, match=r"target_accept must be in \(0, 1\)"):
        sample(model, target_accept=1.5)


# ---------------------------------------------------------------------------- outputs
@pytest.mark.slow
def test_outputs_summary_samples_and_plots(tmp_path):
    result = nfw_fit()
    paths = write_outputs(result, tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    for site in result.model.sites:
        assert set(summary["parameters"][site]) >= {"mean", "std", "q5", "q50", "q95", "r_hat", "ess"}
        assert summary["parameters"][site]["mean"] == pytest.approx(float(np.mean(result.samples[site])), rel=1e-12)
    assert set(summary["derived"]) == set(DERIVED)
    run = summary["run"]
    assert run["forward"] == "exact" and run["divergences"] == result.divergences
    assert run["wall_time_s"] > 0 and run["settings"]["samples"] == NFW_RUN["samples"]
    back = load_samples(paths["samples"])
    np.testing.assert_array_equal(back["posterior"]["anisotropy.beta"], result.samples["anisotropy.beta"])
    np.testing.assert_array_equal(back["data"]["v"], result.model.data.v)
    assert back["model"]["components"]["halo"] == "NFW"
    for name in ("corner", "sigma_los"):
        assert (tmp_path / f"{name}.png").stat().st_size > 20_000


def test_arviz_is_optional(monkeypatch):
    """Without arviz (hidden from the import system here, installed or not), the conversion
    says how to get it; the draws themselves never need it."""
    monkeypatch.setitem(sys.modules, "arviz", None)  # makes `import arviz` raise ImportError
    draws = types.SimpleNamespace(samples={"v_sys": np.zeros((1, 4))}, derived=dict,
                                  stats={"diverging": np.zeros((1, 4))})  # a fit's fields, no NUTS
    with pytest.raises(ImportError, match="pip install arviz"):
        to_inference_data(draws)


@pytest.mark.slow
def test_inference_data_holds_the_draws():
    pytest.importorskip("arviz", reason="arviz is an optional dependency, not installed here")
    result = nfw_fit()
    posterior = to_inference_data(result)["posterior"]
    np.testing.assert_array_equal(np.asarray(posterior["anisotropy.beta"]),
                                  np.asarray(result.samples["anisotropy.beta"]))


@pytest.mark.slow
def test_fit_command_matches_the_python_fit(tmp_path, capsys):
    """``dynamicall fit`` on the cached mock with the same settings gives the same draws as
    :func:`sample` (and, sharing its compiled sampler, costs no compilation)."""
    from dynamicall.cli import main

    cat = nfw_mock()
    path = tmp_path / "nfw.ecsv"
    cat.write(path)
    out = tmp_path / "out"
    args = ["fit", str(path), "--halo", "nfw", "--anisotropy", "constant", "--forward", "exact",
            "--prior", f"halo.log10_r_s={NFW_PRIORS['halo.log10_r_s']}", "--parameterization", "native",
            "--warmup", str(NFW_RUN["warmup"]),
            "--samples", str(NFW_RUN["samples"]), "--chains", str(NFW_RUN["chains"]), "--seed",
            str(NFW_RUN["seed"]), "--out", str(out), "--quiet", "--no-plots"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "halo.log10_rho_s" in text and "M_1.8_R_half" in text and "float64" in text
    summary = json.loads((out / "summary.json").read_text())
    expected = nfw_fit().summary()
    for site in ("halo.log10_rho_s", "anisotropy.beta", "v_sys"):
        assert summary["parameters"][site]["mean"] == expected["parameters"][site]["mean"]
    assert (out / "samples.h5").is_file() and not (out / "checkpoint.npz").exists()


# ---------------------------------------------------------------------------- real emulator
# (the shipped_emulator fixture is in conftest.py)


@pytest.mark.emulator
@pytest.mark.slow
def test_emulator_swap_loglikelihood_matches_exact(shipped_emulator):
    """Swap: on the shipped mock, the emulator and exact log-likelihoods differ by a
    nearly constant offset across 100 points spread like the posterior (Fisher draws):
    the spread of the difference is < 0.1 nat, so posteriors agree to << 1 sigma."""
    from dynamicall.infer import SurveyDesign, crlb_error_samples, fisher_matrix, prior_standard_deviations

    cat = StarCatalog.read(SHIPPED_MOCK)
    exact = KinematicModel(ModelSpec("plummer", "zhao", "baes-van-hese", R_half=0.25), cat)
    emu = KinematicModel(ModelSpec("plummer", "zhao", "baes-van-hese", R_half=0.25, forward=shipped_emulator), cat)
    truth = _mock_values(cat)
    F = fisher_matrix(exact.spec, truth, SurveyDesign.from_catalog(cat),
                      prior_widths=prior_standard_deviations(exact.spec))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        draws = crlb_error_samples(F, size=400, seed=0)
    inside = np.ones(400, bool)
    for p in emu.spec.free:
        lo, hi = support_bounds(p.prior)
        inside &= (draws[p.site] > lo) & (draws[p.site] < hi)
    idx = np.flatnonzero(inside)[:100]
    assert idx.size == 100
    pts = {k: jnp.asarray(v[idx]) for k, v in draws.items()}
    d = np.asarray(jax.vmap(emu.log_likelihood)(pts)) - np.asarray(jax.vmap(exact.log_likelihood)(pts))
    assert np.std(d) < 0.1, np.std(d)


@pytest.mark.emulator
@pytest.mark.slow
def test_emulator_fit_recovers_the_mock(shipped_emulator, tmp_path):
    """NUTS with the shipped emulator (by name) on the shipped mock: every draw inside the
    emulator's domain (truncated priors), the truth of M(<1.8 R_half) inside the 95 %
    interval."""
    from dynamicall.infer import fit

    result = fit(StarCatalog.read(SHIPPED_MOCK), forward="zhao_bvh_plummer", warmup=200, samples=200,
                 chains=2, seed=0, progress=False)
    for p in result.model.spec.free:
        lo, hi = support_bounds(p.prior)
        assert np.all((result.samples[p.site] >= lo) & (result.samples[p.site] <= hi)), p.site
    lo, hi = np.percentile(result.derived()["M_1.8_R_half"], [2.5, 97.5])
    assert lo < result.model.data.truth["M_1.8_R_half"] < hi
    paths = result.save(tmp_path)
    assert json.loads(open(paths["summary"]).read())["run"]["forward"] == "zhao_bvh_plummer"
