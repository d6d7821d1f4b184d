"""Numerically stable special functions shared by closed-form profiles.

Each function is safe under ``jnp.where`` branching: the branch not taken is fed a
harmless argument, so neither values nor gradients pick up NaN from it.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

_SERIES_Q = 0.1  # |1 - s^2| below which the projection functions use their series
_N_SERIES = 24  # 0.1**24 is far below float64 round-off


def _series(q, coeffs):
    """Horner evaluation of sum_k coeffs[k] q^k."""
    out = jnp.zeros_like(q) + float(coeffs[-1])
    for c in coeffs[-2::-1]:
        out = out * q + float(c)
    return out


_K = np.arange(_N_SERIES + 2, dtype=float)
_C_X = 1.0 / (2 * _K + 1)  # X(s) = sum_k q^k / (2k+1)
_C_XM1 = _C_X[1:]  # (X - 1) / q
_C_HERN = 4 * (_K[2:] - 1) / (4 * _K[2:] ** 2 - 1)  # ((2 + s^2) X - 3) / q^2


def projection_x(s):
    """The function X(s) of Hernquist (1990) and of the NFW surface density.

    ``X(s) = arccosh(1/s) / sqrt(1 - s^2)`` for ``s < 1``, ``arccos(1/s) / sqrt(s^2 - 1)``
    for ``s > 1``, and 1 at ``s = 1``. Returns ``(X, (X - 1)/q, ((2 + s^2) X - 3)/q^2)``
    with ``q = 1 - s^2``, each evaluated without cancellation near ``s = 1``.
    """
    s = jnp.asarray(s)
    q = (1.0 - s) * (1.0 + s)
    near = jnp.abs(q) < _SERIES_Q
    inner = (~near) & (s < 1.0)
    outer = (~near) & (s > 1.0)
    s_in = jnp.where(inner, s, 0.5)
    s_out = jnp.where(outer, s, 2.0)
    x_in = jnp.arccosh(1.0 / s_in) / jnp.sqrt((1.0 - s_in) * (1.0 + s_in))
    x_out = jnp.arccos(1.0 / s_out) / jnp.sqrt((s_out - 1.0) * (s_out + 1.0))
    x_far = jnp.where(inner, x_in, x_out)
    q_far = jnp.where(near, 0.5, q)
    q_near = jnp.where(near, q, 0.0)
    x = jnp.where(near, _series(q_near, _C_X), x_far)
    xm1 = jnp.where(near, _series(q_near, _C_XM1), (x_far - 1.0) / q_far)
    s2 = jnp.where(near, 1.0, s * s)
    hern = jnp.where(near, _series(q_near, _C_HERN), ((2.0 + s2) * x_far - 3.0) / (q_far * q_far))
    return x, xm1, hern


def log1p_minus_frac(x):
    """``log(1 + x) - x / (1 + x)`` for x >= 0, without cancellation at small x.

    This is the NFW mass function m(x). For ``x < 0.02`` a series is used:
    ``sum_{k>=2} (-1)^k (k - 1) x^k / k``.
    """
    x = jnp.asarray(x)
    small = x < 0.02
    xs = jnp.where(small, x, 0.0)
    coeffs = [0.0, 0.0] + [(-1) ** k * (k - 1) / k for k in range(2, 14)]
    series = _series(xs, coeffs)
    xl = jnp.where(small, 1.0, x)
    return jnp.where(small, series, jnp.log1p(xl) - xl / (1.0 + xl))


def expm1_ratio(z, c):
    """``expm1(c z) / c``, continuous (= z) at ``c = 0``, with smooth gradients in c.

    JAX differentiates ``expm1`` as ``expm1(x) + 1``, which loses all digits of the
    derivative for x << -1; there ``exp(x) - 1`` is used instead (no cancellation in its
    value, exact derivative).
    """
    cz = c * z
    small = jnp.abs(cz) < 1e-4
    very_negative = cz < -0.5
    cs = jnp.where(small, 1.0, c)
    czs = cs * z
    series = z * (1.0 + cz / 2.0 + cz * cz / 6.0 + cz**3 / 24.0)
    direct = jnp.where(very_negative, jnp.exp(jnp.minimum(czs, 0.0)) - 1.0, jnp.expm1(czs)) / cs
    return jnp.where(small, series, direct)


def log_tanh(x):
    """``log(tanh(x))`` for x > 0, accurate at both small and large x."""
    e = jnp.exp(-2.0 * x)
    return jnp.log(-jnp.expm1(-2.0 * x)) - jnp.log1p(e)


def sech2(x):
    """``1 / cosh(x)^2`` without overflow for large x."""
    e = jnp.exp(-2.0 * jnp.abs(x))
    return 4.0 * e / (1.0 + e) ** 2
