"""Figure and survey-design tables for docs/forecast.md: Fisher forecasts (data + the
fit's priors; the figure) and, with ``--method posterior``, the command's default, the
noise-free posterior (the second table), for the shipped mock's model.

The model of ``data/mock_dwarf.ecsv``: a Plummer dwarf (R_half = 250 pc) in a Zhao halo
(alpha, beta, gamma) = (1, 4, 1), r_s = 1 kpc, rho_s = 10^7.8 Msun/kpc^3, Baes-van Hese
anisotropy (beta_0 = 0, beta_inf = 0.4, r_a = 300 pc, eta = 2): 9 free parameters with the
default priors of ``dynamicall fit``. Designs: velocity errors 1, 2 and 5 km/s with stars
out to 5 R_half, and 2 km/s out to 2 and 10 R_half. Exact engine, float64. Prints, for
each design, the errors on M(<1.8 R_half) and rho(150 pc) and the number of stars that
reaches 10 % on M(<1.8 R_half).

Run: ``python docs/figures/forecast_errors.py [--method posterior]`` (writes
forecast_errors.png beside it; the posterior takes ~30 min on a 2-core CPU).
"""

from __future__ import annotations

import pathlib

import numpy as np

TRUTH = {
    "halo.log10_rho_s": 7.8, "halo.log10_r_s": 0.0, "halo.alpha": 1.0, "halo.beta": 4.0, "halo.gamma": 1.0,
    "anisotropy.beta_0": 0.0, "anisotropy.beta_inf": 0.4, "anisotropy.log10_r_a": float(np.log10(0.3)),
    "anisotropy.eta": 2.0, "v_sys": 110.0,
}
N_STARS = np.array([100, 200, 400, 800, 1600, 3200, 10000])
DESIGNS = [(2.0, 5.0), (1.0, 5.0), (5.0, 5.0), (2.0, 2.0), (2.0, 10.0)]  # (v_err km/s, R_max / R_half)
TARGET = ("M_1.8_R_half", 0.10, True)


def forecasts(method="fisher"):
    """[(label, forecast dict, stars for TARGET)] for every design."""
    from dynamicall.infer import ModelSpec
    from dynamicall.infer.fisher import (fisher_matrix, fisher_sigma_function, forecast, stars_for_target,
                                         truth_in_parameterization)
    from dynamicall.infer.posterior_forecast import PosteriorForecaster, posterior_forecast, posterior_stars_for_target
    from dynamicall.infer.survey import SurveyDesign

    # the parameterisation (and so the priors) of fit and of dynamicall forecast by default
    spec = ModelSpec("plummer", "zhao", "baes-van-hese", R_half=0.25, parameterization="enclosed_mass")
    truth = truth_in_parameterization(spec, TRUTH)
    tracer = spec.build(truth)[0]
    out = []
    for v_err, R_max in DESIGNS:
        design = SurveyDesign.from_tracer(tracer, 100, v_err=v_err, R_max=R_max * spec.R_half)
        F = fisher_matrix(spec, truth, design)  # once per design, shared by both questions
        quantity, value, relative = TARGET
        label = f"{v_err:g} km/s, R <= {R_max:g} R_half"
        if method == "posterior":
            posterior = PosteriorForecaster(spec, truth, design)
            fisher_sigma = fisher_sigma_function(spec, truth, design, fisher=F)
            target = posterior_stars_for_target(posterior, lambda n: fisher_sigma(n)[quantity], quantity, value,
                                                relative=relative)
            result = posterior_forecast(spec, truth, design, N_STARS, forecaster=posterior)
        else:
            target = stars_for_target(spec, truth, design, quantity, value, relative=relative, fisher=F)
            result = forecast(spec, truth, design, N_STARS, fisher=F)
        out.append((label, result, target["n_stars"]))
        print(f"done: {label}", flush=True)
    return out


def make_figure(path, method="fisher"):
    import jax

    from dynamicall.infer.forecast_plots import forecast_plot

    jax.config.update("jax_enable_x64", True)
    results = forecasts(method)
    print(f"{'design':26s} " + " ".join(f"{'N=' + str(n):>13s}" for n in N_STARS) + "   N for 10 % on M")
    for label, out, n10 in results:
        cells = " ".join(f"{100 * m / out['values']['M_1.8_R_half']:5.1f}/{100 * r / out['values']['rho_150pc']:5.1f}%"
                         for m, r in zip(out["sigma"]["M_1.8_R_half"], out["sigma"]["rho_150pc"]))
        print(f"{label:26s} {cells}   {np.ceil(n10):.0f}")
    print("(cells: relative 1 sigma of M(<1.8 R_half) / rho(150 pc))")
    path = pathlib.Path(path)
    forecast_plot([(label, out) for label, out, _ in results], path, targets=[TARGET])
    return path


if __name__ == "__main__":
    import sys

    chosen = sys.argv[sys.argv.index("--method") + 1] if "--method" in sys.argv else "fisher"
    out = make_figure(pathlib.Path(__file__).with_name("forecast_errors.png"), chosen)
    print(f"wrote {out}")
