"""The HDF5 layout of training sets, their chunk files and their content hash.

A finished training set (one HDF5 file, written by ``dynamicall generate``) holds

================  ============  =====================================================
dataset           shape         contents
================  ============  =====================================================
``inputs``        (N, P)        float64 input vectors, columns ``input_names``
``outputs``       (N, Q*G)      ln sigma~ per quantity and radius, quantity-major
                                (float64 or float32 as the recipe says)
``grid``          (G,)          R / R_half
``jacobian``      (N, Q*G, P)   optional (``--jacobian``): d outputs / d inputs from the
                                exact engine (forward-mode autodiff), float64
================  ============  =====================================================

and the attributes ``format``, ``recipe`` (TOML text), ``recipe_name``,
``recipe_fingerprint``, ``input_names``, ``quantities``, ``bounds`` and ``priors``
(JSON), ``engine_version``, ``split``, ``design``, ``seed``, ``n``, ``failures`` (the
number of failed evaluations, all replaced), ``failure_examples`` (JSON list),
``software`` (JSON of package versions) and ``content_hash``.

``content_hash`` is the sha256 of a canonical JSON holding the sha256 of the bytes of
``inputs``, ``outputs`` and ``grid`` (little-endian, C order) and the key attributes
(:data:`HASHED_ATTRS`). It does not cover comments in the recipe text or software
versions. Files are written with fixed layouts, no HDF5 timestamps and a fixed order, so
two runs with equal settings on the same software give byte-identical files.

Chunk files (``chunk_000012.h5`` in the ``FILE.h5.partial`` folder) hold the rows of one
chunk; they are written to a temporary name, flushed to disk and renamed, so a chunk
file either exists complete or not at all.

Example
-------
>>> import numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "set.h5")
>>> attrs = dict(input_names=["a"], quantities=["log_sigma_los"], recipe_fingerprint="f",
...              seed=1, design="sobol", split="train", n=2, engine_version="e", output_dtype="float64")
>>> _ = write_arrays(path, np.zeros((2, 1)), np.ones((2, 3)), np.array([0.1, 1.0, 10.0]), attrs)
>>> data = read_dataset(path)
>>> data.outputs.shape, data.input_names
((2, 3), ('a',))
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib

import numpy as np

#: Value of the ``format`` attribute of a finished training set.
FORMAT = "dynamicall-training-set 1"

#: Attributes covered by ``content_hash`` (with the bytes of the three datasets).
HASHED_ATTRS = (
    "input_names", "quantities", "recipe_fingerprint", "seed", "design", "split", "n",
    "engine_version", "output_dtype",
)

#: Name pattern of chunk files inside a partial folder.
CHUNK_NAME = "chunk_{:06d}.h5"


@dataclasses.dataclass(frozen=True, eq=False)
class TrainingSet:
    """A training set read from HDF5.

    Attributes
    ----------
    inputs : numpy.ndarray, (N, P) float64
    outputs : numpy.ndarray, (N, Q*G)
    grid : numpy.ndarray, (G,) R / R_half
    input_names : tuple of str
    quantities : tuple of str
    attrs : dict
        Every HDF5 attribute (JSON attributes decoded).
    """

    inputs: np.ndarray
    outputs: np.ndarray
    grid: np.ndarray
    input_names: tuple
    quantities: tuple
    attrs: dict
    jacobian: np.ndarray | None = None

    def __len__(self):
        return self.inputs.shape[0]

    def outputs_for(self, quantity: str) -> np.ndarray:
        """The (N, G) block of ``outputs`` for one quantity, e.g. ``"log_sigma_los"``."""
        if quantity not in self.quantities:
            raise ValueError(f"no quantity {quantity!r}; the set has {self.quantities}")
        g = self.grid.size
        q = self.quantities.index(quantity)
        return self.outputs[:, q * g : (q + 1) * g]


def _sha256(array) -> str:
    array = np.ascontiguousarray(array)
    return hashlib.sha256(array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()).hexdigest()


def _key_attrs(attrs: dict) -> dict:
    missing = [k for k in HASHED_ATTRS if k not in attrs]
    if missing:
        raise ValueError(f"attributes {missing} are needed for the content hash")
    out = {}
    for k in HASHED_ATTRS:
        v = attrs[k]
        if isinstance(v, (list, tuple, np.ndarray)):
            v = [str(x) for x in v]
        elif isinstance(v, (np.integer, int)):
            v = int(v)
        else:
            v = str(v)
        out[k] = v
    return out


def content_hash(inputs_sha256: str, outputs_sha256: str, grid_sha256: str, attrs: dict,
                 jacobian_sha256: str | None = None) -> str:
    """The ``content_hash`` attribute from the datasets' sha256 and the key attributes.

    Example
    -------
    >>> attrs = dict(input_names=["a"], quantities=["q"], recipe_fingerprint="f", seed=1,
    ...              design="sobol", split="train", n=1, engine_version="e", output_dtype="float64")
    >>> len(content_hash("0", "1", "2", attrs))
    64
    """
    doc = dict(inputs=inputs_sha256, outputs=outputs_sha256, grid=grid_sha256, attrs=_key_attrs(attrs))
    if jacobian_sha256 is not None:  # sets without a Jacobian keep their hash
        doc["jacobian"] = jacobian_sha256
    if "sampled_bounds" in attrs:
        value = attrs["sampled_bounds"]
        doc["sampled_bounds"] = value if isinstance(value, str) else json.dumps(value)
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _fsync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _replace_durably(tmp: pathlib.Path, final: pathlib.Path, sync_folder: bool = True):
    """Flush ``tmp`` to disk and rename it to ``final`` (atomic on POSIX).

    The data reach the disk before the rename, so ``final`` is never torn, even after a
    power loss. ``sync_folder`` also makes the rename itself durable (without it, a power
    loss may forget a chunk file, which is then recomputed).
    """
    _fsync(tmp)
    os.replace(tmp, final)
    if sync_folder:
        try:
            _fsync(final.parent)
        except OSError:  # some file systems cannot fsync a directory
            pass


def _set_attrs(f, attrs: dict):
    import h5py

    for key in sorted(attrs):
        value = attrs[key]
        if isinstance(value, (list, tuple)):
            f.attrs.create(key, [str(v) for v in value], dtype=h5py.string_dtype())
        elif isinstance(value, str):
            f.attrs.create(key, value, dtype=h5py.string_dtype())
        elif isinstance(value, (bool, np.bool_)):
            f.attrs[key] = bool(value)
        elif isinstance(value, (int, np.integer)):
            f.attrs.create(key, int(value), dtype="<i8")
        else:
            f.attrs[key] = value


def _decode(value):
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray) and value.dtype == object:
        return [v.decode() if isinstance(v, bytes) else str(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    return value


# ------------------------------------------------------------------ chunk files
def write_chunk(path, inputs, outputs, chunk: int, start: int, failures: list):
    """Write one chunk file atomically (temporary name, fsync, rename).

    A killed process leaves either the complete file or none; after a power loss a chunk
    file may be missing (it is then recomputed) but never torn.

    Parameters
    ----------
    path : path-like
        Final name, e.g. ``partial / CHUNK_NAME.format(k)``.
    inputs, outputs : numpy.ndarray
        The chunk's rows (replacements included), outputs in their storage dtype.
    chunk, start : int
        Chunk index and its first row.
    failures : list of dict
        Failed evaluations in this chunk (JSON-serialisable records).
    """
    import h5py

    path = pathlib.Path(path)
    tmp = path.with_name(f"{path.name}.tmp.{os.getpid()}")
    with h5py.File(tmp, "w") as f:
        f.create_dataset("inputs", data=inputs, track_times=False)
        f.create_dataset("outputs", data=outputs, track_times=False)
        _set_attrs(f, dict(chunk=chunk, start=start, failures=json.dumps(failures)))
    _replace_durably(tmp, path, sync_folder=False)


def read_chunk(path) -> dict:
    """Read a chunk file: ``inputs``, ``outputs``, ``chunk``, ``start``, ``failures``."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return dict(
                inputs=f["inputs"][()],
                outputs=f["outputs"][()],
                chunk=int(f.attrs["chunk"]),
                start=int(f.attrs["start"]),
                failures=json.loads(_decode(f.attrs["failures"])),
            )
    except (OSError, KeyError) as err:
        raise OSError(f"unreadable chunk file {path} ({err}); delete it and rerun to recompute it") from None


