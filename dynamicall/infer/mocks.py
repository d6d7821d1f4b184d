"""Mock dwarf spheroidals with a known truth in the sampled coordinates of a fit.

:func:`dwarf_mock` names a model the way :class:`~dynamicall.infer.ModelSpec` does (families
and sampled parameters such as ``halo.log10_rho_s``), builds it and draws the stars with the
one mock generator, :func:`dynamicall.mock.mock_catalog` (``velocities="los"``: Plummer
projected radii and Gaussian line-of-sight velocities with the exact projected Jeans
dispersions). Its defaults make the shipped ``data/mock_dwarf.ecsv``
(``python data/make_mock_dwarf.py``); the tests and benchmarks make other mocks with it.

Example
-------
>>> import jax
>>> jax.config.update("jax_enable_x64", True)
>>> table = dwarf_mock(n_stars=50, seed=1)
>>> len(table), table.meta["truth"]["halo"]
(50, 'Zhao')
"""

from __future__ import annotations

import numpy as np

#: Truth of the shipped mock, in the sampled coordinates of dynamicall.infer.
TRUTH = {
    "halo.log10_rho_s": 7.8,
    "halo.log10_r_s": 0.0,
    "halo.alpha": 1.0,
    "halo.beta": 4.0,
    "halo.gamma": 1.0,
    "anisotropy.beta_0": 0.0,
    "anisotropy.beta_inf": 0.4,
    "anisotropy.log10_r_a": float(np.log10(0.3)),
    "anisotropy.eta": 2.0,
    "v_sys": 110.0,
}
R_HALF = 0.25  # kpc
DISTANCE = 80.0  # kpc
SEED = 20261123
N_STARS = 400
#: Decimals kept per column (1e-6 kpc, 1e-4 km/s, 1e-6 mas/yr: far below the errors).
DECIMALS = {"R": 6, "x": 6, "y": 6, "v": 4, "v_err": 4,
            "pm_R": 6, "pm_T": 6, "pm_R_err": 6, "pm_T_err": 6}


def dwarf_mock(n_stars=N_STARS, seed=SEED, *, halo="zhao", anisotropy="baes-van-hese", truth=None,
               R_half=R_HALF, R_max=5.0, v_err=(1.0, 3.0), pm_err=None, distance=DISTANCE,
               contaminant_fraction=0.0, contaminant_mean=20.0, contaminant_sigma=40.0):
    """A mock dwarf: Plummer stars in a halo with an anisotropy, truth in sampled coordinates.

    Parameters
    ----------
    n_stars : int
        Number of member stars.
    seed : int
        Random seed (the defaults with seed 20261123 make ``data/mock_dwarf.ecsv``).
    halo, anisotropy : str
        Families (:class:`~dynamicall.infer.ModelSpec` names); ``truth`` must give their
        parameters.
    truth : dict, optional
        Site -> value (sampled coordinates) of the halo, anisotropy and ``v_sys`` (km/s);
        default :data:`TRUTH`.
    R_half : float
        Plummer scale = projected half-light radius, kpc.
    R_max : float
        Outer edge of the survey, in units of ``R_half``.
    v_err : (low, high)
        Velocity errors are uniform in this range, km/s.
    pm_err : (low, high), optional
        Proper-motion errors (each component) uniform in this range, mas/yr; adds ``pm_R``,
        ``pm_T`` and their errors, drawn with the exact sigma_pm,R and sigma_pm,T.
    distance : float
        Distance, kpc.
    contaminant_fraction : float
        Fraction of the catalogue that is contaminants, uniform over the survey disc, with
        velocities N(v_sys + contaminant_mean, contaminant_sigma^2) (km/s).

    Returns
    -------
    astropy.table.Table
        The catalogue of :func:`dynamicall.mock.mock_catalog`, columns rounded to
        :data:`DECIMALS` (as in the shipped file), whose metadata ``truth`` holds
        the sampled parameters, the derived quantities
        (:func:`~dynamicall.infer.derived_values`) and the family names. Read it for a fit
        with :meth:`dynamicall.data.StarCatalog.from_table`.
    """
    from ..mock import Contamination, mock_catalog
    from .derived import derived_values
    from .spec import ModelSpec

    truth = dict(TRUTH if truth is None else truth)
    spec = ModelSpec("plummer", halo, anisotropy, R_half=R_half)
    values = {site: truth[site] for site in spec.sites}
    tracer, mass, anis = spec.build(values)
    contamination = None
    if contaminant_fraction:
        if pm_err is not None:
            raise ValueError("contaminants with proper motions are not modelled by dwarf_mock")
        contamination = Contamination(fraction=contaminant_fraction,
                                      v_mean=truth["v_sys"] + contaminant_mean,
                                      v_sigma=contaminant_sigma, R_max=R_max * R_half)
    table = mock_catalog(tracer, mass, anis, n_stars, velocities="los", v_sys=truth["v_sys"],
                         v_err=tuple(v_err), distance=distance, proper_motions=pm_err is not None,
                         pm_err=tuple(pm_err) if pm_err is not None else 0.0,
                         contamination=contamination, R_max=R_max * R_half, seed=seed)
    for name, decimals in DECIMALS.items():
        if name in table.colnames:
            table[name][:] = np.round(np.asarray(table[name]), decimals)  # keeps the unit
    table.meta["R_half"] = f"{R_half} kpc"
    table.meta["truth"] = {**{k: float(x) for k, x in truth.items()},
                           **derived_values(spec, values),
                           "halo": spec.component("halo").cls.__name__,
                           "anisotropy": spec.component("anisotropy").cls.__name__,
                           "tracer": "Plummer", "R_max_over_R_half": float(R_max),
                           "contaminant_fraction": float(contaminant_fraction)}
    return table
