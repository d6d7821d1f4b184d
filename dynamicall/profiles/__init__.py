"""Spherical density profiles as immutable JAX pytrees.

Every profile has ``density(r)``, ``mass(r)``, ``potential(r)``,
``surface_density(R)``, ``projected_mass(R)``, ``total_mass()``,
``half_mass_radius()``, ``half_light_radius()``, ``circular_velocity(r)`` and
``log_slope(r)``; units are kpc, Msun, km/s (see :mod:`dynamicall.units`).
Profiles add: ``halo + stars`` is a :class:`Composite`.
"""

from .base import Profile
from .burkert import Burkert
from .composite import Composite
from .einasto import Einasto
from .hernquist import Dehnen, Hernquist
from .king import King
from .nfw import NFW, CoreNFW
from .plummer import Plummer
from .sersic import Exponential, Sersic
from .tabulated import Tabulated, fit_surface_density
from .zhao import Zhao

#: Every built-in family by class name: the declaration; :mod:`dynamicall.registry` looks any
#: spelling up ("core-nfw", "CoreNFW") for the commands and the library.
PROFILES = {
    cls.__name__: cls
    for cls in (Plummer, Hernquist, Dehnen, NFW, Zhao, Einasto, Burkert, CoreNFW)
    + (Sersic, Exponential, King, Tabulated)  # tracers defined by their light
}

__all__ = ["PROFILES", "Composite", "Profile", "fit_surface_density", *PROFILES]
