r"""Fisher forecasts: how well a survey would constrain a model, before observing.

For Gaussian velocities, star i at projected radius :math:`R_i` with error
:math:`\epsilon_i` has variance :math:`C_i(\theta) = \sigma_{los}^2(R_i; \theta) +
\epsilon_i^2` about the systemic velocity, and the expected Fisher information is

.. math::
    F_{jk} = \sum_i \frac{1}{2} \frac{\partial_j C_i\, \partial_k C_i}{C_i^2}, \qquad
    F_{v_{sys} v_{sys}} = \sum_i \frac{1}{C_i},

(the mean term for :math:`v_{sys}`; its cross terms vanish), plus the same for the two
proper-motion components, with :math:`C = (\sigma_{pm}/4.74 d)^2 + \epsilon_{pm}^2`.
The derivatives are taken by autodiff through the forward model (exact engine or
emulator), in the sampled parameters of the :class:`~dynamicall.infer.spec.ModelSpec`
(log10 for scales). A :class:`SurveyDesign` gives the stars: their number, radial
distribution (from the tracer profile, by Gauss-Legendre nodes in the cumulative
projected number) and errors. :func:`crlb` inverts F (the Cramer-Rao lower bound on the
covariance), warning when F is ill-conditioned; :func:`crlb_uncertainties` and
:func:`crlb_error_samples` follow the names of TorusImaging (without its inverted ``inv``
flag).

Example
-------
>>> from dynamicall.infer.spec import ModelSpec
>>> spec = ModelSpec("plummer", "nfw", "constant", R_half=0.25)
>>> design = SurveyDesign.from_tracer(spec.build(spec.reference())[0], 500, v_err=2.0, R_max=1.25)
>>> truth = {"halo.log10_rho_s": 7.6, "halo.log10_r_s": 0.0, "anisotropy.beta": 0.2}
>>> F = fisher_matrix(spec, truth, design)
>>> F.names
('halo.log10_rho_s', 'halo.log10_r_s', 'anisotropy.beta', 'v_sys')
>>> sorted(crlb_uncertainties(F))
['anisotropy.beta', 'halo.log10_r_s', 'halo.log10_rho_s', 'v_sys']
"""

from __future__ import annotations

import dataclasses
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from ..units import KMS_PER_KPC_MASYR
from .survey import SurveyDesign

__all__ = [
    "CONDITION_WARNING", "FisherMatrix", "SurveyDesign", "constrained_variance", "crlb",
    "crlb_error_samples", "crlb_uncertainties", "derived_jacobian", "derived_uncertainties",
    "expected_log_likelihood", "fisher_matrix", "forecast", "parse_target", "prior_curvature",
    "prior_precision", "prior_standard_deviations", "propagated_variance", "stars_for_target",
    "truth_in_parameterization",
]

#: Condition number (of F scaled to unit diagonal) above which :func:`crlb` warns.
CONDITION_WARNING = 1e10


@dataclasses.dataclass(frozen=True)
class FisherMatrix:
    """A Fisher matrix with its parameter names and the point it was evaluated at.

    ``np.asarray(F)`` gives the matrix.
    """

    matrix: np.ndarray
    names: tuple
    values: np.ndarray
    n_stars: float

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.matrix, dtype=dtype)

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"no parameter {name!r}; the parameters are {list(self.names)}") from None

    def select(self, names) -> "FisherMatrix":
        """The Fisher matrix of a subset of parameters, the others held fixed (known)."""
        idx = [self.index(n) for n in names]
        return FisherMatrix(self.matrix[np.ix_(idx, idx)], tuple(names), self.values[idx], self.n_stars)

    def with_prior_widths(self, widths: dict) -> "FisherMatrix":
        """Add independent Gaussian priors of standard deviation ``widths[name]``."""
        m = self.matrix.copy()
        for name, width in widths.items():
            width = float(width)
            if not (np.isfinite(width) and width > 0):
                raise ValueError(f"prior width of {name} must be finite and > 0; got {width!r}")
            i = self.index(name)
            m[i, i] += 1.0 / width**2
        return dataclasses.replace(self, matrix=m)


def _design_quantities(design, proper_motions):
    if proper_motions is None:
        proper_motions = design.has_proper_motions
    if proper_motions and not design.has_proper_motions:
        raise ValueError("proper_motions=True needs a design with pm_err and distance")
    return ("los", "pm_radial", "pm_tangential") if proper_motions else ("los",)


def _evaluation_radii(spec, design, grid_points=32):
    """Radii at which to run the forward model, and how to get the nodes' values.

    At most ``grid_points`` distinct node radii inside the forward model's range are
    evaluated directly; otherwise (a catalogue's stars) on a log grid over the nodes,
    interpolated log-log as in the likelihood.

    Returns
    -------
    (R_eval, interpolate, R_unique, inverse)
    """
    from .forward import evaluation_grid

    R_unique, inverse = np.unique(design.R, return_inverse=True)
    lo, hi = spec.forward.R_range(spec.build(spec.reference())[0])
    if R_unique.size <= grid_points and R_unique[0] >= lo and R_unique[-1] <= hi:
        return R_unique, False, R_unique, inverse
    return evaluation_grid(R_unique, (lo, hi), grid_points), True, R_unique, inverse


