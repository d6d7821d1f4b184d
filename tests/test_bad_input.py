"""Bad input, across the library API and every command: each gives one clear error that
names the problem (and the fix), exit status 2 for commands with no traceback, and
nothing the user had is lost or mixed.

Command tests run ``dynamicall.cli.main`` in-process. Where a test must get past the
checks to the output stage, ``dynamicall.infer.fit`` is replaced by ``fake_fit``: a
:class:`FitResult` of the real model with prior draws (no sampling), so the command's real
output code runs in a second. Regression cases of issue 13 are marked in their docstrings
("issue 13.N").
"""

from __future__ import annotations

import json
import pathlib

import astropy.units as u
import jax
import numpy as np
import pytest

from dynamicall._durable import OutputExistsError
from dynamicall.binning import binned_dispersion, default_bins
from dynamicall.cli import main
from dynamicall.data import BinnedProfile, StarCatalog, check_scales
from dynamicall.units import parse_quantity

jax.config.update("jax_enable_x64", True)


# ---------------------------------------------------------------------------- helpers
def catalog(n=60, R_scale=0.25, R_unit="kpc", v_err=1.0, seed=0, R_half="0.25 kpc"):
    """A plain catalogue (radii ~ R_half, dispersion 10 km/s about 50 km/s) as a Table."""
    from astropy.table import Table

    rng = np.random.default_rng(seed)
    t = Table()
    t["R"] = rng.uniform(0.2, 2.0, n) * R_scale * u.Unit(R_unit)
    t["v"] = rng.normal(50.0, 10.0, n) * u.km / u.s
    t["v_err"] = np.full(n, v_err) * u.km / u.s
    if R_half:
        t.meta["R_half"] = R_half
    return t


def write_catalog(tmp_path, name="stars.ecsv", **kwargs):
    path = tmp_path / name
    catalog(**kwargs).write(path, format="ascii.ecsv")
    return path


FIT_ARGS = ["--halo", "nfw", "--anisotropy", "constant", "--warmup", "5", "--samples", "5",
            "--chains", "1", "--quiet"]


def fake_fit(data, *, tracer, halo, anisotropy, forward, priors, R_half, stellar_mass, likelihood,
             proper_motions, checkpoint=None, seed=0, samples=8, chains=2, **settings):
    """Stand-in for dynamicall.infer.fit: the real model, prior draws instead of NUTS.
    Writes a checkpoint as the real sampler does, so the command's handling of it runs."""
    from dynamicall.infer import KinematicModel, ModelSpec
    from dynamicall.infer.run import FitResult

    spec = ModelSpec(tracer, halo, anisotropy, R_half=R_half if R_half is not None else data.R_half,
                     priors={k: v for k, v in priors.items() if k != "v_sys"}, forward=forward)
    model = KinematicModel(spec, data, likelihood=likelihood, proper_motions=proper_motions)
    key = jax.random.PRNGKey(seed)
    draws = {}
    for site, prior in model.priors().items():
        key, sub = jax.random.split(key)
        draws[site] = np.asarray(prior.sample(sub, (2, 8)))
    stats = {"diverging": np.zeros((2, 8), bool), "num_steps": np.full((2, 8), 7),
             "accept_prob": np.full((2, 8), 0.8), "potential_energy": np.zeros((2, 8)),
             "step_size": np.full((2, 8), 0.1)}
    if checkpoint is not None:
        pathlib.Path(checkpoint).write_bytes(b"partial work of this run")
    run = dict(warmup=5, samples=8, chains=2, seed=seed, chain_method="vectorized", target_accept=0.8,
               max_tree_depth=8, dense_mass=True, chunk=13)
    return FitResult(model=model, samples=draws, stats=stats, settings=run,
                     timing=dict(wall_time_s=1.0, compile_time_s=0.5, sampling_time_s=0.5))


def forbid_sampling(monkeypatch):
    """Make any call of dynamicall.infer.fit fail the test (errors must come first)."""
    import dynamicall.infer

    def fail(*args, **kwargs):
        raise AssertionError("the command started sampling before refusing bad input")

    monkeypatch.setattr(dynamicall.infer, "fit", fail)


