"""Population Fisher forecasts (dynamicall.infer.population_fisher, ``dynamicall
forecast-population``): closed forms of the Gaussian population model, the Hessian of its
expected log-likelihood, the marginal information of a galaxy, 1/sqrt(N) scaling and the
command's output and errors."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynamicall.infer import ModelSpec
from dynamicall.infer.fisher import crlb, fisher_matrix, prior_precision
from dynamicall.infer.population_fisher import (
    HyperTruth,
    PopulationGalaxy,
    hyper_fisher,
    pooled_information,
    population_fisher,
    population_forecast,
    representative_galaxies,
)
from dynamicall.infer.survey import SurveyDesign

TRUTH = {"halo.log10_m_ref": 7.5, "halo.log10_r_s": 0.0, "anisotropy.beta": 0.2}


@pytest.fixture(scope="module")
def nfw():
    """NFW + constant anisotropy, halo normalisation sampled as log10 M(<1.8 R_half)."""
    spec = ModelSpec("plummer", "nfw", "constant", R_half=0.25, parameterization="enclosed_mass")
    design = SurveyDesign.from_tracer(spec.build(TRUTH)[0], 200, v_err=2.0, R_max=1.25)
    return spec, design, fisher_matrix(spec, TRUTH, design)


def test_one_pooled_parameter_with_equal_errors_has_the_closed_form():
    """N galaxies each measuring theta to variance c, population N(mu, sigma^2):
    var(mu) = (sigma^2 + c) / N; var(sigma) = (sigma^2 + c)^2 / (2 N sigma^2) (the
    Gaussian-variance result var(s^2) = 2 (sigma^2 + c)^2 / N, through d s^2 = 2 sigma d s);
    with a trend (d_i = x_i - x_ref), the least-squares line: var(b) = (sigma^2 + c) /
    sum (x_i - xbar)^2, var(mu) = (sigma^2 + c) sum d^2 / (N sum d^2 - (sum d)^2), the
    scatter's unchanged. Tolerance 1e-12."""
    sigma, c, N = 0.3, 0.05, 17
    hyper = HyperTruth({"halo.gamma": 0.7}, {"halo.gamma": sigma})
    F = hyper_fisher(hyper, ("halo.gamma",), [np.array([[1.0 / c]])] * N, np.zeros(N))
    var = np.diag(np.linalg.inv(F.matrix))
    assert F.names == ("mean[halo.gamma]", "scatter[halo.gamma]")
    assert var[0] == pytest.approx((sigma**2 + c) / N, rel=1e-12)
    assert var[1] == pytest.approx((sigma**2 + c) ** 2 / (2 * N * sigma**2), rel=1e-12)

    x = np.linspace(5.0, 8.0, N)
    trend = HyperTruth({"halo.gamma": 0.7}, {"halo.gamma": sigma}, slope={"halo.gamma": -0.1}, property_ref=6.0)
    var = np.diag(np.linalg.inv(hyper_fisher(trend, ("halo.gamma",), [np.array([[1.0 / c]])] * N, x).matrix))
    d = x - 6.0
    assert var[2] == pytest.approx((sigma**2 + c) / np.sum((x - x.mean()) ** 2), rel=1e-12)
    assert var[0] == pytest.approx((sigma**2 + c) * np.sum(d**2) / (N * np.sum(d**2) - d.sum() ** 2), rel=1e-12)
    assert var[1] == pytest.approx((sigma**2 + c) ** 2 / (2 * N * sigma**2), rel=1e-12)