def _variances(spec, design, quantities, sites):
    """theta -> per-node variances of each measured quantity (stacked)."""
    from ..jeans import interp_loglog

    forward = spec.forward
    forward.check(*spec.build(spec.reference()), quantities)
    R_eval, interpolate, R_unique, inverse = _evaluation_radii(spec, design)
    v_err2 = jnp.asarray(design.v_err**2)
    if "pm_radial" in quantities:
        pm_err2 = jnp.asarray(design.pm_err**2)
        k = 1.0 / (KMS_PER_KPC_MASYR * design.distance)

    def variances(theta):
        values = dict(zip(sites, theta))
        tracer, mass, anisotropy = spec.build(values)
        disp = forward.dispersions(R_eval, tracer, mass, anisotropy, quantities)
        if interpolate:
            disp = {q: interp_loglog(R_unique, R_eval, v) for q, v in disp.items()}
        disp = {q: v[inverse] for q, v in disp.items()}
        out = [disp["los"] ** 2 + v_err2]
        if "pm_radial" in quantities:
            out.append((k * disp["pm_radial"]) ** 2 + pm_err2)
            out.append((k * disp["pm_tangential"]) ** 2 + pm_err2)
        return jnp.concatenate(out)

    return variances


def _value_and_jacobian(f, x):
    """f(x) and its Jacobian (outputs x inputs) by forward-mode autodiff.

    Run eagerly on purpose: the Jeans engine inside is jit-compiled per radial grid, and
    JAX caches its transformed (jvp, vmap) versions, so repeated Fisher matrices on one
    design compile once; wrapping everything in one jit would compile it all anew.
    """
    return f(x), jax.jacfwd(f)(x)


def _theta(spec, truth: dict):
    sites = spec.sites
    missing = [s for s in sites if s not in truth]
    if missing:
        raise ValueError(f"truth lacks values for {missing}; the free parameters are {list(sites)}")
    known = {p.site for p in spec.parameters} | {"v_sys"}
    extra = sorted(set(truth) - known)
    if extra:
        raise ValueError(f"truth has values for unknown parameters {extra}; the free parameters are {list(sites)}")
    return sites, np.array([float(truth[s]) for s in sites])


def truth_in_parameterization(spec, truth: dict) -> dict:
    """``truth`` with the halo normalisation in ``spec``'s parameterisation.

    A truth written for ``parameterization="native"`` (``halo.log10_rho_s`` or
    ``halo.log10_m_tot``) gets ``halo.log10_m_ref`` = log10 M_halo(< 1.8 R_half) for an
    ``"enclosed_mass"`` spec, and the reverse; the other parameterisation's site is
    dropped. Without values for all the halo's other sites nothing is converted (the
    missing sites are named by whatever needs them). Anything else is returned as is.

    Example
    -------
    >>> from dynamicall.infer.spec import ModelSpec
    >>> spec = ModelSpec("plummer", "nfw", "constant", R_half=0.25, parameterization="enclosed_mass")
    >>> truth = truth_in_parameterization(spec, {"halo.log10_rho_s": 7.6, "halo.log10_r_s": 0.0,
    ...                                          "anisotropy.beta": 0.2})
    >>> sorted(truth), round(truth["halo.log10_m_ref"], 3)
    (['anisotropy.beta', 'halo.log10_m_ref', 'halo.log10_r_s'], 7.486)
    """
    from .priors import site_name
    from .spec import _NORMALISATIONS, MASS_SITE

    out = dict(truth)
    halo = spec.component("halo")
    norm = [p for p in (halo.params if halo is not None else ()) if p.field in _NORMALISATIONS and p.free]
    if not norm:
        return out
    p = norm[0]
    native = site_name("halo", p.field, True)
    if p.site in out:  # already in spec's parameterisation: drop the other one
        out.pop(MASS_SITE if p.site == native else native, None)
        return out
    source = native if p.reference_radius is not None else MASS_SITE
    if source not in out:
        return out  # _theta names what is missing
    if any(q.free and q is not p and q.site not in out for q in halo.params):
        return out  # the halo's other sites are needed: _theta (or the caller) names what is missing
    unit = halo.build({**out, p.site: 0.0})  # the normalisation's site at 0 (a value of 1)
    if p.reference_radius is not None:  # log10 M_ref = log10 norm + log10 M_ref(norm = 1)
        out[p.site] = float(out.pop(source)) - float(jnp.log10(getattr(unit, p.field)))
    else:  # log10 norm = log10 M_ref - log10 M_ref(norm = 1)
        out[p.site] = float(out.pop(source)) - float(jnp.log10(unit.mass(spec.reference_radius)))
    return out


