"""Shared helpers of the inference tests: mock catalogues, a cached NUTS fit, and a
protocol-conforming emulator test double.

The fit and the mocks are cached per process (functools.lru_cache), so test modules
share them; dynamicall.infer caches compiled samplers per model in the same way.
"""

from __future__ import annotations

import functools
import pathlib

import jax.numpy as jnp
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHIPPED_MOCK = ROOT / "data" / "mock_dwarf.ecsv"

#: Truth of the many-star NFW mock used for recovery and Fisher-vs-NUTS checks.
NFW_TRUTH = {"halo.log10_rho_s": 7.6, "halo.log10_r_s": 0.0, "anisotropy.beta": 0.2, "v_sys": 50.0}
NFW_STARS = 2000
NFW_PRIORS = {"halo.log10_r_s": 0.0}  # r_s fixed at the truth: 3 free parameters + v_sys
NFW_RUN = dict(warmup=300, samples=700, chains=2, seed=1)  # default chunk: 50 iterations


def mock_table(**kwargs):
    return _mock_table(tuple(sorted(kwargs.items())))


@functools.lru_cache(maxsize=None)
def _mock_table(items):
    kwargs = dict(items)
    if "truth" in kwargs:
        kwargs["truth"] = dict(kwargs["truth"])
    from dynamicall.infer.mocks import dwarf_mock

    return dwarf_mock(**kwargs)


def mock(**kwargs):
    from dynamicall.data import StarCatalog

    return StarCatalog.from_table(mock_table(**kwargs))


def nfw_mock(n_stars=NFW_STARS, seed=7, **kwargs):
    return mock(n_stars=n_stars, seed=seed, halo="nfw", anisotropy="constant",
                truth=tuple(sorted(NFW_TRUTH.items())), **kwargs)


def nfw_model(catalog=None, **kwargs):
    from dynamicall.infer import KinematicModel, ModelSpec

    catalog = nfw_mock() if catalog is None else catalog
    spec = ModelSpec("plummer", "nfw", "constant", R_half=catalog.R_half, priors=dict(NFW_PRIORS))
    return KinematicModel(spec, catalog, **kwargs)


@functools.lru_cache(maxsize=None)
def nfw_fit():
    """NUTS on the 2000-star NFW mock (exact engine), cached for the whole session."""
    from dynamicall.infer import sample

    return sample(nfw_model(), progress=False, **NFW_RUN)


class FakeEmulator:
    """A test double with the emulator protocol of dynamicall.emulate: it evaluates the
    exact engine, but only knows a domain (the shipped emulator's box) and a smooth
    quadratic penalty outside it. Plummer tracer, Zhao halo, Baes-van Hese anisotropy."""

    input_names = ("log10_rs", "alpha", "beta", "gamma", "beta_0", "beta_inf", "log10_ra", "eta")
    bounds = {"log10_rs": (-1.0, float(np.log10(30.0))), "alpha": (0.5, 3.0), "beta": (3.0, 7.0),
              "gamma": (0.0, 1.5), "beta_0": (-1.0, 0.9), "beta_inf": (-1.0, 0.9),
              "log10_ra": (-1.0, 1.0), "eta": (1.0, 3.0)}
    quantities = ("log_sigma_los",)

    def __init__(self, on_domain="raise", name="fake_emulator"):
        self.on_domain = on_domain
        self.name = name
        self.penalty_calls = 0

    def with_on_domain(self, mode):
        return FakeEmulator(mode, self.name)

    def features(self, tracer, mass, anisotropy):
        from dynamicall.anisotropy import BaesVanHese
        from dynamicall.profiles import Plummer, Zhao

        if not (isinstance(tracer, Plummer) and isinstance(mass, Zhao) and isinstance(anisotropy, BaesVanHese)):
            raise TypeError("FakeEmulator covers a Plummer tracer, a Zhao halo alone and Baes-van Hese anisotropy")
        R_half = tracer.r_s
        return jnp.stack([jnp.log10(mass.r_s / R_half), mass.alpha, mass.beta, mass.gamma,
                          anisotropy.beta_0, anisotropy.beta_inf, jnp.log10(anisotropy.r_a / R_half),
                          anisotropy.eta])

    def R_range(self, tracer):
        return 0.01 * float(tracer.r_s), 10.0 * float(tracer.r_s)

    def domain_penalty(self, tracer, mass, anisotropy):
        self.penalty_calls += 1
        x = self.features(tracer, mass, anisotropy)
        lo = jnp.array([self.bounds[n][0] for n in self.input_names])
        hi = jnp.array([self.bounds[n][1] for n in self.input_names])
        out = jnp.maximum(lo - x, 0.0) + jnp.maximum(x - hi, 0.0)
        return -1e4 * jnp.sum(out**2)

    def sigma_los(self, R, tracer, mass, anisotropy):
        from dynamicall.jeans import JeansConfig, sigma_los

        return sigma_los(np.asarray(R), tracer, mass, anisotropy, config=JeansConfig.fast())
