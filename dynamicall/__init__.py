"""Dynamicall: exact and emulated spherical Jeans models of resolved stellar systems.

Units: kpc, km/s, Msun (see :mod:`dynamicall.units`). Precision is the caller's choice:
enable float64 with ``jax.config.update("jax_enable_x64", True)``.
"""

__version__ = "0.1.0"
