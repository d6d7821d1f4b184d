"""``dynamicall fit``: NUTS fit of a star catalogue (or binned profile), with outputs.

Example::

    dynamicall fit data/mock_dwarf.ecsv --tracer plummer --halo zhao \\
        --anisotropy baes-van-hese --forward zhao_bvh_plummer --out fit_output

prints the summary table and writes summary.json, samples.h5, corner.png and
sigma_los.png to ``fit_output/``. Computes in float64 unless ``--float32``. While it runs,
``fit_output/checkpoint.npz`` holds the progress: after an interrupt (Ctrl-C), the same
command with ``--resume`` continues where it stopped.
"""

from __future__ import annotations

import os
import sys


def parse_site_values(items, what="prior"):
    """``["halo.gamma=0,1", "anisotropy.beta=0", "halo.r_s=1 kpc", "v_sys=normal:110,5"]``
    -> dict of priors: (lo, hi) bounds, numbers, Quantities or numpyro distributions.

    Example
    -------
    >>> parse_site_values(["halo.gamma=0,1", "anisotropy.beta=0.2"])
    {'halo.gamma': (0.0, 1.0), 'anisotropy.beta': 0.2}
    """
    out = {}
    for item in items or ():
        if "=" not in item:
            raise ValueError(f"--{what} {item!r}: expected SITE=VALUE")
        site, text = (s.strip() for s in item.split("=", 1))
        out[site] = _parse_value(site, text)
    return out


def _parse_value(site, text):
    if text.lower().startswith("normal:"):
        import numpyro.distributions as dist

        mu, sigma = (float(x) for x in text.split(":", 1)[1].split(","))
        return dist.Normal(mu, sigma)
    if "," in text:
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 2:
            raise ValueError(f"{site}={text!r}: bounds are LOWER,UPPER")
        return (float(parts[0]), float(parts[1]))
    try:
        return float(text)
    except ValueError:
        import astropy.units as u

        try:
            return u.Quantity(text)
        except (TypeError, ValueError):
            raise ValueError(f"{site}={text!r}: expected a number, LOWER,UPPER, normal:MU,SIGMA "
                             f"or a quantity such as '1 kpc'") from None


def add_model_arguments(p):
    """Arguments shared by ``fit`` and ``forecast``: the model and the forward model."""
    p.add_argument("--tracer", default="plummer", help="tracer family (default plummer)")
    p.add_argument("--halo", default="zhao",
                   help="halo family: zhao, nfw, core-nfw, burkert, einasto, plummer, hernquist, dehnen")
    p.add_argument("--anisotropy", default="baes-van-hese",
                   help="constant, osipkov-merritt or baes-van-hese")
    p.add_argument("--forward", default="exact",
                   help="'exact' (the Jeans engine) or an emulator name or folder")
    p.add_argument("--R-half", dest="R_half", default=None,
                   help="projected half-light radius of the tracer, e.g. '250 pc' (default: catalogue metadata)")
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


def _stellar_mass(text):
    if text is None:
        return None
    value = _parse_value("stellar-mass", text)
    return value


def run(args) -> int:
    if args.devices:
        if "jax" in sys.modules:
            print("warning: --devices has no effect once JAX is imported", file=sys.stderr)
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={int(args.devices)}".strip()
    setup_precision(args)
    from ..data import BinnedProfile, StarCatalog, parse_quantity
    from ..infer import fit, format_summary

    data = BinnedProfile.read(args.catalog) if args.binned else StarCatalog.read(args.catalog)
    R_half = parse_quantity(args.R_half, "length") if args.R_half else None
    if not args.quiet:
        print(f"data: {args.catalog} ({len(data)} {'bins' if args.binned else 'stars'})")
    os.makedirs(args.out, exist_ok=True)
    checkpoint = os.path.join(args.out, "checkpoint.npz")
    if os.path.exists(checkpoint) and not args.resume:
        os.remove(checkpoint)
    result = fit(
        data, tracer=args.tracer, halo=args.halo, anisotropy=args.anisotropy, forward=args.forward,
        priors=parse_site_values(args.prior), R_half=R_half, stellar_mass=_stellar_mass(args.stellar_mass),
        likelihood=args.likelihood, proper_motions=args.proper_motions, warmup=args.warmup,
        samples=args.samples, chains=args.chains, seed=args.seed, chain_method=args.chain_method,
        target_accept=args.target_accept, max_tree_depth=args.max_tree_depth, dense_mass=not args.diagonal_mass,
        progress=not args.quiet, checkpoint=checkpoint, resume=args.resume,
        parameterization=args.parameterization, init=args.init,
    )
    paths = result.save(args.out, plots=not args.no_plots)
    print(format_summary(result.summary()))
    print("wrote: " + ", ".join(os.path.relpath(p) for p in paths.values()))
    if os.path.exists(checkpoint):
        os.remove(checkpoint)
    return 0


def register(sub):
    p = sub.add_parser("fit", help="fit a star catalogue with NUTS (exact engine or emulator)",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("catalog", help="star catalogue (ECSV or FITS; docs/catalog_format.md)")
    add_model_arguments(p)
    p.add_argument("--likelihood", default=None, choices=["gaussian", "mixture", "binned"],
                   help="gaussian (default), mixture (with contaminants), binned (with --binned)")
    p.add_argument("--binned", action="store_true",
                   help="the file is a binned profile (columns R, sigma_los, sigma_los_err)")
    p.add_argument("--proper-motions", action="store_true", help="fit the proper motions too")
    # the defaults of dynamicall.infer.sample (not imported here: importing JAX before
    # --devices is read would defeat it); tests/test_sampling.py checks they agree
    DEFAULT_CHAINS, DEFAULT_WARMUP, DEFAULT_SAMPLES = 4, 300, 1000
    p.add_argument("--warmup", type=int, default=DEFAULT_WARMUP,
                   help=f"warm-up iterations per chain (default {DEFAULT_WARMUP})")
    p.add_argument("--samples", type=int, default=DEFAULT_SAMPLES,
                   help=f"kept iterations per chain (default {DEFAULT_SAMPLES})")
    p.add_argument("--chains", type=int, default=DEFAULT_CHAINS,
                   help=f"number of chains, run vectorised (default {DEFAULT_CHAINS}; docs/fitting.md)")
    p.add_argument("--parameterization", default="enclosed_mass", choices=["enclosed_mass", "native"],
                   help="sample the halo normalisation as log10 M(<1.8 R_half) (enclosed_mass, default) or "
                        "as its own field, log10 rho_s or log10 m_tot (native)")
    p.add_argument("--init", default="laplace", choices=["laplace", "uniform"],
                   help="start the chains around the posterior mode with its Laplace covariance as mass "
                        "matrix (laplace, default), or uniformly in (-2, 2) unconstrained (uniform)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--chain-method", default="vectorized", choices=["vectorized", "parallel"],
                   help="vectorised chains on one device, or parallel over devices (see --devices)")
    p.add_argument("--devices", type=int, default=None,
                   help="number of host (CPU) devices for --chain-method parallel")
    p.add_argument("--target-accept", type=float, default=0.8, help="NUTS target acceptance (default 0.8)")
    p.add_argument("--max-tree-depth", type=int, default=8, help="NUTS maximum tree depth (default 8)")
    p.add_argument("--diagonal-mass", action="store_true",
                   help="adapt a diagonal mass matrix (default: dense)")
    p.add_argument("--out", default="fit_output", help="output folder (default fit_output)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from OUT/checkpoint.npz")
    p.add_argument("--no-plots", action="store_true", help="skip the plots")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
