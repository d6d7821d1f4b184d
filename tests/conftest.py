"""Test-run settings that keep the fast lane (``pytest -m "not slow"``) fast.

Most of the suite's time is XLA compiling many small programs (the Jeans engine, profile
methods, likelihoods), not running them. Two settings cut it without changing any result:

* A persistent compilation cache in a new, empty folder for this run only (removed at its
  end): a program compiled twice in one run through different ``jit`` wrappers (a closure
  made per call, a model rebuilt per test) is compiled once. 141 of the fast lane's 1628
  compilations hit it (2026-12-02); nothing is carried from one run to the next. With
  pytest-xdist (``-n 2``) the workers share the controller's folder.
* Heavy doctests and tutorials that a lighter test covers in the fast lane are marked
  ``slow`` here (see ``HEAVY``): CI runs them all.

The tests compile with XLA's default optimisation level, as users' programs do. Level 0
(``--xla_backend_optimization_level=0``) cuts ~25 % of the compile time but changes results by
rounding: float64 by ~1e-15, and the emulators' float32 networks by float32 rounding where a
batched and an unbatched evaluation then take different code paths (tests/test_population.py
asserts that they agree bit for bit at the default level), so it is not used.
"""

from __future__ import annotations

import shutil
import tempfile

import jax
import pytest

#: Doctests (by their name, the same from the source tree and from an installed wheel) left
#: out of the fast lane, with the fast-lane test that covers the same code more cheaply.
HEAVY = {
    # each family's mass, circular velocity, surface density and half radii, eight compilations
    # per family: test_profiles.py (test_known_radii, test_quantities_convert_at_the_boundary);
    # the demo command itself: test_cli.py::test_demo_runs (slow)
    "dynamicall.demo.profile_table": "tests/test_profiles.py",
    # a CNN+MLP built eagerly (each layer's initialiser compiles per shape, ~50 compilations):
    # the shipped CNN emulator builds the same network, and
    # test_cnn_emulator.py::test_cached_encoder_gives_the_uncached_outputs checks that
    # head(encode(x)) is the network's output
    "dynamicall.emulate.networks.CNNMLP": "tests/test_cnn_emulator.py",
    # generate() on the shipped recipe: the same driver runs in tests/test_generate.py (tiny
    # recipe: resume, failures, float64 check) and the shipped recipe's values in its
    # test_reference_set_in_data_is_the_shipped_recipes_test_split
    "dynamicall.train.generate": "tests/test_generate.py",
}


_CACHE = {}


def pytest_configure(config):
    # pytest-xdist workers share the controller's folder (their programs overlap)
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and "xla_cache" in workerinput:
        folder = workerinput["xla_cache"]
    else:
        folder = _CACHE["folder"] = tempfile.mkdtemp(prefix="dynamicall-test-xla-cache-")
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """pytest-xdist (controller): hand the run's cache folder to each worker."""
    node.workerinput["xla_cache"] = _CACHE["folder"]


def pytest_unconfigure(config):
    folder = _CACHE.pop("folder", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.name in HEAVY:
            item.add_marker(pytest.mark.slow)
