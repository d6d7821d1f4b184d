"""The noise-free posterior forecast (:mod:`dynamicall.infer.posterior_forecast`).

Its two limits are known without it: with many stars (a Gaussian posterior far from the
priors' bounds) it is the Fisher forecast, and with next to no stars it is the prior.
One compiled sampler serves every survey size (and these tests).
"""

from __future__ import annotations

import numpy as np
import pytest

from dynamicall.infer.fisher import fisher_sigma_function, forecast
from dynamicall.infer.posterior_forecast import (PosteriorForecaster, posterior_forecast, posterior_stars_for_target,
                                                 survey_data_sets)
from dynamicall.infer.spec import ModelSpec
from dynamicall.infer.survey import SurveyDesign

TRUTH = {"halo.log10_rho_s": 7.6, "halo.log10_r_s": 0.0, "anisotropy.beta": 0.2, "v_sys": 50.0}
# standard deviations from NUTS draws (4 chains x 600, effective samples ~1000): ~3 % noise
MC = 0.10


@pytest.fixture(scope="module")
def setup():
    spec = ModelSpec("plummer", "nfw", "constant", R_half=0.25, parameterization="enclosed_mass")
    from dynamicall.infer.fisher import truth_in_parameterization

    truth = truth_in_parameterization(spec, TRUTH)
    truth = {k: truth[k] for k in spec.sites} | {"v_sys": TRUTH["v_sys"]}
    design = SurveyDesign.from_tracer(spec.build(truth)[0], 100, v_err=2.0, R_max=1.25)
    forecaster = PosteriorForecaster(spec, truth, design, warmup=300, samples=600, seed=3)
    return spec, truth, design, forecaster


def test_many_stars_give_the_fisher_forecast(setup):
    spec, truth, design, forecaster = setup
    n = [30000.0]
    post = posterior_forecast(spec, truth, design, n, forecaster=forecaster)
    fisher = forecast(spec, truth, design, n)
    assert post["r_hat"][0] < 1.05 and post["divergences"][0] == 0
    for name in list(spec.sites) + ["M_1.8_R_half", "rho_150pc", "log_slope_150pc", "beta_R_half"]:
        assert post["sigma"][name][0] == pytest.approx(fisher["sigma"][name][0], rel=MC), name
    # v_sys decouples: its error is the Fisher one exactly
    assert post["sigma"]["v_sys"][0] == pytest.approx(fisher["sigma"]["v_sys"][0], rel=1e-9)
    assert post["method"].startswith("noise-free posterior") and post["priors"] is True
    from dynamicall.infer.forecast_plots import forecast_plot

    fig = forecast_plot(post)  # the plot names the method
    assert "noise-free posterior" in fig._suptitle.get_text()


def test_next_to_no_stars_give_the_prior(setup):
    spec, truth, design, forecaster = setup
    post = posterior_forecast(spec, truth, design, [1e-3], forecaster=forecaster)
    for p in spec.free:  # the default priors are uniform: width / sqrt(12)
        low, high = float(p.prior.low), float(p.prior.high)
        assert post["prior_sigma"][p.site] == pytest.approx((high - low) / np.sqrt(12.0), rel=1e-12)
        assert post["sigma"][p.site][0] == pytest.approx(post["prior_sigma"][p.site], rel=MC), p.site
        assert post["prior_dominated"][p.site][0]


@pytest.mark.slow  # up to 3 more NUTS runs; the limits above check the widths themselves
def test_a_target_is_met_by_the_posterior(setup):
    spec, truth, design, forecaster = setup
    fisher_sigma = fisher_sigma_function(spec, truth, design)
    t = posterior_stars_for_target(forecaster, lambda n: fisher_sigma(n)["M_1.8_R_half"], "M_1.8_R_half",
                                   0.05, relative=True)
    assert 10 < t["n_stars"] < 1e5 and 1 <= t["posterior_runs"] <= 3
    # at the returned size the posterior's width is the target (to the Monte Carlo noise)
    assert t["posterior_sigma"] == pytest.approx(0.05, rel=MC)
    with pytest.raises(ValueError, match="unknown target quantity"):
        posterior_stars_for_target(forecaster, fisher_sigma, "no_such", 0.1)


