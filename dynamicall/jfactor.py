r"""J-factors (annihilation) and D-factors (decay) of dark-matter haloes.

For a halo of density :math:`\rho(r)` at distance :math:`d`, the signal from a cone of
half-angle :math:`\theta` around its centre is

.. math::
    J(\theta) = \int_{\Delta\Omega} d\Omega \int dl\, \rho^2, \qquad
    D(\theta) = \int_{\Delta\Omega} d\Omega \int dl\, \rho.

Both are written as one integral over the 3D radius r with the exact weight of the cone:
a shell of radius r seen from distance d contributes :math:`\rho^k(r) W(r)\,dr` with

.. math::
    W(r) = \frac{2\pi r}{d}\times\begin{cases}
      \ln\frac{d + r}{d - r} & r \le d\sin\theta \text{ (the whole shell)},\\
      2\ln\frac{d + r}{d\cos\theta + \sqrt{r^2 - d^2\sin^2\theta}} & d\sin\theta < r < d
        \text{ (near and far caps)},\\
      \ln\frac{d + r}{d\cos\theta + \sqrt{r^2 - d^2\sin^2\theta}} & r > d \text{ (far cap)}
    \end{cases}

(the integral of :math:`1/l^2` over the part of the shell inside the cone).
``geometry="cylinder"`` is the small-angle, distant-halo limit used by Evans, Sanders &
Geringer-Sameth (2016): a cylinder of radius :math:`R = d\theta` through the halo,
weighted :math:`1/d^2`, i.e. :math:`W = 4\pi r^2/d^2` for :math:`r \le R` and
:math:`4\pi r^2 (1 - \sqrt{1 - R^2/r^2})/d^2` beyond. A tidal radius ``r_t`` truncates
the density sharply. The integrals run in ln r with double-exponential rules
(:mod:`dynamicall.profiles._generic`), split at the kinks of W, at r_t and at the halo's
scale radius: ~1e-10 relative.

Results are plain (JAX) numbers in GeV^2 cm^-5 and GeV cm^-2, converted from Msun^2 kpc^-5
and Msun kpc^-2 with astropy (at call time, once): usable inside ``jit``, ``grad`` and
numpyro models (``numpyro.deterministic("log10_J", log10_j_factor(halo, 0.5, d))``).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .profiles import Profile, _generic
from .quadrature import float_dtype
from .units import to_internal, to_kpc

__all__ = ["D_UNIT", "J_UNIT", "d_factor", "j_factor", "log10_d_factor", "log10_j_factor"]

#: Units of the results.
J_UNIT = "GeV2 / cm5"
D_UNIT = "GeV / cm2"
GEOMETRIES = ("cone", "cylinder")


@functools.lru_cache(maxsize=None)
def conversion(power: int) -> float:
    """Factor from Msun^power kpc^(1 - 3 power) to GeV^power cm^(1 - 3 power) (astropy).

    Example
    -------
    >>> round(conversion(2) / 4.4476e6, 3)  # Msun^2 / kpc^5 in GeV^2 / cm^5
    1.0
    """
    import astropy.constants as const
    import astropy.units as u

    source = (u.Msun * const.c**2) ** power / u.kpc ** (3 * power - 1)
    target = u.GeV**power / u.cm ** (3 * power - 1)
    return float(source.to_value(target))


def _weight(r, d, theta, geometry):
    """Geometric weight W(r) of the cone (or cylinder) for shells of radius r (kpc)."""
    if geometry == "cylinder":
        R = d * theta
        ratio = jnp.minimum(R / r, 1.0)
        outside = ratio**2 / (1.0 + jnp.sqrt(1.0 - ratio**2))  # 1 - sqrt(1 - R^2/r^2)
        return 4.0 * jnp.pi * r * r / (d * d) * jnp.where(r <= R, 1.0, outside)
    sin_t, cos_t = jnp.sin(theta), jnp.cos(theta)
    inner_r = jnp.minimum(r, d * sin_t)
    whole = 2.0 * jnp.arctanh(inner_r / d)  # ln((d + r)/(d - r))
    root = jnp.sqrt(jnp.maximum(r * r - (d * sin_t) ** 2, 0.0))
    cap = jnp.log((d + r) / (d * cos_t + root))
    caps = jnp.where(r < d, 2.0 * cap, cap)
    return 2.0 * jnp.pi * r / d * jnp.where(r <= d * sin_t, whole, caps)


def _integral(halo, power, theta, d, r_t, geometry, dtype):
    """int rho^power W dr in ln r, split at the kinks of W, r_t and the scale radius."""
    edges = [jnp.log(jnp.asarray(halo.scale_radius, dtype))]
    if geometry == "cylinder":
        edges.append(jnp.log(d * theta))
    else:
        edges += [jnp.log(d * jnp.sin(theta)), jnp.log(d)]
    if r_t is not None:
        edges.append(jnp.log(r_t))
    edges = jnp.sort(jnp.stack(jnp.broadcast_arrays(*edges)), axis=0)

    def integrand(s):
        r = jnp.exp(s)
        rho = halo.density(r)
        value = rho**power * _weight(r, d[..., None], theta[..., None], geometry) * r
        if r_t is not None:
            value = jnp.where(r <= r_t[..., None], value, 0.0)
        return value

    total = _generic.tail_integral(integrand, edges[0], -1.0, dtype)
    for k in range(edges.shape[0] - 1):
        total = total + _generic.finite_integral(integrand, edges[k], edges[k + 1], dtype)
    if r_t is None:
        total = total + _generic.tail_integral(integrand, edges[-1], 1.0, dtype)
    return total


@functools.partial(jax.jit, static_argnums=(6, 7))
def _compute(halo, power, factor, theta, d, r_t, geometry, dtype):
    # the power (1 or 2) is traced, so J and D share one compilation
    return _integral(halo, power, theta, d, r_t, geometry, dtype) * factor


def _factor(halo, power, theta, distance, r_t, geometry):
    if not isinstance(halo, Profile):
        raise TypeError(f"halo must be a Profile, got {type(halo).__name__}")
    if geometry not in GEOMETRIES:
        raise ValueError(f"geometry must be one of {GEOMETRIES}; got {geometry!r}")
    theta = jnp.deg2rad(jnp.asarray(to_internal(theta, "angle")))
    d = jnp.asarray(to_kpc(distance))
    r_t = None if r_t is None else jnp.asarray(to_kpc(r_t))
    _check(theta, "theta", 0.0, np.pi / 2, "(0, 90) deg")
    _check(d, "distance", 0.0, np.inf, "(0, inf) kpc")
    if r_t is not None:
        _check(r_t, "r_t", 0.0, np.inf, "(0, inf) kpc")
    dtype = jnp.dtype(float_dtype(theta, d, *jax.tree_util.tree_leaves(halo)))
    theta, d = jnp.broadcast_arrays(theta.astype(dtype), d.astype(dtype))
    if r_t is not None:
        r_t = jnp.broadcast_to(r_t.astype(dtype), theta.shape)
    return _compute(halo, jnp.asarray(power, dtype), conversion(power), theta, d, r_t, geometry, dtype)


def _check(value, name, lo, hi, allowed):
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return
    if np.any(~np.isfinite(arr) | (arr <= lo) | (arr >= hi)):
        raise ValueError(f"{name} must be in {allowed}; got {value!r}")


def j_factor(halo, theta, distance, *, r_t=None, geometry: str = "cone"):
    """J-factor inside a cone of half-angle ``theta``, in GeV^2 cm^-5.

    Parameters
    ----------
    halo : Profile
        Dark-matter density (Msun/kpc^3); may be traced (inside ``jit``, numpyro).
    theta : float, array or Quantity
        Half-angle of the cone (plain numbers in degrees), in (0, 90) deg.
    distance : float, array or Quantity
        Distance to the halo centre, kpc.
    r_t : float or Quantity, optional
        Tidal radius (kpc): the density is zero beyond it.
    geometry : {"cone", "cylinder"}
        Exact cone, or the small-angle cylinder of radius d theta (Evans et al. 2016).

    Returns
    -------
    jax.Array
        J in GeV^2 cm^-5, shaped like ``theta`` and ``distance`` broadcast.

    Example
    -------
    >>> from dynamicall.profiles import NFW
    >>> halo = NFW(rho_s=1e7, r_s=1.0)
    >>> bool(1e17 < j_factor(halo, 0.5, 80.0) < 1e19)
    True
    """
    return _factor(halo, 2, theta, distance, r_t, geometry)


def d_factor(halo, theta, distance, *, r_t=None, geometry: str = "cone"):
    """D-factor inside a cone of half-angle ``theta``, in GeV cm^-2 (see :func:`j_factor`).

    Example
    -------
    >>> from dynamicall.profiles import NFW
    >>> halo = NFW(rho_s=1e7, r_s=1.0)
    >>> bool(d_factor(halo, 0.5, 80.0) < d_factor(halo, 1.0, 80.0))
    True
    """
    return _factor(halo, 1, theta, distance, r_t, geometry)


def log10_j_factor(halo, theta, distance, **kwargs):
    """log10 of :func:`j_factor` (J in GeV^2 cm^-5): a derived quantity for numpyro models.

    Example
    -------
    >>> from dynamicall.profiles import NFW
    >>> round(float(log10_j_factor(NFW(rho_s=1e7, r_s=1.0), 0.5, 80.0)), 2)
    17.39
    """
    return jnp.log10(j_factor(halo, theta, distance, **kwargs))


def log10_d_factor(halo, theta, distance, **kwargs):
    """log10 of :func:`d_factor` (D in GeV cm^-2).

    Example
    -------
    >>> from dynamicall.profiles import NFW
    >>> bool(17 < log10_d_factor(NFW(rho_s=1e7, r_s=1.0), 0.5, 80.0) < 19)
    True
    """
    return jnp.log10(d_factor(halo, theta, distance, **kwargs))
