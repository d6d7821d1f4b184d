"""Devices and processes: split work over local devices and over JAX processes.

* Inside a process, a chunk of profiles is split evenly over the local devices with
  ``jax.sharding`` and ``jax.shard_map``; each device runs ``jax.lax.map`` over its rows in
  fixed-size batches. Every call has the same shapes, so the function compiles once.
* Across processes (one per GPU, or several hosts), ``jax.distributed`` gives each process
  its index; chunks are dealt out round-robin and each process writes its own chunk files.
  Process 0 decides which chunks are already done (broadcast to all) and, after a global
  barrier, joins the chunk files into the finished file.

On CPU, ``XLA_FLAGS=--xla_force_host_platform_device_count=4`` (set before JAX starts)
simulates four devices, and JAX's CPU collectives (gloo) serve the broadcast and barrier of
local multi-process runs.

Example
-------
>>> import jax, numpy as np
>>> mesh = local_mesh()
>>> run = sharded_map(lambda x: 2.0 * x, mesh, batch=2)
>>> run(np.arange(4.0 * len(mesh.devices.flat)).reshape(-1, 1))[:2, 0].tolist()
[0.0, 2.0]
"""

from __future__ import annotations

import math

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

#: Name of the mesh axis over which profiles are split.
AXIS = "profiles"


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None) -> None:
    """Start ``jax.distributed``; call before any other JAX computation.

    With no arguments JAX detects the cluster (SLURM, Open MPI, Kubernetes, ...); give all
    three for a hand-made cluster (e.g. several local processes).

    Parameters
    ----------
    coordinator_address : str, optional
        ``host:port`` of process 0.
    num_processes : int, optional
    process_id : int, optional
    """
    given = [v is not None for v in (coordinator_address, num_processes, process_id)]
    if any(given) and not all(given):
        raise ValueError("give coordinator_address, num_processes and process_id together, or none")
    jax.distributed.initialize(coordinator_address=coordinator_address, num_processes=num_processes,
                               process_id=process_id)


def process_layout() -> tuple[int, int]:
    """``(process index, process count)`` (``(0, 1)`` without ``jax.distributed``)."""
    return jax.process_index(), jax.process_count()


def local_mesh(devices=None) -> Mesh:
    """A one-axis mesh over this process's devices.

    Parameters
    ----------
    devices : None, int or sequence of jax.Device
        All local devices (None), the first ``devices`` of them (int), or these.
    """
    local = jax.local_devices()
    if devices is None:
        chosen = local
    elif isinstance(devices, int):
        if not 1 <= devices <= len(local):
            raise ValueError(f"devices must be in [1, {len(local)}] (local devices); got {devices}")
        chosen = local[:devices]
    else:
        chosen = list(devices)
    return Mesh(np.array(chosen), (AXIS,))


def default_batch(mesh: Mesh) -> int:
    """Rows per ``lax.map`` step on one device: 256 on CPU (memory-bound beyond), 8192 on
    accelerators."""
    return 256 if mesh.devices.flat[0].platform == "cpu" else 8192


def call_rows(chunk: int, n_devices: int, batch: int) -> tuple[int, int]:
    """Rows per call (a multiple of ``n_devices * batch``) and the batch actually used,
    for chunks of ``chunk`` rows.

    The batch is at least 2: XLA compiles a batch of one row to matrix-vector products,
    whose last bits differ from the batched ones; any batch of >= 2 rows gives bitwise
    the same rows on CPU, which keeps sets independent of the number of devices.

    Example
    -------
    >>> call_rows(100, 4, 256)
    (100, 25)
    >>> call_rows(1000, 4, 64)
    (1024, 64)
    >>> call_rows(4, 4, 256)
    (8, 2)
    """
    batch = max(2, min(batch, math.ceil(chunk / n_devices)))
    step = n_devices * batch
    return math.ceil(chunk / step) * step, batch


class ShardedMap:
    """``fn`` (one row -> one row) over the rows of an array, split over a mesh.

    Build with :func:`sharded_map`. ``dispatch(x)`` starts the computation and returns at
    once (JAX's asynchronous dispatch) with a ``jax.Array``; calling the object returns a
    NumPy array. ``x`` must have a multiple of ``mesh.size * batch`` rows.
    """

    def __init__(self, fn, mesh: Mesh, batch: int):
        spec = PartitionSpec(AXIS)

        def per_device(rows):
            return jax.lax.map(fn, rows, batch_size=batch)

        self._compiled = jax.jit(jax.shard_map(per_device, mesh=mesh, in_specs=spec, out_specs=spec))
        self._sharding = NamedSharding(mesh, spec)
        self.step = mesh.size * batch

    def dispatch(self, x):
        if x.shape[0] % self.step:
            raise ValueError(f"rows ({x.shape[0]}) must be a multiple of devices x batch ({self.step})")
        return self._compiled(jax.device_put(x, self._sharding))

    def __call__(self, x):
        return np.asarray(self.dispatch(x))


def sharded_map(fn, mesh: Mesh, batch: int) -> ShardedMap:
    """``fn`` (one row -> one row) over the rows of an array, split over ``mesh``.

    Parameters
    ----------
    fn : callable
        Pure JAX function of one row.
    mesh : Mesh
        From :func:`local_mesh`.
    batch : int
        Rows per ``lax.map`` step on each device.

    Returns
    -------
    ShardedMap
        ``run(x)`` for a NumPy array whose length is a multiple of ``mesh.size * batch``
        returns a NumPy array; ``run.dispatch(x)`` returns at once.
    """
    return ShardedMap(fn, mesh, batch)


def broadcast_from_first(array: np.ndarray) -> np.ndarray:
    """Process 0's ``array`` on every process (itself without ``jax.distributed``)."""
    if jax.process_count() == 1:
        return array
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.broadcast_one_to_all(array))


def barrier(name: str) -> None:
    """Wait until every process reaches this point (no-op for one process)."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)