# ------------------------------------------------------------------ final files
def _create_final(f, n, n_inputs, n_outputs, grid, output_dtype, jacobian=False):
    f.create_dataset("inputs", shape=(n, n_inputs), dtype="<f8", track_times=False)
    f.create_dataset("outputs", shape=(n, n_outputs), dtype=np.dtype(output_dtype).newbyteorder("<"),
                     track_times=False)
    f.create_dataset("grid", data=np.asarray(grid, dtype="<f8"), track_times=False)
    if jacobian:
        f.create_dataset("jacobian", shape=(n, n_outputs, n_inputs), dtype="<f8", track_times=False)


class TrainingSetWriter:
    """Writes a finished training set row block by row block, in row order.

    The file is built under a temporary name; :meth:`finish` adds the attributes (with
    ``failures``, ``failure_examples`` and ``content_hash``), flushes it to disk and renames
    it into place. Every way of building a set (incrementally during a run, or by joining
    chunk files afterwards) goes through the same calls, so the bytes are the same.

    Parameters
    ----------
    path : path-like
        The finished file.
    n, n_inputs, n_outputs : int
        Rows and columns.
    grid : array
        R / R_half.
    output_dtype : str
        Storage dtype of ``outputs``.
    jacobian : bool
        The rows appended hold, after the ``n_outputs`` values, the Jacobian d outputs /
        d inputs flattened (n_outputs x n_inputs, row-major); it is stored as the dataset
        ``jacobian`` (float64).
    """

    def __init__(self, path, n: int, n_inputs: int, n_outputs: int, grid, output_dtype: str,
                 jacobian: bool = False):
        import h5py

        self.path = pathlib.Path(path)
        self.tmp = self.path.with_name(f"{self.path.name}.tmp.{os.getpid()}")
        self.n, self.row, self.grid = int(n), 0, np.asarray(grid, dtype="<f8")
        self.n_inputs, self.n_outputs, self.jacobian = int(n_inputs), int(n_outputs), bool(jacobian)
        self.failures, self.examples = 0, []
        self._hash_inputs, self._hash_outputs = hashlib.sha256(), hashlib.sha256()
        self._hash_jacobian = hashlib.sha256()
        self._file = h5py.File(self.tmp, "w")
        _create_final(self._file, self.n, n_inputs, n_outputs, self.grid, output_dtype, self.jacobian)

    def append(self, inputs, outputs, failures=()):
        """Write the next rows (and count their failure records)."""
        f = self._file
        rows = inputs.shape[0]
        if self.row + rows > self.n:
            raise ValueError(f"{self.row + rows} rows exceed the set's {self.n}")
        x = np.ascontiguousarray(inputs, dtype="<f8")
        outputs = np.asarray(outputs)
        if self.jacobian:
            jac = np.ascontiguousarray(outputs[:, self.n_outputs :], dtype="<f8")
            jac = jac.reshape(rows, self.n_outputs, self.n_inputs)
            f["jacobian"][self.row : self.row + rows] = jac
            self._hash_jacobian.update(memoryview(jac))
            outputs = outputs[:, : self.n_outputs]
        y = np.ascontiguousarray(outputs, dtype=f["outputs"].dtype)
        f["inputs"][self.row : self.row + rows] = x
        f["outputs"][self.row : self.row + rows] = y
        self._hash_inputs.update(memoryview(x))  # C-contiguous little-endian: the array's bytes
        self._hash_outputs.update(memoryview(y))
        self.failures += len(failures)
        self.examples.extend(list(failures)[: max(0, 10 - len(self.examples))])
        self.row += rows

    def finish(self, attrs: dict) -> dict:
        """Add the attributes, flush and rename; returns the attributes written."""
        if self.row != self.n:
            self.abort()
            raise ValueError(f"{self.row} rows written; the set has {self.n}")
        attrs = dict(attrs, format=FORMAT, failures=self.failures, failure_examples=json.dumps(self.examples))
        attrs["content_hash"] = content_hash(self._hash_inputs.hexdigest(), self._hash_outputs.hexdigest(),
                                             _sha256(self.grid), attrs,
                                             self._hash_jacobian.hexdigest() if self.jacobian else None)
        _set_attrs(self._file, attrs)
        self._file.close()
        _replace_durably(self.tmp, self.path)
        return attrs

    def abort(self):
        """Close and delete the temporary file."""
        try:
            self._file.close()
        finally:
            self.tmp.unlink(missing_ok=True)


