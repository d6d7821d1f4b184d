"""Recipes, the dimensionless formulation and the sampling designs (dynamicall.train)."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

from dynamicall.anisotropy import BaesVanHese
from dynamicall.jeans import JeansConfig, projected_dispersions
from dynamicall.profiles import Plummer, Zhao
from dynamicall.train import design
from dynamicall.train.recipe import (
    dimensionless_dispersions,
    load_recipe,
    parse_recipe,
    shipped_recipe_path,
    velocity_unit,
)

RECIPES = pathlib.Path(__file__).parent / "recipes"
SHIPPED = shipped_recipe_path("zhao_bvh_plummer")


@pytest.fixture(scope="module")
def shipped():
    return load_recipe(SHIPPED)


@pytest.fixture(scope="module")
def stars():
    return load_recipe(RECIPES / "stars.toml")


def test_shipped_recipe_matches_the_emulator_contract(shipped):
    assert shipped.input_names == ("log10_rs", "alpha", "beta", "gamma", "beta_0", "beta_inf", "log10_ra", "eta")
    expected = dict(log10_rs=(-1.0, np.log10(30.0)), alpha=(0.5, 3.0), beta=(3.0, 7.0), gamma=(0.0, 1.5),
                    beta_0=(-1.0, 0.9), beta_inf=(-1.0, 0.9), log10_ra=(-1.0, 1.0), eta=(1.0, 3.0))
    assert shipped.bounds == expected
    assert all(spec.prior == "uniform" for spec in shipped.inputs)
    np.testing.assert_array_equal(shipped.grid, np.geomspace(0.01, 10.0, 32))
    assert shipped.quantities == ("log_sigma_los",)
    assert shipped.config == JeansConfig.fast()
    assert shipped.output_dtype == "float64" and shipped.stars is None and shipped.constraints == ()
    seeds = {name: s.seed for name, s in shipped.splits.items()}
    assert set(seeds) == {"train", "validation", "test"} and len(set(seeds.values())) == 3


def test_build_models_maps_inputs_to_parameters(shipped):
    x = np.array([0.5, 1.2, 4.0, 0.7, -0.3, 0.6, -0.2, 2.5])
    tracer, mass, aniso = shipped.build_models(x)
    assert (float(tracer.r_s), float(mass.rho_s)) == (1.0, 1.0)
    np.testing.assert_allclose([mass.r_s, mass.alpha, mass.beta, mass.gamma], [10**0.5, 1.2, 4.0, 0.7], rtol=1e-15)
    np.testing.assert_allclose([aniso.beta_0, aniso.beta_inf, aniso.r_a, aniso.eta], [-0.3, 0.6, 10**-0.2, 2.5],
                               rtol=1e-15)


@pytest.mark.slow
def test_dimensionless_output_equals_engine_divided_by_sqrt_G(shipped):
    """ln sigma~ is the engine's km/s at rho_s = 1 Msun/kpc^3, R_half = 1 kpc over sqrt(G)."""
    from dynamicall.units import G

    x = np.array([0.3, 2.0, 5.0, 1.0, 0.2, -0.4, 0.4, 1.5])
    out = np.asarray(dimensionless_dispersions(shipped, x))
    engine = projected_dispersions(shipped.grid, *shipped.build_models(x), config=shipped.config)["los"]
    np.testing.assert_allclose(out, np.log(np.asarray(engine) / np.sqrt(G)), rtol=0, atol=1e-14)


@pytest.mark.parametrize("rho_s, R_half", [(2.0e9, 0.012), (1.0e5, 4.0)])
@pytest.mark.slow
def test_sigma_scales_exactly_with_sqrt_G_rho_s_R_half_squared(shipped, rho_s, R_half):
    """A physical model (rho_s Msun/kpc^3, R_half kpc) gives sigma~ x sqrt(G rho_s R_half^2)
    at R = grid x R_half, to rounding (measured <= 3e-14 in ln sigma; tested at 1e-12)."""
    xs = np.array([[0.3, 2.0, 5.0, 1.0, 0.2, -0.4, 0.4, 1.5], [-0.8, 0.6, 6.5, 0.1, 0.8, -0.9, -0.9, 2.9]])
    for x in xs:
        tracer = Plummer(m_tot=123.0, r_s=R_half)  # the tracer normalisation is irrelevant
        halo = Zhao(rho_s=rho_s, r_s=10 ** x[0] * R_half, alpha=x[1], beta=x[2], gamma=x[3])
        aniso = BaesVanHese(beta_0=x[4], beta_inf=x[5], r_a=10 ** x[6] * R_half, eta=x[7])
        sigma = projected_dispersions(shipped.grid * R_half, tracer, halo, aniso, config=shipped.config)["los"]
        physical = np.log(np.asarray(sigma) / float(velocity_unit(rho_s, R_half)))
        np.testing.assert_allclose(physical, dimensionless_dispersions(shipped, x), rtol=0, atol=1e-12)


