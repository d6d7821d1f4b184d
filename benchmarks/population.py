"""Population (hierarchical) fits: batching, fit wall time, emulator vs exact, recovery.

Parts (``--part``; all in one process unless split):

* ``speed``: value + gradient of the population log density (the NUTS potential, jitted,
  one chain) for 1, 5, 10, 20 galaxies of 400 stars, with the emulator
  (``zhao_bvh_plummer_v3``) and the exact engine, side by side; ratio 20 / 1 galaxies.
  Floor: <= 3x with the emulator.
* ``compile``: seconds to compile the NUTS initialiser (potential + gradient, the Laplace
  optimiser's function) and the NUTS chunk (4 chains, dense mass) for ``--galaxies``
  galaxies, emulator and exact engine (the per-galaxy parameters are vector sites: one
  numpyro site per parameter whatever the number of galaxies).
* ``fit10``: one 10-galaxy population (200-600 stars each) fitted with the emulator and
  with the exact engine: wall times (floor < 10 min each) and the hyperposterior medians'
  difference in units of the exact posterior's sigma (floor <= 0.1).
* ``oracle``: the 90 % intervals that perfect per-galaxy measurements of the recovery
  populations would give (their true per-galaxy values under the model's population
  distribution and hyperpriors), and how often they hold the truth: the draws' own luck.
* ``merge``: recovery JSONs of a run split over processes (``--first``) -> one table.
* ``recovery``: >= 10 mock populations of 8 galaxies (200-600 stars): for each
  hyperparameter, how many 90 % intervals hold the truth (floor >= 8 / 10) and the max
  r_hat (<= 1.01). Results are appended to ``--json`` after every population (a long run
  can be read while it goes; ``--resume`` skips populations already there).

Model of every part (stated): Plummer tracer of each catalogue's R_half, Zhao halo with
alpha = 1 and beta = 4 fixed, gamma, log10 M(<1.8 R_half) and log10 r_s pooled
(truncated normals: gamma and log10 r_s non-centred, log10 M centred, the model's default;
``--centred`` changes it), a constant anisotropy beta and v_sys per galaxy.
Hyper-truth (:data:`HYPER_TRUTH`): gamma 0.8 +- 0.2, log10 M(<1.8 R_half) 7.4 +- 0.3,
log10 r_s 0.0 +- 0.2; each galaxy's beta = 0.1; R_half log-uniform 0.2-1 kpc; errors
1-3 km/s.

Usage::

    python benchmarks/population.py --part speed
    python benchmarks/population.py --part fit10 --json /tmp/pop_fit10.json
    nohup nice -n 10 python benchmarks/population.py --part recovery --populations 10 \\
        --json /tmp/pop_recovery.json > /tmp/pop_recovery.log 2>&1 &
    python benchmarks/population.py --part oracle --populations 10
    python benchmarks/population.py --part merge --inputs a.json b.json --json recovery.json
"""

from __future__ import annotations

import argparse
import json
import os
import time

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

EMULATOR = "zhao_bvh_plummer_v3"
HYPER_TRUTH = {
    "halo.gamma": {"mean": 0.8, "scatter": 0.2},
    "halo.log10_m_ref": {"mean": 7.4, "scatter": 0.3},
    "halo.log10_r_s": {"mean": 0.0, "scatter": 0.2},
}
PRIORS = {"halo.alpha": 1.0, "halo.beta": 4.0}
#: Emulator vs exact (part fit10): one prior box for both. Left to their defaults the exact
#: engine's boxes are wider (gamma in [0, 2], not the emulator's [0, 1.5]; log10 r_s not cut
#: to the emulator's r_s / R_half domain), and a prior-dominated hyperparameter such as the
#: mean gamma then differs by the prior, not by the forward model (0.6 sigma, measured).
COMPARE_PRIORS = {**PRIORS, "halo.gamma": (0.0, 1.5), "halo.log10_r_s": (-0.6, 0.6)}
ANISOTROPY = "constant"


def population(n_galaxies, seed, n_stars=(200, 600)):
    from dynamicall.data import StarCatalog
    from dynamicall.infer.population_mocks import FIXED_TRUTH, mock_population

    pop = mock_population(HYPER_TRUTH, n_galaxies, seed, kind="classical", n_stars=n_stars,
                          anisotropy=ANISOTROPY, truth=FIXED_TRUTH)
    return [StarCatalog.from_table(t) for t in pop["catalogs"]], pop["truths"]


