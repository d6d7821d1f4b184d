"""Sampling designs over a recipe's input box: scrambled Sobol', Latin hypercube, i.i.d.

Every design is a pure function of ``(recipe, n, seed, kind)``. Points come from the
unit cube, are mapped to the inputs by each input's prior (uniform or log-uniform over
its range) and are kept only if they satisfy the recipe's constraints (rejection).

* ``"sobol"``: a scrambled Sobol' sequence (Owen scrambling seeded by ``seed``), drawn in
  power-of-two blocks; the accepted points in sequence order. ``design_points(n)`` is the prefix
  of ``design_points(n')`` for n < n'.
* ``"random"``: i.i.d. uniform points from ``numpy.random.default_rng(seed)``; also
  prefix-stable. The natural design for held-out validation and test sets.
* ``"lhs"``: a Latin hypercube of M >= n points (M = n without constraints; otherwise the
  smallest M of a fixed deterministic sequence that leaves n accepted points); the first
  n accepted. Not prefix-stable: a different n gives a different hypercube.

Rows whose Jeans computation fails are replaced by :func:`replacement` points, drawn
from a stream keyed by (seed, row, attempt) so that the replacement of a row never
depends on how the work was chunked, distributed or interrupted.

Example
-------
>>> from dynamicall.train.recipe import load_recipe, shipped_recipe_path
>>> recipe = load_recipe(shipped_recipe_path("zhao_bvh_plummer"))
>>> x = design_points(recipe, 8, seed=1)
>>> x.shape, bool((x == design_points(recipe, 8, seed=1)).all())
((8, 8), True)
"""

from __future__ import annotations

import math

import numpy as np

from .recipe import DESIGNS, Recipe

#: Tag separating the replacement streams from the design streams of the same seed.
_REPLACEMENT_TAG = 0x5EED5EED
#: Rows per block of the i.i.d. stream (any value gives the same stream).
_RANDOM_BLOCK = 4096
#: First block of the Sobol' sequence (a power of two).
_SOBOL_FIRST = 1024


def unit_to_inputs(recipe: Recipe, u) -> np.ndarray:
    """Map points of the unit cube (N, P) to input vectors by each input's prior.

    Uniform: ``low + (high - low) u``; log-uniform: ``low (high / low)**u``.

    Example
    -------
    >>> from dynamicall.train.recipe import load_recipe, shipped_recipe_path
    >>> recipe = load_recipe(shipped_recipe_path("zhao_bvh_plummer"))
    >>> float(unit_to_inputs(recipe, np.full((1, 8), 0.5))[0, 1])  # alpha in [0.5, 3]
    1.75
    """
    u = np.atleast_2d(np.asarray(u, dtype=float))
    out = np.empty_like(u)
    for j, spec in enumerate(recipe.inputs):
        if spec.prior == "log-uniform":
            lo, hi = math.log(spec.low), math.log(spec.high)
            out[:, j] = np.exp(lo + (hi - lo) * u[:, j])
        else:
            out[:, j] = spec.low + (spec.high - spec.low) * u[:, j]
    return out


def _qmc_engine(cls, d, seed, **kwargs):
    try:
        return cls(d, rng=np.random.default_rng(seed), **kwargs)
    except TypeError:  # scipy < 1.15 names it seed
        return cls(d, seed=np.random.default_rng(seed), **kwargs)


def _filtered_stream(recipe: Recipe, n: int, blocks) -> np.ndarray:
    """The first ``n`` accepted points of a stream of unit-cube blocks."""
    kept, count = [], 0
    for u in blocks:
        x = unit_to_inputs(recipe, u)
        x = x[recipe.satisfies_constraints(x)]
        kept.append(x)
        count += x.shape[0]
        if count >= n:
            return np.concatenate(kept)[:n]
    raise ValueError("the design stream ran out before n points passed the constraints")


