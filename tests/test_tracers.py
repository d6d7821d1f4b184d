"""Tracers defined by their projected light: Sersic, Exponential, King, Tabulated.

Truths nobody here chose: the Gaussian (n = 1/2) and K0 (n = 1) closed forms, King's
(1962) closed forms, the Abel round trip by adaptive quadrature (scipy), dM/dr = 4 pi r^2
rho and dPhi/dr = G M / r^2, and the Jeans dispersions of single-integral formulas
(isotropic; Mamon & Lokas 2005 Osipkov-Merritt kernel) by adaptive quadrature.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import integrate, special

from dynamicall.anisotropy import Constant, OsipkovMerritt
from dynamicall.jeans import sigma_los
from dynamicall.profiles import NFW, Exponential, King, Plummer, Sersic, Tabulated, fit_surface_density
from dynamicall.profiles.sersic import sersic_b
from dynamicall.units import G

QUAD = dict(epsabs=0, epsrel=1e-13, limit=500)


def abel_deprojection(sigma_prime, r, scale):
    """Brute force rho(r) = -(1/pi) int_0^inf Sigma'(r cosh t) dt (scipy, split at the scale)."""
    f = lambda t: -sigma_prime(r * np.cosh(t))  # noqa: E731
    t_s = np.arccosh(max(scale / r, 1.0))
    edges = [0.0, t_s, t_s + 3.0, t_s + 60.0] if t_s > 0 else [0.0, 3.0, 60.0]
    return sum(integrate.quad(f, a, b, **QUAD)[0] for a, b in zip(edges, edges[1:])) / np.pi


def line_of_sight_projection(p, R, edge=np.inf):
    """Brute force Sigma(R) = 2 int_0^inf rho(R cosh t) R cosh t dt (scipy)."""
    f = lambda t: 2.0 * R * float(p.density(R * np.cosh(t))) * np.cosh(t)  # noqa: E731
    t_end = np.arccosh(edge / R) if np.isfinite(edge) else 40.0
    t_s = min(np.arccosh(max(float(p.scale_radius) / R, 1.0)), t_end)
    edges = sorted({0.0, t_s, min(t_s + 4.0, t_end), t_end})
    return sum(integrate.quad(f, a, b, **QUAD)[0] for a, b in zip(edges, edges[1:]))


# ------------------------------------------------------------------------ Sersic
def test_sersic_b_is_the_median_of_the_gamma_distribution():
    n = np.array([0.2, 0.5, 1.0, 2.0, 4.0, 10.0, 12.0])
    # compiled whole (as inside the profiles' methods); eager sersic_b: its doctest
    assert_allclose(jax.jit(jax.vmap(sersic_b))(n), special.gammaincinv(2 * n, 0.5), rtol=1e-13)
    assert_allclose(jax.jit(sersic_b)(0.5), np.log(2.0), rtol=1e-14)
    # implicit derivative: d/dn P(2n, b_n) = 0
    h = 1e-6
    fd = (special.gammaincinv(2 * (3.0 + h), 0.5) - special.gammaincinv(2 * (3.0 - h), 0.5)) / (2 * h)
    assert_allclose(jax.jit(jax.grad(sersic_b))(3.0), fd, rtol=1e-7)


def test_sersic_half_is_a_gaussian_in_3d():
    """n = 1/2: Sigma is a Gaussian of dispersion s = R_e / sqrt(2 ln 2), so rho, M, Phi are
    the 3D Gaussian's closed forms."""
    M, Re = 3e5, 0.4
    p = Sersic(m_tot=M, R_e=Re, n=0.5)
    s = Re / np.sqrt(2 * np.log(2.0))
    r = Re * np.geomspace(1e-6, 6.0, 29)  # 29 radii, as below: the methods compile once
    x = r / s
    assert_allclose(p.density(r), M / ((2 * np.pi) ** 1.5 * s**3) * np.exp(-0.5 * x * x), rtol=1e-12)
    # M: 1.2e-12 at r = 1e-6 R_e (the DE rule's coarse spacing in ln t where the mass
    # kernel turns over, t ~ y_r ~ 1e-12), round-off elsewhere
    assert_allclose(p.mass(r), M * special.gammainc(1.5, 0.5 * x * x), rtol=1e-11)
    assert_allclose(p.potential(r), -G * M * special.erf(x / np.sqrt(2)) / r, rtol=1e-12)
    assert_allclose(p.surface_density(r), M / (2 * np.pi * s**2) * np.exp(-0.5 * x * x), rtol=1e-12)


