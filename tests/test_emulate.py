"""Emulator library: training, resume, file format, drop-in swap, domain guard, CNN.

A tiny MLP is trained for a few epochs on the reference training set in data/; the tests
check mechanics (and that training learns), not the accuracy of a shipped emulator (see
test_shipped_emulator.py).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import warnings

import astropy.units as u
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpy.testing import assert_allclose

from dynamicall.anisotropy import BaesVanHese, Constant, OsipkovMerritt
from dynamicall.emulate import EmulatorFileError, OutOfDomainError, ProblemMismatch, load
from dynamicall.emulate.emulator import network_arrays
from dynamicall.profiles import NFW, Dehnen, Plummer, Zhao
from dynamicall.train.dataset import read_dataset
from dynamicall.train.recipe import load_recipe, shipped_recipe_path
from dynamicall.train.training import TrainSettings, problem_from_recipe, train_network

ROOT = pathlib.Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "data" / "reference_zhao_bvh_plummer.h5"
TINY = dict(family="mlp", width=32, depth=2, activation="silu")
SETTINGS = TrainSettings(batch_size=128, max_epochs=3, steps_per_call=8, learning_rate=3e-3)


@pytest.fixture(scope="module")
def reference():
    data = read_dataset(REFERENCE)
    recipe = load_recipe(shipped_recipe_path("zhao_bvh_plummer"))
    n_val = 512
    split = (data.inputs[:-n_val], data.outputs[:-n_val]), (data.inputs[-n_val:], data.outputs[-n_val:])
    return problem_from_recipe(recipe), split


@pytest.fixture(scope="module")
def trained(reference, tmp_path_factory):
    problem, (train, val) = reference
    out = tmp_path_factory.mktemp("emu") / "tiny"
    train_network(problem, train, val, TINY, out, settings=SETTINGS, progress=False, log=lambda *a: None)
    return out


def test_training_learns_and_writes_a_card(trained):
    card = json.loads((trained / "card.json").read_text())
    history = card["training"]["history"]
    assert len(history) == 3
    # targets are standardised residuals: predicting the mean (baseline alone) scores 1
    assert history[-1]["val_loss"] < min(0.5, history[0]["val_loss"])
    assert card["problem"]["input_names"][0] == "log10_rs" and len(card["problem"]["grid"]) == 32
    assert len(card["training"]["dataset_hash"]) == 64 and card["training"]["dataset_size"] > 1000
    assert not (trained / "checkpoint").exists() and not (trained.parent / f".{trained.name}.checkpoint").exists()
    assert "Training report" in (trained / "report.md").read_text()


def test_interrupted_training_resumes_to_the_same_weights(reference, tmp_path):
    problem, (train, val) = reference
    train = (train[0][:1024], train[1][:1024])
    settings = TrainSettings(batch_size=128, max_epochs=4, steps_per_call=8, learning_rate=3e-3)
    train_network(problem, train, val, TINY, tmp_path / "whole", settings=settings, progress=False, log=lambda *a: None)

    class Interrupt(Exception):
        pass

    def stop_after_two(line):
        if json.loads(line)["epoch"] == 2:
            raise Interrupt

    with pytest.raises(Interrupt):
        train_network(problem, train, val, TINY, tmp_path / "split", settings=settings, progress=False, log=stop_after_two)
    # the state lives beside the (not yet written) emulator folder, never inside it
    assert (tmp_path / ".split.checkpoint" / "state.npz").is_file() and not (tmp_path / "split").exists()
    lines = []
    train_network(problem, train, val, TINY, tmp_path / "split", settings=settings, progress=False, log=lines.append)
    assert lines[0].startswith("resuming from epoch 2")
    a, b = load(tmp_path / "whole"), load(tmp_path / "split")
    for key in a.arrays:
        np.testing.assert_array_equal(a.arrays[key], b.arrays[key], err_msg=key)


def test_missing_truncated_or_mismatched_files_are_refused(trained, tmp_path):
    with pytest.raises(EmulatorFileError, match="no emulator"):
        load(tmp_path / "nowhere")
    broken = tmp_path / "broken"
    shutil.copytree(trained, broken)
    data = (broken / "weights.npz").read_bytes()
    (broken / "weights.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(EmulatorFileError, match="truncated or replaced"):
        load(broken)
    (broken / "weights.npz").unlink()
    with pytest.raises(EmulatorFileError, match="missing"):
        load(broken)
    shutil.copy(trained / "weights.npz", broken / "weights.npz")
    card = json.loads((broken / "card.json").read_text())
    card["weights"]["arrays"]["out.bias"] = [7]
    (broken / "card.json").write_text(json.dumps(card))
    with pytest.raises(EmulatorFileError, match="differ from the card"):
        load(broken)
    (broken / "card.json").write_text(json.dumps(card)[:100])
    with pytest.raises(EmulatorFileError, match="not valid JSON"):
        load(broken)


STARS = Plummer(m_tot=1e6, r_s=0.25)
HALO = Zhao(rho_s=3e7, r_s=0.6, alpha=1.5, beta=4.5, gamma=0.8)
ANISO = BaesVanHese(beta_0=0.1, beta_inf=0.4, r_a=0.3, eta=2.0)
R = np.geomspace(0.005, 2.0, 9)


def test_drop_in_signature_units_and_exact_scales(trained):
    emu = load(trained)
    s = emu.sigma_los(R, STARS, HALO, ANISO)
    assert s.shape == R.shape and np.all(np.isfinite(s))
    assert_allclose(emu.sigma_los(R * 1e3 * u.pc, STARS, HALO, ANISO), s, rtol=1e-12)
    # sigma scales exactly as sqrt(G rho_s R_half^2): the network sees identical inputs
    lam, k = 3.0, 5.0
    scaled = emu.sigma_los(
        lam * R,
        Plummer(m_tot=1e6, r_s=lam * 0.25),
        Zhao(rho_s=k * 3e7, r_s=lam * 0.6, alpha=1.5, beta=4.5, gamma=0.8),
        BaesVanHese(beta_0=0.1, beta_inf=0.4, r_a=lam * 0.3, eta=2.0),
    )
    assert_allclose(scaled, lam * np.sqrt(k) * s, rtol=1e-10)
    # an NFW halo is Zhao (1, 3, 1); a constant anisotropy is Baes-van Hese with beta_0 = beta_inf
    nfw = NFW(rho_s=3e7, r_s=0.6)
    assert_allclose(emu.features(STARS, nfw, ANISO), emu.features(STARS, Zhao(rho_s=3e7, r_s=0.6, alpha=1.0, beta=3.0, gamma=1.0), ANISO))
    assert_allclose(emu.sigma_los(R, STARS, HALO, Constant(beta=0.3)),
                    emu.sigma_los(R, STARS, HALO, BaesVanHese(beta_0=0.3, beta_inf=0.3, r_a=0.25, eta=2.0)), rtol=1e-12)
    with pytest.raises(ProblemMismatch, match="OsipkovMerritt"):
        emu.sigma_los(R, STARS, HALO, OsipkovMerritt(r_a=0.3))
    with pytest.raises(ProblemMismatch, match="Plummer tracer"):
        emu.sigma_los(R, Dehnen(m_tot=1.0, r_s=0.25, gamma=1.0), HALO, ANISO)


def test_emulator_is_differentiable_and_vmaps(trained):
    emu = load(trained)

    def sigma(beta):
        return emu.sigma_los(0.3, STARS, Zhao(rho_s=3e7, r_s=0.6, alpha=1.5, beta=beta, gamma=0.8), ANISO)

    g = jax.jit(jax.grad(sigma))(4.5)
    jsigma = jax.jit(sigma)
    fd = (jsigma(4.5 + 1e-4) - jsigma(4.5 - 1e-4)) / 2e-4
    assert np.isfinite(g) and abs(g - fd) < 1e-3 * abs(fd) + 1e-6
    betas = jnp.array([3.5, 4.5, 5.5])
    assert_allclose(jax.jit(jax.vmap(sigma))(betas), [jsigma(b) for b in betas], rtol=1e-5)


def test_out_of_domain_policies(trained):
    emu = load(trained)
    outside = Zhao(rho_s=3e7, r_s=0.6, alpha=1.5, beta=7.5, gamma=0.8)
    with pytest.raises(OutOfDomainError, match="beta = 7.5 not in"):
        emu.sigma_los(R, STARS, outside, ANISO)
    with pytest.raises(OutOfDomainError, match="R / R_half outside"):
        emu.sigma_los([5.0], STARS, HALO, ANISO)
    with pytest.warns(UserWarning, match="extrapolating"):
        emu.with_on_domain("warn").sigma_los(R, STARS, outside, ANISO)
    traced = jax.jit(lambda b: emu.sigma_los(R, STARS, Zhao(rho_s=3e7, r_s=0.6, alpha=1.5, beta=b, gamma=0.8), ANISO))
    assert np.all(np.isnan(traced(7.5))) and np.all(np.isfinite(traced(4.5)))
    pen = emu.with_on_domain("penalty")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = pen.sigma_los(R, STARS, outside, ANISO)
    assert np.all(np.isfinite(values))
    assert pen.domain_penalty(STARS, HALO, ANISO) == 0.0

    def penalty(beta):
        return pen.domain_penalty(STARS, Zhao(rho_s=3e7, r_s=0.6, alpha=1.5, beta=beta, gamma=0.8), ANISO)

    # -(d / w)^2 / 2 with w = 1e-3 of the range (4): 1 width outside -> -1/2, 10 -> -50
    assert_allclose([penalty(7.004), penalty(7.04)], [-0.5, -50.0], rtol=1e-6)
    slope = jax.grad(penalty)(7.04)
    assert np.isfinite(slope) and slope < 0
    with pytest.raises(ValueError, match="on_domain"):
        emu.with_on_domain("ignore")


@pytest.mark.slow
def test_validation_writes_report_and_card(trained, tmp_path):
    from dynamicall.train.validate import validate

    folder = tmp_path / "v"
    shutil.copytree(trained, folder)
    stats = validate(load(folder), n=64, progress=False)
    card = json.loads((folder / "card.json").read_text())
    assert card["validation"]["n_profiles"] == 64 and (folder / "report.png").stat().st_size > 5000
    assert "per-profile max abs(E)" in (folder / "report.md").read_text()
    assert 0 < stats["median_point_abs_error"] < stats["p99_profile_max_abs_error"]
    load(folder)  # the card update keeps the weights' hash valid


# ----------------------------------------------------------------- CNN + MLP
def _two_plummer(w, k, scale):
    """A tracer of two Plummer spheres: mass fractions w, 1 - w; radii scale, k * scale."""
    return Plummer(m_tot=w, r_s=scale) + Plummer(m_tot=1.0 - w, r_s=k * scale)


def _variable_tracer_set(n, seed):
    """Two-Plummer tracers of varied shape, scaled to R_half = 1, in Zhao haloes."""
    from dynamicall.jeans import JeansConfig, projected_dispersions
    from dynamicall.units import G

    rng = np.random.default_rng(seed)
    w, k = rng.uniform(0.2, 0.8, n), rng.uniform(2.0, 5.0, n)
    names = ["log10_rs", "alpha", "beta", "gamma", "beta_0", "beta_inf", "log10_ra", "eta"]
    lo = np.array([-1.0, 0.5, 3.0, 0.0, -0.5, -0.5, -1.0, 1.0])
    hi = np.array([1.4, 3.0, 7.0, 1.5, 0.5, 0.5, 1.0, 3.0])
    x = lo + (hi - lo) * rng.uniform(size=(n, 8))
    grid = np.geomspace(0.01, 10.0, 16)

    def one(wi, ki, xi):
        tracer = _two_plummer(wi, ki, 1.0 / _two_plummer(wi, ki, 1.0).half_light_radius())
        halo = Zhao(rho_s=1.0, r_s=10 ** xi[0], alpha=xi[1], beta=xi[2], gamma=xi[3])
        aniso = BaesVanHese(beta_0=xi[4], beta_inf=xi[5], r_a=10 ** xi[6], eta=xi[7])
        s = projected_dispersions(grid, tracer, halo, aniso, config=JeansConfig.fast())["los"]
        profile = jnp.log(tracer.surface_density(grid) / tracer.surface_density(1.0))
        return jnp.log(s / np.sqrt(G)), profile

    y, prof = jax.jit(jax.vmap(one))(jnp.asarray(w), jnp.asarray(k), jnp.asarray(x))
    problem = dict(tracer="any", mass="Zhao", anisotropy="BaesVanHese", stars=False, input_names=names,
                   bounds={n_: [float(a), float(b)] for n_, a, b in zip(names, lo, hi)},
                   constraints=[], grid=grid.tolist(), quantities=["log_sigma_los"], recipe="")
    return problem, np.concatenate([x, np.asarray(prof)], axis=1), np.asarray(y)


@pytest.mark.slow
def test_cnn_emulator_trains_and_reuses_its_encoder(tmp_path):
    problem, X, Y = _variable_tracer_set(384, 0)
    arch = dict(family="cnn_mlp", n_profile=16, channels=[4, 8], kernel=3, n_features=6, width=32, depth=2,
                activation="silu")
    emu = train_network(problem, (X[:320], Y[:320]), (X[320:], Y[320:]), arch, tmp_path / "cnn",
              settings=TrainSettings(batch_size=64, max_epochs=3, steps_per_call=5), progress=False, log=lambda *a: None)
    history = emu.card["training"]["history"]
    assert history[-1]["val_loss"] < history[0]["val_loss"]
    emu = load(tmp_path / "cnn")
    tracer = _two_plummer(0.5, 3.0, 0.1)
    halo = Zhao(rho_s=3e7, r_s=0.5, alpha=1.5, beta=4.5, gamma=0.8)
    encoded = emu.encode_tracer(tracer)
    Rs = float(tracer.half_light_radius()) * np.geomspace(0.02, 5.0, 7)
    direct = emu.sigma_los(Rs, tracer, halo, ANISO)
    reused = jax.jit(lambda b: emu.sigma_los(Rs, encoded, halo, BaesVanHese(beta_0=b, beta_inf=0.4, r_a=0.3, eta=2.0)))
    assert_allclose(reused(0.1), direct, rtol=1e-5)


def test_mlp_has_no_encoder(trained):
    with pytest.raises(ValueError, match="no tracer encoder"):
        load(trained).encode_tracer(STARS)


# ------------------------------------------------------------- data parallel
_PARALLEL = """
import json, sys
import jax
from dynamicall.train.dataset import read_dataset
from dynamicall.train.recipe import load_recipe, shipped_recipe_path
from dynamicall.train.training import TrainSettings, problem_from_recipe, train_network
data = read_dataset(sys.argv[1])
problem = problem_from_recipe(load_recipe(shipped_recipe_path("zhao_bvh_plummer")))
emu = train_network(problem, (data.inputs[:1024], data.outputs[:1024]), (data.inputs[-512:], data.outputs[-512:]),
          dict(family="mlp", width=32, depth=2, activation="silu"), sys.argv[2],
          settings=TrainSettings(batch_size=128, max_epochs=2, steps_per_call=8, learning_rate=3e-3),
          progress=False, log=lambda *a: None)
