"""The profile base class: write ``density`` and everything else follows.

A :class:`Profile` is an immutable JAX pytree. Subclasses define ``density(r)``; the
enclosed mass, potential, surface density, projected mass, total mass and half-mass and
half-light radii then come from double-exponential quadrature (see
:mod:`dynamicall.quadrature`), accurate to about 1e-10 relative in float64 for smooth
broken power laws over r in [1e-4, 1e4] r_s. Families override any method with its
closed form.

Units: r and R in kpc, density in Msun/kpc^3, mass in Msun, potential in (km/s)^2
(see :mod:`dynamicall.units`). Astropy Quantities are accepted for r and R.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .. import quadrature as quad
from .._pytree import is_concrete
from ..units import G, to_kpc
from . import _generic

FOUR_PI = _generic.FOUR_PI


#: Methods of one radius argument that every profile compiles with ``jax.jit``.
RADIAL_METHODS = (
    "density",
    "mass",
    "potential",
    "surface_density",
    "projected_mass",
    "circular_velocity",
    "log_slope",
)
#: Methods that need a finite total mass; checked before compiling.
FINITE_MASS_METHODS = ("total_mass", "half_mass_radius", "half_light_radius")


def _compiled(fn, finite_mass: bool):
    """Wrap a profile method: convert Quantities, check finiteness, run it under jit.

    Eager calls then run as one compiled function (instead of op by op); inside a
    user's ``jit`` the inner jit is inlined.
    """
    jitted = jax.jit(fn)

    @functools.wraps(fn)
    def method(self, *radii):
        if finite_mass:
            self._require_finite_mass(f"{fn.__name__}()")
        return jitted(self, *(to_kpc(x) for x in radii))

    method.uncompiled = fn
    return method


def _compile_methods(cls):
    for name in RADIAL_METHODS + FINITE_MASS_METHODS:
        fn = cls.__dict__.get(name)
        if fn is not None and not hasattr(fn, "uncompiled") and name not in cls.eager_methods:
            setattr(cls, name, _compiled(fn, name in FINITE_MASS_METHODS))


class Profile:
    """Base class of all spherical density profiles.

    Subclass it with :func:`dynamicall._pytree.pytree_dataclass` and define
    ``density(r)``; declare a scale radius ``r_s`` (used to centre the quadrature of the
    total mass and the root-finding of half-mass radii), or override
    :attr:`scale_radius`.

    Example
    -------
    >>> import jax.numpy as jnp
    >>> from dynamicall._pytree import pytree_dataclass, parameter
    >>> from dynamicall.profiles import Profile
    >>> @pytree_dataclass
    ... class ExponentialSphere(Profile):
    ...     rho_s: float = parameter(kind="density", lower=0)
    ...     r_s: float = parameter(kind="length", lower=0)
    ...     def density(self, r):
    ...         return self.rho_s * jnp.exp(-r / self.r_s)
    >>> m = ExponentialSphere(rho_s=1.0, r_s=1.0).mass(1.0)
    >>> bool(abs(m - 8 * jnp.pi * (1 - 2.5 * jnp.exp(-1.0))) < 1e-6)
    True
    """

    #: Methods left uncompiled because they branch on concrete parameter values.
    eager_methods = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _compile_methods(cls)

    #: True when ``mass(r)`` is a closed form cheap enough for the Jeans engine's hot
    #: path; otherwise the engine integrates ``density`` on its grid.
    cheap_mass = False

    # ------------------------------------------------------------------ helpers
    @property
    def scale_radius(self):
        """A characteristic radius (kpc); defaults to the field ``r_s``."""
        return self.r_s

    def _radius(self, r):
        """Public-boundary radius: Quantity -> kpc, array in the profile's dtype."""
        r = to_kpc(r)
        dtype = quad.float_dtype(r, *jax.tree_util.tree_leaves(self))
        return jnp.asarray(r, dtype=dtype), dtype

    def has_finite_mass(self) -> bool:
        """Whether the total mass is finite (True unless a family says otherwise)."""
        return True

    def _require_finite_mass(self, what: str):
        if not self.has_finite_mass():
            raise ValueError(
                f"{type(self).__name__} has infinite total mass, so {what} is undefined; "
                "use a profile with a finite mass (e.g. Zhao with beta > 3) or a truncation"
            )

    # ------------------------------------------------------------- the contract
    def density(self, r):
        """Density (Msun/kpc^3) at 3D radius ``r`` (kpc)."""
        raise NotImplementedError(f"{type(self).__name__} must define density(r)")

    # --------------------------------------------------- generic (quadrature)
    def mass(self, r):
        """Enclosed mass M(<r) in Msun at 3D radius ``r`` (kpc).

        Generic path: ``4 pi int rho r^3 d ln r`` from -inf to ln r.
        """
        r, _ = self._radius(r)
        return _generic.mass(self, r)

    def potential(self, r):
        """Gravitational potential Phi(r) in (km/s)^2, zero at infinity.

        Generic path: ``-G [M(r)/r + 4 pi int_r^inf rho r' dr']``.
        """
        r, _ = self._radius(r)
        return -G * (self.mass(r) / r + FOUR_PI * _generic.outer_integral(self, r))

    def surface_density(self, R):
        """Surface density Sigma(R) in Msun/kpc^2 at projected radius ``R`` (kpc).

        Generic path: ``2 R int_0^inf rho(R cosh th) cosh th d th``.
        """
        R, _ = self._radius(R)
        return 2.0 * R * _generic.line_of_sight(self, R, _generic.cosh_weight)

    def projected_mass(self, R):
        """Mass inside the cylinder of projected radius ``R`` (Msun).

        Generic path: ``M(R) + 4 pi R^3 int_0^inf rho(R cosh th) cosh^2 th (1 - tanh th)
        sinh th d th`` (the part of each outer shell that lies inside the cylinder).
        """
        R, _ = self._radius(R)
        outside = _generic.line_of_sight(self, R, _generic.cylinder_weight)
        return self.mass(R) + FOUR_PI * R**3 * outside

    def total_mass(self):
        """Total mass (Msun); ``ValueError`` if it is infinite.

        Generic path: ``4 pi int rho r^3 d ln r`` over the whole line.
        """
        dtype = jnp.dtype(quad.float_dtype(*jax.tree_util.tree_leaves(self)))
        return _generic.total_mass(self, dtype)

    def circular_velocity(self, r):
        """Circular velocity sqrt(G M(r) / r) in km/s."""
        r, _ = self._radius(r)
        return jnp.sqrt(G * self.mass(r) / r)

    def half_mass_radius(self):
        """3D radius enclosing half the total mass (kpc)."""
        return _solve_radius(self.mass, 0.5 * self.total_mass(), self.scale_radius)

    def half_light_radius(self):
        """Projected (2D) radius enclosing half the total mass (kpc), R_half / R_e."""
        return _solve_radius(self.projected_mass, 0.5 * self.total_mass(), self.scale_radius)

    def log_slope(self, r):
        """Logarithmic density slope d ln rho / d ln r at ``r`` (by autodiff)."""
        r, _ = self._radius(r)
        lnrho = lambda lr: jnp.log(self.density(jnp.exp(lr)))  # noqa: E731
        return jnp.vectorize(jax.grad(lnrho))(jnp.log(r))

    # ------------------------------------------------------------------ algebra
    def __add__(self, other):
        from .composite import Composite

        if isinstance(other, (int, float)) and other == 0:
            return self
        if not isinstance(other, Profile):
            return NotImplemented
        parts = []
        for p in (self, other):
            parts.extend(p.components if isinstance(p, Composite) else (p,))
        return Composite(components=tuple(parts))

    __radd__ = __add__


