"""Checkpoints of a NUTS run: the sampler state and the draws so far, in one ``.npz``.

:func:`dynamicall.infer.run.sample` writes a checkpoint after every compiled chunk and,
with ``resume=True``, continues from one. A checkpoint is tied to its run by a
fingerprint (the data, the model description, the sites and the settings except the
number of devices); reading it for another run raises ``ValueError``. Every write is
atomic (:func:`dynamicall._durable.save_npz`): a kill while writing leaves the previous
checkpoint, never a torn file.

Layout of the file: ``state_<i>`` (the leaves of the sampler state, chains first),
``out_z:<site>`` and ``out_stat:<field>`` (draws and statistics so far, (chains, iterations)),
``meta`` (JSON bytes: ``fingerprint``, ``done``, ``version``, ``settings``, ``sampling_time_s``).

(Exercised by tests/test_infer.py: a run stopped after its warm-up and resumed gives the
same draws as an uninterrupted one.)
"""

from __future__ import annotations

import hashlib
import json
import zipfile

import jax
import jax.numpy as jnp
import numpy as np

CHECKPOINT_VERSION = 1


def fingerprint(model, settings: dict) -> str:
    """A hash of the data, the model description, the sampled sites and ``settings``:
    what a checkpoint must match to be resumed."""
    h = hashlib.sha256()
    d = model.data
    for name in ("R", "v", "v_err", "sigma", "sigma_err", "pm_R", "pm_T"):
        arr = getattr(d, name, None)
        if arr is not None:
            h.update(np.ascontiguousarray(arr, dtype=float).tobytes())
    desc = dict(sites=list(model.sites), model=model.describe(), settings=settings)
    h.update(json.dumps(desc, sort_keys=True, default=str).encode())
    return h.hexdigest()


def _leaves(tree):
    out = []
    for x in jax.tree_util.tree_leaves(tree):
        x = jax.device_get(x)
        if jnp.issubdtype(getattr(x, "dtype", np.float64), jax.dtypes.prng_key):
            x = jax.device_get(jax.random.key_data(x))
        out.append(np.asarray(x))
    return out


def save_checkpoint(path, sampler, state, collected: dict, done: int, meta: dict) -> None:
    """Write the sampler state and the draws so far to ``path`` (npz), atomically and
    durably.

    Parameters
    ----------
    path : str or Path
        The checkpoint file.
    sampler : the run's compiled sampler (its ``from_devices`` gives the chain layout)
    state : the NUTS state
    collected : dict
        ``"z:<site>"`` and ``"stat:<field>"`` -> arrays (chains, iterations so far).
    done : int
        Iterations completed.
    meta : dict
        JSON-ready run information (``fingerprint``, ``settings``, ``sampling_time_s``).
    """
    from .._durable import save_npz

    arrays = {f"state_{i}": leaf for i, leaf in enumerate(_leaves(sampler.from_devices(state)))}
    for name, value in collected.items():
        arrays[f"out_{name}"] = value
    info = dict(meta, done=int(done), version=CHECKPOINT_VERSION)
    arrays["meta"] = np.frombuffer(json.dumps(info).encode(), dtype=np.uint8)
    save_npz(path, arrays)


def check_checkpoint(path, expected_fingerprint: str) -> dict:
    """The metadata of checkpoint ``path``.

    Raises
    ------
    ValueError
        If the file is not a readable checkpoint, or belongs to another model, data set or
        run settings (the message says how to continue).
    """
    try:
        with np.load(path) as f:
            meta = json.loads(bytes(f["meta"]).decode())
    except (zipfile.BadZipFile, EOFError, KeyError, ValueError, OSError) as err:
        raise ValueError(
            f"'{path}' is not a readable checkpoint ({type(err).__name__}); discard it "
            f"(dynamicall fit --overwrite, or delete the file) and start again"
        ) from None
    if meta.get("version") != CHECKPOINT_VERSION or meta.get("fingerprint") != expected_fingerprint:
        raise ValueError(
            f"checkpoint '{path}' was written for another model, data set or run settings: "
            f"resume with the interrupted run's exact options, or discard it (dynamicall fit "
            f"--overwrite, or delete the file)"
        )
    return meta


def load_checkpoint(path, sampler, template, expected_fingerprint: str):
    """Read a checkpoint written by :func:`save_checkpoint` for the same run.

    Returns
    -------
    (state, collected, meta)

    Raises
    ------
    ValueError
        If the checkpoint belongs to another model, data set or settings.
    """
    meta = check_checkpoint(path, expected_fingerprint)
    with np.load(path) as f:
        flat, treedef = jax.tree_util.tree_flatten(sampler.from_devices(template))
        leaves = [f[f"state_{i}"] for i in range(len(flat))]
        collected = {k[4:]: f[k] for k in f.files if k.startswith("out_")}
    restored = []
    for old, new in zip(flat, leaves):
        if jnp.issubdtype(old.dtype, jax.dtypes.prng_key):
            restored.append(jax.random.wrap_key_data(new))
            continue
        if np.shape(old) != new.shape:
            raise ValueError(f"checkpoint '{path}' does not match the sampler state (shape {new.shape})")
        restored.append(jnp.asarray(new, dtype=old.dtype))
    state = jax.tree_util.tree_unflatten(treedef, restored)
    return sampler._to_devices(state), collected, meta