@pytest.mark.parametrize("make", [lambda: Sersic(m_tot=2e5, R_e=0.3 * float(sersic_b(1.0)), n=1.0),
                                  lambda: Exponential(m_tot=2e5, R_d=0.3)], ids=["Sersic-n1", "Exponential"])
def test_exponential_deprojects_to_k0(make):
    """n = 1: rho(r) = Sigma_0 K0(r / R_d) / (pi R_d), Sigma_0 = M / (2 pi R_d^2)."""
    p, Rd, M = make(), 0.3, 2e5
    r = Rd * np.geomspace(1e-6, 30.0, 29)
    sigma0 = M / (2 * np.pi * Rd**2)
    assert_allclose(p.density(r), sigma0 * special.k0(r / Rd) / (np.pi * Rd), rtol=1e-12)
    assert_allclose(p.surface_density(r), sigma0 * np.exp(-r / Rd), rtol=1e-13)
    assert_allclose(p.half_light_radius(), special.gammaincinv(2.0, 0.5) * Rd, rtol=1e-13)


@pytest.mark.parametrize("n", [0.3, 0.7, 2.0, 4.0, 8.0, 12.0])
def test_sersic_density_is_the_abel_deprojection(n):
    """rho by our quadrature vs adaptive quadrature of the Abel integral (<= 1e-10)."""
    Re, M = 1.0, 1.0
    p = Sersic(m_tot=M, R_e=Re, n=n)
    b = special.gammaincinv(2 * n, 0.5)
    sigma0 = M * b ** (2 * n) / (2 * np.pi * n * special.gamma(2 * n) * Re**2)

    def sigma_prime(R):
        y = b * (R / Re) ** (1 / n)
        return 0.0 if y > 700 else -sigma0 * np.exp(-y) * y / (n * R)

    r = np.array([1e-6, 1e-3, 0.1, 1.0, 4.0, 15.0])
    expected = [abel_deprojection(sigma_prime, x, Re) for x in r]
    assert_allclose(p.density(r), expected, rtol=1e-10)


@pytest.mark.parametrize("n", [0.7, 2.0, 6.0])
def test_sersic_abel_round_trip(n):
    """Projecting the deprojected density recovers the closed-form Sigma (<= 1e-9)."""
    p = Sersic(m_tot=1.0, R_e=0.5, n=n)
    R = 0.5 * np.array([1e-3, 0.3, 1.0, 5.0])
    assert_allclose(p.surface_density(R), [line_of_sight_projection(p, x) for x in R], rtol=1e-9)


@jax.jit
def radial_derivatives(p, r):
    """(dM/dr, dPhi/dr) by autodiff at radii r (one compilation for every profile of a family)."""
    return jax.vmap(jax.jacfwd(lambda x: jnp.stack([p.mass(x), p.potential(x)])))(r).T


@pytest.mark.slow
@pytest.mark.parametrize("n", [0.5, 1.0, 3.0, 10.0])
def test_sersic_mass_potential_identities(n):
    """dM/dr = 4 pi r^2 rho, dPhi/dr = G M / r^2, M(r) vs adaptive quadrature, limits."""
    p = Sersic(m_tot=1e6, R_e=0.3, n=n)
    r = 0.3 * np.geomspace(1e-5, 1e3, 17)
    dm, dphi = radial_derivatives(p, r)
    assert_allclose(dm, 4 * np.pi * r**2 * p.density(r), rtol=1e-10)
    assert_allclose(dphi, G * p.mass(r) / r**2, rtol=1e-10)
    for x in (0.003, 0.3, 1.5):
        ref = integrate.quad(lambda s: 4 * np.pi * s * s * float(p.density(s)), 0, x, **QUAD)[0]
        assert_allclose(p.mass(x), ref, rtol=1e-9)
    far = 0.3 * 1e6
    assert_allclose(p.mass(far), 1e6, rtol=1e-12)
    assert_allclose(p.potential(far) * far / (-G * 1e6), 1.0, rtol=1e-10)
    assert_allclose(p.projected_mass(0.3), 5e5, rtol=1e-13)
    assert_allclose(p.mass(p.half_mass_radius()), 5e5, rtol=1e-10)