def fisher_matrix(spec, truth: dict, design: SurveyDesign, *, proper_motions=None,
                  v_sys: bool = True, prior_widths: dict | None = None) -> FisherMatrix:
    """Expected Fisher information of a survey for the free parameters of ``spec``.

    Parameters
    ----------
    spec : ModelSpec
        Components, free/fixed parameters and forward model (exact or emulator).
    truth : dict
        site -> value of every free parameter (sampled coordinates: log10 for scales);
        values of fixed parameters and ``v_sys`` may be included (they are ignored).
    design : SurveyDesign
        The stars.
    proper_motions : bool, optional
        Include the proper-motion terms (default: when the design has pm errors).
    v_sys : bool
        Include the systemic velocity (its information decouples from the rest).
    prior_widths : dict, optional
        Independent Gaussian priors (site -> standard deviation) added to F.

    Returns
    -------
    FisherMatrix
        Parameters in ``spec.sites`` order, then ``v_sys``.
    """
    quantities = _design_quantities(design, proper_motions)
    sites, theta = _theta(spec, truth)
    variances = _variances(spec, design, quantities, sites)
    C, J = (np.asarray(a) for a in _value_and_jacobian(variances, jnp.asarray(theta)))
    w = np.tile(design.weights, len(quantities))
    F = 0.5 * (J * (w / C**2)[:, None]).T @ J
    names = tuple(sites)
    values = theta
    if v_sys:
        n = F.shape[0]
        G = np.zeros((n + 1, n + 1))
        G[:n, :n] = F
        G[n, n] = float(np.sum(design.weights / C[: design.R.size]))
        F = G
        names = names + ("v_sys",)
        values = np.append(theta, float(truth.get("v_sys", 0.0)))
    result = FisherMatrix(0.5 * (F + F.T), names, values, design.n_stars)
    return result.with_prior_widths(prior_widths) if prior_widths else result


def expected_log_likelihood(spec, truth: dict, design: SurveyDesign, *, proper_motions=None):
    """The expected log-likelihood E_truth[ln L(theta)] as a function of the parameter
    vector (``spec.sites`` then ``v_sys``); its Hessian at the truth is minus the Fisher
    matrix. For checks (e.g. finite differences) and plots.

    Returns
    -------
    callable theta -> float
    """
    from .likelihoods import gaussian_summed

    quantities = _design_quantities(design, proper_motions)
    sites, theta0 = _theta(spec, truth)
    variances = _variances(spec, design, quantities, sites)
    C0 = np.asarray(variances(jnp.asarray(theta0)))
    v0 = float(truth.get("v_sys", 0.0))
    w = np.tile(design.weights, len(quantities))
    n_los = design.R.size

    def ell(theta):
        theta = jnp.asarray(theta)
        C = variances(theta[:-1])
        shift = jnp.zeros_like(C).at[:n_los].set((theta[-1] - v0) ** 2)
        return gaussian_summed(w, w * (C0 + shift), C)

    return ell


def _as_matrix(F):
    m = np.asarray(F, dtype=float)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"a Fisher matrix must be square; got shape {m.shape}")
    return m


def _names(F, n):
    return tuple(F.names) if isinstance(F, FisherMatrix) else tuple(f"p{i}" for i in range(n))


def crlb(F, *, warn_condition: float = CONDITION_WARNING) -> np.ndarray:
    """The Cramer-Rao lower bound: the inverse of the Fisher matrix.

    Inverted by :func:`dynamicall.infer.optimize.inverse_positive_definite` (the same
    code path as the Laplace covariance), which scales the matrix to unit diagonal; if
    its condition number then exceeds ``warn_condition`` a ``RuntimeWarning`` names the
    worst-constrained direction, and beyond 1 / (n eps) (no correct digit left) it is
    singular. Nothing is patched: the returned matrix is the plain inverse.

    Parameters
    ----------
    F : FisherMatrix or array

    Returns
    -------
    ndarray
        Covariance bound, in the parameters' units.

    Raises
    ------
    ValueError
        If a parameter has no information (zero diagonal) or F is (numerically) singular.

    Example
    -------
    >>> crlb(np.diag([4.0, 100.0])).diagonal().tolist()
    [0.25, 0.01]
    """
    from .optimize import inverse_positive_definite

    m = _as_matrix(F)
    names = _names(F, m.shape[0])
    d = np.diag(m)
    if np.any(~np.isfinite(m)):
        raise ValueError("the Fisher matrix has non-finite entries")
    zero = [names[i] for i in np.flatnonzero(d <= 0)]
    if zero:
        raise ValueError(
            f"no Fisher information on {zero}: the design does not constrain them; fix them "
            f"or add prior widths"
        )
    inv, _, (eig, vec) = inverse_positive_definite(m, spectrum=True)
    size = np.abs(eig)
    if not size.min() > m.shape[0] * np.finfo(float).eps * size.max():  # no digit of the inverse is right
        raise ValueError("the Fisher matrix is singular: fix parameters or add prior widths")
    cond = eig[-1] / eig[0] if eig[0] > 0 else np.inf
    if not cond < warn_condition:
        weak = vec[:, 0]
        order = np.argsort(-np.abs(weak))[:3]
        combo = " ".join(f"{weak[i]:+.2f} {names[i]}" for i in order)
        warnings.warn(
            f"the Fisher matrix is ill-conditioned (condition number {cond:.2g} after scaling to unit "
            f"diagonal): the direction {combo} is nearly unconstrained, so the bound on it is unreliable; "
            f"fix parameters or add prior widths",
            RuntimeWarning,
            stacklevel=2,
        )
    return inv