def test_hyper_fisher_is_minus_the_hessian_of_the_expected_log_likelihood():
    """Two pooled sites with correlated per-galaxy covariances, a trend on one: the
    formula equals -Hessian (jax) of E[ln N(theta_hat_i; m_i(h), S_i(h))] summed over
    galaxies, at the truth. Tolerance 1e-9."""
    rng = np.random.default_rng(3)
    sites = ("halo.gamma", "halo.log10_r_s")
    hyper = HyperTruth({sites[0]: 0.8, sites[1]: -0.2}, {sites[0]: 0.25, sites[1]: 0.4},
                       slope={sites[1]: 0.3}, property_ref=1.0)
    covs, xs = [], rng.uniform(0.0, 2.0, 6)
    for _ in xs:
        a = rng.normal(size=(2, 2))
        covs.append(a @ a.T + 0.05 * np.eye(2))
    F = hyper_fisher(hyper, sites, [np.linalg.inv(c) for c in covs], xs)

    C, x = np.stack(covs), xs
    m0 = np.stack([np.full_like(x, 0.8), -0.2 + 0.3 * (x - 1.0)], axis=1)
    S0 = np.diag([0.25**2, 0.4**2]) + C

    def expected_ll(h):  # (mean0, scatter0, mean1, scatter1, slope1), all galaxies at once
        m = jnp.stack([jnp.full_like(x, h[0]), h[2] + h[4] * (x - 1.0)], axis=1)
        S = jnp.diag(jnp.stack([h[1], h[3]]) ** 2) + C
        d = (m0 - m)[..., None]
        quad = jnp.trace(jnp.linalg.solve(S, S0), axis1=1, axis2=2) + (jnp.swapaxes(d, 1, 2)
                                                                          @ jnp.linalg.solve(S, d))[:, 0, 0]
        return -0.5 * jnp.sum(jnp.linalg.slogdet(S)[1] + quad)

    h0 = jnp.array([0.8, 0.25, -0.2, 0.4, 0.3])  # F.names order: mean, scatter (site 0); mean, scatter, slope
    hess = np.asarray(jax.jit(jax.hessian(expected_ll))(h0))
    assert F.names == ("mean[halo.gamma]", "scatter[halo.gamma]", "mean[halo.log10_r_s]",
                       "scatter[halo.log10_r_s]", "slope[halo.log10_r_s]")
    np.testing.assert_allclose(F.matrix, -hess, rtol=1e-9, atol=1e-9 * np.abs(hess).max())


def test_a_galaxy_that_leaves_a_site_open_adds_nothing_on_it():
    """Zero information on the pooled site (C infinite): S^-1 = I (1 + Sigma I)^-1 = 0,
    so that galaxy adds nothing; with every galaxy so, the hyperparameters are unbounded."""
    hyper = HyperTruth({"halo.gamma": 1.0}, {"halo.gamma": 0.2})
    some = hyper_fisher(hyper, ("halo.gamma",), [np.array([[25.0]])] * 4, np.zeros(4))
    more = hyper_fisher(hyper, ("halo.gamma",), [np.array([[25.0]])] * 4 + [np.zeros((1, 1))] * 3, np.zeros(7))
    np.testing.assert_array_equal(some.matrix, more.matrix)
    none = hyper_fisher(hyper, ("halo.gamma",), [np.zeros((1, 1))] * 3, np.zeros(3))
    assert not np.any(none.matrix)


@pytest.mark.slow
def test_pooled_information_is_the_inverse_of_the_marginal_covariance(nfw):
    """The Schur complement on the pooled site equals 1 / [(F + P_others)^-1]_pp, with the
    fit's priors on every site but the pooled one (whose prior is the population)."""
    spec, design, F = nfw
    info = pooled_information(F, spec, ("halo.log10_m_ref",))
    P, _ = prior_precision(spec, dict(zip(F.names, F.values)), F.names)
    i = F.index("halo.log10_m_ref")
    P[i, i] = 0.0
    cov = crlb(F.matrix + P)
    assert info.shape == (1, 1)
    assert info[0, 0] == pytest.approx(1.0 / cov[i, i], rel=1e-9)


@pytest.mark.slow
def test_population_of_real_galaxies_matches_the_closed_form_and_falls_as_one_over_root_n(nfw):
    """N identical galaxies with the NFW model's own marginal variance c of log10 M_ref:
    sigma(mean) = sqrt((sigma^2 + c) / N) (1e-9); the grid's errors at 4N galaxies are
    half those at N without hyperpriors (1e-9), and with the mean's prior they never
    exceed the prior's width."""
    spec, design, F = nfw
    site = "halo.log10_m_ref"
    hyper = HyperTruth({site: 7.5}, {site: 0.15})
    c = 1.0 / pooled_information(F, spec, (site,))[0, 0]
    out = population_fisher([PopulationGalaxy(spec, TRUTH, design)] * 12, hyper, hyper_priors=False)
    assert out["sigma"][f"mean[{site}]"] == pytest.approx(np.sqrt((0.15**2 + c) / 12), rel=1e-9)
    assert out["galaxy_sigma"][site] == pytest.approx(np.full(12, np.sqrt(c)), rel=1e-9)

    grid = population_forecast(spec, TRUTH, design, hyper, [5, 20], [100, 400], representatives=3,
                               hyper_priors=False)
    for name in grid["names"]:
        np.testing.assert_allclose(grid["sigma"][name][0] / grid["sigma"][name][1], 2.0, rtol=1e-9)
        assert np.all(grid["sigma"][name][:, 0] > grid["sigma"][name][:, 1])  # more stars help
    with_prior = population_forecast(spec, TRUTH, design, hyper, [5, 20], [100], representatives=3)
    prior = with_prior["prior_sigma"][f"mean[{site}]"]
    assert np.isfinite(prior) and np.all(with_prior["sigma"][f"mean[{site}]"] <= prior)
    assert np.all(with_prior["sigma"][f"mean[{site}]"] < grid["sigma"][f"mean[{site}]"][:, :1] + 1e-15)