def write_from_chunks(path, chunk_paths, grid, attrs: dict, n_inputs: int, n_outputs: int,
                      jacobian: bool = False) -> dict:
    """Join chunk files (in row order) into a finished training set, atomically.

    Streams one chunk at a time (memory: one chunk) through :class:`TrainingSetWriter`.

    Parameters
    ----------
    path : path-like
        The finished file.
    chunk_paths : sequence of path-like
        Every chunk file, in chunk order; their rows must tile 0..n-1.
    grid : array
        R / R_half.
    attrs : dict
        Attributes; must hold :data:`HASHED_ATTRS` (``n`` and ``output_dtype`` included).
    n_inputs, n_outputs : int

    Returns
    -------
    dict
        The attributes written.
    """
    writer = TrainingSetWriter(path, int(attrs["n"]), n_inputs, n_outputs, grid, attrs["output_dtype"], jacobian)
    try:
        for chunk_path in chunk_paths:
            part = read_chunk(chunk_path)
            if part["start"] != writer.row:
                raise ValueError(f"chunk file {chunk_path} starts at row {part['start']}, expected {writer.row}")
            writer.append(part["inputs"], part["outputs"], part["failures"])
    except BaseException:
        writer.abort()
        raise
    return writer.finish(attrs)


def write_arrays(path, inputs, outputs, grid, attrs: dict) -> dict:
    """Write a training set from in-memory arrays (through :class:`TrainingSetWriter`;
    no failures recorded). Returns the attributes written."""
    inputs = np.asarray(inputs)
    writer = TrainingSetWriter(path, inputs.shape[0], inputs.shape[1], np.shape(outputs)[1], grid,
                               attrs["output_dtype"])
    writer.append(inputs, np.asarray(outputs))
    return writer.finish(attrs)


