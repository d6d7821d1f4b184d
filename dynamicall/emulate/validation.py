"""Validation of an emulator against the exact engine on a fresh, independent test set.

For each test profile and grid radius the relative error E = (emu - exact) / exact of
the dispersion is computed; the report gives quantiles of the per-point |E| and of the
per-profile max |E|, histograms of both (the analogue of Simon et al., Fig. 3), and
records them in the emulator's ``card.json`` under ``validation``.
"""

from __future__ import annotations

import datetime
import json
import pathlib

import numpy as np

from . import files

#: Accuracy floors every shipped emulator must meet over its whole domain.
FLOORS = {"median_point_abs_error": 1e-3, "p99_profile_max_abs_error": 1e-2}
#: Floor on the gradient: median relative error of d ln sigma / d inputs.
GRADIENT_FLOOR = {"gradient_median_rel_error": 1e-2}


def gradient_statistics(emulated_jacobian, exact_jacobian) -> dict:
    """Accuracy of d ln sigma / d inputs.

    For each profile and radius the relative error is |J_emu - J_exact| / |J_exact|,
    Euclidean norms over the input vector (dimensionless inputs in their recipe units);
    this stays meaningful where one component crosses zero.

    Parameters
    ----------
    emulated_jacobian, exact_jacobian : arrays (N, Q*G, P)

    Returns
    -------
    dict
        ``median_rel_error``, ``p90_rel_error``, ``p99_rel_error``, ``n_profiles``, and
        ``per_input_median_rel_error`` (the component error over |J_exact|, per input).

    Example
    -------
    >>> exact = np.ones((2, 3, 4))
    >>> round(gradient_statistics(exact * 1.01, exact)["median_rel_error"], 6)
    0.01
    """
    emu, exact = np.asarray(emulated_jacobian, float), np.asarray(exact_jacobian, float)
    norm = np.linalg.norm(exact, axis=-1)
    rel = np.linalg.norm(emu - exact, axis=-1) / np.maximum(norm, 1e-300)
    per_input = np.median(np.abs(emu - exact) / np.maximum(norm, 1e-300)[..., None], axis=(0, 1))
    return dict(
        n_profiles=int(emu.shape[0]),
        median_rel_error=float(np.median(rel)),
        p90_rel_error=float(np.percentile(rel, 90)),
        p99_rel_error=float(np.percentile(rel, 99)),
        per_input_median_rel_error=[float(v) for v in per_input],
    )


def training_report(card: dict) -> str:
    """report.md written with a freshly trained emulator: its best validation metrics
    (values and, when measured, gradients). ``dynamicall validate`` replaces it with the
    report on a fresh test set."""
    best = card["training"].get("best_validation", {})
    lines = [
        f"# Training report of `{card['name']}`",
        "",
        "Not yet validated on a fresh test set: run `dynamicall validate` on this folder.",
        "",
        f"Architecture: {json.dumps(card['architecture'], sort_keys=True)}; baseline: "
        f"{card['normalization'].get('baseline_kind', 'quadrature')}; output head: "
        + (f"{len(card['normalization']['output_basis'])} principal components"
           if "output_basis" in card["normalization"] else "grid values")
        + f". {card['training']['epochs']} epochs ({card['training']['stop_reason']}), "
        f"{card['training']['wall_time_s']} s.",
        "",
        "| validation set, best epoch | value |",
        "| --- | --- |",
        f"| median per-point abs(E) | {best.get('val_median_rel_err', float('nan')):.2e} |",
        f"| p99 per-profile max abs(E) | {best.get('val_p99_max_rel_err', float('nan')):.2e} |",
        f"| median rel. error of d ln sigma / d inputs | "
        + (f"{best['val_grad_median_rel_err']:.2e} |" if "val_grad_median_rel_err" in best else "not measured |"),
        "",
    ]
    return "\n".join(lines)
QUANTILES = (50, 90, 99, 99.9, 100)


def error_statistics(emulated_log, exact_log) -> dict:
    """Error statistics from ln sigma of the emulator and of the exact engine.

    Parameters
    ----------
    emulated_log, exact_log : arrays (N, Q*G)
        Natural logs of the dispersions (any common unit).

    Returns
    -------
    dict
        ``point_abs_error`` and ``profile_max_abs_error`` quantiles (keys "p50", ...,
        "p100"), the medians and 99th percentiles the floors refer to, fractions of points
        below 1 % and of profiles with max below 1 % and 2 %, and ``n_profiles``.

    Example
    -------
    >>> stats = error_statistics(np.log([[1.001, 2.0]]), np.log([[1.0, 2.0]]))
    >>> round(stats["profile_max_abs_error"]["p100"], 6)
    0.001
    """
    err = np.expm1(np.asarray(emulated_log, float) - np.asarray(exact_log, float))
    point = np.abs(err).ravel()
    profile = np.abs(err).max(axis=1)
    q = lambda a: {f"p{k:g}": float(np.percentile(a, k)) for k in QUANTILES}  # noqa: E731
    return dict(
        n_profiles=int(err.shape[0]),
        n_points=int(point.size),
        point_abs_error=q(point),
        profile_max_abs_error=q(profile),
        median_point_abs_error=float(np.median(point)),
        p99_profile_max_abs_error=float(np.percentile(profile, 99)),
        fraction_points_below_1pct=float(np.mean(point < 0.01)),
        fraction_profiles_max_below_1pct=float(np.mean(profile < 0.01)),
        fraction_profiles_max_below_2pct=float(np.mean(profile < 0.02)),
        signed_mean_error=float(err.mean()),
    )


