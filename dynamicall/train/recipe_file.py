"""The recipe file: reading, validating and locating recipe TOML files.

:func:`load_recipe` and :func:`parse_recipe` turn a recipe's TOML text into a
:class:`~dynamicall.train.recipe.Recipe`, checking every key and naming the key and its
allowed values when one is wrong; :func:`shipped_recipe_path` finds the recipes shipped
with dynamicall. The format is described in ``docs/training_sets.md``; the physics the
recipe defines lives in :mod:`dynamicall.train.recipe`, which re-exports these three
functions.

Example
-------
>>> recipe = load_recipe(shipped_recipe_path("zhao_bvh_plummer"))
>>> recipe.name, recipe.n_inputs
('zhao_bvh_plummer', 8)
"""

from __future__ import annotations

import dataclasses
import math
import pathlib
import re

import numpy as np

from .._resources import shipped_folder
from ..anisotropy import ANISOTROPIES
from ..jeans import JeansConfig
from ..profiles import PROFILES
from .tracer_families import TRACER_FAMILIES
from ..quantities import CARD_NAMES
from .recipe import (
    DESIGNS,
    OUTPUT_DTYPES,
    PRIORS,
    RECIPE_FORMAT,
    Constraint,
    InputSpec,
    Recipe,
    RecipeModel,
    SplitSpec,
)

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10 needs the tomli backport
    import tomli as tomllib

#: Inputs enter model parameters as a fixed number, ``"name"`` or ``"10**name"``.
_POW10 = re.compile(r"^\s*10\s*\*\*\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")
_NAME = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")


def _x64() -> bool:
    import jax

    return bool(jax.config.jax_enable_x64)


def shipped_recipe_path(name: str) -> pathlib.Path:
    """Path of a shipped recipe (``training/`` in a checkout, package data when installed).

    Example
    -------
    >>> shipped_recipe_path("zhao_bvh_plummer").name
    'zhao_bvh_plummer.toml'
    """
    path = shipped_folder("training") / f"{name}.toml"
    if not path.is_file():
        raise ValueError(f"no shipped recipe {name!r} (looked for {path})")
    return path


def load_recipe(path) -> Recipe:
    """Read and validate a recipe TOML file.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    Recipe

    Raises
    ------
    ValueError
        Naming the key and the allowed values when the recipe is malformed, or when an
        input range gives a model parameter outside its allowed range.

    Example
    -------
    >>> load_recipe(shipped_recipe_path("zhao_bvh_plummer")).bounds["gamma"]
    (0.0, 1.5)
    """
    path = pathlib.Path(path)
    return parse_recipe(path.read_text(), source=str(path))


