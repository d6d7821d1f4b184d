"""Outputs of a fit: ``summary.json``, the draws (HDF5; netCDF through ArviZ when it is
installed), plots, and a printed summary table.

``write_outputs(result, out_dir)`` writes

=====================  ==================================================================
file                   content
=====================  ==================================================================
summary.json           per parameter and derived quantity: mean, std, 5/50/95 %, r_hat,
                       ESS, unit, prior; run: wall/compile/sampling time, divergences,
                       ESS per second, forward model, settings, model description
samples.h5             groups posterior/, derived/, sample_stats/ (arrays chains x draws),
                       data/ (the fitted data); attributes model, settings (JSON)
samples.nc             ArviZ InferenceData (only when arviz is installed)
corner.png             pairwise posterior of the sampled parameters
sigma_los.png          sigma_los(R): data (binned) with the posterior median and bands
membership.ecsv        mixture fits: each star with its membership probability
=====================  ==================================================================

Example
-------
>>> print(format_table({"a": {"mean": 1.0, "std": 0.1, "q5": 0.8, "q50": 1.0, "q95": 1.2,
...                           "r_hat": 1.001, "ess": 812.0, "unit": ""}}).splitlines()[0])
parameter                      mean        std         5%        50%        95%   r_hat     ESS
"""

from __future__ import annotations

import json

import numpy as np


def _stats(x: np.ndarray) -> dict:
    from numpyro.diagnostics import effective_sample_size, split_gelman_rubin

    x = np.asarray(x, dtype=float)
    flat = x.reshape(-1)
    out = dict(mean=float(np.mean(flat)), std=float(np.std(flat, ddof=1)) if flat.size > 1 else 0.0)
    q5, q50, q95 = np.percentile(flat, [5, 50, 95])
    out.update(q5=float(q5), q50=float(q50), q95=float(q95))
    if x.shape[1] >= 4 and np.ptp(flat) > 0:
        out["r_hat"] = float(split_gelman_rubin(x))
        out["ess"] = float(effective_sample_size(x))
    else:
        out["r_hat"], out["ess"] = float("nan"), float("nan")
    return out


def summarize(result) -> dict:
    """Summary of a :class:`~dynamicall.infer.run.FitResult` (JSON-ready dict).

    Returns
    -------
    dict with ``parameters`` (site -> stats), ``derived`` (name -> stats), ``run``
    (timing, divergences, ESS per second, forward, settings) and ``model``.
    """
    import jax

    from .. import __version__
    from .derived import DERIVED

    model = result.model
    priors = model.priors()
    params = {}
    for site, draws in result.samples.items():
        st = _stats(draws)
        if site in priors:
            from .priors import describe_distribution

            st["prior"] = describe_distribution(priors[site])
        unit = ""
        try:
            unit = model.spec.parameter(site).unit
        except KeyError:
            unit = "km/s" if site in ("v_sys", "contamination.v_mean") else \
                ("log10 km/s" if site == "contamination.log10_sigma" else "")
        st["unit"] = unit
        params[site] = st
    derived, both = {}, {}
    spec = getattr(model, "spec", None)
    for name, draws in result.derived().items():
        st = _stats(draws)
        if name in DERIVED:
            st["unit"] = DERIVED[name][0]
            st["description"] = DERIVED[name][1]
            derived[name] = st
        else:  # the halo normalisation in both parameterisations
            st["unit"] = spec.parameter(name).unit if name in getattr(spec, "sites", ()) else \
                ("log10 Msun" if name.endswith(("m_ref", "m_tot")) else "log10 Msun/kpc^3")
            st["sampled"] = name in result.samples
            both[name] = st
    ess = [p["ess"] for p in params.values() if np.isfinite(p["ess"])]
    ess_all = ess + [d["ess"] for d in derived.values() if np.isfinite(d["ess"])]
    t = result.timing
    import numpyro

    run = dict(
        forward=model.forward.name,
        wall_time_s=float(t["wall_time_s"]),
        compile_time_s=float(t["compile_time_s"]),
        sampling_time_s=float(t["sampling_time_s"]),
        optimize_time_s=float(t.get("optimize_time_s", 0.0)),
        divergences=result.divergences,
        min_ess=float(min(ess_all)) if ess_all else float("nan"),
        ess_per_second=float(min(ess_all) / t["sampling_time_s"]) if ess_all else float("nan"),
        ess_per_wall_second=float(min(ess_all) / t["wall_time_s"]) if ess_all else float("nan"),
        mean_leapfrog_steps=float(np.mean(result.stats["num_steps"])),
        settings=dict(result.settings),
        float64=bool(jax.config.jax_enable_x64),
        versions=dict(dynamicall=__version__, jax=jax.__version__, numpyro=numpyro.__version__),
    )
    run["convergence"] = verdict(params, derived, result.divergences, result.num_chains)
    if spec is not None:
        run["parameterization"] = getattr(spec, "parameterization", "native")
    source = getattr(model.data, "source", None)
    if source:
        run["data"] = str(source)
    return dict(parameters=params, derived=derived, parameterizations=both, run=run, model=model.describe())


