"""Figure for docs/df.md: distribution functions by Eddington inversion.

Left: the Plummer sphere, ergodic and Osipkov-Merritt, against the closed forms (with the
relative error). Right: Plummer stars (R_half = 250 pc) in a cored and in a cusped NFW
halo: in the cusp the isotropic DF turns negative at the most bound energies.

Run: ``python docs/figures/df_plots.py [OUTPUT.png]``.
"""

from __future__ import annotations

import warnings

import jax
import numpy as np
from _figure import main, pyplot, save


def make_figure(path):
    jax.config.update("jax_enable_x64", True)
    plt = pyplot()

    from dynamicall.anisotropy import OsipkovMerritt
    from dynamicall.df import InconsistentModelWarning, eddington
    from dynamicall.profiles import NFW, CoreNFW, Plummer
    from dynamicall.units import G

    m, a = 1e6, 0.25
    stars = Plummer(m_tot=m, r_s=a)
    psi0, rho0 = G * m / a, 3 * m / (4 * np.pi * a**3)

    def exact(q, r_a):
        k = (a / r_a) ** 2
        return rho0 / (np.sqrt(8) * np.pi**2) * ((1 - k) * 128 / 7 * q**3.5 / psi0**5 + k * 8 * q**1.5 / psi0**3)

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(14, 4.3))
    q = psi0 / np.sqrt(1 + np.geomspace(1e-2, 1e3, 200) ** 2)
    for r_a, label in ((np.inf, "ergodic"), (2 * a, r"OM $r_a = 2a$"), (0.8 * a, r"OM $r_a = 0.8a$")):
        df = eddington(stars, stars, None if np.isinf(r_a) else OsipkovMerritt(r_a=r_a))
        f = np.asarray(df(q))
        ax1.loglog(q / psi0, f, label=label)
        ax2.semilogx(q / psi0, np.abs(f / exact(q, r_a) - 1) + 1e-17, label=label)
    ax1.set(xlabel=r"$\mathcal{E}/\Psi_0$ (or $Q/\Psi_0$)", ylabel=r"$f$ [M$_\odot$ kpc$^{-3}$ (km/s)$^{-3}$]",
            title="Plummer sphere: Eddington inversion")
    ax1.legend(fontsize=8)
    ax2.set(xlabel=r"$\mathcal{E}/\Psi_0$", ylabel="|relative error| vs closed form", yscale="log",
            title="accuracy (float64)")
    nfw = NFW.from_m200_c(1e9, 15.0)
    haloes = {
        "cored (CoreNFW, n = 1)": CoreNFW(rho_s=float(nfw.rho_s), r_s=float(nfw.r_s), r_c=a, n=1.0),
        "cusped (NFW)": nfw,
    }
    for name, halo in haloes.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InconsistentModelWarning)
            df = eddington(stars, halo + stars)
        psi, f = np.asarray(df.psi), np.asarray(df.values)
        keep = df.radius_grid < 1e3 * a
        ax3.plot(psi[keep], np.sign(f[keep]) * np.abs(f[keep]) ** 0.25,
                 label=f"{name}: {'consistent' if df.is_consistent() else 'f < 0 somewhere'}")
    ax3.axhline(0.0, color="k", lw=0.5)
    ax3.set(xlabel=r"$\mathcal{E}$ [(km/s)$^2$]", ylabel=r"sign$(f)\,|f|^{1/4}$",
            title="Plummer stars in 1e9 Msun haloes, isotropic")
    ax3.legend(fontsize=8)
    return save(fig, path)


if __name__ == "__main__":
    main(make_figure, __file__)