def crlb_uncertainties(F, **kwargs) -> dict:
    """1 sigma bounds: sqrt of the diagonal of :func:`crlb`, by parameter name.

    A negative variance (round-off in a near-singular matrix) gives NaN with a warning.

    Example
    -------
    >>> crlb_uncertainties(np.diag([4.0, 100.0]))
    {'p0': 0.5, 'p1': 0.1}
    """
    cov = crlb(F, **kwargs)
    names = _names(F, cov.shape[0])
    var = np.diag(cov)
    if np.any(var < 0):
        bad = [names[i] for i in np.flatnonzero(var < 0)]
        warnings.warn(f"negative CRLB variances for {bad} (numerically singular Fisher matrix)",
                      RuntimeWarning, stacklevel=2)
    with np.errstate(invalid="ignore"):
        sig = np.sqrt(var)
    return {n: float(v) for n, v in zip(names, sig)}


def crlb_error_samples(F, size: int = 1000, seed=None, **kwargs) -> dict:
    """Draws from the Gaussian with the CRLB covariance, centred on the Fisher point.

    Returns
    -------
    dict name -> array (size,)

    Example
    -------
    >>> from dynamicall.infer.fisher import FisherMatrix
    >>> F = FisherMatrix(np.diag([4.0, 100.0]), ("a", "b"), np.array([1.0, 2.0]), 10.0)
    >>> draws = crlb_error_samples(F, size=20000, seed=1)
    >>> round(float(draws["a"].std()), 1)
    0.5
    """
    cov = crlb(F, **kwargs)
    names = _names(F, cov.shape[0])
    centre = np.asarray(F.values) if isinstance(F, FisherMatrix) else np.zeros(cov.shape[0])
    rng = np.random.default_rng(seed)
    draws = rng.multivariate_normal(centre, cov, size=int(size), method="eigh")
    return {n: draws[:, i] for i, n in enumerate(names)}


# ---------------------------------------------------------------------------- priors
#: A parameter (or derived quantity) whose forecast 1 sigma exceeds this fraction of its
#: prior-only width is "prior-dominated": the prior gives more than half of its precision.
PRIOR_DOMINATED = 1.0 / np.sqrt(2.0)

#: Relative size of a discarded eigenvalue (of F scaled to unit diagonal) below which a
#: direction counts as unconstrained by the data (``priors=False`` derived quantities).
UNCONSTRAINED_RCOND = 1.0 / CONDITION_WARNING


def prior_curvature(spec, point: dict) -> np.ndarray:
    r"""Curvature :math:`-\partial^2 \ln p_j(\theta_j) / \partial\theta_j^2` of each free
    parameter's prior at ``point`` (autodiff; in ``spec.sites`` order; zero for a flat
    prior such as a uniform). The priors of a :class:`ModelSpec` are independent, so this
    is the diagonal of the prior's Hessian, the term a Laplace approximation adds to the
    likelihood's.

    Example
    -------
    >>> from dynamicall.infer.spec import ModelSpec
    >>> import numpyro.distributions as dist
    >>> spec = ModelSpec("plummer", "nfw", "constant", R_half=0.25,
    ...                  priors={"anisotropy.beta": dist.Normal(0.0, 0.5)})
    >>> prior_curvature(spec, {"halo.log10_rho_s": 7.6, "halo.log10_r_s": 0.0, "anisotropy.beta": 0.2}).tolist()
    [0.0, 0.0, 4.0]
    """
    out = []
    for p in spec.free:
        x = jnp.asarray(float(point[p.site]))
        second = jax.grad(jax.grad(lambda t, prior=p.prior: jnp.sum(prior.log_prob(t))))(x)
        out.append(0.0 - float(second))
    return np.asarray(out, dtype=float)


#: How a flat prior (zero curvature: uniform, log-uniform in its log10 site) of variance
#: ``v`` becomes Gaussian information: "variance", 1 / v (the Gaussian of equal variance;
#: a uniform of width W: 12 / W^2), or "entropy", the Gaussian of equal differential
#: entropy, 2 pi e / W^2 = 1.42 / v (the default: the calibration against NUTS in
#: docs/forecast.md, benchmarks/forecast_vs_nuts.py, chose it).
FLAT_PRIOR_RULES = {"variance": 1.0, "entropy": 2.0 * np.pi * np.e / 12.0}
FLAT_PRIOR = "entropy"


