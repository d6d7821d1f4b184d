"""``dynamicall validate``: an emulator against the exact engine on a fresh test set.

The test set is drawn from the emulator's own recipe (stored in its card) with a seed
independent of the training and validation sets, computed with the exact engine, and
compared point by point; the statistics, a Markdown report and histograms are written into
the emulator folder (see :mod:`dynamicall.emulate.validation`).
"""

from __future__ import annotations

import time

import jax
import numpy as np

from ..emulate.validation import error_statistics, record_validation
from .design import design_points
from .recipe import dimensionless_dispersions
from .recipe_file import parse_recipe


def exact_outputs(recipe, inputs, chunk: int = 2048, progress: bool = True):
    """ln sigma~ from the exact engine for ``inputs`` (N, P), in chunks with a progress bar."""
    chunk = min(chunk, len(inputs))
    f = jax.jit(lambda x: dimensionless_dispersions(recipe, x, batch_size=min(256, chunk)))
    parts = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(inputs), unit="profile", desc="exact engine")
    for i in range(0, len(inputs), chunk):
        block = inputs[i : i + chunk]
        if len(block) < chunk:  # pad: one compiled shape
            block = np.concatenate([block, np.repeat(block[-1:], chunk - len(block), axis=0)])
        parts.append(np.asarray(f(block))[: min(chunk, len(inputs) - i)])
        if bar is not None:
            bar.update(parts[-1].shape[0])
    if bar is not None:
        bar.close()
    return np.concatenate(parts)


def exact_jacobians(recipe, inputs, chunk: int = 256):
    """(ln sigma~, d ln sigma~ / d inputs) from the exact engine, forward-mode autodiff."""
    from .generate import _with_jacobian

    q = recipe.n_outputs
    f = jax.jit(jax.vmap(_with_jacobian(recipe)))
    parts = []
    for i in range(0, len(inputs), chunk):
        block = inputs[i : i + chunk]
        rows = len(block)
        if rows < chunk:
            block = np.concatenate([block, np.repeat(block[-1:], chunk - rows, axis=0)])
        parts.append(np.asarray(f(block))[:rows])
    out = np.concatenate(parts)
    return out[:, :q], out[:, q:].reshape(len(inputs), q, recipe.n_inputs)


def emulator_jacobians(emulator, inputs):
    """d ln sigma~ / d inputs of the emulator (N, Q*G, P), by autodiff of its network."""
    p = len(emulator.input_names)
    f = jax.jit(jax.vmap(jax.jacfwd(lambda x: emulator.predict_log(x).reshape(-1))))
    return np.asarray(f(np.asarray(inputs, dtype=float)))[..., :p]


def _by_tracer(recipe, inputs, emulated, exact) -> dict:
    """For a recipe whose tracer family has pieces (SersicKing: Sersic and King), the
    error statistics of each piece: ``{"by_tracer": {label: stats}}``; else {}."""
    from .tracer_families import TRACER_FAMILIES

    family = TRACER_FAMILIES.get(recipe.tracer.family)
    names = recipe.tracer_input_names
    if family is None or not hasattr(family, "piece_labels") or len(names) != 1:
        return {}
    labels = family.piece_labels(inputs[:, recipe.input_names.index(names[0])])
    return {"by_tracer": {str(label): error_statistics(emulated[labels == label], exact[labels == label])
                          for label in np.unique(labels)}}


def validate(emulator, n: int = 4096, seed: int | None = None, design: str = "random", progress: bool = True,
             n_gradient: int = 512):
    """Validate ``emulator`` on ``n`` fresh profiles; returns the statistics (dict).

    Parameters
    ----------
    emulator : Emulator
        Loaded from a folder (the report and card are written there).
    n : int
        Test profiles.
    seed : int, optional
        Defaults to the recipe's test-split seed + 1: independent of the training and
        validation seeds, and of the recipe's own test split.
    design : str
        Sampling design ("random": i.i.d. uniform over the domain).
    n_gradient : int
        On the first ``n_gradient`` test profiles, also compare d ln sigma / d inputs with
        the exact engine's (forward-mode autodiff); 0 skips it.
    """
    recipe = parse_recipe(emulator.problem["recipe"], source=f"{emulator.name}/card.json")
    if seed is None:
        seed = recipe.split("test").seed + 1 if "test" in recipe.splits else 987654321
    inputs = design_points(recipe, n, seed, kind=design)
    t0 = time.perf_counter()
    exact = exact_outputs(recipe, inputs, progress=progress)
    t_exact = time.perf_counter() - t0
    predict = jax.jit(emulator.predict_log)
    # a CNN emulator reads the tracer's profile instead of the recipe's tracer inputs
    network_inputs = recipe.network_inputs(inputs)
    t0 = time.perf_counter()
    emulated = np.asarray(predict(network_inputs)).reshape(exact.shape)
    t_emu = time.perf_counter() - t0
    stats = error_statistics(emulated, exact)
    stats.update(_by_tracer(recipe, inputs, emulated, exact))
    n_gradient = min(int(n_gradient), n)
    if n_gradient > 0:
        from ..emulate.validation import gradient_statistics

        _, exact_jac = exact_jacobians(recipe, inputs[:n_gradient])
        exact_jac = exact_jac[:, :, recipe.network_columns]  # d / d (the network's scalar inputs)
        stats["gradient"] = gradient_statistics(emulator_jacobians(emulator, network_inputs[:n_gradient]), exact_jac)
    meta = dict(seed=int(seed), design=design, engine=recipe.engine_version(), input_names=list(recipe.network_input_names),
                device=f"{jax.devices()[0].platform} ({jax.devices()[0].device_kind})",
                exact_seconds=round(t_exact, 2), emulator_seconds=round(t_emu, 3))
    if emulator.path is not None:
        record_validation(emulator.path, emulator.card, stats, meta, emulated, exact)
    return stats