def read_attrs(path) -> dict:
    """The attributes of a training set (JSON attributes decoded), without its data."""
    import h5py

    with h5py.File(path, "r") as f:
        attrs = {k: _decode(v) for k, v in f.attrs.items()}
    for key in ("failure_examples", "bounds", "priors", "software", "sampled_bounds"):
        if isinstance(attrs.get(key), str):
            attrs[key] = json.loads(attrs[key])
    return attrs


def read_dataset(path, verify: bool = True) -> TrainingSet:
    """Read a training set written by ``dynamicall generate``.

    Parameters
    ----------
    path : path-like
    verify : bool
        Recompute ``content_hash`` and raise ``ValueError`` if it differs.

    Returns
    -------
    TrainingSet
    """
    import h5py

    with h5py.File(path, "r") as f:
        if _decode(f.attrs.get("format")) != FORMAT:
            raise ValueError(f"{path} is not a Dynamicall training set (format {f.attrs.get('format')!r})")
        inputs, outputs, grid = f["inputs"][()], f["outputs"][()], f["grid"][()]
        jacobian = f["jacobian"][()] if "jacobian" in f else None
    attrs = read_attrs(path)
    if verify:
        expected = content_hash(_sha256(inputs), _sha256(outputs), _sha256(grid), attrs,
                                None if jacobian is None else _sha256(jacobian))
        if expected != attrs.get("content_hash"):
            raise ValueError(f"{path}: content_hash does not match the data (file altered or damaged)")
    return TrainingSet(inputs, outputs, grid, tuple(attrs["input_names"]), tuple(attrs["quantities"]), attrs,
                       jacobian)


def differences(path_a, path_b) -> list:
    """What differs between two HDF5 files: dataset names, shapes, dtypes, values
    (bitwise) and attributes. An empty list means the files are identical as data.

    Example
    -------
    >>> import numpy as np, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> attrs = dict(input_names=["a"], quantities=["q"], recipe_fingerprint="f", seed=1,
    ...              design="sobol", split="train", n=1, engine_version="e", output_dtype="float64")
    >>> for name, seed in (("a.h5", 1), ("b.h5", 2)):
    ...     _ = write_arrays(os.path.join(d, name), np.zeros((1, 1)), np.ones((1, 2)),
    ...                      np.array([1.0, 2.0]), dict(attrs, seed=seed))
    >>> sorted(differences(os.path.join(d, "a.h5"), os.path.join(d, "b.h5")))
    ['attribute content_hash', 'attribute seed']
    """
    import h5py

    out = []
    with h5py.File(path_a, "r") as a, h5py.File(path_b, "r") as b:
        for name in sorted(set(a) | set(b)):
            if name not in a or name not in b:
                out.append(f"dataset {name} in one file only")
                continue
            x, y = a[name][()], b[name][()]
            if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
                out.append(f"dataset {name}")
        for key in sorted(set(a.attrs) | set(b.attrs)):
            if key not in a.attrs or key not in b.attrs:
                out.append(f"attribute {key} in one file only")
            elif not np.array_equal(np.asarray(a.attrs[key]), np.asarray(b.attrs[key])):
                out.append(f"attribute {key}")
    return out
