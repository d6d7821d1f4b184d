"""The forward model of a fit, chosen by one argument: the exact engine or an emulator.

``resolve_forward("exact")`` gives the exact Jeans engine (:mod:`dynamicall.jeans`);
``resolve_forward("zhao_bvh_plummer")`` loads a shipped emulator by name (or from a
folder path); an emulator object is used as it is. Both answer the same call,
``forward.dispersions(R_grid, tracer, mass, anisotropy, quantities)``, on a concrete grid
of projected radii; the likelihood interpolates from that grid to the stars. So the
model code is the same for every forward model.

An emulator also has a domain (the box its training covered): :meth:`EmulatorForward.
log_penalty` is the emulator's smooth domain penalty (0 inside), added to the log
density, and :func:`dynamicall.infer.spec.ModelSpec` truncates the default priors to the
domain so that sampling never leaves it.

Example
-------
>>> resolve_forward("exact").name
'exact'
"""

from __future__ import annotations

import os
from typing import Protocol, runtime_checkable

import numpy as np

from ..jeans import JeansConfig, log_grid, projected_dispersions
from ..quantities import DISPERSIONS, dispersion_names


@runtime_checkable
class ForwardModel(Protocol):
    """The forward-model contract the likelihoods and the Fisher forecast call:
    :class:`ExactForward` and :class:`EmulatorForward` fulfil it, and
    :func:`resolve_forward` returns one.

    Example
    -------
    >>> isinstance(resolve_forward("exact"), ForwardModel)
    True
    """

    #: Name shown in outputs ("exact" or the emulator's name).
    name: str
    #: Dispersion names it can compute (see :data:`dynamicall.quantities.DISPERSIONS`).
    quantities: tuple
    #: Whether it is an emulator (with a domain) rather than the exact engine.
    is_emulator: bool

    def dispersions(self, R, tracer, mass, anisotropy, quantities=("los",)):
        """Projected dispersions (km/s) at concrete radii ``R`` (kpc), as a dict."""

    def log_penalty(self, tracer, mass, anisotropy):
        """Domain penalty added to the log density (None: no domain)."""

    def prepare(self, R, tracer, quantities=("los",)):
        """A lean ``f(mass, anisotropy)`` for fixed radii and tracer, or None."""

    def R_range(self, tracer):
        """(R_min, R_max) in kpc the forward model covers."""

    def check(self, tracer, mass, anisotropy, quantities):
        """Raise ValueError if the model cannot be computed."""

    def describe(self) -> dict:
        """JSON-able description for outputs."""


@runtime_checkable
class EmulatorContract(Protocol):
    """What :class:`EmulatorForward` needs from an emulator object (the contract
    :class:`dynamicall.emulate.Emulator` and test doubles fulfil).

    Optional: ``quantities`` (card names, default ``("log_sigma_los",)``),
    ``projected_dispersions`` (for proper motions), ``predictor`` (the lean path) and
    ``name``.

    Example
    -------
    >>> from dynamicall.emulate import load
    >>> isinstance(load("zhao_bvh_plummer"), EmulatorContract)
    True
    >>> missing_members(object(), EmulatorContract)
    ['R_range', 'bounds', 'domain_penalty', 'features', 'input_names', 'sigma_los', 'with_on_domain']
    """

    #: Names of the dimensionless inputs, in order.
    input_names: tuple
    #: ``{input name: (low, high)}``: the domain the emulator was trained on.
    bounds: dict

    def sigma_los(self, R, tracer, mass, anisotropy):
        """Line-of-sight dispersion (km/s) at projected radii ``R`` (kpc)."""

    def features(self, tracer, mass, anisotropy):
        """The dimensionless inputs of a (tracer, mass, anisotropy) triple; raises
        TypeError or ValueError for a model the emulator cannot represent."""

    def R_range(self, tracer):
        """(R_min, R_max) in kpc covered by the emulator's grid for this tracer."""

    def domain_penalty(self, tracer, mass, anisotropy):
        """Smooth log-density penalty (<= 0, 0 inside the domain)."""

    def with_on_domain(self, mode):
        """A copy answering out-of-domain inputs with ``mode`` ("raise", "warn", "penalty")."""


