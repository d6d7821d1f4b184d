"""Exact Jeans engine vs emulator, side by side in one process on the same inputs.

Three workloads, each inside ``jit`` after warm-up, medians of repeats:

1. one profile: sigma_los on the emulator's 32 radii;
2. a batch of 10,000 profiles (``vmap``);
3. value and gradient of a 1,000-star Gaussian log-likelihood (10 parameters: the eight
   dimensionless inputs, log10 rho_s and the systemic velocity), with the dispersion
   computed on a 32-point log grid and interpolated to the stars for the exact engine and
   at the stars' radii for the emulator.

Run: ``python benchmarks/emulator.py [--emulator zhao_bvh_plummer_v3] [--n 10000]``.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
from timing import median_time




def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emulator", default="zhao_bvh_plummer_v3", help="name or folder")
    parser.add_argument("--n", type=int, default=10000, help="batch size")
    parser.add_argument("--stars", type=int, default=1000, help="stars in the likelihood")
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", True)

    from dynamicall.anisotropy import BaesVanHese
    from dynamicall.emulate import load
    from dynamicall.jeans import JeansConfig, interp_loglog, log_grid, sigma_los
    from dynamicall.profiles import Plummer, Zhao

    emu = load(args.emulator)
    lo = np.array([emu.bounds[n][0] for n in emu.input_names])
    hi = np.array([emu.bounds[n][1] for n in emu.input_names])
    rng = np.random.default_rng(0)
    X = jnp.asarray(lo + (hi - lo) * rng.uniform(0.02, 0.98, (args.n, lo.size)))
    R_half = 0.25
    stars = Plummer(m_tot=1.0, r_s=R_half)
    R_grid = emu.grid * R_half
    config = JeansConfig.fast()

    def models(x, log10_rho_s=7.0):
        names = dict(zip(emu.input_names, x))
        halo = Zhao(rho_s=10.0**log10_rho_s, r_s=R_half * 10.0 ** names["log10_rs"],
                    alpha=names["alpha"], beta=names["beta"], gamma=names["gamma"])
        aniso = BaesVanHese(beta_0=names["beta_0"], beta_inf=names["beta_inf"],
                            r_a=R_half * 10.0 ** names["log10_ra"], eta=names["eta"])
        return stars, halo, aniso

    exact_one = jax.jit(lambda x: sigma_los(R_grid, *models(x), config=config))
    emu_one = jax.jit(lambda x: emu.sigma_los(R_grid, *models(x)))
    exact_batch = jax.jit(jax.vmap(lambda x: sigma_los(R_grid, *models(x), config=config)))
    emu_batch = jax.jit(jax.vmap(lambda x: emu.sigma_los(R_grid, *models(x))))

    # a mock data set of 1,000 stars (Plummer positions), velocities from the exact model
    u = rng.uniform(0.02, 0.98, args.stars)
    R_stars = np.clip(R_half * np.sqrt(u / (1 - u)), 1.01 * R_grid[0], 0.99 * R_grid[-1])
    x_true = X[0]
    v_err = rng.uniform(1.0, 3.0, args.stars)
    sigma_true = np.asarray(sigma_los(R_stars, *models(x_true), config=config))
    v = rng.normal(0.0, np.sqrt(sigma_true**2 + v_err**2))
    stars_grid = log_grid(R_stars.min(), R_stars.max(), 32)

    def loglike(theta, forward):
        x, log10_rho_s, v_sys = theta[:-2], theta[-2], theta[-1]
        s = forward(x, log10_rho_s)
        var = s**2 + v_err**2
        return -0.5 * jnp.sum((v - v_sys) ** 2 / var + jnp.log(var))

    exact_forward = lambda x, l: interp_loglog(R_stars, stars_grid, sigma_los(stars_grid, *models(x, l), config=config))  # noqa: E731
    emu_forward = lambda x, l: emu.sigma_los(R_stars, *models(x, l))  # noqa: E731
    theta = jnp.concatenate([x_true, jnp.array([7.0, 0.0])])
    exact_vg = jax.jit(jax.value_and_grad(lambda t: loglike(t, exact_forward)))
    emu_vg = jax.jit(jax.value_and_grad(lambda t: loglike(t, emu_forward)))

    rows = [
        ("one profile (32 radii)", median_time(exact_one, X[0], repeat=31, number=50),
         median_time(emu_one, X[0], repeat=31, number=50), 1),
        (f"batch of {args.n}", median_time(exact_batch, X, repeat=3), median_time(emu_batch, X, repeat=5), args.n),
        (f"value+grad, {args.stars}-star likelihood", median_time(exact_vg, theta, repeat=15, number=20),
         median_time(emu_vg, theta, repeat=15, number=20), 1),
    ]
    dev = jax.devices()[0]
    print(f"# exact engine (JeansConfig.fast(), float64) vs emulator {emu.name!r} "
          f"({dev.platform}, {dev.device_kind}, {jax.device_count()} device(s))\n")
    print(f"{'workload':38s} {'exact':>12s} {'emulator':>12s} {'speed-up':>9s} {'emulator profiles/s':>20s}")
    for label, t_exact, t_emu, n in rows:
        print(f"{label:38s} {t_exact * 1e6:10.1f}us {t_emu * 1e6:10.1f}us {t_exact / t_emu:8.1f}x {n / t_emu:20.0f}")
    err = np.abs(np.asarray(emu_batch(X[:500])) / np.asarray(exact_batch(X[:500])) - 1)
    print(f"\naccuracy on these inputs: median |E| = {np.median(err):.2e}, "
          f"99th percentile of per-profile max |E| = {np.percentile(err.max(1), 99):.2e}")


if __name__ == "__main__":
    main()
