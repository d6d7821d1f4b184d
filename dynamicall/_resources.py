"""Where the files the library reads at run time live: shipped emulators and recipes.

They are kept at the top of the source tree (``emulators/NAME/``, ``training/NAME.toml``), and
a wheel or a non-editable ``pip install`` copies them into the package as
``dynamicall/_emulators/`` and ``dynamicall/_training/`` (``setup.py`` maps the two folders
onto these package-data directories). :func:`shipped_folder` finds them with
:mod:`importlib.resources` in an installed package, and in the source tree when the package is
imported from a checkout (``PYTHONPATH`` or an editable install), so both work the same.

Example
-------
>>> (shipped_folder("training") / "zhao_bvh_plummer.toml").is_file()
True
"""

from __future__ import annotations

import importlib.resources
import pathlib

#: Shipped folder name in the source tree -> package-data directory inside ``dynamicall``.
PACKAGE_DATA = {"emulators": "_emulators", "training": "_training"}


def shipped_folder(kind: str) -> pathlib.Path:
    """The folder holding the shipped files of one kind.

    Parameters
    ----------
    kind : {"emulators", "training"}
        ``"emulators"``: one sub-folder per shipped emulator; ``"training"``: the recipes.

    Returns
    -------
    pathlib.Path
        The package-data folder of an installed package if it exists, else the folder of the
        source checkout the package is imported from (which need not exist: a caller that
        finds nothing there reports the path it searched).

    Raises
    ------
    ValueError
        If ``kind`` is not one of the shipped kinds.

    Example
    -------
    >>> shipped_folder("emulators").name in ("emulators", "_emulators")
    True
    """
    if kind not in PACKAGE_DATA:
        raise ValueError(f"kind must be one of {sorted(PACKAGE_DATA)}, got {kind!r}")
    package = importlib.resources.files("dynamicall")
    installed = package / PACKAGE_DATA[kind]
    if installed.is_dir():
        # installed packages are unpacked on disk (wheels are never imported zipped here)
        return pathlib.Path(str(installed))
    return pathlib.Path(str(package)).resolve().parent / kind
