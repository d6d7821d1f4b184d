"""Where the time of one log-density gradient goes: the trivial forward model and an
emulator, taken apart piece by piece, in one process.

The Pareto study (benchmarks/emulator_pareto.py) found the issue's per-gradient speed
floors (1/10 of the exact engine at 64 chains, 1/3 at 1 chain) below the cost of a forward
model that computes nothing. This script checks that claim by timing value + gradient
(jitted, chains ``vmap``-ed, per chain) of functions of the same 10 sampled parameters
that do only part of the work, on the shipped mock (400 stars):

* ``call``: sum of squares of the 10 parameters (the fixed cost of a jitted, vmapped
  value-and-gradient call from Python);
* ``likelihood``: the 400-star Gaussian log-likelihood
  (:func:`dynamicall.infer.likelihoods.gaussian_los`) with sigma a fixed per-star array
  scaled by a cheap function of every parameter (no forward model, no interpolation);
* ``trivial`` pieces: the model's parameter build (``spec.build``), the trivial forward
  model on the evaluation grid with its grid -> stars interpolation, and the whole trivial
  log density (as timed by the Pareto study);
* emulator pieces (the lean path of ``Emulator.predictor``): input mapping; mapping +
  network; mapping + baseline; the predictor (sigma at the stars); predictor + likelihood;
  + domain penalty (the whole log density, as timed by the Pareto study). The ablations
  recompose the predictor from the emulator's own parts and are checked against
  ``Emulator.predictor`` (to 1e-12) before timing.

Every function is compiled first, then all are timed round-robin (each once per round,
median of 3 repeats; the minimum over 40 rounds), so bursts of load from other jobs hit every
row alike. XLA's own cost estimate (flops and bytes accessed of the compiled
value-and-gradient at 64 chains) is printed beside the timings.

Run: ``python benchmarks/emulator_cost_profile.py [--emulator emulators/zhao_bvh_plummer_v2]
[--rounds 40]``. On a shared CPU read the ratios, measured side by side.
"""

from __future__ import annotations

import argparse
import os
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
from emulator_pareto import TrivialForward
from timing import median_time

ROOT = pathlib.Path(__file__).resolve().parents[1]
LOG_2PI = float(np.log(2.0 * np.pi))


def _model(catalog, forward):
    from dynamicall.infer.models import KinematicModel
    from dynamicall.infer.spec import ModelSpec

    spec = ModelSpec("plummer", "zhao", "baes-van-hese", R_half=catalog.R_half, forward=forward)
    return KinematicModel(spec, catalog)


def _amplitude(values):
    """A cheap smooth scalar of every parameter (gradients flow to all)."""
    return jnp.exp(1e-3 * sum(jnp.tanh(v) for k, v in sorted(values.items()) if k != "v_sys"))


@jax.custom_vjp
def _fused_gaussian_los(v, v_err, v_sys, sigma):
    """:func:`dynamicall.infer.likelihoods.gaussian_los` with a hand-written VJP that keeps
    only 1/variance and residual/variance (a candidate speedup, timed beside the library's)."""
    var = sigma**2 + v_err**2
    r = v - v_sys
    return -0.5 * (LOG_2PI + jnp.log(var) + r * r / var)


def _fused_forward(v, v_err, v_sys, sigma):
    var = sigma**2 + v_err**2
    w = 1.0 / var
    z = (v - v_sys) * w
    return -0.5 * (LOG_2PI + jnp.log(var) + (v - v_sys) * z), (v_err, sigma, w, z, jnp.shape(v_sys))


def _fused_backward(res, g):
    v_err, sigma, w, z, sys_shape = res
    gz, h = g * z, g * (z * z - w)
    g_sys = jnp.sum(gz) if sys_shape == () else gz
    return -gz, h * v_err, g_sys, h * sigma


_fused_gaussian_los.defvjp(_fused_forward, _fused_backward)