def prior_precision(spec, point: dict, names=None, flat: str | None = None) -> tuple[np.ndarray, dict]:
    r"""The information the priors carry, as a precision matrix for a Fisher forecast.

    For each free parameter, the prior's exact curvature at ``point`` where it is
    positive (a Normal prior N(mu, s): 1 / s^2); otherwise (a flat prior: uniform,
    log-uniform in the log10 site) the precision of the Gaussian of equal differential
    entropy (default; a uniform of width W: 2 pi e / W^2) or of equal variance (12 / W^2),
    see :data:`FLAT_PRIOR_RULES`. Zero rows for ``names`` without a prior in ``spec``
    (e.g. ``v_sys``).

    Parameters
    ----------
    spec : ModelSpec
    point : dict
        site -> value (the forecast's truth).
    names : sequence of str, optional
        Row/column order (default ``spec.sites``).
    flat : {"variance", "entropy"}, optional
        Rule for flat priors (default :data:`FLAT_PRIOR`; see :data:`FLAT_PRIOR_RULES`).

    Returns
    -------
    (P, sources) : (ndarray (n, n), dict site -> "curvature", or ``flat``'s rule)

    Raises
    ------
    ValueError
        If a flat prior has no finite variance.

    Example
    -------
    >>> from dynamicall.infer.spec import ModelSpec
    >>> spec = ModelSpec("plummer", "nfw", "constant", R_half=0.25)
    >>> P, how = prior_precision(spec, spec.reference())
    >>> round(float(P[2, 2]), 4), how["anisotropy.beta"]  # U(-1, 0.9): 2 pi e / 1.9^2
    (4.7312, 'entropy')
    """
    names = tuple(spec.sites if names is None else names)
    flat = FLAT_PRIOR if flat is None else flat
    if flat not in FLAT_PRIOR_RULES:
        raise ValueError(f"flat must be one of {sorted(FLAT_PRIOR_RULES)}; got {flat!r}")
    curvature = prior_curvature(spec, point)
    P = np.zeros((len(names), len(names)))
    sources = {}
    for p, c in zip(spec.free, curvature):
        if p.site not in names:
            continue
        i = names.index(p.site)
        if np.isfinite(c) and c > 0:
            P[i, i], sources[p.site] = c, "curvature"
            continue
        var = float(np.asarray(p.prior.variance))
        if not (np.isfinite(var) and var > 0):
            raise ValueError(
                f"the prior of {p.site} ({describe_prior(p)}) has neither a positive curvature at "
                f"{point[p.site]:g} nor a finite variance: give it a proper prior or fix it"
            )
        P[i, i], sources[p.site] = FLAT_PRIOR_RULES[flat] / var, flat
    return P, sources


def describe_prior(parameter) -> str:
    from .priors import describe_distribution

    return describe_distribution(parameter.prior)


def prior_standard_deviations(spec) -> dict:
    """Standard deviation of each free parameter's prior (e.g. width / sqrt(12) for a
    uniform prior), by site."""
    out = {}
    for p in spec.free:
        var = float(np.asarray(p.prior.variance))
        if not (np.isfinite(var) and var > 0):
            raise ValueError(f"the prior of {p.site} has no finite variance")
        out[p.site] = float(np.sqrt(var))
    return out


# ---------------------------------------------------------------------------- derived quantities
def derived_jacobian(spec, point: dict) -> tuple[tuple, np.ndarray, np.ndarray]:
    """Derived quantities (:mod:`dynamicall.infer.derived`) at ``point`` and their
    gradients with respect to ``spec.sites`` (forward-mode autodiff).

    Returns
    -------
    (names, values, J) : names sorted, values (q,), Jacobian (q, len(spec.sites))
    """
    from .derived import DERIVED_NAMES, derived_array

    sites = spec.sites
    theta = jnp.asarray([float(point[s]) for s in sites])
    value, J = _value_and_jacobian(lambda t: derived_array(spec, dict(zip(sites, t))), theta)
    return DERIVED_NAMES, np.asarray(value), np.asarray(J)


def propagated_variance(J: np.ndarray, cov: np.ndarray) -> np.ndarray:
    r"""Linear propagation: :math:`\mathrm{diag}(J \Sigma J^T)` (one variance per row of J)."""
    return np.einsum("ij,jk,ik->i", J, cov, J)