def verdict(params: dict, derived: dict, divergences: int, chains: int) -> dict:
    """Whether a run converged, by three checks, and what to try if it did not.

    Converged means: every r_hat <= 1.01 (split r_hat, finite; needs >= 2 chains), every
    ESS >= 400 (parameters and derived quantities), no divergent transitions.

    Returns
    -------
    dict with ``converged`` (bool), ``checks`` (name -> {value, limit, ok}), ``text``
    (one line) and ``advice`` (list of lines).
    """
    from .run import MIN_ESS, R_HAT_MAX

    stats = {**params, **derived}
    r_hats = {k: v["r_hat"] for k, v in stats.items()}
    stuck = sorted(k for k, r in r_hats.items() if not np.isfinite(r))
    finite = [r for r in r_hats.values() if np.isfinite(r)]
    r_max = max(finite) if finite else float("nan")
    esses = {k: v["ess"] for k, v in stats.items()}
    ess_min = min((e for e in esses.values() if np.isfinite(e)), default=float("nan"))
    checks = {
        "r_hat": dict(value=r_max, limit=R_HAT_MAX, ok=bool(chains >= 2 and not stuck and r_max <= R_HAT_MAX)),
        "ess": dict(value=ess_min, limit=MIN_ESS,
                    ok=bool(np.isfinite(ess_min) and ess_min >= MIN_ESS and all(np.isfinite(list(esses.values()))))),
        "divergences": dict(value=int(divergences), limit=0, ok=int(divergences) == 0),
    }
    advice = []
    if chains < 2:
        advice.append("run at least 2 chains: r_hat needs them")
    if stuck:
        advice.append(f"r_hat is NaN for {stuck}: a chain did not move; try another seed, init='laplace', "
                      f"or fix a parameter the data cannot constrain")
    elif not checks["r_hat"]["ok"] and chains >= 2:
        worst = max((k for k in r_hats if np.isfinite(r_hats[k])), key=lambda k: r_hats[k])
        advice.append(f"r_hat {r_max:.3f} > {R_HAT_MAX} (worst: {worst}): run more warm-up and draws "
                      f"(--warmup, --samples) or more chains")
    if not checks["ess"]["ok"]:
        low = sorted(k for k, e in esses.items() if not (np.isfinite(e) and e >= MIN_ESS))
        advice.append(f"ESS below {MIN_ESS} for {low}: run more draws (--samples) or more chains (--chains)")
    if not checks["divergences"]["ok"]:
        advice.append(f"{divergences} divergent transitions: raise the target acceptance (--target-accept 0.95), "
                      f"tighten or fix the parameters piling up at a prior edge")
    converged = all(c["ok"] for c in checks.values())
    text = (f"converged: r_hat <= {R_HAT_MAX} (max {r_max:.3f}), min ESS {ess_min:.0f} >= {MIN_ESS}, "
            f"no divergences" if converged else
            "NOT converged: " + "; ".join(name for name, c in checks.items() if not c["ok"]) + " failed")
    return dict(converged=converged, checks=checks, text=text, advice=advice)


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "nan"
    if x != 0 and (abs(x) >= 1e5 or abs(x) < 1e-3):
        return f"{x:.3e}"
    return f"{x:.4g}"


