"""``dynamicall validate NAME [--n N] [--seed S]``: emulator vs exact engine on fresh data."""

import sys


def run(args) -> int:
    import jax

    jax.config.update("jax_enable_x64", True)  # the exact engine runs in float64
    from ..emulate import load
    from ..emulate.validation import FLOORS, meets_floors
    from ..train.validate import validate

    emulator = load(args.name, on_domain="warn")
    if args.n < 1 or args.n_gradient < 0:
        print(f"dynamicall validate: need --n >= 1 and --n-gradient >= 0; got {args.n}, {args.n_gradient}",
              file=sys.stderr)
        return 2
    stats = validate(emulator, n=args.n, seed=args.seed, progress=not args.quiet, n_gradient=args.n_gradient)
    print(f"{emulator.name}: {stats['n_profiles']} fresh test profiles")
    print(f"  per-point |E|:        median {stats['median_point_abs_error']:.2e}   "
          f"99% {stats['point_abs_error']['p99']:.2e}   max {stats['point_abs_error']['p100']:.2e}")
    print(f"  per-profile max |E|:  median {stats['profile_max_abs_error']['p50']:.2e}   "
          f"99% {stats['p99_profile_max_abs_error']:.2e}   max {stats['profile_max_abs_error']['p100']:.2e}")
    if "gradient" in stats:
        g = stats["gradient"]
        print(f"  d ln sigma / d inputs ({g['n_profiles']} profiles): median rel. error {g['median_rel_error']:.2e}   "
              f"99% {g['p99_rel_error']:.2e}")
    ok = meets_floors(stats)
    print(f"  floors {FLOORS}: {'met' if ok else 'NOT met'}")
    if emulator.path is not None:
        print(f"  report: {emulator.path / 'report.md'}")
    return 0 if ok else 1


def register(sub):
    p = sub.add_parser("validate", help="validate an emulator against the exact engine on fresh profiles")
    p.add_argument("name", help="emulator name or folder")
    p.add_argument("--n", type=int, default=4096, help="test profiles (default 4096)")
    p.add_argument("--seed", type=int, default=None, help="test-set seed (default: recipe test seed + 1)")
    p.add_argument("--n-gradient", type=int, default=512,
                   help="profiles on which d ln sigma / d inputs is compared too (default 512; 0: skip)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