@pytest.mark.slow
def test_sigma_squared_is_linear_in_the_mass_normalisation_with_stars(stars):
    """Halo rho_s and stellar mass scaled together by k scale every sigma^2 by k; the stars'
    mass is 10**log10_mstar rho_s R_half^3. Checked for los, pm_R and pm_T at 1e-12."""
    x = np.array([0.2, 0.8, 0.5, 0.1])
    R_half = 0.3
    grid = stars.grid * R_half
    scaled = []
    for rho_s in (1.0e7, 5.0e8):
        tracer = Plummer(m_tot=1.0, r_s=R_half)
        mass = Zhao(rho_s=rho_s, r_s=10 ** x[0] * R_half, alpha=1.0, beta=3.5, gamma=x[1]) + Plummer(
            m_tot=10 ** x[2] * rho_s * R_half**3, r_s=R_half)
        aniso = BaesVanHese(beta_0=x[3], beta_inf=0.3, r_a=1.0 * R_half, eta=2.0)
        out = projected_dispersions(grid, tracer, mass, aniso, config=stars.config)
        unit = float(velocity_unit(rho_s, R_half))
        scaled.append(np.concatenate([np.log(np.asarray(out[k]) / unit) for k in ("los", "pm_radial", "pm_tangential")]))
    np.testing.assert_allclose(scaled[0], scaled[1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(scaled[0], dimensionless_dispersions(stars, x), rtol=0, atol=1e-12)
    # and the stars matter: without them sigma is smaller
    no_stars = dimensionless_dispersions(stars, np.array([0.2, 0.8, -30.0, 0.1]))
    assert np.all(no_stars < scaled[0])


def test_quantities_are_stored_quantity_major(stars):
    x = np.array([0.2, 0.8, 0.5, 0.1])
    out = np.asarray(dimensionless_dispersions(stars, x))
    g = stars.grid.size
    engine = projected_dispersions(stars.grid, *stars.build_models(x), config=stars.config)
    from dynamicall.units import G

    for q, key in enumerate(("los", "pm_radial", "pm_tangential")):
        np.testing.assert_allclose(out[q * g : (q + 1) * g], np.log(np.asarray(engine[key]) / np.sqrt(G)), atol=1e-14)


# ------------------------------------------------------------------ recipe errors
def _edit(text, old, new):
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    "old, new, message",
    [
        ('family = "Zhao"', 'family = "Zaho"', "family must be one of"),
        ('range = [0.5, 3.0]', 'range = [3.0, 0.5]', "low < high"),
        ('range = [-1.0, 0.9]', 'range = [-1.0, 1.2]', "BaesVanHese.beta_0"),
        ('alpha = "alpha"', 'alpha = 1.0', "not used by any model parameter"),
        ('r_s = "10**log10_rs"', 'r_s = "10**log_rs"', "must be a number, an input name"),
        ('rho_s = 1.0', 'rho_s = 2.0', "rho_s = 1.0"),
        ('[tracer]                 # Plummer', '[tracer]\nfoo = 1\n#', "unknown key"),
        ('r_s = 1.0\n', 'r_s = 2.0\n', "half-light radius must be 1"),
        ('seed = 20240603', 'seed = 20240601', "distinct seeds"),
        ('prior = "uniform"', 'prior = "log-uniform"', "needs low > 0"),
        ('quantities = ["log_sigma_los"]', 'quantities = ["sigma_los"]', "quantities must be"),
        ('step = 0.1', 'step = 0.0', "[engine]"),
        ('format = 1', 'format = 2', "format must be 1"),
    ],
)
def test_bad_recipes_raise_clear_errors(old, new, message):
    with pytest.raises(ValueError, match=__import__("re").escape(message)):
        parse_recipe(_edit(SHIPPED.read_text(), old, new))


def test_fingerprint_ignores_comments_and_seeds_but_not_data(shipped):
    text = SHIPPED.read_text()
    assert parse_recipe("# a new comment\n" + text).fingerprint() == shipped.fingerprint()
    assert parse_recipe(_edit(text, "seed = 20240601", "seed = 7")).fingerprint() == shipped.fingerprint()
    assert parse_recipe(_edit(text, "n = 32\n", "n = 33\n")).fingerprint() != shipped.fingerprint()
    assert parse_recipe(_edit(text, "order = 12", "order = 10")).fingerprint() != shipped.fingerprint()


# ------------------------------------------------------------------ designs
@pytest.mark.parametrize("kind", ["sobol", "lhs", "random"])
def test_designs_are_seeded_reproducible_and_inside_the_box(shipped, kind):
    a = design.design_points(shipped, 256, seed=4, kind=kind)
    np.testing.assert_array_equal(a, design.design_points(shipped, 256, seed=4, kind=kind))
    assert not np.array_equal(a, design.design_points(shipped, 256, seed=5, kind=kind))
    lo = np.array([s.low for s in shipped.inputs])
    hi = np.array([s.high for s in shipped.inputs])
    assert a.shape == (256, 8) and np.all((a >= lo) & (a <= hi))


@pytest.mark.parametrize("kind", ["sobol", "random"])
def test_sequence_designs_are_prefix_stable(shipped, kind):
    """design_points(n) is the first n rows of design_points(n') (so a small reference set is the start
    of the full one), across the Sobol' block boundaries."""
    big = design.design_points(shipped, 5000, seed=9, kind=kind)
    np.testing.assert_array_equal(design.design_points(shipped, 1500, seed=9, kind=kind), big[:1500])


def test_lhs_has_one_point_per_stratum_in_every_input(shipped):
    n = 200
    x = design.design_points(shipped, n, seed=2, kind="lhs")
    for j, spec in enumerate(shipped.inputs):
        strata = np.floor((x[:, j] - spec.low) / (spec.high - spec.low) * n).astype(int)
        assert sorted(strata) == list(range(n)), spec.name


def test_scrambled_sobol_is_more_uniform_than_iid(shipped):
    """Star discrepancy proxy: the centred L2 discrepancy of 1024 Sobol' points in the unit
    cube is well below that of 1024 i.i.d. points (a broken scramble would not be)."""
    from scipy.stats import qmc

    lo = np.array([s.low for s in shipped.inputs])
    hi = np.array([s.high for s in shipped.inputs])
    unit = lambda x: (x - lo) / (hi - lo)  # noqa: E731
    d_sobol = qmc.discrepancy(unit(design.design_points(shipped, 1024, seed=1, kind="sobol")))
    d_iid = qmc.discrepancy(unit(design.design_points(shipped, 1024, seed=1, kind="random")))
    assert d_sobol < 0.5 * d_iid


def test_log_uniform_prior_is_uniform_in_the_logarithm():
    text = _edit((RECIPES / "tiny.toml").read_text(), 'r_s = "10**log10_rs"', 'r_s = "rs"')
    text = _edit(text, 'name = "log10_rs"\nrange = [-0.5, 1.0]', 'name = "rs"\nrange = [0.1, 100.0]\nprior = "log-uniform"')
    recipe = parse_recipe(text)
    x = design.design_points(recipe, 1024, seed=3, kind="sobol")[:, 0]
    counts = np.histogram(np.log10(x), bins=8, range=(-1, 2))[0]
    assert np.all(counts == 128)  # a power-of-two Sobol' prefix fills equal strata exactly


def test_constraints_are_honoured_and_n_rows_delivered(stars):
    for kind in ("sobol", "lhs", "random"):
        x = design.design_points(stars, 300, seed=8, kind=kind)
        assert x.shape == (300, 4)
        assert np.all(x[:, 3] - 0.5 * x[:, 1] <= 0.0), kind
    # the constraint really rejects part of the box
    unconstrained = design.unit_to_inputs(stars, np.random.default_rng(0).random((1000, 4)))
    assert 0.2 < 1 - stars.satisfies_constraints(unconstrained).mean() < 0.9


def test_replacements_are_keyed_by_seed_row_and_attempt(stars):
    a = design.replacement(stars, 1, 10, 1)
    np.testing.assert_array_equal(a, design.replacement(stars, 1, 10, 1))
    for other in (design.replacement(stars, 2, 10, 1), design.replacement(stars, 1, 11, 1),
                  design.replacement(stars, 1, 10, 2)):
        assert not np.array_equal(a, other)
    assert stars.satisfies_constraints(a[None])[0]


def test_bad_sampling_arguments_raise(shipped):
    with pytest.raises(ValueError, match="kind must be one of"):
        design.design_points(shipped, 10, seed=1, kind="grid")
    with pytest.raises(ValueError, match="n must be a positive integer"):
        design.design_points(shipped, 0, seed=1)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        design.design_points(shipped, 10, seed=-1)


def test_one_home_for_names():
    """The recipe file reader and the quantity names each have one definition: the
    recipe module re-exports the reader, and recipes, emulators and fits share one map
    of card names to dispersions and one velocity unit; the emulator contract names what
    an emulator object lacks."""
    from dynamicall import quantities
    from dynamicall.infer.forward import EmulatorForward, ForwardModel, missing_members, resolve_forward
    from dynamicall.train import recipe, recipe_file

    assert recipe.load_recipe is recipe_file.load_recipe
    assert recipe.parse_recipe is recipe_file.parse_recipe
    assert recipe.velocity_unit is quantities.velocity_unit
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        recipe.no_such_name
    fake = type("Fake", (), {"quantities": ("log_sigma_pmr",), "input_names": (), "bounds": {},
                             "sigma_los": None, "features": None, "R_range": None,
                             "domain_penalty": None,
                             "with_on_domain": lambda self, mode: self})()
    assert EmulatorForward(fake).quantities == ("pm_radial",)
    # both forward models fulfil the contract the likelihoods call
    assert missing_members(resolve_forward("exact"), ForwardModel) == []
    assert missing_members(EmulatorForward(fake), ForwardModel) == []
    del type(fake).features
    with pytest.raises(TypeError, match=r"lacks \['features'\] of the emulator protocol"):
        EmulatorForward(fake)
