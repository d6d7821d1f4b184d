"""Training loop of the emulators: optax Adam, plateau learning-rate schedule, early
stopping on a validation set, per-epoch checkpoints, data-parallel over local devices.

The network learns standardised residuals ``(ln sigma~ - b - mean) / std`` of the
dimensionless targets around the physical baseline ``b`` (:mod:`dynamicall.emulate.baseline`),
from inputs scaled to [-1, 1] by the domain bounds. Batches are split across all local
devices with a ``jax.sharding`` mesh (parameters replicated), so the same code trains on
one CPU, several simulated CPU devices, or GPUs. Each epoch ends with an atomic checkpoint
(parameters, optimiser state, schedule and random state); an interrupted run resumes from
the last completed epoch and continues exactly as if it had not stopped.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
import pathlib
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from ..emulate.baseline import log_sigma_baseline
from ..emulate.emulator import Emulator, state_arrays
from ..emulate.files import save_emulator
from ..emulate.networks import initial_state


@dataclasses.dataclass(frozen=True)
class TrainSettings:
    """Optimisation settings.

    Parameters
    ----------
    batch_size : int
        Examples per step (rounded down to a multiple of the number of devices).
    learning_rate : float
        Initial Adam learning rate.
    max_epochs : int
        Upper limit on epochs.
    patience : int
        Early stopping: epochs without a relative improvement of ``min_delta`` in the
        validation loss.
    plateau_patience : int
        Epochs without improvement before the learning rate is multiplied by
        ``plateau_factor``.
    plateau_factor : float
        Learning-rate reduction factor on a plateau.
    min_learning_rate : float
        Training stops once the learning rate falls below this.
    min_delta : float
        Relative validation-loss improvement that counts as progress.
    steps_per_call : int
        Optimiser steps fused into one compiled call (fewer dispatches on CPU).
    max_minutes : float or None
        Wall-clock budget; training stops at the end of the epoch that exceeds it.
    seed : int
        Initialisation and shuffling seed.
    """

    batch_size: int = 512
    learning_rate: float = 2e-3
    max_epochs: int = 500
    patience: int = 16
    plateau_patience: int = 5
    plateau_factor: float = 0.5
    min_learning_rate: float = 1e-6
    min_delta: float = 1e-3
    steps_per_call: int = 32
    max_minutes: float | None = None
    seed: int = 0
    #: "plateau" (halve on a plateau) or "cosine": the learning rate follows
    #: lr 0.5 (1 + cos(pi t / max_minutes)) in wall time t, down to lr / 100 (set per
    #: epoch; for a fixed time budget, where plateaus may never be detected).
    schedule: str = "plateau"

    def __post_init__(self):
        if self.schedule not in ("plateau", "cosine"):
            raise ValueError(f"schedule must be 'plateau' or 'cosine'; got {self.schedule!r}")
        if self.schedule == "cosine" and not self.max_minutes:
            raise ValueError("the cosine schedule needs max_minutes (its length)")
        if self.batch_size < 1 or self.max_epochs < 1 or self.steps_per_call < 1:
            raise ValueError("batch_size, max_epochs and steps_per_call must be >= 1")
        if not (0 < self.plateau_factor < 1) or self.learning_rate <= 0:
            raise ValueError("plateau_factor must be in (0, 1) and learning_rate > 0")


def fixed_halo_parameters(recipe) -> dict:
    """Halo parameters the recipe fixes (not inputs), e.g. ``{"alpha": 1.0, "beta": 3.5}``
    for a recipe with fixed Zhao slopes; ``rho_s`` (the density unit) is left out."""
    return {k: float(v) for k, (kind, v) in recipe.halo.params if kind == "fixed" and k != "rho_s"}


def problem_from_recipe(recipe) -> dict:
    """The ``problem`` section of an emulator card from a training recipe.

    ``bounds`` is the advertised domain; ``training_bounds`` (only with a guard band) the
    wider box the train split sampled.
    """
    extra = {}
    names = recipe.network_input_names
    if recipe.has_guard_band:
        extra["training_bounds"] = {k: [float(lo), float(hi)] for k, (lo, hi) in recipe.train_bounds.items()
                                    if k in names}
    if recipe.encoder is not None:
        # a CNN problem: any tracer, read through its light profile on profile_grid; the
        # recipe's tracer inputs (the training family) are recorded, not network inputs
        extra.update(
            tracer_family=recipe.tracer.family,
            tracer_inputs={k: [float(lo), float(hi)] for k, (lo, hi) in recipe.bounds.items()
                           if k in recipe.tracer_input_names},
            profile_grid=[float(x) for x in recipe.profile_grid],
            profile_floor=float(recipe.encoder["floor"]),
            profile_quantity="ln(Sigma(R) / Sigma(R_half))",
        )
    return dict(**extra,
        fixed=fixed_halo_parameters(recipe),
        tracer="any" if recipe.encoder is not None else recipe.tracer.family,
        mass=recipe.halo.family,
        anisotropy=recipe.anisotropy.family,
        stars=recipe.stars is not None,
        input_names=list(names),
        bounds={k: [float(lo), float(hi)] for k, (lo, hi) in recipe.bounds.items() if k in names},
        constraints=[dict(description=c.description, coefficients=dict(c.coefficients), min=c.min, max=c.max)
                     for c in recipe.constraints],
        grid=[float(x) for x in recipe.grid],
        grid_unit="R / R_half",
        quantities=list(recipe.quantities),
        units="ln(sigma / sqrt(G rho_s R_half^2))",
        recipe=recipe.text,
        recipe_fingerprint=recipe.fingerprint_sha256(),
    )


def split_holdout(inputs, outputs, fraction: float, seed: int):
    """Deterministic random split into (train inputs, train outputs, val inputs, val outputs)."""
    if not 0 < fraction < 1:
        raise ValueError(f"holdout fraction must be in (0, 1); got {fraction}")
    order = np.random.default_rng(seed).permutation(len(inputs))
    n_val = max(1, int(round(fraction * len(inputs))))
    val, train = order[:n_val], order[n_val:]
    return inputs[train], outputs[train], inputs[val], outputs[val]


def dataset_hash(inputs, outputs) -> str:
    """SHA-256 of the training arrays (their float64 bytes)."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(inputs, dtype=np.float64).tobytes())
    h.update(np.ascontiguousarray(outputs, dtype=np.float64).tobytes())
    return h.hexdigest()


