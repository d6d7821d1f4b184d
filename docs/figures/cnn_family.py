"""Figure for docs/tracers.md: what the CNN emulator ``cnn_sersic_king`` reads and how well it
does. Left: its encoder input ln(Sigma / Sigma(R_half)) on the 64-point grid 0.01-30 R_half
for members of the training family (Sersic n = 0.5-8, King c = 0.7-2.5) and a Plummer
tracer (outside the family); the shaded band is the output grid (0.01-3 R_half). Right:
emulator / exact - 1 of sigma_los on the output grid for the same tracers in one halo
(Zhao alpha = 1, beta = 3, gamma = 1, r_s = 4 R_half; Baes & van Hese beta 0 -> 0.4 at
r_a = R_half).

Run: ``python docs/figures/cnn_family.py [OUTPUT.png]``.
"""

from __future__ import annotations

import jax
import numpy as np
from _figure import main, pyplot, save


def tracers():
    from dynamicall.profiles import King, Plummer, Sersic
    from dynamicall.train.tracer_families import unit_king

    out = {f"Sersic n = {n:g}": Sersic(m_tot=1.0, R_e=1.0, n=n) for n in (0.5, 1.0, 2.0, 4.0, 8.0)}
    for c in (0.7, 1.5, 2.5):
        k = unit_king(c)
        out[f"King c = {c:g}"] = King(m_tot=1.0, r_c=float(k.r_c), r_t=float(k.r_t))
    out["Plummer (not in the family)"] = Plummer(m_tot=1.0, r_s=1.0)
    return out


def make_figure(path, emulator="cnn_sersic_king"):
    jax.config.update("jax_enable_x64", True)
    plt = pyplot()

    from dynamicall.anisotropy import BaesVanHese
    from dynamicall.emulate import load
    from dynamicall.emulate.mapping import tracer_profile
    from dynamicall.jeans import sigma_los
    from dynamicall.profiles import Zhao

    emu = load(emulator, on_domain="warn")
    halo = Zhao(rho_s=1e7, r_s=4.0, alpha=1.0, beta=3.0, gamma=1.0)
    aniso = BaesVanHese(beta_0=0.0, beta_inf=0.4, r_a=1.0, eta=2.0)
    grid, pgrid = emu.grid, np.asarray(emu.problem["profile_grid"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, tracer in tracers().items():
        style = dict(ls="--", color="k") if label.startswith("Plummer") else {}
        axes[0].plot(pgrid, np.asarray(tracer_profile(emu.problem, tracer, float(tracer.half_light_radius()))),
                     label=label, **style)
        err = np.asarray(emu.sigma_los(grid, tracer, halo, aniso)) / np.asarray(sigma_los(grid, tracer, halo, aniso)) - 1
        axes[1].plot(grid, err, **style)
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel(r"$R / R_{\rm half}$")
    axes[0].axvspan(grid[0], grid[-1], color="0.9", zorder=0)
    axes[0].set_ylim(-31, 8)
    axes[0].set_ylabel(r"encoder input $\ln[\Sigma(R) / \Sigma(R_{\rm half})]$ (floor $-30$)")
    axes[0].legend(fontsize=7, loc="lower left")
    axes[1].axhspan(-1e-2, 1e-2, color="0.92", zorder=0)
    axes[1].axhline(0.0, color="0.5", lw=0.8)
    axes[1].set_ylabel(r"$\sigma_{\rm los}$: emulator / exact $- 1$")
    axes[1].set_title(f"{emu.name} (band: 1 %)", fontsize=9)
    return save(fig, path)


if __name__ == "__main__":
    main(make_figure, __file__)