def model_for(catalogs, forward, priors=PRIORS, centred=None):
    from dynamicall.infer.population import PopulationModel

    return PopulationModel(catalogs, anisotropy=ANISOTROPY, forward=forward, priors=priors, centred=centred)


def potential_timer(model, repeats=200):
    """Median seconds of one jitted value+gradient of the potential (unconstrained)."""
    from dynamicall.infer.optimize import model_layout, unconstrained_potential

    _, potential, _ = unconstrained_potential(model)
    f = jax.jit(jax.value_and_grad(potential))
    x = np.zeros(model_layout(model, model.priors()).size)  # vector sites: n_galaxies columns each
    v, g = f(x)
    jax.block_until_ready(g)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        v, g = f(x)
        jax.block_until_ready(g)
        times.append(time.perf_counter() - t0)
    if not (np.isfinite(float(v)) and np.all(np.isfinite(np.asarray(g)))):
        raise RuntimeError("non-finite potential at the reference point")
    return float(np.median(times))


def part_speed(args):
    catalogs, _ = population(20, 11, n_stars=(400, 400))
    rows = []
    for forward in (EMULATOR, "exact"):
        for n in (1, 5, 10, 20):
            t = potential_timer(model_for(catalogs[:n], forward), repeats=args.repeats)
            rows.append(dict(forward=forward, galaxies=n, seconds=t))
            print(f"{forward:22s} {n:3d} galaxies: {t * 1e6:9.1f} us per value+gradient", flush=True)
    out = {"rows": rows}
    for forward in (EMULATOR, "exact"):
        t = {r["galaxies"]: r["seconds"] for r in rows if r["forward"] == forward}
        out[f"ratio_20_over_1_{forward}"] = t[20] / t[1]
    print("\n| forward | 1 | 5 | 10 | 20 galaxies | 20 / 1 |\n|---|---|---|---|---|---|")
    for forward in (EMULATOR, "exact"):
        t = {r["galaxies"]: r["seconds"] for r in rows if r["forward"] == forward}
        print(f"| {forward} | " + " | ".join(f"{t[n] * 1e6:.0f} us" for n in (1, 5, 10, 20))
              + f" | {t[20] / t[1]:.2f}x |")
    return out


def part_compile(args):
    from dynamicall.infer.run import _Sampler, _settings

    catalogs, _ = population(args.galaxies, 21)
    rows = []
    for forward in (EMULATOR, "exact"):
        model = model_for(catalogs, forward, COMPARE_PRIORS)
        sampler = _Sampler(model, _settings(args.warmup, args.samples, args.chains, 0, "vectorized", 0.8, 8,
                                            True, None))
        t0 = time.perf_counter()
        shapes = sampler.state_shapes()
        _, grad = sampler.evaluate(np.zeros((args.chains, sampler.layout.size)))
        jax.block_until_ready(grad)
        t1 = time.perf_counter()
        sampler.compiled(shapes)
        t2 = time.perf_counter()
        rows.append(dict(forward=forward, galaxies=args.galaxies, numpyro_sites=len(sampler.sites),
                         parameters=sampler.layout.size, init_compile_s=t1 - t0, chunk_compile_s=t2 - t1,
                         load_average=os.getloadavg()[0]))
        print(json.dumps(rows[-1]), flush=True)
    return {"rows": rows}


