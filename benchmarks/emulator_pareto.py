"""Pareto study of emulator designs: accuracy (values and gradients) against the cost of
value+gradient of the shipped mock's log-likelihood, next to the exact engine and a
trivial forward model, all in one process.

Two phases (both resumable: finished candidates are kept in --workdir):

* ``--train``: trains each candidate of :data:`CANDIDATES` for ``--minutes`` (short, on
  one shared training set: on a small CPU the ranking, not the last digit, is the point)
  with :func:`dynamicall.train.training.train_network`.
* ``--measure``: for each trained candidate (plus extra emulator folders given with
  ``--emulator``): median per-point and p99 per-profile max error on a fresh test set,
  median relative error of d ln sigma / d inputs on a fresh Jacobian set, and the cost
  per chain of value+gradient of the log-likelihood of data/mock_dwarf.ecsv (400 stars,
  10 parameters) at 1 and 64 vmapped chains, with ``JeansConfig.fast`` and a trivial
  forward model (sigma a power law of R) timed in the same run.

Data: ``dynamicall generate training/zhao_bvh_plummer_v2.toml`` with ``--split train``
(train.h5), ``--split validation`` (validation.h5), ``--split test`` (test.h5) and
``--split test --jacobian --n 2048`` (test_jac.h5) in --data.

Run::

    python benchmarks/emulator_pareto.py --data out/v2 --workdir out/pareto --train --minutes 3
    python benchmarks/emulator_pareto.py --data out/v2 --workdir out/pareto --measure \
        --emulator emulators/zhao_bvh_plummer --emulator emulators/zhao_bvh_plummer_v2
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

import jax
import jax.numpy as jnp
import numpy as np
from timing import median_time

from dynamicall.infer.forward import ExactForward

ROOT = pathlib.Path(__file__).resolve().parents[1]
RECIPE = ROOT / "training" / "zhao_bvh_plummer_v2.toml"

#: name -> (width, depth, baseline, principal components (0: grid head), Jacobian loss weight)
CANDIDATES = {
    "w32d2_closed": (32, 2, "closed_form", 0, 0.0),
    "w64d2_closed": (64, 2, "closed_form", 0, 0.0),
    "w64d3_closed": (64, 3, "closed_form", 0, 0.0),
    "w128d3_closed": (128, 3, "closed_form", 0, 0.0),
    "w128d3_quad": (128, 3, "quadrature", 0, 0.0),
    "w128d3_none": (128, 3, "none", 0, 0.0),
    "w128d3_closed_pca12": (128, 3, "closed_form", 12, 0.0),
    "w128d3_quad_grad": (128, 3, "quadrature", 0, 0.1),
    "w64d3_quad": (64, 3, "quadrature", 0, 0.0),
}


def train(args):
    from dynamicall.train.dataset import read_dataset
    from dynamicall.train.recipe import load_recipe
    from dynamicall.train.training import TrainSettings, problem_from_recipe, train_network

    recipe = load_recipe(RECIPE)
    data = pathlib.Path(args.data)
    tr, va = read_dataset(data / "train.h5"), read_dataset(data / "validation.h5")
    jac = read_dataset(data / "train_jac.h5") if (data / "train_jac.h5").is_file() else None
    problem = problem_from_recipe(recipe)
    for name, (width, depth, baseline, k, grad) in CANDIDATES.items():
        if args.only and name not in args.only:
            continue
        out = pathlib.Path(args.workdir) / name
        if (out / "card.json").is_file():
            print(f"{name}: trained already")
            continue
        if grad and jac is None:
            print(f"{name}: skipped (no train_jac.h5)")
            continue
        settings = TrainSettings(batch_size=512, learning_rate=2e-3, max_epochs=1000, patience=12,
                                 plateau_patience=3, max_minutes=args.minutes, seed=0)
        emu = train_network(problem, (tr.inputs, tr.outputs), (va.inputs, va.outputs),
                  dict(family="mlp", width=width, depth=depth, activation="silu"), out, settings=settings,
                  progress=False, log=lambda *a: None, baseline=baseline, n_components=k,
                  jacobian_data=None if not grad else (jac.inputs, jac.jacobian), grad_weight=grad)
        best = emu.card["training"]["best_validation"]
        print(f"{name}: {emu.card['training']['epochs']} epochs, val median {best['val_median_rel_err']:.2e} "
              f"p99 {best['val_p99_max_rel_err']:.2e}", flush=True)


class TrivialForward(ExactForward):
    """The floor no forward model can beat: sigma a power law of R whose amplitude
    depends (smoothly, cheaply) on every model parameter, so gradients flow to all.
    An :class:`ExactForward` in every other respect, so that ``fit`` and ``ModelSpec``
    take it as ``forward``."""

    name = "trivial"
    quantities = ("los",)

    def dispersions(self, R, tracer, mass, anisotropy, quantities=("los",)):
        leaves = [jnp.asarray(v, float) for v in jax.tree_util.tree_leaves((mass, anisotropy))]
        amp = 10.0 * jnp.exp(1e-3 * sum(jnp.sum(jnp.tanh(v)) for v in leaves))
        return {"los": amp * (jnp.asarray(R) / 0.25) ** 0.05}

    def describe(self):
        return {"name": "trivial"}


def _value_and_grad_functions(forward, catalog, chains=(1, 64)):
    """{chains: (jitted vmapped value+gradient of the log density, its argument)}."""
    from dynamicall.infer.models import KinematicModel
    from dynamicall.infer.spec import ModelSpec

    spec = ModelSpec("plummer", "zhao", "baes-van-hese", R_half=catalog.R_half, forward=forward)
    model = KinematicModel(spec, catalog)
    ref = {k: jnp.asarray(v, float) for k, v in model.reference().items()}

    def log_density(values):
        return model.log_likelihood(values) + model.log_penalty(values)

    vg = jax.value_and_grad(log_density)
    rng = np.random.default_rng(1)
    out = {}
    for n in chains:
        batch = {k: v + 1e-3 * jnp.asarray(rng.standard_normal(n)) for k, v in ref.items()}
        f = jax.jit(jax.vmap(vg))
        jax.block_until_ready(f(batch))  # compile
        out[n] = (f, batch)
    return out


def interleaved_costs(forwards: dict, catalog, rounds: int = 7, chains=(1, 64)) -> dict:
    """Seconds per chain of value+gradient of the log density (likelihood + domain
    penalty) of the shipped mock, chains vmapped, jitted, after warm-up, for every forward
    model: timed round-robin (every model once per round), the minimum over rounds of each
    round's median, so that a burst of load from other jobs hits every model alike and
    is not read as a cost."""
    functions = {name: _value_and_grad_functions(fwd, catalog, chains) for name, fwd in forwards.items()}
    best = {name: {n: np.inf for n in chains} for name in forwards}
    for _ in range(rounds):
        for name, per_n in functions.items():
            for n, (f, batch) in per_n.items():
                t = median_time(f, batch, repeat=5, number=20 if n == 1 else 5) / n
                best[name][n] = min(best[name][n], t)
    return best


def accuracy(emu, test, test_jac):
    from dynamicall.emulate.validation import error_statistics, gradient_statistics
    from dynamicall.train.validate import emulator_jacobians

    pred = np.asarray(jax.jit(emu.predict_log)(test.inputs)).reshape(test.outputs.shape)
    stats = error_statistics(pred, test.outputs)
    g = gradient_statistics(emulator_jacobians(emu, test_jac.inputs), test_jac.jacobian)
    return stats["median_point_abs_error"], stats["p99_profile_max_abs_error"], g["median_rel_error"]


def flops(card):
    """Multiply-adds of one network evaluation."""
    a = card["architecture"]
    sizes = [a["n_in"]] + [a["width"]] * a["depth"] + [a["n_out"]]
    return sum(x * y for x, y in zip(sizes[:-1], sizes[1:]))


def measure(args):
    from dynamicall.data import StarCatalog
    from dynamicall.emulate import load
    from dynamicall.train.dataset import read_dataset

    data = pathlib.Path(args.data)
    test, test_jac = read_dataset(data / "test.h5"), read_dataset(data / "test_jac.h5")
    catalog = StarCatalog.read(ROOT / "data" / "mock_dwarf.ecsv")
    folders = [p for p in sorted(pathlib.Path(args.workdir).iterdir()) if (p / "card.json").is_file()]
    folders = [pathlib.Path(e) for e in args.emulator] + folders
    emulators = {folder: load(folder) for folder in folders}
    costs = interleaved_costs({"exact": "exact", "trivial": TrivialForward(),
                               **{str(f): emu for f, emu in emulators.items()}}, catalog)
    exact, floor = costs["exact"], costs["trivial"]
    dev = jax.devices()[0]
    print(f"# Pareto study ({dev.platform}, {dev.device_kind}); test set {len(test)} profiles, gradient set "
          f"{len(test_jac)}; mock {len(catalog)} stars; cost = value+gradient of the log density per chain "
          "(round-robin, min over 7 rounds of medians)\n")
    print(f"exact engine (JeansConfig.fast): {exact[1] * 1e6:.0f} us at 1 chain, {exact[64] * 1e6:.1f} us/chain at 64")
    print(f"trivial forward (floor):        {floor[1] * 1e6:.0f} us at 1 chain, {floor[64] * 1e6:.1f} us/chain at 64\n")
    print("| candidate | net | baseline | head | grad loss | train min | median E | p99 max E | grad median rel | "
          "us @1 | us/chain @64 | exact/emu @1 | exact/emu @64 |")
    print("| --- |" + " --- |" * 12)
    rows = []
    for folder, emu in emulators.items():
        card = emu.card
        a, norm = card["architecture"], card["normalization"]
        med, p99, gmed = accuracy(emu, test, test_jac)
        cost = costs[str(folder)]
        head = f"PCA {len(norm['output_basis'])}" if "output_basis" in norm else "grid"
        rows.append(dict(name=folder.name, med=med, p99=p99, grad=gmed, us1=cost[1] * 1e6, us64=cost[64] * 1e6))
        print(f"| {folder.name} | {a['depth']}x{a['width']} | {norm.get('baseline_kind', 'quadrature')} | {head} | "
              f"{card['training'].get('grad_weight', 0)} | {card['training']['wall_time_s'] / 60:.1f} | {med:.2e} | "
              f"{p99:.2e} | {gmed:.2e} | {cost[1] * 1e6:.0f} | {cost[64] * 1e6:.1f} | {exact[1] / cost[1]:.1f} | "
              f"{exact[64] / cost[64]:.1f} |", flush=True)
    print(f"\nfloors: at 64 chains emulator <= exact / 10 = {exact[64] * 1e6 / 10:.1f} us/chain; at 1 chain "
          f"<= exact / 3 = {exact[1] * 1e6 / 3:.0f} us (trivial forward: {floor[1] * 1e6:.0f} us)")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(dict(exact_us={k: v * 1e6 for k, v in exact.items()},
                                                           trivial_us={k: v * 1e6 for k, v in floor.items()},
                                                           rows=rows), indent=1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder with train.h5, validation.h5, test.h5, test_jac.h5")
    parser.add_argument("--workdir", required=True, help="folder of the trained candidates")
    parser.add_argument("--train", action="store_true")
    parser.add_argument("--measure", action="store_true")
    parser.add_argument("--minutes", type=float, default=3.0, help="training budget per candidate")
    parser.add_argument("--only", nargs="*", help="train only these candidates")
    parser.add_argument("--emulator", action="append", default=[], help="extra emulator folder to measure")
    parser.add_argument("--json", help="also write the measurements here")
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", True)
    if args.train:
        train(args)
    if args.measure:
        measure(args)
    if not (args.train or args.measure):
        sys.exit("give --train and/or --measure")


if __name__ == "__main__":
    main()
