"""Shared numerics of tracers defined by their projected light (Sersic, King).

The Abel deprojection of a surface density Sigma(R),
``rho(r) = -(1/pi) int_r^inf Sigma'(R) dR / sqrt(R^2 - r^2)``, and its enclosed mass,
``M(r) = pi int_0^r R^2 (-Sigma') dR + int_r^inf (-Sigma') R^2 (2 phi - sin 2 phi) dR``
with ``sin phi = r / R`` (swap the order of the two integrals in 4 pi int rho r^2 dr),
need the function ``x - sin x`` without cancellation; it lives here.
"""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np

from .. import quadrature as quad


def x_minus_sin_over_cube(x):
    """``(x - sin x) / x^3`` for x in [0, pi], accurate to round-off (series below 0.5).

    Example
    -------
    >>> float(x_minus_sin_over_cube(jnp.asarray(0.0)))
    0.16666666666666666
    """
    small = x < 0.5
    xs = jnp.where(small, x, 0.0)
    x2 = xs * xs
    # 1/3! - x^2/5! + x^4/7! - ... (terms to x^10/13! < 1e-13 at x = 0.5)
    series = 1.0 / 6.0 + x2 * (
        -1.0 / 120.0 + x2 * (1.0 / 5040.0 + x2 * (-1.0 / 362880.0 + x2 * (1.0 / 39916800.0 - x2 / 6227020800.0)))
    )
    xl = jnp.where(small, 1.0, x)
    direct = (xl - jnp.sin(xl)) / (xl * xl * xl)
    return jnp.where(small, series, direct)


def arcsin_over_x(w, one_minus_w2):
    """``arcsin(w) / w`` for w in [0, 1], given ``1 - w^2`` accurately (series below
    1e-3). Written as ``arctan2(w, sqrt(1 - w^2))`` so that its derivative stays finite
    when w rounds to 1."""
    small = w < 1e-3
    ws = jnp.where(small, 0.5, w)
    w2 = w * w
    phi = jnp.arctan2(ws, jnp.sqrt(one_minus_w2))
    return jnp.where(small, 1.0 + w2 * (1.0 / 6.0 + w2 * 3.0 / 40.0), phi / ws)


@functools.lru_cache(maxsize=None)
def exp_weight_rule(is_float64: bool):
    """Nodes and weights for ``int_0^inf e^-t f(t) dt`` with an integrable algebraic
    singularity of ``f`` at t = 0 (double-exponential rule of Ooura & Mori, the nodes of
    :func:`dynamicall.quadrature.exp_decay` with the weight e^-t folded in).

    float64: step 1/16 over u in [-4.3, 3.8] (t from 1e-32 to 45); float32: step 1/8.
    """
    step, u_min, u_max = (1.0 / 16.0, -4.3, 3.8) if is_float64 else (1.0 / 8.0, -3.2, 3.0)
    t, w = quad.exp_decay(step, u_min, u_max)
    return t, w * np.exp(-t)


def exact_radial_derivative(raw, radial_derivative):
    """``raw(r, *params)`` with its derivative in ``r`` replaced by the exact
    ``radial_derivative(r, *params)`` (e.g. dM/dr = 4 pi r^2 rho); derivatives in the
    parameters still differentiate the quadrature.

    Differentiating a quadrature in its limit (or in a radius scaled into its nodes) sums
    terms much larger than the result at small r, e.g. d/dr int_r^inf rho r dr = -r rho;
    the exact form avoids that cancellation.
    """
    import jax

    fn = jax.custom_jvp(raw)

    @fn.defjvp
    def _jvp(primals, tangents):
        r, *params = primals
        dr, *dparams = tangents
        value, dvalue = jax.jvp(lambda *p: raw(r, *p), tuple(params), tuple(dparams))
        return value, dvalue + radial_derivative(r, *params) * dr

    return fn
