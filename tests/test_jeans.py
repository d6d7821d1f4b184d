"""The exact Jeans engine against closed forms, identities and an independent public code.

Tolerances (float64): Plummer 1e-10 (measured ~3e-12), other closed forms 1e-8 (measured
<1e-11), general vs kernel path 1e-8 (measured ~5e-12), jampy 5e-6 (measured 3e-8 to 2e-6;
1e-3 for its logistic anisotropy, which jampy itself only reaches to ~7e-4), gradients vs
finite differences 1e-6.
"""

from __future__ import annotations

from decimal import Decimal, getcontext

import astropy.units as u
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpy.testing import assert_allclose

from dynamicall._pytree import parameter, pytree_dataclass
from dynamicall.anisotropy import BaesVanHese, Constant, OsipkovMerritt
from dynamicall.jeans import (
    JeansConfig,
    JeansModel,
    interp_loglog,
    log_grid,
    projected_dispersions,
    sigma_los,
    sigma_pm_radial,
    sigma_pm_tangential,
    sigma_r,
    sigma_t,
)
from dynamicall.profiles import NFW, Hernquist, Plummer, Profile, Zhao
from dynamicall.units import G

R_WIDE = np.logspace(-3, 2, 41)  # in units of the Plummer radius a = 1
R_DWARF = np.logspace(-2, 1, 24)  # kpc, a dwarf galaxy's range
PLUMMER = Plummer(m_tot=1.0, r_s=1.0)
STARS = Plummer(m_tot=2e6, r_s=0.3)
HALO = NFW(rho_s=2e7, r_s=1.0)


def test_plummer_isotropic_los_closed_form():
    """sigma_los^2 = 3 pi G M / (64 sqrt(R^2 + a^2)) to 1e-10 over R in [1e-3, 1e2] a."""
    exact = 3 * np.pi * G / (64 * np.sqrt(R_WIDE**2 + 1))
    for method in ("general", "kernel"):
        s = sigma_los(R_WIDE, PLUMMER, PLUMMER, Constant(beta=0.0), method=method)
        assert_allclose(s**2, exact, rtol=1e-10, err_msg=method)


def test_plummer_isotropic_sigma_r_closed_form():
    exact = G / (6 * np.sqrt(R_WIDE**2 + 1))
    assert_allclose(sigma_r(R_WIDE, PLUMMER, PLUMMER, Constant(beta=0.0)) ** 2, exact, rtol=1e-10)


def _hernquist_sigma_r2(r, a=1.0, m=1.0):
    """Hernquist (1990) eq. 10 in 60-digit decimal arithmetic (the form cancels badly)."""
    getcontext().prec = 60
    out = []
    for x in r:
        x, A = Decimal(repr(float(x))), Decimal(repr(a))
        term1 = 12 * x * (x + A) ** 3 / A**4 * ((x + A) / x).ln()
        y = x / A
        term2 = x / (x + A) * (25 + 52 * y + 42 * y * y + 12 * y**3)
        out.append(float(Decimal(repr(G * m)) / (12 * A) * (term1 - term2)))
    return np.array(out)


def test_hernquist_isotropic_sigma_r_closed_form():
    h = Hernquist(m_tot=1.0, r_s=1.0)
    r = np.logspace(-2, 2, 17)
    assert_allclose(sigma_r(r, h, h, Constant(beta=0.0)) ** 2, _hernquist_sigma_r2(r), rtol=1e-8)


def test_plummer_osipkov_merritt_sigma_r_closed_form():
    """sigma_r^2 = G M [1 + (3 w / 2 - 1) / r_a^2] / (6 sqrt(w) (1 + r^2 / r_a^2)), w = 1 + r^2,
    for a self-consistent Plummer sphere (a = 1) with Osipkov-Merritt radius r_a."""
    for r_a in (0.3, 1.0, 5.0):
        w = 1 + R_WIDE**2
        exact = G * (1 + (1.5 * w - 1) / r_a**2) / (6 * np.sqrt(w) * (1 + R_WIDE**2 / r_a**2))
        got = sigma_r(R_WIDE, PLUMMER, PLUMMER, OsipkovMerritt(r_a=r_a)) ** 2
        assert_allclose(got, exact, rtol=1e-8, err_msg=f"r_a={r_a}")


