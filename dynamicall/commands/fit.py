"""``dynamicall fit``: NUTS fit of a star catalogue (or binned profile), with outputs.

Example::

    dynamicall fit data/mock_dwarf.ecsv --tracer plummer --halo zhao \\
        --anisotropy baes-van-hese --forward zhao_bvh_plummer --out fit_output

prints the summary table and writes summary.json, samples.h5, corner.png and
sigma_los.png to ``fit_output/``. Computes in float64 unless ``--float32``. While it runs,
``fit_output/checkpoint.npz`` holds the progress: after an interrupt (Ctrl-C), the same
command with ``--resume`` continues where it stopped.

The outputs are written as a set (a hidden staging folder renamed into place), so the
folder holds one run's files, never a mixture. A folder that already holds a finished fit
is kept unless ``--overwrite``; a checkpoint of an interrupted run is never discarded
unless ``--overwrite`` (continue it with ``--resume``). docs/outputs.md has the rules.
"""

from __future__ import annotations

import os
import sys

# the shared option helpers (forecast imports these names from here too)
from ._options import add_R_half, parse_site_values, parse_value  # noqa: F401
from ._options import stellar_mass as _stellar_mass

#: Fewest stars a catalogue must have to be fitted: below this a dispersion profile is not
#: constrained, and the sampler would run for minutes to say so.
MIN_STARS = 10
CHECKPOINT_NAME = "checkpoint.npz"


def add_model_arguments(p):
    """Arguments shared by ``fit`` and ``forecast``: the model and the forward model."""
    p.add_argument("--tracer", default="plummer", help="tracer family (default plummer)")
    p.add_argument("--halo", default="zhao",
                   help="halo family: zhao, nfw, core-nfw, burkert, einasto, plummer, hernquist, dehnen")
    p.add_argument("--anisotropy", default="baes-van-hese",
                   help="constant, osipkov-merritt or baes-van-hese")
    p.add_argument("--forward", default="exact",
                   help="'exact' (the Jeans engine) or an emulator name or folder")
    add_R_half(p)
    p.add_argument("--stellar-mass", default=None,
                   help="add the stars' mass to the mass model: a mass in Msun, or normal:MU,SIGMA on its log10")
    p.add_argument("--prior", action="append", default=[], metavar="SITE=VALUE",
                   help="override a prior: SITE=LOWER,UPPER (uniform), SITE=normal:MU,SIGMA, or SITE=VALUE "
                        "to fix it (scales by log10 site, or by field name with a unit: halo.r_s='1 kpc'); repeatable")
    p.add_argument("--float32", action="store_true", help="compute in float32 (default float64)")


def setup_precision(args):
    """float64 unless ``--float32``; says which."""
    import jax

    if not args.float32:
        jax.config.update("jax_enable_x64", True)
    print(f"precision: {'float32' if args.float32 else 'float64 (jax_enable_x64 switched on)'}")


def check_output_folder(out, resume: bool, overwrite: bool) -> str:
    """Decide, before any work, what happens to ``out``: ``"new"`` (absent or empty),
    ``"resume"`` (a checkpoint to continue), ``"overwrite"`` (replace what is there).

    Raises
    ------
    OutputExistsError
        ``out`` holds a finished fit and ``overwrite`` is false; or it holds the checkpoint
        of an interrupted run and neither ``resume`` nor ``overwrite`` is given.
    """
    import pathlib

    from .._durable import OutputExistsError

    out = pathlib.Path(out)
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"--out {out} is a file, not a folder; choose another --out")
    present = sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) if out.is_dir() else []
    results = [name for name in present if name != CHECKPOINT_NAME]
    has_checkpoint = CHECKPOINT_NAME in present
    if results and not overwrite:
        raise OutputExistsError(
            f"{out} already holds a finished result ({', '.join(results[:4])}"
            f"{', ...' if len(results) > 4 else ''}); pass --overwrite to replace it (the new set "
            f"replaces it only once complete), or choose another --out"
        )
    if has_checkpoint and not resume and not overwrite:
        raise OutputExistsError(
            f"{out / CHECKPOINT_NAME} holds an interrupted fit: continue it with --resume, or pass "
            f"--overwrite to discard it and start again"
        )
    if has_checkpoint and resume:
        return "resume"
    return "overwrite" if results or has_checkpoint else "new"


