"""``dynamicall mock``: write a mock star catalogue (ECSV, docs/catalog_format.md).

Example::

    dynamicall mock --tracer plummer --m-star 1e6 --R-half 0.25kpc --halo nfw --m200 1e9 \\
        --c 15 --anisotropy constant --beta 0.2 --n-stars 500 --v-err 2 --distance 80kpc \\
        --seed 1 --out mock.ecsv

Numbers without units are in kpc, km/s, Msun, mas/yr; values such as ``0.25kpc`` or
``250pc`` are parsed by astropy.
"""

from __future__ import annotations

from ._options import add_R_half, error_spec, length, quantity
from ..registry import lookup, names, spelling

#: Families the mock generator draws tracers from (those with a total mass m_tot).
TRACERS = ("plummer", "hernquist", "dehnen", "sersic", "exponential")
#: Every profile family of the registry can be the halo, or none.
HALOES = (*names("profile"), "none")
ANISOTROPIES = tuple(names("anisotropy"))


def family_name(kind, allowed):
    """argparse type: any registry spelling or alias -> its canonical spelling."""
    def parse(text):
        if kind == "profile" and text.lower() == "none":
            return "none"
        name = spelling(lookup(text, kind))
        if name not in allowed:
            raise ValueError(f"{text!r} is not one of {list(allowed)}")
        return name
    parse.__name__ = f"{kind} family"
    return parse


def _tracer(args):
    from ..profiles import Dehnen
    from ..units import to_kpc

    family = args.tracer
    if family in ("sersic", "exponential"):  # defined by their light: R_e = R_half
        from ..profiles import Sersic

        n = args.sersic_n if family == "sersic" else 1.0
        return Sersic(m_tot=args.m_star if args.m_star > 0 else 1.0, R_e=float(to_kpc(args.r_half)), n=n)
    cls = lookup(family, "profile")
    extra = {"gamma": args.tracer_gamma} if cls is Dehnen else {}
    unit = cls(m_tot=1.0, r_s=1.0, **extra)
    r_s = float(to_kpc(args.r_half)) / float(unit.half_light_radius())
    # a massless tracer still needs a positive normalisation (it cancels)
    return cls(m_tot=args.m_star if args.m_star > 0 else 1.0, r_s=r_s, **extra)


def _halo(args):
    from ..profiles import NFW, CoreNFW

    params = {}
    for item in args.halo_param:
        if "=" not in item:
            raise ValueError(f"--halo-param takes NAME=VALUE; got {item!r}")
        name, value = item.split("=", 1)
        params[name.strip()] = quantity(value.strip())
    if args.halo == "none":
        return None
    if args.halo in ("nfw", "core-nfw") and args.m200 is not None:
        nfw = NFW.from_m200_c(args.m200, args.c)
        params.setdefault("rho_s", float(nfw.rho_s))
        params.setdefault("r_s", float(nfw.r_s))
    if args.halo == "core-nfw":
        params.setdefault("r_c", args.r_c if args.r_c is not None else args.r_half)
        params.setdefault("n", args.n_core)
        return CoreNFW(**params)
    cls = lookup(args.halo, "profile")
    try:
        return cls(**params)
    except TypeError as err:
        raise ValueError(f"--halo {args.halo} needs its parameters (--halo-param NAME=VALUE): {err}") from None


def _anisotropy(args):
    from ..anisotropy import BaesVanHese, Constant, OsipkovMerritt

    if args.anisotropy == "constant":
        return Constant(beta=args.beta)
    if args.r_a is None:
        raise ValueError(f"--anisotropy {args.anisotropy} needs --r-a")
    if args.anisotropy == "osipkov-merritt":
        return OsipkovMerritt(r_a=args.r_a)
    return BaesVanHese(beta_0=args.beta_0, beta_inf=args.beta_inf, r_a=args.r_a, eta=args.eta)


def run(args) -> int:
    import jax

    jax.config.update("jax_enable_x64", True)  # the DF and the Jeans engine need float64
    import numpy as np

    from ..mock import Contamination, mock_catalog, write_catalog

    tracer = _tracer(args)
    halo = _halo(args)
    if halo is None and args.m_star <= 0:
        raise ValueError("--halo none needs a self-gravitating tracer: --m-star > 0")
    mass = tracer if halo is None else (halo + tracer if args.m_star > 0 else halo)
    contamination = None
    if args.contamination > 0:
        contamination = Contamination(
            fraction=args.contamination, v_mean=args.cont_v_mean, v_sigma=args.cont_v_sigma,
            pm_sigma=args.cont_pm_sigma,
        )
    table = mock_catalog(
        tracer, mass, _anisotropy(args), args.n,
        velocities=args.velocities, v_sys=args.v_sys, v_err=args.v_err,
        distance=args.distance, proper_motions=args.pm, pm_err=args.pm_err,
        contamination=contamination, seed=args.seed, progress=args.progress,
    )
    if args.tracer in ("sersic", "exponential"):  # the light profile, for `dynamicall fit --tracer catalog`
        table.meta.update(tracer="sersic", sersic_n=float(tracer.n), R_e=f"{float(tracer.R_e)!r} kpc")
    write_catalog(table, args.out)
    member = np.asarray(table["member"])
    v = np.asarray(table["v"])[member]
    print(
        f"wrote {len(table)} stars ({member.sum()} members) to {args.out}\n"
        f"  tracer {type(tracer).__name__}, R_half = {table.meta.get('R_half', '?')}; "
        f"mass model {' + '.join(d['family'] for d in _families(table.meta['truth']['mass']))}\n"
        f"  velocities: {table.meta['truth']['velocities']}; members: mean v = {v.mean():.3f} km/s, "
        f"dispersion = {v.std(ddof=1):.3f} km/s (errors included)"
    )
    return 0


