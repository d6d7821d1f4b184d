"""The emulator's lean path for fixed data radii, the guard band, Jacobian training sets,
derivative-aware training and the alternative baselines / output heads."""

from __future__ import annotations

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynamicall.anisotropy import BaesVanHese
from dynamicall.emulate import load
from dynamicall.emulate.baseline import log_sigma_baseline, zhao_mass, zhao_mass_closed_form
from dynamicall.emulate.emulator import interpolation_matrix
from dynamicall.jeans import JeansConfig, sigma_los
from dynamicall.profiles import Plummer, Zhao
from dynamicall.train.dataset import read_dataset
from dynamicall.train.generate import generate
from dynamicall.train.recipe import dimensionless_dispersions, load_recipe, parse_recipe
from dynamicall.train.training import TrainSettings, problem_from_recipe, train_network

ROOT = pathlib.Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "recipes" / "tiny.toml"
STARS = Plummer(m_tot=1e6, r_s=0.25)
HALO = Zhao(rho_s=3e7, r_s=0.6, alpha=1.5, beta=4.5, gamma=0.8)
ANISO = BaesVanHese(beta_0=0.1, beta_inf=0.4, r_a=0.3, eta=2.0)


# ------------------------------------------------------------------ interpolation matrix
def test_interpolation_matrix_is_exact_on_cubics_and_extrapolates_power_laws():
    grid = np.geomspace(0.01, 10.0, 32)
    inside = np.geomspace(0.0123, 9.7, 57)
    W = interpolation_matrix(grid, inside)
    s, t = np.log(grid), np.log(inside)
    cubic = lambda x: 0.3 * x**3 - x**2 + 2 * x - 1  # noqa: E731
    np.testing.assert_allclose(W @ cubic(s), cubic(t), rtol=0, atol=1e-11)
    outside = np.array([0.005, 20.0])
    Wo = interpolation_matrix(grid, outside)
    np.testing.assert_allclose(Wo @ (1.7 * s - 0.2), 1.7 * np.log(outside) - 0.2, atol=1e-12)
    np.testing.assert_allclose(W.sum(axis=1), 1.0, atol=1e-12)


def test_interpolation_matrix_on_a_real_profile_is_accurate_to_5e5():
    """Cubic interpolation in ln R of ln sigma from the emulators' 32-point grid to stars:
    the error it adds is far below any emulator's (measured 2.0e-5 max here, at the steepest radii)."""
    R_half = 0.25
    grid = np.geomspace(0.01, 10.0, 32) * R_half
    stars = np.geomspace(0.011, 9.5, 41) * R_half
    config = JeansConfig.fast()
    on_grid = np.log(np.asarray(sigma_los(grid, STARS, HALO, ANISO, config=config)))
    at_stars = np.log(np.asarray(sigma_los(stars, STARS, HALO, ANISO, config=config)))
    err = np.abs(interpolation_matrix(grid, stars) @ on_grid - at_stars).max()
    assert err < 5e-5, err


# ------------------------------------------------------------------ lean path
def test_predictor_is_the_emulator_composed_with_the_interpolation_matrix(shipped_emulator):
    emu = shipped_emulator.with_on_domain("penalty")
    R = np.geomspace(0.01, 2.0, 23)
    f = emu.predictor(R, STARS)
    lean = np.asarray(f(HALO, ANISO)["los"])
    x = emu.features(STARS, HALO, ANISO)
    log_grid = np.asarray(emu.predict_log(x))[0]
    unit = float(jnp.sqrt(4.300917270038e-06 * HALO.rho_s) * STARS.r_s)
    direct = np.exp(interpolation_matrix(emu.grid, R / 0.25) @ log_grid) * unit
    np.testing.assert_allclose(lean, direct, rtol=1e-6)  # float32 network: rounding only
    # and close to the emulator's own (linear) interpolation: both are the same emulator
    np.testing.assert_allclose(lean, np.asarray(emu.sigma_los(R, STARS, HALO, ANISO)), rtol=2e-3)


def test_predictor_gradients_and_domain_policy(shipped_emulator):
    R = np.geomspace(0.02, 1.5, 11)
    f = shipped_emulator.with_on_domain("penalty").predictor(R, STARS)

    def total(gamma):
        return jnp.sum(jnp.log(f(Zhao(rho_s=3e7, r_s=0.6, alpha=1.5, beta=4.5, gamma=gamma), ANISO)["los"]))

    # compiled whole (eager: one compilation per operation)
    g = jax.jit(jax.grad(total))(0.8)
    total = jax.jit(total)
    fd = (total(0.8 + 1e-4) - total(0.8 - 1e-4)) / 2e-4
    assert np.isfinite(g) and float(g) == pytest.approx(float(fd), rel=1e-2)
    outside = Zhao(rho_s=3e7, r_s=0.6, alpha=1.5, beta=4.5, gamma=1.9)
    assert np.all(np.isfinite(np.asarray(jax.jit(f)(outside, ANISO)["los"])))  # clipped ("penalty")
    raising = shipped_emulator.with_on_domain("raise").predictor(R, STARS)
    assert np.all(np.isnan(np.asarray(jax.jit(raising)(outside, ANISO)["los"])))


