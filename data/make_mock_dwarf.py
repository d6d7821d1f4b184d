"""Make ``data/mock_dwarf.ecsv``: a mock dwarf spheroidal with known truth.

400 Plummer stars (R_half = 250 pc, within 5 R_half) in a cusped Zhao halo
(alpha, beta, gamma) = (1, 4, 1), r_s = 1 kpc, rho_s = 10^7.8 Msun/kpc^3, with Baes-van
Hese anisotropy (beta_0 = 0, beta_inf = 0.4, r_a = 300 pc, eta = 2): every parameter
inside the domain of the shipped emulator ``zhao_bvh_plummer``. Projected radii come
from the inverse of the Plummer cumulative projected number, N(<R)/N = R^2/(R^2 + a^2);
line-of-sight velocities are Gaussian about v_sys = 110 km/s with the exact Jeans
sigma_los(R) (dynamicall.jeans, float64, default accuracy, on a 64-point log grid
interpolated log-log to the stars: < 1e-6 relative), plus Gaussian errors drawn
uniformly in 1-3 km/s. Distance 80 kpc. The truth (parameters in the sampled coordinates
of dynamicall.infer, and the derived quantities) is stored in the metadata.

:func:`mock_catalog` makes other mocks (more stars, proper motions, contaminants) for the
tests and benchmarks.

Run: ``python data/make_mock_dwarf.py`` (rewrites data/mock_dwarf.ecsv; seed 20261123).
"""

from __future__ import annotations

import os

import numpy as np

#: The mock's truth, in the sampled coordinates of dynamicall.infer.
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


def mock_catalog(n_stars=N_STARS, seed=SEED, *, halo="zhao", anisotropy="baes-van-hese", truth=None,
                 R_half=R_HALF, R_max=5.0, v_err=(1.0, 3.0), pm_err=None, distance=DISTANCE,
                 contaminant_fraction=0.0, contaminant_mean=20.0, contaminant_sigma=40.0):
    """A mock catalogue (astropy Table in the schema of docs/catalog_format.md).

    Parameters
    ----------
    n_stars : int
        Number of member stars.
    seed : int
        Random seed.
    halo, anisotropy : str
        Families (dynamicall.infer names); ``truth`` must give their parameters.
    truth : dict, optional
        Site -> value (sampled coordinates) of the halo, anisotropy and v_sys; default
        :data:`TRUTH`.
    R_half : float
        Plummer scale = projected half-light radius, kpc.
    R_max : float
        Outer edge of the survey, in units of R_half.
    v_err : (low, high)
        Velocity errors are uniform in this range, km/s.
    pm_err : (low, high), optional
        Proper-motion errors (each component) uniform in this range, mas/yr; adds
        ``pm_R``, ``pm_T`` and errors drawn with the exact sigma_pm,R and sigma_pm,T.
    distance : float
        Distance, kpc.
    contaminant_fraction : float
        Fraction of the catalogue that is contaminants: uniform over the survey disc,
        velocities N(v_sys + contaminant_mean, contaminant_sigma^2) (km/s).

    Returns
    -------
    astropy.table.Table
    """
    import astropy.units as u
    from astropy.table import Table

    from dynamicall.infer import ModelSpec, derived_values
    from dynamicall.jeans import interp_loglog, log_grid, projected_dispersions
    from dynamicall.units import KMS_PER_KPC_MASYR

    truth = dict(TRUTH if truth is None else truth)
    rng = np.random.default_rng(seed)
    spec = ModelSpec("plummer", halo, anisotropy, R_half=R_half)
    values = {s: truth[s] for s in spec.sites}
    tracer, mass, anis = spec.build(values)

    # members: Plummer projected radii within R_max * R_half, by the inverse CDF
    u_max = R_max**2 / (1.0 + R_max**2)
    q = rng.uniform(0.0, u_max, n_stars)
    R = R_half * np.sqrt(q / (1.0 - q))
    # exact engine (default accuracy, ~1e-12) on a 64-point log grid, interpolated log-log to
    # the stars (6-point Lagrange: < 1e-6 relative); cheaper than a grid operator per star
    grid = log_grid(R.min(), R.max(), 64)
    disp = {k: np.asarray(interp_loglog(R, grid, v))
            for k, v in projected_dispersions(grid, tracer, mass, anis).items()}
    sig = disp["los"]
    err = rng.uniform(*v_err, n_stars)
    v = truth["v_sys"] + rng.normal(0.0, sig) + rng.normal(0.0, err)
    member = np.ones(n_stars, bool)
    pms = None
    if pm_err is not None:
        k = 1.0 / (KMS_PER_KPC_MASYR * distance)
        pms = {}
        for name, key in (("pm_R", "pm_radial"), ("pm_T", "pm_tangential")):
            e = rng.uniform(*pm_err, n_stars)
            pms[name] = rng.normal(0.0, k * np.asarray(disp[key])) + rng.normal(0.0, e)
            pms[f"{name}_err"] = e

    n_cont = int(round(contaminant_fraction * n_stars / max(1e-12, 1.0 - contaminant_fraction)))
    if n_cont:
        Rc = R_max * R_half * np.sqrt(rng.uniform(0.0, 1.0, n_cont))
        ec = rng.uniform(*v_err, n_cont)
        vc = truth["v_sys"] + contaminant_mean + rng.normal(0.0, contaminant_sigma, n_cont) + rng.normal(0.0, ec)
        R, v, err = np.concatenate([R, Rc]), np.concatenate([v, vc]), np.concatenate([err, ec])
        member = np.concatenate([member, np.zeros(n_cont, bool)])
        if pms is not None:
            raise ValueError("contaminants with proper motions are not modelled by this script")

    phi = rng.uniform(0.0, 2.0 * np.pi, R.size)
    t = Table()
    # rounded to 1e-6 kpc, 1e-4 km/s and 1e-6 mas/yr: far below the errors
    t["R"] = np.round(R, 6) * u.kpc
    t["x"] = np.round(R * np.cos(phi), 6) * u.kpc
    t["y"] = np.round(R * np.sin(phi), 6) * u.kpc
    t["v"] = np.round(v, 4) * u.km / u.s
    t["v_err"] = np.round(err, 4) * u.km / u.s
    if pms is not None:
        for name in ("pm_R", "pm_T", "pm_R_err", "pm_T_err"):
            t[name] = np.round(pms[name], 6) * u.mas / u.yr
    t["member"] = member
    t.meta["distance"] = f"{distance} kpc"
    t.meta["R_half"] = f"{R_half} kpc"
    t.meta["truth"] = {**{k: float(x) for k, x in truth.items()},
                       **derived_values(spec, values),
                       "halo": spec.component("halo").cls.__name__,
                       "anisotropy": spec.component("anisotropy").cls.__name__,
                       "tracer": "Plummer", "R_max_over_R_half": float(R_max),
                       "contaminant_fraction": float(contaminant_fraction)}
    t.meta["seed"] = int(seed)
    t.meta["made_by"] = "data/make_mock_dwarf.py"
    return t


def main():
    import jax

    jax.config.update("jax_enable_x64", True)  # a script: exact sigma_los in float64
    table = mock_catalog()
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mock_dwarf.ecsv")
    table.write(path, format="ascii.ecsv", overwrite=True)
    print(f"wrote {path}: {len(table)} stars")


if __name__ == "__main__":
    main()
