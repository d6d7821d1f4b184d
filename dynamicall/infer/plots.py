"""Plots of a fit: a corner plot and sigma(R) with the data and the posterior band.

matplotlib is imported only here, inside the functions, and used through its
object-oriented interface (no pyplot, no global backend change).
"""

from __future__ import annotations

import jax
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
    """The catalogue's ``truth`` metadata (a mock's), as floats; {} when absent."""
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


#: Derived quantities shown in the corner plot: name -> (axis label, log10 of the value?).
CORNER_DERIVED = {
    "M_1.8_R_half": ("log10 M(<1.8 R$_{1/2}$)\n[Msun]", True),
    "rho_150pc": ("log10 $\\rho$(150 pc)\n[Msun/kpc$^3$]", True),
    "log_slope_150pc": (r"d ln$\rho$/d ln r (150 pc)", False),
    "beta_R_half": (r"$\beta$(R$_{1/2}$)", False),
}


def site_label(model, site: str, sep: str = " ") -> str:
    """Axis label of a sampled site with its unit, e.g. ``halo.log10_r_s [log10 kpc]``."""
    try:
        unit = model.spec.parameter(site).unit
    except (KeyError, AttributeError):
        unit = {"v_sys": "km/s", "contamination.v_mean": "km/s",
                "contamination.log10_sigma": "log10 km/s"}.get(site, "")
    return f"{site}{sep}[{unit}]" if unit else site


def corner_columns(result, sites=None, truths=None, derived=True):
    """The columns of the corner plot: (label, draws, truth or None) for each sampled site,
    then for the derived quantities users quote (:data:`CORNER_DERIVED`; masses and
    densities as log10)."""
    model = result.model
    sites = list(sites or [s for s in model.sites if s in result.samples])
    truths = _truths(result) if truths is None else truths
    columns = []
    for s in sites:
        columns.append((site_label(model, s, "\n"), np.asarray(result.samples[s], dtype=float).reshape(-1),
                        truths.get(s)))
    if derived:
        values = result.derived()
        for name, (label, log) in CORNER_DERIVED.items():
            if name not in values:
                continue
            x = np.asarray(values[name], dtype=float).reshape(-1)
            t = truths.get(name)
            if log:
                if not np.all(x > 0):
                    continue
                x = np.log10(x)
                t = None if t is None or not t > 0 else float(np.log10(t))
            if not np.all(np.isfinite(x)) or np.ptp(x) <= 1e-9 * max(1.0, float(np.max(np.abs(x)))):
                continue  # fixed by the model (e.g. the slope of a halo with a fixed scale)
            if any(np.array_equal(x, c[1]) for c in columns):
                continue  # the same as a sampled parameter (e.g. beta of a constant anisotropy)
            columns.append((label, x, t))
    return columns


def _limits(x, truth=None):
    """Axis limits of one corner column: the draws' range (and the truth), padded 5 %."""
    lo, hi = float(np.min(x)), float(np.max(x))
    if truth is not None and np.isfinite(truth):
        lo, hi = min(lo, truth), max(hi, truth)
    pad = 0.05 * (hi - lo) if hi > lo else 0.5 * max(abs(lo), 1e-3)
    return lo - pad, hi + pad


def _ticks(lo, hi):
    """At most 3 round tick values well inside (lo, hi): labels of neighbouring panels,
    which meet at the panels' edges, then cannot overlap."""
    from matplotlib.ticker import MaxNLocator

    width = hi - lo
    inner = (lo + 0.15 * width, hi - 0.15 * width)
    ticks = MaxNLocator(nbins=2, steps=[1, 2, 2.5, 5, 10]).tick_values(*inner)
    return [t for t in ticks if inner[0] <= t <= inner[1]]


