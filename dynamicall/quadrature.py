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


@functools.lru_cache(maxsize=None)
def lagrange_integration_weights(order: int) -> np.ndarray:
    """Weights for integrating over one grid interval from ``order`` surrounding values.

    For a uniform grid with unit spacing, returns ``W`` of shape (order - 1, order):
    row ``j`` (the interval ``[j, j + 1]`` between stencil points ``0 .. order-1``)
    gives weights ``w`` such that
    ``int_j^{j+1} p(s) ds = sum_k w[k] p(k)`` exactly for polynomials of degree
    ``order - 1``.
    """
    nodes = np.arange(order, dtype=float)
    x, w = gauss_legendre(order + 2)
    out = np.zeros((order - 1, order))
    for j in range(order - 1):
        s = j + x
        basis = lagrange_basis(nodes, s)
        out[j] = basis @ w
    return out


def lagrange_basis(nodes: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Lagrange basis polynomials of ``nodes`` evaluated at points ``s``: shape (n, len(s))."""
    nodes = np.asarray(nodes, dtype=float)
    s = np.atleast_1d(np.asarray(s, dtype=float))
    out = np.ones((nodes.size, s.size))
    for k, nk in enumerate(nodes):
        for m, nm in enumerate(nodes):
            if m != k:
                out[k] *= (s - nm) / (nk - nm)
    return out
