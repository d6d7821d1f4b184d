"""Plots of a fit: a corner plot and sigma(R) with the data and the posterior band.

matplotlib is imported only here, inside the functions, and used through its
object-oriented interface (no pyplot, no global backend change).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..jeans import log_grid

LEVELS_2D = (0.393, 0.865)  # 1 and 2 sigma of a 2-D Gaussian


def _figure(width, height):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plots need matplotlib: pip install matplotlib (or dynamicall[plot])") from None
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _truths(result) -> dict:
    truth = getattr(result.model.data, "truth", None)
    if not isinstance(truth, dict):
        return {}
    out = {}
    for k, v in truth.items():
        try:
            out[k] = float(v)
        except (TypeError, ValueError):
            continue
    return out


def corner_plot(result, path=None, sites=None, truths=None, max_points: int = 1500):
    """Pairwise marginal posteriors of the sampled parameters.

    Parameters
    ----------
    result : FitResult
    path : str, optional
        Where to save the figure (PNG); the Figure is returned either way.
    sites : list of str, optional
        Which parameters (default: all sampled ones).
    truths : dict, optional
        site -> true value, drawn as lines (default: the catalogue's ``truth`` metadata).
    max_points : int
        Draws shown in the scatter panels (evenly thinned).
    """
    sites = list(sites or [s for s in result.model.sites if s in result.samples])
    truths = _truths(result) if truths is None else truths
    data = {s: np.asarray(result.samples[s]).reshape(-1) for s in sites}
    n = len(sites)
    size = max(1.6 * n, 4.0)
    fig = _figure(size, size)
    n_draws = data[sites[0]].size
    keep = np.unique(np.linspace(0, n_draws - 1, min(n_draws, max_points)).astype(int))
    for i, yi in enumerate(sites):
        for j, xj in enumerate(sites):
            if j > i:
                continue
            ax = fig.add_subplot(n, n, i * n + j + 1)
            x = data[xj]
            if i == j:
                ax.hist(x, bins=30, histtype="step", color="k", density=True)
                ax.set_yticks([])
                if xj in truths:
                    ax.axvline(truths[xj], color="tab:red", lw=1)
                lo, mid, hi = np.percentile(x, [5, 50, 95])
                ax.set_title(f"{mid:.3g} [{lo:.3g}, {hi:.3g}]", fontsize=7)
            else:
                y = data[yi]
                ax.plot(x[keep], y[keep], ".", ms=1.5, color="0.5", alpha=0.5, rasterized=True)
                _contours(ax, x, y)
                if xj in truths and yi in truths:
                    ax.plot(truths[xj], truths[yi], "s", color="tab:red", ms=3)
            if i == n - 1:
                ax.set_xlabel(xj, fontsize=7)
            else:
                ax.set_xticklabels([])
            if j == 0 and i != 0:
                ax.set_ylabel(yi, fontsize=7)
            elif i != j:
                ax.set_yticklabels([])
            ax.tick_params(labelsize=6)
    fig.subplots_adjust(wspace=0.05, hspace=0.05, left=0.08, bottom=0.08, right=0.98, top=0.96)
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


def _contours(ax, x, y, bins=20):
    from scipy.ndimage import gaussian_filter

    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return
    h, xe, ye = np.histogram2d(x, y, bins=bins)
    h = gaussian_filter(h, 1.0)
    flat = np.sort(h.ravel())[::-1]
    cum = np.cumsum(flat) / flat.sum()
    levels = sorted({float(flat[min(np.searchsorted(cum, q), flat.size - 1)]) for q in LEVELS_2D})
    if len(levels) < 1 or levels[-1] <= 0:
        return
    xc, yc = 0.5 * (xe[1:] + xe[:-1]), 0.5 * (ye[1:] + ye[:-1])
    try:
        ax.contour(xc, yc, h.T, levels=levels + [flat[0] + 1], colors="k", linewidths=0.7)
    except ValueError:
        pass


def posterior_band(result, R, quantity="los", max_draws: int = 200, percentiles=(2.5, 16, 50, 84, 97.5)):
    """Percentiles over posterior draws of a model dispersion at radii ``R`` (kpc).

    Returns
    -------
    ndarray (len(percentiles), len(R)), km/s.
    """
    model = result.model
    from .models import _thin

    flat = _thin(result.samples, model.sites, max_draws)
    R = np.asarray(R, dtype=float)

    def one(values):
        tracer, mass, anisotropy = model.spec.build(values)
        return model.forward.dispersions(R, tracer, mass, anisotropy, (quantity,))[quantity]

    curves = np.asarray(jax.lax.map(one, flat, batch_size=50))
    return np.percentile(curves, percentiles, axis=0)


def dispersion_plot(result, path=None, n_bins=None):
    """sigma_los(R) (and the proper-motion dispersions when fitted): the data, binned, with
    the posterior median and its 68 % and 95 % bands."""
    from ..data import BinnedProfile

    model = result.model
    data = model.data
    quantities = [("los", "los", r"$\sigma_{\rm los}$")]
    if model.proper_motions:
        quantities += [("pm_radial", "pm_R", r"$\sigma_{{\rm pm},R}$"),
                       ("pm_tangential", "pm_T", r"$\sigma_{{\rm pm},T}$")]
    fig = _figure(5.0 * len(quantities), 4.0)
    lo, hi = float(model.R_grid[0]), float(model.R_grid[-1])
    R = log_grid(lo, hi, 40)
    for k, (q, column, label) in enumerate(quantities):
        ax = fig.add_subplot(1, len(quantities), k + 1)
        band = posterior_band(result, R, q)
        ax.fill_between(R, band[0], band[4], color="tab:blue", alpha=0.2, lw=0, label="95 %")
        ax.fill_between(R, band[1], band[3], color="tab:blue", alpha=0.35, lw=0, label="68 %")
        ax.plot(R, band[2], color="tab:blue", lw=1.5, label="posterior median")
        if isinstance(data, BinnedProfile):
            binned = data
        else:
            nb = n_bins or int(np.clip(len(data) // 30, 3, 12))
            v_sys = float(np.median(result.samples["v_sys"])) if column == "los" else None
            binned = data.binned(nb, v_sys=v_sys, quantity=column)
        ax.errorbar(binned.R, binned.sigma, binned.sigma_err, fmt="o", color="k", ms=4,
                    label="data (binned)")
        ax.set_xscale("log")
        ax.set_xlabel("R [kpc]")
        ax.set_ylabel(f"{label} [km/s]")
        ax.legend(fontsize=7, frameon=False)
    fig.suptitle(f"forward: {model.forward.name}", fontsize=9)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
