"""The CNN emulator with a cached encoder against the exact engine with each light-defined
tracer: value + gradient of a star-by-star log-likelihood per chain, at 1 and 64 chains.

The likelihood is the Gaussian one of a fit (``--stars`` stars, 10 parameters: the Zhao
halo's log10 rho_s, log10 r_s, alpha, beta, gamma, the Baes & van Hese beta_0, beta_inf,
log10 r_a, eta, and v_sys). Forward models, all in one process, after compilation,
medians of repeats:

* the exact engine (``JeansConfig.fast()``, float64) with a Plummer, Sersic (n = 2),
  Exponential, King (c = 1.5) and Tabulated (fitted to a Sersic n = 2 table) tracer, on a
  32-point grid interpolated to the stars (what ``fit`` does); each call pays the
  tracer's deprojection (the tracer is fixed, but the engine evaluates its 3D density on
  its grid at every call);
* the CNN emulator's lean path (:meth:`Emulator.predictor`): the encoder ran once for the
  tracer, each call runs the MLP head, the baseline and one (stars x grid) product;
* a trivial forward model, sigma(R) = a constant per chain: the floor no forward model
  can beat (the likelihood's own cost and the dispatch).

With vmapped chains and a fixed tracer, the exact engine's deprojection does not depend on
the chain and runs once per call for all chains; the row "Sersic n=2 per chain" makes the
tracer a per-chain value (as when the light profile is marginalised) so that it runs per
chain.

Chains are vectorised with ``vmap`` (as numpyro's vectorised chains are).

Run: ``python benchmarks/cnn_emulator.py [--emulator cnn_sersic_king] [--stars 400]``.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
from timing import median_time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emulator", default="cnn_sersic_king", help="name or folder")
    parser.add_argument("--stars", type=int, default=400)
    parser.add_argument("--chains", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved timing rounds")
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", True)

    from dynamicall.anisotropy import BaesVanHese
    from dynamicall.emulate import load
    from dynamicall.jeans import JeansConfig, interp_loglog, log_grid, sigma_los
    from dynamicall.profiles import Exponential, King, Plummer, Sersic, Zhao, fit_surface_density
    from dynamicall.train.tracer_families import unit_king

    emu = load(args.emulator, on_domain="penalty")
    R_half = 0.25
    sersic = Sersic(m_tot=1.0, R_e=R_half, n=2.0)
    king1 = unit_king(1.5)
    table_R = np.geomspace(0.01, 10.0, 30) * R_half
    tracers = {
        "Plummer": Plummer(m_tot=1.0, r_s=R_half),
        "Sersic n=2": sersic,
        "Exponential": Exponential(m_tot=1.0, R_d=R_half / 1.678347),
        "King c=1.5": King(m_tot=1.0, r_c=float(king1.r_c) * R_half, r_t=float(king1.r_t) * R_half),
        "Tabulated (Sersic n=2 table)": fit_surface_density(table_R, np.asarray(sersic.surface_density(table_R)))[0],
    }
    rng = np.random.default_rng(0)
    u = rng.uniform(0.02, 0.9, args.stars)
    R_stars = np.clip(R_half * np.sqrt(u / (1 - u)), 0.02 * R_half, 2.9 * R_half)
    v_err = rng.uniform(1.0, 3.0, args.stars)
    v = rng.normal(0.0, np.sqrt(10.0**2 + v_err**2))
    grid = log_grid(R_stars.min(), R_stars.max(), 32)
    config = JeansConfig.fast()
    theta0 = jnp.array([7.5, np.log10(1.0), 1.0, 3.0, 1.0, 0.0, 0.3, np.log10(0.3), 2.0, 0.0])

    def models(t):
        halo = Zhao(rho_s=10.0 ** t[0], r_s=10.0 ** t[1], alpha=t[2], beta=t[3], gamma=t[4])
        return halo, BaesVanHese(beta_0=t[5], beta_inf=t[6], r_a=10.0 ** t[7], eta=t[8])

    def loglike(sigma, v_sys):
        var = sigma**2 + v_err**2
        return -0.5 * jnp.sum((v - v_sys) ** 2 / var + jnp.log(var))

    def exact(tracer):
        return lambda t: loglike(interp_loglog(R_stars, grid, sigma_los(grid, tracer, *models(t), config=config)), t[9])

    predict = emu.predictor(R_stars, sersic)  # the encoder runs here, once

    def cnn(t):
        return loglike(predict(*models(t))["los"], t[9])

    def trivial(t):
        return loglike(10.0 ** (0.5 * t[0] - 3.0) * jnp.ones_like(R_stars), t[9])

    forwards = {f"exact, {name}": exact(tr) for name, tr in tracers.items()}
    # the light marginalised: the tracer differs per chain, so its deprojection runs per chain
    # (with a fixed tracer, vmapped chains share one deprojection per call)
    forwards["exact, Sersic n=2 per chain"] = lambda t: exact(Sersic(m_tot=1.0, R_e=R_half, n=2.0 + 0.0 * t[9]))(t)
    forwards[f"CNN {emu.name}, cached encoder"] = cnn
    forwards["trivial forward (floor)"] = trivial

    jitter = rng.normal(0.0, 0.02, (max(args.chains), theta0.size))
    # compile everything first, then time in interleaved rounds (each round times every
    # forward model once): on a machine shared with other jobs the load drifts over
    # minutes, and interleaving keeps the ratios fair; medians over the rounds
    calls = {}
    for name, f in forwards.items():
        for n in args.chains:
            fn = jax.jit(jax.vmap(jax.value_and_grad(f)))
            thetas = jnp.asarray(theta0 + jitter[:n])
            jax.block_until_ready(fn(thetas))
            calls[name, n] = (fn, thetas)
    times = {key: [] for key in calls}
    for _ in range(args.rounds):
        for key, (fn, thetas) in calls.items():
            times[key].append(median_time(fn, thetas, repeat=1, number=5))
    results = {(name, n): float(np.median(times[name, n])) / n for name, n in calls}
    dev = jax.devices()[0]
    print(f"# value+gradient of a {args.stars}-star, 10-parameter log-likelihood, per chain "
          f"(chains vmapped; {dev.platform}, {dev.device_kind}); exact engine JeansConfig.fast(), float64\n")
    sersic_name = "exact, Sersic n=2"
    header = "".join(f"{f'{n} chain(s)':>14s}" for n in args.chains)
    print(f"{'forward model':44s}{header}" + "".join(f"{f'/Sersic@{n}':>12s}" for n in args.chains))
    for name in forwards:
        row = "".join(f"{results[name, n] * 1e6:12.1f}us" for n in args.chains)
        ratio = "".join(f"{results[name, n] / results[sersic_name, n]:12.3f}" for n in args.chains)
        print(f"{name:44s}{row}{ratio}")
    cnn_name = f"CNN {emu.name}, cached encoder"
    for n in args.chains:
        print(f"\nat {n} chain(s): CNN / exact Sersic = {results[cnn_name, n] / results[sersic_name, n]:.3f} "
              f"(floor: <= 0.1 at 64 chains), CNN / trivial = {results[cnn_name, n] / results['trivial forward (floor)', n]:.1f}")
    # the values agree (the emulator is accurate on this model)
    a = float(exact(sersic)(theta0))
    b = float(cnn(theta0))
    print(f"log-likelihood at the reference point: exact {a:.4f}, CNN {b:.4f}")


if __name__ == "__main__":
    main()