def test_sersic_gradients_match_finite_differences():
    """jit + grad in every parameter of density, mass, potential (central differences)."""

    @jax.jit
    def quantities(x):
        p = Sersic(m_tot=x[0], R_e=x[1], n=x[2])
        return jnp.stack([p.density(0.2), p.mass(0.2), p.potential(0.2), p.surface_density(0.2)])

    x0 = jnp.array([1e6, 0.3, 2.5])
    jac = jax.jacfwd(quantities)(x0)
    for i in range(3):
        h = 1e-5 * float(x0[i])
        fd = (quantities(x0.at[i].add(h)) - quantities(x0.at[i].add(-h))) / (2 * h)
        assert_allclose(jac[:, i], fd, rtol=1e-6)


def test_sersic_vmap_equals_loop():
    n = jnp.array([0.8, 1.5, 4.0])
    r = jnp.geomspace(0.01, 3.0, 5)
    got = jax.vmap(lambda k: Sersic(m_tot=1.0, R_e=0.5, n=k).density(r))(n)
    for i, k in enumerate(np.asarray(n)):
        assert_allclose(got[i], Sersic(m_tot=1.0, R_e=0.5, n=float(k)).density(r), rtol=1e-13)


def test_sersic_bad_parameters():
    with pytest.raises(ValueError, match="Sersic.n"):
        Sersic(m_tot=1.0, R_e=0.3, n=0.1)
    with pytest.raises(ValueError, match="Sersic.R_e"):
        Sersic(m_tot=1.0, R_e=-0.3, n=1.0)


# -------------------------------------------------------------------------- King
def king_density_1962(r, rc, rt, k):
    """King (1962) eq. 27 as printed (arccos form)."""
    z = np.sqrt((1 + (r / rc) ** 2) / (1 + (rt / rc) ** 2))
    return k / (np.pi * rc * (1 + (rt / rc) ** 2) ** 1.5) / z**2 * (np.arccos(z) / z - np.sqrt(1 - z * z))


def test_king_closed_forms():
    M, rc, rt = 1e5, 0.002, 0.06
    p = King(m_tot=M, r_c=rc, r_t=rt)
    k = float(p._k())
    R = rt * np.array([1e-4, 0.01, 0.1, 0.5, 0.9, 0.999])
    x, xt = R / rc, rt / rc
    assert_allclose(p.surface_density(R), k * (1 / np.sqrt(1 + x * x) - 1 / np.sqrt(1 + xt * xt)) ** 2, rtol=1e-11)
    assert_allclose(p.density(R[:-1]), king_density_1962(R[:-1], rc, rt, k), rtol=1e-9)
    # Sigma is the projection of rho; the projected mass is the integral of Sigma
    assert_allclose(p.surface_density(R), [line_of_sight_projection(p, v, rt) for v in R], rtol=1e-10)
    mp = [integrate.quad(lambda s: 2 * np.pi * s * float(p.surface_density(s)), 0, v, **QUAD)[0] for v in R]
    assert_allclose(p.projected_mass(R), mp, rtol=1e-11)
    assert_allclose(p.projected_mass(rt), M, rtol=1e-13)
    # nothing beyond the tidal radius
    out = rt * np.array([1.0001, 2.0, 100.0])
    assert np.all(np.asarray(p.density(out)) == 0) and np.all(np.asarray(p.surface_density(out)) == 0)
    assert_allclose(p.mass(out), M, rtol=1e-13)
    assert_allclose(p.potential(out), -G * M / out, rtol=1e-13)


