"""``dynamicall forecast``: forecast 1 sigma errors of a planned survey.

Example::

    dynamicall forecast --truth-from data/mock_dwarf.ecsv --halo zhao --anisotropy baes-van-hese \\
        --n-stars 100 400 1600 --v-err 2 --target M_1.8_R_half=10% --json forecast.json

prints, for each survey design (every combination of ``--v-err`` and ``--R-max``) and
each number of stars, the 1 sigma error of every free parameter and of the derived
quantities (M(<1.8 R_half), rho(150 pc), ...), and for each ``--target`` the number of
stars that reaches it. By default (``--method posterior``) the errors are the standard
deviations of the noise-free posterior (NUTS on the expected log-likelihood of the survey
with the priors a fit would use; ~30-45 s per survey size for a 9-parameter model), which keeps the curved
degeneracies and the priors' bounds of the real posterior; ``--realisations K`` averages
instead the posterior widths of K simulated surveys and prints the 16-84 % range of the
width one survey gets (K runs, vectorised). ``--method fisher`` is the
instant Gaussian forecast (Fisher information plus the priors' information: exact
curvature of each prior, or the equal-entropy Gaussian of a flat one); ``--no-priors``
gives the bare Cramer-Rao bound. Results dominated by their prior are marked.
``--truth-from`` takes the truth, R_half and distance of a mock catalogue.
"""

from __future__ import annotations

import itertools
import os
import sys

import numpy as np

from .fit import _stellar_mass, add_model_arguments, parse_site_values, setup_precision

#: Derived quantities printed as relative (%) errors.
RELATIVE = ("M_1.8_R_half", "rho_150pc")


def _errors(text):
    """'2' -> [2.0]; '1,3' -> 8 values spread evenly over [1, 3] (a uniform error
    distribution).

    Example
    -------
    >>> _errors("1,3")[:2].tolist()
    [1.125, 1.375]
    """
    try:
        parts = [float(x) for x in str(text).split(",")]
    except ValueError:
        raise ValueError(f"errors: give VALUE or LOWER,UPPER (numbers); got {text!r}") from None
    if not all(np.isfinite(p) and p >= 0 for p in parts):
        raise ValueError(f"errors must be finite and >= 0; got {text!r}")
    if len(parts) == 1:
        return np.array(parts)
    if len(parts) != 2 or not parts[0] < parts[1]:
        raise ValueError(f"errors: give one value or LOWER,UPPER with LOWER < UPPER; got {text!r}")
    return parts[0] + (parts[1] - parts[0]) * (np.arange(8) + 0.5) / 8


def _cell(name, sigma, value, dominated):
    mark = "*" if dominated else " "
    if not np.isfinite(sigma):
        return f"{'unconstr.':>10s}{mark}"
    if name in RELATIVE:
        return f"{100 * sigma / abs(value):9.3g}%{mark}"
    return f"{sigma:10.3g}{mark}"


def format_forecast(out, title="") -> str:
    """The forecast of :func:`dynamicall.infer.fisher.forecast` as a text table:
    absolute 1 sigma errors for parameters, relative (%) for masses and densities, the
    prior-only width beside the truth, and ``*`` on prior-dominated entries."""
    ns = out["n_stars"]
    head = (f"{'quantity':26s} {'truth':>11s} {'prior 1sig':>11s} "
            + " ".join(f"{'N=' + format(int(round(n))):>11s}" for n in ns))
    lines = [title, head] if title else [head]
    for name, sig in out["sigma"].items():
        value = out["values"].get(name, float("nan"))
        unit = out["units"].get(name, "")
        label = f"{name} [{unit}]" if unit and name not in out.get("prior_sources", {}) and name != "v_sys" else name
        prior = out["prior_sigma"].get(name, np.inf)
        prior_cell = _cell(name, prior, value, False) if np.isfinite(prior) else f"{'-':>10s} "
        cells = " ".join(_cell(name, s, value, d) for s, d in zip(sig, out["prior_dominated"][name]))
        lines.append(f"{label[:26]:26s} {value:11.4g} {prior_cell} {cells}")
    lines.append("(masses and densities: relative errors; everything else: absolute 1 sigma; "
                 "* prior-dominated: error > 0.71 x the priors-alone width"
                 + ("; unconstr.: not bounded by the data alone" if not out["priors"] else "") + ")")
    return "\n".join(lines)


