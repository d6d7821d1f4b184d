"""Bad inputs to ``dynamicall generate``, ``train``, ``validate`` and the emulator: each
gets a clear one-line error (exit status 2 for commands, ValueError in the API), and
nothing finished is lost, overwritten or mixed. (To be folded into test_bad_input.py.)
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import pathlib

import numpy as np
import pytest

from dynamicall.anisotropy import BaesVanHese
from dynamicall.cli import main
from dynamicall.emulate import load
from dynamicall.jeans import sigma_los
from dynamicall.profiles import Plummer, Zhao
from dynamicall.train.generate import generate
from dynamicall.train.recipe import load_recipe
from dynamicall.train.training import TrainSettings, problem_from_recipe, train_network

ROOT = pathlib.Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "recipes" / "tiny.toml"
REFERENCE = ROOT / "data" / "reference_zhao_bvh_plummer.h5"
TRAIN_FLAGS = ["--width", "8", "--depth", "1", "--max-epochs", "1", "--batch", "64", "--quiet"]


def _digest(folder: pathlib.Path) -> dict:
    """name -> sha256 of every file in a folder (what must not change)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _run(capsys, *argv):
    """(exit status, stderr) of the dynamicall command in this process."""
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def _one_clear_line(err: str, *words):
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny") / "tiny.h5"
    generate(load_recipe(TINY), out, n=192, chunk=64, progress=False)
    return out


@pytest.fixture(scope="module")
def tiny_jacobian_set(tmp_path_factory):
    out = tmp_path_factory.mktemp("tinyj") / "tiny_jac.h5"
    generate(load_recipe(TINY), out, n=64, chunk=64, progress=False, jacobian=True)
    return out


@pytest.fixture
def trained(tiny_set, tmp_path, capsys):
    """A trained tiny emulator (the recipe fixes the Zhao alpha and beta: the case that
    raised KeyError 'alpha')."""
    out = tmp_path / "emu"
    code, err = _run(capsys, "train", TINY, "--data", tiny_set, "--out", out, *TRAIN_FLAGS)
    assert code == 0, err
    return out


# ------------------------------------------------------------------ train
def test_train_on_a_recipe_with_fixed_zhao_slopes_works(trained):
    emu = load(trained)
    assert emu.problem["fixed"] == {"alpha": 1.0, "beta": 3.5}
    out = np.asarray(emu.predict_log(np.array([0.2, 0.5, 0.1])))
    assert out.shape == (1, 8) and np.all(np.isfinite(out))


def test_train_refuses_to_replace_an_emulator_without_overwrite(trained, tiny_set, capsys):
    before = _digest(trained)
    code, err = _run(capsys, "train", TINY, "--data", tiny_set, "--out", trained, *TRAIN_FLAGS)
    assert code == 2
    _one_clear_line(err, str(trained), "--overwrite")
    assert _digest(trained) == before


def test_train_overwrite_replaces_weights_card_and_report_together(trained, tiny_set, capsys):
    before = _digest(trained)
    (trained / "report.md").write_text("# an old report claiming the floors are met\n")
    code, err = _run(capsys, "train", TINY, "--data", tiny_set, "--out", trained, "--overwrite",
                     *TRAIN_FLAGS[:-3], "--batch", "32", "--quiet")
    assert code == 0, err
    after = _digest(trained)
    assert after["weights.npz"] != before["weights.npz"]
    card = json.loads((trained / "card.json").read_text())
    assert card["weights"]["sha256"] == hashlib.sha256((trained / "weights.npz").read_bytes()).hexdigest()
    assert card["training"]["settings"]["batch_size"] == 32
    assert "old report" not in (trained / "report.md").read_text()
    assert "Training report" in (trained / "report.md").read_text()
    load(trained)


def test_an_interrupted_overwrite_leaves_the_old_emulator_whole(trained, tiny_set):
    from dynamicall.train.dataset import read_dataset

    before = _digest(trained)
    data = read_dataset(tiny_set)

    class Stop(Exception):
        pass

    def stop(line):
        raise Stop

    problem = problem_from_recipe(load_recipe(TINY))
    with pytest.raises(Stop):
        train_network(problem, (data.inputs[:128], data.outputs[:128]), (data.inputs[128:], data.outputs[128:]),
            dict(family="mlp", width=8, depth=1, activation="silu"), trained, overwrite=True,
            settings=TrainSettings(batch_size=32, max_epochs=2), progress=False, log=stop)
    assert _digest(trained) == before
    load(trained)


def test_train_refuses_a_validation_set_of_another_recipe(tiny_set, tmp_path, capsys):
    out = tmp_path / "emu"
    code, err = _run(capsys, "train", TINY, "--data", tiny_set, "--val", REFERENCE, "--out", out, *TRAIN_FLAGS)
    assert code == 2
    _one_clear_line(err, "--val", "recipe 'tiny'", "inputs")
    assert not out.exists()


def test_train_refuses_training_data_of_another_recipe(tmp_path, capsys):
    out = tmp_path / "emu"
    code, err = _run(capsys, "train", TINY, "--data", REFERENCE, "--out", out, *TRAIN_FLAGS)
    assert code == 2
    _one_clear_line(err, "--data", "not generated from recipe")
    assert not out.exists()


