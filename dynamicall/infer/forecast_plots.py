"""Plots of Fisher forecasts (:func:`dynamicall.infer.fisher.forecast`): what a survey
constrains, and what it leaves to the priors.

Example
-------
>>> import jax; jax.config.update("jax_enable_x64", True)
>>> from dynamicall.infer.spec import ModelSpec
>>> from dynamicall.infer.survey import SurveyDesign
>>> from dynamicall.infer.fisher import forecast
>>> spec = ModelSpec("plummer", "nfw", "constant", R_half=0.25)
>>> truth = {"halo.log10_rho_s": 7.6, "halo.log10_r_s": 0.0, "anisotropy.beta": 0.2}
>>> design = SurveyDesign.from_tracer(spec.build(truth)[0], 100, v_err=2.0, R_max=1.25)
>>> fig = forecast_plot(forecast(spec, truth, design, [100, 1000]))
>>> len(fig.axes)
6
"""

from __future__ import annotations

import numpy as np

from .plots import _figure

#: Derived quantities drawn on their own axes, and whether their relative error is shown.
_DERIVED_PANELS = (("M_1.8_R_half", True), ("rho_150pc", True), ("log_slope_150pc", False),
                   ("beta_R_half", False))
_LABELS = {"M_1.8_R_half": "M(<1.8 R_half)", "rho_150pc": "rho_DM(150 pc)",
           "log_slope_150pc": "dln rho_DM/dln r (150 pc)", "beta_R_half": "beta(R_half)"}


def _marked(ax, x, y, dominated, **kwargs):
    """A line with filled markers where the data dominate, open where the prior does."""
    kwargs.setdefault("ls", "-")
    line, = ax.plot(x, y, **kwargs)
    color = line.get_color()
    dominated = np.asarray(dominated, bool)
    ax.plot(x[~dominated], y[~dominated], "o", ms=4, color=color)
    ax.plot(x[dominated], y[dominated], "o", ms=5, color=color, mfc="white", mec=color)
    return line


def forecast_plot(outs, path=None, targets=()):
    """Forecast 1 sigma errors against the number of stars.

    Panel 1: every parameter's forecast error as a fraction of its prior-only width (1 =
    the data add nothing); the shaded band above 1/sqrt(2) is "prior-dominated". Panels
    2-5: the derived quantities, each on its own axes in its own unit, one line per
    design, the prior-only width dotted. Panel 6: relative errors (%) of M(<1.8 R_half)
    and rho_DM(150 pc), with any targets. Open markers: prior-dominated.

    Parameters
    ----------
    outs : dict or list of (label, dict)
        Output(s) of :func:`dynamicall.infer.fisher.forecast` (one per survey design).
    path : str, optional
        Write the figure here (PNG), atomically.
    targets : sequence of (quantity, value, relative)
        Relative targets on M or rho are drawn in panel 6.

    Returns
    -------
    matplotlib Figure
    """
    if isinstance(outs, dict):
        outs = [("", outs)]
    fig = _figure(13.0, 7.5)
    axes = fig.subplots(2, 3)
    axes = axes.ravel()
    label0, out0 = outs[0]
    ns = np.asarray(out0["n_stars"], dtype=float)

    ax = axes[0]
    ax.axhspan(1 / np.sqrt(2), 1.05, color="0.9", zorder=0)
    ax.text(0.98, 0.99, "prior-dominated", transform=ax.transAxes, fontsize=7, ha="right", va="top",
            color="0.4")
    derived = {name for name, _ in _DERIVED_PANELS}
    for name, sig in out0["sigma"].items():
        prior = out0["prior_sigma"].get(name, np.inf)
        if name in derived or not np.isfinite(prior):
            continue
        style = "--" if name.startswith("anisotropy.") else "-"
        _marked(ax, ns, np.asarray(sig) / prior, out0["prior_dominated"][name], label=name, ls=style)
    ax.set_xscale("log")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("forecast 1 sigma / prior-only 1 sigma")
    ax.set_title(f"parameters {label0}".strip(), fontsize=9)
    ax.legend(fontsize=6, frameon=False, loc="lower left")

    for ax, (name, _) in zip(axes[1:5], _DERIVED_PANELS):
        if name not in out0["sigma"]:
            ax.set_visible(False)
            continue
        unit = out0["units"].get(name, "")
        for label, out in outs:
            n = np.asarray(out["n_stars"], dtype=float)
            _marked(ax, n, np.asarray(out["sigma"][name]), out["prior_dominated"][name], label=label or None)
        prior = out0["prior_sigma"].get(name, np.inf)
        if np.isfinite(prior):
            ax.axhline(prior, ls=":", color="0.5", lw=1, label="priors alone")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylabel(f"1 sigma of {_LABELS[name]}" + (f" [{unit}]" if unit else ""))
        ax.set_title(f"{_LABELS[name]} = {out0['values'][name]:.4g}" + (f" {unit}" if unit else ""), fontsize=9)
        ax.legend(fontsize=6, frameon=False)

    ax = axes[5]
    for (name, relative), style in zip(_DERIVED_PANELS[:2], ("-", "--")):
        if name not in out0["sigma"]:
            continue
        for label, out in outs:
            n = np.asarray(out["n_stars"], dtype=float)
            rel = 100 * np.asarray(out["sigma"][name]) / abs(out["values"][name])
            ax.plot(n, rel, style, marker="o", ms=3, label=f"{_LABELS[name]} {label}".strip())
    for quantity, value, relative in targets:
        if relative and quantity in derived:
            ax.axhline(100 * value, color="k", lw=0.8)
            ax.text(ns[0], 100 * value, f" target {_LABELS.get(quantity, quantity)}", fontsize=7, va="bottom")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylabel("relative 1 sigma [%]")
    ax.set_title("mass and density: relative errors", fontsize=9)
    ax.legend(fontsize=6, frameon=False)
    for ax in axes:
        ax.set_xlabel("number of stars")
    from .posterior_forecast import METHOD as POSTERIOR

    if out0.get("method") == POSTERIOR:
        method = "noise-free posterior"
    elif out0.get("realisations"):
        method = f"mean posterior of {out0['realisations']} simulated surveys"
    else:
        method = "Fisher + priors" if out0.get("priors", False) else "bare Cramer-Rao bound"
    fig.suptitle(f"forecast 1 sigma ({method}); open markers: prior-dominated", fontsize=10)
    fig.tight_layout()
    if path is not None:
        from .._durable import atomic_file

        with atomic_file(path) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
    return fig


