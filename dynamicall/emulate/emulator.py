"""A loaded emulator: the drop-in replacement of the exact Jeans engine on its domain."""

from __future__ import annotations

import dataclasses
import pathlib
import warnings

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ..interpolate import interpolation_matrix as _uniform_interpolation_matrix
from ..jeans import interp_loglog
from ..jeans.api import _radii as _engine_radii
from ..quantities import CARD_NAMES
from ..units import to_kpc
from . import files
from .baseline import log_sigma_baseline
from .mapping import physical_inputs, scalar_inputs, tracer_half_light_radius, tracer_profile
from .networks import split_abstract

DOMAIN_MODES = ("raise", "warn", "penalty")
#: Width (as a fraction of each input's range) over which the penalty grows by 1/2 nat.
PENALTY_WIDTH = 1e-3


class OutOfDomainError(ValueError):
    """Inputs lie outside the domain an emulator was trained on."""


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class EncodedTracer:
    """A tracer already passed through a CNN emulator's encoder (see
    :meth:`Emulator.encode_tracer`): pass it in place of the tracer to skip the encoder.

    Attributes
    ----------
    features : array
        Encoder output.
    R_half : scalar
        The tracer's projected half-light radius, kpc.
    """

    features: jax.Array
    R_half: jax.Array


def state_arrays(state) -> dict:
    """Named float arrays ("hidden.0.kernel", ...) of a network's parameter state."""
    params = nnx.filter_state(state, nnx.Param) if hasattr(nnx, "filter_state") else state
    return {".".join(map(str, p)): np.asarray(v.get_value()) for p, v in nnx.to_flat_state(params)}


def network_arrays(model) -> dict:
    """Named float arrays of a network's parameters."""
    return state_arrays(nnx.split(model, nnx.Param)[1])


def state_from_arrays(architecture: dict, arrays: dict):
    """(graphdef, state) of the network described by ``architecture`` holding ``arrays``."""
    graphdef, abstract = split_abstract(architecture)
    flat = nnx.to_flat_state(abstract)
    names = {".".join(map(str, p)) for p, _ in flat}
    if names != set(arrays):
        raise files.EmulatorFileError(
            f"weights do not match the architecture: missing {sorted(names - set(arrays))}, "
            f"unexpected {sorted(set(arrays) - names)}"
        )
    filled = []
    for p, v in flat:
        value = jnp.asarray(arrays[".".join(map(str, p))])
        if value.shape != tuple(v.get_value().shape):
            raise files.EmulatorFileError(f"array {'.'.join(map(str, p))} has shape {value.shape}, "
                                          f"the architecture needs {tuple(v.get_value().shape)}")
        filled.append((p, v.replace(value)))
    return graphdef, nnx.from_flat_state(filled)


def network_from_arrays(architecture: dict, arrays: dict):
    """The network described by ``architecture`` holding the named ``arrays``."""
    return nnx.merge(*state_from_arrays(architecture, arrays))


def interpolation_matrix(grid, targets, order: int = 4) -> np.ndarray:
    """The fixed linear map from values on ``grid`` to values at ``targets``: Lagrange
    interpolation of ``order`` points (4: cubic) in ln(radius), and linear extrapolation
    in ln(radius) from the two end points outside the grid (a power law for ln sigma).

    Applied to ln sigma on the grid it gives ln sigma at the targets; for a fit's fixed
    data radii it is computed once.

    Parameters
    ----------
    grid : array (G,)
        Increasing positive radii.
    targets : array (N,)
        Positive radii.
    order : int
        Points per stencil (2: linear).

    Returns
    -------
    numpy.ndarray (N, G)

    Example
    -------
    >>> g = np.geomspace(0.1, 10.0, 9)
    >>> W = interpolation_matrix(g, np.array([0.37, 20.0]))
    >>> np.allclose(W @ (2 * np.log(g) + 1), 2 * np.log([0.37, 20.0]) + 1)
    True
    """
    s = np.log(np.asarray(grid, dtype=float))
    steps = np.diff(s)
    if not np.allclose(steps, steps[0], rtol=1e-9, atol=0):
        raise ValueError("the emulator's output grid must be log-spaced")
    u = (np.log(np.asarray(targets, dtype=float)).ravel() - s[0]) / steps[0]
    # the library's one stencil and edge rule (dynamicall.interpolate), on the grid's ln r steps
    return _uniform_interpolation_matrix(u, s.size, min(order, s.size))


def _check_radii(R):
    """The exact engine's check of concrete radii (same ValueError), at the public boundary."""
    _engine_radii(R, "R")