def prepare_output_folder(out, plan: str, checkpoint, resume: bool) -> None:
    """Carry out the plan of :func:`check_output_folder` once the inputs are checked: say
    what happens to ``out``, discard an earlier checkpoint on ``"overwrite"``, create ``out``.

    Parameters
    ----------
    out, checkpoint : pathlib.Path
        The output folder and the checkpoint file inside it.
    plan : {"new", "resume", "overwrite"}
        What :func:`check_output_folder` decided.
    resume : bool
        Whether ``--resume`` was given (a resume with nothing to resume is reported).
    """
    if plan == "resume":
        print(f"resuming from {checkpoint}")
    elif plan == "overwrite":
        print(f"--overwrite: {out} will be replaced once the new fit is complete")
        if checkpoint.exists():
            print(f"--overwrite: discarding the checkpoint of an earlier run ({checkpoint})")
            checkpoint.unlink()
    elif resume:
        print(f"--resume: no checkpoint in {out}; starting from the beginning")
    out.mkdir(parents=True, exist_ok=True)


def check_catalog(data, R_half, binned: bool, source) -> None:
    """Refuse a catalogue too small to fit, and catch unit mistakes (radii against R_half,
    velocity errors against the velocities' spread) for either forward model."""
    from ..data import check_scales

    if binned:
        if len(data) < 2:
            raise ValueError(f"{source} has {len(data)} bin; a binned fit needs at least 2 bins")
        return
    if len(data) < MIN_STARS:
        raise ValueError(
            f"{source} has {len(data)} star{'s' if len(data) != 1 else ''}; a fit needs at least {MIN_STARS} "
            f"(fewer cannot constrain a dispersion profile): add stars, or fit a published binned "
            f"profile with --binned"
        )
    check_scales(data, R_half)


def run(args) -> int:
    import pathlib

    out = pathlib.Path(args.out)
    checkpoint = out / CHECKPOINT_NAME
    plan = check_output_folder(out, args.resume, args.overwrite)
    if args.devices:
        if "jax" in sys.modules:
            print("warning: --devices has no effect once JAX is imported", file=sys.stderr)
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={int(args.devices)}".strip()
    from ..data import BinnedProfile, StarCatalog, parse_quantity

    data = BinnedProfile.read(args.catalog) if args.binned else StarCatalog.read(args.catalog)
    R_half = parse_quantity(args.R_half, "length") if args.R_half else None
    check_catalog(data, R_half, args.binned, args.catalog)
    priors = parse_site_values(args.prior)
    stellar = _stellar_mass(args.stellar_mass)
    setup_precision(args)
    from ..infer import fit, format_summary
    from ..infer.outputs import write_outputs

    if not args.quiet:
        print(f"data: {args.catalog} ({len(data)} {'bins' if args.binned else 'stars'})")
    prepare_output_folder(out, plan, checkpoint, args.resume)
    tracer = args.tracer
    if args.photometry:
        from ..infer.light import light_from_photometry

        tracer = light_from_photometry(args.photometry, model=args.light_model, marginalise=args.marginalise_light)
    elif args.marginalise_light and args.tracer in ("catalog", "catalogue"):
        from ..infer.light import light_from_catalog

        tracer = light_from_catalog(data, marginalise=True)
    result = fit(
        data, tracer=tracer, halo=args.halo, anisotropy=args.anisotropy, forward=args.forward,
        priors=priors, R_half=R_half, stellar_mass=stellar,
        likelihood=args.likelihood, proper_motions=args.proper_motions, warmup=args.warmup,
        samples=args.samples, chains=args.chains, seed=args.seed, chain_method=args.chain_method,
        target_accept=args.target_accept, max_tree_depth=args.max_tree_depth, dense_mass=not args.diagonal_mass,
        progress=not args.quiet, checkpoint=str(checkpoint), resume=args.resume,
        parameterization=args.parameterization, init=args.init,
    )
    # one set, renamed into place when complete; the checkpoint's draws are in samples.h5
    paths = write_outputs(result, out, plots=not args.no_plots, overwrite=True)
    print(format_summary(result.summary()))
    print("wrote: " + ", ".join(os.path.relpath(p) for p in paths.values()))
    return 0


