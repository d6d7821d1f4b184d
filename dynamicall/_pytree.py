"""Immutable pytree dataclasses with declared units and allowed ranges.

Models (profiles, anisotropy laws) are frozen dataclasses registered as JAX pytrees:
numeric parameters are leaves, switches are static fields. A parameter declares its
physical kind (for astropy conversion) and its allowed range; both are applied when the
object is built by a user from concrete values, never when JAX rebuilds it from its
leaves (tracers, sentinels), so models can be built inside ``jit`` and passed through
``vmap`` and ``grad``.

We do not use ``flax.struct.dataclass`` because it re-runs ``__init__`` on unflattening,
which would run unit conversion and validation on JAX's placeholder leaves.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import numpy as np

from .units import to_internal


def parameter(
    *,
    kind: str = "dimensionless",
    lower: float | None = None,
    upper: float | None = None,
    lower_inclusive: bool = False,
    upper_inclusive: bool = False,
    default: Any = dataclasses.MISSING,
):
    """A numeric model parameter (a pytree leaf).

    Parameters
    ----------
    kind : str
        Physical kind for unit conversion (see :data:`dynamicall.units.INTERNAL_UNITS`).
    lower, upper : float, optional
        Allowed range; ``None`` means unbounded on that side.
    lower_inclusive, upper_inclusive : bool
        Whether the bound itself is allowed.
    default : optional
        Default value.
    """
    meta = dict(
        kind=kind,
        lower=lower,
        upper=upper,
        lower_inclusive=lower_inclusive,
        upper_inclusive=upper_inclusive,
        static=False,
    )
    return dataclasses.field(default=default, metadata=meta)


def child(default: Any = dataclasses.MISSING):
    """A field holding other pytrees (e.g. the components of a sum of profiles)."""
    return dataclasses.field(default=default, metadata=dict(static=False, kind=None))


def static(default: Any = dataclasses.MISSING):
    """A static (hashable, non-differentiable) field: switches, orders, families."""
    return dataclasses.field(default=default, metadata=dict(static=True))


def range_text(meta) -> str:
    """Human-readable allowed range, e.g. ``"(0, inf)"`` or ``"[0, 3)"``."""
    lo = "-inf" if meta["lower"] is None else f"{meta['lower']:g}"
    hi = "inf" if meta["upper"] is None else f"{meta['upper']:g}"
    left = "[" if meta["lower_inclusive"] and meta["lower"] is not None else "("
    right = "]" if meta["upper_inclusive"] and meta["upper"] is not None else ")"
    return f"{left}{lo}, {hi}{right}"


def is_concrete(value) -> bool:
    """True for numbers and arrays whose values are known (not JAX tracers)."""
    if isinstance(value, jax.core.Tracer):
        return False
    if isinstance(value, (bool, int, float, np.ndarray, np.number)):
        return True
    return isinstance(value, jax.Array)


def check_range(owner: str, name: str, value, meta) -> None:
    """Raise ``ValueError`` naming ``owner.name`` if a concrete value is NaN, infinite or
    out of its allowed range."""
    if not is_concrete(value):
        return
    arr = np.asarray(value, dtype=float)
    allowed = range_text(meta)
    lo, hi = meta["lower"], meta["upper"]
    bad = ~np.isfinite(arr)
    if lo is not None:
        bad |= arr < lo if meta["lower_inclusive"] else arr <= lo
    if hi is not None:
        bad |= arr > hi if meta["upper_inclusive"] else arr >= hi
    if np.any(bad):
        raise ValueError(f"{owner}.{name} must be finite and in {allowed}; got {value!r}")


def as_parameter_value(owner: str, name: str, value, kind: str):
    """A user's value of parameter ``owner.name`` as something JAX can hold: Quantities
    converted to the internal unit of ``kind``, lists and tuples of numbers made arrays.

    Raises
    ------
    ValueError
        For a string (``"1 kpc"``: pass ``1 * u.kpc`` or the number in internal units), a
        unit of the wrong kind, or anything that is not numeric.

    Example
    -------
    >>> as_parameter_value("Zhao", "r_s", [1.0, 2.0], "length").tolist()
    [1.0, 2.0]
    """
    from .units import INTERNAL_UNITS

    if isinstance(value, (str, bytes)):
        raise ValueError(
            f"{owner}.{name} must be a number, an array or an astropy Quantity; got the string "
            f"{value!r}: write it as a number in {INTERNAL_UNITS.get(kind) or 'internal units'} "
            f"or as a Quantity (e.g. 1.0 * astropy.units.kpc)"
        )
    try:
        converted = to_internal(value, kind)
    except ValueError as err:
        raise ValueError(f"{owner}.{name}: {err}") from None
    if isinstance(converted, (list, tuple)):
        if any(isinstance(v, jax.core.Tracer) for v in converted):
            return jax.numpy.asarray(converted)  # JAX tracers (inside jit): stack them
        try:
            converted = np.asarray(converted, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(
                f"{owner}.{name} must hold numbers; got {value!r}"
            ) from None
    elif isinstance(converted, np.ndarray) and not np.issubdtype(converted.dtype, np.number) \
            and converted.dtype != bool:
        raise ValueError(f"{owner}.{name} must hold numbers; got an array of {converted.dtype}")
    return converted


def check_batch_shapes(owner: str, values: dict) -> None:
    """Raise ``ValueError`` when the parameters' array shapes do not broadcast together
    (e.g. ``rho_s`` with 3 values and ``r_s`` with 2), naming each parameter's shape.

    Example
    -------
    >>> check_batch_shapes("Zhao", {"rho_s": np.ones(3), "r_s": np.ones(3), "gamma": 1.0})
    """
    shapes = {k: np.shape(v) for k, v in values.items()}
    try:
        np.broadcast_shapes(*shapes.values())
    except ValueError:
        listed = ", ".join(f"{k} {s}" for k, s in shapes.items() if s != ())
        raise ValueError(
            f"{owner}: parameter batch shapes do not match ({listed}); give every batched "
            f"parameter the same length (or a single number)"
        ) from None


def _post_init(self):
    owner = type(self).__name__
    leaves = {}
    for f in dataclasses.fields(self):
        if f.metadata.get("static", True):
            continue
        value = getattr(self, f.name)
        if f.metadata["kind"] is None:
            continue
        converted = as_parameter_value(owner, f.name, value, f.metadata["kind"])
        if converted is not value:
            object.__setattr__(self, f.name, converted)
        check_range(owner, f.name, converted, f.metadata)
        leaves[f.name] = converted
    if all(is_concrete(v) for v in leaves.values()):
        check_batch_shapes(owner, leaves)
    leaves = [getattr(self, n) for n in self._leaf_names]
    if all(is_concrete(v) for v in leaves):
        self._validate()


def _validate(self):
    """Hook for constraints between parameters; runs only on concrete values."""


def _tree_flatten_with_keys(self):
    children = [(jax.tree_util.GetAttrKey(n), getattr(self, n)) for n in self._leaf_names]
    aux = tuple(getattr(self, n) for n in self._static_names)
    return children, aux


def _make_unflatten(cls):
    def unflatten(aux, children):
        obj = object.__new__(cls)
        for name, value in zip(cls._leaf_names, children):
            object.__setattr__(obj, name, value)
        for name, value in zip(cls._static_names, aux):
            object.__setattr__(obj, name, value)
        return obj

    return unflatten


def pytree_dataclass(cls):
    """Class decorator: frozen dataclass + JAX pytree with validation on construction.

    Fields made with :func:`parameter` are leaves; fields made with :func:`static` (and
    any other field) are static. ``__post_init__`` converts Quantities, checks ranges and
    calls ``_validate`` (cross-parameter constraints) when values are concrete.
    """
    if "__post_init__" not in cls.__dict__:
        cls.__post_init__ = _post_init
    if not hasattr(cls, "_validate"):
        cls._validate = _validate
    cls = dataclasses.dataclass(frozen=True, eq=False)(cls)
    fields = dataclasses.fields(cls)
    cls._leaf_names = tuple(f.name for f in fields if not f.metadata.get("static", True))
    cls._static_names = tuple(f.name for f in fields if f.metadata.get("static", True))
    jax.tree_util.register_pytree_with_keys(
        cls, _tree_flatten_with_keys, _make_unflatten(cls), _tree_flatten_keyless
    )
    return cls


def _tree_flatten_keyless(self):
    return [getattr(self, n) for n in self._leaf_names], tuple(
        getattr(self, n) for n in self._static_names
    )


def tree_equal(a, b) -> bool:
    """Exact equality of two pytrees of concrete numbers (same structure, same values).

    Example
    -------
    >>> from dynamicall.profiles import Plummer
    >>> tree_equal(Plummer(m_tot=1.0, r_s=0.3), Plummer(m_tot=1.0, r_s=0.3))
    True
    """
    la, ta = jax.tree_util.tree_flatten(a)
    lb, tb = jax.tree_util.tree_flatten(b)
    if ta != tb:
        return False
    return all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(la, lb))
