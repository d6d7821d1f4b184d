"""The durable-write helpers: atomic files, staged folders, no mixing, no silent loss."""

import pytest

from dynamicall import _durable


def test_atomic_file_leaves_old_version_on_error(tmp_path):
    target = tmp_path / "a.txt"
    _durable.write_text(target, "old")
    with pytest.raises(RuntimeError):
        with _durable.atomic_file(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]  # no temporary left behind


def test_save_npz_keeps_the_exact_name(tmp_path):
    import numpy as np

    _durable.save_npz(tmp_path / "state.npz", {"x": np.arange(3)})
    assert np.load(tmp_path / "state.npz")["x"].tolist() == [0, 1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.npz"]


def test_staged_folder_refuses_a_finished_result(tmp_path):
    out = tmp_path / "run"
    with _durable.staged_folder(out) as d:
        _durable.write_text(d / "summary.json", "first")
    with pytest.raises(_durable.OutputExistsError, match="already holds a result"):
        with _durable.staged_folder(out) as d:
            _durable.write_text(d / "summary.json", "second")
    assert (out / "summary.json").read_text() == "first"


def test_staged_folder_overwrite_replaces_the_whole_set(tmp_path):
    out = tmp_path / "run"
    with _durable.staged_folder(out) as d:
        _durable.write_text(d / "summary.json", "first")
        _durable.write_text(d / "corner.png", "old plot")
        _durable.write_text(d / "checkpoint.npz", "ckpt")
    with _durable.staged_folder(out, overwrite=True, keep=("checkpoint.npz",)) as d:
        _durable.write_text(d / "summary.json", "second")
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.npz", "summary.json"]  # old plot gone
    assert (out / "summary.json").read_text() == "second"
    assert (out / "checkpoint.npz").read_text() == "ckpt"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no staging or aside left


def test_staged_folder_error_keeps_old_set(tmp_path):
    out = tmp_path / "run"
    with _durable.staged_folder(out) as d:
        _durable.write_text(d / "summary.json", "first")
    with pytest.raises(KeyboardInterrupt):
        with _durable.staged_folder(out, overwrite=True) as d:
            _durable.write_text(d / "summary.json", "second")
            raise KeyboardInterrupt
    assert sorted(p.name for p in out.iterdir()) == ["summary.json"]
    assert (out / "summary.json").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
