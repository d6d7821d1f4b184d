"""Shared test setup (tests and doctests): float64 unless a test asks for float32."""

import jax
import numpy as np
import pytest

jax.config.update("jax_enable_x64", True)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def shipped_emulator():
    """The shipped emulator ``zhao_bvh_plummer``, loaded once; a failure to load fails the
    test (it ships with the repository, so it must load)."""
    try:
        from dynamicall.emulate import load

        return load("zhao_bvh_plummer")
    except Exception as err:  # noqa: BLE001 - any failure means the emulator is not usable
        pytest.fail(f"these tests need the shipped emulator 'zhao_bvh_plummer' "
                    f"(dynamicall.emulate.load): {type(err).__name__}: {err}")