def constrained_variance(J: np.ndarray, F: np.ndarray, rcond: float = UNCONSTRAINED_RCOND,
                         tol: float = 1e-4) -> np.ndarray:
    r"""Cramer-Rao variance of functions with gradients ``J`` (rows) from a possibly
    singular Fisher matrix ``F``, computed in the subspace the data constrain.

    With :math:`D = \mathrm{diag}(F)^{-1/2}` and :math:`D F D = V \Lambda V^T`, the bound
    on :math:`q` is :math:`\sum_k (v_k^T D g)^2 / \lambda_k` over the eigenvalues
    :math:`\lambda_k > \mathrm{rcond}\,\lambda_{max}`. A gradient with a component
    :math:`|v_k^T D g| > \mathrm{tol}\,|D g|` along a discarded (unconstrained)
    direction gets ``inf``: the data alone do not bound it. A gradient orthogonal to the
    unconstrained directions gets a finite bound, free of their round-off.

    Example
    -------
    >>> F = np.array([[1.0, 1.0], [1.0, 1.0]])           # only theta0 + theta1 is measured
    >>> constrained_variance(np.array([[1.0, 1.0], [1.0, 0.0]]), F).round(12).tolist()
    [1.0, inf]
    """
    F = np.asarray(F, dtype=float)
    d = np.diag(F)
    s = np.where(d > 0, 1.0 / np.sqrt(np.where(d > 0, d, 1.0)), 0.0)
    eig, vec = np.linalg.eigh(F * np.outer(s, s))
    keep = eig > rcond * eig[-1]
    G = np.asarray(J, dtype=float) * s  # rows: D g
    proj = G @ vec  # (q, k)
    norm = np.linalg.norm(G, axis=1)
    var = np.sum(proj[:, keep] ** 2 / eig[keep], axis=1)
    lost = np.any(np.abs(proj[:, ~keep]) > tol * norm[:, None], axis=1) if np.any(~keep) else np.zeros(len(G), bool)
    # a gradient on a parameter with no information at all (zero diagonal) is unconstrained too
    lost |= np.any((np.asarray(J) != 0) & (d <= 0), axis=1)
    return np.where(lost, np.inf, var)


def derived_uncertainties(F: FisherMatrix, spec, *, priors: bool = True, flat_prior: str | None = None,
                          **kwargs) -> dict:
    """1 sigma of the derived quantities (M(<1.8 R_half), rho(150 pc), ...).

    With ``priors`` (default) by linear propagation of the prior-regularised covariance
    (F + P)^-1 (:func:`prior_precision`); without, the Cramer-Rao bound of F alone in the
    subspace the data constrain (:func:`constrained_variance`; ``inf`` for a quantity
    the data alone do not bound).

    Returns
    -------
    dict name -> (value, sigma)
    """
    sites = [n for n in F.names if n != "v_sys"]
    idx = [F.index(n) for n in sites]
    point = dict(zip(F.names, F.values))
    names, value, J = derived_jacobian(spec, point)
    M = F.matrix[np.ix_(idx, idx)]
    if priors:
        var = propagated_variance(J, crlb(M + prior_precision(spec, point, flat=flat_prior)[0], **kwargs))
    else:
        var = constrained_variance(J, M)
    with np.errstate(invalid="ignore"):
        return {n: (float(v), float(np.sqrt(s))) for n, v, s in zip(names, value, var)}


# ---------------------------------------------------------------------------- forecasts
def _forecaster(spec, truth, design, *, priors=True, prior_widths=None, proper_motions=None, derived=True,
                flat_prior=None, fisher=None):
    """Fisher matrix, prior information and derived Jacobian computed once; returns
    ``(sigma_at, info)`` where ``sigma_at(n_stars)`` gives name -> 1 sigma (the Fisher
    information is linear in the number of stars)."""
    from .derived import DERIVED

    base = fisher_matrix(spec, truth, design, proper_motions=proper_motions) if fisher is None else fisher
    names = base.names
    point = dict(zip(names, base.values))
    P, sources = prior_precision(spec, point, names, flat=flat_prior)
    extra = np.zeros_like(P)  # user's Gaussian widths: always added
    for name, width in (prior_widths or {}).items():
        width = float(width)
        if not (np.isfinite(width) and width > 0):
            raise ValueError(f"prior width of {name} must be finite and > 0; got {width!r}")
        extra[base.index(name), base.index(name)] += 1.0 / width**2
    added = (P if priors else 0.0) + extra
    reference = P + extra  # what the priors alone say (for marking prior-dominated results)
    values = {n: float(v) for n, v in zip(names, base.values)}
    units = {p.site: p.unit for p in spec.free}
    units["v_sys"] = "km/s"
    prior_sigma = {n: (1.0 / np.sqrt(reference[i, i]) if reference[i, i] > 0 else np.inf)
                   for i, n in enumerate(names)}
    idx = [base.index(s) for s in spec.sites]
    if derived:
        dnames, dvalues, J = derived_jacobian(spec, point)
        for n, v in zip(dnames, dvalues):
            values[n] = float(v)
            units[n] = DERIVED[n][0]
        sub = reference[np.ix_(idx, idx)]
        has = np.diag(sub) > 0
        if np.all(has):
            pvar = propagated_variance(J, np.linalg.inv(sub))
        else:  # a parameter without prior information: only quantities that ignore it are bounded
            pvar = constrained_variance(J, sub)
        prior_sigma.update({n: float(np.sqrt(v)) for n, v in zip(dnames, pvar)})

    def sigma_at(n_stars):
        M = base.matrix * (float(n_stars) / base.n_stars) + added
        cov = crlb(FisherMatrix(M, names, base.values, float(n_stars)))
        with np.errstate(invalid="ignore"):
            out = {n: float(np.sqrt(v)) for n, v in zip(names, np.diag(cov))}
        if derived:
            sub = M[np.ix_(idx, idx)]
            var = propagated_variance(J, cov[np.ix_(idx, idx)]) if priors else constrained_variance(J, sub)
            out.update({n: float(np.sqrt(v)) for n, v in zip(dnames, var)})
        return out

    info = dict(values=values, units=units, prior_sigma=prior_sigma, prior_sources=sources,
                priors=bool(priors), method=_method(priors, prior_widths, flat_prior),
                _fisher=base, _added=added)
    return sigma_at, info


