"""Training-set generation: layout, resume after interruption (kill -9 included), failure
handling, several devices and several processes (dynamicall.train.generate).

"Identical" files: byte-identical (compared with ``filecmp``), which implies equal
datasets (names, shapes, dtypes, bits) and equal attributes (``dataset.differences``).
"""

from __future__ import annotations

import filecmp
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from dynamicall.train import dataset, design
from dynamicall.train.generate import generate, partial_path
from dynamicall.train.recipe import dimensionless_dispersions, load_recipe

ROOT = pathlib.Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "recipes" / "tiny.toml"
STARS = ROOT / "tests" / "recipes" / "stars.toml"
N, CHUNK = 200, 32  # 7 chunks, the last one padded


@pytest.fixture(scope="module")
def tiny():
    return load_recipe(TINY)


@pytest.fixture(scope="module")
def reference(tiny, tmp_path_factory):
    """An uninterrupted single-process, single-device run."""
    out = tmp_path_factory.mktemp("reference") / "tiny.h5"
    report = generate(tiny, out, n=N, chunk=CHUNK, progress=False)
    assert report.chunks_computed == 7 and report.failures == 0
    return out


@pytest.fixture(scope="session")
def compilation_cache(tmp_path_factory):
    """A persistent XLA cache shared by the subprocesses of these tests (saves compiling)."""
    return tmp_path_factory.mktemp("xla_cache")


def _env(cache, **extra):
    env = dict(os.environ, JAX_COMPILATION_CACHE_DIR=str(cache), PYTHONPATH=str(ROOT))
    # the children compile at this process's optimisation level (tests/conftest.py sets it),
    # so that their files compare byte for byte with files written here; no other XLA flag
    flags = [f for f in os.environ.get("XLA_FLAGS", "").split() if f.startswith("--xla_backend_optimization_level")]
    env["XLA_FLAGS"] = " ".join(flags + extra.pop("XLA_FLAGS", "").split())
    env.update(extra)
    return env


def _cli(*args):
    return [sys.executable, "-m", "dynamicall", "generate", *map(str, args), "--quiet"]


def _chunk_files(folder):
    try:
        return sorted(p for p in os.listdir(folder) if re.fullmatch(r"chunk_\d{6}\.h5", p))
    except FileNotFoundError:
        return []


# ------------------------------------------------------------------ layout
@pytest.mark.slow
def test_generated_set_has_the_documented_layout_and_exact_values(tiny, reference):
    """Layout and attributes; rows = the design; outputs = one jit(vmap) over all 200 rows,
    bitwise (so a row does not depend on the chunk, padding or batch around it)."""
    data = dataset.read_dataset(reference)  # verifies content_hash
    assert data.inputs.shape == (N, 3) and data.inputs.dtype == np.float64
    assert data.outputs.shape == (N, 8) and data.outputs.dtype == np.float64
    np.testing.assert_array_equal(data.grid, tiny.grid)
    assert data.input_names == ("log10_rs", "gamma", "beta_c") and data.quantities == ("log_sigma_los",)
    attrs = data.attrs
    assert (attrs["seed"], attrs["design"], attrs["split"], attrs["n"]) == (11, "sobol", "train", N)
    assert attrs["recipe"] == TINY.read_text() and attrs["recipe_fingerprint"] == tiny.fingerprint_sha256()
    assert attrs["engine_version"].startswith("dynamicall ") and "JeansConfig(step=0.1" in attrs["engine_version"]
    assert attrs["failures"] == 0 and attrs["failure_examples"] == []
    assert attrs["bounds"]["gamma"] == [0.0, 1.2]
    # rows are the design, in order, and the engine's values, bitwise
    np.testing.assert_array_equal(data.inputs, design.design_points(tiny, N, seed=11, kind="sobol"))
    expected = jax.jit(jax.vmap(lambda x: dimensionless_dispersions(tiny, x)))(data.inputs)
    np.testing.assert_array_equal(data.outputs, np.asarray(expected))
    assert not partial_path(reference).exists()


def test_content_hash_detects_altered_data(reference, tmp_path):
    import h5py
    import shutil

    altered = tmp_path / "altered.h5"
    shutil.copy(reference, altered)
    with h5py.File(altered, "r+") as f:
        f["outputs"][5, 3] += 1e-12
    with pytest.raises(ValueError, match="content_hash does not match"):
        dataset.read_dataset(altered)


