"""Shared test setup (tests and doctests): float64 unless a test asks for float32."""

import jax
import numpy as np
import pytest

jax.config.update("jax_enable_x64", True)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