def test_king_mass_and_potential_identities():
    p = King(m_tot=1e5, r_c=0.002, r_t=0.06)
    r = 0.06 * np.array([1e-4, 0.01, 0.2, 0.49, 0.51, 0.9, 0.999])
    dm, dphi = radial_derivatives(p, r)
    assert_allclose(dm, 4 * np.pi * r**2 * p.density(r), rtol=1e-10)
    assert_allclose(dphi, G * p.mass(r) / r**2, rtol=1e-10)
    ref = [integrate.quad(lambda s: 4 * np.pi * s * s * float(p.density(s)), 0, x, **QUAD)[0] for x in r]
    assert_allclose(p.mass(r), ref, rtol=1e-11)
    grad = jax.grad(lambda rt: King(m_tot=1e5, r_c=0.002, r_t=rt).mass(0.03))(0.06)
    h = 1e-7
    fd = (King(m_tot=1e5, r_c=0.002, r_t=0.06 + h).mass(0.03) - King(m_tot=1e5, r_c=0.002, r_t=0.06 - h).mass(0.03)) / (2 * h)
    assert_allclose(grad, fd, rtol=1e-6)


def test_king_bad_parameters():
    with pytest.raises(ValueError, match="r_t"):
        King(m_tot=1.0, r_c=0.01, r_t=0.005)


# ------------------------------------------------------------- Jeans engine
def brute_sigma_los(R, tracer, mass, r_a=None, edge=np.inf):
    """sigma_los from single integrals by adaptive quadrature: isotropic,
    Sigma sigma^2 = 2 G int_R^inf nu M sqrt(r^2 - R^2) / r^2 dr, or the Osipkov-Merritt
    kernel of Mamon & Lokas (2005, eq. A16)."""

    def kernel(u):
        if r_a is None:
            return np.sqrt(1 - 1 / u**2)
        ua = r_a / R
        return ((ua**2 + 0.5) / (ua**2 + 1) ** 1.5 * (u * u + ua**2) / u * np.arctan(np.sqrt((u * u - 1) / (ua**2 + 1)))
                - 0.5 / (ua**2 + 1) * np.sqrt(1 - 1 / u**2))

    def f(t):  # r = R cosh t: dr / r = tanh t dt
        r = R * np.cosh(t)
        return 2 * G * kernel(np.cosh(t)) * float(tracer.density(r)) * float(mass.mass(r)) * np.tanh(t)

    t_end = np.arccosh(edge / R) if np.isfinite(edge) else 40.0
    t_s = min(np.arccosh(max(float(tracer.scale_radius) / R, 1.0)), t_end)
    edges = sorted({0.0, t_s, min(t_s + 3.0, t_end), t_end})
    num = sum(integrate.quad(f, a, b, epsabs=0, epsrel=1e-12, limit=400)[0] for a, b in zip(edges, edges[1:]))
    return np.sqrt(num / float(tracer.surface_density(R)))


@pytest.mark.parametrize("tracer", [Sersic(m_tot=1.0, R_e=0.3, n=2.0), Exponential(m_tot=1.0, R_d=0.2)],
                         ids=["Sersic-n2", "Exponential"])
@pytest.mark.parametrize("r_a", [None, 0.4], ids=["isotropic", "OM"])
def test_engine_dispersions_with_light_tracers(tracer, r_a):
    """Exact engine (default config) vs brute force, <= 1e-8 (measured ~1e-13 inside 3 R_e)."""
    halo = NFW(rho_s=1e8, r_s=0.5)
    R = np.array([0.01, 0.1, 0.3, 1.0])
    aniso = Constant(beta=0.0) if r_a is None else OsipkovMerritt(r_a=r_a)
    got = sigma_los(R, tracer, halo, aniso)
    assert_allclose(got, [brute_sigma_los(x, tracer, halo, r_a) for x in R], rtol=1e-8)