def missing_members(obj, protocol) -> list:
    """Names of the members of ``protocol`` (a :class:`typing.Protocol`) that ``obj`` lacks,
    sorted (``isinstance`` only says yes or no).

    Example
    -------
    >>> missing_members(ExactForward(), EmulatorContract)
    ['bounds', 'domain_penalty', 'features', 'input_names', 'sigma_los', 'with_on_domain']
    """
    members = set(getattr(protocol, "__annotations__", {}))
    members |= {name for name, value in vars(protocol).items()
                if callable(value) and not name.startswith("_")}
    return sorted(name for name in members if not hasattr(obj, name))


class ExactForward:
    """The exact Jeans engine as a forward model.

    Parameters
    ----------
    config : JeansConfig
        Grid settings; the default, :meth:`JeansConfig.fast`, is accurate to ~3e-7, far
        below any velocity error.

    Example
    -------
    >>> import numpy as np
    >>> from dynamicall.profiles import Plummer
    >>> from dynamicall.anisotropy import Constant
    >>> p = Plummer(m_tot=1e6, r_s=0.25)
    >>> out = ExactForward().dispersions(np.array([0.1, 0.2]), p, p, Constant(beta=0.0), ("los",))
    >>> sorted(out)
    ['los']
    """

    name = "exact"
    quantities = DISPERSIONS
    is_emulator = False

    def __init__(self, config: JeansConfig | None = None):
        self.config = JeansConfig.fast() if config is None else config

    def dispersions(self, R, tracer, mass, anisotropy, quantities=("los",)):
        """Projected dispersions (km/s) at concrete radii ``R`` (kpc), as a dict."""
        out = projected_dispersions(np.asarray(R, dtype=float), tracer, mass, anisotropy, config=self.config)
        return {q: out[q] for q in quantities}

    def log_penalty(self, tracer, mass, anisotropy):
        """No domain: always None."""
        return None

    def prepare(self, R, tracer, quantities=("los",)):
        """No lean path for fixed radii: the model evaluates on its grid (None)."""
        return None

    def R_range(self, tracer):
        """Radii the forward model covers, kpc: all."""
        return (0.0, np.inf)

    def check(self, tracer, mass, anisotropy, quantities):
        """Nothing to check: the exact engine takes any model."""

    def describe(self) -> dict:
        c = self.config
        return {"name": "exact", "config": dict(step=c.step, order=c.order, inner=c.inner,
                                                outer=c.outer, nodes=c.nodes)}


