"""StarCatalog and BinnedProfile: reading ECSV/FITS with units, validation messages that
name the column and row, sky positions, and the binned maximum-likelihood dispersion."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table

from dynamicall.data import BinnedProfile, StarCatalog, parse_quantity
from dynamicall.units import KMS_PER_KPC_MASYR, angle_to_kpc

from infer_helpers import SHIPPED_MOCK


def _table(n=5, **columns):
    rng = np.random.default_rng(3)
    t = Table()
    t["R"] = rng.uniform(0.05, 1.0, n) * u.kpc
    t["v"] = rng.normal(100, 10, n) * u.km / u.s
    t["v_err"] = rng.uniform(1, 3, n) * u.km / u.s
    for name, value in columns.items():
        t[name] = value
    t.meta["distance"] = "80 kpc"
    t.meta["R_half"] = "250 pc"
    return t


def test_shipped_mock_reads_with_units_and_truth():
    cat = StarCatalog.read(SHIPPED_MOCK)
    assert len(cat) == 400
    assert cat.R_half == pytest.approx(0.25, rel=1e-15)
    assert cat.distance == pytest.approx(80.0, rel=1e-15)
    assert 1.0 <= cat.v_err.min() and cat.v_err.max() <= 3.0  # errors drawn in 1-3 km/s
    assert cat.R.max() <= 5 * 0.25 * (1 + 1e-6)  # survey edge at 5 R_half
    assert cat.truth["halo.log10_rho_s"] == 7.8 and cat.truth["halo"] == "Zhao"


def test_units_are_taken_from_the_file(tmp_path):
    t = _table()
    R_kpc, v_kms = np.array(t["R"]), np.array(t["v"])
    t["R"] = (R_kpc * 1000) * u.pc
    t["v"] = (v_kms * 1000) * u.m / u.s
    path = tmp_path / "stars.ecsv"
    t.write(path, format="ascii.ecsv")
    cat = StarCatalog.read(path)
    np.testing.assert_allclose(cat.R, R_kpc, rtol=1e-14)
    np.testing.assert_allclose(cat.v, v_kms, rtol=1e-14)
    assert cat.R_half == pytest.approx(0.25, rel=1e-14)


def test_angular_radius_with_distance(tmp_path):
    t = _table()
    theta = np.linspace(0.5, 10.0, 5)
    t["R"] = theta * u.arcmin
    cat = StarCatalog.from_table(t)
    np.testing.assert_allclose(cat.R, angle_to_kpc(theta * u.arcmin, 80 * u.kpc), rtol=1e-14)
    del t.meta["distance"]
    with pytest.raises(ValueError, match="'R' is an angle.*distance"):
        StarCatalog.from_table(t)


def test_sky_positions_with_centre(tmp_path):
    t = _table()
    del t["R"]
    ra0, dec0 = 260.0, 57.9
    offsets = np.linspace(1, 20, 5) / 60.0  # deg, along the meridian
    t["ra"] = np.full(5, ra0) * u.deg
    t["dec"] = (dec0 + offsets) * u.deg
    t.meta.update(ra_centre=f"{ra0} deg", dec_centre=f"{dec0} deg")
    path = tmp_path / "sky.ecsv"
    t.write(path, format="ascii.ecsv")
    cat = StarCatalog.read(path)
    # along a meridian the separation is the declination offset: R = d tan(offset)
    np.testing.assert_allclose(cat.R, 80.0 * np.tan(np.deg2rad(offsets)), rtol=1e-12)
    del t.meta["ra_centre"]
    with pytest.raises(ValueError, match="ra_centre"):
        StarCatalog.from_table(t)


def test_fits_round_trip_with_proper_motions(tmp_path):
    n = 6
    cat = StarCatalog.from_arrays(
        R=np.linspace(0.1, 0.6, n), v=np.arange(n, dtype=float), v_err=np.ones(n),
        pm_R=np.full(n, 0.01), pm_T=np.full(n, -0.02), pm_R_err=np.full(n, 0.005),
        pm_T_err=np.full(n, 0.006), distance=80.0, R_half=0.25,
    )
    path = tmp_path / "stars.fits"
    cat.write(path)
    back = StarCatalog.read(path)  # FITS upper-cases the metadata keys
    assert back.distance == 80.0 and back.R_half == 0.25 and back.has_proper_motions
    np.testing.assert_array_equal(back.pm_T_err, cat.pm_T_err)
    kms = back.proper_motions_kms()
    np.testing.assert_allclose(kms["pm_R"], 0.01 * KMS_PER_KPC_MASYR * 80.0, rtol=1e-14)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda t: t.remove_column("v_err"), r"required column 'v_err' is missing"),
        (lambda t: t.remove_column("R"), r"needs a column 'R'.*'ra' and 'dec'"),
        (lambda t: t["v"].__setitem__(3, np.nan), r"column 'v' has non-finite values at row 3 \(nan\)"),
        (lambda t: t["v_err"].__setitem__(2, -1.0), r"column 'v_err'.*must be >= 0.*row 2 \(-1\.0\)"),
        (lambda t: t["R"].__setitem__(4, -0.1), r"column 'R' must be >= 0.*row 4"),
    ],
    ids=["missing-column", "no-positions", "nan-value", "negative-error", "negative-radius"],
)
def test_bad_catalogues_name_the_column_and_row(change, message):
    t = _table()
    change(t)
    with pytest.raises(ValueError, match=message):
        StarCatalog.from_table(t)


def test_missing_values_in_ecsv_name_the_row(tmp_path):
    path = tmp_path / "gap.ecsv"
    _table().write(path, format="ascii.ecsv")
    lines = path.read_text().splitlines()
    data_start = next(i for i, line in enumerate(lines) if line.startswith("R v v_err")) + 1
    cells = lines[data_start + 1].split()
    cells[1] = '""'  # row 1 loses its velocity
    lines[data_start + 1] = " ".join(cells)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"column 'v' has missing \(masked\) values at row 1"):
        StarCatalog.read(path)


def test_units_must_be_present_and_right():
    t = _table()
    t["v"].unit = None
    with pytest.raises(ValueError, match=r"column 'v' has no unit.*km / s"):
        StarCatalog.from_table(t)
    t = _table()
    t["v_err"].unit = u.kpc
    with pytest.raises(ValueError, match=r"column 'v_err' has unit 'kpc', which is not a velocity"):
        StarCatalog.from_table(t)
    t = _table(pm_R=np.zeros(5) * u.mas / u.yr)
    with pytest.raises(ValueError, match=r"column 'pm_T' is missing"):
        StarCatalog.from_table(t)
    t = _table()
    t.meta["distance"] = "80"
    with pytest.raises(ValueError, match=r"metadata 'distance'.*has no unit"):
        StarCatalog.from_table(t)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such catalogue file"):
        StarCatalog.read(tmp_path / "nope.ecsv")


def test_select_keeps_every_column():
    cat = StarCatalog.read(SHIPPED_MOCK)
    inner = cat.select(cat.R < 0.25)
    assert len(inner) == int(np.sum(cat.R < 0.25)) and inner.R_half == cat.R_half
    np.testing.assert_array_equal(inner.v, cat.v[cat.R < 0.25])


def test_binned_dispersion_is_the_maximum_likelihood_estimate():
    """Without errors the ML dispersion about a known mean is sqrt(mean(dv^2)) and its
    Cramer-Rao error sigma / sqrt(2 N); the bounded optimiser reaches 1e-4 relative."""
    rng = np.random.default_rng(5)
    n = 600
    cat = StarCatalog.from_arrays(R=rng.uniform(0.01, 1.0, n), v=rng.normal(20.0, 8.0, n), v_err=np.zeros(n))
    prof = cat.binned(3, v_sys=20.0)
    order = np.argsort(cat.R)
    for k, group in enumerate(np.array_split(order, 3)):
        expected = np.sqrt(np.mean((cat.v[group] - 20.0) ** 2))
        assert prof.sigma[k] == pytest.approx(expected, rel=1e-4)
        assert prof.sigma_err[k] == pytest.approx(prof.sigma[k] / np.sqrt(2 * group.size), rel=1e-12)
        assert prof.R[k] == pytest.approx(np.median(cat.R[group]), rel=1e-15)


def test_binned_profile_round_trip_and_validation(tmp_path):
    prof = BinnedProfile(R=[100, 300] * u.pc, sigma=[9.5, 10.2], sigma_err=[0.8, 1.0], R_half=0.25)
    path = tmp_path / "binned.ecsv"
    prof.write(path)
    back = BinnedProfile.read(path)
    np.testing.assert_allclose(back.R, [0.1, 0.3], rtol=1e-14)
    assert back.R_half == 0.25
    with pytest.raises(ValueError, match=r"column 'sigma_err' must be > 0"):
        BinnedProfile(R=[0.1], sigma=[9.0], sigma_err=[0.0])


def test_parse_quantity():
    assert parse_quantity("250 pc", "length") == pytest.approx(0.25, rel=1e-14)
    assert parse_quantity("0.3", "length") == 0.3
    with pytest.raises(ValueError, match="'3 km / s' is not a length"):
        parse_quantity("3 km / s", "length")
    with pytest.raises(ValueError, match="cannot read 'far' as a length; write e.g. '250 pc'"):
        parse_quantity("far", "length")
