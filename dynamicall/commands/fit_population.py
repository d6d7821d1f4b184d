"""``dynamicall fit-population``: hierarchical NUTS fit of several star catalogues at once.

Example::

    dynamicall fit-population population/galaxy*.ecsv --forward zhao_bvh_plummer_v3 \\
        --pool halo.gamma,halo.log10_m_ref,halo.log10_r_s --out population_fit

prints the hyperparameters and per-galaxy masses and slopes, and writes summary.json,
samples.h5, hyper_corner.png (the hyperposterior) and galaxies.png (per-galaxy
M(<1.8 R_half) and inner slope with intervals) to ``population_fit/``. Each galaxy's R_half
comes from its catalogue's metadata. While it runs, ``population_fit/checkpoint.npz`` holds
the progress: the same command with ``--resume`` continues an interrupted run. Outputs are
written as a set; a finished fit is kept unless ``--overwrite`` (as for ``dynamicall fit``).
The model's equations are in docs/population.md.
"""

from __future__ import annotations

import os

from .fit import (CHECKPOINT_NAME, add_model_arguments, add_sampler_arguments, check_catalog,
                  check_output_folder, prepare_output_folder, setup_precision)
from ._options import parse_site_values


def run(args) -> int:
    import pathlib

    if args.R_half is not None:
        raise ValueError("--R-half does not apply to a population: each galaxy's R_half is read from its "
                         "catalogue's metadata (R_half: ...)")
    if args.stellar_mass is not None:
        raise ValueError("--stellar-mass is not supported by fit-population; drop it")
    if len(args.catalogs) < 2:
        raise ValueError(f"a population needs at least 2 catalogues; got {len(args.catalogs)} (fit one with 'dynamicall fit')")
    out = pathlib.Path(args.out)
    checkpoint = out / CHECKPOINT_NAME
    plan = check_output_folder(out, args.resume, args.overwrite)
    from ..data import StarCatalog

    catalogs = []
    for path in args.catalogs:
        data = StarCatalog.read(path)
        if data.R_half is None:
            raise ValueError(f"{path} has no R_half metadata: add it (e.g. 'R_half: 250 pc'), each galaxy needs its own")
        check_catalog(data, None, False, path)
        catalogs.append(data)
    priors = parse_site_values(args.prior)
    pool = tuple(s.strip() for s in args.pool.split(",") if s.strip()) if args.pool else ()
    centred = None if args.centred is None else tuple(s.strip() for s in args.centred.split(",") if s.strip())
    if centred is not None:
        bad = [s for s in centred if s not in pool]
        if bad:
            raise ValueError(f"--centred {args.centred}: {', '.join(bad)} not pooled; centred sites must be among "
                             f"the --pool sites ({', '.join(pool) or 'none'}), or '' for none")
    if args.trend_property is not None:
        for path, c in zip(args.catalogs, catalogs):
            value = c.meta.get(args.trend_property)
            try:
                float(value)
            except (TypeError, ValueError):
                raise ValueError(f"--trend-property {args.trend_property}: {path} has metadata "
                                 f"{args.trend_property} = {value!r}, not a number; add it to every catalogue") from None
    setup_precision(args)
    from ..infer.population import PopulationModel, format_population_summary, population_summary, \
        write_population_outputs
    from ..infer.run import sample

    model = PopulationModel(catalogs, tracer=args.tracer, halo=args.halo, anisotropy=args.anisotropy,
                            forward=args.forward, priors=priors, pool=pool, centred=centred,
                            trend=args.trend_property)
    if not args.quiet:
        print(f"data: {len(catalogs)} catalogues, {len(model.data)} stars; {len(model.sites)} sampled parameters "
              f"({len(model.hyper_sites)} hyperparameters)")
    prepare_output_folder(out, plan, checkpoint, args.resume)
    result = sample(model, warmup=args.warmup, samples=args.samples, chains=args.chains, seed=args.seed,
                    target_accept=args.target_accept, max_tree_depth=args.max_tree_depth,
                    dense_mass=not args.diagonal_mass, progress=not args.quiet, checkpoint=str(checkpoint),
                    resume=args.resume, init=args.init)
    paths = write_population_outputs(result, out, plots=not args.no_plots, overwrite=True)
    print(format_population_summary(population_summary(result)))
    print("wrote: " + ", ".join(os.path.relpath(p) for p in paths.values()))
    return 0


def register(sub):
    p = sub.add_parser("fit-population", help="hierarchical fit of several catalogues (population hyperparameters)",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("catalogs", nargs="+", metavar="CATALOG", help="star catalogues (ECSV or FITS), one per galaxy")
    add_model_arguments(p)
    p.add_argument("--pool", default="halo.gamma,halo.log10_m_ref,halo.log10_r_s",
                   help="halo sites drawn from population distributions, comma-separated "
                        "(default halo.gamma,halo.log10_m_ref,halo.log10_r_s; '' pools none)")
    p.add_argument("--centred", default=None, metavar="SITES",
                   help="pooled sites sampled centred (the galaxy's value itself, not a standard-normal "
                        "offset), comma-separated; default halo.log10_m_ref when pooled (well measured by "
                        "each galaxy's stars), '' for all non-centred")
    p.add_argument("--trend-property", default=None, metavar="NAME",
                   help="catalogue metadata entry (a number, e.g. log10_m_star): pooled means become linear in it")
    # the settings of the recovery benchmark (docs/population.md, part (c)): with 300 warm-up
    # iterations and target acceptance 0.8 the log10 r_s hyperparameters kept r_hat up to 1.05
    add_sampler_arguments(p, out="population_fit", warmup=600, target_accept=0.95)
    p.set_defaults(func=run)
