"""Binned velocity dispersions from individual stars (maximum likelihood, equal counts).

Used for the data points of the fit's plots and to make binned profiles
(:meth:`dynamicall.data.StarCatalog.binned`). The estimator in each bin: sigma maximises
sum_i ln N(v_i | v_sys, sigma^2 + v_err_i^2); its error is the Cramer-Rao bound
1 / sqrt(sum_i 2 sigma^2 / (sigma^2 + v_err_i^2)^2); the bin radius is the median R of
its stars.

Example
-------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> R, v = rng.uniform(0.01, 1, 400), rng.normal(0, 10, 400)
>>> out = binned_dispersion(R, v, np.ones(400), 4, v_sys=0.0)
>>> bool(np.all(np.abs(out["sigma"] - 10) < 3 * out["sigma_err"]))
True
"""

from __future__ import annotations

import numpy as np

#: Fewest stars per bin.
MIN_STARS_PER_BIN = 5


def max_bins(n_stars: int) -> int:
    """The most bins ``n_stars`` stars allow (``MIN_STARS_PER_BIN`` per bin); 0 for fewer
    than one bin's worth.

    Example
    -------
    >>> max_bins(12), max_bins(4)
    (2, 0)
    """
    return int(n_stars) // MIN_STARS_PER_BIN


def default_bins(n_stars: int) -> int:
    """The number of bins a plot uses: about 30 stars each, 3 to 12 bins, never more than
    :func:`max_bins` (0 when the catalogue cannot fill one bin).

    Example
    -------
    >>> default_bins(2000), default_bins(400), default_bins(12), default_bins(3)
    (12, 12, 2, 0)
    """
    return int(min(np.clip(int(n_stars) // 30, 3, 12), max_bins(n_stars)))


def binned_dispersion(R, values, errors, n_bins: int, v_sys: float) -> dict:
    """Maximum-likelihood dispersion of ``values`` about ``v_sys`` in ``n_bins`` bins of
    equal star counts in ``R``.

    Parameters
    ----------
    R : array
        Projected radii, kpc.
    values, errors : array
        Velocities and their 1 sigma errors, km/s.
    n_bins : int
        Number of bins, in [1, len(R) / 5].
    v_sys : float
        The mean the dispersion is measured about, km/s.

    Returns
    -------
    dict with arrays ``R`` (median radius per bin, kpc), ``sigma``, ``sigma_err`` (km/s)
    and ``n_stars``.

    Raises
    ------
    ValueError
        If ``n_bins`` is outside [1, len(R) / 5] (naming the catalogue size).
    """
    from scipy.optimize import minimize_scalar

    R, values, errors = (np.asarray(a, dtype=float) for a in (R, values, errors))
    n_bins = int(n_bins)
    most = max_bins(R.size)
    if most < 1:
        raise ValueError(
            f"{R.size} stars cannot be binned: a bin needs at least {MIN_STARS_PER_BIN} stars"
        )
    if not 1 <= n_bins <= most:
        raise ValueError(f"n_bins must be in [1, n_stars / {MIN_STARS_PER_BIN} = {most}]; got {n_bins}")
    order = np.argsort(R)
    out = {"R": [], "sigma": [], "sigma_err": [], "n_stars": []}
    for g in np.array_split(order, n_bins):
        dv, e2 = values[g] - v_sys, errors[g] ** 2

        def nll(log_s):
            var = np.exp(2 * log_s) + e2
            return 0.5 * np.sum(np.log(var) + dv**2 / var)

        spread = max(float(np.std(dv)), 1e-3)
        res = minimize_scalar(nll, bounds=(np.log(spread) - 12, np.log(spread) + 3), method="bounded")
        s = float(np.exp(res.x))
        info = np.sum(2 * s**2 / (s**2 + e2) ** 2)
        out["R"].append(float(np.median(R[g])))
        out["sigma"].append(s)
        out["sigma_err"].append(float(1.0 / np.sqrt(info)))
        out["n_stars"].append(g.size)
    return {k: np.array(v) for k, v in out.items()}