def run_cli(capsys, args):
    """(exit status, stdout, stderr) of ``dynamicall ARGS`` run in-process."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as err:  # argparse
        code = err.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_user_error(code, err, *fragments):
    """Exit 2, no traceback, one error line naming the problem."""
    assert code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def snapshot(folder) -> dict:
    return {p.name: p.read_bytes() for p in pathlib.Path(folder).iterdir()}


# ---------------------------------------------------------------------------- library: models
@pytest.mark.parametrize("kwargs, message", [
    (dict(r_s=[1.0, -1.0]), r"Zhao.r_s must be finite and in \(0, inf\)"),  # issue 13.8
    (dict(r_s="1 kpc"), r"Zhao.r_s must be a number, an array or an astropy Quantity; got the string"),
    (dict(rho_s=[1e7, 2e7, 3e7], r_s=[1.0, 2.0]), r"Zhao: parameter batch shapes do not match \(rho_s \(3,\), r_s \(2,\)\)"),
    (dict(r_s=3 * u.km / u.s), r"Zhao.r_s: cannot convert km / s to length"),
    (dict(gamma=float("nan")), r"Zhao.gamma must be finite"),
    (dict(r_s=["a", "b"]), r"Zhao.r_s must hold numbers"),
])
def test_zhao_parameters_are_checked(kwargs, message):
    """issue 13.8: bad, mistyped and mismatched Zhao parameters are refused at construction."""
    from dynamicall.profiles import Zhao

    base = dict(rho_s=1e7, r_s=1.0, alpha=1.0, beta=3.0, gamma=1.0)
    base.update(kwargs)
    with pytest.raises(ValueError, match=message):
        Zhao(**base)


def test_batched_parameters_that_match_still_work():
    from dynamicall.profiles import Zhao

    z = Zhao(rho_s=[1e7, 2e7], r_s=[1.0, 2.0], alpha=1.0, beta=3.0, gamma=1.0)
    assert np.shape(z.density(1.0)) == (2,)


@pytest.mark.parametrize("build, message", [
    (lambda a: a.BaesVanHese(beta_0=[0.0, 0.1], beta_inf=[0.1, 0.2, 0.3], r_a=1.0, eta=2.0),
     "BaesVanHese: parameter batch shapes do not match"),
    (lambda a: a.Constant(beta=1.5), r"Constant.beta must be finite and in"),
    (lambda a: a.OsipkovMerritt(r_a="1 kpc"), "OsipkovMerritt.r_a must be a number"),
])
def test_anisotropy_parameters_are_checked(build, message):
    from dynamicall import anisotropy

    with pytest.raises(ValueError, match=message):
        build(anisotropy)


@pytest.mark.parametrize("build, message", [
    (lambda p: p.NFW(rho_s=[1e7, 1e7], r_s=[1.0, 1.0, 1.0]), "NFW: parameter batch shapes do not match"),
    (lambda p: p.Plummer(m_tot=float("nan"), r_s=1.0), "Plummer.m_tot must be finite"),
    (lambda p: p.Burkert(rho_s=-1.0, r_s=1.0), r"Burkert.rho_s must be finite and in \(0, inf\)"),
])
def test_other_profiles_are_checked(build, message):
    from dynamicall import profiles

    with pytest.raises(ValueError, match=message):
        build(profiles)


# ---------------------------------------------------------------------------- library: data
@pytest.mark.parametrize("kwargs, message", [
    (dict(R=[0.1, 0.2], v=[1.0], v_err=[1.0, 1.0]), "columns R, v, v_err must have equal lengths"),
    (dict(R=[0.1, 0.2], v=[1.0, 2.0], v_err=[1.0, -1.0]), r"column 'v_err' is an error and must be >= 0"),
    (dict(R=[], v=[], v_err=[]), "the catalogue has no stars"),
    (dict(R=[-0.1, 0.2], v=[1.0, 2.0], v_err=[1.0, 1.0]), r"column 'R' must be >= 0"),
    (dict(R=[0.1, 0.2], v=[np.nan, 2.0], v_err=[1.0, 1.0]), "column 'v' has non-finite values at row 0"),
    (dict(R=[0.1, 0.2], v=[1.0, 2.0], v_err=[1.0, 1.0], R_half=-1.0), r"StarCatalog.R_half must be finite and > 0"),
])
def test_catalog_arrays_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        StarCatalog.from_arrays(**kwargs)


def test_catalog_file_problems_name_the_column(tmp_path):
    t = catalog(10)
    t.remove_column("v_err")
    t.write(tmp_path / "a.ecsv", format="ascii.ecsv")
    with pytest.raises(ValueError, match="required column 'v_err' is missing"):
        StarCatalog.read(tmp_path / "a.ecsv")
    t = catalog(10)
    t["v"].unit = None
    t.write(tmp_path / "b.ecsv", format="ascii.ecsv")
    with pytest.raises(ValueError, match="column 'v' has no unit"):
        StarCatalog.read(tmp_path / "b.ecsv")
    with pytest.raises(FileNotFoundError, match="no such catalogue file"):
        StarCatalog.read(tmp_path / "missing.ecsv")
    with pytest.raises(ValueError, match="cannot tell the format"):
        StarCatalog.from_table(catalog(10)).write(tmp_path / "stars.txt")


@pytest.mark.parametrize("text, kind, message", [
    ("far", "length", "cannot read 'far' as a length; write e.g. '250 pc'"),
    ("3 km/s", "length", "'3 km/s' is not a length"),
    ("250 pc", "velocity", "'250 pc' is not a velocity"),
])
def test_quantity_text_is_checked(text, kind, message):
    with pytest.raises(ValueError, match=message):
        parse_quantity(text, kind)


def test_radii_in_pc_labelled_kpc_are_refused():
    """issue 13.2: radii ~1000 R_half (pc labelled kpc) are an error naming the cause."""
    cat = StarCatalog.from_table(catalog(60, R_scale=250.0))
    with pytest.raises(ValueError, match="are the radii in pc but labelled kpc"):
        check_scales(cat)
    cat = StarCatalog.from_table(catalog(60, R_scale=0.25e-3))
    with pytest.raises(ValueError, match="radii in kpc but labelled pc"):
        check_scales(cat)


def test_doubtful_radii_and_errors_warn():
    cat = StarCatalog.from_table(catalog(60, R_scale=5.0))  # median R ~ 22 R_half
    with pytest.warns(UserWarning, match="times R_half"):
        check_scales(cat)
    assert check_scales(StarCatalog.from_table(catalog(60))) == []


def test_velocity_errors_larger_than_the_spread_are_refused():
    """Errors 20 times the spread of the velocities (m/s labelled km/s, or variances)."""
    cat = StarCatalog.from_table(catalog(60, v_err=200.0))
    with pytest.raises(ValueError, match="times the spread of the velocities"):
        check_scales(cat)


def test_too_few_stars_to_bin():
    """issue 13.4: the plot's binning no longer asks for more bins than the stars allow."""
    assert default_bins(12) == 2 and default_bins(4) == 0
    with pytest.raises(ValueError, match="3 stars cannot be binned"):
        binned_dispersion([0.1, 0.2, 0.3], [1.0, 2.0, 3.0], [1.0] * 3, 1, 0.0)
    cat = StarCatalog.from_table(catalog(20))
    with pytest.raises(ValueError, match=r"n_bins must be in \[1, n_stars / 5 = 4\]; got 9"):
        cat.binned(9)
    assert len(BinnedProfile(R=[0.1], sigma=[1.0], sigma_err=[0.5])) == 1