# ------------------------------------------------------------------ resume
class _Interrupt:
    """Engine wrapper that raises KeyboardInterrupt on the given call (like Ctrl-C)."""

    def __init__(self, at_call):
        self.calls, self.at_call = 0, at_call

    def __call__(self, x, run):
        self.calls += 1
        if self.calls == self.at_call:
            raise KeyboardInterrupt
        return run(x)


def test_resume_after_interruption_is_byte_identical(tiny, reference, tmp_path):
    out = tmp_path / "tiny.h5"
    with pytest.raises(KeyboardInterrupt):
        generate(tiny, out, n=N, chunk=CHUNK, progress=False, compute=_Interrupt(at_call=3))
    folder = partial_path(out)
    assert _chunk_files(folder) == ["chunk_000000.h5", "chunk_000001.h5"] and not out.exists()
    (folder / "chunk_000002.h5.tmp.99999").write_bytes(b"half a chunk")  # a write cut short
    report = generate(tiny, out, n=N, chunk=CHUNK, progress=False)
    assert (report.chunks_resumed, report.chunks_computed) == (2, 5)
    assert filecmp.cmp(out, reference, shallow=False)
    assert dataset.differences(out, reference) == []
    assert not folder.exists()


def test_resume_refuses_other_settings(tiny, tmp_path):
    out = tmp_path / "tiny.h5"
    with pytest.raises(KeyboardInterrupt):
        generate(tiny, out, n=N, chunk=CHUNK, progress=False, compute=_Interrupt(at_call=2))
    with pytest.raises(ValueError, match=r"seed 11 \(now 12\)"):
        generate(tiny, out, n=N, chunk=CHUNK, seed=12, progress=False)
    report = generate(tiny, out, n=N, chunk=CHUNK, seed=12, progress=False, overwrite=True)
    assert report.chunks_resumed == 0 and dataset.read_attrs(out)["seed"] == 12


def test_a_finished_set_is_not_recomputed(tiny, reference):
    report = generate(tiny, reference, n=N, chunk=CHUNK, progress=False)
    assert report.already_complete and report.chunks_computed == 0
    with pytest.raises(FileExistsError, match="other settings"):
        generate(tiny, reference, n=N + 1, chunk=CHUNK, progress=False)


# ------------------------------------------------------------------ failures
def _nan_when_gamma_above(limit):
    def compute(x, run):
        y = np.array(run(x))
        y[x[:, 1] > limit] = np.nan
        return y

    return compute


def test_failed_profiles_are_reported_and_replaced_never_written(tiny, reference, tmp_path):
    out = tmp_path / "failing.h5"
    report = generate(tiny, out, n=N, chunk=CHUNK, progress=False, compute=_nan_when_gamma_above(0.9))
    data = dataset.read_dataset(out)
    ref = dataset.read_dataset(reference)
    assert data.inputs.shape == (N, 3) and np.all(np.isfinite(data.outputs))
    assert np.all(data.inputs[:, 1] <= 0.9)  # no failing point survived
    failed_rows = np.flatnonzero(ref.inputs[:, 1] > 0.9)
    kept = np.setdiff1d(np.arange(N), failed_rows)
    np.testing.assert_array_equal(data.inputs[kept], ref.inputs[kept])  # other rows untouched
    np.testing.assert_array_equal(data.outputs[kept], ref.outputs[kept])
    examples = data.attrs["failure_examples"]
    # every failed primary point is counted, plus every failed replacement (gamma > 0.9 again)
    assert data.attrs["failures"] == report.failures >= failed_rows.size > 10
    assert len(examples) == 10 and examples[0]["row"] == failed_rows[0] and examples[0]["attempt"] == 0
    assert examples[0]["inputs"]["gamma"] == ref.inputs[failed_rows[0], 1]
    assert examples[0]["reason"].startswith("non-finite output (nan) at 8 of 8 points")
    # the replacements are the keyed stream's: the first accepted attempt of each row
    for row in failed_rows[:5]:
        attempt = 1
        while design.replacement(tiny, 11, row, attempt)[1] > 0.9:
            attempt += 1
        np.testing.assert_array_equal(data.inputs[row], design.replacement(tiny, 11, row, attempt))
    # and an interrupted run with failures resumes to the same file
    again = tmp_path / "failing_again.h5"
    with pytest.raises(KeyboardInterrupt):
        generate(tiny, again, n=N, chunk=CHUNK, progress=False, compute=_Chain(_Interrupt(4), 0.9))
    generate(tiny, again, n=N, chunk=CHUNK, progress=False, compute=_nan_when_gamma_above(0.9))
    assert filecmp.cmp(out, again, shallow=False)