def pieces(catalog, emulator_path):
    """name -> log-density-like function of the 10 sampled parameters (a dict)."""
    from dynamicall.emulate import load
    from dynamicall.emulate.mapping import scalar_inputs
    from dynamicall.infer import likelihoods as lk
    from flax import nnx

    d = catalog
    out = {}
    out["call (sum of squares)"] = lambda values: sum(jnp.sum(v**2) for v in values.values())

    sigma0 = 10.0 * (np.asarray(d.R) / 0.25) ** 0.05
    out["likelihood 400 stars"] = lambda values: jnp.sum(
        lk.gaussian_los(d.v, d.v_err, values["v_sys"], sigma0 * _amplitude(values)))

    out["likelihood 400 stars, hand-fused VJP (tried, not adopted)"] = lambda values: jnp.sum(
        _fused_gaussian_los(d.v, d.v_err, values["v_sys"], sigma0 * _amplitude(values)))

    fwd = TrivialForward()
    trivial = _model(catalog, fwd)

    def build_only(values):
        tracer, mass, aniso = trivial.spec.build(values)
        return sum(jnp.sum(jnp.tanh(v)) for v in jax.tree_util.tree_leaves((mass, aniso)))

    def trivial_sigma(values):
        tracer, mass, aniso = trivial.spec.build(values)
        return jnp.sum(trivial.predict(values)["los"])

    def trivial_at_stars(values):
        tracer, mass, aniso = trivial.spec.build(values)
        sigma = fwd.dispersions(trivial.R_data, tracer, mass, aniso)["los"]
        return jnp.sum(lk.gaussian_los(d.v, d.v_err, values["v_sys"], sigma))

    out["trivial: build"] = build_only
    out["trivial: build + sigma on grid + interpolation"] = trivial_sigma
    out["trivial: sigma at the stars + likelihood (no grid)"] = trivial_at_stars
    out["trivial: whole log density (Pareto row)"] = lambda values: trivial.log_likelihood(values)

    emu = load(emulator_path)
    model = _model(catalog, emu)
    assert model._lean is not None, "the emulator model must take the lean path"
    tracer = model.spec.build(model.reference())[0]
    R_half = float(catalog.R_half)
    problem = emu.problem
    net = nnx.merge(emu._graphdef, emu._state)
    p = len(emu.input_names)
    center, half_width = emu._input_center[:p], emu._input_half_width[:p]
    lo, hi = emu._lo_hi()
    from dynamicall.emulate.emulator import interpolation_matrix

    W = jnp.asarray(interpolation_matrix(emu.grid, model.R_data / R_half))

    def inputs(values):
        _, mass, aniso = model.spec.build(values)
        x, unit = scalar_inputs(problem, R_half, mass, aniso)
        return jnp.clip(x, lo, hi), unit

    def network(x):
        return net(((x - center) / half_width).astype(jnp.float32)).astype(x.dtype)

    def recomposed_sigma(values):
        x, unit = inputs(values)
        log_grid = network(x) * emu._output_std + emu._output_mean + emu._baseline(x)
        return jnp.exp(W @ log_grid + jnp.log(unit))

    ref = {k: jnp.asarray(v, float) for k, v in model.reference().items()}
    library = jax.value_and_grad(out["likelihood 400 stars"])(ref)
    fused = jax.value_and_grad(out["likelihood 400 stars, hand-fused VJP (tried, not adopted)"])(ref)
    for a, b in zip(jax.tree_util.tree_leaves(library), jax.tree_util.tree_leaves(fused)):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-12, atol=1e-12 * float(jnp.abs(library[0])))
    lean = model.predict(ref)["los"]
    np.testing.assert_allclose(np.asarray(recomposed_sigma(ref)), np.asarray(lean), rtol=1e-12)

    name = pathlib.Path(emulator_path).name
    out[f"{name}: build + input mapping"] = lambda values: jnp.sum(inputs(values)[0] ** 2)
    out[f"{name}: mapping + network"] = lambda values: jnp.sum(network(inputs(values)[0]))
    out[f"{name}: mapping + baseline"] = lambda values: jnp.sum(emu._baseline(inputs(values)[0]))
    out[f"{name}: mapping + network + baseline (grid)"] = lambda values: jnp.sum(
        network(inputs(values)[0]) + emu._baseline(inputs(values)[0]))
    out[f"{name}: predictor (sigma at the stars)"] = lambda values: jnp.sum(model.predict(values)["los"])
    out[f"{name}: predictor + likelihood"] = model.log_likelihood
    out[f"{name}: + domain penalty (Pareto row)"] = lambda values: model.log_likelihood(values) + model.log_penalty(values)
    return out, {k: jnp.asarray(v, float) for k, v in trivial.reference().items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emulator", default=str(ROOT / "emulators" / "zhao_bvh_plummer_v2"))
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", True)
    from dynamicall.data import StarCatalog

    catalog = StarCatalog.read(ROOT / "data" / "mock_dwarf.ecsv")
    functions, ref = pieces(catalog, args.emulator)
    rng = np.random.default_rng(1)
    compiled = {}
    for name, fn in functions.items():
        f = jax.jit(jax.vmap(jax.value_and_grad(fn)))
        per_n = {}
        for n in (1, 64):
            batch = {k: v + 1e-3 * jnp.asarray(rng.standard_normal(n)) for k, v in ref.items()}
            jax.block_until_ready(f(batch))
            per_n[n] = batch
        cost = f.lower(per_n[64]).compile().cost_analysis()
        cost = cost[0] if isinstance(cost, list) else cost
        compiled[name] = (f, per_n, cost or {})
    best = {name: {1: np.inf, 64: np.inf} for name in functions}
    for _ in range(args.rounds):
        for name, (f, per_n, _) in compiled.items():
            for n, batch in per_n.items():
                best[name][n] = min(best[name][n], median_time(f, batch, repeat=3, number=20 if n == 1 else 5) / n)
    dev = jax.devices()[0]
    print(f"# value + gradient per chain, {len(catalog)} stars, 10 parameters, {dev.platform} ({dev.device_kind}), "
          f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f} (min over {args.rounds} rounds)\n")
    print("| piece | us @1 chain | us/chain @64 | XLA flops/chain @64 | XLA bytes/chain @64 |")
    print("| --- | --- | --- | --- | --- |")
    for name, (_, _, cost) in compiled.items():
        fl, by = cost.get("flops", float("nan")) / 64, cost.get("bytes accessed", float("nan")) / 64
        print(f"| {name} | {best[name][1] * 1e6:.1f} | {best[name][64] * 1e6:.2f} | {fl:,.0f} | {by:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
