"""Running NUTS: vectorised (or device-parallel) chains, progress bars, checkpoints.

:func:`sample` drives numpyro's NUTS kernel (:func:`numpyro.infer.hmc.hmc`) itself: the
chains are advanced together in compiled chunks of iterations (``lax.scan`` over
``vmap``-ed chains; ``pmap`` over devices with ``chain_method="parallel"``). Between
chunks it updates a progress bar and, when asked, writes a checkpoint (sampler state and
the draws so far), so that an interrupted run resumes where it stopped with
``resume=True``. The compiled chunk is cached on the model, so repeated runs with the
same settings do not compile again.

Example
-------
>>> from dynamicall.data import StarCatalog
>>> from dynamicall.infer import KinematicModel, ModelSpec, sample
>>> cat = StarCatalog.from_arrays(R=[0.1, 0.2, 0.4, 0.8], v=[3.0, -5.0, 8.0, -1.0],
...                               v_err=[1.0] * 4, R_half=0.25)
>>> spec = ModelSpec("plummer", "plummer", "constant", R_half=0.25,
...                  priors={"halo.log10_r_s": -0.6, "anisotropy.beta": 0.0})
>>> model = KinematicModel(spec, cat)
>>> model.sites
('halo.log10_m_tot', 'v_sys')
>>> result = sample(model, warmup=20, samples=20, chains=1)  # doctest: +SKIP
>>> result.samples["halo.log10_m_tot"].shape  # doctest: +SKIP
(1, 20)

(Sampling is exercised by tests/test_infer.py; a doctest would spend ~20 s compiling.)
"""

from __future__ import annotations

import collections
import dataclasses
import math
import os
import sys
import threading
import time

import jax
import jax.numpy as jnp
import numpy as np

CHAIN_METHODS = ("vectorized", "parallel")
STAT_FIELDS = ("diverging", "num_steps", "accept_prob", "potential_energy", "step_size")


@dataclasses.dataclass
class FitResult:
    """The outcome of a NUTS run.

    Attributes
    ----------
    model : KinematicModel
        The model that was sampled.
    samples : dict
        site -> array (chains, draws) of post-warm-up draws.
    stats : dict
        Per-draw sampler statistics (chains, draws): ``diverging``, ``num_steps``,
        ``accept_prob``, ``potential_energy``, ``step_size``.
    settings : dict
        warmup, samples, chains, seed, chain_method, target_accept, max_tree_depth,
        dense_mass, chunk.
    timing : dict
        ``wall_time_s`` (whole run, compilation included), ``compile_time_s``,
        ``sampling_time_s``.
    """

    model: object
    samples: dict
    stats: dict
    settings: dict
    timing: dict
    _derived: dict | None = None

    @property
    def num_chains(self) -> int:
        return next(iter(self.samples.values())).shape[0]

    @property
    def num_draws(self) -> int:
        return next(iter(self.samples.values())).shape[1]

    @property
    def divergences(self) -> int:
        return int(np.sum(self.stats["diverging"]))

    def draws(self, site: str) -> np.ndarray:
        """All draws of ``site`` (or of a derived quantity), chains concatenated."""
        if site in self.samples:
            return np.asarray(self.samples[site]).reshape(-1)
        return np.asarray(self.derived()[site]).reshape(-1)

    def derived(self) -> dict:
        """Derived quantities per draw (see :mod:`dynamicall.infer.derived`), cached."""
        if self._derived is None:
            own = getattr(self.model, "derived", None)  # a model with its own (a population)
            if callable(own):
                self._derived = own(self.samples)
            else:
                from .derived import derived_quantities

                self._derived = derived_quantities(self.model, self.samples)
        return self._derived

    def summary(self) -> dict:
        """Per-parameter statistics and run information (see :func:`outputs.summarize`)."""
        own = getattr(self.model, "summarize", None)  # a model with its own (a population)
        if callable(own):
            return own(self)
        from .outputs import summarize

        return summarize(self)

    def save(self, out_dir, plots: bool = True, overwrite: bool = False) -> dict:
        """Write summary.json, samples and plots to ``out_dir`` as one set; an existing
        result is replaced only with ``overwrite`` (see :func:`outputs.write_outputs`)."""
        own = getattr(self.model, "write_outputs", None)  # a model with its own (a population)
        if callable(own):
            return own(self, out_dir, plots=plots, overwrite=overwrite)
        from .outputs import write_outputs

        return write_outputs(self, out_dir, plots=plots, overwrite=overwrite)