def corner_plot(result, path=None, sites=None, truths=None, max_points: int = 1500, derived: bool = True):
    """Pairwise marginal posteriors of the sampled parameters and the derived quantities.

    Axes are labelled with units; the derived quantities users quote (M(<1.8 R_half),
    rho(150 pc), the log slope at 150 pc, beta(R_half)) follow the parameters; each
    diagonal panel's title is the median and the 5-95 % interval; a mock's truth is drawn
    in red. Each column shares its limits; tick labels are few (at most 3 per axis, well
    inside the panel, rotated), so neighbouring panels' labels never overlap.

    Parameters
    ----------
    result : FitResult
    path : str, optional
        Where to save the figure (PNG); the Figure is returned either way.
    sites : list of str, optional
        Which parameters (default: all sampled ones).
    truths : dict, optional
        site (or derived name) -> true value, drawn as lines (default: the catalogue's
        ``truth`` metadata).
    max_points : int
        Draws shown in the scatter panels (evenly thinned).
    derived : bool
        Append the derived quantities.
    """
    columns = corner_columns(result, sites, truths, derived)
    limits = [_limits(x, t) for _, x, t in columns]
    n = len(columns)
    size = max(1.6 * n, 4.0)
    fig = _figure(size, size)
    n_draws = columns[0][1].size
    keep = np.unique(np.linspace(0, n_draws - 1, min(n_draws, max_points)).astype(int))
    for i, (ylabel, y, ytrue) in enumerate(columns):
        for j, (xlabel, x, xtrue) in enumerate(columns):
            if j > i:
                continue
            ax = fig.add_subplot(n, n, i * n + j + 1)
            if i == j:
                if np.ptp(x) > 1e-9 * max(1.0, float(np.max(np.abs(x)))):
                    ax.hist(x, bins=30, histtype="step", color="k", density=True)
                else:  # a chain that never moved: a line, not a histogram numpy refuses
                    ax.axvline(float(x[0]), color="k")
                ax.set_yticks([])
                if xtrue is not None:
                    ax.axvline(xtrue, color="tab:red", lw=1)
                lo, mid, hi = np.percentile(x, [5, 50, 95])
                ax.set_title(f"{mid:.3g} [{lo:.3g}, {hi:.3g}]", fontsize=7)
            else:
                ax.plot(x[keep], y[keep], ".", ms=1.5, color="0.5", alpha=0.5, rasterized=True)
                _contours(ax, x, y)
                if xtrue is not None and ytrue is not None:
                    ax.plot(xtrue, ytrue, "s", color="tab:red", ms=3)
                ax.set_ylim(*limits[i])
                ax.set_yticks(_ticks(*limits[i]))
            ax.set_xlim(*limits[j])
            ax.set_xticks(_ticks(*limits[j]))
            if i == n - 1:
                ax.set_xlabel(xlabel, fontsize=7)
                for label in ax.get_xticklabels():
                    label.set_rotation(45)
                    label.set_horizontalalignment("right")
            else:
                ax.set_xticklabels([])
            if j == 0 and i != 0:
                ax.set_ylabel(ylabel, fontsize=7)
            elif i != j:
                ax.set_yticklabels([])
            ax.tick_params(labelsize=6)
    fig.subplots_adjust(wspace=0.05, hspace=0.05, left=0.1, bottom=0.1, right=0.98, top=0.96)
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


def true_dispersions(result, R, quantity="los"):
    """The dispersion of the catalogue's true model (a mock's ``truth`` metadata) at
    radii ``R`` (kpc), or ``None`` when the truth does not give every free parameter."""
    model = result.model
    truths = _truths(result)
    sites = model.spec.sites
    if not sites or any(s not in truths for s in sites):
        return None
    try:
        tracer, mass, anisotropy = model.spec.build({s: truths[s] for s in sites})
        out = model.forward.dispersions(np.asarray(R, dtype=float), tracer, mass, anisotropy, (quantity,))
    except (ValueError, TypeError):
        return None
    return np.asarray(out[quantity])


def dispersion_plot(result, path=None, n_bins=None):
    """sigma_los(R) (and the proper-motion dispersions when fitted): the data, binned, with
    the posterior median and its 68 % and 95 % bands, and the true model when the
    catalogue carries its truth (a mock).

    The data are binned with :func:`dynamicall.binning.default_bins` bins (about 30 stars
    each, never fewer than 5 stars per bin); a catalogue too small for one bin is drawn
    without data points (and says so) instead of failing.
    """
    from ..binning import default_bins
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
        truth = true_dispersions(result, R, q)
        if truth is not None:
            ax.plot(R, truth, color="tab:red", lw=1.2, ls="--", label="truth (catalogue metadata)")
        if isinstance(data, BinnedProfile):
            binned = data
        else:
            nb = min(n_bins, default_bins(len(data))) if n_bins else default_bins(len(data))
            if nb >= 1:
                v_sys = float(np.median(result.samples["v_sys"])) if column == "los" else None
                binned = data.binned(nb, v_sys=v_sys, quantity=column)
            else:
                binned = None
                ax.text(0.5, 0.05, f"{len(data)} stars: too few to bin", transform=ax.transAxes,
                        ha="center", fontsize=7)
        if binned is not None:
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
