"""Fixed-node quadrature rules, computed once in float64 NumPy and cast to the caller's dtype.

Double-exponential (DE) rules converge exponentially in the number of nodes for
integrands that are analytic inside the interval, including algebraic end-point
singularities (tanh-sinh) and semi-infinite ranges (Takahasi & Mori 1974; Mori 2005).
Every rule is static: its nodes depend only on its settings, so JIT-compiled code embeds
them as constants and differentiates through them exactly.
"""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np


@functools.lru_cache(maxsize=None)
def gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [0, 1] (float64).

    Example
    -------
    >>> x, w = gauss_legendre(8)
    >>> round(float((w * x**7).sum()), 14)
    0.125
    """
    t, w = np.polynomial.legendre.leggauss(n)
    return 0.5 * (t + 1.0), 0.5 * w


@functools.lru_cache(maxsize=None)
def tanh_sinh(step: float = 1.0 / 16.0, u_max: float = 3.2):
    """Tanh-sinh rule on (0, 1): nodes ``x``, their complements ``1 - x`` and weights.

    ``x = 1 / (1 + exp(-pi sinh u))`` for ``u`` in ``[-u_max, u_max]`` with spacing
    ``step``; the rule integrates integrands with integrable algebraic singularities at
    either end.

    Example
    -------
    >>> x, xc, w = tanh_sinh()
    >>> round(float((w * np.log(x)).sum()), 12)  # int_0^1 ln x dx = -1
    -1.0
    """
    u = np.arange(-u_max, u_max + 0.5 * step, step)
    z = np.pi * np.sinh(u)
    x = 1.0 / (1.0 + np.exp(-z))
    xc = 1.0 / (1.0 + np.exp(z))
    w = step * np.pi * np.cosh(u) * x * xc
    keep = (x > 0) & (xc > 0) & (w > 1e-300)
    return x[keep], xc[keep], w[keep]


@functools.lru_cache(maxsize=None)
def exp_decay(step: float = 1.0 / 12.0, u_min: float = -4.5, u_max: float = 5.6):
    """DE rule on (0, inf) for integrands that decay exponentially at infinity.

    ``x = exp(u - exp(-u))`` (Ooura & Mori), ``u`` in ``[u_min, u_max]``. The defaults
    reach ``x`` of about 270 at the top, so integrands decaying like ``exp(-c x)`` are
    truncated at ``exp(-270 c)``.

    Example
    -------
    >>> x, w = exp_decay()
    >>> round(float((w * np.exp(-x)).sum()), 13)
    1.0
    """
    u = np.arange(u_min, u_max + 0.5 * step, step)
    e = np.exp(-u)
    x = np.exp(u - e)
    w = step * x * (1.0 + e)
    return x, w


def cast(array: np.ndarray, dtype) -> jnp.ndarray:
    """A NumPy constant as a JAX array of ``dtype`` (float32 or float64)."""
    return jnp.asarray(array, dtype=dtype)


def float_dtype(*values):
    """The floating dtype JAX computes ``values`` in: float64 when x64 is enabled and no
    value is an explicit float32 array, else float32."""
    return jnp.result_type(float, *values)