@dataclasses.dataclass(frozen=True, eq=False)
class Emulator:
    """A trained emulator of the projected dispersions on its domain.

    Use :func:`dynamicall.emulate.load` to get one. ``sigma_los(R, tracer, mass,
    anisotropy)`` has the signature and units of :func:`dynamicall.jeans.sigma_los`; unlike
    the exact engine, ``R`` may be traced. Inputs outside the training domain raise
    :class:`OutOfDomainError` (``on_domain="raise"``, the default), warn and extrapolate
    (``"warn"``), or are clipped to the domain while :meth:`domain_penalty` returns a
    smooth, large, finite log-likelihood penalty (``"penalty"``, for samplers). Inside
    ``jit`` an error cannot be raised: there ``"raise"`` returns NaN.

    Attributes
    ----------
    card : dict
        The model card (see :mod:`dynamicall.emulate.files`).
    path : pathlib.Path or None
        Where it was loaded from.
    on_domain : str
        "raise", "warn" or "penalty".
    """

    card: dict
    arrays: dict
    path: pathlib.Path | None = None
    on_domain: str = "raise"

    def __post_init__(self):
        if self.on_domain not in DOMAIN_MODES:
            raise ValueError(f"on_domain must be one of {DOMAIN_MODES}; got {self.on_domain!r}")
        graphdef, state = state_from_arrays(self.card["architecture"], self.arrays)
        object.__setattr__(self, "_graphdef", graphdef)
        object.__setattr__(self, "_state", state)
        norm = self.card["normalization"]
        for key in ("input_center", "input_half_width", "output_mean", "output_std"):
            object.__setattr__(self, "_" + key, np.asarray(norm[key], dtype=float))
        basis = norm.get("output_basis")
        object.__setattr__(self, "_output_basis", None if basis is None else np.asarray(basis, dtype=np.float32))
        object.__setattr__(self, "_baseline_kind", norm.get("baseline_kind", "quadrature"))
        object.__setattr__(self, "_jit_inputs", jax.jit(self._inputs))
        object.__setattr__(self, "_jit_evaluate", jax.jit(self._evaluate))

    # ------------------------------------------------------------ description
    @property
    def name(self) -> str:
        return self.card["name"]

    @property
    def problem(self) -> dict:
        return self.card["problem"]

    @property
    def input_names(self) -> tuple:
        return tuple(self.problem["input_names"])

    @property
    def bounds(self) -> dict:
        """Domain of each input: name -> (low, high)."""
        return {k: tuple(v) for k, v in self.problem["bounds"].items()}

    @property
    def grid(self) -> np.ndarray:
        """Output radii in units of R_half."""
        return np.asarray(self.problem["grid"], dtype=float)

    @property
    def quantities(self) -> tuple:
        """Output quantities, e.g. ("log_sigma_los",)."""
        return tuple(self.problem["quantities"])

    def with_on_domain(self, mode: str) -> "Emulator":
        """A copy with another out-of-domain policy ("raise", "warn", "penalty")."""
        return dataclasses.replace(self, on_domain=mode)

    def __repr__(self):
        return f"Emulator({self.name!r}, inputs={self.input_names}, on_domain={self.on_domain!r})"

    # ------------------------------------------------------------- numerics
    def _lo_hi(self):
        lo = np.array([self.bounds[n][0] for n in self.input_names])
        hi = np.array([self.bounds[n][1] for n in self.input_names])
        return lo, hi

    def _inputs(self, tracer, mass, anisotropy):
        """(scalar inputs, full network input or None, R_half, sigma unit, features or None)."""
        if isinstance(tracer, EncodedTracer):
            x, unit = scalar_inputs(self.problem, tracer.R_half, mass, anisotropy)
            return x, None, tracer.R_half, unit, tracer.features
        full, R_half, unit = physical_inputs(self.problem, tracer, mass, anisotropy)
        return full[: len(self.input_names)], full, R_half, unit, None

    def predict_log(self, x):
        """ln sigma~ of each quantity on the grid for dimensionless inputs ``x`` (..., P).

        Returns an array (..., Q, G), Q quantities on G radii, in the units of the recipe
        (sigma~ = sigma / sqrt(G rho_s R_half^2)).
        """
        x = jnp.asarray(x)
        xn = (x - self._input_center) / self._input_half_width
        out = self._network_output(nnx.merge(self._graphdef, self._state)(xn.astype(jnp.float32)))
        out = out.astype(x.dtype) * self._output_std + self._output_mean
        q, g = len(self.quantities), self.grid.size
        out = out.reshape(x.shape[:-1] + (q, g))
        return out + self._baseline(x[..., : len(self.input_names)])[..., None, :]

    def _network_output(self, out):
        """Standardised residuals from the network's last layer (through the principal
        components for PCA-head emulators)."""
        return out if self._output_basis is None else out @ self._output_basis

    def _baseline(self, x):
        return log_sigma_baseline(self.grid, x, self.input_names, self.problem.get("fixed"), self._baseline_kind)

    def _head_log(self, features, x):
        """ln sigma~ from encoder features and scalar inputs (CNN emulators)."""
        p = len(self.input_names)
        xn = (x - self._input_center[:p]) / self._input_half_width[:p]
        net = nnx.merge(self._graphdef, self._state)
        out = self._network_output(net.head(features.astype(jnp.float32), xn.astype(jnp.float32)))
        out = out.astype(x.dtype) * self._output_std + self._output_mean
        out = out.reshape(x.shape[:-1] + (len(self.quantities), self.grid.size))
        return out + self._baseline(x)[..., None, :]

    def encode_tracer(self, tracer) -> EncodedTracer:
        """Run the encoder of a CNN emulator once for ``tracer``.

        Pass the result in place of the tracer to :meth:`sigma_los` (and friends):
        repeated calls with fixed photometry then run only the MLP head.
        """
        if self.card["architecture"]["family"] != "cnn_mlp":
            raise ValueError(f"emulator {self.name!r} is an MLP: it has no tracer encoder")
        R_half = tracer_half_light_radius(self.problem, tracer)
        p = len(self.input_names)
        profile = tracer_profile(self.problem, tracer, R_half)
        self._report_profile(profile)
        pn = (profile - self._input_center[p:]) / self._input_half_width[p:]
        features = nnx.merge(self._graphdef, self._state).encode(pn.astype(jnp.float32))
        return EncodedTracer(features=features, R_half=jnp.asarray(R_half))

    #: Tolerance beyond the envelope of the training profiles, in ln Sigma: this fraction
    #: of each point's training range plus :attr:`PROFILE_MARGIN_NATS`.
    PROFILE_MARGIN = 0.05
    PROFILE_MARGIN_NATS = 0.05

    def profile_outside(self, profile) -> float:
        """How far (in ln Sigma, beyond the tolerance) a tracer's encoder input
        ln(Sigma / Sigma(R_half)) on the problem's ``profile_grid`` lies outside the
        envelope of the training profiles: 0 inside; NaN for emulators without an envelope.

        The tolerance at each radius is :attr:`PROFILE_MARGIN` of the training range there
        plus :attr:`PROFILE_MARGIN_NATS`. A pointwise envelope is a loose test (a profile
        inside it need not be close to any training profile): it catches tracers far from
        the training family, not every extrapolation.
        """
        envelope = self.card["normalization"].get("profile_envelope")
        if envelope is None:
            return float("nan")
        lo, hi = (np.asarray(v, dtype=float) for v in envelope)
        tol = self.PROFILE_MARGIN * (hi - lo) + self.PROFILE_MARGIN_NATS
        prof = np.asarray(profile, dtype=float)
        return float(np.max(np.maximum(np.maximum(lo - tol - prof, prof - hi - tol), 0.0)))

    def _report_profile(self, profile):
        """Raise or warn (per ``on_domain``) for a concrete tracer profile outside the
        training family's envelope (widened by :attr:`PROFILE_MARGIN`)."""
        if self.on_domain == "penalty" or isinstance(profile, jax.core.Tracer):
            return
        excess = self.profile_outside(profile)
        if not excess > 0:
            return
        message = (f"emulator {self.name!r}: the tracer's light profile lies outside the tracers it was "
                   f"trained on ({self.problem.get('tracer_family')}, {self.problem.get('tracer_inputs')}) by "
                   f"{excess:.3g} in ln Sigma at some radius (beyond the tolerance)")
        if self.on_domain == "raise":
            raise OutOfDomainError(message)
        warnings.warn(message + " (extrapolating)", stacklevel=4)

    def features(self, tracer, mass, anisotropy):
        """The dimensionless inputs (``input_names`` order) of a (tracer, mass, anisotropy)."""
        return self._inputs(tracer, mass, anisotropy)[0]

    def R_range(self, tracer):
        """(R_min, R_max) in kpc covered by the output grid for this tracer."""
        R_half = float(tracer.R_half if isinstance(tracer, EncodedTracer) else tracer_half_light_radius(self.problem, tracer))
        return float(self.grid[0] * R_half), float(self.grid[-1] * R_half)

    def _outside(self, x, u):
        """Distance outside the domain, summed in units of PENALTY_WIDTH x range (>= 0)."""
        lo, hi = self._lo_hi()
        width = PENALTY_WIDTH * (hi - lo)
        excess = jnp.maximum(lo - x, 0.0) / width + jnp.maximum(x - hi, 0.0) / width
        lu, hu = np.log(self.grid[0]), np.log(self.grid[-1])
        lnu = jnp.log(u)
        r_excess = (jnp.maximum(lu - lnu, 0.0) + jnp.maximum(lnu - hu, 0.0)) / (PENALTY_WIDTH * (hu - lu))
        return jnp.sum(excess**2) + jnp.sum(r_excess**2)

    def domain_penalty(self, tracer, mass, anisotropy, R=None):
        """Smooth log-likelihood penalty, 0 inside the domain and -(d/w)^2/2 outside.

        ``d`` is the distance outside each input's bounds, ``w`` = 1e-3 of its range; with
        ``R`` (kpc), radii outside the grid count too. Finite and differentiable: add it
        with ``numpyro.factor`` when sampling with ``on_domain="penalty"``.
        """
        x, _, R_half, _, _ = self._inputs(tracer, mass, anisotropy)
        u = jnp.atleast_1d(jnp.asarray(self.grid[0] if R is None else to_kpc(R) / R_half))
        return -0.5 * self._outside(x, u)

    def _report(self, x, u):
        """Raise or warn (per ``on_domain``) for concrete inputs outside the domain."""
        if self.on_domain == "penalty":
            return
        lo, hi = self._lo_hi()
        g0, g1 = float(self.grid[0]), float(self.grid[-1])
        xs, us = np.asarray(x), np.asarray(u)
        bad_x = [(n, float(v), self.bounds[n]) for n, v, a, b in zip(self.input_names, xs, lo, hi) if not a <= v <= b]
        bad_u = bool(np.any((us < g0 * (1 - 1e-12)) | (us > g1 * (1 + 1e-12))))
        if not (bad_x or bad_u):
            return
        text = ", ".join(f"{n} = {v:.4g} not in [{a:.4g}, {b:.4g}]" for n, v, (a, b) in bad_x)
        if bad_u:
            text += (", " if text else "") + f"R / R_half outside [{g0:g}, {g1:g}]"
        message = f"emulator {self.name!r}: input outside its training domain: {text}"
        if self.on_domain == "raise":
            raise OutOfDomainError(message)
        warnings.warn(message + " (extrapolating)", stacklevel=4)

    def _evaluate(self, R, tracer, mass, anisotropy):
        """The dispersions with the traced part of the domain policy (clip or NaN)."""
        x, full, R_half, sigma_unit, features = self._inputs(tracer, mass, anisotropy)
        u = R / R_half
        lo, hi = self._lo_hi()
        g0, g1 = float(self.grid[0]), float(self.grid[-1])
        inside = jnp.all((x >= lo) & (x <= hi)) & jnp.all((u >= g0 * (1 - 1e-12)) & (u <= g1 * (1 + 1e-12)))
        if self.on_domain == "penalty":
            x, u = jnp.clip(x, lo, hi), jnp.clip(u, g0, g1)
        if features is not None:
            log_sig = self._head_log(features, x)
        else:
            log_sig = self.predict_log(jnp.concatenate([x, full[len(self.input_names) :]]))
        out = {}
        for i, q in enumerate(self.quantities):
            values = sigma_unit * interp_loglog(u, self.grid, jnp.exp(log_sig[i]))
            out[CARD_NAMES[q]] = jnp.where(inside, values, jnp.nan) if self.on_domain == "raise" else values
        return out

    def projected_dispersions(self, R, tracer, mass, anisotropy):
        """Dispersions (km/s) at projected radii ``R`` (kpc), as a dict like the exact
        engine's: ``los`` and, if trained on them, ``pm_radial`` and ``pm_tangential``.

        Called with concrete values it checks the domain first (raising or warning per
        ``on_domain``) and runs compiled; inside a trace it applies the traced policy.
        """
        R = jnp.asarray(to_kpc(R))
        leaves = jax.tree_util.tree_leaves((R, tracer, mass, anisotropy))
        if any(isinstance(v, jax.core.Tracer) for v in leaves):
            return self._evaluate(R, tracer, mass, anisotropy)
        _check_radii(R)
        x, full, R_half, _, _ = self._jit_inputs(tracer, mass, anisotropy)
        self._report(x, R / R_half)
        if full is not None and full.shape[-1] > len(self.input_names):
            self._report_profile(full[len(self.input_names) :])
        return self._jit_evaluate(R, tracer, mass, anisotropy)

    def sigma_los(self, R, tracer, mass, anisotropy):
        """Line-of-sight dispersion (km/s) at projected radii ``R`` (kpc or Quantity).

        Same signature and units as :func:`dynamicall.jeans.sigma_los`.
        """
        return self.projected_dispersions(R, tracer, mass, anisotropy)["los"]

    def predictor(self, R, tracer, quantities=("los",)):
        """The lean evaluation path for fixed radii and a fixed tracer (a fit's stars).

        Everything that does not depend on the mass and anisotropy is done here, once:
        the tracer's R_half, the stars' u = R / R_half, and the interpolation matrix
        (:func:`interpolation_matrix`, cubic in ln u) from the output grid to the stars.
        For a CNN emulator the tracer's encoder also runs here, once.
        The returned function then does one input mapping, one network evaluation (a CNN
        emulator's MLP head only), the
        baseline (if the emulator has one) on the grid and one small matrix product
        (stars x grid) per call. Inputs outside the
        domain follow ``on_domain`` as in :meth:`projected_dispersions` (clipped for
        "penalty", NaN for "raise" inside jit).

        Parameters
        ----------
        R : array (N,)
            Concrete projected radii, kpc.
        tracer : profile or EncodedTracer
            The tracer, with concrete parameters (for a CNN emulator it is encoded here,
            once; or pass :meth:`encode_tracer`'s result).
        quantities : tuple of str
            Dispersions wanted ("los", "pm_radial", "pm_tangential").

        Returns
        -------
        callable
            ``f(mass, anisotropy) -> {quantity: sigma (N,) km/s}``; traceable.
        """
        cnn = self.card["architecture"]["family"] == "cnn_mlp"
        R = np.asarray(to_kpc(R), dtype=float).ravel()
        _check_radii(R)
        if cnn:  # the encoder runs here, once: each call then costs the MLP head only
            encoded = tracer if isinstance(tracer, EncodedTracer) else self.encode_tracer(tracer)
            features, R_half = encoded.features, float(encoded.R_half)
        else:
            R_half = float(tracer_half_light_radius(self.problem, tracer))
        names = [CARD_NAMES[q] for q in self.quantities]
        missing = [q for q in quantities if q not in names]
        if missing:
            raise ValueError(f"emulator {self.name!r} was not trained on {missing} (quantities: {self.quantities})")
        W = interpolation_matrix(self.grid, R / R_half)
        g, p = self.grid.size, len(self.input_names)
        lo, hi = self._lo_hi()
        net = nnx.merge(self._graphdef, self._state)
        rows = [names.index(q) for q in quantities]
        Wj = jnp.asarray(W)
        std, mean = self._output_std, self._output_mean
        basis = None if self._output_basis is None else jnp.asarray(self._output_basis, dtype=float)
        center, half_width = self._input_center[:p], self._input_half_width[:p]
        penalty_mode, raise_mode = self.on_domain == "penalty", self.on_domain == "raise"
        has_baseline = self._baseline_kind != "none"

        def predict(mass, anisotropy):
            x, unit = scalar_inputs(self.problem, R_half, mass, anisotropy)
            inside = jnp.all((x >= lo) & (x <= hi))
            if penalty_mode:
                x = jnp.clip(x, lo, hi)
            xn = ((x - center) / half_width).astype(jnp.float32)
            h = (net.head(features, xn) if cnn else net(xn)).astype(x.dtype)
            if basis is not None:
                h = h @ basis
            log_grid = (h * std + mean).reshape(len(names), g)  # ln sigma~ on the grid, per quantity
            if has_baseline:
                log_grid = log_grid + self._baseline(x)[None, :]
            log_stars = Wj @ log_grid[jnp.asarray(rows)].T + jnp.log(unit)  # one (N, G) x (G, Q) product
            out = {}
            for k, q in enumerate(quantities):
                sigma = jnp.exp(log_stars[:, k])
                out[q] = jnp.where(inside, sigma, jnp.nan) if raise_mode else sigma
            return out

        return predict

    def sigma_pm_radial(self, R, tracer, mass, anisotropy):
        """Plane-of-sky radial dispersion (km/s), if the emulator was trained on it."""
        return self._require("pm_radial", self.projected_dispersions(R, tracer, mass, anisotropy))

    def sigma_pm_tangential(self, R, tracer, mass, anisotropy):
        """Plane-of-sky tangential dispersion (km/s), if the emulator was trained on it."""
        return self._require("pm_tangential", self.projected_dispersions(R, tracer, mass, anisotropy))

    def _require(self, key, out):
        if key not in out:
            raise ValueError(f"emulator {self.name!r} was not trained on {key} (quantities: {self.quantities})")
        return out[key]