def fit(catalogs, forward, seed, warmup, samples, chains, priors=PRIORS, keep=None, centred=None,
        target_accept=0.8, max_tree_depth=8, save=None):
    from dynamicall.infer.run import sample

    model = model_for(catalogs, forward, priors, centred)
    t0 = time.perf_counter()
    result = sample(model, warmup=warmup, samples=samples, chains=chains, seed=seed, progress=False,
                    target_accept=target_accept, max_tree_depth=max_tree_depth)
    wall = time.perf_counter() - t0
    from dynamicall.infer.outputs import _stats

    stats = {k: _stats(result.samples[k]) for k in model.hyper_sites}
    r_hats = {k: float(_stats(v)["r_hat"]) for k, v in result.samples.items()}
    worst = sorted(r_hats, key=r_hats.get, reverse=True)[:4]
    steps = np.asarray(result.stats["num_steps"])
    if save is not None:  # the draws and sampler statistics, for a look at the chains
        from dynamicall._durable import save_npz

        os.makedirs(os.path.dirname(os.path.abspath(save)), exist_ok=True)
        save_npz(save, {**{k: np.asarray(v) for k, v in result.samples.items()},
                        **{f"stats:{k}": np.asarray(v) for k, v in result.stats.items()}})
    if keep is not None:
        keep[forward] = result
    # NUTS diagnostics: leapfrog steps per iteration, the fraction at the maximum tree
    # depth (2^depth - 1 steps), divergences per chain, the sites of largest r_hat
    return dict(wall_s=wall, timing={k: float(v) for k, v in result.timing.items()}, hyper=stats,
                max_r_hat=float(max(r_hats.values())), divergences=result.divergences,
                centred=list(model.centred), target_accept=target_accept, max_tree_depth=max_tree_depth,
                mean_leapfrog_steps=float(steps.mean()),
                fraction_at_max_depth=float(np.mean(steps >= 2 ** max_tree_depth - 1)),
                divergences_per_chain=[int(x) for x in np.asarray(result.stats["diverging"]).sum(axis=1)],
                step_size=[float(x) for x in np.asarray(result.stats["step_size"])[:, -1]],
                worst_r_hat={k: r_hats[k] for k in worst}, load_average=os.getloadavg()[0])


def part_fit10(args):
    catalogs, truths = population(10, 21)
    out = {"n_stars": [len(c) for c in catalogs]}
    results = {}
    forwards = {"both": (EMULATOR, "exact"), "emulator": (EMULATOR,), "exact": ("exact",)}[args.fit10_forward]
    for forward in forwards:
        out[forward] = fit(catalogs, forward, args.seed, args.warmup, args.samples, args.chains, COMPARE_PRIORS,
                           keep=results, centred=_centred(args), target_accept=args.target_accept,
                           max_tree_depth=args.max_tree_depth)
        r = out[forward]
        print(f"{forward}: wall {r['wall_s']:.0f} s (compile {r['timing']['compile_time_s']:.0f} s), "
              f"max r_hat {r['max_r_hat']:.4f}, divergences {r['divergences']}, leapfrog steps "
              f"{r['mean_leapfrog_steps']:.1f} per iteration ({100 * r['fraction_at_max_depth']:.0f} % at max depth); "
              f"load {r['load_average']:.1f}", flush=True)
    if len(forwards) < 2:  # one forward model: nothing to compare
        return out
    print("\n| hyperparameter | exact median (sigma) | emulator median | difference / sigma |\n|---|---|---|---|")
    diffs = {}
    for k, ex in out["exact"]["hyper"].items():
        em = out[EMULATOR]["hyper"][k]
        d = (em["q50"] - ex["q50"]) / ex["std"]
        diffs[k] = d
        print(f"| {k} | {ex['q50']:.3f} ({ex['std']:.3f}) | {em['q50']:.3f} | {d:+.3f} |")
    out["median_difference_in_sigma"] = diffs
    out["max_abs_difference_in_sigma"] = float(max(abs(v) for v in diffs.values()))
    # the emulator's draws reweighted to the exact engine's likelihood (no chain noise)
    from dynamicall.infer.population import reweighted_hyperposterior

    rw = reweighted_hyperposterior(results[EMULATOR], results["exact"].model)
    out["emulator_reweighted_to_exact"] = rw
    print(f"\nemulator draws reweighted to the exact likelihood: weights' ESS {rw['ess_weights']:.0f} of "
          f"{rw['n_draws']}; ln L_exact - ln L_emulator: std {rw['delta_loglik_std']:.3f} over the draws")
    print("| hyperparameter | emulator median | reweighted (exact) median | shift / sigma | exact run median |\n"
          "|---|---|---|---|---|")
    for k, h in rw["hyper"].items():
        print(f"| {k} | {h['q50_unweighted']:.3f} | {h['q50']:.3f} | {(h['q50'] - h['q50_unweighted']) / h['std']:+.3f} "
              f"| {out['exact']['hyper'][k]['q50']:.3f} |")
    return out


