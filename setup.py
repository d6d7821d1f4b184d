"""Package layout that pyproject.toml alone cannot express (all metadata is in pyproject.toml).

The shipped emulators (``emulators/NAME/``) and recipes (``training/NAME.toml``) stay at the top
of the source tree; a wheel or a non-editable install copies them into the package as
``dynamicall/_emulators/NAME/`` and ``dynamicall/_training/``, where
:func:`dynamicall._resources.shipped_folder` finds them with importlib.resources. Every
``emulators/*/`` folder and every file in it is included, so a new emulator needs no change
here (each folder is declared as a data-only package, which is how setuptools ships folders).
"""

import pathlib

from setuptools import find_packages, setup

HERE = pathlib.Path(__file__).resolve().parent
DATA = {"dynamicall._emulators": "emulators", "dynamicall._training": "training"}
EMULATORS = sorted(
    f"dynamicall._emulators.{p.name}"
    for p in (HERE / "emulators").iterdir()
    if p.is_dir() and not p.name.startswith((".", "_"))
)

setup(
    packages=find_packages(include=["dynamicall", "dynamicall.*"]) + sorted(DATA) + EMULATORS,
    package_dir=DATA,
    package_data={"dynamicall._training": ["*.toml"], **{name: ["*"] for name in EMULATORS}},
    exclude_package_data={name: ["*.partial", "*.tmp"] for name in EMULATORS},
)
