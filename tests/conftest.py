"""Test-run settings that keep the fast lane (``pytest -m "not slow"``) fast.

Most of the suite's time is XLA compiling many small programs (the Jeans engine, profile
methods, likelihoods), not running them. Two settings cut it without changing any result:

* A persistent compilation cache kept by pytest's cache (``.pytest_cache/d/xla-compilation``;
  above :data:`CACHE_MAX_BYTES` the oldest entries are dropped at the start of a run): a program
  compiled once, in this run or an earlier one, is read back instead of compiled again.
  The first run in a fresh clone (and every CI run) compiles everything; a later run
  compiles only the programs an edit changed. JAX keys each entry by the program's full
  HLO (its constants included), the JAX and XLA versions and the compile options, so a
  cached program is the program the test would compile. ``pytest --cache-clear`` starts
  cold; ``-p no:cacheprovider`` uses a new, empty folder for the run instead (removed at
  its end). With pytest-xdist (``-n 2``) the workers share the controller's folder.
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


#: Largest size of the kept compilation cache (a whole fast lane writes ~50 MB). JAX's own
#: limit (``jax_compilation_cache_max_size``) needs the ``filelock`` package, not a dependency.
CACHE_MAX_BYTES = 500 * 2**20

_CACHE = {}


def _cache_folder(config) -> str:
    """pytest's cache folder for compiled programs, or a new one for this run only."""
    # pytest-xdist workers share the controller's folder (their programs overlap)
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and "xla_cache" in workerinput:
        return workerinput["xla_cache"]
    cache = getattr(config, "cache", None)  # None under -p no:cacheprovider
    if cache is not None:
        folder = cache.mkdir("xla-compilation")
        _prune(folder, CACHE_MAX_BYTES)
        return str(folder)
    folder = _CACHE["temporary"] = tempfile.mkdtemp(prefix="dynamicall-test-xla-cache-")
    return folder


def _prune(folder, max_bytes: int) -> None:
    """Delete the oldest entries of ``folder`` until it holds at most half of ``max_bytes``
    (only when it holds more than ``max_bytes``)."""
    entries = [(f.stat().st_mtime, f.stat().st_size, f) for f in folder.iterdir() if f.is_file()]
    total = sum(size for _, size, _ in entries)
    if total <= max_bytes:
        return
    for _, size, path in sorted(entries, key=lambda e: e[0]):
        if total <= max_bytes // 2:
            break
        path.unlink(missing_ok=True)
        total -= size


def pytest_configure(config):
    _CACHE["folder"] = folder = _cache_folder(config)
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """pytest-xdist (controller): hand the run's cache folder to each worker."""
    node.workerinput["xla_cache"] = _CACHE["folder"]


def pytest_unconfigure(config):
    folder = _CACHE.pop("temporary", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.name in HEAVY:
            item.add_marker(pytest.mark.slow)
