"""Speed and accuracy of the exact Jeans engine, side by side with jampy (one process).

Model: Plummer tracer in a Zhao halo with constant anisotropy, sigma_los at 32 radii
log-spaced over 0.01-10 R_half. Prints medians of repeated timings after JIT warm-up:

* batched throughput (profiles/s) with ``vmap`` and ``lax.map`` over parameter sets;
* single-profile latency inside ``jit``;
* jampy 8.1.4 ``jam.sph.proj`` on the same model (its MGE fit timed separately);
* accuracy and cost against grid step and interpolation order.

Run: ``python benchmarks/jeans.py [--n 10000] [--float32]``.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
from timing import median_time




def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000, help="parameter sets in a batch")
    parser.add_argument("--float32", action="store_true", help="compute in float32")
    args = parser.parse_args()
    if not args.float32:
        jax.config.update("jax_enable_x64", True)
    dtype = jnp.float32 if args.float32 else jnp.float64

    from dynamicall.anisotropy import Constant
    from dynamicall.jeans import JeansConfig, sigma_los
    from dynamicall.profiles import Plummer, Zhao

    R = np.geomspace(0.01, 10.0, 32)  # R_half = 1 (Plummer r_s = 1)
    rng = np.random.default_rng(0)
    n = args.n
    params = np.column_stack(
        [
            10 ** rng.uniform(-1, np.log10(30), n),  # r_s / R_half
            rng.uniform(0.5, 3, n),  # alpha
            rng.uniform(3, 7, n),  # beta
            rng.uniform(0, 1.5, n),  # gamma
            rng.uniform(-0.5, 0.9, n),  # anisotropy
        ]
    )
    params = jnp.asarray(params, dtype=dtype)

    def model(p, config):
        return sigma_los(
            R,
            Plummer(m_tot=1.0, r_s=1.0),
            Zhao(rho_s=1.0, r_s=p[0], alpha=p[1], beta=p[2], gamma=p[3]),
            Constant(beta=p[4]),
            config=config,
        )

    reference = jax.jit(jax.vmap(lambda p: model(p, JeansConfig(step=0.02, order=12))))
    sub = params[:200]
    truth = np.asarray(reference(sub))

    print(f"# Jeans engine benchmark ({jnp.dtype(dtype).name}, {jax.devices()[0].device_kind}, "
          f"{jax.device_count()} device(s))")
    print("# model: Plummer tracer, Zhao halo, constant beta; sigma_los at 32 radii 0.01-10 R_half\n")
    print("## accuracy and cost against the grid settings (200 random models, batched)")
    print(f"{'step':>6s} {'order':>5s} {'grid pts':>8s} {'max rel err':>12s} {'us/profile':>11s}")
    for step, order in [(0.3, 8), (0.2, 8), (0.12, 8), (0.2, 12), (0.12, 12), (0.1, 12), (0.08, 12), (0.04, 12)]:
        cfg = JeansConfig(step=step, order=order, inner=6.0, outer=6.0, nodes=8)
        if (step, order) == (0.04, 12):
            cfg = JeansConfig()
        f = jax.jit(jax.vmap(lambda p, cfg=cfg: model(p, cfg)))
        err = float(np.max(np.abs(np.asarray(f(sub)) / truth - 1)))
        t = median_time(f, sub, repeat=5)
        from dynamicall.jeans.grid import log_grid_for

        print(f"{step:6.2f} {order:5d} {log_grid_for(R, (), cfg).n:8d} {err:12.1e} {t / sub.shape[0] * 1e6:11.1f}")

    fast = JeansConfig.fast()
    err_fast = float(np.max(np.abs(np.asarray(jax.jit(jax.vmap(lambda p: model(p, fast)))(sub)) / truth - 1)))
    batched_vmap = jax.jit(jax.vmap(lambda p: model(p, fast)))
    batched_map = jax.jit(lambda P: jax.lax.map(lambda p: model(p, fast), P, batch_size=250))
    single = jax.jit(lambda p: model(p, fast))
    t_vmap = median_time(batched_vmap, params, repeat=3)
    t_map = median_time(batched_map, params, repeat=3)
    t_single = median_time(single, params[0], repeat=31, number=100)

    print(f"\n## throughput, JeansConfig.fast() (max rel err {err_fast:.1e})")
    print(f"{'mode':34s} {'profiles/s':>12s} {'us/profile':>11s}")
    print(f"{'vmap, batch ' + str(n):34s} {n / t_vmap:12.0f} {t_vmap / n * 1e6:11.1f}")
    print(f"{'lax.map(batch_size=250), ' + str(n):34s} {n / t_map:12.0f} {t_map / n * 1e6:11.1f}")
    print(f"{'single profile inside jit':34s} {1 / t_single:12.0f} {t_single * 1e6:11.1f}")

    try:
        import jampy.sph as jam
        import mgefit
    except ImportError as err:
        print(f"\njampy not installed ({err}): install the [test] extra for the comparison")
        return
    p0 = np.asarray(params[0], dtype=float)
    halo = Zhao(rho_s=1.0, r_s=p0[0], alpha=p0[1], beta=p0[2], gamma=p0[3])
    stars = Plummer(m_tot=1.0, r_s=1.0)
    t0 = time.perf_counter()
    grid = np.geomspace(1e-3, 100.0, 300)
    fits = []
    for prof in (stars, halo):
        fit = mgefit.mge_fit_1d.mge_fit_1d(
            grid, np.asarray(prof.surface_density(grid)), ngauss=30, quiet=True, plot=False, outer_slope=4
        )
        fits.append(fit.sol)
    t_mge = time.perf_counter() - t0
    distance = 1.0
    kpc_to_arcsec = 1e3 / (distance * 1e6 * np.pi / 648000)
    from dynamicall.units import G

    def jam_call():
        (c_l, s_l), (c_p, s_p) = fits
        peak_l = c_l / (np.sqrt(2 * np.pi) * s_l) / 1e6
        peak_p = c_p / (np.sqrt(2 * np.pi) * s_p) / 1e6 * (G * 1e3 / 0.004301)
        return jam.proj(peak_l, s_l * kpc_to_arcsec, peak_p, s_p * kpc_to_arcsec, 0.0, distance,
                        R * kpc_to_arcsec, beta=np.full(s_l.size, p0[4]), plot=False, quiet=True).model

    t_jam = median_time(jam_call, repeat=7)
    print("\n## against jampy 8.1.4 jam.sph.proj (same model, default epsrel=1e-2, nrad=50)")
    print(f"{'code':34s} {'us/profile':>12s} {'ratio':>8s}")
    print(f"{'dynamicall, lax.map batch':34s} {t_map / n * 1e6:12.1f} {1.0:8.1f}")
    print(f"{'dynamicall, single profile (jit)':34s} {t_single * 1e6:12.1f} {t_single / (t_map / n):8.1f}")
    print(f"{'jampy (MGE given)':34s} {t_jam * 1e6:12.1f} {t_jam / (t_map / n):8.0f}")
    print(f"{'jampy + MGE fit of both profiles':34s} {(t_jam + t_mge) * 1e6:12.1f} {(t_jam + t_mge) / (t_map / n):8.0f}")
    print(f"\nspeed-up, batched dynamicall vs jampy (MGE given): {t_jam / (t_map / n):.0f}x; "
          f"single profile: {t_jam / t_single:.0f}x")


if __name__ == "__main__":
    main()