@pytree_dataclass
class PowerLaw(Profile):
    """nu = r^-gamma (scale-free; r_s only centres the quadrature)."""

    gamma: float = parameter(lower=1)
    r_s: float = parameter(kind="length", lower=0, default=1.0)

    def density(self, r):
        return r**-self.gamma


@pytree_dataclass
class SingularIsothermal(Profile):
    """M(r) = v_c^2 r / G."""

    v_c: float = parameter(kind="velocity", lower=0)
    r_s: float = parameter(kind="length", lower=0, default=1.0)

    cheap_mass = True

    def density(self, r):
        return self.v_c**2 / (4 * np.pi * G * r * r)

    def mass(self, r):
        return self.v_c**2 * r / G


@pytest.mark.parametrize("beta", [-0.5, 0.0, 0.5, 0.9])
def test_power_law_tracer_in_singular_isothermal_sphere(beta):
    """sigma_r^2 = v_c^2 / (gamma - 2 beta); sigma_los^2 = sigma_r^2 (1 - beta (gamma-1)/gamma);
    sigma_pm,R^2 = sigma_r^2 (1 - beta / gamma); sigma_pm,T^2 = sigma_r^2 (1 - beta)."""
    gamma, v_c = 3.5, 20.0
    tracer, mass, aniso = PowerLaw(gamma=gamma), SingularIsothermal(v_c=v_c), Constant(beta=beta)
    sr2 = v_c**2 / (gamma - 2 * beta)
    r = np.logspace(-1, 1, 5)
    assert_allclose(sigma_r(r, tracer, mass, aniso) ** 2, sr2, rtol=1e-8)
    assert_allclose(sigma_t(r, tracer, mass, aniso) ** 2, (1 - beta) * sr2, rtol=1e-8)
    pd = projected_dispersions(r, tracer, mass, aniso)
    assert_allclose(pd["los"] ** 2, sr2 * (1 - beta * (gamma - 1) / gamma), rtol=1e-8)
    assert_allclose(pd["pm_radial"] ** 2, sr2 * (1 - beta / gamma), rtol=1e-8)
    assert_allclose(pd["pm_tangential"] ** 2, sr2 * (1 - beta), rtol=1e-8)


@pytest.mark.parametrize(
    "aniso",
    [Constant(beta=b) for b in (-0.7, 0.0, 0.3, 0.5, 0.99)] + [OsipkovMerritt(r_a=x) for x in (0.003, 0.3, 3.0)],
    ids=lambda a: repr(a),
)
@pytest.mark.slow
def test_general_path_matches_kernel_path(aniso):
    general = sigma_los(R_DWARF, STARS, HALO + STARS, aniso)
    kernel = sigma_los(R_DWARF, STARS, HALO + STARS, aniso, method="kernel")
    assert_allclose(general, kernel, rtol=1e-8)


def test_kernel_path_rejects_other_anisotropy():
    with pytest.raises(ValueError, match="method='general'"):
        sigma_los(R_DWARF, STARS, HALO, BaesVanHese(beta_0=0.0, beta_inf=0.5, r_a=0.3, eta=2.0), method="kernel")


# ---------------------------------------------------------------- jampy (independent code)
def _jampy():
    try:
        import jampy.sph  # noqa: F401
        import mgefit  # noqa: F401
    except ImportError as err:  # pragma: no cover - depends on the environment
        pytest.skip(f"jampy/mgefit not installed ({err}); install the [test] extra on Python < 3.12")
    import jampy.sph
    import mgefit

    return jampy.sph, mgefit