def test_engine_dispersions_with_king_tracer():
    """King inside its tidal radius. The engine's log-grid polynomial quadrature does not
    know the (r_t - r)^{3/2} edge of the density: measured 5e-12 at 0.02 r_t, 5e-8 at
    0.33 r_t, 1e-5 at 0.83 r_t (default config); the test pins those levels."""
    k, mass = King(m_tot=1e5, r_c=0.002, r_t=0.06), Plummer(m_tot=1e5, r_s=0.004)
    R = np.array([0.001, 0.005, 0.02])
    got = sigma_los(R, k, mass, Constant(beta=0.0))
    ref = [brute_sigma_los(x, k, mass, None, edge=0.06) for x in R]
    assert_allclose(got, ref, rtol=2e-7)
    assert_allclose(got[:2], ref[:2], rtol=1e-9)


@pytest.mark.slow
def test_engine_gradient_in_tracer_parameters():
    """grad of sigma_los with respect to R_e and n (through the deprojection) vs finite
    differences."""
    halo = NFW(rho_s=1e8, r_s=0.5)
    R = np.array([0.05, 0.3])

    def f(x):
        return sigma_los(R, Sersic(m_tot=1.0, R_e=x[0], n=x[1]), halo, Constant(beta=0.2))

    x0 = jnp.array([0.3, 2.0])
    jac = jax.jacfwd(f)(x0)
    for i in range(2):
        h = 1e-5 * float(x0[i])
        fd = (f(x0.at[i].add(h)) - f(x0.at[i].add(-h))) / (2 * h)
        assert_allclose(jac[:, i], fd, rtol=1e-6)


# -------------------------------------------------------------- Tabulated
def test_tabulated_fit_of_a_sersic_table():
    """Multi-Gaussian fit of 30 points of a Sersic n = 2 profile over [0.01, 10] R_e:
    positive, monotone density; errors as documented in tabulated.py."""
    s = Sersic(m_tot=1.0, R_e=1.0, n=2.0)
    R = np.geomspace(0.01, 10.0, 30)
    t, info = fit_surface_density(R, np.asarray(s.surface_density(R)))
    assert info["max_rel_residual"] < 5e-3
    r = np.geomspace(1e-3, 30.0, 200)
    rho = np.asarray(t.density(r))
    assert np.all(rho > 0) and np.all(np.diff(rho) < 0)
    inner = np.geomspace(0.01, 3.0, 15)
    assert np.max(np.abs(np.asarray(t.density(inner)) / np.asarray(s.density(inner)) - 1)) < 5e-3
    assert_allclose(t.projected_mass(t.r_s), 0.5 * float(t.total_mass()), rtol=1e-12)
    dm = jax.vmap(jax.grad(t.mass))(inner)
    assert_allclose(dm, 4 * np.pi * inner**2 * t.density(inner), rtol=1e-12)
    assert_allclose(t.surface_density(inner[::5]), [line_of_sight_projection(t, x) for x in inner[::5]], rtol=1e-10)


def test_tabulated_bad_input():
    with pytest.raises(ValueError, match="Sigma must be"):
        fit_surface_density([0.1, 0.2, 0.3], [1.0, -1.0, 0.5])
    with pytest.raises(ValueError, match="weights"):
        Tabulated(m_tot=1.0, r_s=1.0, weights=(-1.0,), widths=(1.0,))


# ------------------------------------------------------------------ mocks, specs
@pytest.mark.slow
def test_mock_with_a_sersic_tracer():
    from dynamicall.mock import mock_catalog, sample_radii

    p = Sersic(m_tot=1.0, R_e=0.3, n=3.0)
    r = sample_radii(p, 4000, seed=2)
    frac = np.mean(r < float(p.half_mass_radius()))
    assert abs(frac - 0.5) < 4 * 0.5 / np.sqrt(4000)
    table = mock_catalog(p, NFW(rho_s=1e8, r_s=0.5), Constant(beta=0.0), 300, velocities="gaussian", v_err=1.0, seed=1)
    assert len(table) == 300
    assert_allclose(float(table.meta["R_half"].split()[0]), 0.3, rtol=1e-12)
    assert abs(np.mean(np.asarray(table["R"]) < 0.3) - 0.5) < 4 * 0.5 / np.sqrt(300)


