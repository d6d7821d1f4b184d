"""Figure for docs/tracers.md: tracers defined by their light (Sersic n = 0.5, 1, 2, 4;
King r_t / r_c = 30; the tabulated tracer fitted to a 20-point Sersic n = 2 table), all with
R_half = 250 pc: surface density, deprojected 3D density, and sigma_los in a 1e9 Msun NFW
halo (isotropic).

Run: ``python docs/figures/tracers.py [OUTPUT.png]``.
"""

from __future__ import annotations

import jax
import numpy as np
from _figure import main, pyplot, save


def make_figure(path):
    jax.config.update("jax_enable_x64", True)
    plt = pyplot()

    from dynamicall.anisotropy import Constant
    from dynamicall.jeans import log_grid, sigma_los
    from dynamicall.profiles import NFW, King, Sersic, fit_surface_density

    R_half = 0.25
    tracers = {f"Sersic n = {n:g}": Sersic(m_tot=1.0, R_e=R_half, n=n) for n in (0.5, 1.0, 2.0, 4.0)}
    unit_king = King(m_tot=1.0, r_c=1.0, r_t=30.0)
    r_c = R_half / float(unit_king.half_light_radius())
    tracers["King r_t/r_c = 30"] = King(m_tot=1.0, r_c=r_c, r_t=30 * r_c)
    R_table = np.geomspace(0.02, 4.0, 20) * R_half
    table = np.asarray(tracers["Sersic n = 2"].surface_density(R_table))
    tracers["tabulated (Sersic n = 2 table)"], _ = fit_surface_density(R_table, table)
    halo = NFW.from_m200_c(1e9, 15.0)
    R = log_grid(0.01 * R_half, 6 * R_half, 48)
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for label, p in tracers.items():
        style = dict(ls="--", color="k") if label.startswith("tabulated") else {}
        axes[0].loglog(R / R_half, np.asarray(p.surface_density(R)) * R_half**2, label=label, **style)
        axes[1].loglog(R / R_half, np.asarray(p.density(R)) * R_half**3, **style)
        R_in = R[R < 0.98 * float(getattr(p, "r_t", np.inf))]
        axes[2].semilogx(R_in / R_half, sigma_los(R_in, p, halo, Constant(beta=0.0)), **style)
    axes[0].plot(R_table / R_half, table * R_half**2, "k.", ms=4)
    axes[0].set_ylim(1e-6, 1e2)
    axes[1].set_ylim(1e-6, 1e4)
    axes[0].set_ylabel(r"$\Sigma\,R_{1/2}^2 / M$")
    axes[1].set_ylabel(r"$\rho\,R_{1/2}^3 / M$ (Abel deprojection)")
    axes[2].set_ylabel(r"$\sigma_{\rm los}$ [km/s], NFW $10^9 M_\odot$, $\beta = 0$")
    for ax, x in zip(axes, ("R", "r", "R")):
        ax.set_xlabel(f"{x} / R_half")
    axes[0].legend(fontsize=7)
    return save(fig, path, dpi=80)


if __name__ == "__main__":
    main(make_figure, __file__)