@pytree_dataclass
class GaussianSum(Profile):
    """A multi-Gaussian expansion: the exact model jampy computes, with closed forms."""

    total: jnp.ndarray = parameter(kind="mass")
    sigma: jnp.ndarray = parameter(kind="length", lower=0)

    cheap_mass = True

    @property
    def scale_radius(self):
        return jnp.median(self.sigma)

    def density(self, r):
        r = jnp.asarray(r)[..., None]
        return jnp.sum(self.total / (2 * np.pi * self.sigma**2) ** 1.5 * jnp.exp(-(r**2) / (2 * self.sigma**2)), -1)

    def mass(self, r):
        x = jnp.asarray(r)[..., None] / self.sigma
        erf = jax.scipy.special.erf(x / np.sqrt(2))
        return jnp.sum(self.total * (erf - np.sqrt(2 / np.pi) * x * jnp.exp(-x * x / 2)), -1)

    def surface_density(self, R):
        R = jnp.asarray(R)[..., None]
        return jnp.sum(self.total / (2 * np.pi * self.sigma**2) * jnp.exp(-(R**2) / (2 * self.sigma**2)), -1)


def _mge(mgefit, profile, lo, hi, n):
    R = np.geomspace(lo, hi, 300)
    fit = mgefit.mge_fit_1d.mge_fit_1d(
        R, np.asarray(profile.surface_density(R)), ngauss=n, quiet=True, plot=False, outer_slope=4
    )
    counts_1d, sigma = fit.sol  # counts_1d = peak * sqrt(2 pi) sigma
    total = counts_1d * np.sqrt(2 * np.pi) * sigma
    # jampy ends its line-of-sight integrals at R + 3 max(sigma) (``lim`` in jam_sph_proj):
    # a wide Gaussian carrying 1e-12 of the mass moves that cut far out, for both codes.
    total, sigma = np.append(total, 1e-12 * total.sum()), np.append(sigma, 1e4)
    return GaussianSum(total=jnp.asarray(total), sigma=jnp.asarray(sigma))


@pytest.fixture(scope="module")
def mge_models():
    _, mgefit = _jampy()
    return _mge(mgefit, STARS, 1e-3, 30.0, 20), _mge(mgefit, HALO, 1e-3, 100.0, 30)


@pytest.mark.parametrize(
    "aniso",
    [Constant(beta=0.0), Constant(beta=0.4), Constant(beta=-0.5), OsipkovMerritt(r_a=0.4),
     BaesVanHese(beta_0=-0.2, beta_inf=0.6, r_a=0.5, eta=2.5)],
    ids=lambda a: type(a).__name__ + str(getattr(a, "beta", "")),
)
@pytest.mark.slow
def test_against_jampy(mge_models, aniso):
    """jampy 8.1.4 ``jam.sph.proj`` (Cappellari 2008, 2020) on the same Gaussian expansions.

    jampy integrates to epsrel = 1e-8 and interpolates from 200 radii; it hard-codes
    G = 0.004301 pc (km/s)^2/Msun, so its masses are rescaled to our G.
    """
    jam, _ = _jampy()
    stars, halo = mge_models
    distance = 1.0  # Mpc
    kpc_to_arcsec = 1e3 / (distance * 1e6 * np.pi / 648000)
    g_ratio = G * 1e3 / 0.004301
    peak = lambda m: np.asarray(m.total / (2 * np.pi * m.sigma**2)) / 1e6  # noqa: E731 (Msun/pc^2)
    args = (peak(stars), np.asarray(stars.sigma) * kpc_to_arcsec, peak(halo) * g_ratio,
            np.asarray(halo.sigma) * kpc_to_arcsec, 0.0, distance, R_DWARF * kpc_to_arcsec)
    kw = dict(plot=False, quiet=True, epsrel=1e-8, nrad=200)
    if isinstance(aniso, Constant):
        kw["beta"] = np.full(stars.total.size, float(aniso.beta))
    elif isinstance(aniso, OsipkovMerritt):
        kw["rani"] = float(aniso.r_a) * kpc_to_arcsec
    else:  # jampy's logistic law is Baes & van Hese's with alpha = eta
        kw.update(logistic=True, beta=[float(aniso.r_a) * kpc_to_arcsec, float(aniso.beta_0),
                                      float(aniso.beta_inf), float(aniso.eta)])
    ours = projected_dispersions(R_DWARF, stars, halo, aniso)
    # jampy's logistic (2D-quadrature) path reaches only ~7e-4: with beta_0 = beta_inf it
    # differs from jampy's own constant-beta path by that much (checked below).
    rtol = 1e-3 if isinstance(aniso, BaesVanHese) else 5e-6
    tensors = ("los",) if isinstance(aniso, OsipkovMerritt) else ("los", "pmr", "pmt")  # jampy: OM los only
    for tensor in tensors:
        key = {"los": "los", "pmr": "pm_radial", "pmt": "pm_tangential"}[tensor]
        theirs = jam.proj(*args, tensor=tensor, **kw).model
        assert_allclose(ours[key], theirs, rtol=rtol, err_msg=tensor)
    if isinstance(aniso, BaesVanHese):
        kw.update(beta=[kw["beta"][0], 0.3, 0.3, 2.0])
        logistic = jam.proj(*args, **kw).model
        kw.pop("logistic")
        kw["beta"] = np.full(stars.total.size, 0.3)
        constant = jam.proj(*args, **kw).model
        assert 3e-4 < np.max(np.abs(logistic / constant - 1)) < 1e-3


