"""Exact spherical Jeans models: intrinsic and projected velocity dispersions.

Functions (radii concrete, in kpc or Quantities; results in km/s):
:func:`sigma_r`, :func:`sigma_t`, :func:`sigma_los`, :func:`sigma_pm_radial`,
:func:`sigma_pm_tangential`, :func:`projected_dispersions`, :func:`intrinsic_dispersions`;
helpers :func:`log_grid` and :func:`interp_loglog` (re-exported from
:mod:`dynamicall.interpolate`, the one home of the interpolation rules); the wrapper :class:`JeansModel`; the
accuracy settings :class:`JeansConfig`.
"""

from .api import (
    JeansModel,
    intrinsic_dispersions,
    log_grid,
    projected_dispersions,
    sigma_los,
    sigma_pm_radial,
    sigma_pm_tangential,
    sigma_r,
    sigma_t,
)
from ..interpolate import interp_loglog
from .grid import JeansConfig

__all__ = [
    "JeansConfig",
    "JeansModel",
    "interp_loglog",
    "intrinsic_dispersions",
    "log_grid",
    "projected_dispersions",
    "sigma_los",
    "sigma_pm_radial",
    "sigma_pm_tangential",
    "sigma_r",
    "sigma_t",
]
