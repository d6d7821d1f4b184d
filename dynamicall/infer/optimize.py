"""The posterior's mode and its Laplace covariance, in the space NUTS samples.

:func:`optimize` maximises the log posterior density of a model from several starts with
optax (Adam, the starts vectorised in one compiled program), polishes the best start
with Newton steps, and returns the mode and the Laplace covariance (the inverse Hessian
of the negative log density, by central differences of its autodiff gradient). Both live in the *unconstrained* space in which
numpyro's NUTS samples (each site mapped by ``biject_to(prior.support)``; the density
includes the log Jacobian of that map), so :func:`dynamicall.infer.sample` can start its
chains around the mode and seed its (dense) mass matrix with the covariance
(``init="laplace"``, the default of :func:`dynamicall.infer.fit`). For a site far from its
prior's bounds the mode is the usual maximum a posteriori point.

The curvature code is two pure functions of arrays. :func:`inverse_positive_definite` (a
symmetric inverse, scaled to unit diagonal, with a check that the matrix is positive
definite) is the library's one inversion of a curvature matrix: the Laplace covariance
here, the Cramer-Rao bound of Fisher forecasts (:func:`dynamicall.infer.fisher.crlb`) and
the population forecast (:mod:`dynamicall.infer.population_fisher`) all call it.
:func:`hessian_covariance` (an autodiff Hessian of a scalar function at a point, and its
inverse through the same function) is the public route for small functions of one's own;
the library itself needs no full autodiff Hessian: :func:`optimize` differences the
autodiff gradient (an autodiff Hessian of the Jeans engine cost 2.5x the compilation time),
and a Fisher matrix needs only first derivatives of the variances
(:func:`dynamicall.infer.fisher.fisher_matrix`).

Example
-------
>>> import numpy as np
>>> H, cov, ok = hessian_covariance(lambda x: 0.5 * (x[0] ** 2 / 4.0 + x[1] ** 2), np.zeros(2))
>>> np.round(cov, 6).tolist(), bool(ok)
([[4.0, 0.0], [0.0, 1.0]], True)
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np


# ---------------------------------------------------------------------- pure curvature
def inverse_positive_definite(matrix, floor: float = 0.0, *, spectrum: bool = False):
    r"""Symmetric inverse of a symmetric matrix, and whether it is positive definite: the
    one inversion of a curvature matrix in the library (the Laplace covariance of
    :func:`optimize`, the Cramer-Rao bound :func:`dynamicall.infer.fisher.crlb` and the
    population forecast all call it).

    The matrix is symmetrised and, when its diagonal is positive, scaled to unit diagonal,
    :math:`A = D M D` with :math:`D = \mathrm{diag}(M)^{-1/2}` (Jacobi scaling: parameters
    in different units cost no precision); then :math:`A = V \Lambda V^T` and
    :math:`M^{-1} = D V \Lambda^{-1} V^T D`. Computed in float64 with numpy whatever
    JAX's precision.

    Parameters
    ----------
    matrix : array (n, n)
        A Hessian of a negative log density (or a Fisher matrix).
    floor : float
        Eigenvalues (of the scaled matrix) below ``floor * max(|eigenvalue|)`` are raised
        to it before inverting (0: no regularisation; the flag still reports the
        original spectrum).
    spectrum : bool
        Also return ``(eigenvalues, eigenvectors)`` of the scaled matrix (ascending),
        whose ratio is the condition number after scaling.

    Returns
    -------
    (inverse, positive_definite) : ndarray (n, n), bool; with ``spectrum``, a third item
    ``(eigenvalues, eigenvectors)``.

    Example
    -------
    >>> inv, ok = inverse_positive_definite(np.array([[2.0, 0.0], [0.0, 0.5]]))
    >>> np.diag(inv).tolist(), bool(ok)
    ([0.5, 2.0], True)
    """
    m = np.asarray(matrix, dtype=float)
    m = 0.5 * (m + m.T)
    d = np.diag(m)
    s = 1.0 / np.sqrt(d) if np.all(d > 0) else np.ones_like(d)
    w, v = np.linalg.eigh(m * np.outer(s, s))
    ok = bool(np.all(w > 0))
    wf = np.maximum(w, floor * np.max(np.abs(w))) if floor > 0 else w
    with np.errstate(divide="ignore", invalid="ignore"):
        inverse = (v / wf) @ v.T * np.outer(s, s)
    inverse = 0.5 * (inverse + inverse.T)
    return (inverse, ok, (w, v)) if spectrum else (inverse, ok)


def hessian_covariance(negative_log_density, x, floor: float = 0.0):
    """Hessian of a scalar function at ``x`` (autodiff) and its inverse (the Laplace
    covariance when the function is a negative log density at its minimum).

    Parameters
    ----------
    negative_log_density : callable
        Scalar function of a 1-D array (pure, traceable).
    x : array (n,)
        The point (the mode, for a Laplace approximation).
    floor : float
        See :func:`inverse_positive_definite`.

    Returns
    -------
    (hessian, covariance, positive_definite)
    """
    x = jnp.asarray(x)
    hessian = jax.hessian(negative_log_density)(x)
    covariance, ok = inverse_positive_definite(hessian, floor)
    return hessian, covariance, ok


# ---------------------------------------------------------------------- the model
def unconstrained_potential(model):
    """The model's potential energy (negative log density, log Jacobians included) as a
    function of one flat unconstrained vector, with the map back to site values.

    Parameters
    ----------
    model : KinematicModel
        Or any numpyro model with ``priors()`` (site -> distribution).

    Returns
    -------
    (sites, potential, to_values) : the sites in sampling order (sorted, as numpyro
    orders a dense mass matrix), ``potential(x) -> scalar`` and ``to_values(x) -> dict``
    of constrained site values. ``x`` is flat (:func:`model_layout`: one column per
    scalar site, ``n`` columns for a site of shape ``(n,)``).
    """
    from numpyro.distributions.transforms import biject_to
    from numpyro.infer.util import get_potential_fn

    priors = model.priors()
    transforms = {site: biject_to(prior.support) for site, prior in priors.items()}
    potential_fn, _ = get_potential_fn(model, transforms)
    layout = model_layout(model, priors)
    sites = layout.sites

    def potential(x):
        return potential_fn(layout.unravel(x))

    def to_values(x):
        return {s: transforms[s](v) for s, v in layout.unravel(x).items()}

    return sites, potential, to_values


def model_layout(model, priors=None):
    """The :class:`~dynamicall.infer.layout.SiteLayout` of a model's sampled sites (the
    flat unconstrained vector of :func:`optimize` and of NUTS)."""
    from .layout import SiteLayout

    return SiteLayout.of_priors(model.priors() if priors is None else priors)


@dataclasses.dataclass
class OptimizeResult:
    """Mode and Laplace covariance of a model's posterior (unconstrained space).

    Attributes
    ----------
    sites : tuple
        Site names, in the order of ``z`` and ``covariance`` (sorted; a vector site spans
        several columns, see :func:`model_layout`).
    z : ndarray (n,)
        The mode, unconstrained (flat).
    values : dict
        The mode as site values (constrained: the units of each site; a float per scalar
        site, an array per vector site).
    log_density : float
        Log density at the mode (unconstrained, up to a constant).
    covariance : ndarray (n, n)
        Laplace covariance of ``z`` (inverse Hessian of the potential at the mode).
    positive_definite : bool
        Whether the Hessian at the mode was positive definite (if not, the covariance was
        regularised and the mode may be a saddle or a ridge).
    start_log_densities : ndarray
        Log density reached from each start (several maxima show up here).
    """

    sites: tuple
    z: np.ndarray
    values: dict
    log_density: float
    covariance: np.ndarray
    positive_definite: bool
    start_log_densities: np.ndarray

    def standard_deviations(self) -> dict:
        """Laplace standard deviation of each unconstrained site (an array for a vector site)."""
        from .layout import SiteLayout

        layout = SiteLayout({s: np.shape(self.values[s]) for s in self.sites})
        sd = layout.unravel(np.sqrt(np.diag(self.covariance)))
        return {s: float(v) if v.ndim == 0 else v for s, v in sd.items()}


def batched_value_and_grad(potential, batch: int):
    """A compiled ``X (batch, n) -> (potential (batch,), gradient (batch, n))``."""
    return jax.jit(jax.vmap(jax.value_and_grad(potential)))


def difference_hessian(evaluate, x, batch: int, step: float):
    """Hessian at ``x`` by central differences of an autodiff gradient.

    Parameters
    ----------
    evaluate : callable
        ``X (batch, n) -> (values (batch,), gradients (batch, n))``.
    x : array (n,)
    batch : int
        The fixed batch size of ``evaluate`` (points are padded with ``x``).
    step : float
        Difference step (unconstrained units).

    Returns
    -------
    (hessian, value, gradient) at ``x``: the Hessian symmetrised; error O(step^2).
    """
    x = np.asarray(x, dtype=float)
    n = x.size
    points = np.concatenate([x[None], x + step * np.eye(n), x - step * np.eye(n)])
    values, grads = _evaluate_all(evaluate, points, batch)
    hessian = (grads[1:n + 1] - grads[n + 1:]) / (2.0 * step)
    return 0.5 * (hessian + hessian.T), values[0], grads[0]


def _evaluate_all(evaluate, points, batch):
    """``evaluate`` over any number of points, in calls of exactly ``batch`` points."""
    points = np.asarray(points, dtype=float)
    values, grads = [], []
    for i in range(0, len(points), batch):
        chunk = points[i:i + batch]
        pad = batch - len(chunk)
        if pad:
            chunk = np.concatenate([chunk, np.repeat(chunk[-1:], pad, axis=0)])
        v, g = evaluate(chunk)
        values.append(np.asarray(v)[:batch - pad])
        grads.append(np.asarray(g)[:batch - pad])
    return np.concatenate(values), np.concatenate(grads)


def optimize(model, *, starts: int = 8, steps: int = 300, learning_rate: float = 0.05,
             newton_steps: int = 10, seed: int = 0, evaluate=None) -> OptimizeResult:
    """Maximum of the posterior density from several starts, and its Laplace covariance.

    Adam (optax) runs from ``starts`` points together, then damped Newton steps polish the
    best one; the Laplace covariance is the inverse of the Hessian of the potential at the
    mode, computed by central differences (step 1e-4 in float64, 3e-2 in float32) of the
    autodiff gradient. Everything goes through one compiled, vectorised value-and-gradient
    function (a full autodiff Hessian of the exact engine or an emulator took 2.5x its
    compilation time, 54 s against 21 s on a loaded 2-core CPU; :func:`hessian_covariance`
    is the autodiff route for small functions).

    Parameters
    ----------
    model : KinematicModel
        The model (or any numpyro model with ``priors()``).
    starts : int
        Starting points, uniform in (-2, 2) in the unconstrained space (numpyro's
        ``init_to_uniform``); run together (vectorised). With ``evaluate`` given, its batch.
    steps : int
        Adam iterations.
    learning_rate : float
        Adam's step (unconstrained units).
    newton_steps : int
        Maximum damped Newton iterations polishing the best start (backtracking on the
        density; stops when it gains less than 1e-8).
    seed : int
        Seed of the starting points.
    evaluate : callable, optional
        A compiled ``X (starts, n) -> (potential, gradient)`` over sites in sorted order
        (:func:`dynamicall.infer.sample` passes the one it compiled for its chains, so
        that optimising compiles nothing more).

    Returns
    -------
    OptimizeResult

    Raises
    ------
    ValueError
        Bad settings; RuntimeError when no start reaches a finite density.

    Example
    -------
    >>> result = optimize(model)  # doctest: +SKIP
    >>> result.values["halo.log10_m_ref"], result.standard_deviations()  # doctest: +SKIP
    """
    import optax

    for name, value, low in (("starts", starts, 1), ("steps", steps, 0), ("newton_steps", newton_steps, 0)):
        if int(value) != value or value < low:
            raise ValueError(f"{name} must be an integer >= {low}; got {value!r}")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0; got {learning_rate!r}")
    sites, potential, to_values = unconstrained_potential(model)
    n = model_layout(model).size
    batch = int(starts)
    if evaluate is None:
        evaluate = batched_value_and_grad(potential, batch)
    f64 = jnp.result_type(float) == jnp.float64
    h = 1e-4 if f64 else 3e-2
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, (batch, n))

    def safe(X):
        v, g = evaluate(jnp.asarray(X, jnp.result_type(float)))
        v, g = np.asarray(v, float), np.asarray(g, float)
        bad = ~(np.isfinite(v) & np.all(np.isfinite(g), axis=1))
        return np.where(bad, np.inf, v), np.where(bad[:, None], 0.0, g), bad

    optimizer = optax.adam(learning_rate)
    update = jax.jit(optimizer.update)
    opt_state = optimizer.init(jnp.asarray(x))
    best_x, best_v = x.copy(), np.full(batch, np.inf)
    for _ in range(int(steps)):
        v, g, bad = safe(x)
        better = v < best_v
        best_x[better], best_v[better] = x[better], v[better]
        updates, opt_state = update(jnp.asarray(g), opt_state)
        x = np.where(bad[:, None], best_x, x + np.asarray(updates))
    v, _, _ = safe(x)
    better = v < best_v
    best_x[better], best_v[better] = x[better], v[better]
    if not np.isfinite(best_v).any():
        raise RuntimeError(f"no finite log density from {starts} starts: check the priors and the data")
    x = best_x[int(np.argmin(best_v))]

    hessian, value, grad = difference_hessian(_safe_evaluate(safe), x, batch, h)
    scales = 0.5 ** np.arange(batch if batch > 1 else 13)
    for _ in range(int(newton_steps)):
        cov, _ = inverse_positive_definite(hessian, floor=1e-8)
        step = -np.asarray(cov) @ grad
        trial, _ = _evaluate_all(_safe_evaluate(safe), x + scales[:, None] * step, batch)
        ok = np.flatnonzero(trial <= value)
        if ok.size == 0:
            break
        k = int(ok[0])
        gain = value - trial[k]
        x = x + scales[k] * step
        hessian, value, grad = difference_hessian(_safe_evaluate(safe), x, batch, h)
        if gain < 1e-8:
            break
    covariance, ok = inverse_positive_definite(hessian, floor=1e-8)
    values = {s: float(v) if np.ndim(v) == 0 else np.asarray(v) for s, v in to_values(jnp.asarray(x)).items()}
    return OptimizeResult(sites=sites, z=np.asarray(x), values=values, log_density=-float(value),
                          covariance=np.asarray(covariance), positive_definite=bool(ok),
                          start_log_densities=-best_v)


def _safe_evaluate(safe):
    def evaluate(X):
        v, g, _ = safe(X)
        return v, g
    return evaluate
