"""Test-run settings that keep the fast lane (``pytest -m "not slow"``) fast.

Most of the suite's time is XLA compiling many small programs (the Jeans engine, profile
methods, likelihoods), not running them. Two settings cut it without changing any result:

* XLA's LLVM backend runs at optimisation level 0 (``--xla_backend_optimization_level=0``):
  about 25 % less CPU time per compilation (measured on tests/test_jeans.py,
  tests/test_emulate.py and tests/test_tracers.py, 2026-12-02). The HLO optimisation passes
  still run; only LLVM's code optimisation is skipped. Results change by rounding only
  (measured: at most 1.6e-15 relative on a Zhao/Baes-van Hese sigma_los and a Sersic
  density), far below every tolerance here; NUTS and training tests ran no slower (42 s vs
  39 s CPU for two of them). A level already given in ``XLA_FLAGS`` wins.
* A persistent compilation cache in a new, empty folder for this run only (removed at its
  end): a program compiled twice in one run through different ``jit`` wrappers (a closure
  made per call, a model rebuilt per test) is compiled once. 141 of the fast lane's 1628
  compilations hit it (2026-12-02); nothing is carried from one run to the next.
* Heavy doctests and tutorials that a lighter test covers in the fast lane are marked
  ``slow`` here (see ``HEAVY``): CI runs them all.

XLA reads ``XLA_FLAGS`` when JAX first creates its CPU backend, which happens after this
file is imported (the root conftest.py only switches on float64).
"""

from __future__ import annotations

import os
import shutil
import tempfile

import jax
import pytest

if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()

#: Doctests (by their name, the same from the source tree and from an installed wheel) left
#: out of the fast lane, with the fast-lane test that covers the same code more cheaply.
HEAVY = {
    # each family's mass, circular velocity, surface density and half radii, eight compilations
    # per family: test_profiles.py (test_known_radii, test_quantities_convert_at_the_boundary);
    # the demo command itself: test_cli.py::test_demo_runs (slow)
    "dynamicall.demo.profile_table": "tests/test_profiles.py",
}


_CACHE = {}


def pytest_configure(config):
    folder = tempfile.mkdtemp(prefix="dynamicall-test-xla-cache-")
    _CACHE["folder"] = folder
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)


def pytest_unconfigure(config):
    folder = _CACHE.pop("folder", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.name in HEAVY:
            item.add_marker(pytest.mark.slow)