BASELINE_DESCRIPTIONS = {
    "quadrature": "half_log_GM_over_r_eff (dynamicall.emulate.baseline, v2)",
    "closed_form": "half_log_GM_over_r_eff, closed-form Zhao mass (dynamicall.emulate.baseline)",
    "none": "none",
}


def normalization(problem: dict, inputs, outputs, baseline: str = "quadrature", n_components: int = 0) -> dict:
    """Input scaling to [-1, 1] from the domain bounds (extra columns, e.g. a CNN's tracer
    profile, by their mean and 3 standard deviations), and the output mean/std of the
    baseline residuals; with ``n_components`` > 0 also ``output_basis``, the leading
    principal directions (K, Q*G) of the standardised residuals (the network then predicts
    K coefficients)."""
    lo = np.array([problem["bounds"][n][0] for n in problem["input_names"]], dtype=float)
    hi = np.array([problem["bounds"][n][1] for n in problem["input_names"]], dtype=float)
    extra = np.asarray(inputs, dtype=float)[:, lo.size :]
    center = np.concatenate([(hi + lo) / 2, extra.mean(0)])
    half_width = np.concatenate([(hi - lo) / 2, np.maximum(3 * extra.std(0), 1e-6)])
    residual = np.asarray(outputs, dtype=float) - _baseline_tiled(problem, inputs, kind=baseline)
    mean, std = residual.mean(0), np.maximum(residual.std(0), 1e-12)
    out = dict(
        **({"profile_envelope": [extra.min(0).tolist(), extra.max(0).tolist()]} if extra.shape[1] else {}),
        input_center=center.tolist(),
        input_half_width=half_width.tolist(),
        output_mean=mean.tolist(),
        output_std=std.tolist(),
        baseline=BASELINE_DESCRIPTIONS[baseline],
        baseline_kind=baseline,
    )
    if n_components:
        if not 0 < n_components <= residual.shape[1]:
            raise ValueError(f"n_components must be in [1, {residual.shape[1]}]; got {n_components}")
        standard = (residual - mean) / std
        _, sing, vt = np.linalg.svd(standard[:: max(1, len(standard) // 65536)], full_matrices=False)
        out["output_basis"] = vt[:n_components].tolist()
        out["pca_explained_variance"] = float(np.sum(sing[:n_components] ** 2) / np.sum(sing**2))
    return out


def baseline_kind(norm: dict) -> str:
    """The baseline of a card's normalisation ("quadrature" for cards older than the key)."""
    return norm.get("baseline_kind", "quadrature")


@functools.lru_cache(maxsize=8)
def _baseline_function(grid: tuple, names: tuple, fixed: tuple = (), kind: str = "quadrature"):
    grid = np.asarray(grid)
    return jax.jit(lambda x: log_sigma_baseline(grid, x[:, : len(names)], names, dict(fixed), kind))


@functools.lru_cache(maxsize=8)
def _baseline_jacobian(grid: tuple, names: tuple, fixed: tuple = (), kind: str = "quadrature"):
    grid = np.asarray(grid)
    one = lambda v: log_sigma_baseline(grid, v[None, :], names, dict(fixed), kind)[0]  # noqa: E731
    return jax.jit(jax.vmap(jax.jacfwd(one)))


def _baseline_tiled(problem, inputs, chunk=4096, kind="quadrature", jacobian=False):
    """The baseline on the grid, repeated for each output quantity: (N, Q * G) (with
    ``jacobian``: its derivatives (N, Q * G, P) with respect to the inputs).

    Evaluated in chunks of one fixed shape (the last padded), so it compiles once.
    """
    key = (tuple(problem["grid"]), tuple(problem["input_names"]),
           tuple(sorted(problem.get("fixed", {}).items())), kind)
    f = (_baseline_jacobian if jacobian else _baseline_function)(*key)
    inputs = np.asarray(inputs, dtype=float)
    chunk = min(chunk, max(len(inputs), 1))
    parts = []
    for i in range(0, len(inputs), chunk):
        block = inputs[i : i + chunk]
        padded = np.concatenate([block, np.repeat(block[-1:], chunk - len(block), axis=0)])
        parts.append(np.asarray(f(jnp.asarray(padded)))[: len(block)])
    base = np.concatenate(parts) if parts else np.zeros((0, len(problem["grid"])))
    reps = len(problem["quantities"])
    return np.tile(base, (1, reps, 1)) if jacobian else np.tile(base, (1, reps))


def targets(problem, norm, inputs, outputs):
    """Normalised inputs (float32) and standardised residual targets (float32)."""
    xn = (np.asarray(inputs, float) - norm["input_center"]) / np.asarray(norm["input_half_width"])
    base = _baseline_tiled(problem, inputs, kind=baseline_kind(norm))
    t = (np.asarray(outputs, float) - base - norm["output_mean"]) / np.asarray(norm["output_std"])
    return xn.astype(np.float32), t.astype(np.float32)


def jacobian_targets(problem, norm, inputs, jacobian):
    """d(standardised residual) / d(normalised input) (float32, (N, Q*G, P)) from the exact
    Jacobian d ln sigma~ / d inputs (N, Q*G, P)."""
    base = _baseline_tiled(problem, inputs, kind=baseline_kind(norm), jacobian=True)
    p = len(problem["input_names"])
    jac = (np.asarray(jacobian, float)[:, :, :p] - base[:, :, :p])
    jac = jac * np.asarray(norm["input_half_width"])[None, None, :p] / np.asarray(norm["output_std"])[None, :, None]
    return jac.astype(np.float32)


def checkpoint_folder(out_dir) -> pathlib.Path:
    """Where training keeps its state while it runs: ``.NAME.checkpoint`` beside the
    emulator folder (never inside it, so a finished emulator is replaced as a whole)."""
    out_dir = pathlib.Path(out_dir)
    return out_dir.with_name(f".{out_dir.name}.checkpoint")


# ------------------------------------------------------------------ checkpoints
def _flatten(tree) -> dict:
    leaves, _ = jax.tree_util.tree_flatten_with_path(tree)
    return {jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in leaves}


def _unflatten(like, arrays: dict):
    leaves, treedef = jax.tree_util.tree_flatten_with_path(like)
    values = []
    for path, leaf in leaves:
        key = jax.tree_util.keystr(path)
        if key not in arrays:
            raise ValueError(f"checkpoint lacks {key}")
        values.append(jnp.asarray(arrays[key], dtype=jnp.asarray(leaf).dtype))
    return jax.tree_util.tree_unflatten(treedef, values)


def save_checkpoint(folder: pathlib.Path, params, opt_state, best_params, meta: dict):
    """Atomically write the training state (npz of arrays + json), replacing the last."""
    from .._durable import save_npz, write_json

    arrays = {}
    for prefix, tree in (("params", params), ("opt", opt_state), ("best", best_params)):
        arrays.update({f"{prefix}{k}": v for k, v in _flatten(tree).items()})
    save_npz(folder / "state.npz", arrays, sync_folder=False)
    write_json(folder / "meta.json", meta, sync_folder=False, indent=1, sort_keys=True)


def load_checkpoint(folder: pathlib.Path, params, opt_state):
    """(params, opt_state, best_params, meta) from a checkpoint folder."""
    meta = json.loads((folder / "meta.json").read_text())
    with np.load(folder / "state.npz", allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    take = lambda prefix: {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}  # noqa: E731
    return (
        _unflatten(params, take("params")),
        _unflatten(opt_state, take("opt")),
        _unflatten(params, take("best")),
        meta,
    )


# ------------------------------------------------------------------ the loop
def train_network(problem: dict, train, val, architecture: dict, out_dir, *,
                  settings: TrainSettings = TrainSettings(), name: str | None = None,
                  provenance: dict | None = None, progress: bool = True, log=print,
                  overwrite: bool = False, baseline: str = "quadrature", n_components: int = 0,
                  jacobian_data=None, grad_weight: float = 0.0, grad_batch: int = 64,
                  val_jacobian=None, init_from=None) -> Emulator:
    """Train an emulator and write it (card.json + weights.npz) to ``out_dir``.

    Parameters
    ----------
    problem : dict
        The emulated problem: families, ``input_names``, ``bounds``, ``grid`` (R/R_half),
        ``quantities``, ``constraints`` and the recipe text (see docs/emulators.md).
    train, val : (inputs, outputs) pairs of arrays
        Dimensionless inputs (N, P) and outputs ln sigma~ (N, Q*G); the validation set
        must be drawn independently (another seed).
    architecture : dict
        Network description for :func:`dynamicall.emulate.networks.build` (without
        ``n_in``/``n_out``, which follow from the problem).
    out_dir : path
        The emulator folder, written as a whole at the end (card.json, weights.npz,
        report.md) with :func:`dynamicall._durable.staged_folder`. While training runs,
        ``.NAME.checkpoint/`` beside it holds the training state, and a rerun with the
        same data and settings resumes from it.
    settings : TrainSettings
    name : str, optional
        Emulator name (default: the folder name).
    provenance : dict, optional
        Extra card entries (dataset files, engine version, recipe hash...).
    progress : bool
        Show a progress bar.
    overwrite : bool
        Replace an existing emulator in ``out_dir`` (otherwise
        :class:`dynamicall._durable.OutputExistsError`, before any training).
    baseline : {"quadrature", "closed_form", "none"}
        The physical baseline subtracted from the targets (:mod:`dynamicall.emulate.baseline`).
    n_components : int
        0: the network predicts every grid value; K > 0: K principal-component
        coefficients of the standardised residuals (``output_basis`` in the card).
    jacobian_data : (inputs, jacobian) pair, optional
        Rows with the exact d ln sigma~ / d inputs (N_J, Q*G, P) (``dynamicall generate
        --jacobian``); with ``grad_weight`` > 0 the mean squared mismatch of the network's
        Jacobian (in normalised units) times ``grad_weight`` joins the loss, on
        ``grad_batch`` of these rows per step.
    val_jacobian : (inputs, jacobian) pair, optional
        Held-out rows with the exact Jacobian: the gradient accuracy is recorded per
        epoch (``val_grad_median_rel_err``) and in the card.
    init_from : path, optional
        Start from the best parameters of another run of the same architecture and data
        (its checkpoint folder ``.NAME.checkpoint``, e.g. kept after stopping it to change
        the schedule) instead of a fresh initialisation; recorded in the card with that
        run's epochs and wall time.

    Returns
    -------
    Emulator
        The best (lowest validation loss) network, as saved.
    """
    out_dir = pathlib.Path(out_dir)
    x_train, y_train = (np.asarray(a) for a in train)
    x_val, y_val = (np.asarray(a) for a in val)
    n_out = y_train.shape[1]
    if n_out != len(problem["quantities"]) * len(problem["grid"]):
        raise ValueError(f"outputs have {n_out} columns; the problem needs quantities x grid = "
                         f"{len(problem['quantities'])} x {len(problem['grid'])}")
    n_scalar = len(problem["input_names"])
    arch = dict(architecture, n_in=n_scalar, n_out=n_out)
    extra = arch.get("n_profile", 0) if arch["family"] == "cnn_mlp" else 0
    if x_train.shape[1] != n_scalar + extra:
        raise ValueError(f"inputs have {x_train.shape[1]} columns; expected {n_scalar} inputs"
                         + (f" + a tracer profile of {extra} points" if extra else ""))
    from .._durable import OutputExistsError, is_nonempty_folder

    if is_nonempty_folder(out_dir) and not overwrite:
        raise OutputExistsError(f"{out_dir} already holds an emulator; choose another --out or pass --overwrite "
                                "to replace it")
    if grad_weight < 0 or (grad_weight > 0 and jacobian_data is None):
        raise ValueError("grad_weight > 0 needs jacobian_data (a set made with dynamicall generate --jacobian); "
                         f"got grad_weight={grad_weight}")
    norm = normalization(problem, x_train, y_train, baseline=baseline, n_components=n_components)
    basis = np.asarray(norm["output_basis"], np.float32) if n_components else None
    if basis is not None:
        arch["n_out"] = n_components
    xt, tt = targets(problem, norm, x_train, y_train)
    xv, tv = targets(problem, norm, x_val, y_val)
    data_hash = dataset_hash(x_train, y_train)
    use_grad = grad_weight > 0
    if use_grad:
        xj_raw, jac_raw = (np.asarray(a) for a in jacobian_data)
        xg = targets(problem, norm, xj_raw, np.zeros((len(xj_raw), n_out)))[0]
        jg = jacobian_targets(problem, norm, xj_raw, jac_raw)
        data_hash = hashlib.sha256((data_hash + dataset_hash(xj_raw, jac_raw.reshape(len(jac_raw), -1))).encode()).hexdigest()
    if val_jacobian is not None:
        xvj_raw, jvj_raw = (np.asarray(a) for a in val_jacobian)
        xvj = targets(problem, norm, xvj_raw, np.zeros((len(xvj_raw), n_out)))[0]
        jvj = jacobian_targets(problem, norm, xvj_raw, jvj_raw)
        # relative error of d ln sigma / d inputs, from the standardised Jacobians:
        # d ln sigma / dx = (std * J_norm / hw) + d baseline / dx
        base_vj = _baseline_tiled(problem, xvj_raw, kind=baseline_kind(norm), jacobian=True)
        scale_vj = (np.asarray(norm["output_std"])[None, :, None]
                    / np.asarray(norm["input_half_width"])[None, None, : len(problem["input_names"])])

    devices = jax.local_devices()
    mesh = Mesh(np.array(devices), ("data",))
    batch_sharding = NamedSharding(mesh, PartitionSpec(None, "data"))
    replicated = NamedSharding(mesh, PartitionSpec())
    batch = max(len(devices), settings.batch_size - settings.batch_size % len(devices))
    steps_per_epoch = len(xt) // batch
    if steps_per_epoch < 1:
        raise ValueError(f"the training set ({len(xt)}) is smaller than one batch ({batch})")
    calls_per_epoch = math.ceil(steps_per_epoch / settings.steps_per_call)

    graphdef, params = initial_state(arch, seed=settings.seed)
    tx = optax.inject_hyperparams(optax.adam)(learning_rate=settings.learning_rate)
    opt_state = tx.init(params)
    init_record = None
    if init_from is not None:
        init_from = pathlib.Path(init_from)
        if (init_from / "meta.json").is_file():  # a checkpoint folder: its best parameters
            _, _, params, meta = load_checkpoint(init_from, params, opt_state)
            identity, run = meta["identity"], meta["state"]
        elif (init_from / "card.json").is_file():  # a finished emulator
            from ..emulate.emulator import state_from_arrays
            from ..emulate.files import read_emulator

            card, arrays = read_emulator(init_from)
            identity = dict(card["training"], architecture=card["architecture"])
            run = dict(card["training"], epoch=card["training"]["epochs"], elapsed=card["training"]["wall_time_s"])
            if identity["architecture"] == json.loads(json.dumps(arch)):
                params = state_from_arrays(arch, arrays)[1]
        else:
            raise ValueError(f"--init-from {init_from}: neither a training checkpoint folder (meta.json) nor an "
                             "emulator folder (card.json)")
        if identity["dataset_hash"] != data_hash or identity["architecture"] != json.loads(json.dumps(arch)):
            raise ValueError(f"--init-from {init_from}: that run had other data or another architecture")
        init_record = dict(folder=init_from.name, epochs=run["epoch"], best_epoch=run["best_epoch"],
                           wall_time_s=round(run["elapsed"], 1), settings=identity["settings"],
                           best_validation=run["history"][run["best_epoch"] - 1])
    params, opt_state = jax.device_put((params, opt_state), replicated)

    def apply(p, x):
        out = nnx.merge(graphdef, p)(x)
        return out if basis is None else out @ basis

    def loss_fn(p, x, y, xg=None, jg=None):
        loss = jnp.mean((apply(p, x) - y) ** 2)
        if xg is not None:
            jac = jax.vmap(jax.jacfwd(lambda v: apply(p, v)))(xg)
            loss = loss + grad_weight * jnp.mean((jac - jg) ** 2)
        return loss

    @jax.jit
    def train_steps(p, state, xs, ys, xgs=None, jgs=None):
        def one(carry, batch):
            p, state = carry
            loss, grads = jax.value_and_grad(loss_fn)(p, *batch)
            updates, state = tx.update(grads, state, p)
            return (optax.apply_updates(p, updates), state), loss

        batches = (xs, ys) if xgs is None else (xs, ys, xgs, jgs)
        (p, state), losses = jax.lax.scan(one, (p, state), batches)
        return p, state, jnp.mean(losses)

    @jax.jit
    def predict(p, x):
        return apply(p, x)

    @jax.jit
    def predict_jacobian(p, x):
        return jax.vmap(jax.jacfwd(lambda v: apply(p, v)))(x)

    def gradient_accuracy(p):
        """Median and 99th percentile over (profile, radius) of the relative error
        |J_emu - J_exact| / |J_exact| of d ln sigma / d inputs (vector norms over inputs)."""
        if val_jacobian is None:
            return {}
        pred = np.concatenate([np.asarray(predict_jacobian(p, xvj[i : i + 1024])) for i in range(0, len(xvj), 1024)])
        emu = pred * scale_vj + base_vj
        exact = jvj * scale_vj + base_vj
        from ..emulate.validation import gradient_statistics

        g = gradient_statistics(emu, exact)
        return dict(val_grad_median_rel_err=g["median_rel_error"], val_grad_p99_rel_err=g["p99_rel_error"])

    def validation_metrics(p):
        preds = np.concatenate([np.asarray(predict(p, xv[i : i + 16384])) for i in range(0, len(xv), 16384)])
        loss = float(np.mean((preds - tv) ** 2))
        rel = np.expm1((preds - tv) * np.asarray(norm["output_std"], dtype=np.float32))
        return loss, float(np.median(np.abs(rel))), float(np.percentile(np.max(np.abs(rel), axis=1), 99))

    ckpt = checkpoint_folder(out_dir)
    identity = dict(dataset_hash=data_hash, architecture=arch, settings=dataclasses.asdict(settings),
                    devices=len(devices), baseline=baseline, n_components=n_components,
                    grad_weight=grad_weight, grad_batch=grad_batch,
                    **({"init_from": init_record} if init_record else {}))
    state = dict(epoch=0, best_loss=math.inf, best_epoch=0, bad_epochs=0, plateau_epochs=0,
                 learning_rate=settings.learning_rate, history=[], elapsed=0.0)
    best_params = params
    if (ckpt / "meta.json").is_file():
        saved = json.loads((ckpt / "meta.json").read_text())
        if saved.get("identity") != json.loads(json.dumps(identity)):
            raise ValueError(f"{ckpt} belongs to a different training run (data, architecture or settings "
                             "differ); remove it to start again")
        params, opt_state, best_params, meta = load_checkpoint(ckpt, params, opt_state)
        params, opt_state = jax.device_put((params, opt_state), replicated)
        state = meta["state"]
        log(f"resuming from epoch {state['epoch']} (best validation loss {state['best_loss']:.3e})")

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=settings.max_epochs, initial=state["epoch"], unit="epoch", desc="training")
    t_start = time.perf_counter() - state["elapsed"]
    stop_reason = "max_epochs"
    while state["epoch"] < settings.max_epochs:
        epoch = state["epoch"]
        if settings.schedule == "cosine":
            progress_t = min(1.0, state["elapsed"] / (60.0 * settings.max_minutes))
            state["learning_rate"] = settings.learning_rate * max(0.5 * (1.0 + math.cos(math.pi * progress_t)), 0.01)
        opt_state.hyperparams["learning_rate"] = jnp.asarray(state["learning_rate"], jnp.float32)
        order = np.random.default_rng([settings.seed, epoch]).permutation(len(xt))[: steps_per_epoch * batch]
        order = order.reshape(steps_per_epoch, batch)
        if use_grad:
            grad_order = np.random.default_rng([settings.seed, epoch, 1]).integers(
                0, len(xg), size=(steps_per_epoch, grad_batch))
        losses = []
        for c in range(calls_per_epoch):
            idx = order[c * settings.steps_per_call : (c + 1) * settings.steps_per_call]
            xs = jax.device_put(xt[idx], batch_sharding)
            ys = jax.device_put(tt[idx], batch_sharding)
            extra = ()
            if use_grad:
                gidx = grad_order[c * settings.steps_per_call : (c + 1) * settings.steps_per_call]
                extra = (jax.device_put(xg[gidx], replicated), jax.device_put(jg[gidx], replicated))
            params, opt_state, loss = train_steps(params, opt_state, xs, ys, *extra)
            losses.append(float(loss) * len(idx))
        train_loss = sum(losses) / steps_per_epoch
        val_loss, med, p99 = validation_metrics(params)
        grad_metrics = gradient_accuracy(params)
        improved = val_loss < state["best_loss"] * (1 - settings.min_delta)
        if val_loss < state["best_loss"]:
            best_params = params
            state["best_loss"], state["best_epoch"] = val_loss, epoch + 1
        state["bad_epochs"] = 0 if improved else state["bad_epochs"] + 1
        state["plateau_epochs"] = 0 if improved else state["plateau_epochs"] + 1
        if state["plateau_epochs"] >= settings.plateau_patience and settings.schedule == "plateau":
            state["learning_rate"] *= settings.plateau_factor
            state["plateau_epochs"] = 0
        state["epoch"] = epoch + 1
        state["elapsed"] = time.perf_counter() - t_start
        record = dict(epoch=epoch + 1, train_loss=train_loss, val_loss=val_loss, val_median_rel_err=med,
                      val_p99_max_rel_err=p99, **grad_metrics, learning_rate=state["learning_rate"],
                      elapsed_s=state["elapsed"])
        state["history"].append(record)
        save_checkpoint(ckpt, params, opt_state, best_params, dict(identity=identity, state=state))
        if bar is not None:
            bar.update(1)
            bar.set_postfix(train=f"{train_loss:.2e}", val=f"{val_loss:.2e}", med=f"{med:.2e}", p99=f"{p99:.2e}",
                            lr=f"{state['learning_rate']:.1e}")
        else:
            log(json.dumps(record))
        if state["bad_epochs"] >= settings.patience:
            stop_reason = "early_stopping"
            break
        if state["learning_rate"] < settings.min_learning_rate:
            stop_reason = "min_learning_rate"
            break
        if settings.max_minutes is not None and state["elapsed"] > 60 * settings.max_minutes:
            stop_reason = "time_budget"
            break
    if bar is not None:
        bar.close()

    final_arrays = state_arrays(jax.device_get(best_params))
    best = state["history"][state["best_epoch"] - 1] if state["best_epoch"] else {}
    card = dict(
        name=name or out_dir.name,
        problem=problem,
        architecture=arch,
        normalization=norm,
        training=dict(
            dataset_hash=data_hash,
            dataset_size=int(len(x_train)),
            jacobian_rows=int(len(xg)) if use_grad else 0,
            grad_weight=grad_weight,
            validation_size=int(len(x_val)),
            settings=dataclasses.asdict(settings),
            epochs=state["epoch"],
            best_epoch=state["best_epoch"],
            stop_reason=stop_reason,
            best_validation=best,
            wall_time_s=round(state["elapsed"], 1),
            devices=[str(d) for d in devices],
            history=state["history"],
            **({"initialised_from": init_record} if init_record else {}),
            **(provenance or {}),
        ),
    )
    from .._durable import staged_folder, write_text
    from ..emulate.validation import training_report

    with staged_folder(out_dir, overwrite=overwrite) as staging:
        card = save_emulator(staging, card, final_arrays)
        write_text(staging / "report.md", training_report(card))
    for f in ("state.npz", "meta.json"):
        (ckpt / f).unlink(missing_ok=True)
    if ckpt.is_dir() and not any(ckpt.iterdir()):
        ckpt.rmdir()
    return Emulator(card=card, arrays=final_arrays, path=out_dir)
