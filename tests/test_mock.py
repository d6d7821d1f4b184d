"""Mock catalogues (dynamicall.mock): statistics against the Jeans engine, schema, CLI.

Statistical tests compare binned second moments of a large mock with the exact Jeans
prediction averaged over the same bins (Sigma-weighted), using the sampling error of each
bin's mean of v^2 (from the sample's fourth moment). A bin is off if |z| > 4.5 and the
set fails if chi^2 exceeds the 1e-4 quantile of chi^2 with as many degrees of freedom;
seeds are fixed, so each test is deterministic.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
from astropy.table import Table
from scipy import stats

from dynamicall.anisotropy import Constant, OsipkovMerritt
from dynamicall.cli import main
from dynamicall.df import eddington
from dynamicall.jeans import interp_loglog, intrinsic_dispersions, log_grid, projected_dispersions
from dynamicall.mock import (
    Contamination,
    mock_catalog,
    sample_positions,
    sample_projected_radii,
    sample_radii,
    sample_velocities_df,
    write_catalog,
)
from dynamicall.profiles import NFW, CoreNFW, Plummer
from dynamicall.quadrature import gauss_legendre
from dynamicall.units import kms_to_mas_per_yr

N_STARS = 30_000
N_BINS = 10
CHI2_MAX = stats.chi2.isf(1e-4, N_BINS)
DISTANCE = 80.0


@pytest.fixture(scope="module")
def model():
    """Plummer stars (R_half = 250 pc) in a cored NFW halo (M200 = 1e9, c = 15), plus stars."""
    stars = Plummer(m_tot=1e6, r_s=0.25)
    nfw = NFW.from_m200_c(1e9, 15.0)
    return stars, CoreNFW(rho_s=float(nfw.rho_s), r_s=float(nfw.r_s), r_c=0.25, n=1.0) + stars


def _bins(x):
    edges = np.quantile(x, np.linspace(0.0, 1.0, N_BINS + 1))
    edges[0], edges[-1] = 0.0, np.inf
    return edges


def _bin_nodes(lo, hi, n=16):
    """Gauss-Legendre nodes and weights in ln R over a bin (the last bin stops at 1e3 kpc)."""
    x, w = gauss_legendre(n)
    a, b = np.log(max(lo, 1e-4)), np.log(min(hi, 1e3))
    R = np.exp(a + (b - a) * x)
    return R, (b - a) * w * R


def _z_scores(coordinate, values, edges, model_fn, weight_fn):
    """z of the mean of values^2 per bin against the model averaged with ``weight_fn``
    (the number of stars per unit radius) over the bin."""
    z = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (coordinate >= lo) & (coordinate < hi)
        m2 = np.mean(values[sel] ** 2)
        err = np.sqrt((np.mean(values[sel] ** 4) - m2**2) / sel.sum())
        R, w = _bin_nodes(lo, hi)
        weight = w * weight_fn(R)
        z.append((m2 - np.sum(weight * model_fn(R)) / np.sum(weight)) / err)
    return np.array(z)


def _annulus(stars):
    """Weight of projected bins: Sigma(R) R (per dR)."""
    return lambda R: R * np.asarray(stars.surface_density(R))


def _shell(stars):
    """Weight of 3D shells: nu(r) r^2 (per dr)."""
    return lambda r: r * r * np.asarray(stars.density(r))


def _check(z):
    assert np.max(np.abs(z)) < 4.5, z
    assert np.sum(z**2) < CHI2_MAX, (np.sum(z**2), z)


#: One fixed radial grid for every model curve (the Jeans engine compiles once per grid).
GRID = log_grid(1e-4, 1e3, 160)


def _model_curves(stars, mass, anisotropy):
    """Squared dispersions on GRID, interpolated (6-point log-log, ~1e-9 here) to any radius."""
    proj = projected_dispersions(GRID, stars, mass, anisotropy)
    intr = intrinsic_dispersions(GRID, stars, mass, anisotropy)
    curves = {**proj, **intr}
    return {k: (lambda R, v=v: np.asarray(interp_loglog(R, GRID, v)) ** 2) for k, v in curves.items()}


@pytest.fixture(scope="module", params=["ergodic", "om"])
def df_mock(request, model):
    """A 30,000-star DF-sampled mock (3D positions and velocities), isotropic or
    Osipkov-Merritt r_a = R_half."""
    stars, mass = model
    anisotropy = Constant(beta=0.0) if request.param == "ergodic" else OsipkovMerritt(r_a=0.25)
    df = eddington(stars, mass, None if request.param == "ergodic" else anisotropy)
    rng = np.random.default_rng(20261123 + len(request.param))
    pos = sample_positions(stars, N_STARS, rng)
    vel = sample_velocities_df(df, pos, rng)
    return anisotropy, pos, vel


@pytest.mark.slow
def test_df_mock_sigma_los_matches_jeans(model, df_mock):
    """Binned sigma_los^2 of the DF-sampled mock vs jeans.sigma_los (chi^2, 10 bins)."""
    stars, mass = model
    anisotropy, pos, vel = df_mock
    R = np.hypot(pos[:, 0], pos[:, 1])
    z = _z_scores(R, vel[:, 2], _bins(R), _model_curves(stars, mass, anisotropy)["los"], _annulus(stars))
    _check(z)


@pytest.mark.slow
def test_df_mock_intrinsic_and_proper_motions(model, df_mock):
    """3D: <v_r^2> and <v_theta^2> in radial shells vs Jeans sigma_r, sigma_t (weight
    4 pi r^2 nu); projected: <pm_R^2>, <pm_T^2> at 80 kpc vs the Jeans proper-motion
    dispersions converted with units.kms_to_mas_per_yr (chi^2, 10 bins each)."""
    stars, mass = model
    anisotropy, pos, vel = df_mock
    r = np.linalg.norm(pos, axis=1)
    n_hat = pos / r[:, None]
    v_r = np.sum(vel * n_hat, axis=1)
    e_phi = np.stack([-pos[:, 1], pos[:, 0], np.zeros_like(r)], axis=1)
    e_phi /= np.linalg.norm(e_phi, axis=1)[:, None]
    v_phi = np.sum(vel * e_phi, axis=1)
    edges = _bins(r)
    curves = _model_curves(stars, mass, anisotropy)
    for values, key in ((v_r, "radial"), (v_phi, "tangential")):
        _check(_z_scores(r, values, edges, curves[key], _shell(stars)))
    R = np.hypot(pos[:, 0], pos[:, 1])
    cos_p, sin_p = pos[:, 0] / R, pos[:, 1] / R
    pm_R = kms_to_mas_per_yr(vel[:, 0] * cos_p + vel[:, 1] * sin_p, DISTANCE)
    pm_T = kms_to_mas_per_yr(-vel[:, 0] * sin_p + vel[:, 1] * cos_p, DISTANCE)
    scale = kms_to_mas_per_yr(1.0, DISTANCE) ** 2
    for values, key in ((pm_R, "pm_radial"), (pm_T, "pm_tangential")):
        fn = curves[key]
        _check(_z_scores(R, values, _bins(R), lambda x, fn=fn: scale * fn(x), _annulus(stars)))


def test_radii_follow_the_tracer():
    """Inverse-CDF radii: Kolmogorov-Smirnov test against M(<r)/M of a Plummer sphere
    (20,000 radii, p > 1e-3); each radius solves M(<r) = u M to 1e-12."""
    stars = Plummer(m_tot=1e6, r_s=0.25)
    r = sample_radii(stars, 20_000, seed=7)
    cdf = lambda x: x**3 / (x * x + 0.25**2) ** 1.5  # noqa: E731
    assert stats.kstest(r, cdf).pvalue > 1e-3
    u = np.random.default_rng(7).uniform(size=20_000)
    assert np.max(np.abs(cdf(r) / np.maximum(u, 1e-300) - 1)) < 1e-12
    r_cut = sample_radii(stars, 5_000, seed=8, r_max=0.5)
    assert r_cut.max() <= 0.5 * (1 + 1e-12)


def test_gaussian_mock_with_errors(model):
    """velocities='gaussian', constant beta = 0.3 in an NFW halo, heteroscedastic errors
    1-5 km/s and v_sys = 50 km/s: binned <(v - v_sys)^2 - v_err^2> vs sigma_los^2."""
    stars, _ = model
    mass = NFW.from_m200_c(1e9, 15.0) + stars
    anisotropy = Constant(beta=0.3)
    cat = mock_catalog(stars, mass, anisotropy, 20_000, velocities="gaussian", v_sys=50.0, v_err=(1.0, 5.0), seed=11)
    R, v, err = (np.asarray(cat[k]) for k in ("R", "v", "v_err"))
    assert cat.meta["truth"]["velocities"] == "gaussian" and 1.0 <= err.min() < err.max() <= 5.0
    du = v - 50.0
    model_fn = _model_curves(stars, mass, anisotropy)["los"]
    edges = _bins(R)
    z = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (R >= lo) & (R < hi)
        t = du[sel] ** 2 - err[sel] ** 2
        Rn, w = _bin_nodes(lo, hi)
        weight = w * _annulus(stars)(Rn)
        z.append((t.mean() - np.sum(weight * model_fn(Rn)) / weight.sum()) / (t.std() / np.sqrt(sel.sum())))
    _check(np.array(z))


def test_catalog_schema_and_reproducibility(tmp_path, model):
    """ECSV round trip with the columns, units and metadata of docs/catalog_format.md;
    R = hypot(x, y); same seed -> identical table, other seed -> different; contaminants
    are the requested fraction and are flagged member = False."""
    import astropy.units as u

    stars, mass = model
    kwargs = dict(
        v_sys=20.0, v_err=2.0, distance=DISTANCE, proper_motions=True, pm_err=(0.01, 0.03),
        contamination=Contamination(fraction=0.2, v_mean=0.0, v_sigma=60.0), seed=3,
    )
    cat = mock_catalog(stars, mass, OsipkovMerritt(r_a=0.25), 400, **kwargs)
    path = tmp_path / "mock.ecsv"
    write_catalog(cat, path)
    back = Table.read(path)
    expected_units = dict(R=u.kpc, x=u.kpc, y=u.kpc, v=u.km / u.s, v_err=u.km / u.s, pm_R=u.mas / u.yr,
                          pm_T=u.mas / u.yr, pm_R_err=u.mas / u.yr, pm_T_err=u.mas / u.yr)
    assert set(back.colnames) == set(expected_units) | {"member"}
    for name, unit in expected_units.items():
        assert back[name].unit == unit, name
        assert np.array_equal(np.asarray(back[name]), np.asarray(cat[name]))
    assert back["member"].dtype == bool and (~back["member"]).sum() == 100  # 0.2 of 500
    assert np.allclose(np.hypot(back["x"], back["y"]), back["R"], rtol=1e-14)
    assert u.Quantity(back.meta["distance"]).to_value(u.kpc) == DISTANCE
    assert u.Quantity(back.meta["R_half"]).to_value(u.kpc) == pytest.approx(0.25, rel=1e-12)
    truth = back.meta["truth"]
    assert truth["tracer"] == {"family": "Plummer", "m_tot": 1e6, "r_s": 0.25}
    assert truth["anisotropy"] == {"family": "OsipkovMerritt", "r_a": 0.25}
    assert truth["v_sys"] == 20.0 and truth["velocities"] == "df" and back.meta["seed"] == 3
    again = mock_catalog(stars, mass, OsipkovMerritt(r_a=0.25), 400, **kwargs)
    assert all(np.array_equal(np.asarray(again[k]), np.asarray(cat[k])) for k in cat.colnames)
    other = mock_catalog(stars, mass, OsipkovMerritt(r_a=0.25), 400, **{**kwargs, "seed": 4})
    assert not np.array_equal(np.asarray(other["v"]), np.asarray(cat["v"]))
    members = np.asarray(cat["member"])
    assert np.std(np.asarray(cat["v"])[~members]) > 30.0  # contaminants: 60 km/s wide


def test_data_loader_reads_mocks(tmp_path, model):
    """The inference data loader (dynamicall.data.StarCatalog) reads a mock with proper
    motions: same radii, velocities, errors (internal units), distance, R_half and truth."""
    data = pytest.importorskip("dynamicall.data", reason="dynamicall.data (inference issue) is not available yet")
    stars, mass = model
    path = tmp_path / "mock.ecsv"
    cat = mock_catalog(stars, mass, Constant(beta=0.0), 100, v_sys=30.0, v_err=1.0, distance=DISTANCE,
                       proper_motions=True, pm_err=0.01, seed=1)
    write_catalog(cat, path)
    loaded = data.StarCatalog.read(path)
    assert len(loaded) == 100 and loaded.has_proper_motions
    for name in ("R", "v", "v_err", "pm_R", "pm_T", "pm_R_err", "pm_T_err"):
        assert np.array_equal(getattr(loaded, name), np.asarray(cat[name])), name
    assert loaded.distance == DISTANCE and loaded.R_half == pytest.approx(0.25, rel=1e-12)
    assert loaded.truth["v_sys"] == 30.0


def test_inconsistent_model_and_bad_input(model):
    """A negative DF (isotropic Plummer in an NFW cusp) is never sampled: 'df' raises,
    'auto' falls back to Gaussian velocities with a warning; bad arguments raise ValueError."""
    stars, _ = model
    cusp = NFW.from_m200_c(1e9, 15.0) + stars
    with pytest.warns(UserWarning):
        with pytest.raises(ValueError, match="negative"):
            mock_catalog(stars, cusp, Constant(beta=0.0), 10, velocities="df")
    with pytest.warns(UserWarning, match="falls back to Gaussian"):
        cat = mock_catalog(stars, cusp, Constant(beta=0.0), 10)
    assert cat.meta["truth"]["velocities"] == "gaussian"
    with pytest.raises(ValueError, match="velocities='df' needs"):
        mock_catalog(stars, cusp, Constant(beta=0.3), 10, velocities="df")
    with pytest.raises(ValueError, match="distance"):
        mock_catalog(stars, cusp, Constant(beta=0.3), 10, proper_motions=True)
    with pytest.raises(ValueError, match="n must be > 0"):
        mock_catalog(stars, cusp, Constant(beta=0.3), 0)
    with pytest.raises(ValueError, match="v_err"):
        mock_catalog(stars, cusp, Constant(beta=0.3), 10, v_err=-1.0)
    with pytest.raises(ValueError, match="fraction"):
        Contamination(fraction=1.0)
    with pytest.raises(ValueError, match="infinite mass"):
        sample_radii(NFW(rho_s=1e7, r_s=1.0), 10)


def test_cli_mock(tmp_path, capsys):
    """`dynamicall mock ...` writes a readable catalogue and prints a summary; bad input
    gives exit code 2 and a message."""
    out = tmp_path / "cli.ecsv"
    args = ["mock", "--tracer", "plummer", "--m-star", "1e6", "--r-half", "250pc", "--halo", "nfw",
            "--m200", "1e9", "--c", "15", "--anisotropy", "constant", "--beta", "0.2", "--n", "300",
            "--v-err", "1,3", "--distance", "80kpc", "--pm", "--pm-err", "0.02", "--seed", "5",
            "--out", str(out)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "wrote 300 stars" in text and "gaussian" in text
    table = Table.read(out)
    assert len(table) == 300 and table.meta["seed"] == 5 and "pm_R" in table.colnames
    assert table.meta["truth"]["tracer"]["r_s"] == pytest.approx(0.25)
    assert main(["mock", "--anisotropy", "om", "--m200", "1e9", "--out", str(out)]) == 2
    assert "--r-a" in capsys.readouterr().err


# --------------------------------------------------------------------------- one generator
SHIPPED_MOCK = pathlib.Path(__file__).resolve().parents[1] / "data" / "mock_dwarf.ecsv"


def test_projected_radii_invert_the_plummer_projected_mass():
    """Same uniform draws as R = a sqrt(q / (1 - q)), q ~ U(0, M_p(R_max) / M)."""
    a, R_max = 0.25, 1.25
    R = sample_projected_radii(Plummer(m_tot=1.0, r_s=a), 2000, seed=3, R_max=R_max)
    q = np.random.default_rng(3).uniform(0.0, R_max**2 / (R_max**2 + a**2), 2000)
    np.testing.assert_allclose(R, a * np.sqrt(q / (1.0 - q)), rtol=1e-12)
    assert R.max() < R_max
    with pytest.raises(ValueError, match="infinite mass: give R_max"):
        sample_projected_radii(NFW(rho_s=1e7, r_s=1.0), 10)


def test_shipped_mock_is_made_by_the_generator():
    """data/mock_dwarf.ecsv is dwarf_mock() with its defaults (data/make_mock_dwarf.py
    writes it): every column and the truth, exactly."""
    from dynamicall.infer.mocks import dwarf_mock

    shipped = Table.read(SHIPPED_MOCK)
    made = dwarf_mock()
    assert made.colnames == shipped.colnames
    for name in shipped.colnames:
        np.testing.assert_array_equal(np.asarray(made[name]), np.asarray(shipped[name]), err_msg=name)
        assert made[name].unit == shipped[name].unit
    assert made.meta["truth"] == shipped.meta["truth"]
    assert (made.meta["seed"], made.meta["distance"], made.meta["R_half"]) == (
        shipped.meta["seed"], shipped.meta["distance"], shipped.meta["R_half"])


def test_los_mode_options_are_checked():
    stars = Plummer(m_tot=1e6, r_s=0.25)
    with pytest.raises(ValueError, match="R_max .* needs velocities='los'"):
        mock_catalog(stars, stars, Constant(beta=0.0), 10, R_max=1.0)
    with pytest.raises(ValueError, match="give R_max, not r_max"):
        mock_catalog(stars, stars, Constant(beta=0.0), 10, velocities="los", r_max=1.0)
    cat = mock_catalog(stars, stars, Constant(beta=0.0), 20, velocities="los", R_max=0.5, seed=2,
                       contamination=Contamination(fraction=0.2, v_mean=0.0, v_sigma=30.0))
    assert len(cat) == 25 and int(np.sum(~np.asarray(cat["member"]))) == 5
    assert np.all(np.asarray(cat["R"]) <= 0.5)
    np.testing.assert_allclose(np.hypot(cat["x"], cat["y"]), cat["R"], rtol=1e-12)
