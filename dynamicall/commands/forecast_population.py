"""``dynamicall forecast-population``: how well N galaxies of n stars each would measure a
population's hyperparameters (the mean, scatter and trend of pooled halo parameters).

Example::

    dynamicall forecast-population --truth-from data/mock_dwarf.ecsv \\
        --scatter halo.gamma=0.3 --scatter halo.log10_m_ref=0.2 --scatter halo.log10_r_s=0.2 \\
        --n-galaxies 5 10 20 40 --n-stars 100 400 1600 --v-err 2 --json pop.json --plot pop.png

prints, for each hyperparameter, its 1 sigma forecast on a grid of the number of
galaxies (rows) and stars per galaxy (columns). The galaxies share the model and the
truth of ``--truth``/``--truth-from`` except for the pooled sites (default: ``halo.gamma``,
``halo.log10_m_ref``, ``halo.log10_r_s``), whose values follow the population
(``--mean``, default the truth's value; ``--scatter``, default 0.2; ``--slope`` with
``--property-range`` for a trend). Method: :mod:`dynamicall.infer.population_fisher`.
"""

from __future__ import annotations

import numpy as np

from .fit import add_model_arguments, parse_site_values, setup_precision
from .forecast import _check_output, _errors, _jsonable, add_parameterization, add_truth_arguments, spec_and_truth

#: Scatter of a pooled site when ``--scatter`` does not give one.
DEFAULT_SCATTER = 0.2


def _numbers(items, what):
    values = parse_site_values(items, what)
    for site, v in values.items():
        if isinstance(v, tuple) or not isinstance(v, (int, float)):
            raise ValueError(f"--{what} {site}: give one number, e.g. --{what} {site}=0.2")
    return {k: float(v) for k, v in values.items()}


