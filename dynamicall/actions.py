r"""Actions, frequencies and turning points of orbits in spherical potentials.

In a spherical potential :math:`\Phi(r)` (any :class:`~dynamicall.profiles.Profile` used
as a mass model) an orbit of energy :math:`E = v^2/2 + \Phi` (km/s)^2 and angular momentum
:math:`L` (kpc km/s) oscillates between the roots :math:`r_p \le r_a` of
:math:`p(r) = 2(E - \Phi(r)) - L^2/r^2`. Its actions are :math:`(J_r, L_z, L - |L_z|)` with

.. math::
    J_r = \frac{1}{\pi}\int_{r_p}^{r_a}\sqrt{p(r)}\,dr,\qquad
    \frac{\pi}{\Omega_r} = \int_{r_p}^{r_a}\frac{dr}{\sqrt{p}},\qquad
    \frac{\Omega_\varphi}{\Omega_r} = \frac{1}{\pi}\int_{r_p}^{r_a}\frac{L}{r^2}\frac{dr}{\sqrt{p}}

(Binney & Tremaine 2008, eqs. 3.17, 3.18, 3.224). The substitution
:math:`r = r_p + (r_a - r_p)(1 - \cos\phi)/2` removes the square-root end points; a
Gauss-Legendre panel in :math:`\phi` resolves the pericentre region of eccentric orbits
and a second, geometric in :math:`\phi`, the rest. The turning points are
bracketed by the circular-orbit radius :math:`r_c(L)` (:math:`GM(r_c) r_c = L^2`) and found
by bisection in ln r to round-off; since :math:`p` vanishes at them, the integrals'
derivatives need no derivative of the turning points, and ``jax.grad`` of :math:`J_r`
gives :math:`\partial J_r/\partial E = 1/\Omega_r` and
:math:`\partial J_r/\partial L = -\Omega_\varphi/\Omega_r`.

Accuracy (``tests/test_actions.py``, 2 x 48 nodes): the isochrone's closed forms to 5e-14
(J_r) and 3e-11 (frequencies); the Kepler limit to ~5e-12 for r_p/r_a down to 3e-7.
Nearly circular orbits (r_a - r_p below ~1e-6 r_c) lose precision in the frequencies.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from ._pytree import is_concrete
from .profiles import Profile
from .quadrature import float_dtype, gauss_legendre
from .units import G, to_internal, to_kms, to_kpc

__all__ = [
    "actions",
    "actions_from_phase_space",
    "circular_radius",
    "frequencies",
    "radial_action",
    "turning_points",
]

#: Bisection steps in ln r (the brackets span 60 e-folds: 64 halvings reach 3e-18).
ITERATIONS = 64
SPAN = 60.0


def _angular_momentum(L):
    """kpc km/s from plain numbers or Quantities."""
    if hasattr(L, "unit") and hasattr(L, "to_value"):
        import astropy.units as u

        return L.to_value(u.kpc * u.km / u.s)
    return L


def _check_potential(mass):
    if not isinstance(mass, Profile):
        raise TypeError(f"the potential must be given as a Profile (mass model), got {type(mass).__name__}")


def _bisect(below, lo, hi, iterations=ITERATIONS):
    """Elementwise bisection: the point where ``below(t)`` turns from True (at lo) to
    False (at hi)."""

    def body(_, bracket):
        a, b = bracket
        mid = 0.5 * (a + b)
        up = below(mid)
        return jnp.where(up, mid, a), jnp.where(up, b, mid)

    a, b = jax.lax.fori_loop(0, iterations, body, (lo, hi))
    return 0.5 * (a + b)


def _scale(mass, dtype):
    return jnp.log(jnp.asarray(mass.scale_radius, dtype))


def circular_radius(mass, L):
    """Radius r_c (kpc) of the circular orbit of angular momentum ``L`` (kpc km/s).

    Solves G M(r) r = L^2 by bisection in ln r over 60 e-folds around the mass model's
    scale radius.

    Example
    -------
    >>> from dynamicall.profiles import Hernquist
    >>> h = Hernquist(m_tot=1e10, r_s=1.0)
    >>> L = float(jnp.sqrt(G * h.mass(2.0) * 2.0))
    >>> round(float(circular_radius(h, L)), 10)
    2.0
    """
    _check_potential(mass)
    L = jnp.asarray(_angular_momentum(L))
    dtype = float_dtype(L, *jax.tree_util.tree_leaves(mass))
    return _circular_radius(mass, L.astype(dtype))


@jax.jit
def _circular_radius(mass, L):
    centre = _scale(mass, L.dtype)
    lo = jnp.full(L.shape, centre - SPAN / 2, L.dtype)
    hi = jnp.full(L.shape, centre + SPAN / 2, L.dtype)

    def below(t):
        r = jnp.exp(t)
        return G * mass.mass(r) * r < L * L

    return jnp.exp(_bisect(below, lo, hi))


def _p(mass, energy, L):
    """p(r) = 2 (E - Phi(r)) - L^2 / r^2 as a function of ln r."""
    return lambda t: 2.0 * (energy - mass.potential(jnp.exp(t))) - (L * jnp.exp(-t)) ** 2


def _turning(mass, energy, L):
    r_c = jax.lax.stop_gradient(_circular_radius(mass, L))
    t_c = jnp.log(r_c)
    energy_s, L_s = jax.lax.stop_gradient(energy), jax.lax.stop_gradient(L)
    p = _p(jax.lax.stop_gradient(mass), energy_s, L_s)
    t_p = _bisect(lambda t: p(t) < 0, t_c - SPAN, t_c)
    t_a = _bisect(lambda t: p(t) >= 0, t_c, t_c + SPAN)
    return jnp.exp(t_p), jnp.exp(t_a)


def turning_points(mass, energy, L):
    """Pericentre and apocentre (kpc) of orbits of energy ``energy`` ((km/s)^2, negative
    for bound orbits) and angular momentum ``L`` (kpc km/s) in the potential of ``mass``.

    Returns
    -------
    (r_peri, r_apo) : tuple of arrays
        NaN-free for valid orbits; see :func:`actions` for validation.

    Example
    -------
    >>> from dynamicall.profiles import Plummer
    >>> p = Plummer(m_tot=1e10, r_s=1.0)
    >>> r = 2.0; v_c = float(p.circular_velocity(r))
    >>> E = float(p.potential(r)) + 0.5 * v_c**2
    >>> [round(float(x), 6) for x in turning_points(p, E, r * v_c)]
    [2.0, 2.0]
    """
    _check_potential(mass)
    energy, L = _orbit_arrays(mass, energy, L)
    return _turning(mass, energy, L)


def _orbit_arrays(mass, energy, L):
    energy = jnp.asarray(to_internal(energy, "potential"))
    L = jnp.asarray(_angular_momentum(L))
    dtype = float_dtype(energy, L, *jax.tree_util.tree_leaves(mass))
    energy, L = jnp.broadcast_arrays(energy.astype(dtype), jnp.abs(L.astype(dtype)))
    return energy, L


@functools.partial(jax.jit, static_argnums=3)
def _integrals(mass, energy, L, nodes):
    r_p, r_a = _turning(mass, energy, L)
    half = 0.5 * (r_a - r_p)
    # r = r_p + half (1 - cos phi), phi in [0, pi] (= theta + pi/2), written so that r - r_p
    # keeps full precision; two Gauss-Legendre panels in phi: [0, delta] resolves the
    # pericentre of eccentric orbits (where p varies on the scale r_p) and [delta, pi],
    # geometric in phi, the power-law fall-off beyond it
    delta = jnp.minimum(0.5 * np.pi, 4.0 * jnp.sqrt(2.0 * r_p / jnp.maximum(r_a - r_p, 1e-300)))
    x, w = gauss_legendre(nodes)
    stretch = jnp.log(np.pi / delta)[..., None]  # second panel geometric in phi: 1/r^2 tails
    outer = delta[..., None] * jnp.exp(stretch * x)
    phi = jnp.concatenate([delta[..., None] * x, outer], -1)
    w_phi = jnp.concatenate([delta[..., None] * w, outer * stretch * w], -1)
    r = r_p[..., None] + 2.0 * half[..., None] * jnp.sin(0.5 * phi) ** 2
    dr = half[..., None] * jnp.sin(phi) * w_phi  # dr = half sin(phi) dphi
    p = 2.0 * (energy[..., None] - mass.potential(r)) - (L[..., None] / r) ** 2
    v_r = jnp.sqrt(jnp.maximum(p, 0.0))
    # 1 / v_r: p ~ (r - r_p)(r_a - r) vanishes only at the end points, which GL avoids;
    # a circular orbit (half = 0) gets its limit through the tiny floor
    inv_v = dr / jnp.maximum(v_r, jnp.finfo(v_r.dtype).tiny ** 0.25)
    J_r = jnp.sum(v_r * dr, -1) / np.pi
    half_period = jnp.sum(inv_v, -1)
    omega_r = np.pi / half_period
    omega_phi = omega_r * jnp.sum(L[..., None] / r**2 * inv_v, -1) / np.pi
    return dict(J_r=J_r, L=L, Omega_r=omega_r, Omega_phi=omega_phi, r_peri=r_p, r_apo=r_a)


def _validate(mass, energy, L):
    """ValueError for unbound orbits or L above the circular value (concrete inputs only)."""
    if not all(is_concrete(x) for x in (energy, L, *jax.tree_util.tree_leaves(mass))):
        return
    e = np.asarray(energy, dtype=float)
    ell = np.asarray(L, dtype=float)
    if np.any(~np.isfinite(e)) or np.any(~np.isfinite(ell)):
        raise ValueError("energy and L must be finite")
    if np.any(e >= 0):
        raise ValueError(f"energy must be < 0 ((km/s)^2, bound orbits); got max {e.max():.6g}")
    r_c = np.asarray(circular_radius(mass, ell))
    e_c = np.asarray(mass.potential(r_c)) + 0.5 * (ell / r_c) ** 2
    bad = e < e_c * (1.0 + 1e-12)
    if np.any(bad):
        i = int(np.argmax(bad))
        raise ValueError(
            "energy must be >= that of the circular orbit with the same L, E_c(L) = "
            f"Phi(r_c) + L^2 / (2 r_c^2); got E = {e.ravel()[i]:.10g} < E_c = {e_c.ravel()[i]:.10g} "
            f"(km/s)^2 for L = {ell.ravel()[i]:.6g} kpc km/s"
        )


def actions(mass, energy, L, *, nodes: int = 48):
    """Radial action, frequencies and turning points from energy and angular momentum.

    Parameters
    ----------
    mass : Profile
        The mass model whose potential the orbits move in.
    energy : array
        Specific energy v^2/2 + Phi(r), (km/s)^2; negative (bound).
    L : array
        Specific angular momentum, kpc km/s.
    nodes : int
        Gauss-Legendre nodes in each of the two panels in theta.

    Returns
    -------
    dict
        ``J_r`` (kpc km/s), ``L``, ``Omega_r`` and ``Omega_phi`` (km/s/kpc), ``r_peri``,
        ``r_apo`` (kpc), broadcast to a common shape.

    Raises
    ------
    ValueError
        (concrete inputs) for unbound orbits or E below the circular-orbit energy at L.

    Example
    -------
    >>> from dynamicall.profiles import Hernquist
    >>> out = actions(Hernquist(m_tot=1e10, r_s=1.0), -2e4, 30.0)
    >>> sorted(out)
    ['J_r', 'L', 'Omega_phi', 'Omega_r', 'r_apo', 'r_peri']
    """
    _check_potential(mass)
    energy, L = _orbit_arrays(mass, energy, L)
    _validate(mass, energy, L)
    return _integrals(mass, energy, L, int(nodes))


def radial_action(mass, energy, L, *, nodes: int = 48):
    """J_r (kpc km/s); see :func:`actions`.

    Example
    -------
    >>> from dynamicall.profiles import Hernquist
    >>> h = Hernquist(m_tot=1e10, r_s=1.0)
    >>> r = 2.0; v_c = float(h.circular_velocity(r))
    >>> E = float(h.potential(r)) + 0.5 * v_c**2
    >>> bool(abs(radial_action(h, E * 0.999999, r * v_c)) < 1e-2 * r * v_c)  # nearly circular
    True
    """
    return actions(mass, energy, L, nodes=nodes)["J_r"]


def frequencies(mass, energy, L, *, nodes: int = 48):
    """(Omega_r, Omega_phi) in km/s/kpc; see :func:`actions`.

    Example
    -------
    >>> from dynamicall.profiles import Plummer
    >>> om_r, om_phi = frequencies(Plummer(m_tot=1e10, r_s=1.0), -3e4, 1.0)
    >>> bool(om_r >= om_phi)
    True
    """
    out = actions(mass, energy, L, nodes=nodes)
    return out["Omega_r"], out["Omega_phi"]


def actions_from_phase_space(mass, x, v, *, nodes: int = 48):
    """Actions from positions (kpc) and velocities (km/s), arrays of shape (..., 3).

    Returns
    -------
    dict
        Everything of :func:`actions` plus ``energy`` ((km/s)^2), ``L_z`` and
        ``J_theta`` = L - |L_z| (kpc km/s): (J_r, L_z, J_theta) are the actions.

    Example
    -------
    >>> from dynamicall.profiles import Hernquist
    >>> h = Hernquist(m_tot=1e10, r_s=1.0)
    >>> out = actions_from_phase_space(h, [1.0, 0.0, 0.0], [0.0, 100.0, 50.0])
    >>> round(float(out["L"]), 10), round(float(out["L_z"]), 10)
    (111.803398875, 100.0)
    """
    _check_potential(mass)
    x = jnp.asarray(to_kpc(x))
    v = jnp.asarray(to_kms(v))
    if x.shape[-1] != 3 or v.shape[-1] != 3:
        raise ValueError(f"x and v must have a last axis of length 3; got {x.shape} and {v.shape}")
    r = jnp.linalg.norm(x, axis=-1)
    energy = 0.5 * jnp.sum(v * v, axis=-1) + mass.potential(r)
    ang = jnp.cross(x, v)
    L = jnp.linalg.norm(ang, axis=-1)
    out = dict(actions(mass, energy, L, nodes=nodes))
    out.update(energy=energy, L_z=ang[..., 2], J_theta=L - jnp.abs(ang[..., 2]))
    return out
