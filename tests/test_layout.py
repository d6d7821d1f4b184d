"""The flat layout of sampled sites (dynamicall.infer.layout): ravel / unravel round trips,
the column order numpyro's dense mass matrix uses, and the population's vector sites."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from dynamicall.infer.layout import SiteLayout


def test_layout_round_trips_and_matches_numpyros_ravel_order():
    layout = SiteLayout({"b": (), "a": (3,), "c": (2,)})
    assert layout.sites == ("a", "b", "c") and layout.size == 6 and layout.offsets == (0, 3, 4)
    assert layout.names() == ("a[0]", "a[1]", "a[2]", "b", "c[0]", "c[1]") and not layout.scalar
    x = np.arange(12.0).reshape(2, 6)
    values = layout.unravel(x)
    assert values["a"].shape == (2, 3) and values["b"].shape == (2,) and values["c"].shape == (2, 2)
    np.testing.assert_array_equal(layout.ravel(values), x)
    np.testing.assert_array_equal(np.asarray(layout.ravel({k: jnp.asarray(v) for k, v in values.items()})), x)
    # numpyro ravels a dense-mass block (a tuple of sites) in the tuple's order
    flat, _ = ravel_pytree(tuple(layout.unravel(x[0])[s] for s in layout.sites))
    np.testing.assert_array_equal(np.asarray(flat), x[0])
    assert x[0, layout.slice("c")].tolist() == [4.0, 5.0]
    scalar = SiteLayout({"y": (), "x": ()})
    assert scalar.scalar and scalar.names() == ("x", "y")


def test_population_vector_sites_split_back_to_per_galaxy_names():
    """The sampler's vector sites (one per parameter) and the per-galaxy names of the
    outputs carry the same numbers: split_samples inverts vector_params."""
    from dynamicall.data import StarCatalog
    from dynamicall.infer.population import PopulationModel

    rng = np.random.default_rng(2)
    cats = [StarCatalog.from_arrays(R=rh * rng.uniform(0.1, 2, 30), v=rng.normal(0, 8, 30), v_err=np.ones(30),
                                    R_half=rh, meta={"name": f"g{i}"}) for i, rh in enumerate((0.2, 0.5))]
    model = PopulationModel(cats, halo="nfw", anisotropy="constant", pool=("halo.log10_m_ref",))
    priors = model.priors()
    assert all(priors[k].batch_shape == () for k in model.hyper_sites)
    vector = [k for k in priors if k not in model.hyper_sites]
    assert len(vector) == len(model.galaxy_sites) and all(priors[k].batch_shape == (2,) for k in vector)
    draws = {k: rng.normal(size=(3, 5) + priors[k].batch_shape) for k in priors}  # (chains, draws, ...)
    named = model.split_samples(draws)
    assert set(named) == set(model.sites) and all(v.shape == (3, 5) for v in named.values())
    back = model.vector_params(named)
    for k in priors:
        np.testing.assert_array_equal(np.asarray(back[k]), draws[k])
    np.testing.assert_array_equal(named["g1:v_sys"], draws["galaxy:v_sys"][..., 1])
    # the vector prior of an unpooled site is the galaxies' own priors, stacked
    for i, m in enumerate(model.galaxies):
        x = 0.3
        assert float(priors["galaxy:v_sys"].log_prob(jnp.full(2, x))[i]) == float(m.priors()["v_sys"].log_prob(x))


def test_laplace_start_covariance_is_capped_only_when_not_positive_definite():
    """A positive-definite Laplace covariance starts the chains unchanged (single-galaxy fits
    keep their draws); a regularised one (saddle or ridge: variances up to 1e5 on a
    hierarchical model) has its eigenvalues capped at MAX_START_VARIANCE, eigenvectors kept."""
    import types

    from dynamicall.infer.run import MAX_START_VARIANCE, start_covariance

    cov = np.array([[2.0, 0.3], [0.3, 0.5]])
    np.testing.assert_array_equal(start_covariance(types.SimpleNamespace(covariance=cov, positive_definite=True)), cov)
    v = np.array([[1.0, 1.0], [1.0, -1.0]]) / np.sqrt(2.0)
    ridge = (v * np.array([1e5, 0.01])) @ v.T
    capped = start_covariance(types.SimpleNamespace(covariance=ridge, positive_definite=False))
    w, u = np.linalg.eigh(capped)
    np.testing.assert_allclose(w, [0.01, MAX_START_VARIANCE], rtol=1e-9)
    np.testing.assert_allclose(np.abs(u.T @ v), np.eye(2)[::-1], atol=1e-9)