# ---------------------------------------------------------------------- sampler
def _settings(warmup, samples, chains, seed, chain_method, target_accept, max_tree_depth,
              dense_mass, chunk) -> dict:
    for name, value, low in (("warmup", warmup, 1), ("samples", samples, 1), ("chains", chains, 1)):
        if int(value) != value or value < low:
            raise ValueError(f"{name} must be an integer >= {low}; got {value!r}")
    if chain_method not in CHAIN_METHODS:
        raise ValueError(f"chain_method must be one of {CHAIN_METHODS}; got {chain_method!r}")
    if not 0 < target_accept < 1:
        raise ValueError(f"target_accept must be in (0, 1); got {target_accept!r}")
    if int(max_tree_depth) != max_tree_depth or not 1 <= max_tree_depth <= 15:
        raise ValueError(f"max_tree_depth must be an integer in [1, 15]; got {max_tree_depth!r}")
    total = int(warmup) + int(samples)
    if chunk is None:
        n_chunks = max(1, math.ceil(total / 50))
        chunk = math.ceil(total / n_chunks)
    if int(chunk) != chunk or chunk < 1:
        raise ValueError(f"chunk must be an integer >= 1; got {chunk!r}")
    return dict(warmup=int(warmup), samples=int(samples), chains=int(chains), seed=int(seed),
                chain_method=chain_method, target_accept=float(target_accept),
                max_tree_depth=int(max_tree_depth), dense_mass=bool(dense_mass), chunk=int(chunk))


