"""Forecasts in fit's parameterisation (halo.log10_m_ref), and the one inversion shared by
Fisher forecasts and the Laplace covariance."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from dynamicall.infer import ModelSpec
from dynamicall.infer.fisher import crlb, fisher_matrix, forecast, truth_in_parameterization
from dynamicall.infer.optimize import hessian_covariance, inverse_positive_definite
from dynamicall.infer.survey import SurveyDesign

NATIVE = {"halo.log10_rho_s": 7.6, "halo.log10_r_s": 0.0, "anisotropy.beta": 0.2}


def test_crlb_and_the_laplace_covariance_share_one_inversion():
    """crlb(F) is inverse_positive_definite(F) exactly; the unit-diagonal scaling keeps a
    matrix whose parameters differ by 1e12 in scale exact: each entry of the inverse within
    1e-12 of sqrt(inv_ii inv_jj) of the closed form D^-1 core^-1 D^-1."""
    rng = np.random.default_rng(7)
    a = rng.normal(size=(4, 4))
    core = a @ a.T + 4 * np.eye(4)  # well conditioned
    D = np.diag([1e-6, 1.0, 1e3, 1e6])
    M = D @ core @ D
    inv, ok = inverse_positive_definite(M)
    assert ok
    np.testing.assert_array_equal(crlb(M), inv)
    Dinv = np.diag(1.0 / np.diag(D))
    exact = Dinv @ np.linalg.inv(core) @ Dinv
    scale = np.sqrt(np.outer(np.diag(exact), np.diag(exact)))
    assert np.max(np.abs(inv - exact) / scale) < 1e-12
    _, cov, ok = hessian_covariance(lambda x: 0.5 * x @ M @ x, np.zeros(4))  # the Laplace route
    np.testing.assert_allclose(np.asarray(cov), inv, rtol=1e-10)


def test_crlb_warns_when_ill_conditioned_and_refuses_when_no_digit_is_left():
    e = 1e-12
    bad = np.array([[1.0, 1.0 - e], [1.0 - e, 1.0]])  # condition ~2e12 after scaling: warns
    with pytest.warns(RuntimeWarning, match="ill-conditioned"):
        crlb(bad)
    hopeless = np.array([[1.0, 1.0], [1.0, 1.0 + 1e-17]])  # singular to float64 precision
    with pytest.raises(ValueError, match="singular"):
        crlb(hopeless)


@pytest.mark.parametrize("halo", ["nfw", "zhao", "burkert"])
def test_truth_converts_between_parameterisations(halo):
    """log10_m_ref = log10 M_halo(< 1.8 R_half) of the native halo; converting back gives
    the native truth (1e-12)."""
    native = ModelSpec("plummer", halo, "constant", R_half=0.25)
    enclosed = ModelSpec("plummer", halo, "constant", R_half=0.25, parameterization="enclosed_mass")
    truth = {s: v for s, v in native.reference().items()}
    truth["halo.log10_rho_s"] = 7.7
    converted = truth_in_parameterization(enclosed, truth)
    assert "halo.log10_rho_s" not in converted
    expected = float(np.log10(native.halo(truth).mass(1.8 * 0.25)))
    assert converted["halo.log10_m_ref"] == pytest.approx(expected, abs=1e-12)
    back = truth_in_parameterization(native, converted)
    assert back["halo.log10_rho_s"] == pytest.approx(7.7, abs=1e-12)
    assert truth_in_parameterization(enclosed, {"anisotropy.beta": 0.1}) == {"anisotropy.beta": 0.1}


@pytest.mark.slow
def test_bare_bound_of_derived_quantities_does_not_depend_on_the_parameterisation():
    """A Fisher matrix transforms covariantly: without priors, the bounds on M(<1.8 R_half)
    and rho(150 pc) are the same whether the halo normalisation is log10 rho_s or
    log10 M_ref (1e-7); with priors they differ only through where the flat prior's
    information sits."""
    native = ModelSpec("plummer", "nfw", "constant", R_half=0.25)
    enclosed = ModelSpec("plummer", "nfw", "constant", R_half=0.25, parameterization="enclosed_mass")
    truth_m = truth_in_parameterization(enclosed, NATIVE)
    design = SurveyDesign.from_tracer(native.build(NATIVE)[0], 500, v_err=2.0, R_max=1.25)
    outs = []
    for spec, truth in ((native, NATIVE), (enclosed, truth_m)):
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            outs.append(forecast(spec, truth, design, [500], priors=False))
    for q in ("M_1.8_R_half", "rho_150pc"):
        assert outs[1]["sigma"][q][0] == pytest.approx(outs[0]["sigma"][q][0], rel=1e-7)
    # the bare bound on log10 M_ref is that on M(<1.8 R_half), in dex
    F = fisher_matrix(enclosed, truth_m, design)
    sigma_log = np.sqrt(crlb(F)[0, 0])
    rel = outs[1]["sigma"]["M_1.8_R_half"][0] / outs[1]["values"]["M_1.8_R_half"]
    assert sigma_log * np.log(10) == pytest.approx(rel, rel=1e-7)


@pytest.mark.slow
def test_forecast_command_uses_fits_parameterisation_by_default(capsys):
    from dynamicall.cli import main

    base = ["forecast", "--halo", "nfw", "--anisotropy", "constant", "--R-half", "250 pc",
            "--truth", "halo.log10_rho_s=7.6", "--truth", "halo.log10_r_s=0", "--truth", "anisotropy.beta=0.2",
            "--n-stars", "100", "--v-err", "2", "--method", "fisher"]
    assert main(base) == 0
    text = capsys.readouterr().out
    assert "halo normalisation: enclosed_mass" in text
    assert any(line.startswith("halo.log10_m_ref") for line in text.splitlines())
    assert main(base + ["--parameterization", "native"]) == 0
    text = capsys.readouterr().out
    assert any(line.startswith("halo.log10_rho_s") for line in text.splitlines())