def _format_spread(out) -> str:
    """The 16-84 % range of the simulated surveys' widths of the relative quantities."""
    cells = []
    for name in RELATIVE:
        if name in out["spread"]:
            v = abs(out["values"][name])
            cells.append(f"{name} " + ", ".join(f"{100 * lo / v:.3g}-{100 * hi / v:.3g} %"
                                                  for lo, hi in out["spread"][name]))
    return (f"(one survey's width, 16-84 % of the {out['realisations']} simulated surveys per size: "
            + "; ".join(cells) + ")")


def _format_target(t, design_label):
    what = f"{t['quantity']} to {100 * t['target']:g} %" if t["relative"] else f"{t['quantity']} to {t['target']:g}"
    n = t["n_stars"]
    if n == 0:
        return f"target {what} ({design_label}): the priors alone reach it"
    if not np.isfinite(n):
        err = t["sigma_at_n_max"]
        err_text = f"{100 * err:.3g} %" if t["relative"] else f"{err:.3g}"
        return (f"target {what} ({design_label}): not reached with {t['n_max']:.0e} stars (the error levels "
                f"off at {err_text}: the data do not constrain it beyond the priors)")
    return f"target {what} ({design_label}): N = {int(np.ceil(n))} stars"


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return [_jsonable(v) for v in x.tolist()]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if np.isfinite(x) else None  # JSON has no inf: null = unbounded
    return x


def _check_output(path, overwrite, what):
    if path and os.path.exists(path) and not overwrite:
        raise ValueError(f"{what} {path} exists: choose another name or pass --overwrite")


def spec_and_truth(args, pooled=()):
    """The model (``args``: :func:`add_model_arguments` and the parameterisation) and the
    truth of its free sites (``--truth-from`` then ``--truth``; a halo normalisation
    given in the other parameterisation is converted). ``pooled`` sites may lack a truth
    (a population forecast sets them).

    Returns
    -------
    (ModelSpec, dict site -> value, the catalogue's distance or None)
    """
    from ..data import StarCatalog, parse_quantity
    from ..infer import ModelSpec
    from ..infer.fisher import truth_in_parameterization

    truth, distance = {}, None
    R_half = parse_quantity(args.R_half, "length") if args.R_half else None
    if args.truth_from:
        cat = StarCatalog.read(args.truth_from)
        if not isinstance(cat.truth, dict):
            raise ValueError(f"{args.truth_from} has no 'truth' metadata: give --truth SITE=VALUE instead")
        truth.update({k: float(v) for k, v in cat.truth.items() if "." in k or k == "v_sys"})
        R_half = R_half if R_half is not None else cat.R_half
        distance = cat.distance
    truth.update({k: float(v) for k, v in parse_site_values(args.truth, "truth").items()})
    spec = ModelSpec(args.tracer, args.halo, args.anisotropy, R_half=R_half,
                     priors=parse_site_values(args.prior), forward=args.forward,
                     stellar_mass=_stellar_mass(args.stellar_mass), parameterization=args.parameterization)
    truth = truth_in_parameterization(spec, truth)
    truth = {k: v for k, v in truth.items() if k in spec.sites or k == "v_sys"}
    missing = [s for s in spec.sites if s not in truth and s not in pooled]
    if missing:
        raise ValueError(f"give a truth for {missing} (--truth SITE=VALUE), or fix them (--prior SITE=VALUE)")
    return spec, truth, distance


def add_parameterization(p):
    """``--parameterization``, default as ``fit``: the halo normalisation sampled as
    log10 M(<1.8 R_half)."""
    p.add_argument("--parameterization", default="enclosed_mass", choices=["enclosed_mass", "native"],
                   help="the halo normalisation as log10 M(<1.8 R_half), halo.log10_m_ref (enclosed_mass, "
                        "default, as fit) or as its own field, log10 rho_s or log10 m_tot (native); a truth "
                        "in either is converted")


