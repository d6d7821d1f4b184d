"""``dynamicall forecast``: Fisher-forecast 1 sigma errors of a planned survey.

Example::

    dynamicall forecast --halo nfw --anisotropy constant --R-half "250 pc" \\
        --truth halo.log10_rho_s=7.5 --truth halo.log10_r_s=0 --truth anisotropy.beta=0 \\
        --n-stars 100 300 1000 3000 --v-err 2

prints, for each number of stars, the Cramer-Rao 1 sigma error of every free parameter
and of the derived quantities (M(<1.8 R_half), rho(150 pc), ...). ``--truth-from`` takes
the truth and R_half of a mock catalogue instead.
"""

from __future__ import annotations

import numpy as np

from .fit import _stellar_mass, add_model_arguments, parse_site_values, setup_precision


def _errors(text):
    """'2' -> [2.0]; '1,3' -> 8 values spread evenly over [1, 3] (a uniform error
    distribution)."""
    parts = [float(x) for x in str(text).split(",")]
    if len(parts) == 1:
        return np.array(parts)
    if len(parts) != 2 or not parts[0] < parts[1]:
        raise ValueError(f"errors: give one value or LOWER,UPPER; got {text!r}")
    return parts[0] + (parts[1] - parts[0]) * (np.arange(8) + 0.5) / 8


def format_forecast(out, title="") -> str:
    """The forecast of :func:`dynamicall.infer.fisher.forecast` as a text table:
    absolute 1 sigma errors for parameters, relative (%) for derived quantities."""
    from ..infer.derived import DERIVED

    ns = out["n_stars"]
    head = f"{'parameter':26s} {'truth':>11s} " + " ".join(f"{'N=' + format(int(n)):>10s}" for n in ns)
    lines = [title, head] if title else [head]
    for name, sig in out["sigma"].items():
        value = out["values"].get(name, float("nan"))
        unit = out["units"].get(name, "")
        if name in DERIVED:
            if name in ("log_slope_150pc", "beta_R_half"):
                cells = " ".join(f"{s:10.3g}" for s in sig)
            else:
                cells = " ".join(f"{100 * s / abs(value):9.3g}%" for s in sig)
            label = f"{name} [{unit}]" if unit else name
        else:
            cells = " ".join(f"{s:10.3g}" for s in sig)
            label = name
        lines.append(f"{label[:26]:26s} {value:11.4g} {cells}")
    lines.append("(derived masses and densities: relative errors; everything else: absolute 1 sigma)")
    return "\n".join(lines)


def run(args) -> int:
    setup_precision(args)
    from ..data import StarCatalog, parse_quantity
    from ..infer import ModelSpec, SurveyDesign, forecast, prior_standard_deviations

    truth = {}
    R_half = parse_quantity(args.R_half, "length") if args.R_half else None
    distance = parse_quantity(args.distance, "length") if args.distance else None
    if args.truth_from:
        cat = StarCatalog.read(args.truth_from)
        if not isinstance(cat.truth, dict):
            raise SystemExit(f"{args.truth_from} has no 'truth' metadata")
        truth.update({k: float(v) for k, v in cat.truth.items() if "." in k or k == "v_sys"})
        R_half = R_half if R_half is not None else cat.R_half
        distance = distance if distance is not None else cat.distance
    truth.update({k: float(v) for k, v in parse_site_values(args.truth, "truth").items()})
    spec = ModelSpec(args.tracer, args.halo, args.anisotropy, R_half=R_half,
                     priors=parse_site_values(args.prior), forward=args.forward,
                     stellar_mass=_stellar_mass(args.stellar_mass))
    truth = {k: v for k, v in truth.items() if k in spec.sites or k == "v_sys"}
    missing = [s for s in spec.sites if s not in truth]
    if missing:
        raise SystemExit(f"give a truth for {missing} (--truth SITE=VALUE), or fix them (--prior SITE=VALUE)")
    tracer = spec.build(truth)[0]
    R_max = args.R_max * spec.R_half
    design = SurveyDesign.from_tracer(
        tracer, float(args.n_stars[0]), _errors(args.v_err), R_max=R_max,
        pm_err=None if args.pm_err is None else _errors(args.pm_err), distance=distance,
    )
    widths = prior_standard_deviations(spec) if args.prior_widths else None
    out = forecast(spec, truth, design, args.n_stars, prior_widths=widths)
    title = (f"Fisher forecast (Cramer-Rao 1 sigma), forward: {spec.forward.name}; v_err {args.v_err} km/s"
             f"{'' if args.pm_err is None else f', pm_err {args.pm_err} mas/yr'}; R <= {args.R_max:g} R_half"
             f"{'; priors as Gaussian widths' if widths else ''}")
    print(format_forecast(out, title))
    if args.plot:
        from ..infer.plots import forecast_plot

        forecast_plot(out, args.plot)
        print(f"wrote {args.plot}")
    return 0


def register(sub):
    p = sub.add_parser("forecast", help="Fisher-forecast errors of a survey (exact engine or emulator)",
                       description=__doc__.split("\n\n")[0])
    add_model_arguments(p)
    p.add_argument("--truth", action="append", default=[], metavar="SITE=VALUE",
                   help="true value of a free parameter (sampled coordinates: log10 for scales); repeatable")
    p.add_argument("--truth-from", default=None, metavar="CATALOG",
                   help="take the truth, R_half and distance from a mock catalogue's metadata")
    p.add_argument("--n-stars", type=float, nargs="+", default=[100, 300, 1000],
                   help="survey sizes (default 100 300 1000)")
    p.add_argument("--v-err", default="2", help="velocity error, km/s: VALUE or LOWER,UPPER (default 2)")
    p.add_argument("--pm-err", default=None,
                   help="proper-motion error per component, mas/yr: VALUE or LOWER,UPPER (needs --distance)")
    p.add_argument("--distance", default=None, help="distance, e.g. '80 kpc' (for proper motions)")
    p.add_argument("--R-max", type=float, default=5.0,
                   help="outer edge of the survey in units of R_half (default 5)")
    p.add_argument("--prior-widths", action="store_true",
                   help="add each prior's standard deviation as Gaussian prior information")
    p.add_argument("--plot", default=None, help="write a plot of the errors against N (PNG)")
    p.set_defaults(func=run)