def meets_floors(stats: dict) -> bool:
    """True if the statistics meet :data:`FLOORS`."""
    return all(stats[k] <= v for k, v in FLOORS.items())


def _histograms(path, emulated_log, exact_log, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    err = np.abs(np.expm1(np.asarray(emulated_log, float) - np.asarray(exact_log, float)))
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    bins = np.linspace(-7, 0, 71)
    axes[0].hist(np.log10(np.maximum(err.ravel(), 1e-12)), bins=bins, color="C0")
    axes[0].axvline(np.log10(FLOORS["median_point_abs_error"]), color="k", ls="--", label="floor on the median")
    axes[0].set_xlabel(r"$\log_{10}|E|$ per point")
    axes[0].set_ylabel("points")
    axes[1].hist(np.log10(np.maximum(err.max(axis=1), 1e-12)), bins=bins, color="C1")
    axes[1].axvline(np.log10(FLOORS["p99_profile_max_abs_error"]), color="k", ls="--",
                    label="floor on the 99th percentile")
    axes[1].set_xlabel(r"$\log_{10}\max|E|$ per profile")
    axes[1].set_ylabel("profiles")
    for ax in axes:
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def report_markdown(name: str, stats: dict, meta: dict) -> str:
    """The validation report as Markdown."""
    lines = [
        f"# Validation of `{name}`",
        "",
        f"Test set: {stats['n_profiles']} profiles drawn with seed {meta.get('seed')} "
        f"({meta.get('design', 'design')}), independent of the training and validation sets, "
        f"computed with the exact engine ({meta.get('engine', '')}). Date: {meta.get('date')}; "
        f"device: {meta.get('device')}.",
        "",
        "E = (emulator - exact) / exact of the dispersion at every grid radius.",
        "",
        "| statistic | " + " | ".join(f"{k}" for k in stats["point_abs_error"]) + " |",
        "| --- |" + " --- |" * len(stats["point_abs_error"]),
        "| per-point abs(E) | " + " | ".join(f"{v:.2e}" for v in stats["point_abs_error"].values()) + " |",
        "| per-profile max abs(E) | "
        + " | ".join(f"{v:.2e}" for v in stats["profile_max_abs_error"].values())
        + " |",
        "",
        "| floor | required | measured | met |",
        "| --- | --- | --- | --- |",
    ]
    for key, required in FLOORS.items():
        lines.append(f"| {key} | <= {required:.1e} | {stats[key]:.2e} | {'yes' if stats[key] <= required else 'NO'} |")
    by_tracer = stats.get("by_tracer") or {}
    grad = stats.get("gradient")
    if grad:
        value = grad["median_rel_error"]
        lines.append(f"| gradient_median_rel_error | <= {GRADIENT_FLOOR['gradient_median_rel_error']:.1e} | "
                     f"{value:.2e} | {'yes' if value <= GRADIENT_FLOOR['gradient_median_rel_error'] else 'NO'} |")
    else:
        lines.append("| gradient_median_rel_error | <= 1.0e-02 | not measured | - |")
    if by_tracer:
        lines += ["", "By tracer family of the test profiles:", "",
                  "| tracers | profiles | median per-point abs(E) | p99 per-profile max abs(E) | max abs(E) |",
                  "| --- | --- | --- | --- | --- |"]
        lines += [f"| {label} | {s['n_profiles']} | {s['median_point_abs_error']:.2e} | "
                  f"{s['p99_profile_max_abs_error']:.2e} | {s['profile_max_abs_error']['p100']:.2e} |"
                  for label, s in by_tracer.items()]
    lines += [
        "",
        f"Points with abs(E) < 1 %: {100 * stats['fraction_points_below_1pct']:.3f} %; profiles with max "
        f"abs(E) < 1 %: {100 * stats['fraction_profiles_max_below_1pct']:.2f} %, < 2 %: "
        f"{100 * stats['fraction_profiles_max_below_2pct']:.2f} %. Mean signed error: "
        f"{stats['signed_mean_error']:.1e}.",
        "",
        "![error histograms](report.png)",
        "",
    ]
    if grad:
        names = meta.get("input_names") or [f"x{i}" for i in range(len(grad["per_input_median_rel_error"]))]
        lines[-2:-2] = [
            f"Gradient d ln sigma / d inputs on {grad['n_profiles']} of these profiles (exact Jacobian by "
            "forward-mode autodiff of the engine): relative error |J_emu - J_exact| / |J_exact| per (profile, "
            f"radius), norms over the inputs: median {grad['median_rel_error']:.2e}, 90 % "
            f"{grad['p90_rel_error']:.2e}, 99 % {grad['p99_rel_error']:.2e}. Median per input (over |J_exact|): "
            + ", ".join(f"{n} {v:.1e}" for n, v in zip(names, grad["per_input_median_rel_error"])) + ".",
            "",
        ]
    return "\n".join(lines)


def record_validation(folder, card: dict, stats: dict, meta: dict, emulated_log, exact_log) -> dict:
    """Write report.md and report.png to ``folder`` and the statistics into card.json."""
    folder = pathlib.Path(folder)
    meta = dict(meta, date=meta.get("date") or datetime.date.today().isoformat())
    from .._durable import atomic_file, write_text

    with atomic_file(folder / "report.png") as tmp:
        _histograms(tmp, emulated_log, exact_log, f"{card['name']}: {stats['n_profiles']} test profiles")
    write_text(folder / "report.md", report_markdown(card["name"], stats, meta))
    card = dict(card, validation=dict(stats, **meta, floors=FLOORS, meets_floors=meets_floors(stats)))
    files.write_card(folder, card)
    return card