def fisher_sigma_function(spec, truth: dict, design: SurveyDesign, **kwargs):
    """``n_stars -> {name: 1 sigma}`` of the Fisher forecast of ``design`` (with the priors'
    information), the Fisher matrix and priors computed once: a cheap, monotone curve, e.g.
    the first guess of :func:`dynamicall.infer.posterior_forecast.posterior_stars_for_target`.
    Keyword arguments as for :func:`forecast`."""
    return _forecaster(spec, truth, design, **kwargs)[0]


def _method(priors, prior_widths, flat_prior=None):
    rule = {"variance": "the inverse variance", "entropy": "the equal-entropy Gaussian"}[flat_prior or FLAT_PRIOR]
    text = (f"Fisher information + prior information (exact curvature of each prior, or {rule} of a flat "
            f"prior)" if priors else "bare Cramer-Rao bound (no prior information)")
    if prior_widths:
        text += " + Gaussian widths " + ", ".join(f"{k}={float(v):g}" for k, v in prior_widths.items())
    return text


def forecast(spec, truth: dict, design: SurveyDesign, n_stars, *, priors: bool = True,
             prior_widths: dict | None = None, proper_motions=None, derived: bool = True,
             flat_prior: str | None = None, fisher: FisherMatrix | None = None) -> dict:
    r"""1 sigma forecasts for several survey sizes.

    The Fisher matrix F is computed once for ``design`` and scaled to each number of
    stars (the information is linear in it). By default the priors' information P
    (:func:`prior_precision`, the priors a fit of ``spec`` uses) is added, and the
    forecast covariance is :math:`(F + P)^{-1}`; derived quantities are propagated
    linearly through it. With ``priors=False``: the bare Cramer-Rao bound
    :math:`F^{-1}` (derived quantities in the subspace the data constrain,
    :func:`constrained_variance`).

    Parameters
    ----------
    spec, truth, design, proper_motions
        As for :func:`fisher_matrix`.
    n_stars : sequence of numbers
        Survey sizes.
    priors : bool
        Include the priors' information (default True).
    prior_widths : dict, optional
        Extra independent Gaussian information (site -> standard deviation).
    derived : bool
        Also the derived quantities.
    flat_prior : {"variance", "entropy"}, optional
        How flat priors become information (:func:`prior_precision`).
    fisher : FisherMatrix, optional
        A Fisher matrix of ``design`` already computed by :func:`fisher_matrix` (with
        ``v_sys``), to reuse (``design`` is then not evaluated again).

    Returns
    -------
    dict with ``n_stars`` (array), ``sigma`` (name -> array over n_stars), ``values``
    (name -> value at the truth), ``units``, ``prior_sigma`` (name -> width from the
    priors alone), ``prior_dominated`` (name -> bool array: sigma > PRIOR_DOMINATED x
    prior width), ``priors`` (bool), ``prior_sources``, ``method`` (text).

    Example
    -------
    >>> from dynamicall.infer.spec import ModelSpec
    >>> spec = ModelSpec("plummer", "nfw", "constant", R_half=0.25)
    >>> design = SurveyDesign.from_tracer(spec.build(spec.reference())[0], 100, v_err=2.0, R_max=1.25)
    >>> truth = {"halo.log10_rho_s": 7.6, "halo.log10_r_s": 0.0, "anisotropy.beta": 0.2}
    >>> out = forecast(spec, truth, design, [100, 400], priors=False, derived=False)
    >>> s = out["sigma"]["halo.log10_rho_s"]
    >>> round(float(s[0] / s[1]), 6)  # bare bound: errors scale as 1 / sqrt(N)
    2.0
    """
    sigma_at, info = _forecaster(spec, truth, design, priors=priors, prior_widths=prior_widths,
                                 proper_motions=proper_motions, derived=derived, flat_prior=flat_prior,
                                 fisher=fisher)
    info = {k: v for k, v in info.items() if not k.startswith("_")}
    n_stars = np.atleast_1d(np.asarray(n_stars, dtype=float))
    if not (np.all(np.isfinite(n_stars)) and np.all(n_stars > 0)):
        raise ValueError(f"n_stars must be finite and > 0; got {n_stars.tolist()}")
    rows = [sigma_at(n) for n in n_stars]
    sigma = {k: np.asarray([r[k] for r in rows]) for k in rows[0]}
    dominated = {k: s > PRIOR_DOMINATED * info["prior_sigma"][k] for k, s in sigma.items()}
    return dict(n_stars=n_stars, sigma=sigma, prior_dominated=dominated, **info)