def test_representative_galaxies_are_the_quantiles_of_the_population():
    """Each site's K values are mean + scatter x the K midpoint quantiles of N(0, 1);
    the property spreads uniformly over its range."""
    from scipy.special import ndtri

    hyper = HyperTruth({"a.x": 1.0, "a.y": -2.0}, {"a.x": 0.5, "a.y": 0.1}, slope={"a.x": 2.0}, property_ref=0.5)
    values, x = representative_galaxies(hyper, 4, property_range=(0.0, 1.0))
    np.testing.assert_allclose(np.sort(x), [0.125, 0.375, 0.625, 0.875])
    z = ndtri((np.arange(4) + 0.5) / 4)
    np.testing.assert_allclose(np.sort([v["a.y"] for v in values]), -2.0 + 0.1 * z, rtol=1e-12)
    residual = [v["a.x"] - 1.0 - 2.0 * (xi - 0.5) for v, xi in zip(values, x)]
    np.testing.assert_allclose(np.sort(residual), 0.5 * z, atol=1e-12)


@pytest.mark.slow
def test_forecast_population_command_table_json_and_plot(tmp_path, capsys):
    from dynamicall.cli import main

    path, plot = tmp_path / "pop.json", tmp_path / "pop.png"
    args = ["forecast-population", "--halo", "nfw", "--anisotropy", "constant", "--R-half", "250 pc",
            "--truth", "halo.log10_rho_s=7.6", "--truth", "halo.log10_r_s=0", "--truth", "anisotropy.beta=0.2",
            "--scatter", "halo.log10_m_ref=0.1", "--n-galaxies", "5", "20", "--n-stars", "100", "400",
            "--v-err", "2", "--representatives", "2", "--json", str(path), "--plot", str(plot)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "mean[halo.log10_m_ref]" in text and "scatter[halo.log10_r_s]" in text
    doc = json.loads(path.read_text())
    assert doc["names"] == ["mean[halo.log10_m_ref]", "scatter[halo.log10_m_ref]", "mean[halo.log10_r_s]",
                            "scatter[halo.log10_r_s]"]
    sig = np.array(doc["sigma"]["mean[halo.log10_m_ref]"])
    assert sig.shape == (2, 2) and np.all(sig[0] > sig[1]) and np.all(sig[:, 0] > sig[:, 1])
    assert doc["hyper_truth"]["scatter"] == {"halo.log10_m_ref": 0.1, "halo.log10_r_s": 0.2}
    assert plot.stat().st_size > 0
    assert main(args) == 2  # nothing finished is overwritten unless asked
    err = capsys.readouterr().err
    assert "exists" in err and "--overwrite" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("extra, words", [
    (["--scatter", "halo.log10_m_ref=0"], "scatter must be finite and > 0"),
    (["--pooled", "halo.gamma"], "--pooled"),
    (["--slope", "halo.log10_r_s=0.1"], "--property-range"),
    (["--mean", "anisotropy.beta=0.1"], "not pooled"),
    (["--n-galaxies", "0"], "--n-galaxies must be > 0"),
])
def test_forecast_population_bad_input_is_one_line_and_status_2(capsys, extra, words):
    from dynamicall.cli import main

    args = ["forecast-population", "--halo", "nfw", "--anisotropy", "constant", "--R-half", "250 pc",
            "--truth", "halo.log10_m_ref=7.5", "--truth", "halo.log10_r_s=0", "--truth", "anisotropy.beta=0.2"]
    assert main(args + extra) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