def _range(text):
    try:
        lo, hi = (float(x) for x in str(text).split(","))
    except ValueError:
        raise ValueError(f"--property-range: give LOWER,UPPER (numbers); got {text!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"--property-range: need finite LOWER < UPPER; got {text!r}")
    return lo, hi


def hyper_truth(args, spec, truth):
    """The :class:`~dynamicall.infer.population_fisher.HyperTruth` of the options."""
    from ..infer.population_fisher import DEFAULT_POOLED, HyperTruth

    pooled = tuple(args.pooled) if args.pooled else tuple(s for s in DEFAULT_POOLED if s in spec.sites)
    if not pooled:
        raise ValueError(f"none of the default pooled sites {list(DEFAULT_POOLED)} is free in this model: "
                         f"name them with --pooled SITE ...; the free sites are {list(spec.sites)}")
    bad = [s for s in pooled if s not in spec.sites]
    if bad:
        raise ValueError(f"--pooled {bad}: not free parameters of the model; choose from {list(spec.sites)}"
                         + (" (halo.log10_m_ref needs --parameterization enclosed_mass)"
                            if "halo.log10_m_ref" in bad else ""))
    mean, scatter, slope = (_numbers(getattr(args, k), k) for k in ("mean", "scatter", "slope"))
    for what, table in (("mean", mean), ("scatter", scatter), ("slope", slope)):
        extra = sorted(set(table) - set(pooled))
        if extra:
            raise ValueError(f"--{what} {extra}: not pooled; the pooled sites are {list(pooled)} (--pooled)")
    no_mean = [s for s in pooled if s not in mean and s not in truth]
    if no_mean:
        raise ValueError(f"give the population mean of {no_mean}: --mean SITE=VALUE (or a --truth)")
    if slope and args.property_range is None:
        raise ValueError("--slope needs the galaxies' property spread: --property-range LOWER,UPPER")
    prange = None if args.property_range is None else _range(args.property_range)
    ref = args.property_ref if args.property_ref is not None else (0.0 if prange is None else sum(prange) / 2)
    return HyperTruth(mean={s: mean.get(s, truth.get(s)) for s in pooled},
                      scatter={s: scatter.get(s, DEFAULT_SCATTER) for s in pooled},
                      slope=slope, property_ref=ref), prange


def format_population(out) -> str:
    """The grid of :func:`~dynamicall.infer.population_fisher.population_forecast` as text:
    one block per hyperparameter, rows the number of galaxies, columns stars per galaxy."""
    ns = out["n_stars"]
    head = f"{'hyperparameter':28s} {'truth':>9s} {'galaxies':>8s} " + " ".join(
        f"{'n=' + format(int(round(n))):>10s}" for n in ns)
    lines = [head]
    for name in out["names"]:
        for i, N in enumerate(out["n_galaxies"]):
            cells = " ".join(
                (f"{s:10.3g}" if np.isfinite(s) else f"{'unconstr.':>10s}") + ("*" if d else " ")
                for s, d in zip(out["sigma"][name][i], out["prior_dominated"][name][i]))
            label, truth = (name, f"{out['values'][name]:9.4g}") if i == 0 else ("", "")
            lines.append(f"{label:28s} {truth:>9s} {int(round(N)):8d} {cells}")
    for site, s in out["galaxy_sigma"].items():
        cells = " ".join(f"{v:10.3g} " if np.isfinite(v) else f"{'unconstr.':>10s} " for v in s)
        lines.append(f"{'one galaxy: ' + site:28s} {'':9s} {'':8s} {cells}")
    lines.append("(1 sigma; 'one galaxy': a single galaxy's own error on the site, median over the representative "
                 "galaxies; * dominated by the mean's prior: error > 0.71 x the prior-only width)")
    return "\n".join(lines)


def _run(args) -> int:
    from ..infer.population_fisher import DEFAULT_POOLED, population_forecast
    from ..infer.survey import SurveyDesign

    _check_output(args.json, args.overwrite, "--json")
    _check_output(args.plot, args.overwrite, "--plot")
    for what, values in (("--n-galaxies", args.n_galaxies), ("--n-stars", args.n_stars)):
        if any(not (np.isfinite(n) and n > 0) for n in values):
            raise ValueError(f"{what} must be > 0; got {values}")
    if not (np.isfinite(args.R_max) and args.R_max > 0):
        raise ValueError(f"--R-max must be > 0 (units of R_half); got {args.R_max}")
    if args.representatives < 1:
        raise ValueError(f"--representatives must be >= 1; got {args.representatives}")
    v_err = _errors(args.v_err)
    spec, truth, _ = spec_and_truth(args, pooled=tuple(args.pooled) if args.pooled else DEFAULT_POOLED)
    hyper, prange = hyper_truth(args, spec, truth)
    base = {**truth, **hyper.centre(hyper.property_ref)}
    design = SurveyDesign.from_tracer(spec.build(base)[0], float(args.n_stars[0]), v_err,
                                      R_max=args.R_max * spec.R_half)
    print(f"population Fisher forecast, forward: {spec.forward.name}, halo normalisation: {spec.parameterization}; "
          f"v_err {args.v_err} km/s, R <= {args.R_max:g} R_half; {args.representatives} representative galaxies")
    print("hyper-truth: " + ", ".join(f"{k}={v:.4g}" for k, v in hyper.values.items())
          + (f" (property x_ref={hyper.property_ref:g}, range {prange})" if hyper.slope else ""))
    out = population_forecast(spec, truth, design, hyper, args.n_galaxies, args.n_stars,
                              representatives=args.representatives, property_range=prange,
                              hyper_priors=not args.no_hyper_priors)
    print(f"method: {out['method']}")
    if out["moved"]:
        print(f"note: representative values of {out['moved']} outside their prior were moved inside it")
    print()
    print(format_population(out))
    if args.plot:
        from ..infer.forecast_plots import population_forecast_plot

        population_forecast_plot(out, args.plot)
        print(f"wrote {args.plot}")
    if args.json:
        from .._durable import write_json

        doc = dict(method=out["method"], forward=spec.forward.name, model=spec.describe(), truth=truth,
                   hyper_truth=dict(mean=hyper.mean, scatter=hyper.scatter, slope=hyper.slope,
                                    property_ref=hyper.property_ref, property_range=prange),
                   design=dict(v_err=args.v_err, R_max_R_half=args.R_max),
                   **{k: out[k] for k in ("n_galaxies", "n_stars", "names", "values", "sigma", "prior_sigma",
                                          "prior_dominated", "galaxy_sigma", "representatives", "moved")},
                   notes="sigma[name][i][j]: 1 sigma with n_galaxies[i] galaxies of n_stars[j] stars; "
                         "null = unconstrained")
        write_json(args.json, _jsonable(doc))
        print(f"wrote {args.json}")
    return 0


def run(args) -> int:
    setup_precision(args)
    return _run(args)  # user errors are reported in one line by dynamicall.cli


def register(sub):
    p = sub.add_parser("forecast-population",
                       help="Fisher-forecast errors of a population's hyperparameters (mean, scatter, trend)",
                       description=__doc__.split("\n\n")[0])
    add_model_arguments(p)
    add_parameterization(p)
    add_truth_arguments(p)
    p.add_argument("--pooled", nargs="+", default=None, metavar="SITE",
                   help="the pooled halo sites (default: halo.gamma halo.log10_m_ref halo.log10_r_s, those free)")
    p.add_argument("--mean", action="append", default=[], metavar="SITE=VALUE",
                   help="population mean of a pooled site (default: its --truth value); repeatable")
    p.add_argument("--scatter", action="append", default=[], metavar="SITE=VALUE",
                   help=f"population scatter (standard deviation, > 0) of a pooled site (default {DEFAULT_SCATTER}); "
                        f"repeatable")
    p.add_argument("--slope", action="append", default=[], metavar="SITE=VALUE",
                   help="trend of a pooled site with a galaxy property (needs --property-range); repeatable")
    p.add_argument("--property-range", default=None, metavar="LOWER,UPPER",
                   help="spread of the galaxy property (e.g. log10 stellar mass 5,8), uniform")
    p.add_argument("--property-ref", type=float, default=None,
                   help="reference value x_ref of the property (default: the middle of --property-range)")
    p.add_argument("--n-galaxies", type=float, nargs="+", default=[5, 10, 20, 40],
                   help="numbers of galaxies (default 5 10 20 40)")
    p.add_argument("--n-stars", type=float, nargs="+", default=[100, 400, 1600],
                   help="stars per galaxy (default 100 400 1600)")
    p.add_argument("--v-err", default="2", help="velocity error, km/s: VALUE or LOWER,UPPER (default 2)")
    p.add_argument("--R-max", type=float, default=5.0, help="outer edge of each survey, units of R_half (default 5)")
    p.add_argument("--representatives", type=int, default=8,
                   help="galaxies standing for the population's spread (default 8)")
    p.add_argument("--no-hyper-priors", action="store_true",
                   help="no prior information on the means (default: each mean gets its site's prior in fit, once)")
    p.add_argument("--json", default=None, metavar="FILE", help="write the results as JSON (atomically)")
    p.add_argument("--plot", default=None, metavar="FILE", help="write a plot of the errors (PNG)")
    p.add_argument("--overwrite", action="store_true", help="replace existing --json / --plot files")
    p.set_defaults(func=run)
