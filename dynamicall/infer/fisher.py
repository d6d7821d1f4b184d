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

from ..quadrature import gauss_legendre
from ..units import KMS_PER_KPC_MASYR, to_internal

#: Condition number (of F scaled to unit diagonal) above which :func:`crlb` warns.
CONDITION_WARNING = 1e10


@dataclasses.dataclass(frozen=True)
class SurveyDesign:
    """Where the stars of a survey are and how well they are measured.

    Each node stands for ``weights[i]`` stars at projected radius ``R[i]`` with velocity
    error ``v_err[i]`` (and proper-motion error ``pm_err[i]``). Build with
    :meth:`from_tracer` (a planned survey) or :meth:`from_catalog` (real stars).

    Attributes
    ----------
    R : ndarray
        Node radii, kpc.
    weights : ndarray
        Stars per node (they sum to the number of stars).
    v_err : ndarray
        Line-of-sight velocity error per node, km/s.
    pm_err : ndarray or None
        Proper-motion error per node and component, mas/yr.
    distance : float or None
        Distance, kpc (needed with proper motions).
    """

    R: np.ndarray
    weights: np.ndarray
    v_err: np.ndarray
    pm_err: np.ndarray | None = None
    distance: float | None = None

    def __post_init__(self):
        R = np.atleast_1d(np.asarray(to_internal(self.R, "length"), dtype=float))
        w = np.broadcast_to(np.asarray(self.weights, dtype=float), R.shape).copy()
        e = np.broadcast_to(np.asarray(to_internal(self.v_err, "velocity"), dtype=float), R.shape).copy()
        if not (np.all(np.isfinite(R)) and np.all(R > 0)):
            raise ValueError("SurveyDesign.R must be finite and > 0 (kpc)")
        if not (np.all(np.isfinite(w)) and np.all(w >= 0) and w.sum() > 0):
            raise ValueError("SurveyDesign.weights must be finite, >= 0, with a positive sum")
        if not (np.all(np.isfinite(e)) and np.all(e >= 0)):
            raise ValueError("SurveyDesign.v_err must be finite and >= 0 (km/s)")
        object.__setattr__(self, "R", R)
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "v_err", e)
        if self.pm_err is not None:
            pm = np.broadcast_to(np.asarray(to_internal(self.pm_err, "proper_motion"), dtype=float), R.shape).copy()
            if not (np.all(np.isfinite(pm)) and np.all(pm >= 0)):
                raise ValueError("SurveyDesign.pm_err must be finite and >= 0 (mas/yr)")
            object.__setattr__(self, "pm_err", pm)
            if self.distance is None:
                raise ValueError("SurveyDesign with proper motions needs the distance (kpc)")
        if self.distance is not None:
            d = float(to_internal(self.distance, "length"))
            if not (np.isfinite(d) and d > 0):
                raise ValueError(f"SurveyDesign.distance must be finite and > 0 (kpc); got {self.distance!r}")
            object.__setattr__(self, "distance", d)

    @property
    def n_stars(self) -> float:
        """Number of stars the design stands for."""
        return float(self.weights.sum())

    @property
    def has_proper_motions(self) -> bool:
        return self.pm_err is not None

    def scaled(self, n_stars) -> "SurveyDesign":
        """The same design with ``n_stars`` stars (Fisher information scales linearly).

        Example
        -------
        >>> d = SurveyDesign(R=[0.1, 0.2], weights=[5, 5], v_err=2.0)
        >>> d.scaled(100).n_stars
        100.0
        """
        return dataclasses.replace(self, weights=self.weights * (float(n_stars) / self.n_stars))

    @classmethod
    def from_tracer(cls, tracer, n_stars, v_err, *, R_min=None, R_max=None, pm_err=None,
                    distance=None, nodes: int = 32) -> "SurveyDesign":
        """A planned survey of ``n_stars`` stars following the tracer's projected profile.

        Parameters
        ----------
        tracer : Profile
            Tracer profile (its projected number profile sets the radial distribution).
        n_stars : float
            Number of stars.
        v_err : float or array
            Velocity error (km/s); an array is a sample of the error distribution
            (equal weights), combined with every radial node.
        R_min, R_max : float or Quantity, optional
            Radial range of the survey (default: 0 to 10 R_half).
        pm_err : float or array, optional
            Proper-motion error per component (mas/yr), like ``v_err``.
        distance : float or Quantity, optional
            Distance (kpc), needed with proper motions.
        nodes : int
            Gauss-Legendre nodes in the cumulative projected number.

        Example
        -------
        >>> from dynamicall.profiles import Plummer
        >>> d = SurveyDesign.from_tracer(Plummer(m_tot=1.0, r_s=0.25), 200, v_err=[1.0, 3.0])
        >>> d.n_stars, d.R.size
        (200.0, 64)
        """
        R_half = float(tracer.half_light_radius())
        r_lo = 0.0 if R_min is None else float(to_internal(R_min, "length"))
        r_hi = 10.0 * R_half if R_max is None else float(to_internal(R_max, "length"))
        if not (0 <= r_lo < r_hi < np.inf):
            raise ValueError(f"need 0 <= R_min < R_max < inf (kpc); got {r_lo}, {r_hi}")
        if not (np.isfinite(n_stars) and n_stars > 0):
            raise ValueError(f"n_stars must be > 0; got {n_stars!r}")
        # cumulative projected number on a fine log grid, inverted by interpolation
        grid = np.geomspace(max(r_lo, 1e-4 * R_half), r_hi, 2000)
        cum = np.asarray(tracer.projected_mass(grid), dtype=float)
        cum = cum / float(tracer.total_mass()) if tracer.has_finite_mass() else cum / cum[-1]
        f_lo = float(np.interp(r_lo, grid, cum)) if r_lo > 0 else 0.0
        f_hi = float(cum[-1])
        x, w = gauss_legendre(int(nodes))
        u = f_lo + (f_hi - f_lo) * x
        ext_grid = np.concatenate([[0.0], grid]) if r_lo == 0 else grid
        ext_cum = np.concatenate([[0.0], cum]) if r_lo == 0 else cum
        R = np.interp(u, ext_cum, ext_grid)
        norm = float(tracer.total_mass()) if tracer.has_finite_mass() else float(tracer.projected_mass(r_hi))
        for _ in range(3):  # Newton on N(<R) = u: d N(<R) / dR = 2 pi R Sigma(R)
            F = np.asarray(tracer.projected_mass(R), dtype=float) / norm
            dF = 2 * np.pi * R * np.asarray(tracer.surface_density(R), dtype=float) / norm
            R = np.clip(R - (F - u) / dF, 0.5 * R, 2.0 * R)
        errs = np.atleast_1d(np.asarray(to_internal(v_err, "velocity"), dtype=float))
        pms = None if pm_err is None else np.atleast_1d(np.asarray(to_internal(pm_err, "proper_motion"), dtype=float))
        n_e = errs.size
        if pms is not None and pms.size not in (1, n_e):
            raise ValueError("pm_err must be a scalar or have as many entries as v_err")
        R_all = np.repeat(R, n_e)
        w_all = np.repeat(w, n_e) * (float(n_stars) / n_e)
        e_all = np.tile(errs, R.size)
        pm_all = None if pms is None else np.tile(np.broadcast_to(pms, (n_e,)), R.size)
        return cls(R=R_all, weights=w_all, v_err=e_all, pm_err=pm_all, distance=distance)

    @classmethod
    def from_catalog(cls, catalog, proper_motions: bool = False) -> "SurveyDesign":
        """The stars of a catalogue as they are (one node per star).

        With proper motions, the two components' errors are combined into one per star
        (their root mean square).
        """
        R = np.maximum(catalog.R, catalog.R[catalog.R > 0].min())
        pm = None
        if proper_motions:
            if not catalog.has_proper_motions:
                raise ValueError("the catalogue has no proper motions")
            pm = np.sqrt(0.5 * (catalog.pm_R_err**2 + catalog.pm_T_err**2))
        return cls(R=R, weights=np.ones_like(R), v_err=catalog.v_err, pm_err=pm,
                   distance=catalog.distance if proper_motions else None)


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
        return jnp.sum(w * (-0.5 * jnp.log(2 * jnp.pi * C) - 0.5 * (C0 + shift) / C))

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

    The matrix is scaled to unit diagonal before inversion; if its condition number then
    exceeds ``warn_condition`` a ``RuntimeWarning`` names the worst-constrained direction.
    Nothing is patched: the returned matrix is the plain inverse.

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
        If a parameter has no information (zero diagonal) or F is singular.

    Example
    -------
    >>> crlb(np.diag([4.0, 100.0])).diagonal().tolist()
    [0.25, 0.01]
    """
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
    s = 1.0 / np.sqrt(d)
    scaled = m * np.outer(s, s)
    eig, vec = np.linalg.eigh(scaled)
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
    try:
        inv = np.linalg.inv(scaled)
    except np.linalg.LinAlgError:
        raise ValueError("the Fisher matrix is singular: fix parameters or add prior widths") from None
    return inv * np.outer(s, s)


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


def derived_uncertainties(F: FisherMatrix, spec, **kwargs) -> dict:
    """CRLB 1 sigma of the derived quantities (:mod:`dynamicall.infer.derived`), by
    linear propagation of :func:`crlb` through their gradients.

    Returns
    -------
    dict name -> (value, sigma)
    """
    from .derived import DERIVED, quantities

    cov = crlb(F, **kwargs)
    sites = [n for n in F.names if n != "v_sys"]
    idx = [F.index(n) for n in sites]
    cov = cov[np.ix_(idx, idx)]
    theta = jnp.asarray(F.values[idx])

    def q(theta):
        values = dict(zip(sites, theta))
        tracer, mass, anisotropy = spec.build(values)
        out = quantities(tracer, mass, spec.halo(values), anisotropy)
        return jnp.stack([out[k] for k in sorted(out)])

    names = sorted(DERIVED)
    value, J = (np.asarray(a) for a in _value_and_jacobian(q, theta))
    var = np.einsum("ij,jk,ik->i", J, cov, J)
    with np.errstate(invalid="ignore"):
        return {n: (float(v), float(np.sqrt(s))) for n, v, s in zip(names, value, var)}


def prior_standard_deviations(spec) -> dict:
    """Standard deviation of each free parameter's prior (e.g. width / sqrt(12) for a
    uniform prior): pass as ``prior_widths`` to bound the forecast of parameters the data
    barely constrain by what the prior already says."""
    out = {}
    for p in spec.free:
        var = float(np.asarray(p.prior.variance))
        if not (np.isfinite(var) and var > 0):
            raise ValueError(f"the prior of {p.site} has no finite variance")
        out[p.site] = float(np.sqrt(var))
    return out


def forecast(spec, truth: dict, design: SurveyDesign, n_stars, *, prior_widths: dict | None = None,
             proper_motions=None, derived: bool = True) -> dict:
    """1 sigma forecasts for several survey sizes.

    The Fisher matrix is computed once for ``design`` and scaled to each number of stars
    (the information is linear in it); prior widths, if any, are added after scaling.

    Parameters
    ----------
    spec, truth, design, proper_motions
        As for :func:`fisher_matrix`.
    n_stars : sequence of numbers
        Survey sizes.
    prior_widths : dict, optional
        Gaussian prior widths (see :func:`prior_standard_deviations`).
    derived : bool
        Also propagate to the derived quantities.

    Returns
    -------
    dict with ``n_stars`` (array), ``sigma`` (name -> array over n_stars), ``values``
    (name -> value at the truth), ``units`` (name -> unit).

    Example
    -------
    >>> from dynamicall.infer.spec import ModelSpec
    >>> spec = ModelSpec("plummer", "nfw", "constant", R_half=0.25)
    >>> design = SurveyDesign.from_tracer(spec.build(spec.reference())[0], 100, v_err=2.0, R_max=1.25)
    >>> truth = {"halo.log10_rho_s": 7.6, "halo.log10_r_s": 0.0, "anisotropy.beta": 0.2}
    >>> out = forecast(spec, truth, design, [100, 400], derived=False)
    >>> s = out["sigma"]["halo.log10_rho_s"]
    >>> round(float(s[0] / s[1]), 6)  # errors scale as 1 / sqrt(N)
    2.0
    """
    from .derived import DERIVED

    base = fisher_matrix(spec, truth, design, proper_motions=proper_motions)
    n_stars = np.atleast_1d(np.asarray(n_stars, dtype=float))
    sigma: dict = {}
    values = {n: float(v) for n, v in zip(base.names, base.values)}
    units = {p.site: p.unit for p in spec.free}
    units["v_sys"] = "km/s"
    for n in n_stars:
        F = dataclasses.replace(base, matrix=base.matrix * (n / base.n_stars), n_stars=float(n))
        if prior_widths:
            F = F.with_prior_widths(prior_widths)
        for name, s in crlb_uncertainties(F).items():
            sigma.setdefault(name, []).append(s)
        if derived:
            for name, (value, s) in derived_uncertainties(F, spec).items():
                sigma.setdefault(name, []).append(s)
                values[name] = value
                units[name] = DERIVED[name][0]
    return dict(n_stars=n_stars, sigma={k: np.asarray(v) for k, v in sigma.items()}, values=values,
                units=units)