def test_simulated_surveys_have_the_statistics_of_real_ones():
    """Per node: the number of stars is Poisson, and the sum of their squared velocities
    C0 chi^2_n; so E[n] = lam, E[S] = lam C0, Var[S] = 3 lam C0^2 (compound Poisson), and
    the noise-free data set is (lam, lam C0): its log-likelihood is the expected one."""
    lam = np.array([0.3, 2.0, 7.5])
    C0 = np.array([4.0, 9.0, 1.0, 5.0, 6.0, 7.0])  # two measured quantities per node
    counts, sums = survey_data_sets(lam, C0, 2, 0, None)
    np.testing.assert_array_equal(counts, [np.tile(lam, 2)])
    np.testing.assert_array_equal(sums, [np.tile(lam, 2) * C0])
    K = 200_000
    counts, sums = survey_data_sets(lam, C0, 2, K, np.random.default_rng(5))
    assert counts.shape == sums.shape == (K, 6)
    np.testing.assert_array_equal(counts[:, :3], counts[:, 3:])  # one star, both quantities
    assert np.all(counts == np.round(counts)) and np.all(sums[counts == 0] == 0) and np.all(sums >= 0)
    lam2 = np.tile(lam, 2)
    # 5 standard errors of the means
    assert np.all(np.abs(counts.mean(0) - lam2) < 5 * np.sqrt(lam2 / K))
    assert np.all(np.abs(sums.mean(0) - lam2 * C0) < 5 * np.sqrt(3 * lam2 / K) * C0)
    assert np.allclose(sums.var(0) / (3 * lam2 * C0**2), 1.0, rtol=0.05)


@pytest.mark.slow  # a second sampler (simulated surveys) to compile
def test_simulated_surveys_average_to_the_fisher_forecast(setup):
    """In the Gaussian limit every survey's posterior width is the Fisher one, so their
    mean is too, and the spread is narrow around it."""
    spec, truth, design, _ = setup
    n = [30000.0]
    post = posterior_forecast(spec, truth, design, n, realisations=4, samples=600, seed=4)
    fisher = forecast(spec, truth, design, n)
    assert post["realisations"] == 4 and "simulated surveys" in post["method"]
    assert post["r_hat"][0] < 1.1 and post["divergences"][0] == 0
    for name in list(spec.sites) + ["M_1.8_R_half", "rho_150pc"]:
        assert post["sigma"][name][0] == pytest.approx(fisher["sigma"][name][0], rel=MC), name
        low, high = post["spread"][name][0]
        assert low <= post["sigma"][name][0] <= high and high < 1.2 * low, name
    assert post["sigma"]["v_sys"][0] == pytest.approx(fisher["sigma"]["v_sys"][0], rel=1e-9)


def test_bad_settings_are_refused(setup):
    spec, truth, design, forecaster = setup
    with pytest.raises(ValueError, match="n_stars must be finite and > 0"):
        posterior_forecast(spec, truth, design, [0.0], forecaster=forecaster)
    with pytest.raises(ValueError, match="samples must be an integer >= 1"):
        PosteriorForecaster(spec, truth, design, samples=0)
    with pytest.raises(ValueError, match="realisations must be an integer >= 0"):
        PosteriorForecaster(spec, truth, design, realisations=-1)


@pytest.mark.slow  # compiles the command's own sampler
def test_the_command_defaults_to_the_posterior(capsys):
    from dynamicall.cli import main

    base = ["forecast", "--halo", "nfw", "--anisotropy", "constant", "--R-half", "250 pc",
            "--truth", "halo.log10_rho_s=7.6", "--truth", "halo.log10_r_s=0", "--truth", "anisotropy.beta=0.2",
            "--n-stars", "300", "--v-err", "2"]
    assert main(base) == 0
    text = capsys.readouterr().out
    assert "Posterior forecast (default)" in text and "NUTS per size: max r_hat" in text
    assert main(base + ["--no-priors"]) == 0  # the bare bound is a Fisher bound
    assert "bare Cramer-Rao" in capsys.readouterr().out
    assert main(base + ["--no-priors", "--method", "posterior"]) == 2
    err = capsys.readouterr().err
    assert "--method fisher" in err and "Traceback" not in err
    assert main(base + ["--realisations", "2"]) == 0  # simulated surveys: the mean and the spread
    text = capsys.readouterr().out
    assert "posteriors of 2 simulated surveys" in text and "16-84 % of the 2 simulated surveys" in text
    for bad, why in ((["--method", "fisher", "--realisations", "3"], "--realisations simulates surveys"),
                     (["--realisations", "-1"], "--realisations must be >= 0")):
        assert main(base + bad) == 2
        err = capsys.readouterr().err
        assert why in err and "Traceback" not in err
