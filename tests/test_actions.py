"""Actions and frequencies (dynamicall.actions) against the isochrone and Kepler closed forms.

Isochrone (Henon 1959; Binney & Tremaine 2008, eq. 3.226), Phi = -GM / (b + sqrt(b^2 + r^2)):
J_r = GM / sqrt(-2E) - (L + sqrt(L^2 + 4 GM b)) / 2, Omega_r = (-2E)^(3/2) / GM,
Omega_phi / Omega_r = (1 + L / sqrt(L^2 + 4 GM b)) / 2; its turning points solve the
quadratic 2E s^2 + 2GM s - (2E b^2 + 2GM b + L^2) = 0 in s = sqrt(b^2 + r^2).
Kepler: J_r = GM / sqrt(-2E) - L, Omega_r = Omega_phi, r = a (1 -+ e).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynamicall._pytree import parameter, pytree_dataclass
from dynamicall.actions import actions, actions_from_phase_space, circular_radius, radial_action
from dynamicall.profiles import Hernquist, Profile
from dynamicall.units import G

M, B = 1e10, 1.0
GM = G * M


@pytree_dataclass
class Isochrone(Profile):
    """The isochrone with its closed-form mass and potential (as in tests/profile_cases.py)."""

    m_tot: float = parameter(kind="mass", lower=0)
    r_s: float = parameter(kind="length", lower=0)
    cheap_mass = True

    def density(self, r):
        a = jnp.sqrt(self.r_s**2 + r * r)
        u, v = r / a, self.r_s / a
        return self.m_tot / (4 * jnp.pi * a**3) * (3 / (1 + v) ** 2 - u * u * (v + 3) / (1 + v) ** 3)

    def mass(self, r):
        a = jnp.sqrt(self.r_s**2 + r * r)
        return self.m_tot * r**3 / (a * (self.r_s + a) ** 2)

    def potential(self, r):
        return -G * self.m_tot / (self.r_s + jnp.sqrt(self.r_s**2 + r * r))


@pytree_dataclass
class PointMass(Profile):
    """A Kepler potential (all mass at r = 0)."""

    m_tot: float = parameter(kind="mass", lower=0)
    r_s: float = parameter(kind="length", lower=0)
    cheap_mass = True

    def density(self, r):
        return jnp.zeros_like(r)

    def mass(self, r):
        return self.m_tot * jnp.ones_like(r)

    def potential(self, r):
        return -G * self.m_tot / r


def _orbits(potential, n, seed, l_min=1e-3, l_max=0.999):
    """Random bound orbits: E uniform in (0.01, 0.49) GM/b below zero, L a random fraction
    of the circular L at that energy (bisection on E_c(L), which increases with L)."""
    rng = np.random.default_rng(seed)
    E = -GM / B * rng.uniform(0.01, 0.49, n)
    ls = np.geomspace(1e-4, 1e6, 4001)
    rc = np.asarray(circular_radius(potential, ls))
    ec = np.asarray(potential.potential(rc)) + 0.5 * (ls / rc) ** 2
    return E, rng.uniform(l_min, l_max, n) * np.interp(E, ec, ls)


def rel(a, b):
    return np.max(np.abs(np.asarray(a) / np.asarray(b) - 1))


def test_isochrone_closed_forms():
    """200 orbits with r_peri / r_apo down to ~1e-3: J_r, Omega_r, Omega_phi, r_peri,
    r_apo to 1e-8 relative (measured: J_r 5e-14, frequencies 3e-11, turning points 1e-11,
    the latter limited by the closed form's own cancellation)."""
    iso = Isochrone(m_tot=M, r_s=B)
    E, L = _orbits(iso, 200, 1)
    out = actions(iso, E, L)
    root = np.sqrt(L**2 + 4 * GM * B)
    omega_r = (-2 * E) ** 1.5 / GM
    assert rel(out["J_r"], GM / np.sqrt(-2 * E) - 0.5 * (L + root)) < 1e-8
    assert rel(out["Omega_r"], omega_r) < 1e-8
    assert rel(out["Omega_phi"], omega_r * 0.5 * (1 + L / root)) < 1e-8
    disc = np.sqrt(4 * GM**2 + 8 * E * (2 * E * B**2 + 2 * GM * B + L**2))
    s_lo, s_hi = (-2 * GM + disc) / (4 * E), (-2 * GM - disc) / (4 * E)
    r_p, r_a = np.sqrt(s_lo**2 - B**2), np.sqrt(s_hi**2 - B**2)
    assert np.min(r_p / r_a) < 2e-3
    assert rel(out["r_peri"], r_p) < 1e-8 and rel(out["r_apo"], r_a) < 1e-8


def test_kepler_limit():
    """Point mass: J_r + L = GM / sqrt(-2E), Omega_r = Omega_phi = (-2E)^(3/2)/GM,
    r_peri, r_apo = a (1 -+ e), to 1e-9 (measured ~5e-12), for eccentricities up to
    r_peri / r_apo ~ 4e-6 (and 3e-7 when measured separately)."""
    kepler = PointMass(m_tot=M, r_s=B)
    E, L = _orbits(kepler, 100, 2, l_min=1e-3)
    out = actions(kepler, E, L)
    a = -GM / (2 * E)
    e = np.sqrt(1 + 2 * E * L**2 / GM**2)
    assert np.min(out["r_peri"] / out["r_apo"]) < 1e-5
    assert rel(out["J_r"], GM / np.sqrt(-2 * E) - L) < 1e-9
    assert rel(out["Omega_r"], (-2 * E) ** 1.5 / GM) < 1e-9
    assert rel(out["Omega_phi"], out["Omega_r"]) < 1e-9
    assert rel(out["r_peri"], a * (1 - e)) < 1e-9 and rel(out["r_apo"], a * (1 + e)) < 1e-9


def test_phase_space_and_autodiff_identities():
    """Hernquist potential: actions from (x, v) equal actions from (E, L); J_theta =
    L - |L_z|; autodiff of J_r gives dJ_r/dE = 1/Omega_r and dJ_r/dL = -Omega_phi/Omega_r
    (torus identities) to 1e-8; J_r is differentiable in the potential's parameters
    (d J_r / d ln M by autodiff vs central differences, 1e-6)."""
    h = Hernquist(m_tot=M, r_s=B)
    rng = np.random.default_rng(3)
    x = rng.normal(0.0, 2.0, (50, 3))
    v_c = np.asarray(h.circular_velocity(np.linalg.norm(x, axis=1)))
    v = rng.normal(0.0, 0.5, (50, 3)) * v_c[:, None]
    out = actions_from_phase_space(h, x, v)
    r = np.linalg.norm(x, axis=1)
    E = 0.5 * np.sum(v * v, axis=1) + np.asarray(h.potential(r))
    Lvec = np.cross(x, v)
    L = np.linalg.norm(Lvec, axis=1)
    assert rel(out["energy"], E) < 1e-13 and rel(out["L"], L) < 1e-13
    assert np.allclose(out["J_theta"], L - np.abs(Lvec[:, 2]), rtol=1e-13, atol=1e-10)
    ref = actions(h, E, L)
    assert rel(out["J_r"], ref["J_r"]) < 1e-12
    assert np.all(np.asarray(out["r_peri"]) <= r * (1 + 1e-10)) and np.all(r <= np.asarray(out["r_apo"]) * (1 + 1e-10))
    def total_j(e, ell, log_mass):  # orbits are independent: the gradient of the sum is per orbit
        return jnp.sum(radial_action(Hernquist(m_tot=jnp.exp(log_mass), r_s=B), e, ell))

    dJ_dE, dJ_dL, dJ_dlogM = jax.grad(total_j, argnums=(0, 1, 2))(jnp.asarray(E), jnp.asarray(L), np.log(M))
    assert rel(dJ_dE * ref["Omega_r"], 1.0) < 1e-8
    assert rel(-dJ_dL * ref["Omega_r"] / ref["Omega_phi"], 1.0) < 1e-8
    step = 1e-5
    j_plus, j_minus = (np.sum(radial_action(Hernquist(m_tot=float(M * np.exp(d)), r_s=B), E, L)) for d in (step, -step))
    assert float(dJ_dlogM) == pytest.approx(float(j_plus - j_minus) / (2 * step), rel=1e-6)


def test_bad_input():
    """Unbound orbits and energies below the circular orbit raise ValueError."""
    h = Hernquist(m_tot=M, r_s=B)
    with pytest.raises(ValueError, match="bound orbits"):
        actions(h, 10.0, 1.0)
    with pytest.raises(ValueError, match="circular orbit"):
        actions(h, -GM / B * 0.3, 1e5)
    with pytest.raises(ValueError, match="last axis of length 3"):
        actions_from_phase_space(h, np.ones(2), np.ones(2))
    with pytest.raises(TypeError):
        actions("not a profile", -1.0, 1.0)