# ------------------------------------------------------------------------ gradients
def _model(params):
    m_tot, r_star, rho_s, r_s, alpha, beta, gamma, b0, binf, r_a, eta = params
    return (
        Plummer(m_tot=m_tot, r_s=r_star),
        Zhao(rho_s=rho_s, r_s=r_s, alpha=alpha, beta=beta, gamma=gamma) + Plummer(m_tot=m_tot, r_s=r_star),
        BaesVanHese(beta_0=b0, beta_inf=binf, r_a=r_a, eta=eta),
    )


R_GRAD = np.array([0.02, 0.3, 2.0])


@pytest.mark.parametrize(
    "params",
    [
        [2e6, 0.3, 2e7, 1.0, 1.5, 4.5, 0.8, -0.3, 0.6, 0.4, 2.0],
        [2e6, 0.3, 5e6, 3.0, 0.6, 6.5, 1.4, 0.99, 0.99, 0.01, 1.2],  # beta -> 0.99, small r_a
        [2e6, 0.3, 5e7, 0.2, 2.8, 3.1, 0.0, -0.99, 0.0, 0.001, 3.0],
    ],
)
@pytest.mark.slow
def test_gradients_match_finite_differences(params):
    @jax.jit
    def observables(x):
        pd = projected_dispersions(R_GRAD, *_model(x), config=JeansConfig.fast())
        return jnp.concatenate([pd["los"], pd["pm_radial"], pd["pm_tangential"]])

    x0 = jnp.array(params, dtype=float)
    jac = jax.jit(jax.jacfwd(observables))(x0)
    assert np.all(np.isfinite(jac))
    for i in range(x0.size):
        h = 1e-6 * max(abs(float(x0[i])), 1e-2)
        fd = (observables(x0.at[i].add(h)) - observables(x0.at[i].add(-h))) / (2 * h)
        scale = float(jnp.max(jnp.abs(observables(x0)))) / max(abs(float(x0[i])), 1e-2)
        assert_allclose(jac[:, i], fd, rtol=1e-6, atol=1e-9 * scale, err_msg=f"parameter {i}")


@pytest.mark.slow
def test_reverse_mode_gradient_is_finite_and_matches_forward():
    x0 = jnp.array([2e6, 0.3, 2e7, 1.0, 1.5, 4.5, 0.8, -0.3, 0.6, 0.4, 2.0])
    f = lambda x: jnp.sum(sigma_los(R_GRAD, *_model(x), config=JeansConfig.fast()))  # noqa: E731
    assert_allclose(jax.grad(f)(x0), jax.jacfwd(f)(x0), rtol=1e-10)


# ------------------------------------------------------------------ precision, batching
def test_float32_accuracy():
    """float32 parameters give float32 results within 1e-5 of float64 (aim: 1e-4)."""
    x0 = [2e6, 0.3, 2e7, 1.0, 1.5, 4.5, 0.8, -0.3, 0.6, 0.4, 2.0]
    s64 = sigma_los(R_DWARF, *_model(jnp.array(x0)))
    s32 = sigma_los(R_DWARF, *_model(jnp.array(x0, dtype=jnp.float32)))
    assert s32.dtype == jnp.float32
    assert_allclose(s32, s64, rtol=1e-5)


