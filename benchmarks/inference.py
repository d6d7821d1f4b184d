"""NUTS with the exact engine vs an emulator on the same data and seed, side by side.

Fits a mock dwarf (Plummer stars in a Zhao halo with Baes-van Hese anisotropy: by default
the shipped data/mock_dwarf.ecsv, or a larger mock made with data/make_mock_dwarf.py) with
``forward="exact"`` and with the emulator, same priors (the emulator's truncated to its
domain, which contains the truth), same seed and settings, in one process. Prints:

* speed: compilation, sampling and wall time, leapfrog steps, min ESS, ESS per second of
  sampling, and the emulator / exact ratio of ESS per second (floor: 10);
* swap: for every parameter and derived quantity, the difference of the posterior means in
  units of the exact posterior's standard deviation (target |d| < 0.1) and the ratio of the
  standard deviations (target within 5 %);
* recovery: whether the truth of M(<1.8 R_half) (and of every parameter) lies inside each
  95 % interval.

Run: ``python benchmarks/inference.py [--n-stars N] [--warmup 500 --samples 500 --chains 2]
[--emulator zhao_bvh_plummer] [--json results.json]``. Timings on a shared machine vary by
tens of percent between runs; the ratio is what to read.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import pathlib
import time

import numpy as np
from timing import median_time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def load_catalog(n_stars, seed):
    from dynamicall.data import StarCatalog

    if n_stars is None:
        return StarCatalog.read(ROOT / "data" / "mock_dwarf.ecsv")
    spec = importlib.util.spec_from_file_location("make_mock_dwarf", ROOT / "data" / "make_mock_dwarf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return StarCatalog.from_table(module.mock_catalog(n_stars=n_stars, seed=seed))


def shared_priors(catalog, emulator):
    """The default priors truncated to the emulator's domain, site -> distribution: both
    forward models sample these, so their posteriors are comparable."""
    from dynamicall.infer import ModelSpec

    spec = ModelSpec("plummer", "zhao", "baes-van-hese", R_half=catalog.R_half, forward=emulator)
    return {p.site: p.prior for p in spec.free}


def run(catalog, forward, priors, args):
    from dynamicall.infer import fit

    t0 = time.perf_counter()
    result = fit(catalog, tracer="plummer", halo="zhao", anisotropy="baes-van-hese", forward=forward,
                 priors=priors, warmup=args.warmup, samples=args.samples, chains=args.chains,
                 seed=args.seed, progress=not args.quiet)
    summary = result.summary()
    summary["run"]["total_s"] = time.perf_counter() - t0
    summary["run"]["gradient_ms"] = 1e3 * gradient_time(result.model, args.chains)
    return result, summary


def gradient_time(model, chains, repeat=7, number=20):
    """Median seconds per call of the jitted, chain-vmapped log-density gradient (the
    forward model's share of a leapfrog step; NUTS adds its own bookkeeping)."""
    import jax
    import jax.numpy as jnp

    batch = {k: jnp.full((chains,), v) for k, v in model.reference().items()}
    fn = jax.jit(jax.vmap(jax.value_and_grad(lambda v: model.log_likelihood(v) + model.log_penalty(v))))
    return median_time(fn, batch, repeat=repeat, number=number)


def interval_contains(draws, value, level=95.0):
    lo, hi = np.percentile(draws, [50 - level / 2, 50 + level / 2])
    return bool(lo < value < hi)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-stars", type=int, default=None, help="make a mock with this many stars")
    parser.add_argument("--mock-seed", type=int, default=20261123)
    parser.add_argument("--emulator", default="zhao_bvh_plummer")
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=["exact", "emulator"], default=None, help="run one forward model")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args()

    import jax

    jax.config.update("jax_enable_x64", True)
    catalog = load_catalog(args.n_stars, args.mock_seed)
    truth = catalog.truth
    print(f"# NUTS benchmark: {len(catalog)} stars, Plummer + Zhao + Baes-van Hese, "
          f"{args.chains} chains x ({args.warmup} + {args.samples}), seed {args.seed}, float64, "
          f"{jax.devices()[0].device_kind} ({jax.device_count()} device(s))")

    forwards = {"exact": "exact", "emulator": args.emulator}
    if args.only:
        forwards = {args.only: forwards[args.only]}
    priors = shared_priors(catalog, args.emulator)
    results, summaries = {}, {}
    for label, forward in forwards.items():
        results[label], summaries[label] = run(catalog, forward, priors, args)

    print("\n## speed")
    head = (f"{'forward':18s} {'compile s':>10s} {'sampling s':>11s} {'total s':>8s} {'leapfrog':>9s} "
            f"{'grad ms':>8s} {'min ESS':>8s} {'ESS/s':>8s} {'div':>4s}")
    print(head)
    for label, s in summaries.items():
        r = s["run"]
        print(f"{r['forward'][:18]:18s} {r['compile_time_s']:10.1f} {r['sampling_time_s']:11.1f} {r['total_s']:8.1f} "
              f"{r['mean_leapfrog_steps']:9.0f} {r['gradient_ms']:8.3f} {r['min_ess']:8.0f} {r['ess_per_second']:8.2f} "
              f"{r['divergences']:4d}")
    print("(leapfrog: mean steps per iteration after warm-up; grad ms: one jitted log-density gradient for all "
          "chains, the forward model's share of a leapfrog step)")
    out = {"speed": {k: v["run"] for k, v in summaries.items()}}
    if len(summaries) == 2:
        ratio = summaries["emulator"]["run"]["ess_per_second"] / summaries["exact"]["run"]["ess_per_second"]
        wall = summaries["exact"]["run"]["total_s"] / summaries["emulator"]["run"]["total_s"]
        print(f"\nESS/s ratio emulator / exact: {ratio:.1f} (floor 10: {'PASS' if ratio >= 10 else 'FAIL'}); "
              f"total wall-time ratio exact / emulator: {wall:.1f}")
        out["ess_per_second_ratio"] = ratio

        grad = summaries["exact"]["run"]["gradient_ms"] / summaries["emulator"]["run"]["gradient_ms"]
        print(f"log-density gradient cost ratio exact / emulator: {grad:.2f}")

        print("\n## swap (emulator vs exact posterior)")
        print("(mc noise: the Monte Carlo standard error of 'd mean/std' from both runs' ESS, "
              "sqrt(1/ESS_exact + 1/ESS_emulator); a shift well inside it is sampling noise)")
        print(f"{'quantity':26s} {'exact mean':>12s} {'exact std':>11s} {'d mean/std':>11s} {'mc noise':>9s} "
              f"{'std ratio':>10s}")
        swap = {}
        for group in ("parameters", "derived"):
            for name, ex in summaries["exact"][group].items():
                em = summaries["emulator"][group][name]
                d = (em["mean"] - ex["mean"]) / ex["std"]
                noise = float(np.sqrt(1.0 / ex["ess"] + 1.0 / em["ess"]))
                ratio_w = em["std"] / ex["std"]
                swap[name] = dict(mean_shift_in_sigma=d, mc_noise_in_sigma=noise, width_ratio=ratio_w)
                flag = "" if abs(d) < 0.1 and abs(ratio_w - 1) < 0.05 else "  <- outside target"
                print(f"{name:26s} {ex['mean']:12.4g} {ex['std']:11.4g} {d:11.3f} {noise:9.3f} "
                      f"{ratio_w:10.3f}{flag}")
        out["swap"] = swap

    print("\n## recovery (truth inside the 95 % interval)")
    recovery = {}
    for label, result in results.items():
        checks = {site: interval_contains(result.samples[site], truth[site]) for site in result.model.sites
                  if site in truth}
        checks["M_1.8_R_half"] = interval_contains(result.derived()["M_1.8_R_half"], truth["M_1.8_R_half"])
        recovery[label] = checks
        missed = [k for k, ok in checks.items() if not ok]
        print(f"{label:9s} M(<1.8 R_half): {'inside' if checks['M_1.8_R_half'] else 'OUTSIDE'}; "
              f"parameters outside: {missed or 'none'}")
    out["recovery"] = recovery
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2, default=float)
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