class _Sampler:
    """Compiled pieces of one NUTS configuration for one model (see :func:`_sampler_for`)."""

    def __init__(self, model, s):
        from numpyro.distributions.transforms import biject_to
        from numpyro.infer.hmc import hmc
        from numpyro.infer.util import get_potential_fn

        self.model = model
        self.settings = s
        priors = model.priors()
        transforms = {site: biject_to(prior.support) for site, prior in priors.items()}
        potential_fn, postprocess_fn = get_potential_fn(model, transforms)
        from .optimize import model_layout

        self.layout = model_layout(model, priors)
        self.sites = self.layout.sites
        self.dtype = jnp.result_type(float)
        self.postprocess_fn = postprocess_fn
        self.potential_fn = potential_fn
        self._init = None
        self.init_kernel, self.sample_kernel = hmc(potential_fn=potential_fn, algo="NUTS")
        self.n_devices = 1
        if s["chain_method"] == "parallel":
            self.n_devices = math.gcd(jax.local_device_count(), s["chains"])
        self._compiled = None
        self.compile_time = 0.0
        self.laplace = None

    def _init_fn(self):
        """One compiled program: potential, gradient and NUTS initial state per chain."""
        if self._init is None:
            from numpyro.infer.util import ParamInfo

            s = self.settings
            dense = [tuple(self.sites)] if s["dense_mass"] else []
            potential = self.potential_fn

            sites = tuple(self.sites)

            def one(z, key, inverse_mass_matrix):
                pe, grad = jax.value_and_grad(potential)(z)
                ok = jnp.isfinite(pe)
                for g in jax.tree_util.tree_leaves(grad):
                    ok &= jnp.all(jnp.isfinite(g))
                if s["dense_mass"]:
                    imm = {sites: inverse_mass_matrix}
                else:
                    imm = {sites: jnp.diag(inverse_mass_matrix)}
                state = self.init_kernel(
                    ParamInfo(z, pe, grad), num_warmup=s["warmup"], target_accept_prob=s["target_accept"],
                    max_tree_depth=s["max_tree_depth"], dense_mass=dense, rng_key=key,
                    inverse_mass_matrix=imm,
                )
                return state, ok

            self._init = jax.jit(jax.vmap(one, in_axes=(0, 0, None)))
        return self._init

    def init_state(self, seed, tries: int = 100, laplace=None):
        """Initial states, redrawn where the potential or its gradient is not finite.

        Without ``laplace``: points uniform in (-2, 2) in unconstrained space (numpyro's
        ``init_to_uniform``) and a unit mass matrix. With an
        :class:`~dynamicall.infer.optimize.OptimizeResult`: points drawn from its Laplace
        approximation N(mode, covariance) (over-dispersed starts for r_hat), and the
        covariance as the initial inverse mass matrix.
        """
        n = self.settings["chains"]
        rng = np.random.default_rng(seed)
        keys = jax.random.split(jax.random.PRNGKey(seed), n)
        layout = self.layout
        if laplace is None:
            def draw(size):
                return {k: rng.uniform(-2.0, 2.0, (size,) + layout.shapes[k]) for k in self.sites}
            imm = jnp.eye(layout.size, dtype=self.dtype)  # numpyro's default, explicit
        else:
            if tuple(laplace.sites) != tuple(self.sites) or np.shape(laplace.z) != (layout.size,):
                raise ValueError(f"the Laplace approximation is of sites {laplace.sites}, the model has {self.sites}")
            covariance = start_covariance(laplace)
            chol = np.linalg.cholesky(covariance + 1e-12 * np.eye(layout.size))

            def draw(size):
                return layout.unravel(laplace.z + rng.standard_normal((size, layout.size)) @ chol.T)
            imm = jnp.asarray(covariance, self.dtype)
        z = draw(n)
        init = self._init_fn()
        for _ in range(tries):
            state, ok = init({k: jnp.asarray(v, self.dtype) for k, v in z.items()}, keys, imm)
            ok = np.asarray(ok)
            if ok.all():
                return self._to_devices(state)
            fresh = draw(n)
            for k in z:
                z[k] = np.where(ok.reshape((-1,) + (1,) * len(layout.shapes[k])), z[k], fresh[k])
        raise RuntimeError(
            f"no finite log density at {tries} random initial points: check the priors and the data"
        )

    def evaluate(self, X):
        """Potential and gradient at ``X`` (chains, ``layout.size``: the sites in sorted
        order, raveled by :class:`~dynamicall.infer.layout.SiteLayout`), through the
        compiled initialiser (so that :func:`~dynamicall.infer.optimize.optimize` compiles
        nothing more)."""
        n = self.settings["chains"]
        keys = jax.random.split(jax.random.PRNGKey(0), n)
        z = self.layout.unravel(jnp.asarray(X))
        state, _ = self._init_fn()(z, keys, jnp.eye(self.layout.size, dtype=self.dtype))
        return state.potential_energy, self.layout.ravel(state.z_grad)

    def state_shapes(self):
        """Shapes and dtypes of the initial state (chain layout), for compiling ahead."""
        n = self.settings["chains"]
        z = {k: jax.ShapeDtypeStruct((n,) + self.layout.shapes[k], self.dtype) for k in self.sites}
        keys = jax.eval_shape(lambda: jax.random.split(jax.random.PRNGKey(0), n))
        imm = jax.ShapeDtypeStruct((self.layout.size, self.layout.size), self.dtype)
        return jax.eval_shape(self._init_fn(), z, keys, imm)[0]

    def _to_devices(self, state):
        if self.n_devices == 1:
            return state
        n = self.n_devices
        return jax.tree_util.tree_map(lambda x: x.reshape((n, x.shape[0] // n) + x.shape[1:]), state)

    def from_devices(self, tree):
        """Device layout (n_dev, per_dev, ...) -> chain layout (chains, ...)."""
        if self.n_devices == 1:
            return tree
        return jax.tree_util.tree_map(lambda x: x.reshape((-1,) + x.shape[2:]), tree)

    def chunk_fn(self):
        chunk = self.settings["chunk"]
        sample_kernel, post = self.sample_kernel, self.postprocess_fn

        def run(state):
            def body(st, _):
                st = jax.vmap(sample_kernel)(st)
                out = (jax.vmap(post)(st.z), st.diverging, st.num_steps, st.accept_prob,
                       st.potential_energy, st.adapt_state.step_size)
                return st, out

            state, outs = jax.lax.scan(body, state, None, length=chunk)
            # (chunk, chains, ...) -> (chains, chunk, ...)
            return state, jax.tree_util.tree_map(lambda x: jnp.swapaxes(x, 0, 1), outs)

        return run

    def compiled(self, state):
        if self._compiled is None:
            t0 = time.perf_counter()
            fn = self.chunk_fn()
            if self.n_devices > 1:
                self._compiled = jax.pmap(fn).lower(state).compile()
            else:
                self._compiled = jax.jit(fn, donate_argnums=0).lower(state).compile()
            self.compile_time = time.perf_counter() - t0
        return self._compiled


#: Largest variance (unconstrained units) of the Laplace start when the Hessian at the mode
#: was not positive definite (see :func:`start_covariance`).
MAX_START_VARIANCE = 1.0


def start_covariance(laplace) -> np.ndarray:
    """The covariance from which :meth:`_Sampler.init_state` draws the chains' starts and
    which seeds the mass matrix: the Laplace covariance, unchanged when the Hessian at the
    mode was positive definite. Otherwise (a saddle or a ridge, e.g. a hierarchical
    model's scatter) the regularised inverse is enormous along the flat directions
    (variances up to 1e5 measured on a 10-galaxy population, starts at a scatter of
    1e53): its eigenvalues are capped at :data:`MAX_START_VARIANCE`, the scale of the
    uniform start in (-2, 2), so that the chains start near the mode."""
    cov = np.asarray(laplace.covariance, dtype=float)
    if laplace.positive_definite:
        return cov
    w, v = np.linalg.eigh(0.5 * (cov + cov.T))
    return (v * np.clip(w, 1e-10, MAX_START_VARIANCE)) @ v.T


_SAMPLERS: "collections.OrderedDict[str, _Sampler]" = collections.OrderedDict()
_MAX_SAMPLERS = 8


def _sampler_for(model, s) -> _Sampler:
    """The compiled sampler for this model and settings: reused by any model with the same
    components, priors, forward model and data (in this process), so that repeated fits
    (other seeds, resumed runs, a notebook re-run) do not compile again."""
    key = _fingerprint(model, {k: v for k, v in s.items() if k != "seed"}) + str(jax.config.jax_enable_x64)
    if key in _SAMPLERS:
        _SAMPLERS.move_to_end(key)
        return _SAMPLERS[key]
    sampler = _Sampler(model, s)
    _SAMPLERS[key] = sampler
    while len(_SAMPLERS) > _MAX_SAMPLERS:
        _SAMPLERS.popitem(last=False)
    return sampler


# ---------------------------------------------------------------------- checkpoints
# (file I/O in dynamicall.infer.checkpoint; re-exported here for callers of run.py)
from .checkpoint import (  # noqa: E402,F401
    CHECKPOINT_VERSION,
    check_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from .checkpoint import fingerprint as _fingerprint  # noqa: E402


# ---------------------------------------------------------------------- driver
#: Defaults of :func:`sample` chosen from measurement on a 2-core CPU (docs/fitting.md,
#: benchmarks/inference.py): vectorised chains cost far less per chain than one chain.
DEFAULT_CHAINS = 4
DEFAULT_WARMUP = 300
DEFAULT_SAMPLES = 1000
INITS = ("laplace", "uniform")


def sample(model, *, warmup: int = DEFAULT_WARMUP, samples: int = DEFAULT_SAMPLES,
           chains: int = DEFAULT_CHAINS, seed: int = 0,
           chain_method: str = "vectorized", progress: bool = True, checkpoint=None,
           resume: bool = False, target_accept: float = 0.8, max_tree_depth: int = 8,
           dense_mass: bool = True, chunk: int | None = None, stop_after: int | None = None,
           init: str = "laplace", laplace=None) -> FitResult:
    """Sample a :class:`~dynamicall.infer.models.KinematicModel` with NUTS.

    Parameters
    ----------
    model : KinematicModel
        The model (or any numpyro model exposing ``sites``, ``data``, ``forward``).
        Its sampled sites (``priors()``) may be vectors (a population's per-galaxy
        parameters, :class:`~dynamicall.infer.population.PopulationModel`): NUTS and the
        Laplace start see one flat vector (:class:`~dynamicall.infer.layout.SiteLayout`);
        a model with ``split_samples`` turns the draws into its named sites.
    warmup, samples : int
        Warm-up (adaptation) and kept iterations per chain (defaults 300 and 1000: with
        the Laplace start 300 warm-up iterations suffice; 4 x 1000 draws keep every
        r_hat <= 1.01 and ESS >= 400 on the shipped mock and a 1000-star mock, where
        8 x 250 left r_hat at 1.017).
    chains : int
        Number of chains, advanced together (vectorised). The default, 4, was chosen by
        measurement on a 2-core CPU (docs/fitting.md): at a fixed number of kept draws, 4
        long chains gave more effective samples per second than 8 or 16 short ones, whose
        warm-up costs more and whose vectorised steps wait for the longest trajectory.
    seed : int
        Random seed (initial points, momenta).
    chain_method : {"vectorized", "parallel"}
        "vectorized" runs all chains in one vmapped program (one device);
        "parallel" spreads them over the local devices with pmap (on a CPU, start Python
        with ``XLA_FLAGS=--xla_force_host_platform_device_count=N``), vectorising within
        each device.
    progress : bool
        Show a progress bar (tqdm) with phase, divergences and step size.
    checkpoint : path, optional
        File (``.npz``) to which the state and the draws are written after every chunk.
    resume : bool
        Continue from ``checkpoint`` if it exists (same model, data and settings).
    target_accept, max_tree_depth, dense_mass
        NUTS settings (numpyro's ``target_accept_prob``, ``max_tree_depth``,
        ``dense_mass``). The defaults differ from numpyro's (depth 10, diagonal mass):
        a dense mass matrix follows the correlated rho_s-r_s-gamma ridge of Jeans
        posteriors, and depth 8 (at most 255 leapfrog steps) stops vectorised chains
        from waiting on one chain's rare 1023-step trajectory; on the shipped mock
        (Zhao + Baes-van Hese) the two together gave 3.5x the effective samples per
        second of numpyro's defaults.
    chunk : int, optional
        Iterations per compiled chunk (default: about 50, dividing the run evenly).
    stop_after : int, optional
        Stop after this many chunks (the checkpoint lets a later call resume); for tests
        and time-sliced jobs.
    init : {"laplace", "uniform"}
        "laplace" (default): find the posterior mode and its Laplace covariance first
        (:func:`dynamicall.infer.optimize.optimize`, a second or two after compilation),
        start the chains from draws of that Gaussian and seed the mass matrix with its
        covariance (its variances capped at 1 when the Hessian at the mode was not
        positive definite: :func:`start_covariance`). "uniform": numpyro's ``init_to_uniform`` and a unit mass matrix.
    laplace : OptimizeResult, optional
        A result of :func:`~dynamicall.infer.optimize.optimize` to use instead of
        running it (``init="laplace"`` only).

    Returns
    -------
    FitResult, or None when ``stop_after`` ended the run before its last iteration.

    Raises
    ------
    ValueError
        Bad settings, or a catalogue with fewer data than the model has parameters
        (:func:`check_data_size`), before anything is compiled.
    KeyboardInterrupt
        Re-raised after an interrupt, once the last completed chunk is checkpointed.

    Warns
    -----
    RuntimeWarning
        When a parameter's r_hat is NaN (a chain stuck at one value) or above 1.01.
    """
    s = _settings(warmup, samples, chains, seed, chain_method, target_accept, max_tree_depth,
                  dense_mass, chunk)
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}; got {init!r}")
    check_data_size(model)
    t_start = time.perf_counter()
    fingerprint = _fingerprint(model, s)
    resuming = checkpoint is not None and resume and os.path.exists(checkpoint)
    if resuming:
        check_checkpoint(checkpoint, fingerprint)
    sampler = _sampler_for(model, s)
    compile_before = sampler._compiled is not None
    background = None
    if not compile_before and sampler.n_devices == 1:
        # compile the sampling program while the optimiser runs (compilation dominates
        # the wall time of a short fit; XLA compiles without holding the GIL)
        background = threading.Thread(target=sampler.compiled, args=(sampler.state_shapes(),), daemon=True)
        background.start()
    optimize_time = 0.0
    if init == "laplace" and not resuming:
        if laplace is None:
            from .optimize import optimize

            t0 = time.perf_counter()
            laplace = sampler.laplace if sampler.laplace is not None else \
                optimize(model, starts=s["chains"], seed=s["seed"], evaluate=sampler.evaluate)
            sampler.laplace = laplace
            optimize_time = time.perf_counter() - t0
    else:
        laplace = None
    state = sampler.init_state(s["seed"], laplace=laplace)
    collected: dict = {}
    done = 0
    elapsed_before = 0.0
    if resuming:
        state, collected, meta = load_checkpoint(checkpoint, sampler, state, fingerprint)
        done = int(meta["done"])
        elapsed_before = float(meta.get("sampling_time_s", 0.0))
    if background is not None:
        background.join()
    run_chunk = sampler.compiled(state)
    compile_time = 0.0 if compile_before else sampler.compile_time

    total = s["warmup"] + s["samples"]
    chunk = s["chunk"]
    n_chunks = math.ceil(total / chunk)
    bar = _progress(progress, total, done, model.forward.name, s["chains"])
    t_sampling = time.perf_counter()
    chunks_run = 0
    try:
        while done < total:
            if stop_after is not None and chunks_run >= stop_after:
                break
            state, outs = run_chunk(state)
            outs = jax.device_get(sampler.from_devices(outs))
            z, *stats = outs
            new = {f"z:{k}": np.asarray(v) for k, v in z.items()}
            new.update({f"stat:{name}": np.asarray(v) for name, v in zip(STAT_FIELDS, stats)})
            for k, v in new.items():
                collected[k] = v if k not in collected else np.concatenate([collected[k], v], axis=1)
            done += chunk
            chunks_run += 1
            if bar is not None:
                _update_bar(bar, collected, done, total, s["warmup"], chunk)
            if checkpoint is not None:
                save_checkpoint(checkpoint, sampler, state, collected, done,
                                dict(fingerprint=fingerprint,
                                     sampling_time_s=elapsed_before + time.perf_counter() - t_sampling,
                                     settings=s))
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        where = f"; the last completed chunk is saved in '{checkpoint}': resume with resume=True" \
            if checkpoint is not None else ""
        print(f"interrupted after {done} of {total} iterations{where}", file=sys.stderr)
        raise
    if bar is not None:
        bar.close()
    sampling_time = elapsed_before + time.perf_counter() - t_sampling
    if done < total:
        return None
    lo, hi = s["warmup"], s["warmup"] + s["samples"]
    samples_out = {site: collected[f"z:{site}"][:, lo:hi] for site in sampler.sites}
    split = getattr(model, "split_samples", None)  # vector sites -> the model's named sites
    samples_out = split(samples_out) if callable(split) else samples_out
    stats_out = {k[5:]: v[:, lo:hi] for k, v in collected.items() if k.startswith("stat:")}
    timing = dict(wall_time_s=time.perf_counter() - t_start + elapsed_before,
                  compile_time_s=compile_time, sampling_time_s=sampling_time, n_chunks=n_chunks,
                  optimize_time_s=optimize_time)
    settings = dict(s, init=init)
    result = FitResult(model=model, samples=samples_out, stats=stats_out, settings=settings, timing=timing)
    warn_if_not_converged(result)
    return result


#: Convergence thresholds of the verdict (Vehtari et al. 2021 for r_hat).
R_HAT_MAX = 1.01
MIN_ESS = 400


def check_data_size(model) -> None:
    """Refuse a data set too small for the model, before sampling.

    A fit needs more data (stars, or bins) than free parameters; a likelihood that
    estimates a dispersion per star needs at least two stars per free parameter to say
    anything about the profile.

    Raises
    ------
    ValueError
        Naming the number of data, the number of parameters and what to do.
    """
    n_data = len(model.data)
    n_params = len(model.sites)
    binned = getattr(model, "likelihood", None) == "binned"
    need = n_params + 1 if binned else 2 * n_params
    if n_data < need:
        what = "bins" if binned else "stars"
        raise ValueError(
            f"{n_data} {what} cannot constrain {n_params} free parameters ({', '.join(model.sites)}): "
            f"need at least {need} {what}; fix parameters (priors={{site: value}}, e.g. the halo's "
            f"shape) or use a simpler model (e.g. halo='nfw', anisotropy='constant')"
        )


def warn_if_not_converged(result) -> list:
    """Warn (RuntimeWarning) about NaN or large r_hat; returns the messages."""
    import warnings

    from .outputs import _stats

    messages = []
    if result.num_chains < 2:
        return messages
    stuck, high = [], []
    for site, draws in result.samples.items():
        r = _stats(draws)["r_hat"]
        if not np.isfinite(r):
            stuck.append(site)
        elif r > R_HAT_MAX:
            high.append(f"{site} ({r:.3f})")
    if stuck:
        messages.append(
            f"r_hat is NaN for {stuck}: a chain did not move (stuck at one value); check the "
            f"priors and data, or rerun with another seed or init='laplace'"
        )
    if high:
        messages.append(f"r_hat > {R_HAT_MAX} for {high}: the chains disagree; run longer or more chains")
    for m in messages:
        warnings.warn(m, RuntimeWarning, stacklevel=3)
    return messages


def _progress(enabled, total, done, name, chains):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=min(done, total), desc=f"NUTS ({name}, {chains} chains) warmup",
               unit="it", dynamic_ncols=True, file=sys.stderr)
    bar.base_desc = f"NUTS ({name}, {chains} chains)"
    return bar


def _update_bar(bar, collected, done, total, warmup, chunk):
    phase = "warmup" if done <= warmup else "sample"
    bar.set_description(f"{bar.base_desc} {phase}", refresh=False)
    div = collected["stat:diverging"]
    kept = int(np.sum(div[:, warmup:])) if div.shape[1] > warmup else 0
    bar.set_postfix(step=f"{float(np.mean(collected['stat:step_size'][:, -1])):.3g}",
                    leapfrog=f"{float(np.mean(collected['stat:num_steps'][:, -chunk:])):.0f}",
                    divergences=kept, refresh=False)
    bar.update(min(done, total) - bar.n)


def fit(data, *, tracer="plummer", halo="zhao", anisotropy="baes-van-hese", forward="exact",
        priors=None, R_half=None, stellar_mass=None, likelihood=None, proper_motions=False,
        grid_points: int = 32, parameterization: str = "enclosed_mass", **run_kwargs) -> FitResult:
    """Fit a catalogue (or binned profile): build the spec and model, then :func:`sample`.

    Parameters
    ----------
    data : StarCatalog, BinnedProfile or path
        The data (a path is read with :meth:`StarCatalog.read`).
    tracer, halo, anisotropy, forward, priors, R_half, stellar_mass
        See :class:`~dynamicall.infer.spec.ModelSpec`. ``tracer`` may also be a
        :class:`~dynamicall.infer.light.Light` (light profile from photometry) or
        ``"catalog"`` (from the catalogue's metadata). Priors of nuisance sites
        (``v_sys``, ``contamination.*``) go to the model. ``R_half`` defaults to the
        catalogue's.
    likelihood, proper_motions, grid_points
        See :class:`~dynamicall.infer.models.KinematicModel`.
    parameterization : {"enclosed_mass", "native"}
        How the halo's normalisation is sampled (see
        :class:`~dynamicall.infer.spec.ModelSpec`): by default as ``halo.log10_m_ref``,
        log10 of the halo mass inside 1.8 R_half, which the kinematics measure directly.
    **run_kwargs
        Passed to :func:`sample` (warmup, samples, chains, seed, checkpoint, ...).

    Returns
    -------
    FitResult
    """
    from ..data import StarCatalog
    from .models import KinematicModel
    from .spec import ModelSpec

    if isinstance(data, (str, os.PathLike)):
        data = StarCatalog.read(data)
    if isinstance(tracer, str) and tracer.lower() in ("catalog", "catalogue"):  # light profile from metadata
        from .light import light_from_catalog

        tracer = light_from_catalog(data)
    if hasattr(tracer, "spec_arguments"):  # a Light (dynamicall.infer.light)
        tracer, priors, R_half = tracer.spec_arguments(priors, R_half).values()
    priors = dict(priors or {})
    nuisance = {k: priors.pop(k) for k in list(priors) if k == "v_sys" or k.startswith("contamination.")}
    spec = ModelSpec(tracer, halo, anisotropy, R_half=R_half if R_half is not None else data.R_half,
                     priors=priors, stellar_mass=stellar_mass, forward=forward,
                     parameterization=parameterization)
    model = KinematicModel(spec, data, likelihood=likelihood, proper_motions=proper_motions,
                           grid_points=grid_points, priors=nuisance)
    return sample(model, **run_kwargs)
