"""Figure for docs/jeans.md: sigma_los, sigma_pm,R and sigma_pm,T of a Plummer dwarf in a
cored and a cusped halo, with constant and Osipkov-Merritt anisotropy.

Run: ``python docs/figures/jeans_dispersions.py [OUTPUT.png]``.
"""

from __future__ import annotations

import jax
import numpy as np
from _figure import main, pyplot, save


def make_figure(path):
    jax.config.update("jax_enable_x64", True)
    plt = pyplot()

    from dynamicall.anisotropy import Constant, OsipkovMerritt
    from dynamicall.jeans import log_grid, projected_dispersions
    from dynamicall.profiles import NFW, CoreNFW, Plummer

    stars = Plummer(m_tot=1e6, r_s=0.25)  # R_half = 250 pc
    haloes = {
        "cusped: NFW": NFW.from_m200_c(1e9, 15.0),
        "cored: CoreNFW, r_c = R_half": CoreNFW(**_nfw_params(NFW.from_m200_c(1e9, 15.0)), r_c=0.25, n=1.0),
    }
    anisotropies = {r"$\beta = 0$": Constant(beta=0.0), r"$\beta = 0.5$": Constant(beta=0.5),
                    r"Osipkov-Merritt $r_a = R_{1/2}$": OsipkovMerritt(r_a=0.25)}
    R = log_grid(0.01, 2.5, 60)
    fig, axes = plt.subplots(2, 3, figsize=(12, 7), sharex=True, sharey="row")
    for row, (halo_name, halo) in enumerate(haloes.items()):
        for label, aniso in anisotropies.items():
            out = projected_dispersions(R, stars, halo + stars, aniso)
            for col, key in enumerate(("los", "pm_radial", "pm_tangential")):
                axes[row, col].plot(R * 1e3, out[key], label=label)
        axes[row, 0].set_ylabel(f"{halo_name}\n" + r"$\sigma$ [km/s]")
    for col, title in enumerate((r"$\sigma_{\rm los}$", r"$\sigma_{{\rm pm},R}$", r"$\sigma_{{\rm pm},T}$")):
        axes[0, col].set_title(title)
        axes[1, col].set_xlabel("R [pc]")
        axes[1, col].set_xscale("log")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("Plummer dwarf (1e6 Msun, R_half = 250 pc) in a 1e9 Msun halo (c = 15)")
    return save(fig, path)


def _nfw_params(nfw):
    return dict(rho_s=float(nfw.rho_s), r_s=float(nfw.r_s))


if __name__ == "__main__":
    main(make_figure, __file__)
