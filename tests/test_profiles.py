"""Every profile family passes the same identities, limits and interface checks (float64).

Tolerances: closed forms against the generic quadrature and identities 1e-10 relative
(measured 1e-13 to 1e-15); grad against central finite differences 1e-6 (finite
differences with relative step 1e-5 are good to ~1e-9).
"""

from __future__ import annotations

import astropy.units as u
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import integrate

import dynamicall.profiles as profiles_module
from dynamicall._pytree import tree_equal
from dynamicall.profiles import NFW, PROFILES, Composite, Hernquist, Plummer, Profile
from dynamicall.units import G
from profile_cases import BUILTIN, CASES, Isochrone, composite_case

METHODS = ("mass", "potential", "surface_density", "projected_mass")


@pytest.fixture(params=CASES, ids=[c.name for c in CASES])
def case(request):
    return request.param


def radii(p, lo=-4, hi=4, n=17):
    return float(p.scale_radius) * np.logspace(lo, hi, n)


def test_registry_complete():
    exported = {
        obj
        for obj in vars(profiles_module).values()
        if isinstance(obj, type) and issubclass(obj, Profile) and obj is not Profile
    }
    assert exported == set(PROFILES.values()) | {Composite}
    assert exported <= BUILTIN, f"families without a test case: {exported - BUILTIN}"


@pytest.mark.slow
def test_derivative_identities(case):
    """dM/dr = 4 pi r^2 rho and dPhi/dr = G M / r^2 (hence Poisson's equation)."""
    p = case.make()
    r = radii(p)
    dmdr, dphi = jax.jit(jax.vmap(jax.jacfwd(lambda x: jnp.stack([p.mass(x), p.potential(x)]))))(r).T
    assert_allclose(dmdr, 4 * np.pi * r**2 * p.density(r), rtol=1e-10)
    assert_allclose(dphi, G * p.mass(r) / r**2, rtol=1e-10)


def _projection(p, R):
    """Brute-force 2 int_R^inf rho r dr / sqrt(r^2 - R^2) with r = R cosh(t), by scipy."""
    f = lambda t: 2 * R * float(p.density(R * np.cosh(t))) * np.cosh(t)  # noqa: E731
    t_s = np.arccosh(max(float(p.scale_radius) / R, 1.0))
    pts = [0.0, t_s, t_s + 5.0, t_s + 40.0]
    return sum(integrate.quad(f, a, b, epsabs=0, epsrel=1e-13, limit=200)[0] for a, b in zip(pts, pts[1:]))


@pytest.mark.slow
def test_surface_density_is_projection_of_density(case):
    p = case.make()
    R = float(p.scale_radius) * np.array([1e-3, 0.7, 40.0])
    expected = [_projection(p, x) for x in R]
    assert_allclose(p.surface_density(R), expected, rtol=1e-9)


@pytest.mark.slow
def test_closed_forms_match_quadrature(case):
    p = case.make()
    r = radii(p)
    for name in METHODS:
        assert_allclose(getattr(p, name)(r), getattr(Profile, name)(p, r), rtol=1e-10, err_msg=name)
    if case.finite_mass:
        assert_allclose(p.total_mass(), Profile.total_mass(p), rtol=1e-10)


def test_user_profile_matches_isochrone_closed_forms():
    p = Isochrone(m_tot=2e6, r_s=0.3)
    r = radii(p)
    a = np.sqrt(0.3**2 + r**2)
    assert_allclose(p.mass(r), 2e6 * r**3 / ((0.3 + a) ** 2 * a), rtol=1e-10)
    assert_allclose(p.potential(r), -G * 2e6 / (0.3 + a), rtol=1e-10)
    assert_allclose(p.total_mass(), 2e6, rtol=1e-10)


@pytest.mark.slow
def test_limits(case):
    p = case.make()
    rs = float(p.scale_radius)
    slope = jax.grad(lambda lr: jnp.log(p.mass(jnp.exp(lr))))(np.log(case.r_inner * rs))
    assert_allclose(slope, case.inner_slope, atol=1e-3)
    far = 1e8 * rs
    if case.finite_mass:
        m_tot = p.total_mass()
        assert_allclose(p.mass(far), m_tot, rtol=1e-6)
        assert_allclose(-p.potential(far) * far / (G * m_tot), 1.0, rtol=1e-6)
    else:
        assert abs(p.potential(far)) < 1e-5 * abs(p.potential(rs))
        with pytest.raises(ValueError, match="infinite total mass"):
            p.total_mass()
        with pytest.raises(ValueError, match="infinite total mass"):
            p.half_mass_radius()


@pytest.mark.slow
def test_half_radii_enclose_half_the_mass(case):
    if not case.finite_mass:
        pytest.skip("infinite mass: no half-mass radius")
    p = case.make()
    half = 0.5 * p.total_mass()
    assert_allclose(p.mass(p.half_mass_radius()), half, rtol=1e-10)
    assert_allclose(p.projected_mass(p.half_light_radius()), half, rtol=1e-10)


@pytest.mark.slow
def test_batch_equals_scalar(case):
    names = list(case.params)
    scales = np.array([0.8, 1.0, 1.25])
    r = radii(case.make())

    def one(*vals):
        p = case.cls(**dict(zip(names, vals)))
        return jnp.stack([p.mass(r), p.surface_density(r)])

    batch = {k: v * scales if k not in ("gamma",) else v + 0 * scales for k, v in case.params.items()}
    got = jax.vmap(one)(*[jnp.asarray(batch[k]) for k in names])
    for i in range(3):
        p = case.cls(**{k: float(batch[k][i]) for k in names})
        assert_allclose(got[i, 0], p.mass(r), rtol=case.roundoff)
        assert_allclose(got[i, 1], p.surface_density(r), rtol=case.roundoff)