def add_truth_arguments(p):
    """``--truth SITE=VALUE`` (repeatable) and ``--truth-from CATALOG``."""
    p.add_argument("--truth", action="append", default=[], metavar="SITE=VALUE",
                   help="true value of a free parameter (sampled coordinates: log10 for scales); repeatable")
    p.add_argument("--truth-from", default=None, metavar="CATALOG",
                   help="take the truth, R_half and distance from a mock catalogue's metadata")


def _run(args) -> int:
    from ..data import parse_quantity
    from ..infer.fisher import fisher_matrix, fisher_sigma_function, forecast, parse_target, stars_for_target
    from ..infer.posterior_forecast import PosteriorForecaster, posterior_forecast, posterior_stars_for_target
    from ..infer.survey import SurveyDesign

    _check_output(args.json, args.overwrite, "--json")
    _check_output(args.plot, args.overwrite, "--plot")
    targets = [parse_target(t) for t in args.target]
    v_errs = [(text, _errors(text)) for text in args.v_err]
    pm_err = None if args.pm_err is None else _errors(args.pm_err)
    if any(not (np.isfinite(r) and r > 0) for r in args.R_max):
        raise ValueError(f"--R-max must be > 0 (units of R_half); got {args.R_max}")
    if any(not (np.isfinite(n) and n > 0) for n in args.n_stars):
        raise ValueError(f"--n-stars must be > 0; got {args.n_stars}")
    spec, truth, distance = spec_and_truth(args)
    distance = parse_quantity(args.distance, "length") if args.distance else distance
    tracer = spec.build(truth)[0]
    priors = not args.no_priors
    method = args.method or ("fisher" if args.no_priors else "posterior")
    if method == "posterior" and not priors:
        raise ValueError("--no-priors is a Fisher bound: use it with --method fisher")
    if args.realisations < 0:
        raise ValueError(f"--realisations must be >= 0 (0: the noise-free posterior); got {args.realisations}")
    if args.realisations and method != "posterior":
        raise ValueError("--realisations simulates surveys for the posterior forecast: drop --method fisher "
                         "or --realisations")
    if method == "posterior":
        what = (f"the mean standard deviation of the NUTS posteriors of {args.realisations} simulated surveys"
                if args.realisations else
                "standard deviations of the noise-free posterior: NUTS on the expected log-likelihood")
        header = (f"Posterior forecast (default), forward: {spec.forward.name}, halo normalisation: "
                  f"{spec.parameterization}; {what} with the priors a fit uses (--method fisher for the "
                  "instant Gaussian forecast)")
    else:
        header = (f"Fisher forecast, forward: {spec.forward.name}, halo normalisation: {spec.parameterization}; "
                  + ("Fisher information + the priors' information (the priors a fit uses: exact "
                     "curvature, or the equal-entropy Gaussian of a flat prior; --no-priors for the bare "
                     "Cramer-Rao bound)"
                     if priors else "--no-priors: bare Cramer-Rao bound, no prior information"))
    print(header)
    results, answers = [], []
    for (v_text, v_err), R_max in itertools.product(v_errs, args.R_max):
        label = (f"v_err {v_text} km/s, R <= {R_max:g} R_half"
                 + ("" if pm_err is None else f", pm_err {args.pm_err} mas/yr"))
        design = SurveyDesign.from_tracer(tracer, float(args.n_stars[0]), v_err, R_max=R_max * spec.R_half,
                                          pm_err=pm_err, distance=distance)
        # once per design: the Fisher table and the targets share it (the posterior needs it
        # only as the targets' first guess)
        F = fisher_matrix(spec, truth, design) if method == "fisher" or targets else None
        if method == "posterior":
            posterior = PosteriorForecaster(spec, truth, design, realisations=args.realisations)
            out = posterior_forecast(spec, truth, design, args.n_stars, forecaster=posterior)
            fisher_sigma = fisher_sigma_function(spec, truth, design, fisher=F) if targets else None
        else:
            out = forecast(spec, truth, design, args.n_stars, priors=priors, fisher=F)
        print()
        print(format_forecast(out, f"== {label} =="))
        if method == "posterior":
            print(f"(NUTS per size: max r_hat {', '.join(f'{r:.3f}' for r in out['r_hat'])}; "
                  f"divergences {', '.join(str(int(d)) for d in out['divergences'])})")
        if "spread" in out:
            print(_format_spread(out))
        found = []
        for quantity, value, relative in targets:
            if method == "posterior":
                t = posterior_stars_for_target(posterior, lambda n, q=quantity: fisher_sigma(n)[q], quantity,
                                               value, relative=relative)
            else:
                t = stars_for_target(spec, truth, design, quantity, value, relative=relative, priors=priors,
                                     fisher=F)
            print(_format_target(t, label))
            found.append(t)
        results.append((label, dict(v_err=v_text, R_max_R_half=R_max, R_max_kpc=R_max * spec.R_half), out))
        answers.append(found)
    if args.plot:
        from ..infer.forecast_plots import forecast_plot

        forecast_plot([(label, out) for label, _, out in results], args.plot, targets=targets)
        print(f"wrote {args.plot}")
    if args.json:
        from .._durable import write_json

        doc = dict(
            method=results[0][2]["method"], priors=priors, forward=spec.forward.name,
            model=spec.describe(), truth=truth, R_half_kpc=spec.R_half,
            prior_sources=results[0][2]["prior_sources"],
            designs=[dict(label=label, **design,
                          n_stars=out["n_stars"], sigma=out["sigma"], values=out["values"], units=out["units"],
                          relative_sigma={k: np.asarray(out["sigma"][k]) / abs(out["values"][k])
                                          for k in RELATIVE if k in out["sigma"]},
                          prior_sigma=out["prior_sigma"], prior_dominated=out["prior_dominated"],
                          **({"spread_16_84": out["spread"]} if "spread" in out else {}),
                          targets=found)
                     for (label, design, out), found in zip(results, answers)],
            notes="sigma: 1 sigma forecast per n_stars; null = not bounded; relative_sigma = sigma / |value|",
        )
        write_json(args.json, _jsonable(doc))
        print(f"wrote {args.json}")
    return 0


