"""Neural emulators of the exact Jeans engine (Flax NNX), loadable without training code.

>>> from dynamicall.emulate import load, available
>>> "zhao_bvh_plummer" in available()  # doctest: +SKIP
True

See docs/emulators.md for the file format, the shipped emulators and their validation.
"""

from __future__ import annotations

import os
import pathlib

from .._resources import shipped_folder
from .emulator import Emulator, OutOfDomainError
from .files import EmulatorFileError, read_emulator
from .mapping import ProblemMismatch
from .networks import CNNMLP, MLP

#: Folders searched for emulators by name, after $DYNAMICALL_EMULATORS (os.pathsep-separated).
SHIPPED = shipped_folder("emulators")  # emulators/ in a checkout, package data when installed


def search_path() -> list[pathlib.Path]:
    """Folders where :func:`load` looks for emulators given by name."""
    extra = [pathlib.Path(p) for p in os.environ.get("DYNAMICALL_EMULATORS", "").split(os.pathsep) if p]
    return extra + [SHIPPED]


def available() -> list[str]:
    """Names of the emulators found on the search path."""
    names = set()
    for folder in search_path():
        if folder.is_dir():
            names.update(p.name for p in folder.iterdir() if (p / "card.json").is_file())
    return sorted(names)


def load(name_or_path, on_domain: str = "raise") -> Emulator:
    """Load an emulator by name (see :func:`available`) or from a folder.

    Parameters
    ----------
    name_or_path : str or path
        A shipped emulator's name, e.g. "zhao_bvh_plummer", or a folder with card.json
        and weights.npz.
    on_domain : {"raise", "warn", "penalty"}
        What to do with inputs outside the training domain (see :class:`Emulator`).

    Returns
    -------
    Emulator

    Raises
    ------
    EmulatorFileError
        If no such emulator exists, or its files are missing, truncated or inconsistent.
    """
    path = pathlib.Path(name_or_path)
    if not (path / "card.json").is_file():
        candidates = [folder / str(name_or_path) for folder in search_path()]
        found = [c for c in candidates if (c / "card.json").is_file()]
        if not found:
            raise EmulatorFileError(
                f"no emulator {str(name_or_path)!r}: not a folder with card.json, and not among "
                f"{available()} (searched {[str(p) for p in search_path()]})"
            )
        path = found[0]
    card, arrays = read_emulator(path)
    return Emulator(card=card, arrays=arrays, path=path, on_domain=on_domain)


__all__ = [
    "CNNMLP",
    "MLP",
    "Emulator",
    "EmulatorFileError",
    "OutOfDomainError",
    "ProblemMismatch",
    "available",
    "load",
]
