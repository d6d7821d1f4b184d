r"""Declarative recipes of an emulator's problem, and the dimensionless Jeans model they define.

A recipe (a TOML file under ``training/``) names the tracer, halo and anisotropy
families, maps the emulator's dimensionless inputs onto their parameters, gives each
input a range and a prior, declares linear constraints between inputs, and fixes the
output grid, the output quantities and the engine settings. See ``docs/training_sets.md``
for the format. This module holds the parsed :class:`Recipe` and the physics it defines;
reading and validating the file is :mod:`dynamicall.train.recipe_file`, whose
:func:`~dynamicall.train.recipe_file.load_recipe`, ``parse_recipe`` and
``shipped_recipe_path`` are importable from here too.

Dimensionless formulation
-------------------------
Lengths are in units of the tracer's projected half-light radius ``R_half``, densities in
units of the halo scale density ``rho_s`` and velocities in units of
:math:`\sqrt{G \rho_s R_{half}^2}` (masses therefore in :math:`\rho_s R_{half}^3`). The
engine computes in its own units (kpc, Msun, km/s) with ``R_half = 1 kpc`` and
``rho_s = 1 Msun/kpc^3``; dividing its km/s by :math:`\sqrt{G}` gives the dimensionless
dispersion :math:`\tilde\sigma`. Because :math:`\sigma^2` is linear in the mass
normalisation and the Jeans equations are scale free,

.. math:: \sigma(R) = \tilde\sigma(R / R_{half}) \sqrt{G \rho_s R_{half}^2},

exactly (tested to rounding in ``tests/test_recipe.py``). Output quantities are natural
logarithms: ``log_sigma_los`` = ln of the dimensionless line-of-sight dispersion;
``log_sigma_pmr`` and ``log_sigma_pmt`` the plane-of-sky dispersions along and across the
projected radius.

Example
-------
>>> from dynamicall.train.recipe import load_recipe, shipped_recipe_path
>>> recipe = load_recipe(shipped_recipe_path("zhao_bvh_plummer"))
>>> recipe.input_names[:4]
('log10_rs', 'alpha', 'beta', 'gamma')
>>> recipe.grid.shape, recipe.quantities
((32,), ('log_sigma_los',))
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math

import jax
import jax.numpy as jnp
import numpy as np

from ..anisotropy import ANISOTROPIES
from ..jeans import JeansConfig, projected_dispersions
from ..profiles import PROFILES
from ..quantities import CARD_NAMES, velocity_unit  # noqa: F401 (velocity_unit: re-exported)
from ..units import G
from .tracer_families import TRACER_FAMILIES

#: Version of the recipe format this module reads (the ``format`` key of a recipe).
RECIPE_FORMAT = 1

#: Priors of an input over its range.
PRIORS = ("uniform", "log-uniform")

#: Sampling designs (see :mod:`dynamicall.train.design`).
DESIGNS = ("sobol", "lhs", "random")

#: Storage dtypes of the ``outputs`` dataset.
OUTPUT_DTYPES = ("float64", "float32")


@dataclasses.dataclass(frozen=True)
class InputSpec:
    """One dimensionless input: its name, sampling range [low, high] and prior."""

    name: str
    low: float
    high: float
    prior: str = "uniform"
    #: Range the train split samples (the advertised range widened by the guard band);
    #: None: the advertised range.
    train_low: float | None = None
    train_high: float | None = None

    def train_range(self) -> tuple:
        """(low, high) sampled by the train split (guard band included)."""
        return (self.low if self.train_low is None else self.train_low,
                self.high if self.train_high is None else self.train_high)


@dataclasses.dataclass(frozen=True)
class Constraint:
    """A linear constraint ``min <= sum(coefficients[name] * input[name]) <= max``."""

    description: str
    coefficients: tuple  # ((input name, coefficient), ...)
    min: float | None = None
    max: float | None = None


@dataclasses.dataclass(frozen=True)
class RecipeModel:
    """One model of a recipe (tracer, halo, stars or anisotropy): its family and how each
    parameter is set from the inputs: ``("fixed", value)``, ``("input", index)`` or
    ``("pow10", index)`` for each parameter name."""

    family: str
    params: tuple  # ((parameter name, (kind, payload)), ...)


@dataclasses.dataclass(frozen=True)
class SplitSpec:
    """Sampling settings of one split (``train``, ``validation``, ``test``, ...)."""

    name: str
    seed: int
    n: int
    design: str


@dataclasses.dataclass(frozen=True, eq=False)
class Recipe:
    """A parsed recipe. Build with :func:`load_recipe` or :func:`parse_recipe`.

    Attributes
    ----------
    name, description : str
    text : str
        The TOML text the recipe was parsed from.
    inputs : tuple of InputSpec
        The inputs in order (the columns of the ``inputs`` dataset).
    constraints : tuple of Constraint
    tracer, halo, anisotropy : RecipeModel
    stars : RecipeModel or None
        Stellar mass added to the halo (the tracer's family, same shape).
    grid : numpy.ndarray
        Output radii R / R_half (log-spaced).
    quantities : tuple of str
        Output quantities, in storage order (quantity-major columns).
    output_dtype : str
        "float64" or "float32": storage dtype of ``outputs`` (computation is float64).
    config : JeansConfig
        Engine settings (``JeansConfig.fast()`` unless overridden).
    splits : dict of str -> SplitSpec
        Sampling settings; ``"train"`` always exists; held-out splits have other seeds.
    chunk : int
        Default number of profiles per chunk written by ``dynamicall generate``.
    """

    name: str
    description: str
    text: str
    inputs: tuple
    constraints: tuple
    tracer: RecipeModel
    halo: RecipeModel
    anisotropy: RecipeModel
    stars: RecipeModel | None
    grid: np.ndarray
    quantities: tuple
    output_dtype: str
    config: JeansConfig
    splits: dict
    chunk: int
    jacobian: bool = False
    #: CNN recipes (``[encoder]``): the tracer's profile grid {"R_min", "R_max", "n",
    #: "floor"}; its parameters may then be inputs that the network sees only through
    #: that profile. None for MLP recipes.
    encoder: dict | None = None

    # ----------------------------------------------------------------- properties
    @property
    def input_names(self) -> tuple:
        """Names of the inputs, in column order."""
        return tuple(spec.name for spec in self.inputs)

    @property
    def tracer_input_names(self) -> tuple:
        """Inputs that set the tracer's parameters (CNN recipes; empty otherwise)."""
        used = {payload for _, (kind, payload) in self.tracer.params if kind != "fixed"}
        return tuple(spec.name for i, spec in enumerate(self.inputs) if i in used)

    @property
    def network_input_names(self) -> tuple:
        """The scalar inputs of the network: every input but the tracer's (a CNN sees the
        tracer through its profile on :attr:`profile_grid` instead)."""
        return tuple(n for n in self.input_names if n not in self.tracer_input_names)

    @property
    def network_columns(self) -> np.ndarray:
        """Column indices of :attr:`network_input_names` among the inputs."""
        return np.array([self.input_names.index(n) for n in self.network_input_names], dtype=int)

    @property
    def profile_grid(self) -> np.ndarray | None:
        """Projected radii R / R_half on which a CNN recipe's encoder reads the tracer."""
        if self.encoder is None:
            return None
        return np.geomspace(self.encoder["R_min"], self.encoder["R_max"], self.encoder["n"])

    def network_inputs(self, inputs, chunk: int = 4096) -> np.ndarray:
        """The network's inputs for recipe input vectors ``inputs`` (N, n_inputs): for a
        CNN recipe the :attr:`network_input_names` columns followed by the tracer's
        ln(Sigma / Sigma(R_half)) on :attr:`profile_grid` (what
        :meth:`dynamicall.emulate.Emulator.encode_tracer` computes from a physical tracer);
        for an MLP recipe the inputs themselves.

        Example
        -------
        >>> from dynamicall.train.recipe import load_recipe, shipped_recipe_path
        >>> recipe = load_recipe(shipped_recipe_path("cnn_sersic_king"))
        >>> recipe.network_inputs(np.zeros((2, recipe.n_inputs))).shape
        (2, 72)
        """
        inputs = np.atleast_2d(np.asarray(inputs, dtype=float))
        if self.encoder is None:
            return inputs
        from ..emulate.mapping import tracer_half_light_radius, tracer_profile

        problem = dict(tracer="any", grid=self.grid.tolist(), profile_grid=self.profile_grid.tolist(),
                       profile_floor=self.encoder["floor"])

        def one(x):
            tracer = self._build(x, fixed=lambda value, x: value)[0]
            return tracer_profile(problem, tracer, tracer_half_light_radius(problem, tracer))

        f = jax.jit(jax.vmap(one))
        parts = []
        for i in range(0, len(inputs), chunk):
            block = inputs[i : i + chunk]
            padded = np.concatenate([block, np.repeat(block[-1:], chunk - len(block), axis=0)]) if len(inputs) > chunk else block
            parts.append(np.asarray(f(jnp.asarray(padded)))[: len(block)])
        return np.concatenate([inputs[:, self.network_columns], np.concatenate(parts)], axis=1)

    @property
    def bounds(self) -> dict:
        """``{name: (low, high)}`` for every input."""
        return {spec.name: (spec.low, spec.high) for spec in self.inputs}

    @property
    def n_inputs(self) -> int:
        return len(self.inputs)

    @property
    def n_outputs(self) -> int:
        """Columns of the ``outputs`` dataset: quantities x grid points."""
        return len(self.quantities) * self.grid.size

    def split(self, name: str = "train") -> SplitSpec:
        """The sampling settings of split ``name``."""
        if name not in self.splits:
            raise ValueError(f"recipe {self.name!r} has no split {name!r}; splits: {sorted(self.splits)}")
        return self.splits[name]

    @property
    def train_bounds(self) -> dict:
        """``{name: (low, high)}`` of the box the train split samples: the advertised
        :attr:`bounds` widened by the guard band (``[sampling] guard_band`` or an input's
        ``train_range``)."""
        return {spec.name: spec.train_range() for spec in self.inputs}

    @property
    def has_guard_band(self) -> bool:
        return self.train_bounds != self.bounds

    def sampling_recipe(self, split: str = "train") -> "Recipe":
        """The recipe whose input box a split samples: for the train split the box with
        its guard band (so that the network is accurate up to the advertised edges), for
        held-out splits the advertised box itself.

        Example
        -------
        >>> from dynamicall.train.recipe import load_recipe, shipped_recipe_path
        >>> recipe = load_recipe(shipped_recipe_path("zhao_bvh_plummer"))
        >>> recipe.sampling_recipe("test").bounds == recipe.bounds
        True
        """
        if split != "train" or not self.has_guard_band:
            return self
        wide = tuple(dataclasses.replace(s, low=s.train_range()[0], high=s.train_range()[1],
                                         train_low=None, train_high=None) for s in self.inputs)
        return dataclasses.replace(self, inputs=wide)

    # ----------------------------------------------------------------- models
    def build_models(self, x):
        """The (tracer, mass, anisotropy) models of one input vector, in engine units.

        Lengths in kpc stand for units of R_half and densities in Msun/kpc^3 for units of
        rho_s. ``x`` may be traced (inside ``jit``/``vmap``).

        Parameters
        ----------
        x : array, shape (n_inputs,)
            One input vector, in the order of :attr:`input_names`.

        Returns
        -------
        tuple
            ``(tracer, mass, anisotropy)``; ``mass`` is the halo, plus the stars if the
            recipe has stellar mass.

        Example
        -------
        >>> from dynamicall.train.recipe import load_recipe, shipped_recipe_path
        >>> recipe = load_recipe(shipped_recipe_path("zhao_bvh_plummer"))
        >>> tracer, mass, aniso = recipe.build_models([0.0, 1, 3, 1, 0, 0.5, 0, 2])
        >>> type(mass).__name__, float(mass.r_s), float(aniso.beta_inf)
        ('Zhao', 1.0, 0.5)
        """
        return self._build(jnp.asarray(x), fixed=lambda value, x: value)

    def _build(self, x, fixed):
        def make(spec: RecipeModel, registry):
            kwargs = {}
            for pname, (kind, payload) in spec.params:
                if kind == "fixed":
                    kwargs[pname] = fixed(payload, x)
                elif kind == "input":
                    kwargs[pname] = x[payload]
                else:
                    kwargs[pname] = 10.0 ** x[payload]
            return registry[spec.family](**kwargs)

        tracer = make(self.tracer, {**PROFILES, **TRACER_FAMILIES})
        mass = make(self.halo, PROFILES)
        if self.stars is not None:
            mass = mass + make(self.stars, PROFILES)
        return tracer, mass, make(self.anisotropy, ANISOTROPIES)

    def satisfies_constraints(self, inputs) -> np.ndarray:
        """Boolean mask of the rows of ``inputs`` (N, P) that satisfy every constraint.

        Example
        -------
        >>> from dynamicall.train.recipe import load_recipe, shipped_recipe_path
        >>> recipe = load_recipe(shipped_recipe_path("zhao_bvh_plummer"))
        >>> recipe.satisfies_constraints(np.zeros((2, 8))).tolist()  # no constraints
        [True, True]
        """
        inputs = np.atleast_2d(np.asarray(inputs, dtype=float))
        ok = np.ones(inputs.shape[0], dtype=bool)
        index = {name: i for i, name in enumerate(self.input_names)}
        for c in self.constraints:
            value = sum(coef * inputs[:, index[name]] for name, coef in c.coefficients)
            if c.min is not None:
                ok &= value >= c.min
            if c.max is not None:
                ok &= value <= c.max
        return ok

    # ----------------------------------------------------------------- identity
    def fingerprint(self) -> str:
        """Canonical JSON of everything that defines the data (not comments, not seeds).

        Two recipes with equal fingerprints give identical datasets for equal sampling
        settings; ``dynamicall generate`` refuses to resume a partial run whose
        fingerprint differs.
        """
        data = dict(
            format=RECIPE_FORMAT,
            # the guard band changes which points are sampled, not the function: not here
            inputs=[dict(name=s.name, low=s.low, high=s.high, prior=s.prior) for s in self.inputs],
            constraints=[dataclasses.asdict(c) for c in self.constraints],
            tracer=dataclasses.asdict(self.tracer),
            halo=dataclasses.asdict(self.halo),
            stars=None if self.stars is None else dataclasses.asdict(self.stars),
            anisotropy=dataclasses.asdict(self.anisotropy),
            grid=[float(v).hex() for v in self.grid],
            quantities=list(self.quantities),
            output_dtype=self.output_dtype,
            config=dataclasses.asdict(self.config),
        )
        if self.encoder is not None:  # only then: older recipes keep their fingerprints
            data["encoder"] = {k: float(v).hex() if isinstance(v, float) else v for k, v in self.encoder.items()}
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    def fingerprint_sha256(self) -> str:
        """sha256 (hex) of :meth:`fingerprint`."""
        return hashlib.sha256(self.fingerprint().encode()).hexdigest()

    def engine_version(self) -> str:
        """``dynamicall <version>; <JeansConfig>; float64``: what computed the outputs."""
        from .. import __version__

        return f"dynamicall {__version__}; {self.config!r}; float64"


# --------------------------------------------------------------------- the model
def _dimensionless_one(recipe: Recipe, x):
    # Fixed parameters pass through an optimisation barrier: XLA then computes the
    # tracer at run time in every batch layout instead of constant-folding it (slow to
    # compile for large vmaps, and the folded and run-time results need not be bitwise
    # equal, which would make the output depend on the batch layout).
    def fixed(value, x):
        return jax.lax.optimization_barrier(jnp.asarray(value, x.dtype))

    tracer, mass, anisotropy = recipe._build(x, fixed)
    out = projected_dispersions(recipe.grid, tracer, mass, anisotropy, config=recipe.config)
    scale = math.sqrt(G)  # velocity_unit(rho_s=1, R_half=1) as a Python float, the engine's units
    return jnp.concatenate([jnp.log(out[CARD_NAMES[q]] / scale) for q in recipe.quantities])


def dimensionless_dispersions(recipe: Recipe, inputs, batch_size: int | None = None):
    """ln of the dimensionless dispersions on the recipe's grid for input vectors.

    Pure JAX: may be used inside ``jit``, ``vmap`` and ``grad``.

    Parameters
    ----------
    recipe : Recipe
    inputs : array, shape (n_inputs,) or (N, n_inputs)
        Input vectors in the order of ``recipe.input_names``.
    batch_size : int, optional
        For 2-D inputs, evaluate with ``jax.lax.map(..., batch_size=batch_size)`` (less
        memory, faster on CPU) instead of one ``vmap`` over all rows.

    Returns
    -------
    array, shape (n_outputs,) or (N, n_outputs)
        ``ln(sigma / sqrt(G rho_s R_half^2))`` for each quantity of ``recipe.quantities``
        in turn (quantity-major) at each point of ``recipe.grid``.

    Example
    -------
    >>> from dynamicall.train.recipe import load_recipe, shipped_recipe_path
    >>> recipe = load_recipe(shipped_recipe_path("zhao_bvh_plummer"))
    >>> out = dimensionless_dispersions(recipe, [0.0, 1.0, 3.0, 1.0, 0.0, 0.0, 0.0, 2.0])
    >>> out.shape
    (32,)
    """
    inputs = jnp.asarray(inputs)
    if inputs.shape[-1] != recipe.n_inputs or inputs.ndim not in (1, 2):
        raise ValueError(
            f"inputs must have shape ({recipe.n_inputs},) or (N, {recipe.n_inputs}) "
            f"(columns {recipe.input_names}); got {inputs.shape}"
        )
    if not jnp.issubdtype(inputs.dtype, jnp.floating):
        inputs = inputs.astype(float)
    if inputs.ndim == 1:
        return _dimensionless_one(recipe, inputs)
    if batch_size is None:
        return jax.vmap(lambda x: _dimensionless_one(recipe, x))(inputs)
    return jax.lax.map(lambda x: _dimensionless_one(recipe, x), inputs, batch_size=batch_size)


# --------------------------------------------------------------------- the file
#: Names served by :mod:`dynamicall.train.recipe_file` (the TOML reader and validator),
#: re-exported here so that ``from dynamicall.train.recipe import load_recipe`` works.
_FROM_RECIPE_FILE = ("load_recipe", "parse_recipe", "shipped_recipe_path")


def __getattr__(name):
    # Lazy (PEP 562): recipe_file imports this module's classes, so importing it here at
    # module level would be circular.
    if name in _FROM_RECIPE_FILE:
        from . import recipe_file

        return getattr(recipe_file, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