class EmulatorForward:
    """An emulator (see :mod:`dynamicall.emulate`) as a forward model.

    The emulator is switched to ``on_domain="penalty"``: inside a sampler every value is
    traced, so leaving the domain cannot raise; its smooth penalty is added to the log
    density instead (and default priors are truncated to the domain).

    Parameters
    ----------
    emulator : EmulatorContract
        Anything with the emulator protocol :class:`EmulatorContract`
        (:class:`dynamicall.emulate.Emulator` has it).
    name : str, optional
        Name shown in outputs (default: the emulator's ``name`` attribute).
    """

    is_emulator = True

    def __init__(self, emulator: EmulatorContract, name: str | None = None):
        missing = missing_members(emulator, EmulatorContract)
        if missing:
            raise TypeError(
                f"forward model {type(emulator).__name__} lacks {missing} of the emulator protocol"
            )
        self.emulator = emulator.with_on_domain("penalty")
        self.name = name or getattr(emulator, "name", None) or type(emulator).__name__
        self.quantities = dispersion_names(getattr(emulator, "quantities", ("log_sigma_los",)))

    def dispersions(self, R, tracer, mass, anisotropy, quantities=("los",)):
        """Emulated projected dispersions (km/s) at radii ``R`` (kpc), as a dict."""
        R = np.asarray(R, dtype=float)
        if tuple(quantities) == ("los",):
            return {"los": self.emulator.sigma_los(R, tracer, mass, anisotropy)}
        out = self.emulator.projected_dispersions(R, tracer, mass, anisotropy)
        return {q: out[q] for q in quantities}

    def log_penalty(self, tracer, mass, anisotropy):
        """The emulator's domain penalty (<= 0, 0 inside the domain)."""
        return self.emulator.domain_penalty(tracer, mass, anisotropy)

    def prepare(self, R, tracer, quantities=("los",)):
        """The emulator's lean path for fixed data radii ``R`` (kpc) and a fixed tracer:
        ``f(mass, anisotropy) -> {quantity: sigma at R}`` (see
        :meth:`dynamicall.emulate.Emulator.predictor`), or None if the emulator has none."""
        make = getattr(self.emulator, "predictor", None)
        if make is None:
            return None
        try:
            return make(np.asarray(R, dtype=float), tracer, tuple(quantities))
        except ValueError:  # e.g. a CNN emulator, or quantities it lacks: the general path
            return None

    def R_range(self, tracer):
        lo, hi = self.emulator.R_range(tracer)
        return float(lo), float(hi)

    def check(self, tracer, mass, anisotropy, quantities):
        """Raise ``ValueError`` if the emulator cannot represent this model."""
        absent = [q for q in quantities if q not in self.quantities]
        if absent:
            raise ValueError(
                f"emulator '{self.name}' provides {list(self.quantities)}, not {absent}; "
                f"fit proper motions with forward='exact'"
            )
        try:
            self.emulator.features(tracer, mass, anisotropy)
        except (TypeError, ValueError, AttributeError) as err:
            raise ValueError(f"emulator '{self.name}' cannot represent this model: {err}") from err

    def describe(self) -> dict:
        emu = self.emulator
        return {"name": self.name, "input_names": list(emu.input_names),
                "bounds": {k: [float(a), float(b)] for k, (a, b) in dict(emu.bounds).items()},
                "quantities": list(self.quantities)}


def evaluation_grid(R, R_range, n: int) -> np.ndarray:
    """The log grid of ``n`` radii (kpc) on which a forward model is run for data at
    projected radii ``R``: from the smallest positive radius to the largest, clipped to
    the forward model's ``R_range``; a small grid (x/÷ 1.5) around a single radius.

    Example
    -------
    >>> evaluation_grid(np.array([0.0, 0.1, 2.0]), (0.02, 1.0), 3)
    array([0.1       , 0.31622777, 1.        ])
    """
    R = np.asarray(R, dtype=float)
    lo, hi = max(float(R[R > 0].min()), R_range[0]), min(float(R.max()), R_range[1])
    if not hi > lo * (1 + 1e-6):
        lo, hi = lo / 1.5, lo * 1.5
    return log_grid(lo, hi, n)


def resolve_forward(forward="exact") -> ForwardModel:
    """The forward model for ``forward``.

    Parameters
    ----------
    forward : "exact", an emulator name or folder, an emulator object, or a forward model
        ``"exact"`` is the exact engine with :meth:`JeansConfig.fast` settings; a
        :class:`~dynamicall.jeans.JeansConfig` is the exact engine with those settings;
        any other string is loaded with :func:`dynamicall.emulate.load`.

    Returns
    -------
    ForwardModel
        An :class:`ExactForward` or an :class:`EmulatorForward`.

    Example
    -------
    >>> from dynamicall.jeans import JeansConfig
    >>> resolve_forward(JeansConfig()).config.step
    0.04
    """
    if isinstance(forward, (ExactForward, EmulatorForward)):
        return forward
    if forward is None or (isinstance(forward, str) and forward.lower() == "exact"):
        return ExactForward()
    if isinstance(forward, JeansConfig):
        return ExactForward(forward)
    if isinstance(forward, (str, os.PathLike)):
        try:
            from ..emulate import load
        except ImportError as err:
            raise ImportError(
                f"forward={forward!r} names an emulator, but dynamicall.emulate cannot be "
                f"imported ({err}); use forward='exact'"
            ) from err
        return EmulatorForward(load(forward), name=os.fspath(forward))
    return EmulatorForward(forward)