def test_kinematic_model_uses_the_lean_path_with_the_same_answer(shipped_emulator):
    from dynamicall.data import StarCatalog
    from dynamicall.infer.models import KinematicModel
    from dynamicall.infer.spec import ModelSpec

    cat = StarCatalog.read(ROOT / "data" / "mock_dwarf.ecsv")
    model = KinematicModel(ModelSpec("plummer", "zhao", "baes-van-hese", R_half=cat.R_half,
                                     forward=shipped_emulator), cat)
    exact = KinematicModel(ModelSpec("plummer", "zhao", "baes-van-hese", R_half=cat.R_half), cat)
    assert model._lean is not None and exact._lean is None
    values = {k: jnp.asarray(v, float) for k, v in model.reference().items()}
    # each prediction compiled whole, as inside a fit (eager: one compilation per operation)
    lean = np.asarray(jax.jit(model.predict)(values)["los"])
    model._lean, saved = None, model._lean
    general = np.asarray(jax.jit(model.predict)(values)["los"])
    model._lean = saved
    np.testing.assert_allclose(lean, general, rtol=3e-4)  # two interpolations vs one cubic
    truth = np.asarray(jax.jit(exact.predict)(values)["los"])
    assert np.abs(lean / truth - 1).max() <= np.abs(general / truth - 1).max() * 1.05
    # a sampled R_half (free tracer scale) moves the stars' R / R_half: the general path
    with pytest.warns(UserWarning):
        free = KinematicModel(ModelSpec("plummer", "zhao", "baes-van-hese", R_half=cat.R_half,
                                        forward=shipped_emulator, priors={"tracer.log10_r_s": (-0.7, -0.5)}), cat)
    assert free._lean is None


# ------------------------------------------------------------------ baselines
def test_closed_form_mass_has_the_exact_inner_power_law():
    """M -> 4 pi r_s^3 y^(3 - gamma) / (3 - gamma) as y = r / r_s -> 0, with a relative
    deviation of order y^alpha."""
    log10_rs = 0.3
    r_s = 10**log10_rs
    for alpha, gamma in ((1.0, 1.0), (2.0, 0.0), (0.7, 1.4)):
        for r in (1e-3, 1e-5):
            y = r / r_s
            inner = 4 * np.pi * r_s**3 * y ** (3 - gamma) / (3 - gamma)
            closed = float(zhao_mass_closed_form(np.array([r]), log10_rs, alpha, gamma)[0])
            assert abs(closed / inner - 1) <= 1.01 * (3 - gamma) / alpha * y**alpha


def test_baseline_takes_fixed_parameters_and_refuses_missing_ones():
    grid = np.geomspace(0.05, 5.0, 8)
    a = log_sigma_baseline(grid, np.array([[0.2, 0.5]]), ["log10_rs", "gamma"], fixed={"alpha": 1.0, "beta": 3.5})
    b = log_sigma_baseline(grid, np.array([[0.2, 1.0, 3.5, 0.5]]), ["log10_rs", "alpha", "beta", "gamma"])
    np.testing.assert_allclose(a, b, rtol=1e-14)
    with pytest.raises(KeyError, match="alpha"):
        log_sigma_baseline(grid, np.array([[0.2, 0.5]]), ["log10_rs", "gamma"])
    with pytest.raises(ValueError, match="baseline kind"):
        log_sigma_baseline(grid, np.array([[0.2, 0.5]]), ["log10_rs", "gamma"], kind="spline")


# ------------------------------------------------------------------ guard band, Jacobian
GUARDED = (TINY.read_text().replace('seed = 11\n', 'seed = 11\nguard_band = 0.1\n')
           .replace('range = [0.0, 1.2]\n', 'range = [0.0, 1.2]\ntrain_range = [0.0, 1.32]  # gamma >= 0\n'))


