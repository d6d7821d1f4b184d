r"""The names of the dispersion quantities, and the velocity unit of the dimensionless ones.

One home for two conventions shared by the engine, the training recipes, the emulators and
the fits:

- the dispersion names of :func:`dynamicall.jeans.projected_dispersions`
  (:data:`DISPERSIONS`), and the names a recipe or an emulator card gives to their natural
  logarithms in dimensionless units (:data:`CARD_NAMES`, card name -> dispersion name);
- the velocity unit :math:`\sqrt{G \rho_s R_{half}^2}` of those dimensionless dispersions
  (:func:`velocity_unit`).

Example
-------
>>> CARD_NAMES["log_sigma_los"], DISPERSIONS[0]
('los', 'los')
>>> dispersion_names(("log_sigma_pmr", "los"))
('pm_radial', 'los')
"""

from __future__ import annotations

import jax.numpy as jnp

from .units import G

#: Dispersion names, as keyed by :func:`dynamicall.jeans.projected_dispersions`.
DISPERSIONS = ("los", "pm_radial", "pm_tangential")

#: Quantity names of recipes and emulator cards (the natural log of a dimensionless
#: dispersion) -> the dispersion name.
CARD_NAMES = {
    "log_sigma_los": "los",
    "log_sigma_pmr": "pm_radial",
    "log_sigma_pmt": "pm_tangential",
}


def dispersion_names(names) -> tuple:
    """Card names (such as ``"log_sigma_los"``) as dispersion names (``"los"``); names
    that already are dispersion names pass through.

    Example
    -------
    >>> dispersion_names(["log_sigma_los", "log_sigma_pmt"])
    ('los', 'pm_tangential')
    """
    return tuple(CARD_NAMES.get(q, q) for q in names)


def velocity_unit(rho_s, R_half):
    r"""The velocity unit :math:`\sqrt{G \rho_s R_{half}^2}` of the dimensionless
    dispersions, in km/s.

    Multiply ``exp(log_sigma)`` by it to restore physical dispersions.

    Parameters
    ----------
    rho_s : float or array
        Halo scale density, Msun/kpc^3.
    R_half : float or array
        Projected half-light radius of the tracer, kpc.

    Example
    -------
    >>> round(float(velocity_unit(1e8, 0.2)), 6)
    4.147731
    """
    return jnp.sqrt(G * rho_s) * R_half