print(json.dumps(dict(devices=jax.local_device_count())))
"""


@pytest.mark.slow
def test_data_parallel_training_matches_one_device(reference, tmp_path):
    """Two simulated CPU devices split every batch (jax.sharding); the weights equal a
    one-device run's up to float32 reduction order (relative 1e-4 after two epochs)."""
    problem, (train, val) = reference
    settings = TrainSettings(batch_size=128, max_epochs=2, steps_per_call=8, learning_rate=3e-3)
    one = train_network(problem, (train[0][:1024], train[1][:1024]), val, TINY, tmp_path / "d1", settings=settings,
              progress=False, log=lambda *a: None)
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    done = subprocess.run([sys.executable, "-c", _PARALLEL, str(REFERENCE), str(tmp_path / "d2")], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["devices"] == 2
    two = load(tmp_path / "d2")
    assert len(two.card["training"]["devices"]) == 2
    for key, a in one.arrays.items():
        assert_allclose(two.arrays[key], a, rtol=1e-4, atol=1e-5, err_msg=key)


def test_network_arrays_round_trip(trained):
    emu = load(trained)
    from dynamicall.emulate.emulator import network_from_arrays

    net = network_from_arrays(emu.card["architecture"], emu.arrays)
    for k, v in network_arrays(net).items():
        np.testing.assert_array_equal(v, emu.arrays[k])
