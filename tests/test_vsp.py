"""Virial shape parameters (dynamicall.vsp): closed forms, DF fourth moments, mocks.

Truths:
* isotropic self-consistent Plummer sphere (mass M, scale a, tracer normalised to 1):
  v_s1 = 2 int G M nu sigma^2 r dr = G^2 M^2 / (70 pi a^2) and
  v_s2 = (4/5) int G M nu sigma^2 r^3 dr = G^2 M^2 / (70 pi) (Beta-function integrals);
* the definitions v_s1 = int Sigma <v_los^4> R dR, v_s2 = int Sigma <v_los^4> R^3 dR
  evaluated from the fourth moments of Eddington distribution functions (isotropic and
  Osipkov-Merritt): 2 pi v_s1 = int nu <v_z^4> d^3x with angular weights 1/5, 4/5, 8/15 of
  <v_r^4>, <v_r^2 v_th^2>, <v_th^4>, and 2 pi v_s2 = int nu <v_z^4> R^2 d^3x with
  weights 2/35, 48/105, 16/35;
* constant-beta and Baes-van Hese models against an independent scipy evaluation (the
  radial Jeans integral and the VSP integrals by quad);
* the estimator on DF-sampled mocks (4 sigma) and on Gaussian velocities with
  heteroscedastic errors (<v^4> = 3 sigma^4).
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
from scipy.integrate import cumulative_simpson, simpson

from dynamicall.anisotropy import BaesVanHese, Constant, OsipkovMerritt
from dynamicall.df import eddington
from dynamicall.jeans import interp_loglog, log_grid
from dynamicall.mock import sample_positions, sample_velocities_df
from dynamicall.profiles import NFW, CoreNFW, Plummer
from dynamicall.quadrature import gauss_legendre
from dynamicall.units import G
from dynamicall.vsp import vsp_estimate, vsp_from_catalog, vsp_model


@pytest.fixture(scope="module")
def model():
    """Plummer stars in a cored NFW halo plus the stars (as in tests/test_mock.py)."""
    stars = Plummer(m_tot=1e6, r_s=0.25)
    nfw = NFW.from_m200_c(1e9, 15.0)
    return stars, CoreNFW(rho_s=float(nfw.rho_s), r_s=float(nfw.r_s), r_c=0.25, n=1.0) + stars


def test_plummer_closed_form():
    """Isotropic Plummer: v_s1 and v_s2 to 1e-9 (measured ~2e-14)."""
    m, a = 1e6, 0.3
    p = Plummer(m_tot=m, r_s=a)
    vs1, vs2 = np.asarray(vsp_model(p, p, Constant(beta=0.0)))
    assert vs1 == pytest.approx((G * m) ** 2 / (70 * np.pi * a**2), rel=1e-9)
    assert vs2 == pytest.approx((G * m) ** 2 / (70 * np.pi), rel=1e-9)


@pytest.mark.parametrize("anisotropy", [None, OsipkovMerritt(r_a=0.25)], ids=["ergodic", "om"])
@pytest.mark.slow
def test_virial_identities_with_df_moments(model, anisotropy):
    """The Jeans-based v_s1, v_s2 (Merrifield & Kent 1990 forms) equal the projected
    fourth moments of the Eddington DF: v_s1 to 1e-9 (measured ~3e-13), v_s2 to 1e-7
    (measured ~1e-9; its integrand falls only as r^-2)."""
    stars, mass = model
    df = eddington(stars, mass, anisotropy)
    x, w = gauss_legendre(600)
    a, b = np.log(1e-6), np.log(1e6)
    r = np.exp(a + (b - a) * x)
    dr = (b - a) * w * r
    mom = df.velocity_moments(r)
    nu = np.asarray(stars.density(r)) / 1e6
    v4, mixed, t4 = (np.asarray(mom[k]) for k in ("v_r4", "v_r2_v_t2", "v_t4"))
    vs1 = np.sum(dr * 4 * np.pi * r**2 * nu * (v4 / 5 + 4 * mixed / 5 + 8 * t4 / 15)) / (2 * np.pi)
    vs2 = np.sum(dr * 4 * np.pi * r**4 * nu * (2 * v4 / 35 + 48 * mixed / 105 + 16 * t4 / 35)) / (2 * np.pi)
    model_vs = np.asarray(vsp_model(stars, mass, anisotropy or Constant(beta=0.0)))
    assert model_vs[0] == pytest.approx(vs1, rel=1e-9)
    assert model_vs[1] == pytest.approx(vs2, rel=1e-7)


BVH = dict(beta_0=-0.1, beta_inf=0.6, r_a=0.3, eta=2.0)


def _numpy_anisotropy(kind):
    """beta(r) and ln f(r) = int 2 beta / r dr written here in NumPy (closed forms)."""
    if kind == "bvh":
        b0, binf, ra, eta = BVH["beta_0"], BVH["beta_inf"], BVH["r_a"], BVH["eta"]
        beta = lambda r: (b0 + binf * (r / ra) ** eta) / (1 + (r / ra) ** eta)  # noqa: E731
        log_f = lambda r: 2 * b0 * np.log(r / ra) + 2 * (binf - b0) / eta * np.log1p((r / ra) ** eta)  # noqa: E731
        return BaesVanHese(**BVH), beta, log_f
    b = float(kind)
    return Constant(beta=b), (lambda r: b + 0 * r), (lambda r: 2 * b * np.log(r))


@pytest.mark.parametrize("kind", ["0.4", "-0.5", "bvh"])
def test_against_scipy(kind):
    """Constant beta and Baes-van Hese: vsp_model vs an independent scipy evaluation
    (nu sigma_r^2 = (1/f) int_r^inf f nu G M / s^2 ds, then the VSP integrals, by
    composite Simpson rules): 1e-7."""
    anisotropy, beta, log_f = _numpy_anisotropy(kind)
    stars = Plummer(m_tot=1.0, r_s=0.25)
    halo = NFW(rho_s=2e7, r_s=1.5)

    def mass(r):
        x = r / 1.5
        return 4 * np.pi * 2e7 * 1.5**3 * (np.log1p(x) - x / (1 + x))

    def nu(r):
        return 3 / (4 * np.pi * 0.25**3) * (1 + (r / 0.25) ** 2) ** -2.5

    # composite Simpson on a fine grid in ln r (step 1.7e-3, error ~1e-12), from 1e-6 to
    # 1e9 kpc: the v_s2 integrand falls only as ln(r)^2 / r^2 in an NFW halo
    t = np.linspace(np.log(1e-6), np.log(1e9), 20001)
    r = np.exp(t)
    f_nu_gm = np.exp(log_f(r) - log_f(1.0)) * nu(r) * G * mass(r) / r  # integrand in ln r
    outside = cumulative_simpson(f_nu_gm[::-1], x=-t[::-1], initial=0.0)[::-1]
    p = outside / np.exp(log_f(r) - log_f(1.0))
    vs1 = 0.4 * simpson(G * mass(r) * (5 - 2 * beta(r)) * p * r**2, x=t)
    vs2 = 4 / 35 * simpson(G * mass(r) * (7 - 6 * beta(r)) * p * r**4, x=t)
    got = np.asarray(vsp_model(stars, halo, anisotropy))
    assert got[0] == pytest.approx(vs1, rel=1e-7)
    assert got[1] == pytest.approx(vs2, rel=1e-7)


@pytest.mark.parametrize("anisotropy", [None, OsipkovMerritt(r_a=0.25)], ids=["ergodic", "om"])
@pytest.mark.slow
def test_estimator_on_df_mock(model, anisotropy):
    """30,000 DF-sampled stars with 2 km/s errors, 4-sigma criteria:
    (1) the complete-sample v_s1 estimate agrees with the model;
    (2) v_s2: its per-star terms R^2 t are heavy-tailed (the few outermost stars weigh
    most: unconditional z-scores reach -5 in 1 of 40 mocks), so the velocity part is
    tested against the DF's <v_z^4> at each star's position (the position part is the
    sampled radii, tested in tests/test_mock.py);
    (3) the binned v_s1 estimate with the photometric profile recovers the model from a
    radially selected subsample (stars beyond R_half kept with probability 0.2, bin
    edges at the selection boundary)."""
    stars, mass = model
    df = eddington(stars, mass, anisotropy)
    rng = np.random.default_rng(99 if anisotropy is None else 98)
    pos = sample_positions(stars, 30_000, rng)
    vel = sample_velocities_df(df, pos, rng)
    r = np.linalg.norm(pos, axis=1)
    R = np.hypot(pos[:, 0], pos[:, 1])
    err = np.full(R.size, 2.0)
    v = vel[:, 2] + err * rng.standard_normal(R.size)
    truth = np.asarray(vsp_model(stars, mass, anisotropy or Constant(beta=0.0)))
    est = vsp_estimate(R, v, err, v_sys=0.0)
    assert abs(est.vsp1 - truth[0]) < 4 * est.vsp1_err

    grid = log_grid(1e-4, 1e3, 160)
    mom = df.velocity_moments(grid)
    a, b, c = (np.asarray(interp_loglog(r, grid, mom[k])) for k in ("v_r4", "v_r2_v_t2", "v_t4"))
    cos2 = (pos[:, 2] / r) ** 2
    expected = a * cos2**2 + 6 * b * cos2 * (1 - cos2) + c * (1 - cos2) ** 2  # <v_z^4> at x_i
    residual = R**2 * (v**4 - 6 * v**2 * err**2 + 3 * err**4 - expected) / (2 * np.pi)
    assert abs(est.vsp2 - np.mean(R**2 * expected) / (2 * np.pi)) < 4 * residual.std() / np.sqrt(R.size)

    keep = (R < 0.25) | (rng.uniform(size=R.size) < 0.2)
    inner, outer = R[keep & (R < 0.25)], R[keep & (R >= 0.25)]
    q = np.linspace(0.0, 1.0, 7)[1:-1]
    edges = np.concatenate([[0.0], np.quantile(inner, q), [0.25], np.quantile(outer, q)])
    binned = vsp_estimate(R[keep], v[keep], err[keep], v_sys=0.0, tracer=stars, edges=edges)
    assert abs(binned.vsp1 - truth[0]) < 4 * binned.vsp1_err


def test_error_correction_and_catalog():
    """Gaussian velocities (sigma = 8 km/s) with heteroscedastic errors 1-6 km/s:
    <v^4> = 3 sigma^4 is recovered within 4 sigma (the raw fourth moment is biased high
    by > 10 sigma); vsp_from_catalog reads R, v, v_err with units and a mask."""
    rng = np.random.default_rng(5)
    n = 40_000
    err = rng.uniform(1.0, 6.0, n)
    v = 100.0 + rng.normal(0.0, 8.0, n) + err * rng.standard_normal(n)
    est = vsp_estimate(np.ones(n), v, err)
    target = 3 * 8.0**4 / (2 * np.pi)
    assert abs(est.vsp1 - target) < 4 * est.vsp1_err
    raw = vsp_estimate(np.ones(n), v, 0.0)
    assert raw.vsp1 - target > 10 * raw.vsp1_err
    from astropy.table import Table
    import astropy.units as u

    table = Table(dict(R=np.full(n, 250.0) * u.pc, v=v * u.km / u.s, v_err=err * u.km / u.s, member=np.ones(n, bool)))
    from_cat = vsp_from_catalog(table, mask=table["member"])
    assert from_cat.vsp1 == pytest.approx(est.vsp1, rel=1e-12)
    assert from_cat.vsp2 == pytest.approx(est.vsp1 * 0.25**2, rel=1e-12)


def test_differentiable_and_bad_input(model):
    """vsp_model is differentiable inside jit (d v_s1 / d log10 rho_s of the halo vs
    central differences, 1e-6); bad inputs raise."""
    stars, _ = model

    def vs1(log_rho):
        halo = NFW(rho_s=10.0**log_rho, r_s=1.5)
        return vsp_model(stars, halo + stars, Constant(beta=0.2))[0]

    step = 1e-4
    fd = (vs1(7.0 + step) - vs1(7.0 - step)) / (2 * step)
    assert float(jax.jit(jax.grad(vs1))(7.0)) == pytest.approx(float(fd), rel=1e-6)
    with pytest.raises(ValueError, match="finite total mass"):
        vsp_model(NFW(rho_s=1e7, r_s=1.0), stars, Constant(beta=0.0))
    with pytest.raises(ValueError, match="r_range"):
        vsp_model(stars, stars, Constant(beta=0.0), r_range=(1.0, 0.1))
    with pytest.raises(ValueError, match="same length"):
        vsp_estimate(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="v_err"):
        vsp_estimate(np.ones(3), np.ones(3), -1.0)