class _Chain:
    def __init__(self, interrupt, limit):
        self.interrupt, self.nan = interrupt, _nan_when_gamma_above(limit)

    def __call__(self, x, run):
        return self.interrupt(x, lambda v: self.nan(v, run))


def test_a_row_that_never_succeeds_stops_the_run(tiny, tmp_path):
    def always_nan(x, run):
        return np.full_like(run(x), np.nan)

    with pytest.raises(RuntimeError, match="still fails after 2 replacements"):
        generate(tiny, tmp_path / "bad.h5", n=40, chunk=CHUNK, progress=False, compute=always_nan, max_attempts=2)


def test_generation_needs_float64(tiny, tmp_path):
    jax.config.update("jax_enable_x64", False)
    try:
        with pytest.raises(ValueError, match="jax_enable_x64"):
            generate(tiny, tmp_path / "f32.h5", n=8, chunk=8, progress=False)
    finally:
        jax.config.update("jax_enable_x64", True)


def test_stars_recipe_stores_three_quantities_in_float32(tmp_path):
    recipe = load_recipe(STARS)
    out = tmp_path / "stars.h5"
    generate(recipe, out, progress=False)
    data = dataset.read_dataset(out)
    assert data.outputs.dtype == np.float32 and data.outputs.shape == (64, 18)
    assert data.quantities == ("log_sigma_los", "log_sigma_pmr", "log_sigma_pmt")
    assert data.attrs["design"] == "lhs" and np.all(data.inputs[:, 3] - 0.5 * data.inputs[:, 1] <= 0)
    # stored = the float64 engine values rounded to float32 (same compiled engine, no recompile)
    from dynamicall.train.distributed import local_mesh
    from dynamicall.train.generate import _engine

    exact = _engine(recipe, local_mesh(), 32)(data.inputs[:32])
    assert exact.dtype == np.float64
    np.testing.assert_array_equal(data.outputs[:32], exact.astype(np.float32))
    np.testing.assert_array_equal(data.outputs_for("log_sigma_pmt"), data.outputs[:, 12:])


