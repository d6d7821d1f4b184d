"""Shared timing helper of the benchmark scripts (run as ``python benchmarks/NAME.py``,
which puts this folder on ``sys.path``)."""

from __future__ import annotations

import time

import jax
import numpy as np


def median_time(fn, *args, repeat=7, number=1):
    """Median seconds per call of ``fn(*args)`` over ``repeat`` timings of ``number``
    calls each, after one untimed call (compilation, warm-up); every call is waited for
    with ``jax.block_until_ready``."""
    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            jax.block_until_ready(fn(*args))
        times.append((time.perf_counter() - t0) / number)
    return float(np.median(times))