# ---------------------------------------------------------------------------- fit command
def test_fit_missing_file_is_one_line(tmp_path, capsys, monkeypatch):
    """issue 13.6: a user error is one line and exit status 2, not a traceback."""
    forbid_sampling(monkeypatch)
    code, _, err = run_cli(capsys, ["fit", tmp_path / "nope.ecsv", "--out", tmp_path / "o"])
    assert_user_error(code, err, "dynamicall fit: error: no such catalogue file", "nope.ecsv")


def test_debug_shows_the_traceback(tmp_path, capsys):
    with pytest.raises(FileNotFoundError):
        main(["fit", str(tmp_path / "nope.ecsv"), "--out", str(tmp_path / "o"), "--debug"])
    with pytest.raises(FileNotFoundError):
        main(["--debug", "fit", str(tmp_path / "nope.ecsv"), "--out", str(tmp_path / "o")])


@pytest.mark.parametrize("n", [1, 5])
def test_fit_refuses_a_tiny_catalogue_before_sampling(n, tmp_path, capsys, monkeypatch):
    """issue 13.4: 1 or 5 stars are refused at once, with the reason."""
    forbid_sampling(monkeypatch)
    path = write_catalog(tmp_path, n=n)
    code, _, err = run_cli(capsys, ["fit", path, "--out", tmp_path / "o", *FIT_ARGS])
    assert_user_error(code, err, f"has {n} star", "at least 10")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("forward", ["exact", "zhao_bvh_plummer"])
