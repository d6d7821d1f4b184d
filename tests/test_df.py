"""Distribution functions (dynamicall.df) against closed forms, brute force and identities.

Truths: the Plummer ergodic DF f = 24 sqrt(2) a^2 E^(7/2) / (7 pi^3 G^5 M^4) (Binney &
Tremaine 2008, eq. 4.83); the Osipkov-Merritt Plummer DF, whose nu_Q = rho0 [(1 - a^2/r_a^2)
(Psi/Psi0)^5 + (a^2/r_a^2)(Psi/Psi0)^3] inverts term by term (Eddington: Psi^n gives
n(n-1) B(n-1, 1/2) Q^(n-3/2) / (sqrt 8 pi^2)), consistent iff r_a >= 3a/4; Hernquist
(1990, eq. 17); scipy quadrature of Eddington's formula in r; the Jeans equations.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import integrate

from dynamicall.anisotropy import BaesVanHese, Constant, OsipkovMerritt
from dynamicall.df import DFConfig, InconsistentModelWarning, eddington, is_consistent
from dynamicall.jeans import intrinsic_dispersions
from dynamicall.profiles import NFW, CoreNFW, Hernquist, Plummer
from dynamicall.units import G

M, A = 1e6, 0.3  # Plummer and Hernquist test spheres
PSI0 = G * M / A
RHO0 = 3 * M / (4 * np.pi * A**3)
SQRT8_PI2 = np.sqrt(8) * np.pi**2
RADII = np.geomspace(1e-2, 1e2, 41) * A


def plummer_om_exact(Q, r_a):
    """Closed-form f(Q); r_a = inf is the ergodic DF."""
    k = (A / r_a) ** 2
    return RHO0 / SQRT8_PI2 * ((1 - k) * 128 / 7 * Q**3.5 / PSI0**5 + k * 8 * Q**1.5 / PSI0**3)


def rel(a, b):
    return np.max(np.abs(np.asarray(a) / np.asarray(b) - 1))


@pytest.fixture(scope="module")
def plummer():
    return Plummer(m_tot=M, r_s=A)


@pytest.fixture(scope="module")
def cored_model():
    """Plummer stars in a cored NFW halo (Read et al. 2016) plus the stars: a consistent model."""
    stars = Plummer(m_tot=1e6, r_s=0.25)
    nfw = NFW.from_m200_c(1e9, 15.0)
    return stars, CoreNFW(rho_s=float(nfw.rho_s), r_s=float(nfw.r_s), r_c=0.25, n=1.0) + stars


@pytest.mark.slow
def test_plummer_ergodic_closed_form(plummer):
    """f(E) of the self-consistent Plummer sphere: 1e-9 relative for r_E in [1e-2, 1e2] a
    (measured ~3e-14); the tabulated nodes over [1e-4, 1e4] a to 1e-9 (measured 3e-12)."""
    df = eddington(plummer, plummer)
    E = PSI0 / np.sqrt(1 + (RADII / A) ** 2)
    assert rel(df(E), plummer_om_exact(E, np.inf)) < 1e-9
    nodes = (df.radius_grid >= 1e-4 * A) & (df.radius_grid <= 1e4 * A)
    psi = np.asarray(df.psi)[nodes]
    assert rel(psi, PSI0 / np.sqrt(1 + (df.radius_grid[nodes] / A) ** 2)) < 1e-12
    assert rel(np.asarray(df.values)[nodes], plummer_om_exact(psi, np.inf)) < 1e-9
    assert df.is_consistent() and not df.is_osipkov_merritt
    assert float(df(-1.0)) == 0.0  # unbound


@pytest.mark.parametrize("r_a_over_a", [0.8, 2.0])
def test_plummer_osipkov_merritt_closed_form(plummer, r_a_over_a):
    """f(Q) of the Osipkov-Merritt Plummer sphere: 1e-9 relative (measured ~1e-12)."""
    df = eddington(plummer, plummer, OsipkovMerritt(r_a=r_a_over_a * A))
    Q = PSI0 / np.sqrt(1 + (RADII / A) ** 2)
    assert rel(df(Q), plummer_om_exact(Q, r_a_over_a * A)) < 1e-9
    assert df.is_consistent() and df.is_osipkov_merritt


def test_hernquist_closed_form():
    """Isotropic Hernquist (1990, eq. 17) DF, q in [0.01, 0.995]: 1e-9 (measured ~2e-13)."""
    h = Hernquist(m_tot=M, r_s=A)
    df = eddington(h, h)
    E = G * M / (RADII + A)
    q = np.sqrt(A * E / (G * M))
    vg = np.sqrt(G * M / A)
    exact = (
        M / (8 * np.sqrt(2) * np.pi**3 * A**3 * vg**3) / (1 - q**2) ** 2.5
        * (3 * np.arcsin(q) + q * np.sqrt(1 - q**2) * (1 - 2 * q**2) * (8 * q**4 - 8 * q**2 - 3))
    )
    assert rel(df(E), exact) < 1e-9


def test_negative_df_is_reported_not_clipped(plummer):
    """Osipkov-Merritt Plummer with r_a = 0.7 a < 3a/4: f(Q) < 0 at the highest Q. The
    warning names the energies and radii; the values equal the (negative) closed form to
    1e-8; is_consistent flips exactly at r_a = 3a/4 (0.74 a vs 0.76 a)."""
    with pytest.warns(InconsistentModelWarning, match=r"negative at Q in \[.*\] \(km/s\)\^2 \(r_Q in"):
        df = eddington(plummer, plummer, OsipkovMerritt(r_a=0.7 * A))
    assert not df.is_consistent()
    psi, values = np.asarray(df.psi), np.asarray(df.values)
    inner = df.radius_grid < 1e2 * A
    exact = plummer_om_exact(psi[inner], 0.7 * A)
    assert exact.min() < 0 and values[inner].min() < 0
    assert np.max(np.abs(values[inner] - exact)) < 1e-8 * np.max(np.abs(exact))
    (q_lo, q_hi, r_lo, r_hi), = df.negative_ranges()
    # closed-form zero of f: (1 - k) 16/7 q^2 + k = 0 with q = Q / Psi0
    k = 1 / 0.7**2
    q_zero = PSI0 * np.sqrt(k / ((k - 1) * 16 / 7))
    assert q_lo <= q_zero * (1 + 0.05) and q_hi == pytest.approx(psi[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert is_consistent(plummer, plummer, OsipkovMerritt(r_a=0.76 * A))
        assert not is_consistent(plummer, plummer, OsipkovMerritt(r_a=0.74 * A))


def _eddington_brute(d_nu, d2_nu, psi, mass, density, E, r_E):
    """f(E) by scipy quad of int (d2nu/dPsi2)(-dPsi/dr) dr / sqrt(E - Psi), r = r_E + t^2;
    E - Psi by its Taylor series for t^2 < 1e-6 r_E (where the difference cancels)."""
    dpsi_E = -G * mass(r_E) / r_E**2
    d2psi_E = -G * (4 * np.pi * density(r_E) - 2 * mass(r_E) / r_E**3)

    def integrand(t):
        r = r_E + t * t
        dpsi = -G * mass(r) / r**2
        d2psi = -G * (4 * np.pi * density(r) - 2 * mass(r) / r**3)
        d2nu_dpsi2 = (d2_nu(r) * dpsi - d_nu(r) * d2psi) / dpsi**3
        if t * t < 1e-6 * r_E:  # E - Psi over t^2, by Taylor
            gap = -dpsi_E - 0.5 * d2psi_E * t * t
        else:
            gap = (E - psi(r)) / (t * t)
        return d2nu_dpsi2 * (-dpsi) * 2 / np.sqrt(gap)

    total = 0.0
    for lo, hi in ((0, 1e-3), (1e-3, 0.1), (0.1, 1), (1, 10), (10, np.inf)):
        total += integrate.quad(integrand, lo * np.sqrt(r_E), hi * np.sqrt(r_E), epsabs=0, epsrel=1e-11, limit=200)[0]
    return total / SQRT8_PI2


@pytest.mark.slow
def test_cored_tracer_in_cusp_is_inconsistent():
    """Isotropic Plummer stars in an NFW cusp (plus the stars): the DF is negative at the
    most bound energies (d2nu/dPsi2 < 0 where nu ~ nu0 - c r^2 and Psi ~ Psi0 - k r).
    Values, including the sign, match scipy quadrature of Eddington's formula to 1e-7."""
    stars = Plummer(m_tot=1e6, r_s=0.25)
    halo = NFW(rho_s=1.5e7, r_s=1.4)
    with pytest.warns(InconsistentModelWarning, match="Plummer in NFW \\+ Plummer"):
        df = eddington(stars, halo + stars)
    assert not df.is_consistent()
    a, m_s = 0.25, 1e6
    rho0 = 3 * m_s / (4 * np.pi * a**3)
    nu = lambda r: rho0 * (1 + (r / a) ** 2) ** -2.5  # noqa: E731
    d_nu = lambda r: -5 * rho0 * r / a**2 * (1 + (r / a) ** 2) ** -3.5  # noqa: E731
    d2_nu = lambda r: -5 * rho0 / a**2 * (1 + (r / a) ** 2) ** -4.5 * (1 - 6 * (r / a) ** 2)  # noqa: E731
    x = lambda r: r / 1.4  # noqa: E731
    mass = lambda r: 4 * np.pi * 1.5e7 * 1.4**3 * (np.log1p(x(r)) - x(r) / (1 + x(r))) + m_s * r**3 / (r * r + a * a) ** 1.5  # noqa: E731
    density = lambda r: 1.5e7 / (x(r) * (1 + x(r)) ** 2) + nu(r)  # noqa: E731
    psi = lambda r: 4 * np.pi * G * 1.5e7 * 1.4**2 * np.log1p(x(r)) / x(r) + G * m_s / np.sqrt(r * r + a * a)  # noqa: E731
    for r_E in (3e-3, 0.03, 0.3, 3.0):
        E = psi(r_E)
        brute = _eddington_brute(d_nu, d2_nu, psi, mass, density, E, r_E)
        assert float(df(E)) == pytest.approx(brute, rel=1e-7, abs=0)
    assert _eddington_brute(d_nu, d2_nu, psi, mass, density, psi(3e-3), 3e-3) < 0