def _families(described):
    return described if isinstance(described, list) else [described]


def register(sub):
    p = sub.add_parser("mock", help="write a mock star catalogue (ECSV)", description=__doc__.split("\n\n")[0])
    g = p.add_argument_group("tracer (member stars)")
    g.add_argument("--tracer", type=family_name("profile", TRACERS), default="plummer",
                   help=f"tracer family: {', '.join(TRACERS)} (default plummer)")
    add_R_half(g, default="0.25kpc", dest="r_half", type=length, help="projected half-light radius (default 0.25kpc)")
    g.add_argument("--m-star", "--m-tot", dest="m_star", type=float, default=0.0,
                   help="stellar mass in Msun, added to the mass model (default 0: massless tracer)")
    g.add_argument("--tracer-gamma", type=float, default=1.0, help="inner slope of a Dehnen tracer")
    g.add_argument("--sersic-n", type=float, default=1.0, help="Sersic index of a sersic tracer (default 1)")
    g = p.add_argument_group("dark-matter halo")
    g.add_argument("--halo", type=family_name("profile", HALOES), default="nfw",
                   help=f"halo family: {', '.join(HALOES)} (default nfw)")
    g.add_argument("--m200", type=float, help="NFW / CoreNFW virial mass M200, Msun")
    g.add_argument("--c", type=float, default=15.0, help="NFW / CoreNFW concentration (default 15)")
    g.add_argument("--r-c", type=quantity, help="CoreNFW core radius (default R_half)")
    g.add_argument("--n-core", type=float, default=1.0, help="CoreNFW core strength in [0, 1] (default 1)")
    g.add_argument("--halo-param", action="append", default=[], metavar="NAME=VALUE",
                   help="any halo parameter, e.g. rho_s=1e7 r_s=1kpc (repeatable)")
    g = p.add_argument_group("anisotropy")
    g.add_argument("--anisotropy", type=family_name("anisotropy", ANISOTROPIES), default="constant",
                   help=f"model: {', '.join(ANISOTROPIES)} (aliases om, bvh; default constant)")
    g.add_argument("--beta", type=float, default=0.0, help="constant beta (default 0)")
    g.add_argument("--r-a", type=quantity, help="Osipkov-Merritt / Baes-van Hese radius")
    g.add_argument("--beta-0", type=float, default=0.0, help="Baes-van Hese inner beta")
    g.add_argument("--beta-inf", type=float, default=0.5, help="Baes-van Hese outer beta")
    g.add_argument("--eta", type=float, default=2.0, help="Baes-van Hese sharpness")
    g = p.add_argument_group("catalogue")
    g.add_argument("--n-stars", "--n", dest="n", type=int, default=500, help="number of member stars (default 500)")
    g.add_argument("--velocities", choices=("auto", "df", "gaussian"), default="auto",
                   help="exact DF sampling or Gaussian Jeans dispersions (default auto)")
    g.add_argument("--v-sys", type=quantity, default=0.0, help="systemic velocity (default 0 km/s)")
    g.add_argument("--v-err", type=error_spec, default=0.0, help="velocity error: VALUE or LOW,HIGH (km/s)")
    g.add_argument("--distance", type=quantity, help="distance, e.g. 80kpc (needed for --pm)")
    g.add_argument("--pm", action="store_true", help="add proper motions pm_R, pm_T")
    g.add_argument("--pm-err", type=error_spec, default=0.0, help="proper-motion error: VALUE or LOW,HIGH (mas/yr)")
    g.add_argument("--contamination", type=float, default=0.0, help="fraction of contaminants (default 0)")
    g.add_argument("--cont-v-mean", type=quantity, default=0.0, help="contaminants' mean velocity (km/s)")
    g.add_argument("--cont-v-sigma", type=quantity, default=50.0, help="contaminants' dispersion (km/s)")
    g.add_argument("--cont-pm-sigma", type=float, default=1.0, help="contaminants' pm dispersion (mas/yr)")
    g.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    g.add_argument("--out", default="mock.ecsv", help="output file (default mock.ecsv)")
    g.add_argument("--progress", action="store_true", help="show a progress bar")
    p.set_defaults(func=run)
