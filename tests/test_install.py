"""The package finds its shipped files wherever it is installed, and CI tests the installed
package (not the source tree it was built from)."""

from __future__ import annotations

import os
import pathlib

import pytest

import dynamicall
from dynamicall._resources import PACKAGE_DATA, shipped_folder
from dynamicall.emulate import available
from dynamicall.train.recipe import shipped_recipe_path

PACKAGE = pathlib.Path(dynamicall.__file__).resolve().parent
SOURCE_TREE = (PACKAGE.parent / "pyproject.toml").is_file()


@pytest.mark.parametrize("kind", sorted(PACKAGE_DATA))
def test_shipped_folders_are_where_this_install_keeps_them(kind):
    folder = shipped_folder(kind).resolve()
    # a source checkout keeps them at its top (emulators/, training/); an installed package
    # as package data inside itself (dynamicall/_emulators, dynamicall/_training)
    expected = PACKAGE.parent / kind if SOURCE_TREE else PACKAGE / PACKAGE_DATA[kind]
    assert folder == expected
    assert folder.is_dir()


def test_shipped_emulator_and_recipe_are_found_by_name():
    assert "zhao_bvh_plummer" in available()
    assert shipped_recipe_path("zhao_bvh_plummer").is_file()
    with pytest.raises(ValueError, match="no shipped recipe 'nope'"):
        shipped_recipe_path("nope")
    with pytest.raises(ValueError, match="kind must be one of"):
        shipped_folder("data")


def test_every_emulator_folder_is_a_complete_emulator():
    """Every emulators/*/ folder ships (setup.py takes all of them): each must hold a card
    and weights, so a half-written folder cannot slip into a wheel."""
    folder = shipped_folder("emulators")
    names = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert names == available()
    for name in names:
        assert {"card.json", "weights.npz"} <= {p.name for p in (folder / name).iterdir()}


def test_tests_import_the_installed_package():
    """.ci/run sets DYNAMICALL_TEST_INSTALLED to the site-packages folder of the fresh
    virtual environment: the package under test must come from there."""
    site = os.environ.get("DYNAMICALL_TEST_INSTALLED")
    if not site:
        pytest.skip("only under .ci/run, which tests an installed wheel")
    assert PACKAGE.is_relative_to(pathlib.Path(site).resolve()), dynamicall.__file__
    assert not SOURCE_TREE