def _sobol_blocks(d, seed):
    from scipy.stats import qmc

    engine = _qmc_engine(qmc.Sobol, d, seed, scramble=True)
    size = _SOBOL_FIRST
    yield engine.random(size)
    while size < 2**30:  # keep the total a power of two: balanced Sobol' prefixes
        yield engine.random(size)
        size *= 2


def _random_blocks(d, seed):
    rng = np.random.default_rng(seed)
    while True:
        yield rng.random((_RANDOM_BLOCK, d))


def _lhs(recipe: Recipe, n: int, seed: int) -> np.ndarray:
    from scipy.stats import qmc

    size = n
    for _ in range(64):
        x = unit_to_inputs(recipe, _qmc_engine(qmc.LatinHypercube, recipe.n_inputs, seed).random(size))
        x = x[recipe.satisfies_constraints(x)]
        if x.shape[0] >= n:
            return x[:n]
        # grow deterministically from the observed acceptance
        size = int(math.ceil(size * 1.1 * n / max(x.shape[0], 1))) + 8
    raise ValueError("the constraints accept too few Latin-hypercube points")


def _check_accepts(recipe: Recipe, seed: int):
    """Fail clearly when the constraints accept (almost) nothing of the box."""
    probe = unit_to_inputs(recipe, np.random.default_rng(seed).random((65536, recipe.n_inputs)))
    if not recipe.satisfies_constraints(probe).any():
        raise ValueError(f"recipe {recipe.name!r}: the constraints reject every one of 65536 "
                         "random points of the input box; check their signs and bounds")


def design_points(recipe: Recipe, n: int, seed: int, kind: str = "sobol") -> np.ndarray:
    """``n`` input vectors of a design over the recipe's box, constraints applied.

    Parameters
    ----------
    recipe : Recipe
    n : int
        Number of accepted points.
    seed : int
        Seed of the design (non-negative).
    kind : {"sobol", "lhs", "random"}
        Scrambled Sobol' sequence, Latin hypercube or i.i.d. uniform.

    Returns
    -------
    numpy.ndarray, shape (n, recipe.n_inputs), float64
        Columns in the order of ``recipe.input_names``.

    Example
    -------
    >>> from dynamicall.train.recipe import load_recipe, shipped_recipe_path
    >>> recipe = load_recipe(shipped_recipe_path("zhao_bvh_plummer"))
    >>> a = design_points(recipe, 100, seed=3, kind="sobol")
    >>> bool((design_points(recipe, 10, seed=3) == a[:10]).all())   # prefix-stable
    True
    """
    if kind not in DESIGNS:
        raise ValueError(f"kind must be one of {DESIGNS}; got {kind!r}")
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer; got {n!r}")
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    n, seed = int(n), int(seed)
    if recipe.constraints:
        _check_accepts(recipe, seed)
    if kind == "lhs":
        return _lhs(recipe, n, seed)
    blocks = _sobol_blocks(recipe.n_inputs, seed) if kind == "sobol" else _random_blocks(recipe.n_inputs, seed)
    return _filtered_stream(recipe, n, blocks)


def replacement(recipe: Recipe, seed: int, row: int, attempt: int) -> np.ndarray:
    """A replacement input vector for ``row`` of a set made with ``seed``.

    Drawn uniformly (by the priors) over the box from a stream keyed by
    ``(seed, row, attempt)``, constraints applied: independent of chunking, devices,
    processes and interruptions.

    Example
    -------
    >>> from dynamicall.train.recipe import load_recipe, shipped_recipe_path
    >>> recipe = load_recipe(shipped_recipe_path("zhao_bvh_plummer"))
    >>> bool((replacement(recipe, 1, 5, 1) == replacement(recipe, 1, 5, 1)).all())
    True
    """
    rng = np.random.default_rng([_REPLACEMENT_TAG, int(seed), int(row), int(attempt)])
    for _ in range(4096):
        x = unit_to_inputs(recipe, rng.random((64, recipe.n_inputs)))
        ok = recipe.satisfies_constraints(x)
        if ok.any():
            return x[np.argmax(ok)]
    raise ValueError("the constraints reject every replacement point")
