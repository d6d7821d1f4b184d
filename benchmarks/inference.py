"""NUTS, old configuration beside the new default, exact engine and emulator, one process.

Fits a mock dwarf (Plummer stars in a Zhao halo with Baes-van Hese anisotropy: by default
the shipped data/mock_dwarf.ecsv, or a fresh mock of ``--n-stars`` made with
data/make_mock_dwarf.py) with

* **old**: the halo normalisation sampled as log10 rho_s (``parameterization="native"``),
  numpyro's uniform initialisation with a unit initial mass matrix, 2 chains x (500 + 500)
  (the defaults before issue 12);
* **new**: the defaults of ``dynamicall fit`` (log10 M(<1.8 R_half), chains started around
  the Laplace approximation of the posterior mode which also seeds the dense mass matrix,
  the default number of chains, warm-up and draws);

each with ``forward="exact"`` and with the emulator given by ``--emulator`` (a name or a
folder), the same priors for both forward models (the defaults truncated to the
emulator's domain). Prints, per run: wall time (compilation and optimisation included),
leapfrog steps, min ESS over every parameter and derived quantity, min ESS per second of
wall time, divergences, max r_hat and the convergence verdict; the new / old ratio of
ESS per wall second (floor 5) per forward model; the agreement of the two configurations
(every derived quantity's median within 0.1 posterior sigma); and the emulator / exact
swap of the new default.

``--chains-scan 2,4,8,16`` instead runs the new default with each chain count (warm-up
and draws per chain scaled so that the total number of kept draws stays 2000) and prints
wall time and ESS/s against chains.

With both forward models the script ends with the **swap floors** of each configuration
(issue 11, same seeds and settings, equal iterations): the emulator's min ESS >= 0.8x the
exact engine's, divergences no more than the exact engine's, and min ESS per wall second
>= 3x the exact engine's (also printed per second of sampling alone, compilation and the
Laplace optimisation excluded).

``--trivial-bound`` also fits with a forward model that computes nothing (sigma a power law
of R) and prints the time before its first draw and per leapfrog step beside the exact
engine's and the emulator's, and the largest ESS per wall second ratio any forward model
could reach against the exact engine here.

Run: ``python benchmarks/inference.py [--n-stars 2000] [--emulator zhao_bvh_plummer_v3]
[--only exact|emulator] [--configs old,new] [--json results.json]``. On a shared machine
timings vary by tens of percent between runs; read the ratios, measured side by side.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import pathlib
import time
import warnings

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
OLD = dict(parameterization="native", init="uniform", chains=2, warmup=500, samples=500)


def load_catalog(n_stars, seed):
    from dynamicall.data import StarCatalog

    if n_stars is None:
        return StarCatalog.read(ROOT / "data" / "mock_dwarf.ecsv")
    spec = importlib.util.spec_from_file_location("make_mock_dwarf", ROOT / "data" / "make_mock_dwarf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return StarCatalog.from_table(module.mock_catalog(n_stars=n_stars, seed=seed))


def shared_priors(catalog, emulator, parameterization):
    """The default priors truncated to the emulator's domain, site -> distribution: both
    forward models sample these, so their posteriors are comparable."""
    from dynamicall.infer import ModelSpec

    spec = ModelSpec("plummer", "zhao", "baes-van-hese", R_half=catalog.R_half, forward=emulator,
                     parameterization=parameterization)
    return {p.site: p.prior for p in spec.free}


def run(catalog, forward, priors, settings, seed, quiet):
    from dynamicall.infer import fit

    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        result = fit(catalog, tracer="plummer", halo="zhao", anisotropy="baes-van-hese", forward=forward,
                     priors=priors, seed=seed, progress=not quiet, **settings)
        summary = result.summary()
    summary["run"]["total_s"] = time.perf_counter() - t0
    summary["run"]["warnings"] = [str(w.message) for w in caught]
    return result, summary


def row(label, s):
    r = s["run"]
    c = r["convergence"]
    st = r["settings"]
    return (f"{label:24s} {st['chains']:6d} {st['warmup']:5d}+{st['samples']:<5d} {r['total_s']:8.1f} "
            f"{r['compile_time_s']:8.1f} {r['optimize_time_s']:6.1f} {r['sampling_time_s']:8.1f} "
            f"{r['mean_leapfrog_steps']:8.1f} {r['min_ess']:8.0f} {r['min_ess'] / r['total_s']:8.2f} "
            f"{r['divergences']:4d} {c['checks']['r_hat']['value']:6.3f} {'yes' if c['converged'] else 'NO':>4s}")


HEAD = (f"{'run':24s} {'chains':>6s} {'warm+draws':>11s} {'wall s':>8s} {'compile':>8s} {'opt s':>6s} "
        f"{'sample s':>8s} {'leapfrog':>8s} {'min ESS':>8s} {'ESS/s':>8s} {'div':>4s} {'r_hat':>6s} {'conv':>4s}")
NOTE = ("(wall s: the whole fit, compilation, optimisation and derived quantities included; ESS/s: min ESS over "
        "every parameter and derived quantity per second of wall time; leapfrog: mean steps per kept iteration)")


def compare(a, b):
    """Median of every derived quantity (and the halo normalisation) of run b minus run a,
    in units of a's posterior standard deviation."""
    out = {}
    for group in ("derived", "parameterizations"):
        for name, sa in a[group].items():
            sb = b[group].get(name)
            if sb is not None:
                out[name] = (sb["q50"] - sa["q50"]) / sa["std"]
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-stars", type=int, default=None, help="make a fresh mock with this many stars")
    parser.add_argument("--mock-seed", type=int, default=20261123)
    parser.add_argument("--emulator", default="zhao_bvh_plummer_v3", help="emulator name or folder")
    parser.add_argument("--only", choices=["exact", "emulator"], default=None, help="one forward model")
    parser.add_argument("--configs", default="old,new", help="comma-separated subset of old,new")
    parser.add_argument("--chains-scan", default=None, help="e.g. 2,4,8,16: new default at each chain count")
    parser.add_argument("--total-draws", type=int, default=2000, help="kept draws in all chains (--chains-scan)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--gradient-cost", action="store_true",
                        help="also time value+gradient of the log density per chain, exact and emulator "
                             "side by side, at the fit's number of vectorised chains (--configs none: only this)")
    parser.add_argument("--trivial-bound", action="store_true",
                        help="also fit with a forward model that computes nothing (the new configuration) and "
                             "print the ESS per wall second ratio no emulator can exceed in this harness")
    parser.add_argument("--posterior-accuracy", action="store_true",
                        help="also compare the emulator's log-likelihood and its gradient with the exact engine's "
                             "at 100 points spread like the posterior (Fisher draws around the truth)")
    args = parser.parse_args()
    if args.trivial_bound and ("new" not in args.configs.split(",") or args.only == "emulator"):
        parser.error("--trivial-bound compares with the exact engine's new configuration: "
                     "keep 'new' in --configs and do not pass --only emulator")

    import jax

    jax.config.update("jax_enable_x64", True)
    import os

    catalog = load_catalog(args.n_stars, args.mock_seed)
    import datetime
    import platform

    print(f"# {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
          f"{'shipped mock' if args.n_stars is None else f'fresh mock of dynamicall.infer.mocks.dwarf_mock (seed {args.mock_seed})'}")
    truth = {k: v for k, v in catalog.truth.items() if isinstance(v, (int, float))}
    print("# truth: " + ", ".join(f"{k} {v:.4g}" for k, v in truth.items()))
    print(f"# NUTS benchmark: {len(catalog)} stars, Plummer + Zhao + Baes-van Hese, seed {args.seed}, float64, "
          f"{jax.devices()[0].device_kind}, {os.cpu_count()} CPU(s), "
          f"load average {os.getloadavg()[0]:.1f} at start")
    forwards = {"exact": "exact", "emulator": args.emulator}
    if args.only:
        forwards = {args.only: forwards[args.only]}
    out = {"catalog_stars": len(catalog), "runs": {}}

    if args.chains_scan:
        print("\n## new default versus the number of chains")
        print(HEAD)
        for label, forward in forwards.items():
            priors = shared_priors(catalog, args.emulator, "enclosed_mass")
            for chains in (int(c) for c in args.chains_scan.split(",")):
                samples = max(50, args.total_draws // chains)
                _, s = run(catalog, forward, priors, dict(chains=chains, samples=samples), args.seed, args.quiet)
                print(row(f"{label} {chains} chains", s), flush=True)
                out["runs"][f"{label}/{chains}"] = s["run"]
        print(NOTE)
        _write(args.json, out)
        return

    from dynamicall.infer.run import DEFAULT_CHAINS, DEFAULT_SAMPLES, DEFAULT_WARMUP

    configs = {"old": OLD, "new": dict(parameterization="enclosed_mass", init="laplace", chains=DEFAULT_CHAINS,
                                       warmup=DEFAULT_WARMUP, samples=DEFAULT_SAMPLES)}
    configs = {k: configs[k] for k in args.configs.split(",") if k != "none"}
    if args.gradient_cost:
        out["gradient_cost_us"] = gradient_cost(catalog, forwards, DEFAULT_CHAINS)
    if args.posterior_accuracy:
        out["posterior_accuracy"] = posterior_accuracy(catalog, args.emulator)
    summaries = {}
    priors = {name: shared_priors(catalog, args.emulator, settings["parameterization"])
              for name, settings in configs.items()}
    print("\n## runs")
    print(HEAD)
    for label, forward in forwards.items():
        for name, settings in configs.items():
            result, s = run(catalog, forward, priors[name], settings, args.seed, args.quiet)
            summaries[(label, name)] = s
            print(row(f"{label} {name}", s), flush=True)
            for w in s["run"]["warnings"]:
                print(f"    warning: {w}")
            s["run"]["divergent_points"] = divergent_points(result, catalog, priors[name])
            out["runs"][f"{label}/{name}"] = s["run"]
    if args.trivial_bound:
        from emulator_pareto import TrivialForward

        _, s = run(catalog, TrivialForward(), priors["new"], configs["new"], args.seed, args.quiet)
        summaries[("trivial", "new")] = s
        print(row("trivial new", s), flush=True)
        out["runs"]["trivial/new"] = s["run"]
    print(NOTE)
    if ("trivial", "new") in summaries:
        out["trivial_bound"] = trivial_bound({label: summaries[(label, "new")]["run"] for label in forwards}
                                             | {"trivial": summaries[("trivial", "new")]["run"]})

    if set(configs) == {"old", "new"}:
        print("\n## new / old (floor: ESS per wall second >= 5x; medians within 0.1 sigma)")
        for label in forwards:
            old, new = summaries[(label, "old")], summaries[(label, "new")]
            ratio = (new["run"]["min_ess"] / new["run"]["total_s"]) / (old["run"]["min_ess"] / old["run"]["total_s"])
            shifts = compare(old, new)
            worst = max(shifts, key=lambda k: abs(shifts[k]))
            print(f"{label:9s} ESS/s ratio {ratio:6.1f} ({'PASS' if ratio >= 5 else 'FAIL'}); wall-time ratio "
                  f"{old['run']['total_s'] / new['run']['total_s']:.1f}; largest median shift {shifts[worst]:+.3f} "
                  f"sigma ({worst}; {'PASS' if abs(shifts[worst]) <= 0.1 else 'FAIL'})")
            for k, d in shifts.items():
                print(f"    {k:26s} {d:+.3f}")
            out[f"{label}_ratio"] = ratio
            out[f"{label}_shifts"] = shifts
    if len(forwards) == 2:
        for name in configs:
            ex, em = summaries[("exact", name)], summaries[("emulator", name)]
            shifts = compare(ex, em)
            worst = max(shifts, key=lambda k: abs(shifts[k]))
            print(f"\nswap ({name}): emulator - exact median, largest {shifts[worst]:+.3f} sigma ({worst})")
            out[f"swap_{name}"] = shifts
            out[f"swap_floors_{name}"] = swap_floors(name, ex["run"], em["run"])

    if summaries:
        print("\n## recovery: truth of M(<1.8 R_half) against the 5-95 % interval")
    truth = catalog.truth.get("M_1.8_R_half")
    for (label, name), s in summaries.items():
        if label == "trivial":
            continue
        d = s["derived"]["M_1.8_R_half"]
        if truth is not None:
            inside = d["q5"] < truth < d["q95"]
            print(f"{label} {name}: median {d['q50']:.4g} (truth {truth:.4g}), 5-95 % [{d['q5']:.4g}, "
                  f"{d['q95']:.4g}]{'' if inside else '  <- truth outside 5-95 %'}")
    print(f"\n# load average {os.getloadavg()[0]:.1f} at the end")
    _write(args.json, out)


def divergent_points(result, catalog, priors):
    """Print, for every divergent transition of a fit, where its draw lies: the parameter
    closest to its prior bound (the emulator's domain edge when priors are truncated to it),
    as a fraction of the prior range, and there the emulator's and the exact engine's
    ln L and gradient, relative to the posterior median (for an emulator fit)."""
    import jax
    import jax.numpy as jnp

    from dynamicall.infer import KinematicModel, ModelSpec
    from dynamicall.infer.priors import support_bounds

    div = np.asarray(result.stats["diverging"], bool)
    if not div.any():
        return []
    model = result.model
    sites = model.sites
    median = {k: jnp.asarray(np.median(np.asarray(result.samples[k]))) for k in sites}
    exact = None
    if model.forward.is_emulator:
        exact = KinematicModel(ModelSpec("plummer", "zhao", "baes-van-hese", R_half=catalog.R_half, priors=priors,
                                         parameterization=model.spec.parameterization), catalog)
    out = []
    for c, i in zip(*np.nonzero(div)):
        point = {k: float(np.asarray(result.samples[k])[c, i]) for k in sites}
        edges = {}
        for prior in model.spec.free:
            lo, hi = support_bounds(prior.prior)
            if np.isfinite(lo) and np.isfinite(hi):
                edges[prior.site] = min(point[prior.site] - lo, hi - point[prior.site]) / (hi - lo)
        closest = min(edges, key=edges.get)
        info = dict(chain=int(c), draw=int(i), point=point, closest_bound=closest, distance=edges[closest])
        text = (f"    divergence: chain {c} draw {i}; closest prior bound: {closest} at {edges[closest]:.3f} "
                f"of its range")
        if exact is not None:
            at = {k: jnp.asarray(v) for k, v in point.items()}
            (le, ge), (lx, gx), (le0, _), (lx0, _) = (jax.value_and_grad(m.log_likelihood)(x)
                                                      for m, x in ((model, at), (exact, at), (model, median),
                                                                   (exact, median)))
            ge_, gx_ = np.array([float(ge[k]) for k in sites]), np.array([float(gx[k]) for k in sites])
            info.update(delta_lnL=float((le - lx) - (le0 - lx0)),
                        gradient_rel=float(np.linalg.norm(ge_ - gx_) / np.linalg.norm(gx_)))
            text += (f"; emulator - exact ln L there minus at the median {info['delta_lnL']:+.3f} nat, gradient "
                     f"relative error {info['gradient_rel']:.1e}")
        print(text)
        print("      " + ", ".join(f"{k} {v:.4g}" for k, v in point.items()))
        out.append(info)
    return out


def posterior_accuracy(catalog, emulator, n=100):
    """Emulator against exact engine where the sampler goes: at ``n`` points drawn from the
    Fisher (Cramer-Rao) Gaussian around the truth and inside the emulator's domain, the
    spread of ln L_emulator - ln L_exact (a constant offset does not move a posterior; the
    spread, in nat, does) and the relative error of the gradient of ln L."""
    import jax
    import jax.numpy as jnp

    from dynamicall.infer import (KinematicModel, ModelSpec, SurveyDesign, crlb_error_samples, fisher_matrix,
                                  prior_standard_deviations)
    from dynamicall.infer.priors import support_bounds

    exact = KinematicModel(ModelSpec("plummer", "zhao", "baes-van-hese", R_half=catalog.R_half), catalog)
    emu = KinematicModel(ModelSpec("plummer", "zhao", "baes-van-hese", R_half=catalog.R_half, forward=emulator),
                         catalog)
    truth = {site: catalog.truth[site] for site in exact.sites}
    F = fisher_matrix(exact.spec, truth, SurveyDesign.from_catalog(catalog),
                      prior_widths=prior_standard_deviations(exact.spec))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        draws = crlb_error_samples(F, size=4 * n, seed=0)
    inside = np.ones(4 * n, bool)
    for p in emu.spec.free:
        lo, hi = support_bounds(p.prior)
        inside &= (draws[p.site] > lo) & (draws[p.site] < hi)
    idx = np.flatnonzero(inside)[:n]
    points = {k: jnp.asarray(v[idx]) for k, v in draws.items()}
    (l_emu, g_emu), (l_ex, g_ex) = (jax.vmap(jax.value_and_grad(m.log_likelihood))(points) for m in (emu, exact))
    sites = sorted(g_ex)
    G_emu = np.stack([np.asarray(g_emu[s]) for s in sites], 1)
    G_ex = np.stack([np.asarray(g_ex[s]) for s in sites], 1)
    rel = np.linalg.norm(G_emu - G_ex, axis=1) / np.linalg.norm(G_ex, axis=1)
    d = np.asarray(l_emu) - np.asarray(l_ex)
    res = dict(points=int(idx.size), spread_nat=float(np.std(d)), mean_offset_nat=float(np.mean(d)),
               gradient_rel_median=float(np.median(rel)), gradient_rel_p90=float(np.percentile(rel, 90)))
    print(f"\n## emulator vs exact at {idx.size} posterior-like points ({len(catalog)} stars)")
    print(f"ln L difference: spread {res['spread_nat']:.3f} nat (mean offset {res['mean_offset_nat']:+.3f}); "
          f"gradient of ln L: median relative error {res['gradient_rel_median']:.2e}, 90 % "
          f"{res['gradient_rel_p90']:.2e}")
    return res


def gradient_cost(catalog, forwards, chains):
    """Microseconds per chain of value + gradient of the log density (likelihood + domain
    penalty) at ``chains`` vmapped chains, every forward model timed round-robin in this
    process (benchmarks/emulator_pareto.py's harness)."""
    from emulator_pareto import interleaved_costs

    costs = interleaved_costs(forwards, catalog, chains=(chains,))
    us = {label: costs[label][chains] * 1e6 for label in forwards}
    print(f"\n## value + gradient of the log density, {len(catalog)} stars, {chains} vmapped chains, per chain")
    for label, t in us.items():
        print(f"{label:9s} {t:8.1f} us")
    if len(us) == 2:
        print(f"exact / emulator: {us['exact'] / us['emulator']:.2f}")
    return us


def per_step_us(run):
    """Microseconds of sampling per leapfrog step (all chains together): sampling time over
    (warm-up + draws) x mean leapfrog steps per kept iteration."""
    st = run["settings"]
    return run["sampling_time_s"] / ((st["warmup"] + st["samples"]) * run["mean_leapfrog_steps"]) * 1e6


def trivial_bound(runs):
    """Print and return what a forward model that computes nothing gives in this harness.

    Its posterior is not the mock's (sigma hardly depends on the parameters), so its ESS
    and trajectory lengths are not comparable; what carries over is the time before its
    first draw (tracing, compiling, the Laplace start: everything but the forward model)
    and its cost per leapfrog step. A free forward model with the exact engine's ESS and
    leapfrog steps would take ``before + per_step x steps`` seconds: the exact engine's
    wall time over that is the largest ESS per wall second ratio any emulator can reach
    at equal ESS (floor of issue 11: 3)."""
    exact, trivial = runs["exact"], runs["trivial"]
    st = exact["settings"]
    steps = (st["warmup"] + st["samples"]) * exact["mean_leapfrog_steps"]

    def before(run):
        return run["total_s"] - run["sampling_time_s"]

    free_wall = before(trivial) + per_step_us(trivial) * 1e-6 * steps
    bound = exact["total_s"] / free_wall
    print("\n## what a forward model that computes nothing gives (new configuration, same settings)")
    for label, run in runs.items():
        print(f"{label:9s} {before(run):6.1f} s before sampling (compile, Laplace start, summary), "
              f"{per_step_us(run):6.1f} us per leapfrog step of all chains")
    print(f"free forward model at the exact engine's ESS and {steps:.0f} leapfrog steps: {free_wall:.1f} s of wall; "
          f"ESS per wall second at most {bound:.2f}x the exact engine's (floor 3); with sampling free too, "
          f"{exact['total_s'] / before(trivial):.2f}x")
    return {"free_wall_s": free_wall, "ess_per_wall_s_ratio_bound": bound,
            "before_sampling_s": {label: before(run) for label, run in runs.items()},
            "per_step_us": {label: per_step_us(run) for label, run in runs.items()}}


def swap_floors(name, exact, emulator):
    """Print and return the emulator / exact floors of one configuration (issue 11)."""
    ess_ratio = emulator["min_ess"] / exact["min_ess"]
    per_wall = (emulator["min_ess"] / emulator["total_s"]) / (exact["min_ess"] / exact["total_s"])
    per_sampling = ((emulator["min_ess"] / emulator["sampling_time_s"])
                    / (exact["min_ess"] / exact["sampling_time_s"]))
    checks = {
        "min ESS emulator / exact >= 0.8": (ess_ratio, ess_ratio >= 0.8),
        "divergences emulator <= exact": (f"{emulator['divergences']} vs {exact['divergences']}",
                                          emulator["divergences"] <= exact["divergences"]),
        "ESS per wall second emulator / exact >= 3": (per_wall, per_wall >= 3),
    }
    print(f"## swap floors ({name}; same seed, settings and iterations)")
    for label, (value, ok) in checks.items():
        shown = f"{value:.2f}" if isinstance(value, float) else value
        print(f"    {label:44s} {shown:>10s}  {'PASS' if ok else 'FAIL'}")
    print(f"    (ESS per second of sampling alone, emulator / exact: {per_sampling:.2f}; wall-time ratio "
          f"exact / emulator {exact['total_s'] / emulator['total_s']:.2f})")
    return {"min_ess_ratio": ess_ratio, "ess_per_wall_s_ratio": per_wall, "ess_per_sampling_s_ratio": per_sampling,
            "divergences": [int(exact["divergences"]), int(emulator["divergences"])],
            "pass": all(ok for _, ok in checks.values())}


def _write(path, out):
    if path:
        with open(path, "w") as f:
            json.dump(out, f, indent=2, default=float)
        print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
