"""J- and D-factors (dynamicall.jfactor) against closed forms, brute force and limits.

Closed forms in the small-angle (cylinder, R = d theta) geometry of Evans, Sanders &
Geringer-Sameth (2016, PRD 93, 103512): NFW
  J = pi rho_s^2 r_s^2 / (3 d^2 Delta^4) [2 y (7 y r_s^3 - 4 r_s y^3 + 3 pi Delta^4)
      + 6 / r_s (2 Delta^6 - 2 r_s^4 Delta^2 - r_s^2 y^4) X(y / r_s)],
  Delta^2 = r_s^2 - y^2, y = d theta, X the Hernquist (1990) function;
  D = 4 pi rho_s r_s^3 / d^2 [ln(y / (2 r_s)) + X(y / r_s)];
and their cored model rho = v0^2 (3 r_c^2 + r^2) / (4 pi G (r_c^2 + r^2)^2):
  J = v0^4 (15 - 6 s - 6 s^3 - 3 s^5) / (96 r_c G^2 d^2), s = r_c / sqrt(r_c^2 + y^2)
  (its limit 5 v0^4 / (32 r_c G^2 d^2) is the integral of rho^2 over all space),
  D = pi v0^2 y^2 / (2 G d^2 sqrt(r_c^2 + y^2)) (the cylinder mass, integrating Sigma).
The exact cone is checked against scipy quadrature of the defining double integral.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate

from dynamicall._pytree import parameter, pytree_dataclass
from dynamicall.jfactor import d_factor, j_factor, log10_d_factor, log10_j_factor
from dynamicall.profiles import NFW, Profile, Zhao
from dynamicall.units import G

# Msun c^2 in GeV and kpc in cm from SI constants (IAU 2015 nominal solar mass, IAU pc)
MSUN_GEV = 1.988409870698051e30 * 299792458.0**2 / 1.602176634e-10
KPC_CM = 3.0856775814913673e21
TO_J, TO_D = MSUN_GEV**2 / KPC_CM**5, MSUN_GEV / KPC_CM**2
THETAS = np.array([0.01, 0.1, 0.5, 2.0, 5.0])  # degrees


@pytree_dataclass
class CoredEvans(Profile):
    """The cored halo of Evans et al. (2016), defined by its density only."""

    v0: float = parameter(kind="velocity", lower=0)
    r_s: float = parameter(kind="length", lower=0)

    def density(self, r):
        c2 = self.r_s**2
        return self.v0**2 / (4 * jnp.pi * G) * (3 * c2 + r * r) / (c2 + r * r) ** 2

    def has_finite_mass(self):
        return False


def hernquist_x(s):
    s = np.asarray(s, dtype=float)
    out = np.ones_like(s)
    lo, hi = s < 1, s > 1
    out[lo] = np.arccosh(1 / s[lo]) / np.sqrt(1 - s[lo] ** 2)
    out[hi] = np.arccos(1 / s[hi]) / np.sqrt(s[hi] ** 2 - 1)
    return out


def rel(a, b):
    return np.max(np.abs(np.asarray(a) / np.asarray(b) - 1))


@pytest.mark.parametrize("distance", [30.0, 80.0])
def test_nfw_closed_forms(distance):
    """NFW (rho_s = 1e7 Msun/kpc^3, r_s = 1 kpc), theta = 0.01-5 deg, cylinder geometry:
    J and D vs Evans et al. (2016) to 1e-9 (measured 1e-13 and 1.5e-12), converted to GeV^2 cm^-5
    and GeV cm^-2 with SI constants (1e-9)."""
    rho_s, r_s = 1e7, 1.0
    halo = NFW(rho_s=rho_s, r_s=r_s)
    y = distance * np.deg2rad(THETAS)
    delta2 = r_s**2 - y**2
    x = hernquist_x(y / r_s)
    J = 2 * y * (7 * y * r_s**3 - 4 * r_s * y**3 + 3 * np.pi * delta2**2) + 6 / r_s * (
        2 * delta2**3 - 2 * r_s**4 * delta2 - r_s**2 * y**4
    ) * x
    J *= np.pi * rho_s**2 * r_s**2 / (3 * distance**2 * delta2**2)
    D = 4 * np.pi * rho_s * r_s**3 / distance**2 * (np.log(y / (2 * r_s)) + x)
    assert rel(j_factor(halo, THETAS, distance, geometry="cylinder"), J * TO_J) < 1e-9
    assert rel(d_factor(halo, THETAS, distance, geometry="cylinder"), D * TO_D) < 1e-9


def test_cored_closed_forms():
    """Evans et al. (2016) cored halo (v0 = 20 km/s, r_c = 0.3 kpc, d = 50 kpc), a user
    profile with only a density (generic quadrature), cylinder geometry: J and D to 1e-9
    (measured 2e-13)."""
    v0, r_c, d = 20.0, 0.3, 50.0
    halo = CoredEvans(v0=v0, r_s=r_c)
    y = d * np.deg2rad(THETAS)
    s = r_c / np.sqrt(r_c**2 + y**2)
    J = v0**4 * (15 - 6 * s - 6 * s**3 - 3 * s**5) / (96 * r_c * G**2 * d**2)
    D = np.pi * v0**2 * y**2 / (2 * G * d**2 * np.sqrt(r_c**2 + y**2))
    assert rel(j_factor(halo, THETAS, d, geometry="cylinder"), J * TO_J) < 1e-9
    assert rel(d_factor(halo, THETAS, d, geometry="cylinder"), D * TO_D) < 1e-9


def _cone_brute(rho, power, theta_deg, d, r_t=np.inf, r_s=1.0):
    """2 pi int_0^theta sin(psi) dpsi int_0^inf rho^power(r(l, psi)) dl by nested scipy quad,
    split at the closest approach, the scale radius and the truncation crossings."""

    def inner(psi):
        b = d * np.sin(psi)
        l0 = d * np.cos(psi)
        points = [l0]
        for radius in (r_s, r_t):
            if np.isfinite(radius) and radius > b:
                half = np.sqrt(radius**2 - b**2)
                points += [l0 - half, l0 + half]
        points = sorted(p for p in set(points) if p > 0)
        f = lambda l: rho(np.sqrt(b * b + (l - l0) ** 2)) ** power * (np.sqrt(b * b + (l - l0) ** 2) <= r_t)  # noqa: E731
        edges = [0.0, *points]
        total = sum(integrate.quad(f, lo, hi, epsabs=0, epsrel=1e-10, limit=200)[0] for lo, hi in zip(edges[:-1], edges[1:]))
        return total + integrate.quad(f, edges[-1], np.inf, epsabs=0, epsrel=1e-10, limit=200)[0]

    theta = np.deg2rad(theta_deg)
    return 2 * np.pi * integrate.quad(lambda psi: np.sin(psi) * inner(psi), 0, theta, epsabs=0, epsrel=1e-9, limit=200)[0]


def test_cone_against_brute_force():
    """Exact cone geometry vs scipy quadrature of the defining double integral: a
    truncated Zhao halo (alpha = 2, beta = 5, gamma = 0.5, r_t = 3 kpc) at 30 kpc and an
    untruncated NFW, theta = 0.5 and 5 deg: 1e-7 (measured < 1e-12)."""
    zhao = Zhao(rho_s=5e7, r_s=0.8, alpha=2.0, beta=5.0, gamma=0.5)
    rho_z = lambda r: 5e7 * (r / 0.8) ** -0.5 * (1 + (r / 0.8) ** 2) ** -2.25  # noqa: E731
    nfw = NFW(rho_s=1e7, r_s=1.0)
    rho_n = lambda r: 1e7 / ((r / 1.0) * (1 + r / 1.0) ** 2)  # noqa: E731
    for theta in (0.5, 5.0):
        assert float(j_factor(zhao, theta, 30.0, r_t=3.0)) == pytest.approx(
            _cone_brute(rho_z, 2, theta, 30.0, r_t=3.0, r_s=0.8) * TO_J, rel=1e-7)
        assert float(d_factor(zhao, theta, 30.0, r_t=3.0)) == pytest.approx(
            _cone_brute(rho_z, 1, theta, 30.0, r_t=3.0, r_s=0.8) * TO_D, rel=1e-7)
        assert float(j_factor(nfw, theta, 30.0)) == pytest.approx(_cone_brute(rho_n, 2, theta, 30.0) * TO_J, rel=1e-7)
        assert float(d_factor(nfw, theta, 30.0)) == pytest.approx(_cone_brute(rho_n, 1, theta, 30.0) * TO_D, rel=1e-7)


def test_limits():
    """Cone -> cylinder as theta -> 0 (|J_cone / J_cyl - 1| < theta^2, theta in rad); a
    tidal radius far outside changes nothing (1e-9); J grows with theta and saturates
    once the cone holds the (truncated) halo."""
    nfw = NFW(rho_s=1e7, r_s=1.0)
    theta = np.array([0.1, 0.5, 2.0])
    cone, cyl = j_factor(nfw, theta, 80.0), j_factor(nfw, theta, 80.0, geometry="cylinder")
    assert np.all(np.abs(np.asarray(cone / cyl) - 1) < np.deg2rad(theta) ** 2)
    assert rel(j_factor(nfw, theta, 80.0, r_t=1e4), cone) < 1e-9
    inside = j_factor(nfw, [20.0, 40.0, 60.0], 80.0, r_t=5.0)  # 5 kpc subtends 3.6 deg
    assert np.allclose(inside, inside[0], rtol=1e-10, atol=0)


def test_numpyro_derived_quantity():
    """log10 J as a numpyro deterministic site: Predictive returns it for every posterior
    sample, equal to the direct value; J scales as rho_s^2 and D as rho_s (autodiff of
    log10 J and log10 D in log10 rho_s: 2 and 1, to 1e-10)."""
    numpyro = pytest.importorskip("numpyro")
    import numpyro.distributions as dist
    from numpyro.infer import Predictive

    def model():
        log_rho = numpyro.sample("log10_rho_s", dist.Uniform(6.0, 8.0))
        halo = NFW(rho_s=10.0**log_rho, r_s=1.0)
        numpyro.deterministic("log10_J", log10_j_factor(halo, 0.5, 80.0))

    samples = {"log10_rho_s": jnp.array([6.5, 7.0, 7.5])}
    out = Predictive(model, posterior_samples=samples)(jax.random.PRNGKey(0))
    direct = [float(log10_j_factor(NFW(rho_s=10.0**x, r_s=1.0), 0.5, 80.0)) for x in (6.5, 7.0, 7.5)]
    assert np.allclose(out["log10_J"], direct, rtol=0, atol=1e-12)
    assert np.allclose(np.diff(np.asarray(out["log10_J"])), 1.0, rtol=0, atol=1e-10)
    g_j = jax.grad(lambda x: log10_j_factor(NFW(rho_s=10.0**x, r_s=1.0), 0.5, 80.0))(7.0)
    g_d = jax.grad(lambda x: log10_d_factor(NFW(rho_s=10.0**x, r_s=1.0), 0.5, 80.0))(7.0)
    assert float(g_j) == pytest.approx(2.0, abs=1e-10) and float(g_d) == pytest.approx(1.0, abs=1e-10)


def test_bad_input():
    """Angles outside (0, 90) deg, non-positive distances or tidal radii, unknown
    geometries raise ValueError naming the parameter."""
    nfw = NFW(rho_s=1e7, r_s=1.0)
    with pytest.raises(ValueError, match="theta"):
        j_factor(nfw, 0.0, 80.0)
    with pytest.raises(ValueError, match="theta"):
        j_factor(nfw, 95.0, 80.0)
    with pytest.raises(ValueError, match="distance"):
        d_factor(nfw, 0.5, -1.0)
    with pytest.raises(ValueError, match="r_t"):
        j_factor(nfw, 0.5, 80.0, r_t=0.0)
    with pytest.raises(ValueError, match="geometry"):
        j_factor(nfw, 0.5, 80.0, geometry="sphere")
