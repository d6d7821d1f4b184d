"""Resumable, chunked generation of training sets with the exact Jeans engine.

The rows of a set are fixed before any work: row i holds the i-th point of the design
(:func:`dynamicall.train.design.design_points`). Rows are computed in chunks of ``chunk`` rows;
each finished chunk is written to its own file in ``OUT.partial/`` by an atomic rename,
so a chunk is either complete on disk or absent. Killing the run (even ``kill -9``) loses
at most the chunks in flight; running the same command again computes only the missing
chunks. When all chunks exist, they are joined in row order into ``OUT`` (again through
a temporary file and a rename) and the partial folder is removed.

Failed profiles
    A row whose outputs are not all finite is a failure: it is recorded (row, attempt,
    inputs, reason) and replaced by :func:`dynamicall.train.design.replacement`, a point
    keyed by (seed, row, attempt), up to ``max_attempts`` times. Failed rows never enter
    the set; the set always has exactly ``n`` rows; the file's ``failures`` attribute
    counts the failed evaluations and ``failure_examples`` lists the first ten.

Determinism
    A row's value depends only on the recipe, the seed, the design and its index, never
    on the chunking, the devices, the processes or interruptions (tested bitwise on CPU
    for 1 vs 4 devices and 1 vs 2 processes). The finished file is byte-identical to the
    one an uninterrupted run writes with the same software.

Example
-------
>>> import os, tempfile
>>> from dynamicall.train.recipe import load_recipe, shipped_recipe_path
>>> from dynamicall.train.dataset import read_dataset
>>> recipe = load_recipe(shipped_recipe_path("zhao_bvh_plummer"))
>>> out = os.path.join(tempfile.mkdtemp(), "tiny.h5")
>>> report = generate(recipe, out, n=8, chunk=4, progress=False)
>>> read_dataset(out).outputs.shape
(8, 32)
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import pathlib
import re
import shutil
import time

import jax
import numpy as np

from . import dataset, design, distributed
from .recipe import Recipe, _dimensionless_one
from .recipe_file import load_recipe

_CHUNK_FILE = re.compile(r"^chunk_(\d{6})\.h5$")


@dataclasses.dataclass
class GenerationReport:
    """What a call of :func:`generate` did, with timings in seconds (this process).

    ``setup_s``: until the first chunk starts (design included); ``compute_s``: waiting
    for the engine (the first chunk includes compilation); ``write_s``: inside HDF5 calls
    during the run (chunk files, appending to the finished file), overlapped with the
    engine computing the next chunk; ``merge_s``: closing the finished file (or joining
    all chunk files after a multi-process run); ``total_s``: wall time of the call.
    """

    path: str
    n: int
    chunks: int
    chunks_computed: int
    chunks_resumed: int
    failures: int
    devices: int
    processes: int
    compute_s: float = 0.0
    write_s: float = 0.0
    merge_s: float = 0.0
    setup_s: float = 0.0
    total_s: float = 0.0
    rows_computed: int = 0
    already_complete: bool = False

    @property
    def profiles_per_s(self) -> float:
        """Rows computed by this process per second of its wall time."""
        return self.rows_computed / self.total_s if self.total_s > 0 else float("nan")

    @property
    def hdf5_fraction(self) -> float:
        """Share of the wall time spent inside HDF5 calls (partly overlapped with computing)."""
        return (self.write_s + self.merge_s) / self.total_s if self.total_s > 0 else float("nan")


def partial_path(out) -> pathlib.Path:
    """The folder of chunk files of a run writing ``out``: ``out`` + ``.partial``."""
    out = pathlib.Path(out)
    return out.with_name(out.name + ".partial")


def _settings(recipe: Recipe, split: str, n, seed, kind, chunk):
    spec = recipe.split(split)
    n = spec.n if n is None else int(n)
    seed = spec.seed if seed is None else int(seed)
    kind = spec.design if kind is None else kind
    chunk = recipe.chunk if chunk is None else int(chunk)
    if n < 1 or chunk < 1 or seed < 0:
        raise ValueError(f"need n >= 1, chunk >= 1 and seed >= 0; got n={n}, chunk={chunk}, seed={seed}")
    if kind not in ("sobol", "lhs", "random"):
        raise ValueError(f"design must be sobol, lhs or random; got {kind!r}")
    return n, seed, kind, chunk


def _attrs(recipe: Recipe, split, n, seed, kind, jacobian=False) -> dict:
    """Attributes of the finished file (those that do not depend on the data)."""
    import h5py
    import scipy

    software = dict(jax=jax.__version__, numpy=np.__version__, scipy=scipy.__version__,
                    h5py=h5py.__version__, hdf5=h5py.version.hdf5_version)
    return dict(
        recipe=recipe.text,
        recipe_name=recipe.name,
        recipe_fingerprint=recipe.fingerprint_sha256(),
        input_names=list(recipe.input_names),
        quantities=list(recipe.quantities),
        bounds=json.dumps(recipe.bounds),
        priors=json.dumps({s.name: s.prior for s in recipe.inputs}),
        engine_version=recipe.engine_version(),
        output_dtype=recipe.output_dtype,
        split=split,
        design=kind,
        seed=seed,
        n=n,
        software=json.dumps(software, sort_keys=True),
        # optional attributes only when used: plain sets keep their bytes and hash
        **(dict(sampled_bounds=json.dumps(recipe.sampling_recipe(split).bounds))
           if recipe.sampling_recipe(split) is not recipe else {}),
        **(dict(jacobian="d outputs / d inputs (exact engine, forward-mode autodiff)") if jacobian else {}),
    )


def _manifest(attrs: dict, chunk: int) -> dict:
    # software versions too: rows computed by another jax may differ in their last bits
    keys = ("recipe_fingerprint", "split", "design", "seed", "n", "output_dtype", "engine_version", "software")
    extra = {k: attrs[k] for k in ("sampled_bounds", "jacobian") if k in attrs}
    return dict({k: attrs[k] for k in keys}, chunk=chunk, **extra)


def _check_manifest(folder: pathlib.Path, manifest: dict, write: bool = True):
    """Raise if the folder's manifest names other settings; write it if it is missing (and
    ``write``)."""
    path = folder / "manifest.json"
    text = json.dumps(manifest, sort_keys=True, indent=1)
    if path.exists():
        old = json.loads(path.read_text())
        if old != manifest:
            diff = ", ".join(f"{k} {old.get(k)!r} (now {manifest.get(k)!r})"
                             for k in sorted(set(old) | set(manifest)) if old.get(k) != manifest.get(k))
            raise ValueError(f"{folder} holds work started with other settings: {diff}. Rerun with "
                             "the same settings to resume, or use overwrite (--overwrite) to start over.")
        return
    if not write:
        return
    tmp = folder / f"manifest.json.tmp.{os.getpid()}"
    tmp.write_text(text)
    dataset._replace_durably(tmp, path)


def _done_chunks(folder: pathlib.Path, n_chunks: int) -> np.ndarray:
    done = np.zeros(n_chunks, dtype=bool)
    for entry in folder.iterdir():
        match = _CHUNK_FILE.match(entry.name)
        if match and int(match.group(1)) < n_chunks:
            done[int(match.group(1))] = True
        elif ".tmp." in entry.name:  # a write cut short by an interruption
            entry.unlink(missing_ok=True)
    return done


def _describe_failure(recipe: Recipe, y: np.ndarray) -> str:
    bad = np.flatnonzero(~np.isfinite(y))
    g = recipe.grid.size
    first = bad[0]
    if first >= recipe.n_outputs:
        where = "the Jacobian"
    else:
        where = f"{recipe.quantities[first // g]} at R/R_half={recipe.grid[first % g]:.4g}"
    kinds = sorted({"nan" if np.isnan(v) else "inf" for v in y[bad]})
    return f"non-finite output ({'/'.join(kinds)}) at {bad.size} of {y.size} points, first {where}"


_ENGINES = {}


def _with_jacobian(recipe: Recipe):
    """x -> [outputs, d outputs / d inputs flattened row-major]: forward-mode autodiff
    (one JVP per input) of the exact engine."""
    import jax.numpy as jnp

    def one(x):
        y, jac = _dimensionless_one(recipe, x), jax.jacfwd(lambda v: _dimensionless_one(recipe, v))(x)
        return jnp.concatenate([y, jac.reshape(-1)])

    return one


def _engine(recipe: Recipe, mesh, batch: int, jacobian: bool = False):
    """The sharded engine for a recipe's model, devices and batch, compiled once per
    process (equal fingerprints define the same computation)."""
    key = (recipe.fingerprint(), tuple(d.id for d in mesh.devices.flat), batch, jacobian)
    if key not in _ENGINES:
        if len(_ENGINES) >= 8:
            _ENGINES.pop(next(iter(_ENGINES)))
        one = _with_jacobian(recipe) if jacobian else (lambda x: _dimensionless_one(recipe, x))
        _ENGINES[key] = distributed.sharded_map(one, mesh, batch)
    return _ENGINES[key]


class _ChunkComputer:
    """Computes the rows of one chunk, replacing failed rows.

    ``submit(x)`` starts the engine on a chunk and returns at once (JAX's asynchronous
    dispatch); ``finish(submitted, start)`` waits for it, replaces failed rows and returns
    ``(inputs, outputs, failures)``. Submitting the next chunk before writing this one
    overlaps the writing with the computing.
    """

    def __init__(self, recipe, seed, chunk, mesh, batch, compute, max_attempts, jacobian=False,
                 sampled=None):
        self.recipe, self.seed, self.max_attempts = recipe, seed, max_attempts
        self.sampled = recipe if sampled is None else sampled  # the box replacements come from
        self.rows_per_call, batch = distributed.call_rows(chunk, mesh.size, batch)
        self.run = _engine(recipe, mesh, batch, jacobian)
        self.wrap = compute
        self.storage = np.dtype(recipe.output_dtype)

    def _pad(self, x):
        pad = self.rows_per_call - x.shape[0]
        if pad:  # pad with copies of the last row: same shapes, one compilation
            x = np.concatenate([x, np.repeat(x[-1:], pad, axis=0)])
        return x

    def _result(self, block, handle, rows):
        def run(v):
            return np.asarray(handle) if v is block else self.run(v)

        y = run(block) if self.wrap is None else self.wrap(block, run)
        return np.asarray(y)[:rows]  # may be read-only: copied only to replace failed rows

    def _call(self, x):
        out = []
        for start in range(0, x.shape[0], self.rows_per_call):
            part = x[start : start + self.rows_per_call]
            block = self._pad(part)
            out.append(self._result(block, self.run.dispatch(block), part.shape[0]))
        return np.concatenate(out)

    def submit(self, x):
        x = np.array(x, dtype=np.float64)
        block = self._pad(x)
        return x, block, self.run.dispatch(block)

    def _stored(self, y):
        return y if y.dtype == self.storage else y.astype(self.storage)

    def finish(self, submitted, start):
        x, block, handle = submitted
        y = self._result(block, handle, x.shape[0])
        failures = []
        bad = np.flatnonzero(~np.isfinite(self._stored(y)).all(axis=1))
        if bad.size:
            y = np.array(y)
        for attempt in range(1, self.max_attempts + 2):
            if bad.size == 0:
                break
            for i in bad:
                failures.append(dict(row=int(start + i), attempt=attempt - 1,
                                     inputs=dict(zip(self.recipe.input_names, map(float, x[i]))),
                                     reason=_describe_failure(self.recipe, y[i])))
            if attempt > self.max_attempts:
                raise RuntimeError(
                    f"row {start + bad[0]} still fails after {self.max_attempts} replacements: "
                    f"{failures[-1]['reason']}. The engine fails over much of the input box; "
                    "check the recipe's ranges and engine settings.")
            x[bad] = np.stack([design.replacement(self.sampled, self.seed, start + i, attempt) for i in bad])
            y[bad] = self._call(x[bad])
            bad = bad[~np.isfinite(self._stored(y[bad])).all(axis=1)]
        failures.sort(key=lambda r: (r["row"], r["attempt"]))
        return x, self._stored(y), failures


class _Joiner:
    """Appends chunks to the finished file in row order as soon as they exist (one
    process), from memory when just computed, else from their chunk files."""

    def __init__(self, out, recipe, n, n_chunks, folder, done, jacobian=False):
        self.writer = dataset.TrainingSetWriter(out, n, recipe.n_inputs, recipe.n_outputs, recipe.grid,
                                                recipe.output_dtype, jacobian)
        self.folder, self.done, self.next, self.n_chunks = folder, done.copy(), 0, n_chunks

    def completes_with(self, k) -> bool:
        """Whether chunk ``k`` is the only one the finished file still lacks."""
        return self.next == k and bool(self.done[k + 1 :].all()) and not self.done[k]

    def add(self, k, x, y, failures):
        if k == self.next:
            self.writer.append(x, y, failures)
            self.next += 1
        self.done[k] = True
        self.drain()

    def drain(self):
        while self.next < self.n_chunks and self.done[self.next]:
            part = dataset.read_chunk(self.folder / dataset.CHUNK_NAME.format(self.next))
            self.writer.append(part["inputs"], part["outputs"], part["failures"])
            self.next += 1


def _run_chunks(computer, joiner, inputs, mine, chunk, n, folder, report, bar):
    """Compute this process's chunks, writing each as the next one computes."""
    bounds = [(int(k) * chunk, min(n, (int(k) + 1) * chunk)) for k in mine]
    submitted = computer.submit(inputs[bounds[0][0] : bounds[0][1]])
    if joiner is not None:  # resumed chunks join while the first new one computes
        t0 = time.perf_counter()
        joiner.drain()
        report.write_s += time.perf_counter() - t0
    for i, k in enumerate(mine):
        start, stop = bounds[i]
        t0 = time.perf_counter()
        try:
            x, y, failures = computer.finish(submitted, start)
        except Exception as err:
            raise RuntimeError(f"chunk {k} (rows {start}-{stop - 1}) failed: {err}. Finished chunks "
                               f"are kept in {folder}; rerun the same command to resume.") from err
        if i + 1 < len(mine):
            submitted = computer.submit(inputs[bounds[i + 1][0] : bounds[i + 1][1]])
        t1 = time.perf_counter()
        if joiner is None or not joiner.completes_with(int(k)):
            dataset.write_chunk(folder / dataset.CHUNK_NAME.format(int(k)), x, y, int(k), start, failures)
        # else: the last chunk goes straight into the finished file (renamed into place next);
        # an interruption before that loses this one chunk, never more
        if joiner is not None:
            joiner.add(int(k), x, y, failures)
        report.compute_s += t1 - t0
        report.write_s += time.perf_counter() - t1
        report.chunks_computed += 1
        report.rows_computed += stop - start
        report.failures += len(failures)
        bar.update(stop - start)