def format_table(stats: dict) -> str:
    """Fixed-width table of parameter statistics (one row per entry of ``stats``)."""
    head = f"{'parameter':24s} {'mean':>10s} {'std':>10s} {'5%':>10s} {'50%':>10s} {'95%':>10s} {'r_hat':>7s} {'ESS':>7s}"
    lines = [head]
    for name, s in stats.items():
        label = name if not s.get("unit") or s["unit"].startswith("log10") else f"{name} [{s['unit']}]"
        lines.append(
            f"{label[:24]:24s} {_fmt(s['mean']):>10s} {_fmt(s['std']):>10s} {_fmt(s['q5']):>10s} "
            f"{_fmt(s['q50']):>10s} {_fmt(s['q95']):>10s} {s['r_hat']:7.3f} {s['ess']:7.0f}"
        )
    return "\n".join(lines)


def format_summary(summary: dict) -> str:
    """The printed summary: parameters, derived quantities and run information."""
    r = summary["run"]
    s = r["settings"]
    lines = [format_table(summary["parameters"]), "", "derived quantities:",
             format_table(summary["derived"]), ""]
    both = summary.get("parameterizations") or {}
    if both:
        lines += ["halo normalisation, both parameterisations (* sampled):",
                  format_table({(k + " *" if v.get("sampled") else k): v for k, v in both.items()}), ""]
    lines.append(
        f"forward: {r['forward']}; {s['chains']} chains x ({s['warmup']} warm-up + {s['samples']} draws); "
        f"divergences: {r['divergences']}"
    )
    lines.append(
        f"wall time {r['wall_time_s']:.1f} s (compilation {r['compile_time_s']:.1f} s, sampling "
        f"{r['sampling_time_s']:.1f} s); min ESS {r['min_ess']:.0f}, {r['ess_per_second']:.2f} ESS/s of "
        f"sampling, {r.get('ess_per_wall_second', float('nan')):.2f} ESS/s of wall time"
    )
    conv = r.get("convergence")
    if conv is not None:
        lines.append(conv["text"])
        for line in conv["advice"]:
            lines.append(f"  try: {line}")
    return "\n".join(lines)


def write_summary(summary: dict, path) -> None:
    """Write ``summary`` (from :func:`summarize`) as JSON, atomically."""
    from .._durable import write_text

    write_text(path, json.dumps(summary, indent=2, default=_json_default) + "\n")


def _json_default(x):
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)


def save_samples(result, path) -> None:
    """Write the draws, derived quantities, sampler statistics and data to HDF5."""
    import h5py

    model = result.model
    with h5py.File(path, "w") as f:
        for group, content in (("posterior", result.samples), ("derived", result.derived()),
                               ("sample_stats", result.stats)):
            g = f.create_group(group)
            for name, arr in content.items():
                g.create_dataset(name, data=np.asarray(arr))
        d = f.create_group("data")
        for name in ("R", "v", "v_err", "pm_R", "pm_T", "pm_R_err", "pm_T_err", "sigma", "sigma_err"):
            arr = getattr(model.data, name, None)
            if arr is not None:
                d.create_dataset(name, data=np.asarray(arr))
        f.attrs["model"] = json.dumps(model.describe(), default=_json_default)
        f.attrs["settings"] = json.dumps(result.settings)
        f.attrs["forward"] = model.forward.name
        f.attrs["layout"] = "arrays are (chains, draws); units in summary.json"


