"""A Sersic-tracer dwarf mock fitted with the exact engine and with the CNN emulator:
posterior medians and widths side by side.

The mock: ``--stars`` stars (line-of-sight velocities drawn from the exact sigma_los) of a Sersic (n = ``--n``, R_e = 250 pc) tracer inside 2.9 R_e
(the emulator's grid ends at 3 R_half) in an NFW halo (rho_s = 2e7 Msun/kpc^3,
r_s = 1 kpc) with constant beta = 0.2, velocity errors 2 km/s. The light profile is
read from the catalogue's metadata (``tracer="catalog"``: tracer: sersic, sersic_n, R_e)
and fixed. The model: NFW halo (halo.log10_m_ref, halo.log10_r_s), constant anisotropy,
v_sys; the same uniform priors in both fits, inside the emulator's domain (``PRIORS``). Both fits use the same NUTS settings and seed (common random
numbers: the difference of the medians then measures the forward models, not Monte
Carlo noise). The criterion of issue 16: every median within 0.1 posterior sigma.

Run: ``python benchmarks/cnn_fit.py [--emulator cnn_sersic_king] [--samples 2000]``; or the two
fits in parallel, ``--draws out/cnn_fit.npz --only exact`` and ``... --only cnn_sersic_king``,
then the same command without ``--only`` to compare the cached draws.
"""

from __future__ import annotations

import argparse
import pathlib
import time

import jax
import numpy as np


#: The same priors in both fits, inside the emulator's domain (r_s / R_half in [0.1, 30],
#: beta in [-1, 0.9]): otherwise the emulator fit's default priors are truncated to its
#: domain and the exact fit's are not, and the posteriors differ by construction.
PRIORS = {"halo.log10_r_s": (-1.5, 0.85), "anisotropy.beta": (-0.95, 0.85)}


def sersic_mock(n_stars: int, sersic_n: float, seed: int):
    """The mock catalogue (StarCatalog) with its light profile in the metadata."""
    from dynamicall.anisotropy import Constant
    from dynamicall.data import StarCatalog
    from dynamicall.mock import mock_catalog
    from dynamicall.profiles import NFW, Sersic

    R_e = 0.25
    tracer, halo = Sersic(m_tot=1.0, R_e=R_e, n=sersic_n), NFW(rho_s=2e7, r_s=1.0)
    table = mock_catalog(tracer, halo, Constant(beta=0.2), n_stars, velocities="los", v_err=2.0,
                         R_max=2.9 * R_e, seed=seed)
    table.meta.update({"tracer": "sersic", "sersic_n": sersic_n, "R_e": f"{R_e} kpc", "R_half": f"{R_e} kpc"})
    return StarCatalog.from_table(table), halo


def compare(emulator: str, n_stars: int, sersic_n: float, warmup: int, samples: int, chains: int, seed: int,
            log=print, exact_file=None, only=None):
    """Fit the mock with both forward models; returns {site: (exact median, exact sigma,
    CNN median, CNN sigma, |difference| / exact sigma)} and the two wall times. With
    ``exact_file`` (.npz) the exact fit's draws are saved there, or read if it exists and
    was made with the same settings."""
    from dynamicall.infer import fit

    cat, _ = sersic_mock(n_stars, sersic_n, seed)
    out, walls = {}, {}
    settings = np.array([n_stars, sersic_n, warmup, samples, chains, seed, *np.ravel(list(PRIORS.values()))])
    cache = {}
    if exact_file is not None:  # "DIR/NAME.npz": draws of forward F cached in DIR/NAME.F.npz
        base = pathlib.Path(exact_file)
        cache = {f: base.with_name(f"{base.stem}.{f}.npz") for f in ("exact", emulator) if f is not None}
    for forward, path in cache.items():
        if path.is_file():
            with np.load(path) as saved:
                if np.array_equal(saved["_settings"], settings):
                    out[forward] = {k: saved[k] for k in saved.files if not k.startswith("_")}
                    walls[forward] = float(saved["_wall"])
                    log(f"{forward} draws read from {path}")
    for forward in ("exact", emulator):
        if forward is None or forward in out or (only is not None and forward != only):
            continue
        t0 = time.perf_counter()
        result = fit(cat, tracer="catalog", halo="nfw", anisotropy="constant", forward=forward, priors=dict(PRIORS),
                     warmup=warmup, samples=samples, chains=chains, seed=seed, progress=False)
        walls[forward] = time.perf_counter() - t0
        out[forward] = {s: np.asarray(result.draws(s)).ravel() for s in result.samples
                        if np.ndim(result.samples[s]) >= 1 and not s.startswith("_")}
        log(f"{forward}: {walls[forward]:.1f} s")
        if forward in cache:
            from dynamicall._durable import save_npz

            save_npz(cache[forward], dict(out[forward], _settings=settings, _wall=np.array(walls[forward])))
    if emulator is None or only is not None:
        return {}, walls
    rows = {}
    for site in out["exact"]:
        if site not in out[emulator]:
            continue
        a, b = out["exact"][site], out[emulator][site]
        sig = np.std(a)
        if not sig > 0:
            continue
        rows[site] = (np.median(a), sig, np.median(b), np.std(b), abs(np.median(b) - np.median(a)) / sig)
    return rows, walls


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emulator", default="cnn_sersic_king")
    parser.add_argument("--stars", type=int, default=500)
    parser.add_argument("--n", type=float, default=2.0, help="Sersic index of the mock")
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--draws", default=None,
                        help="DIR/NAME.npz: cache each fit's draws in DIR/NAME.FORWARD.npz, reused with the same settings")
    parser.add_argument("--only", default=None, help="run (and cache) only this forward model: exact or the emulator")
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", True)
    rows, walls = compare(args.emulator, args.stars, args.n, args.warmup, args.samples,
                          args.chains, args.seed, exact_file=args.draws, only=args.only)
    if args.only:
        return
    print(f"\n# {args.stars}-star Sersic n={args.n:g} mock; NUTS {args.chains} chain(s) x ({args.warmup} warm-up + "
          f"{args.samples} samples), seed {args.seed}; wall: exact {walls['exact']:.0f} s, "
          f"{args.emulator} {walls[args.emulator]:.0f} s\n")
    print(f"| site | exact median | exact sigma | CNN median | CNN sigma | abs(diff) / sigma |")
    print("| --- | --- | --- | --- | --- | --- |")
    for site, (ma, sa, mb, sb, d) in rows.items():
        print(f"| {site} | {ma:.4f} | {sa:.4f} | {mb:.4f} | {sb:.4f} | {d:.3f} |")
    worst = max(r[4] for r in rows.values())
    print(f"\nlargest |median difference| / sigma: {worst:.3f} (criterion <= 0.1: {'met' if worst <= 0.1 else 'NOT met'})")


if __name__ == "__main__":
    main()