def _lock(out: pathlib.Path):
    """An exclusive, non-blocking lock of ``out`` (the file ``OUT.lock`` beside it), or a
    ``FileExistsError`` naming the process that holds it: two runs never write one set."""
    import fcntl

    path = out.with_name(out.name + ".lock")
    out.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise FileExistsError(f"{out} is being written by {holder} (lock {path}); wait for it to finish, "
                              "or choose another output") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"dynamicall generate, pid {os.getpid()}")
    handle.flush()
    return handle, path


def _check_count(name, value, minimum=1):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def generate(recipe, out, *, split: str = "train", n: int | None = None, seed: int | None = None,
             design_kind: str | None = None, chunk: int | None = None, batch: int | None = None,
             devices=None, progress: bool = True, overwrite: bool = False, max_attempts: int = 8,
             compute=None, jacobian: bool | None = None) -> GenerationReport:
    """Generate (or resume, or finish) a training set.

    Needs float64 (``jax.config.update("jax_enable_x64", True)``); the outputs are stored
    as the recipe's ``[outputs] dtype``. Call :func:`dynamicall.train.distributed.initialize`
    first to share the work between several processes.

    Parameters
    ----------
    recipe : Recipe or path-like
    out : path-like
        The finished HDF5 file; work in progress lives in ``out + ".partial"``.
    split : str
        Sampling settings of this split of the recipe ("train", "validation", "test").
    n, seed, design_kind, chunk : optional
        Override the split's number of rows, seed and design, and the recipe's chunk size.
    batch : int, optional
        Rows per ``lax.map`` step on each device (speed only; default 256 on CPU).
    devices : None, int or list of jax.Device
        Local devices to split chunks over (default: all).
    progress : bool
        Show a progress bar with rate and ETA (process 0 only).
    overwrite : bool
        Discard an existing ``out`` and any partial work instead of resuming.
    max_attempts : int
        Replacements tried for a failing row before giving up.
    compute : callable, optional
        ``compute(x, run) -> y`` wraps the engine call ``run(x)`` (tests inject failures).
    jacobian : bool, optional
        Also store d outputs / d inputs from the exact engine (forward-mode autodiff,
        ~P+1 times the cost) as the dataset ``jacobian`` (default: the recipe's
        ``[outputs] jacobian``).

    The train split samples the recipe's box widened by its guard band
    (``[sampling] guard_band``, an input's ``train_range``); held-out splits sample the
    advertised box. A second run on the same ``out`` while one is running is refused
    (``FileExistsError``) by a lock (``OUT.lock``, removed when the set is finished).

    Returns
    -------
    GenerationReport
    """
    t_start = time.perf_counter()
    if not jax.config.jax_enable_x64:
        raise ValueError('training sets are computed in float64: call jax.config.update("jax_enable_x64", True) first')
    if not isinstance(recipe, Recipe):
        recipe = load_recipe(recipe)
    n, chunk, batch = _check_count("n", n), _check_count("chunk", chunk), _check_count("batch", batch)
    _check_count("max_attempts", max_attempts, 0)
    seed = _check_count("seed", seed, 0)
    jacobian = recipe.jacobian if jacobian is None else bool(jacobian)
    n, seed, kind, chunk = _settings(recipe, split, n, seed, design_kind, chunk)
    out = pathlib.Path(out)
    if out.is_dir():
        raise ValueError(f"{out} is a folder; --out must name the HDF5 file to write, e.g. {out / 'train.h5'}")
    folder = partial_path(out)
    index, count = distributed.process_layout()
    mesh = distributed.local_mesh(devices)
    n_chunks = math.ceil(n / chunk)
    attrs = _attrs(recipe, split, n, seed, kind, jacobian)
    sampled = recipe.sampling_recipe(split)
    report = GenerationReport(str(out), n, n_chunks, 0, 0, 0, mesh.size, count)
    lock = _lock(out) if index == 0 else None
    try:
        return _generate_locked(recipe, sampled, out, folder, split, n, seed, kind, chunk, batch, mesh, index,
                                count, n_chunks, attrs, report, progress, overwrite, max_attempts, compute,
                                jacobian, lock, t_start)
    finally:
        if lock is not None:
            lock[0].close()


