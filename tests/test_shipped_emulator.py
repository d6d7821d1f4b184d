"""The shipped emulators (v1, v2 and v3): load offline, meet their floors, guard their domain.

Its validation report (32,768 fresh profiles, recorded in card.json) must meet the floors;
this test re-checks an independent sample of 512 fresh profiles against the exact engine,
where the floors must hold too (a 512-profile 99th percentile is noisy, but the shipped
emulator's is 3e-3 against the floor's 1e-2).
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from dynamicall.anisotropy import BaesVanHese, Constant
from dynamicall.emulate import OutOfDomainError, available, load
from dynamicall.emulate.validation import FLOORS, error_statistics, meets_floors
from dynamicall.jeans import sigma_los
from dynamicall.profiles import NFW, Plummer, Zhao
from dynamicall.train.design import design_points
from dynamicall.train.recipe import parse_recipe
from dynamicall.train.validate import exact_outputs

NAMES = ("zhao_bvh_plummer", "zhao_bvh_plummer_v2", "zhao_bvh_plummer_v3")
ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", params=NAMES)
def emulator(request):
    return load(request.param)


def test_ships_and_loads_by_name(emulator):
    folder = ROOT / "emulators" / emulator.name
    assert emulator.name in available()
    # loaded from the package (site-packages when installed, the checkout otherwise): the
    # same files as the source tree's emulators/NAME/
    shipped = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    loaded = {p.name: p.read_bytes() for p in emulator.path.iterdir() if p.is_file()}
    assert {"card.json", "weights.npz"} <= set(loaded) and loaded == shipped
    assert (folder / "weights.npz").stat().st_size < 20e6
    assert emulator.input_names == ("log10_rs", "alpha", "beta", "gamma", "beta_0", "beta_inf", "log10_ra", "eta")


def test_recorded_validation_meets_the_floors(emulator):
    v = emulator.card["validation"]
    assert v["n_profiles"] >= 10000 and v["meets_floors"]
    assert v["median_point_abs_error"] <= FLOORS["median_point_abs_error"]
    assert v["p99_profile_max_abs_error"] <= FLOORS["p99_profile_max_abs_error"]
    report = (ROOT / "emulators" / emulator.name / "report.md").read_text()
    assert f"{v['median_point_abs_error']:.2e}" in report
    # the test seed is independent of every seed used to make the training data
    recipe = parse_recipe(emulator.problem["recipe"])
    assert v["seed"] not in {s.seed for s in recipe.splits.values()}


@pytest.mark.parametrize("name", ["zhao_bvh_plummer_v2", "zhao_bvh_plummer_v3"])
def test_guard_band_emulators_report_their_gradient_accuracy_and_keep_the_advertised_domain(name):
    emulator = load(name)
    v = emulator.card["validation"]
    assert v["gradient"]["n_profiles"] >= 512 and v["gradient"]["median_rel_error"] <= 1e-2
    report = (ROOT / "emulators" / name / "report.md").read_text()
    assert f"{v['gradient']['median_rel_error']:.2e}" in report
    v1 = load("zhao_bvh_plummer")
    assert emulator.bounds == v1.bounds  # the card advertises the domain, not the guard band
    wide = emulator.problem["training_bounds"]
    for key, (lo, hi) in emulator.bounds.items():
        assert wide[key][0] <= lo and wide[key][1] >= hi
    assert wide["log10_rs"][1] - wide["log10_rs"][0] == pytest.approx(1.2 * (emulator.bounds["log10_rs"][1]
                                                                             - emulator.bounds["log10_rs"][0]))


def test_v3_recorded_validation_meets_the_emulator_floors():
    """The tighter floors of the emulator work (docs/emulators.md) on v3's fresh test set."""
    v = load("zhao_bvh_plummer_v3").card["validation"]
    assert v["n_profiles"] >= 32768
    assert v["median_point_abs_error"] <= 5e-4 and v["p99_profile_max_abs_error"] <= 5e-3
    assert v["gradient"]["median_rel_error"] <= 1e-2


@pytest.mark.slow
def test_fresh_independent_sample_meets_the_floors(emulator):
    recipe = parse_recipe(emulator.problem["recipe"])
    inputs = design_points(recipe, 512, seed=777, kind="random")
    exact = exact_outputs(recipe, inputs, progress=False)
    stats = error_statistics(np.asarray(emulator.predict_log(inputs)).reshape(exact.shape), exact)
    assert meets_floors(stats), json.dumps(stats, indent=1)


@pytest.mark.slow
def test_physical_models_match_the_exact_engine(emulator):
    stars = Plummer(m_tot=1e6, r_s=0.25)
    R = np.geomspace(0.005, 2.0, 9)
    for halo, aniso in [
        (Zhao(rho_s=3e7, r_s=0.6, alpha=1.5, beta=4.5, gamma=0.8), BaesVanHese(beta_0=0.1, beta_inf=0.4, r_a=0.3, eta=2.0)),
        (NFW.from_m200_c(1e9, 15.0), Constant(beta=-0.3)),  # NFW = Zhao(1, 3, 1), r_s / R_half ~ 1.8
    ]:
        np.testing.assert_allclose(emulator.sigma_los(R, stars, halo, aniso), sigma_los(R, stars, halo, aniso), rtol=1e-2)


def test_raises_outside_its_domain(emulator):
    stars = Plummer(m_tot=1e6, r_s=0.25)
    aniso = BaesVanHese(beta_0=0.1, beta_inf=0.4, r_a=0.3, eta=2.0)
    with pytest.raises(OutOfDomainError, match="gamma = 1.6"):
        emulator.sigma_los([0.1], stars, Zhao(rho_s=3e7, r_s=0.6, alpha=1.5, beta=4.5, gamma=1.6), aniso)
    with pytest.raises(OutOfDomainError, match="log10_rs"):
        emulator.sigma_los([0.1], stars, Zhao(rho_s=3e7, r_s=10.0, alpha=1.5, beta=4.5, gamma=1.0), aniso)
    with pytest.raises(OutOfDomainError, match="R / R_half"):
        emulator.sigma_los([3.0], stars, Zhao(rho_s=3e7, r_s=0.6, alpha=1.5, beta=4.5, gamma=1.0), aniso)
