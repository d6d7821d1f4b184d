"""The emulator file format: a folder with ``card.json`` and ``weights.npz``.

``weights.npz`` holds one named float array per network parameter (NumPy's zip of .npy
files, read with ``allow_pickle=False``: no pickle anywhere). ``card.json`` holds
everything else needed to use the emulator without training code: the problem (families,
input names and order, domain bounds and constraints, radial grid, output quantities, the
recipe text), the architecture, the normalisation, training provenance (dataset hash and
size, engine version) and validation metrics. The card records the SHA-256 of the weights
file and the shape of every array, so a truncated, swapped or edited file is refused with
a clear error instead of giving a wrong answer.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import tempfile

import numpy as np

FORMAT_VERSION = 1
CARD = "card.json"
WEIGHTS = "weights.npz"
REQUIRED_SECTIONS = ("format_version", "name", "problem", "architecture", "normalization", "weights")


class EmulatorFileError(ValueError):
    """An emulator folder is missing, truncated, or inconsistent with its card."""


def sha256_file(path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _atomic_write_bytes(path: pathlib.Path, data: bytes):
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes files private; emulators are shared
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_card(folder, card: dict):
    """Write ``card.json`` atomically (sorted keys, indented)."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _atomic_write_bytes(folder / CARD, (json.dumps(card, indent=1, sort_keys=True) + "\n").encode())


def save_emulator(folder, card: dict, arrays: dict) -> dict:
    """Write ``weights.npz`` and ``card.json`` (with the weights' hash and shapes).

    Parameters
    ----------
    folder : path
        Created if missing; existing files are replaced atomically.
    card : dict
        The card without its ``weights`` section (added here).
    arrays : dict of str -> array
        Named weights.

    Returns
    -------
    dict
        The card as written.
    """
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="weights", suffix=".npz")
    os.close(fd)
    try:
        np.savez(tmp, **{k: np.asarray(v) for k, v in arrays.items()})
        os.chmod(tmp, 0o644)
        os.replace(tmp, folder / WEIGHTS)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    card = dict(card)
    card["format_version"] = FORMAT_VERSION
    card["weights"] = {
        "file": WEIGHTS,
        "sha256": sha256_file(folder / WEIGHTS),
        "arrays": {k: list(np.shape(v)) for k, v in arrays.items()},
    }
    write_card(folder, card)
    return card


def read_emulator(folder) -> tuple[dict, dict]:
    """Read and check an emulator folder; returns (card, arrays).

    Raises
    ------
    EmulatorFileError
        If the folder, card or weights are missing, unreadable, of another format
        version, or if the weights' hash or array shapes differ from the card's.
    """
    folder = pathlib.Path(folder)
    card_path, weights_path = folder / CARD, folder / WEIGHTS
    if not card_path.is_file():
        raise EmulatorFileError(f"no {CARD} in {folder}: not an emulator folder")
    try:
        card = json.loads(card_path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise EmulatorFileError(f"{card_path} is not valid JSON ({err}); the file may be truncated") from None
    missing = [k for k in REQUIRED_SECTIONS if k not in card]
    if missing:
        raise EmulatorFileError(f"{card_path} lacks the section(s) {missing}")
    if card["format_version"] != FORMAT_VERSION:
        raise EmulatorFileError(
            f"{card_path} has format version {card['format_version']}, this Dynamicall reads {FORMAT_VERSION}"
        )
    if not weights_path.is_file():
        raise EmulatorFileError(f"{weights_path} is missing")
    digest = sha256_file(weights_path)
    if digest != card["weights"]["sha256"]:
        raise EmulatorFileError(
            f"{weights_path} does not match its card (sha256 {digest[:12]}... != "
            f"{card['weights']['sha256'][:12]}...): truncated or replaced weights"
        )
    try:
        with np.load(weights_path, allow_pickle=False) as data:
            arrays = {k: np.array(data[k]) for k in data.files}
    except Exception as err:  # zip or npy corruption
        raise EmulatorFileError(f"cannot read {weights_path}: {err}") from None
    expected = {k: tuple(v) for k, v in card["weights"]["arrays"].items()}
    found = {k: tuple(v.shape) for k, v in arrays.items()}
    if expected != found:
        raise EmulatorFileError(f"{weights_path} arrays {found} differ from the card's {expected}")
    return card, arrays