def _generate_locked(recipe, sampled, out, folder, split, n, seed, kind, chunk, batch, mesh, index, count,
                     n_chunks, attrs, report, progress, overwrite, max_attempts, compute, jacobian, lock,
                     t_start):
    if overwrite and index == 0:
        out.unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
    distributed.barrier("dynamicall-generate-overwrite")
    if out.exists() and not folder.exists():
        old = dataset.read_attrs(out)
        same = all(str(old.get(k)) == str(attrs[k]) for k in dataset.HASHED_ATTRS)
        if not same:
            raise FileExistsError(f"{out} exists with other settings; choose another output or overwrite it")
        if jacobian and "jacobian" not in old:
            raise FileExistsError(f"{out} exists without the Jacobian; choose another output or overwrite it")
        report.already_complete, report.chunks_resumed = True, n_chunks
        report.failures = int(old.get("failures", 0))
        report.total_s = time.perf_counter() - t_start
        if lock is not None:
            lock[1].unlink(missing_ok=True)
        return report

    # Process 0 alone writes to the folder until the broadcast below: its clean-up of writes cut
    # short (``_done_chunks``) would otherwise delete another process's manifest being written.
    manifest = _manifest(attrs, chunk)
    if index == 0:
        folder.mkdir(parents=True, exist_ok=True)
        _check_manifest(folder, manifest)
        for stale in out.parent.glob(f"{out.name}.tmp.*"):  # a join cut short by an interruption
            stale.unlink(missing_ok=True)
        done = _done_chunks(folder, n_chunks)
    else:
        _check_manifest(folder, manifest, write=False)  # other settings: fail now, as process 0 does
        done = np.zeros(n_chunks, dtype=bool)
    done = distributed.broadcast_from_first(done).astype(bool)
    if index != 0:
        _check_manifest(folder, manifest, write=False)  # process 0 has written it by now
    pending = np.flatnonzero(~done)
    mine = pending[index::count]
    report.chunks_resumed = int(done.sum())
    # one process joins chunks into the finished file as it goes; several join at the end
    joiner = _Joiner(out, recipe, n, n_chunks, folder, done, jacobian) if count == 1 else None
    try:
        if mine.size:
            inputs = design.design_points(sampled, n, seed, kind)
            computer = _ChunkComputer(recipe, seed, chunk, mesh, batch or distributed.default_batch(mesh),
                                      compute, max_attempts, jacobian, sampled)
            report.setup_s = time.perf_counter() - t_start
            bar = _progress_bar(recipe, split, n, chunk, done, mine, count, enabled=progress and index == 0)
            try:
                _run_chunks(computer, joiner, inputs, mine, chunk, n, folder, report, bar)
            finally:
                bar.close()
        distributed.barrier("dynamicall-generate-chunks")
        if index == 0:
            t0 = time.perf_counter()
            if joiner is None:
                paths = [folder / dataset.CHUNK_NAME.format(k) for k in range(n_chunks)]
                written = dataset.write_from_chunks(out, paths, recipe.grid, attrs, recipe.n_inputs,
                                                    recipe.n_outputs, jacobian)
            else:
                joiner.drain()
                written = joiner.writer.finish(attrs)
                joiner = None
            shutil.rmtree(folder)
            if lock is not None:
                lock[1].unlink(missing_ok=True)
            report.failures = int(written["failures"])
            report.merge_s = time.perf_counter() - t0
    finally:
        if joiner is not None:
            joiner.writer.abort()
    distributed.barrier("dynamicall-generate-merged")
    report.total_s = time.perf_counter() - t_start
    return report


def _progress_bar(recipe, split, n, chunk, done, mine, count, enabled):
    from tqdm.auto import tqdm

    rows = lambda ks: sum(min(n, (int(k) + 1) * chunk) - int(k) * chunk for k in ks)  # noqa: E731
    total = n if count == 1 else rows(mine)
    initial = rows(np.flatnonzero(done)) if count == 1 else 0
    return tqdm(total=total, initial=initial, unit="profile", unit_scale=True, smoothing=0.1,
                desc=f"{recipe.name} [{split}]", disable=not enabled, dynamic_ncols=True)


__all__ = ["GenerationReport", "generate", "partial_path"]