_compile_methods(Profile)


def _solve_radius(func, target, scale, iterations: int = 64):
    """Radius r with ``func(r) = target`` for increasing ``func``, differentiable.

    Bisection in ln r over [ln scale - 40, ln scale + 40] (64 halvings reach float64
    round-off), differentiated implicitly with :func:`jax.lax.custom_root`.
    """
    dtype = quad.float_dtype(target, scale)
    log_target = jnp.log(jnp.asarray(target, dtype))
    lscale = jnp.log(jnp.asarray(scale, dtype))

    def residual(t):
        return jnp.log(func(jnp.exp(t))) - log_target

    def solve(f, t0):
        def body(_, bracket):
            lo, hi = bracket
            mid = 0.5 * (lo + hi)
            up = f(mid) > 0
            return jnp.where(up, lo, mid), jnp.where(up, mid, hi)

        lo, hi = jax.lax.fori_loop(0, iterations, body, (t0 - 40.0, t0 + 40.0))
        return 0.5 * (lo + hi)

    def tangent_solve(g, y):
        return y / g(jnp.ones_like(y))

    t = jax.lax.custom_root(residual, lscale, solve, tangent_solve)
    return jnp.exp(t)


def concrete_value(x):
    """``float(x)`` if ``x`` is concrete, else ``None`` (for static branching)."""
    return float(np.asarray(x)) if is_concrete(x) and np.ndim(x) == 0 else None