def parse_target(text: str) -> tuple[str, float, bool]:
    """``"M_1.8_R_half=10%"`` -> ("M_1.8_R_half", 0.10, True) (relative);
    ``"halo.gamma=0.2"`` -> ("halo.gamma", 0.2, False) (absolute 1 sigma).

    Example
    -------
    >>> parse_target("M_1.8_R_half=10%")
    ('M_1.8_R_half', 0.1, True)
    """
    if "=" not in str(text):
        raise ValueError(f"target {text!r}: expected QUANTITY=VALUE, e.g. M_1.8_R_half=10%")
    name, value = (s.strip() for s in str(text).split("=", 1))
    relative = value.endswith("%")
    try:
        x = float(value[:-1]) / 100.0 if relative else float(value)
    except ValueError:
        raise ValueError(f"target {text!r}: VALUE must be a number or a percentage, e.g. 10%") from None
    if not (np.isfinite(x) and x > 0):
        raise ValueError(f"target {text!r}: VALUE must be > 0")
    return name, x, relative


def stars_for_target(spec, truth: dict, design: SurveyDesign, quantity: str, target: float, *,
                     relative: bool = False, priors: bool = True, prior_widths=None, proper_motions=None,
                     n_max: float = 1e8, flat_prior: str | None = None,
                     fisher: FisherMatrix | None = None) -> dict:
    """The number of stars (of ``design``'s kind) at which the forecast 1 sigma of
    ``quantity`` reaches ``target`` (relative to its value if ``relative``).

    The forecast error falls monotonically with the number of stars (the information
    F N / N_0 + P grows); it is solved for by bisection in log N to 0.1 %. Options as
    for :func:`forecast` (``fisher``: a Fisher matrix of ``design`` to reuse).

    Returns
    -------
    dict with ``n_stars`` (float: ``inf`` if not reached by ``n_max``, e.g. a quantity
    the data leave to the prior; 0 if the priors alone reach it), ``sigma_at_n_max``,
    ``target``, ``relative``, ``quantity``, ``value``.

    Example
    -------
    >>> from dynamicall.infer.spec import ModelSpec
    >>> spec = ModelSpec("plummer", "nfw", "constant", R_half=0.25)
    >>> truth = {"halo.log10_rho_s": 7.6, "halo.log10_r_s": 0.0, "anisotropy.beta": 0.2}
    >>> design = SurveyDesign.from_tracer(spec.build(truth)[0], 100, v_err=2.0, R_max=1.25)
    >>> out = stars_for_target(spec, truth, design, "M_1.8_R_half", 0.1, relative=True)
    >>> 10 < out["n_stars"] < 1000
    True
    """
    sigma_at, info = _forecaster(spec, truth, design, priors=priors, prior_widths=prior_widths,
                                 proper_motions=proper_motions, derived=True, flat_prior=flat_prior,
                                 fisher=fisher)
    if quantity not in info["values"]:
        raise ValueError(f"unknown target quantity {quantity!r}; choose from {sorted(info['values'])}")
    value = info["values"][quantity]
    scale = abs(value) if relative else 1.0
    if relative and scale == 0:
        raise ValueError(f"{quantity} is 0 at the truth: give an absolute target")

    def err(n):
        return sigma_at(n)[quantity] / scale

    out = dict(quantity=quantity, target=float(target), relative=bool(relative), value=value,
               sigma_at_n_max=err(n_max), n_max=float(n_max))
    if info["prior_sigma"][quantity] / scale <= target and priors:
        out["n_stars"] = 0.0
        return out
    out["n_stars"] = solve_stars(err, target, n_max)
    return out


def solve_stars(err, target: float, n_max: float = 1e8) -> float:
    """The smallest N in [1, n_max] with ``err(N) <= target`` for an error that falls
    monotonically with N, by bisection in ln N to 0.1 %; ``inf`` if ``err(n_max)`` is
    above the target, 1 if ``err(1)`` is already below it."""
    if not err(n_max) <= target:
        return np.inf
    if err(1.0) <= target:
        return 1.0
    lo, hi = 0.0, np.log(n_max)
    while hi - lo > 1e-3:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if err(np.exp(mid)) > target else (lo, mid)
    return float(np.exp(hi))