def test_fit_refuses_radii_in_the_wrong_unit_for_both_forward_models(forward, tmp_path, capsys, monkeypatch):
    """issue 13.2: pc labelled kpc is caught with the exact engine too (and the emulator)."""
    forbid_sampling(monkeypatch)
    path = write_catalog(tmp_path, R_scale=250.0)
    code, _, err = run_cli(capsys, ["fit", path, "--out", tmp_path / "o", "--forward", forward, "--quiet"])
    assert_user_error(code, err, "are the radii in pc but labelled kpc")


def test_fit_keeps_a_finished_result(tmp_path, capsys, monkeypatch):
    """issue 13.3: a folder holding an older run is not overwritten without --overwrite."""
    forbid_sampling(monkeypatch)
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text('{"old": true}')
    (out / "corner.png").write_bytes(b"old plot")
    before = snapshot(out)
    code, _, err = run_cli(capsys, ["fit", write_catalog(tmp_path), "--out", out, *FIT_ARGS])
    assert_user_error(code, err, "already holds a finished result", "--overwrite")
    assert snapshot(out) == before


def test_fit_never_deletes_a_checkpoint_silently(tmp_path, capsys, monkeypatch):
    """issue 13.3: a rerun without --resume used to delete checkpoint.npz silently."""
    forbid_sampling(monkeypatch)
    out = tmp_path / "out"
    out.mkdir()
    (out / "checkpoint.npz").write_bytes(b"hours of sampling")
    code, _, err = run_cli(capsys, ["fit", write_catalog(tmp_path), "--out", out, *FIT_ARGS])
    assert_user_error(code, err, "holds an interrupted fit", "--resume", "--overwrite")
    assert (out / "checkpoint.npz").read_bytes() == b"hours of sampling"


def test_fit_out_is_a_file(tmp_path, capsys, monkeypatch):
    forbid_sampling(monkeypatch)
    (tmp_path / "o").write_text("mine")
    code, _, err = run_cli(capsys, ["fit", write_catalog(tmp_path), "--out", tmp_path / "o", *FIT_ARGS])
    assert_user_error(code, err, "is a file, not a folder")
    assert (tmp_path / "o").read_text() == "mine"


@pytest.mark.parametrize("extra, message", [
    (["--prior", "halo.gamma"], "expected SITE=VALUE"),
    (["--prior", "halo.log10_r_s=a,b"], "bounds LOWER,UPPER must be numbers"),
    (["--prior", "v_sys=normal:50"], "write normal:MU,SIGMA"),
    (["--R-half", "3 km/s"], "is not a length"),
    (["--r-half", "wide"], "cannot read 'wide' as a length"),
    (["--stellar-mass", "heavy"], "stellar-mass='heavy'"),
])
def test_fit_bad_options_are_one_line(extra, message, tmp_path, capsys, monkeypatch):
    forbid_sampling(monkeypatch)
    code, _, err = run_cli(capsys, ["fit", write_catalog(tmp_path), "--out", tmp_path / "o", *FIT_ARGS, *extra])
    assert_user_error(code, err, message)


def test_fit_unknown_halo_is_one_line(tmp_path, capsys, monkeypatch):
    import dynamicall.infer

    monkeypatch.setattr(dynamicall.infer, "fit", fake_fit)
    code, _, err = run_cli(capsys, ["fit", write_catalog(tmp_path), "--out", tmp_path / "o", "--halo", "nfx",
                                    "--anisotropy", "constant", "--quiet"])
    assert_user_error(code, err, "nfx")
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_fit_overwrite_replaces_the_whole_set(tmp_path, capsys, monkeypatch):
    """issue 13.3: with --no-plots the old plots used to stay beside the new summary."""
    import dynamicall.infer

    monkeypatch.setattr(dynamicall.infer, "fit", fake_fit)
    out = tmp_path / "out"
    out.mkdir()
    for name in ("summary.json", "corner.png", "sigma_los.png", "samples.h5"):
        (out / name).write_text("old run")
    code, text, err = run_cli(capsys, ["fit", write_catalog(tmp_path), "--out", out, *FIT_ARGS,
                                       "--no-plots", "--overwrite"])
    assert code == 0, err
    names = sorted(p.name for p in out.iterdir())
    assert "corner.png" not in names and "sigma_los.png" not in names and "checkpoint.npz" not in names
    assert {"summary.json", "samples.h5"} <= set(names)
    assert json.loads((out / "summary.json").read_text())["run"]["settings"]["samples"] == 8
    assert "will be replaced once the new fit is complete" in text
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]  # no staging left


