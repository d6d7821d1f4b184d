"""``dynamicall mock-population``: N mock dwarfs drawn from a stated hyper-truth.

Example::

    dynamicall mock-population --n-galaxies 8 --kind classical --n-stars 200,600 \\
        --hyper halo.gamma=0.8,0.2 --hyper halo.log10_m_ref=7.4,0.3 \\
        --hyper halo.log10_r_s=0.0,0.2 --seed 1 --out population

writes ``population/galaxy00.ecsv`` ... (each readable by ``dynamicall fit`` and
``dynamicall fit-population``) and ``population/truths.json`` (the hyper-truth and every
galaxy's truth), as one set; a folder that already holds files is kept unless
``--overwrite``. docs/population.md walks through the rest.
"""

from __future__ import annotations


def _pair(name):
    def parse(text):
        from ._options import OptionValueError

        parts = str(text).split(",")
        try:
            lo, hi = (float(p) for p in parts)
        except ValueError:
            raise OptionValueError(f"--{name} must be LOW,HIGH (two numbers); got {text!r}") from None
        if not 0 < lo <= hi:
            raise OptionValueError(f"--{name} must satisfy 0 < LOW <= HIGH; got {text!r}")
        return lo, hi
    parse.__name__ = name
    return parse


def parse_hyper(items) -> dict:
    """``["halo.gamma=0.8,0.2", "halo.log10_m_ref=7.4,0.3,0.5"]`` -> hyper-truth dict
    (mean, scatter[, slope]).

    Example
    -------
    >>> parse_hyper(["halo.gamma=0.8,0.2"])
    {'halo.gamma': {'mean': 0.8, 'scatter': 0.2}}
    """
    out = {}
    for item in items or ():
        if "=" not in item:
            raise ValueError(f"--hyper {item!r}: expected SITE=MEAN,SCATTER[,SLOPE], e.g. halo.gamma=0.8,0.2")
        site, text = (s.strip() for s in item.split("=", 1))
        try:
            numbers = [float(x) for x in text.split(",")]
        except ValueError:
            numbers = []
        if len(numbers) not in (2, 3):
            raise ValueError(f"--hyper {item!r}: expected SITE=MEAN,SCATTER[,SLOPE] (numbers), e.g. halo.gamma=0.8,0.2")
        out[site] = dict(zip(("mean", "scatter", "slope"), numbers))
    return out


def run(args) -> int:
    import json

    from .._durable import OutputExistsError, is_nonempty_folder

    if is_nonempty_folder(args.out) and not args.overwrite:
        raise OutputExistsError(f"{args.out} already holds files; pass --overwrite to replace them, or choose another --out")
    hyper = parse_hyper(args.hyper) or None
    if hyper is not None:
        from ..infer.population_mocks import HYPER_TRUTH

        hyper = {**HYPER_TRUTH, **hyper}
    import jax

    jax.config.update("jax_enable_x64", True)
    from ..infer.population_mocks import mock_population, write_population

    pop = mock_population(hyper, args.n_galaxies, args.seed, kind=args.kind, n_stars=args.n_stars,
                          R_half=args.R_half_range, v_err=args.v_err, halo=args.halo, anisotropy=args.anisotropy,
                          trend=args.trend, bounds_forward=args.bounds_forward)
    paths = write_population(pop, args.out, overwrite=args.overwrite)
    print(f"hyper-truth: {json.dumps(pop['truths']['hyper_truth'])}")
    for table in pop["catalogs"]:
        m = table.meta
        print(f"  {m['name']}: {len(table)} stars, R_half {m['R_half']}, gamma {m['truth'].get('halo.gamma', float('nan')):.3f}, "
              f"log10 M(<1.8 R_half) {m['truth'].get('halo.log10_m_ref', float('nan')):.3f}")
    print(f"wrote {len(paths)} files to {args.out}")
    return 0


def register(sub):
    p = sub.add_parser("mock-population", help="write N mock catalogues drawn from a hyper-truth",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("--n-galaxies", type=int, default=8, help="number of galaxies (default 8)")
    p.add_argument("--kind", default="classical", choices=["classical", "ultra-faint", "mixed"],
                   help="sizes, star counts and errors like the classical dwarfs (R_half 0.2-1 kpc, 200-2000 stars, "
                        "1-3 km/s), the ultra-faints (20-100 pc, 20-100 stars, 2-5 km/s) or both alternately")
    p.add_argument("--n-stars", type=_pair("n-stars"), default=None, help="stars per galaxy LOW,HIGH (overrides --kind)")
    p.add_argument("--R-half-range", type=_pair("R-half-range"), default=None,
                   help="R_half LOW,HIGH in kpc, log-uniform (overrides --kind)")
    p.add_argument("--v-err", type=_pair("v-err"), default=None, help="velocity errors LOW,HIGH km/s (overrides --kind)")
    p.add_argument("--hyper", action="append", default=[], metavar="SITE=MEAN,SCATTER[,SLOPE]",
                   help="hyper-truth of a pooled site (repeatable; default halo.gamma=0.8,0.2 "
                        "halo.log10_m_ref=7.4,0.3 halo.log10_r_s=0.0,0.2)")
    p.add_argument("--trend", default=None, metavar="NAME",
                   help="a galaxy property (e.g. log10_m_star, uniform 5-7) written to each catalogue; SLOPEs apply to it")
    p.add_argument("--halo", default="zhao", help="halo family (default zhao)")
    p.add_argument("--anisotropy", default="baes-van-hese", help="anisotropy family (default baes-van-hese)")
    p.add_argument("--bounds-forward", default="zhao_bvh_plummer_v3",
                   help="truncate pooled sites to this forward model's prior box (default the shipped emulator's domain)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", required=True, help="output folder (catalogues + truths.json)")
    p.add_argument("--overwrite", action="store_true", help="replace a folder that already holds files")
    p.set_defaults(func=run)
