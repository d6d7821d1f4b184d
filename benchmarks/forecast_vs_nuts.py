"""Calibration of the Fisher forecast: forecast 1 sigma widths against NUTS posterior
standard deviations on mocks of several sizes and model families, same priors.

Two phases:

1. ``--run-nuts``: for each mock (``MOCKS``) draw a catalogue with
   ``data/make_mock_dwarf.py``, fit it with NUTS exactly as :func:`dynamicall.infer.fit`
   does by default (exact engine, float64, the halo normalisation sampled as
   ``halo.log10_m_ref`` with the default priors) and store the draws in
   ``CACHE/<name>.npz`` (CPU-heavy: minutes per mock; run it in the background).
2. Always: for each cached mock, the forecasts in the NUTS run's parameterisation, so
   with the same priors, for a survey with the mock's star count, radial extent and error
   distribution: the Fisher forecast (Fisher information plus the priors' information,
   :func:`dynamicall.infer.fisher.forecast`) with flat priors as their variance and as
   their entropy, the same for the catalogue's own stars, and the default forecast, the
   noise-free posterior (:func:`dynamicall.infer.posterior_forecast.posterior_forecast`);
   printed next to the NUTS standard deviations, with their ratio. Masses and densities are compared as standard deviations of ln Q (the
   forecast's relative error is sigma(ln Q) by construction).

Usage::

    python benchmarks/forecast_vs_nuts.py --run-nuts [--only zhao_bvh_400 ...]   # slow
    python benchmarks/forecast_vs_nuts.py                                      # the table
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import pathlib
import platform
import sys
import tempfile
import time
import warnings

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ZHAO_TRUTH = {
    "halo.log10_rho_s": 7.8, "halo.log10_r_s": 0.0, "halo.alpha": 1.0, "halo.beta": 4.0, "halo.gamma": 1.0,
    "anisotropy.beta_0": 0.0, "anisotropy.beta_inf": 0.4, "anisotropy.log10_r_a": float(np.log10(0.3)),
    "anisotropy.eta": 2.0, "v_sys": 110.0,
}
NFW_TRUTH = {"halo.log10_rho_s": 7.6, "halo.log10_r_s": 0.0, "anisotropy.beta": 0.2, "v_sys": 50.0}
BURKERT_TRUTH = {"halo.log10_rho_s": 8.3, "halo.log10_r_s": -0.5, "anisotropy.log10_r_a": 0.0, "v_sys": 80.0}

#: name -> (halo, anisotropy, truth, n_stars, seed); R_half 250 pc, R <= 5 R_half, errors U(1, 3) km/s
MOCKS = {
    "zhao_bvh_400": ("zhao", "baes-van-hese", ZHAO_TRUTH, 400, 11),
    "nfw_const_2000": ("nfw", "constant", NFW_TRUTH, 2000, 12),
    "burkert_om_400": ("burkert", "osipkov-merritt", BURKERT_TRUTH, 400, 13),
    "nfw_const_100": ("nfw", "constant", NFW_TRUTH, 100, 14),
    "zhao_bvh_1600": ("zhao", "baes-van-hese", ZHAO_TRUTH, 1600, 15),
    "zhao_bvh_100": ("zhao", "baes-van-hese", ZHAO_TRUTH, 100, 16),
    "zhao_bvh_400b": ("zhao", "baes-van-hese", ZHAO_TRUTH, 400, 17),  # a second realisation: scatter
    # more realisations at 1600 stars: how much the posterior width of one mock scatters
    "zhao_bvh_1600b": ("zhao", "baes-van-hese", ZHAO_TRUTH, 1600, 18),
    "zhao_bvh_1600c": ("zhao", "baes-van-hese", ZHAO_TRUTH, 1600, 19),
    "zhao_bvh_1600d": ("zhao", "baes-van-hese", ZHAO_TRUTH, 1600, 20),
    # ten realisations in all: the spread of one survey's width, against the forecast's
    **{f"zhao_bvh_1600{c}": ("zhao", "baes-van-hese", ZHAO_TRUTH, 1600, s) for c, s in zip("efghij", range(21, 27))},
}
R_HALF, R_MAX, V_ERR = 0.25, 5.0, (1.0, 3.0)
NUTS = dict(warmup=300, samples=500, chains=2)
COMPARED = ("M_1.8_R_half", "rho_150pc")


def _mock_module():
    spec = importlib.util.spec_from_file_location("make_mock_dwarf", ROOT / "data" / "make_mock_dwarf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def catalog(name):
    from dynamicall.data import StarCatalog

    halo, anisotropy, truth, n, seed = MOCKS[name]
    table = _mock_module().mock_catalog(n_stars=n, seed=seed, halo=halo, anisotropy=anisotropy, truth=truth,
                                        R_half=R_HALF, R_max=R_MAX, v_err=V_ERR)
    return StarCatalog.from_table(table)


def run_nuts(name, cache):
    from dynamicall.infer import derived_quantities, fit

    halo, anisotropy, truth, n, seed = MOCKS[name]
    cat = catalog(name)
    t0 = time.perf_counter()
    result = fit(cat, tracer="plummer", halo=halo, anisotropy=anisotropy, progress=False, seed=seed, **NUTS)
    wall = time.perf_counter() - t0
    derived = derived_quantities(result.model, result.samples)
    arrays = {f"site:{k}": np.asarray(v) for k, v in result.samples.items()}
    arrays.update({f"derived:{k}": np.asarray(v) for k, v in derived.items()})
    from dynamicall._durable import save_npz

    meta = dict(name=name, wall_s=wall, divergences=result.divergences, settings=NUTS,
                parameterization=result.model.spec.parameterization, sites=list(result.model.spec.sites),
                date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), machine=platform.node())
    save_npz(cache / f"{name}.npz", {"meta": np.asarray(json.dumps(meta)), **arrays})
    print(f"{name}: NUTS {wall:.0f} s, {result.divergences} divergences", flush=True)


def _split_rhat(x):
    """Split-chain R-hat of draws (chains, draws)."""
    c, n = x.shape
    h = n // 2
    s = np.concatenate([x[:, :h], x[:, h:2 * h]])
    w = s.var(axis=1, ddof=1).mean()
    b = h * s.mean(axis=1).var(ddof=1)
    return float(np.sqrt(((h - 1) / h * w + b / h) / w))


def forecast_rows(name, cache, priors=True, realisations=0):
    """Rows (quantity, NUTS sd, forecasts for a planned design with flat priors as their
    variance and as their entropy, the default forecast for the catalogue's own stars, the
    noise-free posterior, with ``realisations`` the mean posterior of that many simulated
    surveys, R-hat)."""
    from dynamicall.infer import ModelSpec
    from dynamicall.infer.fisher import fisher_matrix, forecast, truth_in_parameterization
    from dynamicall.infer.posterior_forecast import posterior_forecast
    from dynamicall.infer.survey import SurveyDesign

    halo, anisotropy, truth, n, seed = MOCKS[name]
    data = np.load(cache / f"{name}.npz")
    meta = json.loads(str(data["meta"]))
    # the forecast in the parameterisation (and so the priors) of the NUTS fit: fit's default
    spec = ModelSpec("plummer", halo, anisotropy, R_half=R_HALF,
                     parameterization=meta.get("parameterization", "native"))
    point = truth_in_parameterization(spec, truth)
    point = {k: point[k] for k in spec.sites} | {"v_sys": truth["v_sys"]}
    tracer = spec.build(point)[0]
    errors = V_ERR[0] + (V_ERR[1] - V_ERR[0]) * (np.arange(8) + 0.5) / 8
    planned = SurveyDesign.from_tracer(tracer, n, errors, R_max=R_MAX * R_HALF)
    own = SurveyDesign.from_catalog(catalog(name))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        F_plan, F_own = fisher_matrix(spec, point, planned), fisher_matrix(spec, point, own)
        outs = [forecast(spec, point, planned, [n], priors=priors, flat_prior="variance", fisher=F_plan),
                forecast(spec, point, planned, [n], priors=priors, flat_prior="entropy", fisher=F_plan),
                forecast(spec, point, own, [own.n_stars], priors=priors, fisher=F_own)]
        if priors:
            outs.append(posterior_forecast(spec, point, planned, [n], seed=seed))
        if priors and realisations:
            outs.append(posterior_forecast(spec, point, planned, [n], seed=seed, realisations=realisations))
    rows = []
    for q in COMPARED + spec.sites:
        key = f"derived:{q}" if q in COMPARED else f"site:{q}"
        draws = np.asarray(data[key])
        x = np.log(draws) if q in COMPARED else draws
        rel = q in COMPARED
        widths = [float(o["sigma"][q][0]) / (abs(o["values"][q]) if rel else 1.0) for o in outs]
        rows.append((q, float(x.std()), widths, _split_rhat(x)))
    return meta, rows, sorted({str(w.message)[:100] for w in caught})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-nuts", action="store_true", help="run the NUTS fits (slow) before the table")
    parser.add_argument("--only", nargs="+", default=None, choices=sorted(MOCKS), help="these mocks only")
    parser.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "dynamicall_forecast_vs_nuts"),
                        help="folder of the NUTS draws (default: TMPDIR/dynamicall_forecast_vs_nuts)")
    parser.add_argument("--warmup", type=int, default=NUTS["warmup"], help="NUTS warm-up per chain")
    parser.add_argument("--samples", type=int, default=NUTS["samples"], help="NUTS draws per chain")
    parser.add_argument("--chains", type=int, default=NUTS["chains"], help="NUTS chains")
    parser.add_argument("--no-priors", action="store_true", help="compare the bare Cramer-Rao bound instead")
    parser.add_argument("--realisations", type=int, default=0, metavar="K",
                        help="add a column: the mean posterior width of K simulated surveys")
    args = parser.parse_args(argv)
    import jax

    jax.config.update("jax_enable_x64", True)
    cache = pathlib.Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    names = args.only or list(MOCKS)
    NUTS.update(warmup=args.warmup, samples=args.samples, chains=args.chains)
    if args.run_nuts:
        for name in names:
            run_nuts(name, cache)
    print(f"# forecast ({'bare CRLB' if args.no_priors else 'Fisher + prior information'}) "
          f"vs NUTS posterior sd; M and rho: sd of ln Q\n# {time.strftime('%Y-%m-%d', time.gmtime())}, "
          f"{platform.node()}, {os.cpu_count()} CPUs")
    print("# columns: Fisher forecast of the planned design with flat priors as their variance / as "
          "their entropy; the same for the catalogue's own stars; the noise-free posterior of the planned "
          "design (the default forecast)" + (f"; the mean posterior of {args.realisations} simulated surveys"
                                             if args.realisations else "") + "; ratio = forecast / NUTS")
    simulated = f"{'simulated':>9s} {'ratio':>6s} " if args.realisations else ""
    print(f"{'mock':16s} {'quantity':24s} {'NUTS sd':>9s} {'variance':>9s} {'ratio':>6s} {'entropy':>9s} "
          f"{'ratio':>6s} {'catalogue':>9s} {'ratio':>6s} {'posterior':>9s} {'ratio':>6s} {simulated}{'R-hat':>6s}")
    for name in names:
        if not (cache / f"{name}.npz").exists():
            print(f"{name:16s} (no NUTS draws: run with --run-nuts)")
            continue
        meta, rows, caught = forecast_rows(name, cache, priors=not args.no_priors, realisations=args.realisations)
        for q, sd, widths, rhat in rows:
            cells = " ".join(f"{w:9.4g} {w / sd:6.2f}" for w in widths)
            print(f"{name:16s} {q:24s} {sd:9.4g} {cells} {rhat:6.3f}", flush=True)
        print(f"{name:16s} NUTS {meta['settings']}, {meta['divergences']} divergences, {meta['wall_s']:.0f} s "
              f"({meta['date']}, shared 2-core machine)" + (f"; warnings: {caught}" if caught else ""))


if __name__ == "__main__":
    main()