@pytest.mark.parametrize("flag,value", [("--batch", "0"), ("--width", "0"), ("--max-epochs", "0"),
                                        ("--lr", "-1"), ("--pca", "-2")])
def test_train_refuses_bad_numbers(tiny_set, tmp_path, capsys, flag, value):
    out = tmp_path / "emu"
    argv = ["train", TINY, "--data", tiny_set, "--out", out, "--quiet", flag, value]
    code, err = _run(capsys, *argv)
    assert code == 2
    _one_clear_line(err, flag)
    assert not out.exists()


def test_gradient_weight_needs_a_jacobian_set(tiny_set, tmp_path, capsys):
    out = tmp_path / "emu"
    code, err = _run(capsys, "train", TINY, "--data", tiny_set, "--out", out, "--grad-weight", "0.1", *TRAIN_FLAGS)
    assert code == 2
    _one_clear_line(err, "--grad-weight", "--jacobian")
    assert not out.exists()


@pytest.mark.slow
def test_gradient_loss_trains_and_reports_gradient_accuracy(tiny_set, tiny_jacobian_set, tmp_path, capsys):
    out = tmp_path / "emu"
    code, err = _run(capsys, "train", TINY, "--data", tiny_set, "--data", tiny_jacobian_set, "--grad-weight", "0.1",
                     "--val-jacobian", tiny_jacobian_set, "--out", out, *TRAIN_FLAGS)
    assert code == 0, err
    card = json.loads((out / "card.json").read_text())
    assert card["training"]["jacobian_rows"] == 64 and card["training"]["grad_weight"] == 0.1
    assert 0 < card["training"]["best_validation"]["val_grad_median_rel_err"] < 10
    assert "d ln sigma / d inputs" in (out / "report.md").read_text()


# ------------------------------------------------------------------ generate
@pytest.mark.parametrize("flag,value", [("--batch", "0"), ("--batch", "-3"), ("--chunk", "0"), ("--n", "0")])
def test_generate_refuses_bad_numbers(tmp_path, capsys, flag, value):
    out = tmp_path / "set.h5"
    code, err = _run(capsys, "generate", TINY, "--out", out, "--quiet", flag, value)
    assert code == 2
    _one_clear_line(err, flag.lstrip("-"))
    assert list(tmp_path.iterdir()) == []


def test_a_second_generate_on_the_same_output_is_refused_not_raced(tiny_set, tmp_path, capsys):
    out = tmp_path / "set.h5"
    partial = tmp_path / "set.h5.partial"
    partial.mkdir()
    (partial / "chunk_000000.h5").write_bytes(b"work of the first run")
    with open(tmp_path / "set.h5.lock", "a+") as held:  # the first run holds the lock
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, err = _run(capsys, "generate", TINY, "--out", out, "--n", "64", "--chunk", "32", "--quiet")
    assert code == 2
    _one_clear_line(err, "being written", "set.h5")
    assert (partial / "chunk_000000.h5").read_bytes() == b"work of the first run" and not out.exists()


def test_generate_into_a_folder_is_refused(tmp_path, capsys):
    code, err = _run(capsys, "generate", TINY, "--out", tmp_path, "--quiet")
    assert code == 2
    _one_clear_line(err, "is a folder")
    assert list(tmp_path.iterdir()) == []


def test_a_finished_set_is_not_replaced_by_one_with_a_jacobian_without_overwrite(tiny_set, capsys):
    before = hashlib.sha256(tiny_set.read_bytes()).hexdigest()
    code, err = _run(capsys, "generate", TINY, "--out", tiny_set, "--n", "192", "--chunk", "64", "--jacobian",
                     "--quiet")
    assert code == 2
    _one_clear_line(err, "without the Jacobian")
    assert hashlib.sha256(tiny_set.read_bytes()).hexdigest() == before


# ------------------------------------------------------------------ validate
def test_validate_refuses_bad_numbers(trained, capsys):
    before = _digest(trained)
    code, err = _run(capsys, "validate", trained, "--n", "0", "--quiet")
    assert code == 2
    _one_clear_line(err, "--n")
    assert _digest(trained) == before


# ------------------------------------------------------------------ the emulator
@pytest.mark.parametrize("bad", [np.nan, np.inf, -0.1, 0.0])
def test_emulator_raises_like_the_exact_engine_on_bad_radii(shipped_emulator, bad):
    tracer = Plummer(m_tot=1e6, r_s=0.25)
    halo = Zhao(rho_s=3e7, r_s=0.6, alpha=1.5, beta=4.5, gamma=0.8)
    aniso = BaesVanHese(beta_0=0.1, beta_inf=0.4, r_a=0.3, eta=2.0)
    R = np.array([0.1, bad, 0.3])
    with pytest.raises(ValueError, match="R must be finite and > 0") as exact:
        sigma_los(R, tracer, halo, aniso)
    with pytest.raises(ValueError, match="R must be finite and > 0") as emulated:
        shipped_emulator.sigma_los(R, tracer, halo, aniso)
    assert type(exact.value) is type(emulated.value)
    with pytest.raises(ValueError, match="R must be finite"):
        shipped_emulator.predictor(R, tracer)