def test_mock_with_a_king_tracer():
    """Gaussian velocities of a self-gravitating King cluster: finite (no dispersion is
    interpolated from beyond r_t), variance as the Jeans sigma_los at the stars predicts."""
    from dynamicall.mock import mock_catalog

    k = King(m_tot=1e5, r_c=0.002, r_t=0.06)
    table = mock_catalog(k, k, Constant(beta=0.0), 400, velocities="gaussian", v_err=0.5, seed=5)
    R, v = np.asarray(table["R"]), np.asarray(table["v"])
    assert np.all(np.isfinite(v)) and R.max() < 0.06
    grid = np.geomspace(R.min(), R.max(), 64)
    predicted = np.mean(np.interp(R, grid, np.asarray(sigma_los(grid, k, k, Constant(beta=0.0))) ** 2)) + 0.25
    assert abs(np.var(v) / predicted - 1) < 4 * np.sqrt(2 / R.size)


def test_mock_command_writes_the_light_profile(tmp_path):
    """``dynamicall mock --tracer sersic`` records the light profile that
    ``fit(..., tracer="catalog")`` reads back."""
    from dynamicall.cli import main
    from dynamicall.data import StarCatalog
    from dynamicall.infer.light import light_from_catalog

    out = tmp_path / "mock.ecsv"
    assert main(["mock", "--tracer", "sersic", "--sersic-n", "3", "--r-half", "300pc", "--m200", "1e9",
                 "--n", "60", "--velocities", "gaussian", "--v-err", "1", "--out", str(out)]) == 0
    light = light_from_catalog(StarCatalog.read(out))
    assert light.tracer == "sersic" and light.priors == {"tracer.n": 3.0} and abs(light.R_half - 0.3) < 1e-12


def test_modelspec_accepts_light_tracers():
    from dynamicall.infer import ModelSpec

    spec = ModelSpec("sersic", "nfw", "constant", R_half=0.3, priors={"tracer.n": 2.5})
    tracer, _, _ = spec.build(spec.reference())
    assert isinstance(tracer, Sersic) and abs(float(tracer.R_e) - 0.3) < 1e-12 and float(tracer.n) == 2.5
    spec = ModelSpec("exponential", "nfw", "constant", R_half=0.3)
    assert_allclose(spec.build(spec.reference())[0].half_light_radius(), 0.3, rtol=1e-12)
    spec = ModelSpec("king", "nfw", "constant", R_half=0.01,
                     priors={"tracer.log10_r_c": np.log10(0.002), "tracer.log10_r_t": np.log10(0.06)})
    assert isinstance(spec.build(spec.reference())[0], King)
    R = np.geomspace(0.01, 3.0, 12)
    tab = fit_surface_density(R, np.exp(-R / 0.2))[0]
    spec = ModelSpec(tab, "nfw", "constant", stellar_mass=1e6)
    tracer, mass, _ = spec.build(spec.reference())
    assert tracer.weights == tab.weights and mass.components[1].widths == tab.widths
    with pytest.raises(ValueError, match="'n'"):
        ModelSpec("sersic", "nfw", "constant", R_half=0.3)


# ------------------------------------------------------- fits taking the light profile
def _sersic_photometry(path, n=2.5, R_e=0.3, noise=0.03, seed=4):
    """A noisy Sersic surface-density table in ECSV (R in pc, Sigma in Lsun/pc^2)."""
    import astropy.units as u
    from astropy.table import Table

    rng = np.random.default_rng(seed)
    R = np.geomspace(0.02, 10.0, 24) * R_e
    Sigma = np.asarray(Sersic(m_tot=1e6, R_e=R_e, n=n).surface_density(R)) / 1e6  # Lsun/pc^2
    err = noise * Sigma
    t = Table({"R": R * 1e3 * u.pc, "Sigma": (Sigma + err * rng.standard_normal(R.size)) * u.Lsun / u.pc**2,
               "Sigma_err": err * u.Lsun / u.pc**2})
    t.write(path, format="ascii.ecsv")
    return path


