"""numpyro models: a :class:`~dynamicall.infer.spec.ModelSpec` paired with data.

The model evaluates the forward model (exact engine or emulator, the same code for both)
on a concrete log grid of projected radii spanning the data, built here outside the
model, and interpolates to each star with :func:`dynamicall.jeans.interp_loglog` (the
exact engine needs concrete radii, and a ~30-point grid is 2-3x cheaper than evaluating
at every star). With an emulator the grid is clipped to the emulator's radial range and
stars beyond it are extrapolated as power laws (with a warning).

Example
-------
>>> from dynamicall.data import StarCatalog
>>> from dynamicall.infer.spec import ModelSpec
>>> cat = StarCatalog.from_arrays(R=[0.05, 0.2, 0.6], v=[100.0, 110.0, 104.0],
...                               v_err=[2.0, 2.0, 2.0], R_half=0.25)
>>> model = KinematicModel(ModelSpec("plummer", "nfw", "constant", R_half=0.25), cat)
>>> model.sites
('halo.log10_rho_s', 'halo.log10_r_s', 'anisotropy.beta', 'v_sys')
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np

from ..data import BinnedProfile, StarCatalog
from ..jeans import interp_loglog
from . import likelihoods as lk
from .forward import evaluation_grid
from .priors import describe_distribution, parse_prior, uniform
from .spec import ModelSpec

LIKELIHOODS = ("gaussian", "mixture", "binned")


class KinematicModel:
    """A numpyro model of a catalogue (or binned profile) under a :class:`ModelSpec`.

    Calling the object runs the numpyro model (no arguments: the data are bound).

    Parameters
    ----------
    spec : ModelSpec
        Components, priors and forward model.
    data : StarCatalog or BinnedProfile
        The data.
    likelihood : {"gaussian", "mixture", "binned"}
        Per-star Gaussian with free systemic velocity (default for catalogues); the same
        with a contaminant population marginalised ("mixture"); or binned dispersions
        (default, and the only choice, for a :class:`BinnedProfile`).
    proper_motions : bool
        Add the proper-motion terms (catalogue needs ``pm_R``, ``pm_T``, errors and a
        distance; Gaussian likelihood only).
    grid_points : int
        Points of the log grid on which the forward model is evaluated (>= 8).
    priors : dict, optional
        Priors of the nuisance sites ``v_sys``, ``contamination.member_fraction``,
        ``contamination.v_mean``, ``contamination.log10_sigma`` (same forms as
        :class:`ModelSpec` priors). Defaults: v_sys uniform over the observed velocity
        range; member fraction U(0, 1); contaminant mean uniform over the velocity range;
        log10 contaminant dispersion U(log10 20, log10 300) km/s.
    """

    def __init__(self, spec: ModelSpec, data, *, likelihood=None, proper_motions=False,
                 grid_points: int = 32, priors=None):
        if not isinstance(spec, ModelSpec):
            raise TypeError(f"spec must be a ModelSpec; got {type(spec).__name__}")
        if isinstance(data, BinnedProfile):
            likelihood = likelihood or "binned"
            if likelihood != "binned":
                raise ValueError(f"a BinnedProfile needs likelihood='binned'; got {likelihood!r}")
        elif isinstance(data, StarCatalog):
            likelihood = likelihood or "gaussian"
            if likelihood == "binned":
                raise ValueError("likelihood='binned' needs a BinnedProfile (e.g. catalog.binned(8))")
        else:
            raise TypeError(f"data must be a StarCatalog or a BinnedProfile; got {type(data).__name__}")
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}; got {likelihood!r}")
        if proper_motions:
            if not isinstance(data, StarCatalog) or not data.has_proper_motions:
                raise ValueError("proper_motions=True needs a catalogue with pm_R, pm_T, pm_R_err, pm_T_err")
            if data.distance is None:
                raise ValueError("proper_motions=True needs the distance (catalogue metadata 'distance')")
            if likelihood == "mixture":
                raise ValueError(
                    "the contamination mixture models line-of-sight velocities only; fit the proper "
                    "motions of a clean member sample with likelihood='gaussian'"
                )
        grid_points = int(grid_points)
        if grid_points < 8:
            raise ValueError(f"grid_points must be >= 8; got {grid_points}")
        self.spec = spec
        self.data = data
        self.likelihood = likelihood
        self.proper_motions = bool(proper_motions)
        self.quantities = ("los", "pm_radial", "pm_tangential") if proper_motions else ("los",)
        reference = spec.build(spec.reference())
        spec.forward.check(*reference, self.quantities)
        self._setup_grid(reference[0], grid_points)
        self.nuisance = self._nuisance_priors(dict(priors or {}))

    # ------------------------------------------------------------------ setup
    def _setup_grid(self, tracer, n):
        R = np.asarray(self.data.R, dtype=float)
        positive = R[R > 0]
        if positive.size == 0:
            raise ValueError("every star is at R = 0; projected radii are needed")
        f_lo, f_hi = self.spec.forward.R_range(tracer)
        outside = int(np.sum((R < f_lo) | (R > f_hi)))
        if outside:
            warnings.warn(
                f"{outside} of {R.size} radii lie outside the radial range of forward model "
                f"'{self.spec.forward.name}' ({f_lo:.4g}-{f_hi:.4g} kpc); their dispersions are "
                f"extrapolated as power laws",
                stacklevel=3,
            )
        self.R_grid = evaluation_grid(R, (f_lo, f_hi), n)
        # stars at R = 0 (rounding) take the innermost radius: sigma_los is flat there
        self.R_data = np.maximum(R, positive.min())
        # the lean path: with a tracer that no sampled parameter changes (R_half fixed),
        # the forward model may precompute everything that depends on the data radii.
        # The tracer is fixed when, built from abstract (traced) values, none of its
        # leaves depends on them.
        self._lean = None
        prepare = getattr(self.spec.forward, "prepare", None)
        if prepare is None:
            return
        depends = []

        def probe(values):
            leaves = jax.tree_util.tree_leaves(self.spec.build(values)[0])
            depends.append(any(isinstance(v, jax.core.Tracer) for v in leaves))
            return 0.0

        try:
            jax.eval_shape(probe, {k: jnp.asarray(v, dtype=float) for k, v in self.spec.reference().items()})
        except Exception:  # a model that cannot be traced abstractly: keep the general path
            return
        if depends and not depends[0]:
            self._lean = prepare(self.R_data, tracer, self.quantities)

    def _nuisance_priors(self, user):
        out = {}
        known = ["v_sys", "contamination.member_fraction", "contamination.v_mean",
                 "contamination.log10_sigma"]
        unknown = sorted(set(user) - set(known))
        if unknown:
            raise ValueError(f"unknown nuisance priors {unknown}; allowed: {known}")
        if self.likelihood == "binned":
            if user:
                raise ValueError(f"a binned fit has no nuisance parameters; got priors for {sorted(user)}")
            return out
        v = self.data.v
        v_lo, v_hi = float(v.min()), float(v.max())
        pad = max(1.0, 0.05 * (v_hi - v_lo))
        defaults = {"v_sys": uniform(v_lo - pad, v_hi + pad)}
        if self.likelihood == "mixture":
            defaults.update({
                "contamination.member_fraction": uniform(0.0, 1.0),
                "contamination.v_mean": uniform(v_lo - pad, v_hi + pad),
                "contamination.log10_sigma": uniform(np.log10(20.0), np.log10(300.0)),
            })
        for site in list(user):
            if site not in defaults:
                raise ValueError(f"{site} is not a parameter of a {self.likelihood!r} fit")
        for site, prior in defaults.items():
            if site in user:
                prior, fixed = parse_prior(site, user[site], "velocity", site.endswith("log10_sigma"))
                if prior is None:
                    raise ValueError(f"{site} must have a prior (distribution or bounds), not a fixed value")
            out[site] = prior
        return out

    # ------------------------------------------------------------------ access
    @property
    def sites(self) -> tuple:
        """Every sampled site: the spec's, then the nuisance ones."""
        return self.spec.sites + tuple(self.nuisance)

    @property
    def forward(self):
        return self.spec.forward

    def reference(self) -> dict:
        """A point inside every prior (see :meth:`ModelSpec.reference`), nuisance sites
        included."""
        from .spec import _centre

        return {**self.spec.reference(), **{k: _centre(p) for k, p in self.nuisance.items()}}

    def priors(self) -> dict:
        """site -> numpyro distribution, for every sampled site."""
        out = {p.site: p.prior for p in self.spec.free}
        out.update(self.nuisance)
        return out

    def describe(self) -> dict:
        d = self.spec.describe()
        d["likelihood"] = self.likelihood
        d["proper_motions"] = self.proper_motions
        d["grid"] = {"points": int(self.R_grid.size), "R_min_kpc": float(self.R_grid[0]),
                     "R_max_kpc": float(self.R_grid[-1])}
        d["nuisance"] = {k: describe_distribution(p) for k, p in self.nuisance.items()}
        d["n_data"] = int(len(self.data))
        return d

    # ------------------------------------------------------------------ physics
    def predict(self, values: dict, R=None) -> dict:
        """Model dispersions (km/s) at the data radii, or at radii ``R`` (kpc; may be
        traced), interpolated from the forward model on :attr:`R_grid`."""
        tracer, mass, anisotropy = self.spec.build(values)
        if R is None and self._lean is not None:
            return self._lean(mass, anisotropy)
        grid = self.spec.forward.dispersions(self.R_grid, tracer, mass, anisotropy, self.quantities)
        R = self.R_data if R is None else R
        return {q: interp_loglog(R, self.R_grid, s) for q, s in grid.items()}

    def terms(self, values: dict):
        """Per-datum log-likelihood terms and (mixture) membership probabilities.

        Returns
        -------
        (terms, membership) : arrays over stars (or bins); membership is None unless
        the likelihood is a mixture.
        """
        pred = self.predict(values)
        d = self.data
        if self.likelihood == "binned":
            return lk.binned(d.sigma, d.sigma_err, pred["los"]), None
        member = lk.gaussian_los(d.v, d.v_err, values["v_sys"], pred["los"])
        if self.proper_motions:
            member = member + lk.proper_motion(d.pm_R, d.pm_R_err, pred["pm_radial"], d.distance)
            member = member + lk.proper_motion(d.pm_T, d.pm_T_err, pred["pm_tangential"], d.distance)
        if self.likelihood == "mixture":
            return lk.mixture_los(
                member, d.v, d.v_err, values["contamination.member_fraction"],
                values["contamination.v_mean"], 10.0 ** values["contamination.log10_sigma"],
            )
        return member, None

    def log_likelihood(self, values: dict):
        """Total log-likelihood at ``values`` (site -> value; traceable)."""
        return jnp.sum(self.terms(values)[0])

    def log_penalty(self, values: dict):
        """The forward model's domain penalty at ``values`` (0 for the exact engine)."""
        pen = self.spec.forward.log_penalty(*self.spec.build(values))
        return 0.0 if pen is None else pen

    def __call__(self):
        import numpyro

        values = self.spec.sample()
        for site, prior in self.nuisance.items():
            values[site] = numpyro.sample(site, prior)
        if self.spec.forward.is_emulator:
            numpyro.factor("forward_domain", self.log_penalty(values))
        numpyro.factor("log_likelihood", self.log_likelihood(values))

    # ------------------------------------------------------------------ posterior
    def membership(self, samples: dict, max_draws: int = 400) -> np.ndarray:
        """Posterior-mean membership probability of each star (mixture fits).

        Parameters
        ----------
        samples : dict
            site -> array of draws (any leading shape).
        max_draws : int
            Evenly thinned to at most this many draws.
        """
        if self.likelihood != "mixture":
            raise ValueError("membership probabilities exist only for likelihood='mixture'")
        flat = _thin(samples, self.sites, max_draws)
        probs = jax.lax.map(lambda x: self.terms(x)[1], flat, batch_size=50)
        return np.asarray(jnp.mean(probs, axis=0))


def _thin(samples: dict, sites, max_draws: int) -> dict:
    flat = {s: np.asarray(samples[s]).reshape(-1) for s in sites}
    n = next(iter(flat.values())).size
    idx = np.unique(np.linspace(0, n - 1, min(n, max_draws)).astype(int))
    return {s: jnp.asarray(v[idx]) for s, v in flat.items()}