@pytest.mark.slow
def test_vmap_over_parameters_equals_loop():
    betas = jnp.array([-0.5, 0.0, 0.5])
    batched = jax.vmap(lambda b: sigma_los(R_DWARF, STARS, HALO, Constant(beta=b)))(betas)
    for i, b in enumerate(betas):
        assert_allclose(batched[i], sigma_los(R_DWARF, STARS, HALO, Constant(beta=float(b))), rtol=1e-12)


def test_mass_and_length_scaling():
    """sigma^2 is linear in the mass normalisation and scales as G rho_s r_s^2."""
    aniso = OsipkovMerritt(r_a=0.5)
    base = sigma_los(R_DWARF, STARS, HALO, aniso)
    assert_allclose(sigma_los(R_DWARF, STARS, NFW(rho_s=8e7, r_s=1.0), aniso), 2 * base, rtol=1e-12)
    lam = 3.0
    scaled = sigma_los(lam * R_DWARF, Plummer(m_tot=2e6, r_s=0.9), NFW(rho_s=2e7, r_s=3.0), OsipkovMerritt(r_a=1.5))
    assert_allclose(scaled, lam * base, rtol=1e-10)


def test_quantities_and_wrapper():
    model = JeansModel(STARS, HALO, Constant(beta=0.2))
    direct = sigma_los(R_DWARF, STARS, HALO, Constant(beta=0.2))
    assert_allclose(model.sigma_los(R_DWARF * 1e3 * u.pc), direct, rtol=1e-13)
    assert_allclose(model.sigma_pm_radial(R_DWARF), sigma_pm_radial(R_DWARF, STARS, HALO, Constant(beta=0.2)))
    assert_allclose(model.sigma_pm_tangential(R_DWARF), sigma_pm_tangential(R_DWARF, STARS, HALO, Constant(beta=0.2)))
    assert model.sigma_r(0.3).shape == ()


@pytest.mark.slow
def test_interpolation_from_a_log_grid():
    grid = log_grid(0.01, 10.0, 32)
    aniso = BaesVanHese(beta_0=0.0, beta_inf=0.5, r_a=0.3, eta=2.0)
    on_grid = sigma_los(grid, STARS, HALO, aniso)
    stars_R = np.random.default_rng(1).uniform(0.011, 9.9, 50)
    interp = jax.jit(lambda R: interp_loglog(R, grid, on_grid))(stars_R)  # traced radii: gathers
    assert_allclose(interp, sigma_los(stars_R, STARS, HALO, aniso), rtol=1e-5)
    outside = np.array([0.005, 0.02, 3.0, 15.0])  # both power-law continuations too
    for R in (stars_R, outside):
        concrete = interp_loglog(R, grid, on_grid)  # concrete radii: a fixed matrix
        assert_allclose(concrete, jax.jit(lambda r: interp_loglog(r, grid, on_grid))(R), rtol=1e-13)


def test_bad_input_raises():
    aniso = Constant(beta=0.0)
    for bad in ([0.0, 1.0], [-1.0], [np.nan], []):
        with pytest.raises(ValueError, match="R must be finite"):
            sigma_los(bad, STARS, HALO, aniso)
    with pytest.raises(TypeError, match="concrete"):
        jax.jit(lambda R: sigma_los(R, STARS, HALO, aniso))(R_DWARF)
    with pytest.raises(TypeError, match="anisotropy"):
        sigma_los(R_DWARF, STARS, HALO, 0.3)
    with pytest.raises(ValueError, match="beta"):
        Constant(beta=1.0)
    with pytest.raises(ValueError, match="beta_inf"):
        BaesVanHese(beta_0=0.0, beta_inf=1.2, r_a=1.0, eta=2.0)
    with pytest.raises(ValueError, match="r_a"):
        OsipkovMerritt(r_a=-1.0)
    with pytest.raises(ValueError, match="method"):
        sigma_los(R_DWARF, STARS, HALO, aniso, method="magic")
    with pytest.raises(ValueError, match="log-spaced"):
        interp_loglog(1.0, np.array([1.0, 2.0, 4.0, 5.0]), np.ones(4))