def population_forecast_plot(out, path=None):
    """Population forecast errors against the number of galaxies, one panel per pooled
    site: the mean (solid), scatter (dashed) and trend slope (dotted), one colour per
    number of stars per galaxy; open markers: dominated by the mean's prior.

    Parameters
    ----------
    out : dict
        Output of :func:`dynamicall.infer.population_fisher.population_forecast`.
    path : str, optional
        Write the figure here (PNG), atomically.

    Returns
    -------
    matplotlib Figure
    """
    sites = tuple(out["pooled"])
    fig = _figure(4.3 * len(sites), 4.0)
    axes = np.atleast_1d(fig.subplots(1, len(sites)))
    N = np.asarray(out["n_galaxies"], dtype=float)
    colors = [f"C{j}" for j in range(len(out["n_stars"]))]
    for ax, site in zip(axes, sites):
        for kind, style in (("mean", "-"), ("scatter", "--"), ("slope", ":")):
            name = f"{kind}[{site}]"
            if name not in out["sigma"]:
                continue
            for j, (n, color) in enumerate(zip(out["n_stars"], colors)):
                y = np.asarray(out["sigma"][name])[:, j]
                label = f"{kind}, {int(round(n))} stars" if kind == "mean" else (kind if j == 0 else None)
                _marked(ax, N, y, np.asarray(out["prior_dominated"][name])[:, j], ls=style, color=color,
                        label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("number of galaxies")
        ax.set_ylabel(f"1 sigma of the hyperparameters of {site}")
        values = out["values"]
        ax.set_title(f"{site}: mean {values[f'mean[{site}]']:.3g}, scatter {values[f'scatter[{site}]']:.3g}",
                     fontsize=9)
        ax.legend(fontsize=6, frameon=False)
    fig.suptitle("population forecast (hyperparameter Fisher); solid mean, dashed scatter, dotted slope",
                 fontsize=10)
    fig.tight_layout()
    if path is not None:
        from .._durable import atomic_file

        with atomic_file(path) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
    return fig