def parse_recipe(text: str, source: str = "<recipe>") -> Recipe:
    """Parse and validate recipe TOML ``text`` (see :func:`load_recipe`)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{source}: not valid TOML: {err}") from None
    return _Parser(doc, text, source).recipe()


class _Parser:
    def __init__(self, doc, text, source):
        self.doc, self.text, self.source = doc, text, source

    def fail(self, message):
        raise ValueError(f"{self.source}: {message}")

    def table(self, key, required=True):
        value = self.doc.get(key)
        if value is None:
            if required:
                self.fail(f"missing table [{key}]")
            return None
        if not isinstance(value, dict):
            self.fail(f"[{key}] must be a table")
        return value

    @staticmethod
    def known(table, allowed, where, fail):
        extra = sorted(set(table) - set(allowed))
        if extra:
            fail(f"unknown key(s) {extra} in {where}; allowed: {sorted(allowed)}")

    def number(self, value, where):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            self.fail(f"{where} must be a finite number; got {value!r}")
        return float(value)

    def integer(self, value, where, minimum=1):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(f"{where} must be an integer >= {minimum}; got {value!r}")
        return value

    def recipe(self) -> Recipe:
        doc = self.doc
        allowed = {"format", "name", "description", "tracer", "halo", "stars", "anisotropy",
                   "inputs", "constraints", "grid", "outputs", "engine", "sampling", "splits", "encoder"}
        self.known(doc, allowed, "the recipe", self.fail)
        if doc.get("format") != RECIPE_FORMAT:
            self.fail(f"format must be {RECIPE_FORMAT}; got {doc.get('format')!r}")
        name = doc.get("name")
        if not isinstance(name, str) or not name:
            self.fail("name must be a non-empty string")
        inputs = self.inputs()
        index = {spec.name: i for i, spec in enumerate(inputs)}
        used = set()
        encoder = self.encoder()
        tracer = self.model("tracer", {**PROFILES, **TRACER_FAMILIES}, index, used)
        if encoder is None and any(kind != "fixed" for _, (kind, _) in tracer.params):
            self.fail("[tracer] parameters must be fixed numbers: lengths are in units of its R_half "
                      "(only a CNN recipe, with an [encoder] table, may draw the tracer from inputs)")
        halo = self.model("halo", PROFILES, index, used)
        rho_s = dict(halo.params).get("rho_s")
        if rho_s != ("fixed", 1.0):
            self.fail("[halo] must set rho_s = 1.0: densities are in units of the halo's rho_s")
        stars = None
        if self.table("stars", required=False) is not None:
            table = dict(self.doc["stars"])
            if "family" in table:
                self.fail("[stars] takes no family: the stars are the tracer's family and shape")
            if not table:
                self.fail("[stars] must set the stellar mass parameter, e.g. m_tot = \"10**log10_mstar\"")
            merged = {**self.doc["tracer"], **table}
            stars = self.model("stars", PROFILES, index, used, table=merged)
        anisotropy = self.model("anisotropy", ANISOTROPIES, index, used)
        unused = [spec.name for spec in inputs if spec.name not in used]
        if unused:
            self.fail(f"input(s) {unused} are not used by any model parameter")
        recipe = Recipe(
            name=name,
            description=str(doc.get("description", "")),
            text=self.text,
            inputs=inputs,
            constraints=self.constraints(index),
            tracer=tracer,
            halo=halo,
            anisotropy=anisotropy,
            stars=stars,
            grid=self.grid(),
            quantities=self.quantities(),
            output_dtype=self.output_dtype(),
            config=self.config(),
            splits=self.splits(),
            chunk=self.integer(self.table("sampling").get("chunk", 16384), "[sampling] chunk"),
            jacobian=self.jacobian(),
            encoder=encoder,
        )
        self.check_models(recipe)
        if recipe.has_guard_band:
            self.check_models(recipe.sampling_recipe("train"), what="the guard band (train_range)")
        return recipe

    def encoder(self):
        """The ``[encoder]`` table of a CNN recipe: the log grid in R / R_half on which the
        network reads ln(Sigma / Sigma(R_half)), clipped below at ``floor``."""
        table = self.table("encoder", required=False)
        if table is None:
            return None
        self.known(table, {"R_min", "R_max", "n", "floor"}, "[encoder]", self.fail)
        lo = self.number(table.get("R_min"), "[encoder] R_min")
        hi = self.number(table.get("R_max"), "[encoder] R_max")
        n = self.integer(table.get("n"), "[encoder] n", minimum=4)
        floor = self.number(table.get("floor", -30.0), "[encoder] floor")
        if not 0 < lo < hi:
            self.fail(f"[encoder] needs 0 < R_min < R_max (units of R_half); got {lo}, {hi}")
        if not floor < 0:
            self.fail(f"[encoder] floor (a floor on ln(Sigma / Sigma(R_half))) must be < 0; got {floor}")
        return dict(R_min=lo, R_max=hi, n=n, floor=floor)

    def jacobian(self):
        value = self.table("outputs").get("jacobian", False)
        if not isinstance(value, bool):
            self.fail(f"[outputs] jacobian must be true or false; got {value!r}")
        return value

    def guard_band(self):
        value = self.table("sampling").get("guard_band", 0.0)
        value = self.number(value, "[sampling] guard_band")
        if not 0 <= value <= 1:
            self.fail(f"[sampling] guard_band must be a fraction of each range in [0, 1]; got {value}")
        return value

    def inputs(self):
        entries = self.doc.get("inputs")
        if not isinstance(entries, list) or not entries:
            self.fail("[[inputs]] must list at least one input")
        specs, seen = [], set()
        guard = self.guard_band()
        for i, entry in enumerate(entries):
            where = f"[[inputs]] #{i + 1}"
            self.known(entry, {"name", "range", "prior", "description", "train_range"}, where, self.fail)
            name = entry.get("name")
            if not isinstance(name, str) or not _NAME.match(name):
                self.fail(f"{where}: name must be an identifier; got {name!r}")
            if name in seen:
                self.fail(f"{where}: duplicate input name {name!r}")
            seen.add(name)
            rng = entry.get("range")
            if not isinstance(rng, list) or len(rng) != 2:
                self.fail(f"input {name!r}: range must be [low, high]; got {rng!r}")
            low, high = (self.number(v, f"input {name!r} range") for v in rng)
            if not low < high:
                self.fail(f"input {name!r}: range needs low < high; got [{low}, {high}]")
            prior = entry.get("prior", "uniform")
            if prior not in PRIORS:
                self.fail(f"input {name!r}: prior must be one of {PRIORS}; got {prior!r}")
            if prior == "log-uniform" and low <= 0:
                self.fail(f"input {name!r}: a log-uniform prior needs low > 0; got {low}")
            if "train_range" in entry:
                wide = entry["train_range"]
                if not isinstance(wide, list) or len(wide) != 2:
                    self.fail(f"input {name!r}: train_range must be [low, high]; got {wide!r}")
                t_low, t_high = (self.number(v, f"input {name!r} train_range") for v in wide)
                if not (t_low <= low and t_high >= high):
                    self.fail(f"input {name!r}: train_range [{t_low}, {t_high}] must contain range [{low}, {high}]")
            else:
                band = guard * (high - low)
                t_low, t_high = low - band, high + band
                if prior == "log-uniform":
                    ratio = (high / low) ** guard
                    t_low, t_high = low / ratio, high * ratio
            if prior == "log-uniform" and t_low <= 0:
                self.fail(f"input {name!r}: a log-uniform train_range needs low > 0; got {t_low}")
            same = t_low == low and t_high == high
            specs.append(InputSpec(name, low, high, prior, None if same else t_low, None if same else t_high))
        return tuple(specs)

    def model(self, key, registry, index, used, table=None):
        table = dict(self.table(key) if table is None else table)
        family = table.pop("family", None)
        if family not in registry:
            self.fail(f"[{key}] family must be one of {sorted(registry)}; got {family!r}")
        cls = registry[family]
        fields = {f.name: f for f in dataclasses.fields(cls)}
        leaves = set(cls._leaf_names)
        self.known(table, leaves, f"[{key}] ({family})", self.fail)
        missing = [n for n in cls._leaf_names if n not in table
                   and fields[n].default is dataclasses.MISSING]
        if missing:
            self.fail(f"[{key}] ({family}) needs parameter(s) {missing}")
        params = []
        for pname in cls._leaf_names:
            if pname not in table:
                continue
            value = table[pname]
            where = f"[{key}] {pname}"
            if isinstance(value, str):
                pow10, plain = _POW10.match(value), _NAME.match(value)
                match = pow10 or plain
                if match is None or match.group(1) not in index:
                    self.fail(f"{where} = {value!r}: must be a number, an input name or "
                              f"\"10**<input>\"; inputs: {sorted(index)}")
                used.add(match.group(1))
                params.append((pname, ("pow10" if pow10 else "input", index[match.group(1)])))
            else:
                params.append((pname, ("fixed", self.number(value, where))))
        return RecipeModel(family, tuple(params))

    def constraints(self, index):
        entries = self.doc.get("constraints", [])
        if not isinstance(entries, list):
            self.fail("constraints must be an array of tables [[constraints]]")
        out = []
        for i, entry in enumerate(entries):
            where = f"[[constraints]] #{i + 1}"
            self.known(entry, {"description", "coefficients", "min", "max"}, where, self.fail)
            coefs = entry.get("coefficients")
            if not isinstance(coefs, dict) or not coefs:
                self.fail(f"{where}: coefficients must be a table {{input = number, ...}}")
            for cname in coefs:
                if cname not in index:
                    self.fail(f"{where}: unknown input {cname!r}; inputs: {sorted(index)}")
            lo = entry.get("min")
            hi = entry.get("max")
            if lo is None and hi is None:
                self.fail(f"{where}: give min, max or both")
            out.append(Constraint(
                description=str(entry.get("description", "")),
                coefficients=tuple((k, self.number(v, f"{where} coefficient {k}")) for k, v in coefs.items()),
                min=None if lo is None else self.number(lo, f"{where} min"),
                max=None if hi is None else self.number(hi, f"{where} max"),
            ))
        return tuple(out)

    def grid(self):
        table = self.table("grid")
        self.known(table, {"R_min", "R_max", "n"}, "[grid]", self.fail)
        lo = self.number(table.get("R_min"), "[grid] R_min")
        hi = self.number(table.get("R_max"), "[grid] R_max")
        n = self.integer(table.get("n"), "[grid] n", minimum=2)
        if not 0 < lo < hi:
            self.fail(f"[grid] needs 0 < R_min < R_max (units of R_half); got {lo}, {hi}")
        return np.geomspace(lo, hi, n)

    def quantities(self):
        table = self.table("outputs")
        qs = table.get("quantities")
        if not isinstance(qs, list) or not qs or len(set(qs)) != len(qs) or any(q not in CARD_NAMES for q in qs):
            self.fail(f"[outputs] quantities must be distinct names from {list(CARD_NAMES)}; got {qs!r}")
        return tuple(qs)

    def output_dtype(self):
        table = self.table("outputs")
        self.known(table, {"quantities", "dtype", "jacobian"}, "[outputs]", self.fail)
        dtype = table.get("dtype", "float64")
        if dtype not in OUTPUT_DTYPES:
            self.fail(f"[outputs] dtype must be one of {OUTPUT_DTYPES}; got {dtype!r}")
        return dtype

    def config(self):
        table = self.table("engine", required=False) or {}
        fast = dataclasses.asdict(JeansConfig.fast())
        self.known(table, fast, "[engine]", self.fail)
        try:
            return JeansConfig(**{**fast, **table})
        except (TypeError, ValueError) as err:
            self.fail(f"[engine]: {err}")

    def splits(self):
        sampling = self.table("sampling")
        self.known(sampling, {"design", "n", "seed", "chunk", "guard_band"}, "[sampling]", self.fail)
        out = {"train": self.split("train", sampling, "[sampling]")}
        extra = self.table("splits", required=False) or {}
        for name, table in extra.items():
            where = f"[splits.{name}]"
            if name == "train":
                self.fail(f"{where}: the train split is set in [sampling]")
            if not isinstance(table, dict):
                self.fail(f"{where} must be a table")
            self.known(table, {"design", "n", "seed"}, where, self.fail)
            out[name] = self.split(name, table, where)
        seeds = [s.seed for s in out.values()]
        if len(set(seeds)) != len(seeds):
            self.fail(f"splits must have distinct seeds (held-out sets are drawn independently); "
                      f"got {({k: s.seed for k, s in out.items()})}")
        return out

    def split(self, name, table, where):
        design = table.get("design", "sobol")
        if design not in DESIGNS:
            self.fail(f"{where} design must be one of {DESIGNS}; got {design!r}")
        if "seed" not in table:
            self.fail(f"{where} needs a seed")
        seed = self.integer(table["seed"], f"{where} seed", minimum=0)
        n = self.integer(table.get("n", 1), f"{where} n")
        return SplitSpec(name, seed, n, design)

    def check_models(self, recipe: Recipe, what: str = "the input ranges"):
        """Build the models at the low corner, the centre and the high corner of the input
        box: out-of-range parameters raise a ValueError naming them."""
        lows = np.array([s.low for s in recipe.inputs])
        highs = np.array([s.high for s in recipe.inputs])
        for label, x in (("low", lows), ("centre", 0.5 * (lows + highs)), ("high", highs)):
            try:
                tracer, _, _ = recipe._build(x, fixed=lambda value, x: value)
            except ValueError as err:
                self.fail(f"{what} give an invalid model at their {label} ends: {err}"
                          + (" (set train_range on that input)" if "guard" in what else ""))
        r_half = float(tracer.half_light_radius())
        # a family drawn from inputs (CNN recipes) may solve for R_half: float32 round-off
        tol = 1e-9 if recipe.encoder is None or np.asarray(r_half).dtype == np.float64 and _x64() else 1e-6
        if abs(r_half - 1.0) > tol:
            self.fail(f"the tracer's projected half-light radius must be 1 (the length unit); "
                      f"it is {r_half:.12g}")
