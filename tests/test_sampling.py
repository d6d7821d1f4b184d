"""Sampling that converges: the enclosed-mass parameterisation (round trip, Jacobian),
``optimize`` (a known optimum, the Laplace covariance of a closed-form Gaussian), the
convergence diagnostics (NaN r_hat warns, small catalogue refused, the verdict), and the
one registry of model names.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest

from dynamicall.data import StarCatalog
from dynamicall.infer import KinematicModel, ModelSpec, sample
from dynamicall.infer.optimize import hessian_covariance, inverse_positive_definite, optimize
from dynamicall.infer.outputs import verdict
from dynamicall.infer.run import FitResult, warn_if_not_converged
from dynamicall.infer.spec import MASS_SITE, REFERENCE_RADIUS_IN_R_HALF

HALOES = ("zhao", "nfw", "core-nfw", "burkert", "einasto", "plummer", "hernquist", "dehnen")


def _spec(halo, parameterization, **kw):
    priors = {"halo.gamma": 0.5} if halo == "dehnen" else {}
    return ModelSpec("plummer", halo, "constant", R_half=0.25, priors=priors,
                     parameterization=parameterization, **kw)


# ---------------------------------------------------------------------------- reparameterisation
@pytest.mark.parametrize("halo", HALOES)
def test_enclosed_mass_round_trip_for_every_halo_family(halo):
    """log10 M(<1.8 R_half) -> native normalisation -> the same halo, to 1e-12: building
    the enclosed-mass spec gives a halo whose mass inside r_ref is the sampled one, and
    the native spec at the returned log10_rho_s (or m_tot) rebuilds it."""
    jax.config.update("jax_enable_x64", True)
    mass_spec = _spec(halo, "enclosed_mass")
    native_spec = _spec(halo, "native")
    assert MASS_SITE in mass_spec.sites and MASS_SITE not in native_spec.sites
    values = mass_spec.reference()
    values[MASS_SITE] = 7.3
    values["halo.log10_r_s"] = -0.2
    halo_obj = mass_spec.halo(values)
    r_ref = REFERENCE_RADIUS_IN_R_HALF * 0.25
    assert float(jnp.log10(halo_obj.mass(r_ref))) == pytest.approx(7.3, abs=1e-12)
    both = mass_spec.native_values(values)
    native = {k: v for k, v in values.items() if k != MASS_SITE}
    (norm_site,) = [k for k in both if k != MASS_SITE]
    native[norm_site] = float(both[norm_site])
    rebuilt = native_spec.halo(native)
    for r in (0.05, r_ref, 2.0):
        assert float(rebuilt.mass(r)) == pytest.approx(float(halo_obj.mass(r)), rel=1e-12)
    # and back: the native spec reports the same enclosed mass
    assert float(native_spec.native_values(native)[MASS_SITE]) == pytest.approx(7.3, abs=1e-12)


def test_enclosed_mass_map_has_unit_jacobian():
    """(log10 M_ref, shape) -> (log10 rho_s, shape) is a shift of log10 rho_s by a function
    of the shape, so its Jacobian determinant is exactly 1: a uniform prior on either
    logarithm is the same prior inside the box. Checked by autodiff at two points; the
    derivative d log10 rho_s / d log10 M_ref is 1 and the shape columns are not trivially 0."""
    jax.config.update("jax_enable_x64", True)
    spec = ModelSpec("plummer", "zhao", "baes-van-hese", R_half=0.25, parameterization="enclosed_mass")
    sites = spec.sites

    def to_native(x):
        values = dict(zip(sites, x))
        native = spec.native_values(values)
        return jnp.stack([native["halo.log10_rho_s"] if s == MASS_SITE else values[s] for s in sites])

    jacobian = jax.jit(jax.jacfwd(to_native))  # one compilation for both points
    for shift in (0.0, 0.2):
        x = jnp.asarray([spec.reference()[s] for s in sites]) + shift
        J = np.asarray(jacobian(x))
        assert np.linalg.det(J) == pytest.approx(1.0, abs=1e-10)
        i = sites.index(MASS_SITE)
        assert J[i, i] == pytest.approx(1.0, abs=1e-12)
        assert np.max(np.abs(np.delete(J[i], i))) > 0.05  # log10 rho_s depends on r_s and the slopes


def test_parameterization_validation_and_priors():
    with pytest.raises(ValueError, match="parameterization must be one of"):
        ModelSpec("plummer", "nfw", "constant", R_half=0.25, parameterization="mass")
    with pytest.raises(ValueError, match="halo.log10_m_ref"):
        ModelSpec("plummer", "nfw", "constant", R_half=0.25, parameterization="enclosed_mass",
                  priors={"halo.log10_rho_s": (6.0, 9.0)})
    spec = ModelSpec("plummer", "nfw", "constant", R_half=0.25, parameterization="enclosed_mass",
                     priors={MASS_SITE: (6.0, 9.0)})
    assert spec.parameter(MASS_SITE).describe() == "Uniform(6, 9)"
    # a fixed native normalisation stays fixed: nothing left to reparameterise
    fixed = ModelSpec("plummer", "nfw", "constant", R_half=0.25, parameterization="enclosed_mass",
                      priors={"halo.log10_rho_s": 7.5})
    assert fixed.sites == ("halo.log10_r_s", "anisotropy.beta")
    assert fixed.describe()["parameterization"] == "enclosed_mass"


# ---------------------------------------------------------------------------- optimize
MEAN = np.array([1.5, -0.7])
COV = np.array([[0.30, 0.12], [0.12, 0.08]])
PRIOR_SD = 5.0


class GaussianModel:
    """Two sites with N(0, 5^2) priors and a correlated Gaussian likelihood: the posterior
    is Gaussian with precision P = C^-1 + I/25 and mean P^-1 C^-1 mu (closed form)."""

    def priors(self):
        return {"a": dist.Normal(0.0, PRIOR_SD), "b": dist.Normal(0.0, PRIOR_SD)}

    def __call__(self):
        a = numpyro.sample("a", dist.Normal(0.0, PRIOR_SD))
        b = numpyro.sample("b", dist.Normal(0.0, PRIOR_SD))
        numpyro.factor("like", dist.MultivariateNormal(jnp.asarray(MEAN), jnp.asarray(COV)).log_prob(
            jnp.stack([a, b])))

    @staticmethod
    def closed_form():
        precision = np.linalg.inv(COV) + np.eye(2) / PRIOR_SD**2
        cov = np.linalg.inv(precision)
        return cov @ np.linalg.inv(COV) @ MEAN, cov


def test_optimize_finds_the_mode_and_the_laplace_covariance_of_a_gaussian():
    """A Gaussian posterior: its mode is the closed-form mean (to 1e-7) and its Laplace
    covariance is the closed-form covariance (to 1e-6 relative: central differences of a
    linear gradient are exact up to rounding)."""
    jax.config.update("jax_enable_x64", True)
    mean, cov = GaussianModel.closed_form()
    result = optimize(GaussianModel(), starts=4, steps=200, seed=3)
    assert result.sites == ("a", "b")
    np.testing.assert_allclose(result.z, mean, atol=1e-7)
    np.testing.assert_allclose(result.covariance, cov, rtol=1e-6)
    assert result.positive_definite
    assert result.values["a"] == pytest.approx(mean[0], abs=1e-7)


def test_hessian_covariance_autodiff_matches_closed_form():
    jax.config.update("jax_enable_x64", True)
    precision = np.linalg.inv(COV)
    H, cov, ok = hessian_covariance(lambda x: 0.5 * (x - MEAN) @ precision @ (x - MEAN), np.zeros(2))
    np.testing.assert_allclose(H, precision, rtol=1e-12)
    np.testing.assert_allclose(cov, COV, rtol=1e-12)
    assert bool(ok)
    _, ok = inverse_positive_definite(np.array([[1.0, 0.0], [0.0, -1.0]]))
    assert not bool(ok)


def test_optimize_rejects_bad_settings():
    with pytest.raises(ValueError, match="starts must be an integer >= 1"):
        optimize(GaussianModel(), starts=0)


# ---------------------------------------------------------------------------- diagnostics
class _Model:
    """Just enough of a KinematicModel for FitResult and the diagnostics."""

    sites = ("x", "y")


def _result(samples, diverging=None):
    chains, draws = next(iter(samples.values())).shape
    stats = {"diverging": np.zeros((chains, draws), bool) if diverging is None else diverging}
    return FitResult(model=_Model(), samples=samples, stats=stats, settings={}, timing={})


def test_nan_r_hat_of_a_stuck_chain_warns():
    """Every chain of y stuck at one value: r_hat is NaN, and sampling says so."""
    rng = np.random.default_rng(0)
    result = _result({"x": rng.standard_normal((4, 200)), "y": np.full((4, 200), 0.3)})
    with pytest.warns(RuntimeWarning, match=r"r_hat is NaN for \['y'\]"):
        messages = warn_if_not_converged(result)
    assert len(messages) == 1


def test_verdict_converged_and_not():
    from dynamicall.infer.outputs import _stats

    rng = np.random.default_rng(1)
    good = {"x": _stats(rng.standard_normal((8, 250))), "y": _stats(rng.standard_normal((8, 250)))}
    v = verdict(good, {}, 0, 8)
    assert v["converged"] and v["advice"] == [] and v["text"].startswith("converged")
    # a chain offset from the others, a few draws, and divergences: three failures, three hints
    bad_x = rng.standard_normal((4, 60))
    bad_x[0] += 3.0
    bad = {"x": _stats(bad_x), "y": _stats(rng.standard_normal((4, 60)))}
    v = verdict(bad, {}, 3, 4)
    assert not v["converged"]
    assert {k for k, c in v["checks"].items() if not c["ok"]} == {"r_hat", "ess", "divergences"}
    assert v["text"].startswith("NOT converged") and len(v["advice"]) == 3


def test_a_catalogue_too_small_for_the_model_is_refused_before_sampling():
    """5 stars for 10 free parameters (Zhao + Baes-van Hese + v_sys): ValueError naming the
    counts, raised before anything compiles."""
    jax.config.update("jax_enable_x64", True)
    cat = StarCatalog.from_arrays(R=[0.05, 0.1, 0.2, 0.3, 0.5], v=[1.0, -2.0, 3.0, 0.5, -1.0],
                                  v_err=[1.0] * 5, R_half=0.25)
    model = KinematicModel(ModelSpec("plummer", "zhao", "baes-van-hese", R_half=0.25), cat)
    with pytest.raises(ValueError, match=r"5 stars cannot constrain 10 free parameters.*need at least 20"):
        sample(model, progress=False)


# ---------------------------------------------------------------------------- registry
def test_one_registry_of_names_for_fit_and_mock():
    """Every name ``fit`` documents resolves in the registry, and ``mock`` accepts the same
    spellings (core-nfw, osipkov-merritt, baes-van-hese) and the short aliases."""
    from dynamicall.cli import build_parser
    from dynamicall.registry import lookup, names

    assert names("profile") == ["plummer", "hernquist", "dehnen", "nfw", "zhao", "einasto", "burkert",
                                "core-nfw", "sersic", "exponential", "king", "tabulated"]
    assert names("anisotropy") == ["constant", "osipkov-merritt", "baes-van-hese"]
    for name in ("core-nfw", "CoreNFW", "corenfw", "baes-van-hese", "bvh", "om", "NFW"):
        lookup(name)
    with pytest.raises(ValueError, match="unknown model family 'cusp'.*core-nfw"):
        lookup("cusp")
    parser = build_parser()
    args = parser.parse_args(["mock", "--halo", "core-nfw", "--anisotropy", "baes-van-hese", "--r-a", "0.3"])
    assert (args.halo, args.anisotropy) == ("core-nfw", "baes-van-hese")
    args = parser.parse_args(["mock", "--halo", "CoreNFW", "--anisotropy", "bvh", "--r-a", "0.3"])
    assert (args.halo, args.anisotropy) == ("core-nfw", "baes-van-hese")


def test_fit_command_defaults_are_the_library_defaults():
    from dynamicall.cli import build_parser
    from dynamicall.infer import run

    args = build_parser().parse_args(["fit", "x.ecsv"])
    assert (args.chains, args.warmup, args.samples) == (run.DEFAULT_CHAINS, run.DEFAULT_WARMUP,
                                                        run.DEFAULT_SAMPLES)
    assert args.parameterization == "enclosed_mass" and args.init == "laplace"
