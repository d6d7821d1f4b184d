"""Generic quadrature for profiles that only define ``density``.

Integrals run in s = ln r and are split at the profile's scale radius, where its
features lie: a tanh-sinh rule covers the finite stretch between the scale radius and
the requested radius, an exponential-decay DE rule the semi-infinite power-law tail. The
tail rule stops at ln-distance 60 (float64) or 25 (float32) so that no user density is
evaluated at radii where r^10 overflows; beyond it, the integrand is continued as the
exponential (power law in r) through its last two nodes.

Derivatives with respect to the radius are exact (``dM/dr = 4 pi r^2 rho``,
``d/dr int_r^inf rho r dr = -r rho``) through custom JVP rules; derivatives with respect
to the parameters differentiate the quadrature.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .. import quadrature as quad

FOUR_PI = 4.0 * np.pi


@functools.lru_cache(maxsize=None)
def _tail_rule(is_float64: bool):
    """Exponential-decay DE nodes ``t``, weights ``w`` and the rule's effective end ``t*``."""
    step, u_min, u_max = (1.0 / 16.0, -4.5, 4.11) if is_float64 else (1.0 / 8.0, -4.0, 3.26)
    t, w = quad.exp_decay(step, u_min, u_max)
    u_end = u_min + step * (t.size - 0.5)
    t_end = np.exp(u_end - np.exp(-u_end))
    return t, w, t_end


def rules(dtype):
    """(unit rule, tail rule) for ``dtype``: tanh-sinh on (0, 1) and the DE tail rule."""
    f64 = jnp.dtype(dtype) == jnp.float64
    unit = quad.tanh_sinh(1.0 / 16.0, 3.2) if f64 else quad.tanh_sinh(1.0 / 8.0, 2.6)
    return unit, _tail_rule(f64)


def finite_integral(func, lo, hi, dtype):
    """``int_lo^hi func(s) ds`` for arrays of limits (tanh-sinh; zero when lo == hi)."""
    (x, _, w), _ = rules(dtype)
    x, w = quad.cast(x, dtype), quad.cast(w, dtype)
    lo, span = lo[..., None], (hi - lo)[..., None]
    return jnp.sum(w * span * func(lo + span * x), axis=-1)


def tail_integral(func, edge, sign, dtype):
    """``int func(s) ds`` from ``edge`` to +inf (sign = 1) or -inf (sign = -1)."""
    _, (t_np, w_np, t_end) = rules(dtype)
    t, w = quad.cast(t_np, dtype), quad.cast(w_np, dtype)
    vals = func(edge[..., None] + sign * t)
    body = jnp.sum(w * vals, axis=-1)
    f_last, f_prev = vals[..., -1], vals[..., -2]
    ok = (f_last > 0) & (f_prev > f_last)
    f_last_s = jnp.where(ok, f_last, 1.0)
    rate = jnp.log(jnp.where(ok, f_prev, 2.0) / f_last_s) / float(t_np[-1] - t_np[-2])
    tail = f_last_s * jnp.exp(-rate * float(t_end - t_np[-1])) / rate
    return body + jnp.where(ok, tail, 0.0)


def _log_weighted(profile, k):
    return lambda s: jnp.exp(k * s) * profile.density(jnp.exp(s))


def _mass_quadrature(profile, r):
    dtype = r.dtype
    s = jnp.log(r)
    split = jnp.minimum(s, jnp.log(jnp.asarray(profile.scale_radius, dtype)))
    f = _log_weighted(profile, 3.0)
    return FOUR_PI * (tail_integral(f, split, -1.0, dtype) + finite_integral(f, split, s, dtype))


def _with_radial_derivative(quadrature, radial_derivative):
    """``quadrature(profile, r)`` as a custom-JVP function whose derivative in ``r`` is the
    closed form ``radial_derivative(profile, r)`` (the integrand at the limit) instead of
    the derivative of the quadrature rule; in the profile's parameters it is the rule's."""

    @jax.custom_jvp
    def integral(profile, r):
        return quadrature(profile, r)

    @integral.defjvp
    def _jvp(primals, tangents):
        profile, r = primals
        dprofile, dr = tangents
        value, dvalue = jax.jvp(lambda p: quadrature(p, r), (profile,), (dprofile,))
        return value, dvalue + radial_derivative(profile, r) * dr

    return integral


def _outer_quadrature(profile, r):
    dtype = r.dtype
    s = jnp.log(r)
    split = jnp.maximum(s, jnp.log(jnp.asarray(profile.scale_radius, dtype)))
    f = _log_weighted(profile, 2.0)
    return finite_integral(f, s, split, dtype) + tail_integral(f, split, 1.0, dtype)


#: M(<r) = 4 pi int_{-inf}^{ln r} rho r^3 d ln r, with exact dM/dr = 4 pi r^2 rho.
_mass = _with_radial_derivative(_mass_quadrature, lambda p, r: FOUR_PI * r * r * p.density(r))
#: int_r^inf rho(r') r' dr', with exact derivative -r rho(r).
_outer = _with_radial_derivative(_outer_quadrature, lambda p, r: -r * p.density(r))


mass = jax.jit(_mass)
outer_integral = jax.jit(_outer)


def cosh_weight(th):
    """Weight of the surface density: cosh(th)."""
    return jnp.cosh(th)


def cylinder_weight(th):
    """Weight of the projected mass outside the sphere of radius R:
    cosh^2(th) (1 - tanh th) sinh(th)."""
    e2 = jnp.exp(-2.0 * th)
    return jnp.cosh(th) ** 2 * (2.0 * e2 / (1.0 + e2)) * jnp.sinh(th)


@functools.partial(jax.jit, static_argnums=2)
def line_of_sight(profile, R, weight):
    """``int_0^inf rho(R cosh th) weight(th) d th``, split where R cosh th = r_s."""
    dtype = R.dtype
    ratio = jnp.maximum(jnp.asarray(profile.scale_radius, dtype) / R, 1.0)
    th_s = jnp.arccosh(ratio)

    def f(th):
        return weight(th) * profile.density(R[..., None] * jnp.cosh(th))

    return finite_integral(f, jnp.zeros_like(th_s), th_s, dtype) + tail_integral(f, th_s, 1.0, dtype)


@functools.partial(jax.jit, static_argnums=1)
def total_mass(profile, dtype):
    """4 pi int rho r^3 d ln r over the whole line, split at the scale radius."""
    s = jnp.log(jnp.asarray(profile.scale_radius, dtype))
    f = _log_weighted(profile, 3.0)
    return FOUR_PI * (tail_integral(f, s, -1.0, dtype) + tail_integral(f, s, 1.0, dtype))
