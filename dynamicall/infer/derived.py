"""Derived quantities per posterior draw: the numbers papers quote.

=================  ============  ===========================================================
name               unit          meaning
=================  ============  ===========================================================
M_1.8_R_half       Msun          mass of the mass model inside r = 1.8 R_half (3D), the radius
                                 at which Jeans models constrain the mass best (Campbell et al.
                                 2017; cf. Wolf et al. 2010)
rho_150pc          Msun/kpc^3    dark-matter density at r = 150 pc (Read, Walker & Steger 2019)
log_slope_150pc    -             dark-matter log slope d ln rho / d ln r at 150 pc
beta_R_half        -             velocity anisotropy at r = R_half
=================  ============  ===========================================================

R_half is the tracer's projected half-light radius (of each draw's tracer, so a free
tracer scale propagates).

Example
-------
>>> from dynamicall.profiles import Plummer, NFW
>>> from dynamicall.anisotropy import Constant
>>> q = quantities(Plummer(m_tot=1.0, r_s=0.25), NFW(rho_s=1e8, r_s=0.5),
...                NFW(rho_s=1e8, r_s=0.5), Constant(beta=0.2))
>>> round(float(q["log_slope_150pc"]), 4)  # NFW: -(1 + 3x)/(1 + x), x = 0.3
-1.4615
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

#: name -> (unit, description)
DERIVED = {
    "M_1.8_R_half": ("Msun", "mass inside r = 1.8 R_half"),
    "rho_150pc": ("Msun/kpc^3", "dark-matter density at r = 150 pc"),
    "log_slope_150pc": ("", "dark-matter log slope at r = 150 pc"),
    "beta_R_half": ("", "velocity anisotropy at r = R_half"),
}
R_150PC = 0.15


def quantities(tracer, mass, halo, anisotropy) -> dict:
    """The derived quantities of one model (traceable).

    Parameters
    ----------
    tracer, mass, halo : Profile
        Tracer, total mass model and dark-matter halo.
    anisotropy : Anisotropy
        The anisotropy model.

    Returns
    -------
    dict name -> scalar (see :data:`DERIVED` for units).
    """
    R_half = tracer.half_light_radius()
    r150 = jnp.asarray(R_150PC, dtype=jnp.result_type(R_half))
    return {
        "M_1.8_R_half": mass.mass(1.8 * R_half),
        "rho_150pc": halo.density(r150),
        "log_slope_150pc": halo.log_slope(r150),
        "beta_R_half": anisotropy.beta_at(R_half),
    }


#: The order of :func:`derived_array`.
DERIVED_NAMES = tuple(sorted(DERIVED))


def derived_array(spec, values: dict):
    """The derived quantities of a :class:`~dynamicall.infer.spec.ModelSpec` at site
    ``values`` (traceable, e.g. under ``jax.jacfwd`` or ``jax.vmap``), stacked in the order
    of :data:`DERIVED_NAMES`."""
    tracer, mass, anisotropy = spec.build(values)
    out = quantities(tracer, mass, spec.halo(values), anisotropy)
    return jnp.stack([out[k] for k in DERIVED_NAMES])


def derived_values(spec, values: dict) -> dict:
    """Derived quantities of a :class:`~dynamicall.infer.spec.ModelSpec` at site
    ``values`` (e.g. the truth of a mock), as floats."""
    return {k: float(v) for k, v in zip(DERIVED_NAMES, derived_array(spec, values))}


def derived_quantities(model, samples: dict, batch_size: int = 100) -> dict:
    """Derived quantities for every draw.

    Parameters
    ----------
    model : KinematicModel
        The fitted model (its spec builds the profiles).
    samples : dict
        site -> array (chains, draws).

    Returns
    -------
    dict name -> array (chains, draws): the quantities of :data:`DERIVED`, and the halo's
    normalisation in both parameterisations (``halo.log10_rho_s`` or ``halo.log10_m_tot``,
    and ``halo.log10_m_ref``; see :meth:`ModelSpec.native_values`).
    """
    spec = model.spec
    sites = spec.sites
    if not sites:
        raise ValueError("the model has no free parameters")
    shape = np.shape(samples[sites[0]])
    flat = {s: jnp.asarray(np.asarray(samples[s]).reshape(-1)) for s in sites}

    def one(values):
        tracer, mass, anisotropy = spec.build(values)
        out = quantities(tracer, mass, spec.halo(values), anisotropy)
        out.update(spec.native_values(values))
        return out

    out = jax.lax.map(one, flat, batch_size=batch_size)
    return {k: np.asarray(v).reshape(shape) for k, v in out.items()}