def test_guard_band_widens_the_train_split_only(tmp_path):
    recipe = parse_recipe(GUARDED)
    plain = load_recipe(TINY)
    assert recipe.fingerprint() == plain.fingerprint() and recipe.bounds == plain.bounds
    assert recipe.train_bounds["log10_rs"] == pytest.approx((-0.65, 1.15))  # 10 % of 1.5 each side
    assert recipe.train_bounds["gamma"] == (0.0, 1.32)  # train_range overrides
    generate(recipe, tmp_path / "train.h5", n=128, chunk=64, progress=False)
    generate(recipe, tmp_path / "test.h5", split="test", n=64, chunk=64, progress=False)
    train, test = read_dataset(tmp_path / "train.h5"), read_dataset(tmp_path / "test.h5")
    for name, (lo, hi) in recipe.bounds.items():
        j = recipe.input_names.index(name)
        assert lo <= test.inputs[:, j].min() and test.inputs[:, j].max() <= hi
        wlo, whi = recipe.train_bounds[name]
        assert wlo <= train.inputs[:, j].min() and train.inputs[:, j].max() <= whi
        assert train.inputs[:, j].max() > hi  # the train split reaches into the band
    assert train.attrs["sampled_bounds"]["log10_rs"] == pytest.approx([-0.65, 1.15])
    assert "sampled_bounds" not in test.attrs
    problem = problem_from_recipe(recipe)
    assert problem["bounds"]["log10_rs"] == [-0.5, 1.0]
    assert problem["training_bounds"]["log10_rs"] == pytest.approx([-0.65, 1.15])


def test_a_guard_band_outside_the_physical_range_is_refused():
    text = GUARDED.replace('range = [-0.5, 0.5]', 'range = [-0.5, 0.95]')
    with pytest.raises(ValueError, match="guard band .*train_range"):
        parse_recipe(text)
    fixed = text.replace('range = [-0.5, 0.95]', 'range = [-0.5, 0.95]\ntrain_range = [-0.6, 0.99]')
    with pytest.raises(ValueError, match="must contain range"):
        parse_recipe(text.replace('range = [-0.5, 0.95]', 'range = [-0.5, 0.95]\ntrain_range = [-0.4, 0.99]'))
    assert parse_recipe(fixed).train_bounds["beta_c"] == (-0.6, 0.99)


@pytest.mark.slow
def test_jacobian_set_matches_finite_differences(tmp_path):
    recipe = load_recipe(TINY)
    generate(recipe, tmp_path / "j.h5", n=16, chunk=16, progress=False, jacobian=True)
    data = read_dataset(tmp_path / "j.h5")
    plain = tmp_path / "p.h5"
    generate(recipe, plain, n=16, chunk=16, progress=False)
    np.testing.assert_array_equal(read_dataset(plain).outputs, data.outputs)
    assert data.jacobian.shape == (16, 8, 3)
    x, h = data.inputs[:4], 1e-5
    for j in range(3):
        e = np.zeros(3)
        e[j] = h
        fd = (np.asarray(dimensionless_dispersions(recipe, x + e)) - np.asarray(dimensionless_dispersions(recipe, x - e))) / (2 * h)
        np.testing.assert_allclose(data.jacobian[:4, :, j], fd, atol=1e-8)


@pytest.mark.slow
@pytest.mark.parametrize("baseline,components", [("closed_form", 4), ("none", 0)])
def test_other_baselines_and_pca_heads_train_and_predict_consistently(tmp_path, baseline, components):
    recipe = load_recipe(TINY)
    generate(recipe, tmp_path / "t.h5", n=192, chunk=64, progress=False, jacobian=True)
    data = read_dataset(tmp_path / "t.h5")
    emu = train_network(problem_from_recipe(recipe), (data.inputs[:160], data.outputs[:160]),
              (data.inputs[160:], data.outputs[160:]), dict(family="mlp", width=16, depth=2, activation="silu"),
              tmp_path / "emu", settings=TrainSettings(batch_size=32, max_epochs=3, learning_rate=3e-3),
              progress=False, log=lambda *a: None, baseline=baseline, n_components=components,
              jacobian_data=(data.inputs, data.jacobian), grad_weight=0.1, val_jacobian=(data.inputs[160:], data.jacobian[160:]))
    emu = load(tmp_path / "emu")
    assert emu.card["normalization"]["baseline_kind"] == baseline
    assert len(emu.card["normalization"].get("output_basis", [])) == components
    assert "val_grad_median_rel_err" in emu.card["training"]["history"][-1]
    history = emu.card["training"]["history"]
    assert history[-1]["val_loss"] < history[0]["val_loss"] * 1.5
    # the loader reproduces the training loop's validation errors: same baseline, same head
    pred = np.asarray(emu.predict_log(data.inputs[160:])).reshape(32, -1)
    best = emu.card["training"]["best_validation"]
    med = float(np.median(np.abs(np.expm1(pred - data.outputs[160:]))))
    assert med == pytest.approx(best["val_median_rel_err"], rel=1e-3)