def part_recovery(args):
    done = {}
    if args.resume and args.json and os.path.exists(args.json):
        with open(args.json) as f:
            done = {int(k): v for k, v in json.load(f).get("populations", {}).items()}
    results = dict(done)
    for i in range(args.first, args.first + args.populations):
        if i in results:
            continue
        seed = 1000 + i
        catalogs, truths = population(8, seed)
        t0 = time.perf_counter()
        r = fit(catalogs, args.forward, seed, args.warmup, args.samples, args.chains, centred=_centred(args),
                target_accept=args.target_accept, max_tree_depth=args.max_tree_depth,
                save=os.path.join(args.save_samples, f"population_{i}.npz") if args.save_samples else None)
        truth = {f"pop:{s}.{k}": v for s, e in truths["hyper_truth"].items() for k, v in e.items()}
        r["inside_90"] = {k: bool(st["q5"] <= truth[k] <= st["q95"]) for k, st in r["hyper"].items()}
        r["truth"] = truth
        r["seed"] = seed
        r["n_stars"] = [len(c) for c in catalogs]
        results[i] = r
        print(f"population {i} (seed {seed}): {time.perf_counter() - t0:.0f} s, max r_hat {r['max_r_hat']:.4f}, "
              f"divergences {r['divergences']}, inside 90 %: {sum(r['inside_90'].values())}/{len(r['inside_90'])}; "
              f"leapfrog steps {r['mean_leapfrog_steps']:.0f} per iteration ({100 * r['fraction_at_max_depth']:.0f} % "
              f"at max depth); worst r_hat {r['worst_r_hat']}; load {r['load_average']:.1f}", flush=True)
        if args.json:
            _write(args.json, dict(populations=results, summary=_recovery_summary(results), args=vars(args)))
    summary = _recovery_summary(results)
    print("\n| hyperparameter | truth | truth inside 90 % interval |\n|---|---|---|")
    for k, v in summary["inside_90"].items():
        print(f"| {k} | {summary['truth'][k]} | {v} / {summary['n_populations']} |")
    print(f"max r_hat {summary['max_r_hat']:.4f}; divergences {summary['divergences']}")
    return dict(populations=results, summary=summary)


def oracle_intervals(model, truths, n_mean=1500, n_scatter=800):
    """The hyperposterior that perfect per-galaxy measurements would give: each pooled
    site's true per-galaxy values (the mock's draws) under the model's population
    distribution (truncated normals, each galaxy's bounds) and hyperpriors, on a grid in
    (mean, scatter). Its 90 % intervals are the best any calibrated fit of these mocks can
    do: when the truth misses them, the draws of the population, not the inference, miss.

    Returns site -> {"q5", "q50", "q95"} for every ``pop:<site>.mean`` and ``.scatter``.
    """
    import jax.numpy as jnp

    from dynamicall.infer.population import HYPER, truncated_normal_log_prob

    out = {}
    for site in model.pool:
        theta = np.array([truths["galaxies"][lab][site] for lab in model.labels])
        b = model.bounds[site]
        mean_prior = model.hyperpriors[f"{HYPER}:{site}.mean"]
        scale = float(model.hyperpriors[f"{HYPER}:{site}.scatter"].scale)
        mu = np.linspace(float(mean_prior.low), float(mean_prior.high), n_mean)
        tau = np.linspace(1e-3, 5 * scale, n_scatter)
        lp = jnp.sum(truncated_normal_log_prob(theta[None, None, :], mu[:, None, None], tau[None, :, None],
                                               b[None, None, :, 0], b[None, None, :, 1]), axis=-1)
        lp = np.asarray(lp) - 0.5 * (tau[None, :] / scale) ** 2
        p = np.exp(lp - lp.max())
        for name, axis, grid in (("mean", 1, mu), ("scatter", 0, tau)):
            cdf = np.cumsum(p.sum(axis=axis))
            q5, q50, q95 = np.interp([0.05, 0.5, 0.95], cdf / cdf[-1], grid)
            out[f"{HYPER}:{site}.{name}"] = dict(q5=float(q5), q50=float(q50), q95=float(q95))
    return out


def part_oracle(args):
    """Oracle intervals (:func:`oracle_intervals`) of the recovery populations, and how
    often they hold the truth."""
    rows = {}
    for i in range(args.first, args.first + args.populations):
        seed = 1000 + i
        catalogs, truths = population(8, seed)
        model = model_for(catalogs, args.forward)
        truth = {f"pop:{s}.{k}": v for s, e in truths["hyper_truth"].items() for k, v in e.items()}
        q = oracle_intervals(model, truths)
        inside = {k: bool(v["q5"] <= truth[k] <= v["q95"]) for k, v in q.items()}
        rows[i] = dict(seed=seed, intervals=q, inside_90=inside)
        m = q["pop:halo.log10_m_ref.mean"]
        print(f"population {i} (seed {seed}): oracle log10 M mean {m['q5']:.3f} to {m['q95']:.3f}; inside: "
              f"{sum(rows[i]['inside_90'].values())}/{len(q)}", flush=True)
    keys = sorted(next(iter(rows.values()))["inside_90"])
    summary = {k: int(sum(r["inside_90"][k] for r in rows.values())) for k in keys}
    print("\n| hyperparameter | oracle interval holds the truth |\n|---|---|")
    for k, v in summary.items():
        print(f"| {k} | {v} / {len(rows)} |")
    return dict(populations=rows, inside_90=summary)


