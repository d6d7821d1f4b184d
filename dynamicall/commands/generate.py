"""``dynamicall generate RECIPE.toml --out FILE.h5``: compute a training set, resumably.

The command switches JAX to float64 (``jax_enable_x64``) before computing: training sets
are always computed in float64 (the recipe's ``[outputs] dtype`` only sets how they are
stored). Run it again after an interruption to resume; see docs/training_sets.md.
"""

from __future__ import annotations

import sys


def run(args) -> int:
    import jax

    from ..train import distributed

    if args.coordinator or args.num_processes is not None or args.process_id is not None:
        distributed.initialize(args.coordinator, args.num_processes, args.process_id)
    elif args.distributed:
        distributed.initialize()
    jax.config.update("jax_enable_x64", True)  # training sets are computed in float64

    from ..train.generate import generate
    from ..train.recipe_file import load_recipe

    try:
        recipe = load_recipe(args.recipe)
    except (OSError, ValueError) as err:
        print(f"dynamicall generate: {err}", file=sys.stderr)
        return 2
    try:
        report = generate(
            recipe, args.out, split=args.split, n=args.n, seed=args.seed, design_kind=args.design,
            chunk=args.chunk, batch=args.batch, progress=not args.quiet, overwrite=args.overwrite,
            jacobian=True if args.jacobian else None,
        )
    except (ValueError, FileExistsError) as err:
        print(f"dynamicall generate: {err}", file=sys.stderr)
        return 2
    if jax.process_index() == 0 and not args.quiet:
        if report.already_complete:
            print(f"{args.out} is already complete ({report.n} profiles); nothing to do")
        else:
            print(f"wrote {args.out}: {report.n} profiles, {report.chunks_computed} chunks computed here, "
                  f"{report.chunks_resumed} resumed, {report.failures} failed evaluations replaced, "
                  f"{report.devices} device(s) x {report.processes} process(es), {report.total_s:.1f} s")
    return 0


def register(sub):
    p = sub.add_parser(
        "generate",
        help="compute a training set from a recipe (resumable, multi-device, multi-process)",
        description=__doc__.splitlines()[0].replace("``", ""),
    )
    p.add_argument("recipe", help="recipe TOML file (e.g. training/zhao_bvh_plummer.toml)")
    p.add_argument("--out", required=True, help="output HDF5 file (work in progress: OUT.partial/)")
    p.add_argument("--split", default="train",
                   help="which sampling settings of the recipe: train (default), validation, test, ...")
    p.add_argument("--n", type=int, help="number of profiles (default: the split's n)")
    p.add_argument("--seed", type=int, help="seed of the design (default: the split's seed)")
    p.add_argument("--design", choices=("sobol", "lhs", "random"), help="sampling design (default: the split's)")
    p.add_argument("--chunk", type=int, help="profiles per chunk, the unit of resumable work "
                   "(default: the recipe's [sampling] chunk)")
    p.add_argument("--batch", type=int, help="profiles per lax.map step on each device (speed only; "
                   "default 256 on CPU, 8192 on GPU)")
    p.add_argument("--jacobian", action="store_true",
                   help="also store d ln sigma / d inputs from the exact engine (forward-mode autodiff, "
                        "~P+1 times the cost; or [outputs] jacobian = true in the recipe)")
    p.add_argument("--overwrite", action="store_true", help="discard an existing output and partial work")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    g = p.add_argument_group("multi-process (jax.distributed)")
    g.add_argument("--distributed", action="store_true",
                   help="start jax.distributed with cluster auto-detection (SLURM, Open MPI, ...)")
    g.add_argument("--coordinator", help="host:port of process 0 (with --num-processes, --process-id)")
    g.add_argument("--num-processes", type=int, help="number of processes")
    g.add_argument("--process-id", type=int, help="index of this process")
    p.set_defaults(func=run)