def test_light_from_catalog_metadata():
    import numpyro.distributions as dist

    from dynamicall.infer.light import light_from_catalog

    light = light_from_catalog({"TRACER": "Sersic", "sersic_n": 1.5, "sersic_n_err": 0.2, "R_e": "300 pc",
                                "R_e_err": "30 pc"}, marginalise=True)
    assert light.tracer == "sersic" and abs(light.R_half - 0.3) < 1e-12
    n_prior = light.priors["tracer.n"]
    assert isinstance(n_prior, dist.Distribution) and (float(n_prior.base_dist.loc), float(n_prior.base_dist.scale)) == (1.5, 0.2)
    assert_allclose(light.priors["tracer.log10_R_e"].scale, 0.1 / np.log(10), rtol=1e-12)
    fixed = light_from_catalog({"tracer": "sersic", "sersic_n": 1.5, "R_e": "300 pc", "R_e_err": "30 pc"})
    assert fixed.priors == {"tracer.n": 1.5}
    king = light_from_catalog({"tracer": "king", "r_c": "2 pc", "r_t": "60 pc"})
    assert_allclose(king.priors["tracer.log10_r_t"], np.log10(0.06), rtol=1e-12)
    assert_allclose(king.R_half, King(m_tot=1.0, r_c=0.002, r_t=0.06).half_light_radius(), rtol=1e-12)
    assert light_from_catalog({"tracer": "exponential", "R_d": "0.2 kpc"}).R_half == pytest.approx(0.2 * 1.678347, rel=1e-6)
    with pytest.raises(ValueError, match="sersic_n"):
        light_from_catalog({"tracer": "sersic", "R_e": "0.3 kpc"})
    with pytest.raises(ValueError, match="'tracer'"):
        light_from_catalog({"R_half": "0.3 kpc"})


def test_light_from_photometry_file(tmp_path):
    """Sersic fit of a noisy table: truth within 3.5 sigma of the fitted errors; the
    tabulated model's half-light radius within 3 %."""
    from dynamicall.infer.light import light_from_photometry

    path = _sersic_photometry(tmp_path / "phot.ecsv")
    light = light_from_photometry(path, marginalise=True)
    info = light.info
    assert abs(info["n"] - 2.5) < 3.5 * info["n_err"] and abs(info["log10_R_e"] - np.log10(0.3)) < 3.5 * info["log10_R_e_err"]
    assert 0 < info["n_err"] < 0.5 and 0.3 < info["chi2"] / info["dof"] < 3
    assert_allclose(light.priors["tracer.n"].base_dist.loc, info["n"])
    tab = light_from_photometry(path, model="tabulated")
    assert isinstance(tab.tracer, Tabulated) and abs(tab.R_half / 0.3 - 1) < 0.03


@pytest.mark.slow
def test_fit_with_marginalised_sersic_light(tmp_path):
    """A small Sersic-tracer mock fitted with the exact engine, the Sersic parameters free
    with Gaussian priors from a photometry file: the light sites are sampled, their
    posterior stays on the photometric prior (kinematics add little), and the mass inside
    1.8 R_half is recovered."""
    from dynamicall.data import StarCatalog
    from dynamicall.infer import fit
    from dynamicall.infer.light import light_from_photometry
    from dynamicall.mock import mock_catalog

    tracer, halo = Sersic(m_tot=1.0, R_e=0.3, n=2.5), NFW(rho_s=2e7, r_s=1.0)
    table = mock_catalog(tracer, halo, Constant(beta=0.0), 200, velocities="gaussian", v_err=1.0, seed=3)
    cat = StarCatalog.from_table(table)
    light = light_from_photometry(_sersic_photometry(tmp_path / "phot.ecsv"), marginalise=True)
    result = fit(cat, tracer=light, halo="nfw", anisotropy="constant", warmup=150, samples=150, chains=1,
                 seed=0, progress=False, priors={"anisotropy.beta": 0.0, "halo.log10_r_s": 0.0})
    assert {"tracer.n", "tracer.log10_R_e"} <= set(result.samples)
    n = result.draws("tracer.n")
    prior = light.priors["tracer.n"].base_dist
    assert abs(np.median(n) - float(prior.loc)) < float(prior.scale) and np.std(n) < 1.3 * float(prior.scale)
    m = result.draws("M_1.8_R_half")
    truth = float(halo.mass(1.8 * 0.3))
    lo, hi = np.percentile(m, [0.5, 99.5])
    assert lo < truth < hi