def part_merge(args):
    """Merge recovery JSONs (``--inputs``; e.g. a run split over processes with --first)
    into ``--json`` and print the recovery table."""
    results = {}
    for path in args.inputs:
        with open(path) as f:
            for k, v in json.load(f)["populations"].items():
                if int(k) in results:
                    raise SystemExit(f"population {k} is in two inputs")
                results[int(k)] = v
    summary = _recovery_summary(results)
    print("| hyperparameter | truth | truth inside 90 % interval |\n|---|---|---|")
    for k, v in summary["inside_90"].items():
        print(f"| {k} | {summary['truth'][k]} | {v} / {summary['n_populations']} |")
    print(f"max r_hat {summary['max_r_hat']:.4f}; divergences {summary['divergences']}")
    return dict(populations={k: results[k] for k in sorted(results)}, summary=summary, inputs=list(args.inputs))


def _recovery_summary(results):
    keys = sorted(next(iter(results.values()))["inside_90"])
    return dict(n_populations=len(results),
                inside_90={k: int(sum(r["inside_90"][k] for r in results.values())) for k in keys},
                truth=next(iter(results.values()))["truth"],
                max_r_hat=float(max(r["max_r_hat"] for r in results.values())),
                divergences=int(sum(r["divergences"] for r in results.values())),
                wall_s=[r["wall_s"] for r in results.values()])


def _centred(args):
    """--centred: None (the model's default), or the listed pooled sites ('' for none)."""
    if args.centred is None:
        return None
    return tuple(s.strip() for s in args.centred.split(",") if s.strip())


def _write(path, obj):
    from dynamicall._durable import write_text

    write_text(path, json.dumps(obj, indent=1, default=float) + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--part", choices=["speed", "compile", "fit10", "recovery", "oracle", "merge", "all"],
                   default="all")
    p.add_argument("--inputs", nargs="*", default=[], help="recovery JSONs of part merge")
    p.add_argument("--galaxies", type=int, default=8, help="galaxies of part compile")
    p.add_argument("--fit10-forward", choices=["both", "emulator", "exact"], default="both",
                   help="part fit10: fit with both forward models and compare (default), or time one")
    p.add_argument("--repeats", type=int, default=200)
    p.add_argument("--populations", type=int, default=10)
    p.add_argument("--first", type=int, default=0, help="index of the first population (split a run over processes)")
    p.add_argument("--forward", default=EMULATOR, help="forward model of the recovery fits")
    p.add_argument("--warmup", type=int, default=400)
    p.add_argument("--samples", type=int, default=600)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--seed", type=int, default=0, help="NUTS seed of part fit10")
    p.add_argument("--centred", default=None,
                   help="pooled sites sampled centred, comma-separated ('' for none; default: the model's)")
    p.add_argument("--target-accept", type=float, default=0.8)
    p.add_argument("--max-tree-depth", type=int, default=8)
    p.add_argument("--save-samples", default=None, metavar="DIR",
                   help="part recovery: write each population's draws to DIR/population_<i>.npz")
    p.add_argument("--json", default=None)
    p.add_argument("--resume", action="store_true")
    args = p.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs; jax {jax.__version__}", flush=True)
    out = {}
    for part, fn in (("speed", part_speed), ("compile", part_compile), ("fit10", part_fit10),
                     ("recovery", part_recovery), ("oracle", part_oracle), ("merge", part_merge)):
        if args.part == part or (args.part == "all" and part not in ("compile", "oracle", "merge")):
            out[part] = fn(args)
    out["load_average_end"] = os.getloadavg()
    if args.json and args.part == "merge":
        _write(args.json, out["merge"])
    elif args.json and args.part != "recovery":
        _write(args.json, out)


if __name__ == "__main__":
    main()