def load_samples(path) -> dict:
    """Read a ``samples.h5`` written by :func:`save_samples`.

    Returns
    -------
    dict with ``posterior``, ``derived``, ``sample_stats``, ``data`` (dicts of arrays)
    and ``model``, ``settings`` (dicts).
    """
    import h5py

    out = {}
    with h5py.File(path, "r") as f:
        for group in ("posterior", "derived", "sample_stats", "data"):
            out[group] = {k: np.asarray(v) for k, v in f[group].items()} if group in f else {}
        out["model"] = json.loads(f.attrs["model"])
        out["settings"] = json.loads(f.attrs["settings"])
    return out


def to_inference_data(result):
    """The draws as an ArviZ ``InferenceData`` (or DataTree, ArviZ >= 1).

    Raises
    ------
    ImportError
        If arviz is not installed (it is optional: ``pip install arviz``).
    """
    try:
        import arviz as az
    except ImportError:
        raise ImportError(
            "to_inference_data needs arviz, an optional dependency: pip install arviz "
            "(the draws are always written to samples.h5)"
        ) from None
    posterior = {k: np.asarray(v) for k, v in result.samples.items()}
    posterior.update({k: np.asarray(v) for k, v in result.derived().items()})
    stats = {k: np.asarray(v) for k, v in result.stats.items()}
    stats["diverging"] = stats["diverging"].astype(bool)
    try:
        return az.from_dict({"posterior": posterior, "sample_stats": stats})
    except TypeError:
        return az.from_dict(posterior=posterior, sample_stats=stats)


def write_outputs(result, out_dir, plots: bool = True, overwrite: bool = False) -> dict:
    """Write every output of a fit to ``out_dir``, as one set.

    The files are written into a hidden staging folder beside ``out_dir``, which replaces
    ``out_dir`` only once every file is complete (:func:`dynamicall._durable.staged_folder`):
    ``out_dir`` then holds this run's files and nothing else (no plot of an earlier run
    survives ``plots=False``), and an interrupt or an error while writing leaves the
    earlier folder as it was.

    Parameters
    ----------
    result : FitResult
    out_dir : str or Path
        The output folder (created, with its parents, if needed).
    plots : bool
        Also draw corner.png and sigma_los.png.
    overwrite : bool
        Replace a folder that already holds files (a finished fit, a checkpoint). Without
        it such a folder raises :class:`~dynamicall._durable.OutputExistsError` before
        anything is written.

    Returns
    -------
    dict name -> final path of what was written (``netcdf`` only with arviz; ``corner``
    and ``sigma_los`` only with ``plots``; ``membership`` for mixture fits).
    """
    import pathlib

    from .._durable import staged_folder

    out_dir = pathlib.Path(out_dir)
    names = {}
    summary = summarize(result)
    with staged_folder(out_dir, overwrite=overwrite) as stage:
        names["summary"] = "summary.json"
        write_summary(summary, stage / names["summary"])
        names["samples"] = "samples.h5"
        save_samples(result, stage / names["samples"])
        try:
            idata = to_inference_data(result)
        except ImportError:
            idata = None
        if idata is not None:
            try:
                idata.to_netcdf(str(stage / "samples.nc"))
                names["netcdf"] = "samples.nc"
            except (ImportError, ValueError) as err:  # no netCDF engine installed
                (stage / "samples.nc").unlink(missing_ok=True)
                print(f"note: ArviZ InferenceData not written ({err})")
        if result.model.likelihood == "mixture":
            names["membership"] = "membership.ecsv"
            table = result.model.data.to_table()
            table["p_member"] = result.model.membership(result.samples)
            table.write(stage / names["membership"], format="ascii.ecsv", overwrite=True)
        if plots:
            from .plots import corner_plot, dispersion_plot

            names["corner"] = "corner.png"
            corner_plot(result, stage / names["corner"])
            names["sigma_los"] = "sigma_los.png"
            dispersion_plot(result, stage / names["sigma_los"])
    return {key: str(out_dir / name) for key, name in names.items()}