def test_fit_failure_while_saving_leaves_the_old_set(tmp_path, capsys, monkeypatch):
    """issue 13.3: an interruption while saving left files of two runs; now the old set
    (and the new run's checkpoint, to resume from) stay as they were."""
    import dynamicall.infer
    import dynamicall.infer.outputs

    monkeypatch.setattr(dynamicall.infer, "fit", fake_fit)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(dynamicall.infer.outputs, "save_samples", interrupted)
    out = tmp_path / "out"
    out.mkdir()
    for name in ("summary.json", "corner.png", "samples.h5"):
        (out / name).write_text("old run")
    code, _, _ = run_cli(capsys, ["fit", write_catalog(tmp_path), "--out", out, *FIT_ARGS, "--overwrite"])
    assert code == 130
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.name != "checkpoint.npz"} == \
        {name: b"old run" for name in ("summary.json", "corner.png", "samples.h5")}
    assert (out / "checkpoint.npz").read_bytes() == b"partial work of this run"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_fit_overwrite_says_it_discards_the_checkpoint(tmp_path, capsys, monkeypatch):
    import dynamicall.infer

    monkeypatch.setattr(dynamicall.infer, "fit", fake_fit)
    out = tmp_path / "out"
    out.mkdir()
    (out / "checkpoint.npz").write_bytes(b"old")
    code, text, err = run_cli(capsys, ["fit", write_catalog(tmp_path), "--out", out, *FIT_ARGS,
                                       "--no-plots", "--overwrite"])
    assert code == 0, err
    assert "discarding the checkpoint of an earlier run" in text


def test_library_save_refuses_to_overwrite(tmp_path):
    from dynamicall.infer.outputs import write_outputs

    result = fake_fit(StarCatalog.from_table(catalog(40)), tracer="plummer", halo="nfw", anisotropy="constant",
                      forward="exact", priors={}, R_half=None, stellar_mass=None, likelihood=None,
                      proper_motions=False)
    write_outputs(result, tmp_path / "a", plots=False)
    before = snapshot(tmp_path / "a")
    with pytest.raises(OutputExistsError, match="already holds a result"):
        write_outputs(result, tmp_path / "a", plots=False)
    assert snapshot(tmp_path / "a") == before


def test_dispersion_plot_of_a_small_catalogue(tmp_path):
    """issue 13.4: 12 stars crashed the plot with 'n_bins must be in [1, n_stars / 5 = 2]'."""
    from dynamicall.infer.plots import dispersion_plot

    result = fake_fit(StarCatalog.from_table(catalog(12)), tracer="plummer", halo="nfw", anisotropy="constant",
                      forward="exact", priors={"halo.log10_r_s": 0.0}, R_half=None, stellar_mass=None,
                      likelihood=None, proper_motions=False)
    dispersion_plot(result, tmp_path / "s.png")
    assert (tmp_path / "s.png").stat().st_size > 10_000


# ---------------------------------------------------------------------------- other commands
@pytest.mark.parametrize("args, message", [
    (["forecast", "--halo", "nfw", "--anisotropy", "constant", "--R-half", "250 pc"], "give a truth for"),
    (["forecast", "--halo", "nfw", "--anisotropy", "constant", "--R-half", "fast",
      "--truth", "halo.log10_rho_s=7.5"], "cannot read 'fast' as a length"),
    (["forecast", "--halo", "nfw", "--anisotropy", "constant", "--R-half", "250 pc", "--truth",
      "halo.log10_rho_s=7.5", "--truth", "halo.log10_r_s=0", "--truth", "anisotropy.beta=0", "--v-err", "3,1"],
     "give one value or LOWER,UPPER"),
    (["forecast", "--truth-from", "no_such.ecsv"], "no such catalogue file"),
])
def test_forecast_errors_are_one_line(args, message, capsys):
    """issue 13.6: forecast's user errors were tracebacks."""
    code, _, err = run_cli(capsys, args)
    assert_user_error(code, err, message)


