"""Figure for docs/jfactor.md: J(theta) and D(theta) of dwarf-galaxy haloes.

A 1e9 Msun NFW halo (c = 15) and a cored halo of the same mass inside 1 kpc, 80 kpc away,
untruncated and truncated at 2 kpc; exact cone against the small-angle cylinder.

Run: ``python docs/figures/jfactor_angle.py [OUTPUT.png]``.
"""

from __future__ import annotations

import jax
import numpy as np
from _figure import main, pyplot, save


def make_figure(path):
    jax.config.update("jax_enable_x64", True)
    plt = pyplot()

    from dynamicall.jfactor import d_factor, j_factor
    from dynamicall.profiles import NFW, CoreNFW

    d = 80.0
    nfw = NFW.from_m200_c(1e9, 15.0)
    core = CoreNFW(rho_s=float(nfw.rho_s), r_s=float(nfw.r_s), r_c=0.3, n=1.0)
    theta = np.geomspace(0.01, 10.0, 60)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.3))
    for name, halo in (("NFW", nfw), ("cored NFW, r_c = 300 pc", core)):
        (line,) = ax1.loglog(theta, j_factor(halo, theta, d), label=name)
        ax1.loglog(theta, j_factor(halo, theta, d, r_t=2.0), ls="--", color=line.get_color(),
                   label=f"{name}, r_t = 2 kpc")
        ax2.loglog(theta, d_factor(halo, theta, d), color=line.get_color(), label=name)
        ax2.loglog(theta, d_factor(halo, theta, d, r_t=2.0), ls="--", color=line.get_color())
    ax1.loglog(theta, j_factor(nfw, theta, d, geometry="cylinder"), ls=":", color="k",
               label="NFW, small-angle cylinder")
    for ax in (ax1, ax2):
        ax.axvline(0.5, color="0.7", lw=0.8)
        ax.set_xlabel(r"$\theta$ [deg]")
    ax1.set(ylabel=r"$J(\theta)$ [GeV$^2$ cm$^{-5}$]", title="J-factor, 80 kpc")
    ax2.set(ylabel=r"$D(\theta)$ [GeV cm$^{-2}$]", title="D-factor, 80 kpc")
    ax1.legend(fontsize=8)
    return save(fig, path)


if __name__ == "__main__":
    main(make_figure, __file__)