@pytest.mark.parametrize("anisotropy", [None, OsipkovMerritt(r_a=0.25)], ids=["ergodic", "om"])
@pytest.mark.slow
def test_moments_match_jeans(cored_model, anisotropy):
    """The DF's zeroth and second velocity moments recover nu(r) and the Jeans sigma_r,
    sigma_t (general mass model, r in [2.5e-3, 25] kpc): 1e-8 (measured 1e-10 to 1e-9)."""
    stars, mass = cored_model
    df = eddington(stars, mass, anisotropy)
    assert df.is_consistent()
    r = np.geomspace(1e-2, 1e2, 13) * 0.25
    m = df.velocity_moments(r)
    jeans = intrinsic_dispersions(r, stars, mass, anisotropy or Constant(beta=0.0))
    assert rel(m["density"], stars.density(r)) < 1e-8
    assert rel(m["sigma_r"], jeans["radial"]) < 1e-8
    assert rel(m["sigma_t"], jeans["tangential"]) < 1e-8


def test_bad_input(plummer):
    """Anisotropies without a DF here and bad ranges raise ValueError naming the problem."""
    with pytest.raises(ValueError, match="OsipkovMerritt"):
        eddington(plummer, plummer, Constant(beta=0.3))
    with pytest.raises(ValueError, match="OsipkovMerritt"):
        eddington(plummer, plummer, BaesVanHese(beta_0=0.0, beta_inf=0.5, r_a=1.0, eta=2.0))
    with pytest.raises(ValueError, match="r_min < r_max"):
        eddington(plummer, plummer, r_min=1.0, r_max=0.1)
    with pytest.raises(ValueError, match="DFConfig.step"):
        DFConfig(step=0.0)
    with pytest.raises(TypeError):
        eddington(plummer, "not a profile")
