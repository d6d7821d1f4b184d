"""Figure for docs/mock.md: a mock catalogue drawn from the distribution function.

5,000 Plummer stars (R_half = 250 pc) in a cored NFW halo, Osipkov-Merritt r_a = R_half,
2 km/s errors, 10 % contaminants: the sky, the line-of-sight velocities, and the binned
dispersion of the members against jeans.sigma_los.

Run: ``python docs/figures/mock_catalog.py [OUTPUT.png]``.
"""

from __future__ import annotations

import jax
import numpy as np
from _figure import main, pyplot, save


def make_figure(path):
    jax.config.update("jax_enable_x64", True)
    plt = pyplot()

    from dynamicall.anisotropy import OsipkovMerritt
    from dynamicall.jeans import interp_loglog, log_grid, sigma_los
    from dynamicall.mock import Contamination, mock_catalog
    from dynamicall.profiles import NFW, CoreNFW, Plummer

    stars = Plummer(m_tot=1e6, r_s=0.25)
    nfw = NFW.from_m200_c(1e9, 15.0)
    mass = CoreNFW(rho_s=float(nfw.rho_s), r_s=float(nfw.r_s), r_c=0.25, n=1.0) + stars
    aniso = OsipkovMerritt(r_a=0.25)
    cat = mock_catalog(stars, mass, aniso, 5000, v_sys=40.0, v_err=2.0, distance=80.0,
                       contamination=Contamination(fraction=0.1, v_mean=60.0, v_sigma=40.0, R_max=1.5), seed=1)
    member = np.asarray(cat["member"])
    x, y, R, v = (np.asarray(cat[k]) for k in ("x", "y", "R", "v"))

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(14, 4.3))
    ax1.scatter(x[~member], y[~member], s=2, c="0.6", label="contaminants")
    ax1.scatter(x[member], y[member], s=2, label="members")
    ax1.set(xlabel="x [kpc]", ylabel="y [kpc]", aspect="equal", xlim=(-1.5, 1.5), ylim=(-1.5, 1.5),
            title="mock sky (80 kpc away)")
    ax1.legend(fontsize=8, markerscale=4)
    ax2.scatter(R[~member], v[~member], s=2, c="0.6")
    ax2.scatter(R[member], v[member], s=2)
    ax2.set(xlabel="R [kpc]", ylabel="v [km/s]", xscale="log", title="line-of-sight velocities")
    grid = log_grid(1e-4, 1e3, 160)
    model = np.asarray(sigma_los(grid, stars, mass, aniso))
    edges = np.quantile(R[member], np.linspace(0, 1, 11))
    nodes, weights = np.polynomial.legendre.leggauss(32)
    centres, disp, err, binned = [], [], [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = member & (R >= lo) & (R <= hi)
        du2 = (v[sel] - 40.0) ** 2
        centres.append(np.median(R[sel]))
        disp.append(np.sqrt(du2.mean() - 4.0))  # remove the 2 km/s errors
        err.append(du2.std() / np.sqrt(sel.sum()) / (2 * disp[-1]))
        a, b = np.log(max(lo, 1e-4)), np.log(hi)  # Sigma-weighted model average over the bin
        Rn = np.exp(0.5 * (b - a) * nodes + 0.5 * (a + b))
        wn = weights * Rn * Rn * np.asarray(stars.surface_density(Rn))
        binned.append(np.sqrt(np.sum(wn * np.asarray(interp_loglog(Rn, grid, model)) ** 2) / wn.sum()))
    keep = (grid > 0.01) & (grid < 3.0)
    ax3.plot(grid[keep], model[keep], label="jeans.sigma_los")
    ax3.plot(centres, binned, "x", color="C0", label="model, averaged over each bin")
    ax3.errorbar(centres, disp, yerr=err, fmt="o", color="C1", label="mock members (errors removed)")
    ax3.set(xlabel="R [kpc]", ylabel=r"$\sigma_{\rm los}$ [km/s]", xscale="log", title="binned dispersion")
    ax3.legend(fontsize=8)
    return save(fig, path)


if __name__ == "__main__":
    main(make_figure, __file__)