# ------------------------------------------------------------------ real processes
@pytest.mark.slow
def test_kill_9_at_any_moment_then_resume_gives_the_uninterrupted_file(tiny, compilation_cache, tmp_path):
    """Two runs killed with SIGKILL mid-run (after 3 and after 12 more chunk files), a third
    run finishes; the file equals an uninterrupted in-process run, byte for byte."""
    n = 6000  # 188 chunks of 32
    out = tmp_path / "killed.h5"
    folder = partial_path(out)
    env = _env(compilation_cache)
    killed_at = []
    for wait_for in (3, 12):
        before = len(_chunk_files(folder))
        proc = subprocess.Popen(_cli(TINY, "--out", out, "--n", n, "--chunk", CHUNK), env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while len(_chunk_files(folder)) < before + wait_for and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate()
        assert proc.returncode == -signal.SIGKILL, err.decode()[-2000:]
        killed_at.append(len(_chunk_files(folder)))
        assert not out.exists() and before + wait_for <= killed_at[-1] < 188
    done = subprocess.run(_cli(TINY, "--out", out, "--n", n, "--chunk", CHUNK), env=env, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    uninterrupted = tmp_path / "uninterrupted.h5"
    generate(tiny, uninterrupted, n=n, chunk=CHUNK, progress=False)
    assert filecmp.cmp(out, uninterrupted, shallow=False), dataset.differences(out, uninterrupted)
    assert killed_at[0] < killed_at[1] and not folder.exists()


@pytest.mark.slow
def test_four_devices_give_the_same_file_as_one(reference, compilation_cache, tmp_path):
    out = tmp_path / "four.h5"
    env = _env(compilation_cache, XLA_FLAGS="--xla_force_host_platform_device_count=4")
    code = ("import jax, sys; jax.config.update('jax_enable_x64', True); assert jax.local_device_count() == 4;"
            "from dynamicall.train.generate import generate;"
            f"r = generate({str(TINY)!r}, {str(out)!r}, n={N}, chunk={CHUNK}, progress=False);"
            "assert r.devices == 4, r")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    assert filecmp.cmp(out, reference, shallow=False), dataset.differences(out, reference)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _slow_replace(delay_s):
    """A ``sitecustomize`` that makes a child process wait ``delay_s`` before each atomic
    rename of its files."""
    return ("import time\nimport dynamicall.train.dataset as dataset\n_replace = dataset._replace_durably\n"
            f"def _slow_replace(*args, **kwargs):\n    time.sleep({delay_s})\n    return _replace(*args, **kwargs)\n"
            "dataset._replace_durably = _slow_replace\n")


@pytest.mark.slow
def test_two_processes_through_jax_distributed_give_the_single_process_file(reference, compilation_cache, tmp_path):
    """Process 0 renames each file it writes after 0.5 s, process 1 after 1 s: a manifest
    written by process 1 too would be mid-write while process 0 prepares the shared folder
    (its clean-up of interrupted writes once deleted it: process 1 failed, process 0 hung)."""
    out = tmp_path / "two.h5"
    envs = []
    for i, delay_s in enumerate((0.5, 1.0)):
        site = tmp_path / f"site_{i}"
        site.mkdir()
        (site / "sitecustomize.py").write_text(_slow_replace(delay_s))
        envs.append(_env(compilation_cache, PYTHONPATH=f"{site}{os.pathsep}{ROOT}"))
    address = f"127.0.0.1:{_free_port()}"
    procs = [
        subprocess.Popen(_cli(TINY, "--out", out, "--n", N, "--chunk", CHUNK, "--coordinator", address,
                              "--num-processes", 2, "--process-id", i),
                         env=envs[i], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for i in (0, 1)
    ]
    try:  # a process that fails leaves the other waiting for it in a barrier: show both
        deadline = time.monotonic() + 240
        outputs = [p.communicate(timeout=max(1.0, deadline - time.monotonic())) for p in procs]
    except subprocess.TimeoutExpired:
        for p in procs:
            p.kill()
        outputs = [p.communicate() for p in procs]
        pytest.fail("two-process run timed out; " + "; ".join(
            f"process {i} (exit {p.returncode}): {err.decode()[:1500]}" for i, (p, (_, err)) in
            enumerate(zip(procs, outputs))))
    for p, (_, err) in zip(procs, outputs):
        assert p.returncode == 0, err.decode()[-3000:]
    assert filecmp.cmp(out, reference, shallow=False), dataset.differences(out, reference)


# ------------------------------------------------------------------ shipped reference set
def test_reference_set_in_data_is_the_shipped_recipes_test_split():
    """data/reference_zhao_bvh_plummer.h5: hash intact, made by the shipped recipe's
    current fingerprint, rows = the test split's design, values reproduced by the engine
    (1e-12 in ln sigma: other CPUs may round the last bits differently)."""
    from dynamicall.train.recipe import shipped_recipe_path

    path = ROOT / "data" / "reference_zhao_bvh_plummer.h5"
    assert path.stat().st_size < 5e6
    data = dataset.read_dataset(path)
    recipe = load_recipe(shipped_recipe_path("zhao_bvh_plummer"))
    assert data.attrs["recipe_fingerprint"] == recipe.fingerprint_sha256()
    test = recipe.split("test")
    assert (data.attrs["split"], data.attrs["seed"], data.attrs["design"]) == ("test", test.seed, test.design)
    assert 2000 <= len(data) <= 10000 and data.attrs["failures"] == 0
    np.testing.assert_array_equal(data.inputs, design.design_points(recipe, len(data), test.seed, test.design))
    rows = np.arange(0, len(data), len(data) // 8)[:8]
    again = jax.jit(jax.vmap(lambda x: dimensionless_dispersions(recipe, x)))(data.inputs[rows])
    np.testing.assert_allclose(data.outputs[rows], np.asarray(again), rtol=0, atol=1e-12)
