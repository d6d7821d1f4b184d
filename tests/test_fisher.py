"""Fisher forecasts: autodiff Fisher vs finite differences, Fisher errors vs NUTS
posterior widths, the CRLB helpers, survey designs, and the ``forecast`` command."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.integrate import quad

from dynamicall.infer import (
    FisherMatrix,
    ModelSpec,
    SurveyDesign,
    crlb,
    crlb_error_samples,
    crlb_uncertainties,
    expected_log_likelihood,
    fisher_matrix,
    forecast,
    prior_standard_deviations,
)
from dynamicall.profiles import Plummer

from infer_helpers import NFW_TRUTH, nfw_fit, nfw_mock

MOCK_TRUTH = {
    "halo.log10_rho_s": 7.8, "halo.log10_r_s": 0.0, "halo.alpha": 1.0, "halo.beta": 4.0, "halo.gamma": 1.0,
    "anisotropy.beta_0": 0.0, "anisotropy.beta_inf": 0.4, "anisotropy.log10_r_a": np.log10(0.3),
    "anisotropy.eta": 2.0, "v_sys": 110.0,
}


def _zhao_spec(forward="exact"):
    return ModelSpec("plummer", "zhao", "baes-van-hese", R_half=0.25, forward=forward)


def _design(spec, n_stars=1000, **kwargs):
    tracer = spec.build({k: MOCK_TRUTH[k] for k in spec.sites})[0]
    return SurveyDesign.from_tracer(tracer, n_stars, v_err=[1.0, 2.0, 3.0], R_max=1.25, **kwargs)


def _fd_hessian(f, x, h):
    n = x.size
    H = np.zeros((n, n))
    f0 = f(x)
    for i in range(n):
        ei = np.zeros(n)
        ei[i] = h[i]
        H[i, i] = (f(x + ei) - 2 * f0 + f(x - ei)) / h[i] ** 2
        for j in range(i):
            ej = np.zeros(n)
            ej[j] = h[j]
            H[i, j] = H[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * h[i] * h[j])
    return H


@pytest.mark.parametrize("proper_motions", [False, True], ids=["los", "los+pm"])
@pytest.mark.slow
def test_autodiff_fisher_matches_finite_differences(proper_motions):
    """Zhao + Baes-van Hese, all 9 shape/scale parameters and v_sys, exact engine: the
    autodiff Fisher matrix equals minus the central finite-difference Hessian (step 1e-3)
    of the expected log-likelihood, to 1e-4 relative to sqrt(F_ii F_jj)."""
    spec = _zhao_spec()
    extra = dict(pm_err=0.01, distance=80.0) if proper_motions else {}
    design = _design(spec, **extra)
    F = fisher_matrix(spec, MOCK_TRUTH, design)
    assert F.names == spec.sites + ("v_sys",)
    ell = expected_log_likelihood(spec, MOCK_TRUTH, design)  # evaluated eagerly: no extra compilation
    H = _fd_hessian(lambda x: float(ell(x)), np.asarray(F.values), np.full(F.values.size, 1e-3))
    scale = np.sqrt(np.outer(np.diag(F.matrix), np.diag(F.matrix)))
    err = np.abs(F.matrix + H) / scale
    assert err.max() < 1e-4, (err.max(), np.unravel_index(err.argmax(), err.shape))


@pytest.mark.slow
def test_fisher_errors_match_nuts_posterior_widths():
    """On the 2000-star NFW mock (free log10 rho_s, beta, v_sys), the CRLB 1 sigma errors
    for the catalogue's own radii and errors agree with the NUTS posterior standard
    deviations within 15 %."""
    result = nfw_fit()
    model = result.model
    F = fisher_matrix(model.spec, NFW_TRUTH, SurveyDesign.from_catalog(model.data))
    sigma = crlb_uncertainties(F)
    for site in model.sites:
        width = float(np.std(result.samples[site]))
        assert width == pytest.approx(sigma[site], rel=0.15), (site, width, sigma[site])


@pytest.mark.slow
def test_fisher_scales_with_the_number_of_stars_and_gains_from_proper_motions():
    spec = ModelSpec("plummer", "nfw", "constant", R_half=0.25)
    truth = {"halo.log10_rho_s": 7.6, "halo.log10_r_s": 0.0, "anisotropy.beta": 0.2}
    tracer = Plummer(m_tot=1.0, r_s=0.25)
    d1 = SurveyDesign.from_tracer(tracer, 300, v_err=2.0, pm_err=0.01, distance=80.0, R_max=1.25)
    F_los = fisher_matrix(spec, truth, d1, proper_motions=False)
    F_pm = fisher_matrix(spec, truth, d1)
    F_big = fisher_matrix(spec, truth, d1.scaled(3000), proper_motions=False)
    np.testing.assert_allclose(F_big.matrix, 10 * F_los.matrix, rtol=1e-12)
    # proper motions break the mass-anisotropy degeneracy: beta is far better constrained
    s_los, s_pm = crlb_uncertainties(F_los), crlb_uncertainties(F_pm)
    assert s_pm["anisotropy.beta"] < 0.5 * s_los["anisotropy.beta"]
    # v_sys decouples: its bound is 1 / sqrt(sum 1 / C_i)
    C = np.asarray(spec.forward.dispersions(d1.R, tracer, spec.build(truth)[1], spec.build(truth)[2])["los"]) ** 2 + 4.0
    assert s_los["v_sys"] == pytest.approx(1 / np.sqrt(np.sum(d1.weights / C)), rel=1e-10)


def test_design_nodes_integrate_the_plummer_distribution():
    """Gauss-Legendre nodes in the cumulative projected number reproduce <R^2> of a
    Plummer profile truncated at R_max to 1e-6."""
    a, R_max = 0.25, 1.25
    design = SurveyDesign.from_tracer(Plummer(m_tot=1.0, r_s=a), 1000, v_err=2.0, R_max=R_max)
    p = lambda R: 2 * R * a**2 / (R**2 + a**2) ** 2  # noqa: E731 - dN/dR per star
    norm = quad(p, 0, R_max)[0]
    mean_R2 = quad(lambda R: R**2 * p(R), 0, R_max)[0] / norm
    assert design.n_stars == pytest.approx(1000, rel=1e-14)
    assert np.sum(design.weights * design.R**2) / design.n_stars == pytest.approx(mean_R2, rel=1e-6)


def test_crlb_inverts_and_warns_without_patching():
    F = np.array([[4.0, 1.0], [1.0, 3.0]])
    np.testing.assert_allclose(crlb(F) @ F, np.eye(2), atol=1e-14)
    bad = np.array([[1.0, 1.0 - 1e-12], [1.0 - 1e-12, 1.0]])
    with pytest.warns(RuntimeWarning, match="ill-conditioned.*condition number"):
        cov = crlb(bad)
    np.testing.assert_allclose(cov, np.linalg.inv(bad), rtol=1e-3)  # the plain inverse, not patched
    with pytest.raises(ValueError, match=r"no Fisher information on \['p1'\]"):
        crlb(np.diag([1.0, 0.0]))


def test_crlb_error_samples_have_the_crlb_covariance():
    """20,000 draws: sample covariance within 5 % (4 sigma of its scatter) of the CRLB."""
    F = FisherMatrix(np.array([[4.0, 1.0], [1.0, 3.0]]), ("a", "b"), np.array([1.0, -2.0]), 100.0)
    draws = crlb_error_samples(F, size=20000, seed=2)
    cov = np.cov(np.vstack([draws["a"], draws["b"]]))
    C = crlb(F)
    assert np.max(np.abs(cov - C) / np.sqrt(np.outer(np.diag(C), np.diag(C)))) < 0.05
    assert abs(np.mean(draws["a"]) - 1.0) < 0.02 and abs(np.mean(draws["b"]) + 2.0) < 0.02
    sig = crlb_uncertainties(F)
    assert sig["a"] == pytest.approx(np.sqrt(crlb(F)[0, 0]), rel=1e-14)


# 10 s of CPU time (a 9-parameter Zhao model, 2026-12-02); in the fast lane the same laws on
# the NFW model: test_forecast.py::test_default_forecast_is_fisher_plus_prior_information
@pytest.mark.slow
def test_forecast_errors_fall_as_one_over_root_n_and_priors_bound_them():
    spec = _zhao_spec()
    design = _design(spec, 100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 9 free parameters, 100 stars: may be ill-conditioned
        out = forecast(spec, MOCK_TRUTH, design, [100, 400], priors=False, derived=False)
    s = out["sigma"]["halo.gamma"]
    assert s[0] / s[1] == pytest.approx(2.0, rel=1e-6)
    widths = prior_standard_deviations(spec)
    assert widths["halo.gamma"] == pytest.approx(2.0 / np.sqrt(12), rel=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # regularised by the priors: well conditioned
        bounded = forecast(spec, MOCK_TRUTH, design, [100], priors=False, prior_widths=widths, derived=False)
    for site, w in widths.items():
        assert bounded["sigma"][site][0] <= w * (1 + 1e-12)


def test_forecast_command_prints_a_table(capsys):
    from dynamicall.cli import main

    args = ["forecast", "--halo", "nfw", "--anisotropy", "constant", "--R-half", "250 pc",
            "--truth", "halo.log10_rho_s=7.6", "--truth", "halo.log10_r_s=0", "--truth", "anisotropy.beta=0.2",
            "--n-stars", "100", "1000", "--v-err", "1,3", "--no-priors"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "N=100" in text and "N=1000" in text and "M_1.8_R_half" in text and "bare Cramer-Rao" in text
    row = next(line for line in text.splitlines() if line.startswith("halo.log10_m_ref"))  # default: as fit
    s100, s1000 = (float(x.rstrip("*")) for x in row.split()[-2:])
    assert s100 / s1000 == pytest.approx(np.sqrt(10), rel=2e-3)  # bare bound; 3 printed digits
    assert main(["forecast", "--halo", "nfw", "--anisotropy", "constant", "--R-half", "250 pc",
                 "--truth", "halo.log10_rho_s=7.6"]) == 2
    err = capsys.readouterr().err
    assert "give a truth for" in err and "Traceback" not in err


def test_forecast_truth_from_a_mock(tmp_path, capsys):
    """``--truth-from`` takes the truth, R_half and distance of a mock catalogue; with the
    priors' information included no Fisher error exceeds its prior's width."""
    from dynamicall.cli import main

    path = tmp_path / "nfw.ecsv"
    nfw_mock().write(path)
    args = ["forecast", "--truth-from", str(path), "--halo", "nfw", "--anisotropy", "constant",
            "--n-stars", "100", "1000", "--v-err", "1,3", "--method", "fisher"]
    assert main(args) == 0
    text = capsys.readouterr().out
    row = next(line for line in text.splitlines() if line.startswith("anisotropy.beta"))
    assert float(row.split()[1]) == NFW_TRUTH["anisotropy.beta"]
    # prior U(-1, 0.9) as its equal-entropy Gaussian, printed to 3 digits
    assert float(row.split()[2]) == pytest.approx(1.9 / np.sqrt(2 * np.pi * np.e), rel=2e-3)
    assert float(row.split()[3].rstrip("*")) <= 1.9 / np.sqrt(2 * np.pi * np.e) * (1 + 2e-3)


# ---------------------------------------------------------------------------- real emulator
# (the shipped_emulator fixture is in conftest.py)


@pytest.mark.emulator
@pytest.mark.slow
def test_emulator_fisher_matches_exact(shipped_emulator):
    """Emulator vs exact Fisher matrix (Zhao + Baes-van Hese at the mock's truth, 1000
    stars): every entry within 5 % of sqrt(F_ii F_jj), and the diagonal within 5 %."""
    exact = fisher_matrix(_zhao_spec(), MOCK_TRUTH, _design(_zhao_spec()))
    emu_spec = _zhao_spec(shipped_emulator)
    emu = fisher_matrix(emu_spec, MOCK_TRUTH, _design(emu_spec))
    scale = np.sqrt(np.outer(np.diag(exact.matrix), np.diag(exact.matrix)))
    assert np.max(np.abs(emu.matrix - exact.matrix) / scale) < 0.05
    np.testing.assert_allclose(np.diag(emu.matrix), np.diag(exact.matrix), rtol=0.05)
