"""Speed of training-set generation (``dynamicall generate``), one device vs several, one process.

Recipe: the shipped ``training/zhao_bvh_plummer.toml`` (8 inputs, ln sigma_los at 32
radii). For each device count, after a warm-up run (compilation), times whole
``generate`` calls (design, engine, chunk files, join into the final HDF5 file) and
reports medians of repeats:

* end-to-end profiles/s and its ratio to one device;
* engine-only profiles/s (the same sharded engine on the same chunks, dispatched the same
  way, no I/O);
* the share of the wall time spent drawing the design;
* the write overhead: the wall time not explained by the engine or the design, i.e. what
  writing HDF5 (chunk files, joining, hashing, fsync) adds - the floor is 5%; the time
  spent inside HDF5 calls, mostly overlapped with the engine; and the same HDF5 work timed
  alone (the overhead if nothing overlapped).

On CPU the extra devices are simulated (``--xla_force_host_platform_device_count``, set
here before JAX starts); they share the machine's cores.

Run: ``python benchmarks/generate.py [--n 131072] [--devices 4] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=131072, help="profiles per run")
    parser.add_argument("--chunk", type=int, default=None, help="profiles per chunk (default: the recipe's)")
    parser.add_argument("--devices", type=int, default=4, help="simulated CPU devices to compare with one")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per setting (median)")
    args = parser.parse_args()
    if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                   f" --xla_force_host_platform_device_count={args.devices}").strip()
    sys.path.insert(0, str(ROOT))

    import jax
    import numpy as np

    jax.config.update("jax_enable_x64", True)
    from dynamicall.train import design, distributed
    from dynamicall.train.dataset import HASHED_ATTRS, TrainingSetWriter, read_dataset, write_chunk
    from dynamicall.train.generate import _engine, generate
    from dynamicall.train.recipe import load_recipe, shipped_recipe_path

    recipe = load_recipe(shipped_recipe_path("zhao_bvh_plummer"))
    chunk = args.chunk or recipe.chunk
    n = args.n
    local = jax.local_devices()
    counts = sorted({1, len(local)})
    kind = local[0].device_kind
    print(f"# training-set generation benchmark: recipe {recipe.name}, {n} profiles, chunks of {chunk}")
    print(f"# {len(local)} local device(s) of kind {kind!r} ({local[0].platform}); "
          f"{os.cpu_count()} CPU core(s); float64 compute, {recipe.output_dtype} storage\n")

    inputs = design.design_points(recipe, n, recipe.split("train").seed, "sobol")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in counts:
            out = pathlib.Path(tmp) / f"set_{count}.h5"
            mesh = distributed.local_mesh(count)
            per_call, batch = distributed.call_rows(chunk, mesh.size, distributed.default_batch(mesh))
            run = _engine(recipe, mesh, batch)  # the very function generate() uses
            padded = np.concatenate([inputs, np.repeat(inputs[-1:], (-n) % per_call, axis=0)])

            def engine_only():
                # dispatch chunk k+1 before fetching chunk k, as generate() does
                t0 = time.perf_counter()
                previous = None
                for start in range(0, padded.shape[0], per_call):
                    handle = run.dispatch(padded[start : start + per_call])
                    if previous is not None:
                        np.asarray(previous)
                    previous = handle
                np.asarray(previous)
                return time.perf_counter() - t0

            generate(recipe, out, n=n, chunk=chunk, devices=count, progress=False, overwrite=True)  # warm-up
            reports, engine_times = [], []
            for _ in range(args.repeat):  # interleaved, so that load drifts hit both alike
                reports.append(generate(recipe, out, n=n, chunk=chunk, devices=count, progress=False,
                                        overwrite=True))
                engine_times.append(engine_only())
            # the same HDF5 work alone (chunk files, join, hash, fsync), nothing overlapped
            data = read_dataset(out)
            io_times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                io_dir = pathlib.Path(tmp) / "io"
                io_dir.mkdir(exist_ok=True)
                writer = TrainingSetWriter(io_dir / "joined.h5", n, recipe.n_inputs, recipe.n_outputs,
                                           recipe.grid, recipe.output_dtype)
                for k, start in enumerate(range(0, n, chunk)):
                    x, y = data.inputs[start : start + chunk], data.outputs[start : start + chunk]
                    write_chunk(io_dir / f"chunk_{k:06d}.h5", x, y, k, start, [])
                    writer.append(x, y)
                writer.finish({key: data.attrs[key] for key in HASHED_ATTRS})
                io_times.append(time.perf_counter() - t0)
            total = float(np.median([r.total_s for r in reports]))
            engine = float(np.median(engine_times))
            setup = float(np.median([r.setup_s for r in reports]))
            rows.append(dict(
                devices=count, total=total, engine=engine, setup=setup,
                overhead=max(0.0, total - engine - setup) / total,
                serial=float(np.median(io_times)) / (float(np.median(io_times)) + engine),
                tail=float(np.median([r.merge_s / r.total_s for r in reports])),
                in_hdf5=float(np.median([r.hdf5_fraction for r in reports])),
                size=out.stat().st_size,
            ))

    base = rows[0]["total"]
    print(f"{'devices':>7s} {'profiles/s':>11s} {'ratio':>6s} {'engine-only/s':>14s} {'design':>7s} "
          f"{'write overhead':>15s} {'in HDF5 calls':>14s} {'final join':>11s} {'HDF5 serial':>12s} {'file MB':>8s}")
    for r in rows:
        print(f"{r['devices']:7d} {n / r['total']:11.0f} {base / r['total']:6.2f} {n / r['engine']:14.0f} "
              f"{100 * r['setup'] / r['total']:6.1f}% {100 * r['overhead']:14.1f}% {100 * r['in_hdf5']:13.1f}% "
              f"{100 * r['tail']:10.1f}% "
              f"{100 * r['serial']:11.1f}% {r['size'] / 1e6:8.2f}")
    worst = max(r["overhead"] for r in rows)
    print("\nwrite overhead = (wall - engine-only - design) / wall: the wall time HDF5 adds to a run, from")
    print("                 two separate timings (on a shared machine it carries their load noise).")
    print("in HDF5 calls  = time inside them during the run, overlapped with the engine computing the")
    print("                 next chunk.")
    print("final join     = closing the finished file (attributes, fsync, rename): never overlapped.")
    print("HDF5 serial    = the same HDF5 work (chunk files, join, hash, fsync) timed alone, as a share of")
    print("                 (that + engine-only): the overhead if nothing overlapped (an upper bound).")
    serial = max(r["serial"] for r in rows)
    tail = max(r["tail"] for r in rows)
    print(f"\nHDF5 cost: at most {100 * serial:.1f}% if nothing overlapped, {100 * tail:.1f}% never overlapped "
          f"(floor 5%); {rows[0]['size'] / n:.0f} bytes per profile.")


if __name__ == "__main__":
    main()