@pytest.mark.slow
def test_gradients_match_finite_differences(case):
    names = list(case.params)
    r0 = 0.7 * float(case.make().scale_radius)

    @jax.jit
    def quantities(vals):
        p = case.cls(**dict(zip(names, vals)))
        return jnp.stack([p.mass(r0), p.potential(r0), p.surface_density(r0)])

    x0 = jnp.array([float(case.params[k]) for k in names])
    jac = jax.jit(jax.jacfwd(quantities))(x0)
    for i, name in enumerate(names):
        h = 1e-5 * max(abs(float(x0[i])), 0.1)
        fd = (quantities(x0.at[i].add(h)) - quantities(x0.at[i].add(-h))) / (2 * h)
        assert np.all(np.isfinite(jac[:, i])), name
        assert_allclose(jac[:, i], fd, rtol=1e-6, atol=1e-12 * float(jnp.max(jnp.abs(fd))), err_msg=name)


@pytest.mark.slow
def test_construction_inside_jit(case):
    names = list(case.params)
    r = radii(case.make())

    @jax.jit
    def build_and_eval(*vals):
        p = case.cls(**dict(zip(names, vals)))
        return p.mass(r), p.density(r)

    m, rho = build_and_eval(*[case.params[k] for k in names])
    p = case.make()
    assert_allclose(m, p.mass(r), rtol=case.roundoff)
    assert_allclose(rho, p.density(r), rtol=case.roundoff)


UNIT_OF_KIND = {"length": u.pc, "mass": u.kg, "density": u.Msun / u.pc**3}


def test_quantities_convert_at_the_boundary(case):
    import dataclasses

    fields = {f.name: f.metadata["kind"] for f in dataclasses.fields(case.cls)}
    plain = case.make()
    quantities = {}
    for name, value in case.params.items():
        kind = fields[name]
        if kind in UNIT_OF_KIND:
            internal = u.Unit({"length": "kpc", "mass": "Msun", "density": "Msun/kpc3"}[kind])
            quantities[name] = (value * internal).to(UNIT_OF_KIND[kind])
        else:
            quantities[name] = value
    with_units = case.cls(**quantities)
    for name in case.params:
        assert_allclose(getattr(with_units, name), getattr(plain, name), rtol=1e-14)
    R = radii(plain)
    assert_allclose(with_units.surface_density(R * u.kpc), plain.surface_density(R), rtol=1e-13)


def test_quantity_equality_exact():
    assert tree_equal(Plummer(m_tot=1.0, r_s=300 * u.pc), Plummer(m_tot=1.0, r_s=0.3))


def test_bad_parameters_raise(case):
    for name, value in case.bad.items():
        with pytest.raises(ValueError, match=name):
            case.make(**{name: value})
    with pytest.raises(ValueError, match="length"):
        case.make(**{next(k for k in case.params if k == "r_s"): 1.0 * u.km / u.s})


@pytest.mark.slow
def test_float32_accuracy(case):
    """float32 inputs stay float32; accuracy 2e-5 relative (measured 1e-7 to 1e-5)."""
    p64 = case.make()
    p32 = case.make(**{k: np.float32(v) for k, v in case.params.items()})
    r = radii(p64, -3, 3, 13).astype(np.float32)
    for name in ("density", *METHODS):
        v32 = getattr(p32, name)(r)
        assert v32.dtype == jnp.float32, name
        assert_allclose(v32, getattr(p64, name)(r.astype(float)), rtol=case.float32_rtol, err_msg=name)


def test_composite_adds_components():
    halo, stars = NFW(rho_s=3e7, r_s=0.8), Plummer(m_tot=2e6, r_s=0.3)
    both = composite_case()
    assert isinstance(both, Composite) and len((both + stars).components) == 3
    r = np.logspace(-3, 2, 11)
    for name in ("density", *METHODS):
        assert_allclose(getattr(both, name)(r), getattr(halo, name)(r) + getattr(stars, name)(r), rtol=1e-14)
    finite = Hernquist(m_tot=1e6, r_s=0.5) + stars
    assert_allclose(finite.mass(finite.half_mass_radius()), 0.5 * finite.total_mass(), rtol=1e-10)
    assert sum([halo, stars]).components == (halo, stars)


def test_nfw_from_m200_c():
    m200, c, h = 1e9, 12.0, 0.7
    halo = NFW.from_m200_c(m200 * u.Msun, c, h=h)
    r200 = c * halo.r_s
    assert_allclose(halo.mass(r200), m200, rtol=1e-12)
    rho_crit = 3 * (0.1 * h) ** 2 / (8 * np.pi * G)
    assert_allclose(m200 / (4 / 3 * np.pi * r200**3), 200 * rho_crit, rtol=1e-12)
    assert_allclose(rho_crit / h**2, 277.536627, rtol=1e-6)  # the textbook 2.775e11 h^2 Msun/Mpc^3


def test_known_radii():
    assert_allclose(Hernquist(m_tot=1.0, r_s=1.0).half_light_radius(), 1.8152709594, rtol=1e-9)
    assert_allclose(Profile.half_mass_radius(Plummer(m_tot=1.0, r_s=2.0)), 2.0 / np.sqrt(2 ** (2 / 3) - 1), rtol=1e-12)