@pytest.mark.parametrize("args, message", [
    (["mock", "--R-half", "3 km/s"], "is not a length"),
    (["mock", "--r-half", "3kms"], "cannot read '3kms' as a length"),
    (["mock", "--m200", "1e9", "--anisotropy", "om"], "--anisotropy osipkov-merritt needs --r-a"),
    (["mock"], "--halo nfw needs its parameters"),
    (["mock", "--halo-param", "rho_s"], "--halo-param takes NAME=VALUE"),
    (["mock", "--halo", "none"], "--halo none needs a self-gravitating tracer"),
    (["mock", "--v-err", "1,2,3"], "an error must be VALUE or LOW,HIGH"),
])
def test_mock_errors_are_one_line(args, message, tmp_path, capsys):
    out = tmp_path / "m.ecsv"
    code, _, err = run_cli(capsys, [*args, "--n-stars", "20", "--out", out])
    assert_user_error(code, err, message)
    assert not out.exists()


def test_mock_old_and_new_spellings_are_the_same_option():
    from dynamicall.cli import build_parser

    parser = build_parser()
    a = parser.parse_args(["mock", "--n", "7", "--r-half", "100pc"])
    b = parser.parse_args(["mock", "--n-stars", "7", "--R-half", "100pc"])
    assert a.n == b.n == 7 and a.r_half == b.r_half == pytest.approx(0.1)
    c = parser.parse_args(["fit", "x.ecsv", "--r-half", "100pc"])
    assert c.R_half == "100pc"


def test_validate_unknown_emulator_is_one_line(capsys):
    """issue 13.6: validate's user errors were tracebacks."""
    code, _, err = run_cli(capsys, ["validate", "no_such_emulator"])
    assert_user_error(code, err, "no emulator 'no_such_emulator'")


def test_train_missing_recipe_is_one_line(tmp_path, capsys):
    """issue 13.6: train's user errors were tracebacks."""
    code, _, err = run_cli(capsys, ["train", tmp_path / "none.toml", "--data", tmp_path / "x.h5",
                                    "--out", tmp_path / "emu"])
    assert_user_error(code, err, "no such file or directory", "none.toml")
    assert not (tmp_path / "emu").exists()


def test_demo_unknown_option(capsys):
    code, _, err = run_cli(capsys, ["demo", "--bogus"])
    assert code == 2 and "unrecognized arguments: --bogus" in err and "Traceback" not in err


@pytest.mark.slow  # a subprocess that imports JAX and builds the model: ~15-35 s here
def test_fit_killed_while_saving_leaves_the_old_set(tmp_path):
    """issue 13.3: ``kill -9`` in the middle of writing the new set (after summary.json,
    before samples.h5) leaves the old set whole, not files of two runs."""
    import subprocess
    import sys
    import textwrap

    out = tmp_path / "out"
    out.mkdir()
    for name in ("summary.json", "corner.png", "samples.h5"):
        (out / name).write_text("old run")
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(pathlib.Path(__file__).parent)!r})
        import dynamicall.infer, dynamicall.infer.outputs
        from test_bad_input import fake_fit
        from dynamicall.cli import main
        dynamicall.infer.fit = fake_fit
        dynamicall.infer.outputs.save_samples = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
        main(["fit", {str(write_catalog(tmp_path))!r}, "--out", {str(out)!r}, "--halo", "nfw",
              "--anisotropy", "constant", "--quiet", "--overwrite"])
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == -9, done.stderr
    assert {p.name: p.read_text() for p in out.iterdir() if p.name != "checkpoint.npz"} == \
        {name: "old run" for name in ("summary.json", "corner.png", "samples.h5")}


def test_checkpoint_of_another_run_or_torn_is_refused(tmp_path):
    """A checkpoint that is not one, or belongs to another run, is named with the way out."""
    from dynamicall._durable import save_npz
    from dynamicall.infer.checkpoint import CHECKPOINT_VERSION, check_checkpoint

    torn = tmp_path / "torn.npz"
    torn.write_bytes(b"PK\x03\x04 half a zip")
    with pytest.raises(ValueError, match="is not a readable checkpoint.*--overwrite"):
        check_checkpoint(torn, "abc")
    other = tmp_path / "other.npz"
    meta = json.dumps(dict(fingerprint="another run", version=CHECKPOINT_VERSION, done=50)).encode()
    save_npz(other, {"meta": np.frombuffer(meta, dtype=np.uint8)})
    with pytest.raises(ValueError, match="written for another model, data set or run settings"):
        check_checkpoint(other, "abc")
    assert torn.read_bytes().startswith(b"PK") and other.exists()  # refused, not deleted
