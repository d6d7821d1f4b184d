"""Figure for docs/forecast.md: Fisher-forecast errors against the number of stars.

A planned survey of a Plummer dwarf (R_half = 250 pc) in an NFW halo (rho_s = 10^7.6
Msun/kpc^3, r_s = 1 kpc) with constant anisotropy beta = 0.2; stars out to 5 R_half with
velocity errors 1-3 km/s; line-of-sight velocities alone, and with proper motions of
0.01 mas/yr per component at 80 kpc. Exact engine.

Run: ``python docs/figures/forecast_errors.py`` (writes forecast_errors.png beside it).
"""

from __future__ import annotations

import pathlib

import numpy as np

TRUTH = {"halo.log10_rho_s": 7.6, "halo.log10_r_s": 0.0, "anisotropy.beta": 0.2}
N_STARS = np.array([100, 200, 500, 1000, 2000, 5000, 10000])


def forecasts():
    """Forecasts without and with proper motions (dicts of :func:`dynamicall.infer.forecast`)."""
    from dynamicall.infer import ModelSpec, SurveyDesign, forecast
    from dynamicall.profiles import Plummer

    spec = ModelSpec("plummer", "nfw", "constant", R_half=0.25)
    tracer = Plummer(m_tot=1.0, r_s=0.25)
    v_err = np.linspace(1.0, 3.0, 5)
    los = SurveyDesign.from_tracer(tracer, 100, v_err=v_err, R_max=1.25)
    pm = SurveyDesign.from_tracer(tracer, 100, v_err=v_err, R_max=1.25, pm_err=0.01, distance=80.0)
    return forecast(spec, TRUTH, los, N_STARS), forecast(spec, TRUTH, pm, N_STARS)


def make_figure(path):
    import jax
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    jax.config.update("jax_enable_x64", True)
    los, pm = forecasts()
    fig = Figure(figsize=(10, 4))
    FigureCanvasAgg(fig)
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for out, style, label in ((los, "-", "v_los"), (pm, "--", "v_los + PM")):
        for name, color in (("halo.log10_rho_s", "C0"), ("halo.log10_r_s", "C1"), ("anisotropy.beta", "C2")):
            left.plot(N_STARS, out["sigma"][name], style, color=color, label=f"{name} ({label})")
        for name, color in (("M_1.8_R_half", "C3"), ("rho_150pc", "C4")):
            rel = out["sigma"][name] / out["values"][name]
            right.plot(N_STARS, rel, style, color=color, label=f"{name} ({label})")
    for ax, ylabel in ((left, "1 sigma error"), (right, "relative 1 sigma error")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("number of stars")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=6, frameon=False)
    fig.suptitle("Fisher forecast: Plummer dwarf in an NFW halo, v_err 1-3 km/s, R <= 5 R_half", fontsize=9)
    fig.tight_layout()
    path = pathlib.Path(path)
    fig.savefig(path, dpi=110)
    return path


if __name__ == "__main__":
    out = make_figure(pathlib.Path(__file__).with_name("forecast_errors.png"))
    print(f"wrote {out}")