def add_sampler_arguments(p, out: str, warmup: int | None = None, target_accept: float = 0.8) -> None:
    """The NUTS and output options shared by ``fit`` and ``fit-population`` (warm-up,
    draws, chains, start, seed, step control, ``--out`` with default ``out``, ``--resume``,
    ``--overwrite``, ``--no-plots``, ``--quiet``); ``warmup`` (default: that of
    :func:`dynamicall.infer.sample`) and ``target_accept`` set the command's defaults."""
    # the defaults of dynamicall.infer.sample (not imported here: importing JAX before
    # --devices is read would defeat it); tests/test_sampling.py checks they agree
    DEFAULT_CHAINS, DEFAULT_WARMUP, DEFAULT_SAMPLES = 4, 300, 1000
    warmup = DEFAULT_WARMUP if warmup is None else warmup
    p.add_argument("--warmup", type=int, default=warmup,
                   help=f"warm-up iterations per chain (default {warmup})")
    p.add_argument("--samples", type=int, default=DEFAULT_SAMPLES,
                   help=f"kept iterations per chain (default {DEFAULT_SAMPLES})")
    p.add_argument("--chains", type=int, default=DEFAULT_CHAINS,
                   help=f"number of chains, run vectorised (default {DEFAULT_CHAINS}; docs/fitting.md)")
    p.add_argument("--init", default="laplace", choices=["laplace", "uniform"],
                   help="start the chains around the posterior mode with its Laplace covariance as mass "
                        "matrix (laplace, default), or uniformly in (-2, 2) unconstrained (uniform)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--target-accept", type=float, default=target_accept,
                   help=f"NUTS target acceptance (default {target_accept})")
    p.add_argument("--max-tree-depth", type=int, default=8, help="NUTS maximum tree depth (default 8)")
    p.add_argument("--diagonal-mass", action="store_true",
                   help="adapt a diagonal mass matrix (default: dense)")
    p.add_argument("--out", default=out, help=f"output folder (default {out})")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from OUT/checkpoint.npz")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a finished fit in OUT (once the new one is complete) and discard a checkpoint")
    p.add_argument("--no-plots", action="store_true", help="skip the plots")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def register(sub):
    p = sub.add_parser("fit", help="fit a star catalogue with NUTS (exact engine or emulator)",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("catalog", help="star catalogue (ECSV or FITS; docs/catalog_format.md)")
    add_model_arguments(p)
    p.add_argument("--photometry", default=None, help="surface-density table R, Sigma, Sigma_err (ECSV/FITS) for the tracer "
                        "(or --tracer catalog: the light profile from the catalogue metadata; docs/tracers.md)")
    p.add_argument("--light-model", default="sersic", choices=["sersic", "exponential", "tabulated"],
                   help="model of --photometry (default sersic)")
    p.add_argument("--marginalise-light", action="store_true",
                   help="free the light-profile parameters with Gaussian priors from the photometry")
    p.add_argument("--likelihood", default=None, choices=["gaussian", "mixture", "binned"],
                   help="gaussian (default), mixture (with contaminants), binned (with --binned)")
    p.add_argument("--binned", action="store_true",
                   help="the file is a binned profile (columns R, sigma_los, sigma_los_err)")
    p.add_argument("--proper-motions", action="store_true", help="fit the proper motions too")
    p.add_argument("--parameterization", default="enclosed_mass", choices=["enclosed_mass", "native"],
                   help="sample the halo normalisation as log10 M(<1.8 R_half) (enclosed_mass, default) or "
                        "as its own field, log10 rho_s or log10 m_tot (native)")
    p.add_argument("--chain-method", default="vectorized", choices=["vectorized", "parallel"],
                   help="vectorised chains on one device, or parallel over devices (see --devices)")
    p.add_argument("--devices", type=int, default=None,
                   help="number of host (CPU) devices for --chain-method parallel")
    add_sampler_arguments(p, out="fit_output")
    p.set_defaults(func=run)