def run(args) -> int:
    setup_precision(args)
    return _run(args)  # user errors are reported in one line by dynamicall.cli


def register(sub):
    p = sub.add_parser("forecast", help="forecast the errors of a survey (exact engine or emulator)",
                       description=__doc__.split("\n\n")[0])
    add_model_arguments(p)
    add_parameterization(p)
    add_truth_arguments(p)
    p.add_argument("--n-stars", type=float, nargs="+", default=[100, 300, 1000],
                   help="survey sizes (default 100 300 1000)")
    p.add_argument("--v-err", nargs="+", default=["2"],
                   help="velocity error(s), km/s: VALUE or LOWER,UPPER (a uniform spread); several give "
                        "one design each (default 2)")
    p.add_argument("--pm-err", default=None,
                   help="proper-motion error per component, mas/yr: VALUE or LOWER,UPPER (needs --distance)")
    p.add_argument("--distance", default=None, help="distance, e.g. '80 kpc' (for proper motions)")
    p.add_argument("--R-max", type=float, nargs="+", default=[5.0],
                   help="outer edge(s) of the survey in units of R_half; several give one design each (default 5)")
    p.add_argument("--method", default=None, choices=["posterior", "fisher"],
                   help="posterior (default): standard deviations of the noise-free posterior, by NUTS "
                        "(~30-45 s per survey size for a 9-parameter model); fisher: the instant Gaussian forecast")
    p.add_argument("--realisations", type=int, default=0, metavar="K",
                   help="posterior method: average the posterior widths of K simulated surveys (the width "
                        "a survey gets scatters) and print their 16-84 %% range, instead of the noise-free "
                        "posterior (default 0: noise-free; K = 16 costs ~6x)")
    p.add_argument("--no-priors", action="store_true",
                   help="with --method fisher: the bare Cramer-Rao bound, without the priors' information")
    p.add_argument("--target", action="append", default=[], metavar="QUANTITY=VALUE",
                   help="how many stars to reach a 1 sigma error: e.g. M_1.8_R_half=10%% (relative) or "
                        "halo.gamma=0.2 (absolute); repeatable")
    p.add_argument("--json", default=None, metavar="FILE", help="write the results as JSON (atomically)")
    p.add_argument("--plot", default=None, metavar="FILE", help="write a plot of the errors against N (PNG)")
    p.add_argument("--overwrite", action="store_true", help="replace existing --json / --plot files")
    p.set_defaults(func=run)
