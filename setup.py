"""Package layout that pyproject.toml alone cannot express (all metadata is in pyproject.toml).

The shipped emulators (``emulators/NAME/``) and recipes (``training/NAME.toml``) stay at the top
of the source tree; a wheel or a non-editable install copies them into the package as
``dynamicall/_emulators/`` and ``dynamicall/_training/``, where
:func:`dynamicall._resources.shipped_folder` finds them with importlib.resources. Every file of
every ``emulators/*/`` folder is included, so a new emulator needs no change here.
"""

from setuptools import find_packages, setup

DATA = {"dynamicall._emulators": "emulators", "dynamicall._training": "training"}

setup(
    packages=find_packages(include=["dynamicall", "dynamicall.*"]) + sorted(DATA),
    package_dir=DATA,
    package_data={"dynamicall._emulators": ["*/*"], "dynamicall._training": ["*.toml"]},
    exclude_package_data={"dynamicall._emulators": ["*/*.partial", "*/*.tmp"]},
)
