"""From physical profiles to an emulator's dimensionless inputs, and back to scales.

Recipes (``training/*.toml``) define problems in units where lengths are in the tracer's
projected half-light radius R_half, densities in the halo scale density rho_s, and
velocities in sqrt(G rho_s R_half^2). This module maps a (tracer, mass, anisotropy)
triple of physical profiles onto those inputs:

========================  =======================================================
input name                value
========================  =======================================================
``log10_rs``              log10(r_s / R_half) of the Zhao (or NFW) halo
``alpha, beta, gamma``    Zhao slopes (NFW is (1, 3, 1))
``beta_0, beta_inf``      Baes & van Hese anisotropy (Constant(b) is (b, b))
``log10_ra``              log10(r_a / R_half) (Constant: 0)
``eta``                   transition sharpness (Constant: 2)
``log10_mstar``           log10(M_* / (rho_s R_half^3)) of a Plummer stellar mass
                          component with the tracer's scale radius
========================  =======================================================

A Constant anisotropy is the Baes & van Hese law with beta_0 = beta_inf, for any r_a and
eta; the values chosen (r_a = R_half, eta = 2) lie inside every shipped domain.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .._pytree import is_concrete

from ..anisotropy import BaesVanHese, Constant
from ..profiles import NFW, Composite, Plummer, Profile, Zhao
from ..quantities import velocity_unit


class ProblemMismatch(TypeError):
    """The profiles are of families the emulator was not trained on."""


def _split_mass(mass, with_stars: bool):
    parts = mass.components if isinstance(mass, Composite) else (mass,)
    haloes = [p for p in parts if isinstance(p, (Zhao, NFW))]
    stars = [p for p in parts if isinstance(p, Plummer)]
    if len(haloes) != 1 or len(haloes) + len(stars) != len(parts):
        raise ProblemMismatch(
            "the mass model must be one Zhao (or NFW) halo"
            + (" plus at most one Plummer stellar component" if with_stars else "")
            + f"; got {[type(p).__name__ for p in parts]}"
        )
    if stars and not with_stars:
        raise ProblemMismatch("this emulator has no stellar-mass input: pass the halo alone as the mass model")
    return haloes[0], (stars[0] if stars else None)


def tracer_half_light_radius(problem: dict, tracer):
    """R_half (kpc) of the tracer, after checking it is of the emulator's family.

    Problems with ``tracer = "any"`` (the CNN emulators) accept any profile with a finite
    mass and compute R_half numerically.
    """
    if problem["tracer"] == "any":
        if not isinstance(tracer, Profile):
            raise ProblemMismatch(f"the tracer must be a Profile; got {type(tracer).__name__}")
        return tracer.half_light_radius()
    if problem["tracer"] != "Plummer" or not isinstance(tracer, Plummer):
        raise ProblemMismatch(f"this emulator needs a {problem['tracer']} tracer; got {type(tracer).__name__}")
    return tracer.r_s


def tracer_profile(problem: dict, tracer, R_half):
    """ln(Sigma(R) / Sigma(R_half)) of the tracer on the problem's ``profile_grid`` (R /
    R_half; its output ``grid`` when it has none), clipped below at ``profile_floor`` if
    given (e.g. beyond a King tracer's tidal radius, where Sigma = 0)."""
    x = jnp.asarray(problem.get("profile_grid", problem["grid"]), dtype=float)
    ratio = tracer.surface_density(x * R_half) / tracer.surface_density(R_half)
    floor = problem.get("profile_floor")
    if floor is None:
        return jnp.log(ratio)
    return jnp.log(jnp.maximum(ratio, np.exp(floor)))  # never log(0): finite gradients too


def scalar_inputs(problem: dict, R_half, mass, anisotropy):
    """The mass and anisotropy inputs (``problem['input_names']`` order) for a tracer of
    half-light radius ``R_half`` (kpc), and the velocity unit sqrt(G rho_s R_half^2)."""
    halo, stars = _split_mass(mass, bool(problem.get("stars", False)))
    if isinstance(halo, NFW):
        shape = dict(alpha=1.0, beta=3.0, gamma=1.0)
    else:
        shape = dict(alpha=halo.alpha, beta=halo.beta, gamma=halo.gamma)
    values = dict(log10_rs=jnp.log10(halo.r_s / R_half), **shape)
    if isinstance(anisotropy, BaesVanHese):
        values.update(beta_0=anisotropy.beta_0, beta_inf=anisotropy.beta_inf,
                      log10_ra=jnp.log10(anisotropy.r_a / R_half), eta=anisotropy.eta)
    elif isinstance(anisotropy, Constant):
        values.update(beta_0=anisotropy.beta, beta_inf=anisotropy.beta, log10_ra=0.0, eta=2.0)
    else:
        raise ProblemMismatch(
            f"this emulator needs BaesVanHese or Constant anisotropy; got {type(anisotropy).__name__}"
        )
    if "log10_mstar" in problem["input_names"]:
        if stars is None:
            raise ProblemMismatch("this emulator expects a Plummer stellar-mass component in the mass model")
        if is_concrete(stars.r_s) and is_concrete(R_half) and not np.isclose(float(stars.r_s), float(R_half)):
            raise ProblemMismatch("the stellar-mass Plummer must have the tracer's scale radius")
        values["log10_mstar"] = jnp.log10(stars.m_tot / (halo.rho_s * R_half**3))
    missing = [n for n in problem["input_names"] if n not in values]
    if missing:
        raise ProblemMismatch(f"cannot map profiles onto the emulator inputs {missing}")
    x = jnp.stack([jnp.asarray(values[n], dtype=float) for n in problem["input_names"]])
    return x, velocity_unit(halo.rho_s, R_half)


def physical_inputs(problem: dict, tracer, mass, anisotropy):
    """Dimensionless inputs and the scales of a (tracer, mass, anisotropy) triple.

    Returns
    -------
    x : array (P,) or (P + G,)
        The inputs in ``problem['input_names']`` order; for tracer-agnostic (CNN)
        problems followed by the tracer's ln(Sigma / Sigma(R_half)) on the grid.
    R_half : scalar
        The tracer's projected half-light radius, kpc.
    sigma_unit : scalar
        sqrt(G rho_s R_half^2), km/s.
    """
    R_half = tracer_half_light_radius(problem, tracer)
    x, sigma_unit = scalar_inputs(problem, R_half, mass, anisotropy)
    if problem["tracer"] == "any":
        x = jnp.concatenate([x, tracer_profile(problem, tracer, R_half)])
    return x, R_half, sigma_unit
