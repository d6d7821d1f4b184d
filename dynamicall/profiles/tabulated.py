r"""A non-parametric tracer from a tabulated (or binned) surface-density profile.

The table is represented by a sum of concentric Gaussians with non-negative weights (a
one-dimensional multi-Gaussian expansion, Emsellem, Monnet & Bacon 1994; Cappellari
2002), fitted by non-negative least squares on fixed, log-spaced widths:

.. math::
   \Sigma(R) = \sum_k \frac{M_k}{2\pi s_k^2} e^{-R^2/2s_k^2},\qquad
   \rho(r) = \sum_k \frac{M_k}{(2\pi)^{3/2} s_k^3} e^{-r^2/2s_k^2},\quad M_k \ge 0.

Each Gaussian deprojects exactly, so the deprojection is smooth, positive and monotone
(decreasing) by construction, and its only error is the fit of the table: the
residuals of :func:`fit_surface_density` bound the error of Sigma; the error of rho, a
derivative of the data, is larger (for a Sersic n = 2 table of 30 points over
[0.01, 10] R_e, about 1e-3 in Sigma and a few 1e-2 in rho inside [0.05, 3] R_e; measured
in ``tests/test_tracers.py`` and docs/tracers.md). Mass, projected mass and potential are
closed forms.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erf, gammainc

from .._pytree import parameter, pytree_dataclass, static
from ..units import G
from .base import Profile


@pytree_dataclass
class Tabulated(Profile):
    r"""Tracer given by a multi-Gaussian fit of a tabulated surface density.

    Build it with :func:`fit_surface_density` (or :meth:`from_table`); the table's shape
    is fixed (static fields), its total mass ``m_tot`` and radial scale ``r_s`` are
    parameters (``r_s`` is the projected half-light radius when the widths come from
    :func:`fit_surface_density`).

    Parameters
    ----------
    m_tot : float or Quantity
        Total mass (or luminosity), Msun (> 0).
    r_s : float or Quantity
        Scale radius, kpc (> 0): the Gaussian widths are ``widths * r_s``.
    weights : tuple of float
        Mass fractions of the Gaussians (>= 0, normalised to sum 1 internally).
    widths : tuple of float
        Gaussian dispersions in units of ``r_s`` (> 0).

    Example
    -------
    >>> t = Tabulated(m_tot=1.0, r_s=1.0, weights=(1.0,), widths=(1.0,))
    >>> round(float(t.projected_mass(1.0)), 12) == round(1 - float(np.exp(-0.5)), 12)
    True
    """

    m_tot: float = parameter(kind="mass", lower=0)
    r_s: float = parameter(kind="length", lower=0)
    weights: tuple = static()
    widths: tuple = static()

    cheap_mass = True

    def _validate(self):
        w, s = np.asarray(self.weights, float), np.asarray(self.widths, float)
        if w.ndim != 1 or w.shape != s.shape or w.size == 0:
            raise ValueError("Tabulated.weights and Tabulated.widths must be 1D tuples of the same length")
        if np.any(~np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
            raise ValueError("Tabulated.weights must be finite, >= 0 and not all zero")
        if np.any(~np.isfinite(s)) or np.any(s <= 0):
            raise ValueError("Tabulated.widths must be finite and > 0")

    def _parts(self, x):
        w = np.asarray(self.weights, float)
        frac = jnp.asarray(w / w.sum(), x.dtype)
        s = self.r_s * jnp.asarray(np.asarray(self.widths, float), x.dtype)
        return self.m_tot * frac, s, x[..., None]

    def density(self, r):
        r, _ = self._radius(r)
        m, s, x = self._parts(r)
        return jnp.sum(m / ((2.0 * np.pi) ** 1.5 * s**3) * jnp.exp(-0.5 * (x / s) ** 2), axis=-1)

    def surface_density(self, R):
        R, _ = self._radius(R)
        m, s, x = self._parts(R)
        return jnp.sum(m / (2.0 * np.pi * s**2) * jnp.exp(-0.5 * (x / s) ** 2), axis=-1)

    def mass(self, r):
        r, _ = self._radius(r)
        m, s, x = self._parts(r)
        return jnp.sum(m * gammainc(1.5, 0.5 * (x / s) ** 2), axis=-1)

    def projected_mass(self, R):
        R, _ = self._radius(R)
        m, s, x = self._parts(R)
        return jnp.sum(-m * jnp.expm1(-0.5 * (x / s) ** 2), axis=-1)

    def potential(self, r):
        r, _ = self._radius(r)
        m, s, x = self._parts(r)
        return -G * jnp.sum(m * erf(x / (np.sqrt(2.0) * s)), axis=-1) / r

    def total_mass(self):
        return self.m_tot * jnp.ones(())

    @classmethod
    def from_table(cls, R, Sigma, Sigma_err=None, **kwargs) -> "Tabulated":
        """The tracer fitted to a table: ``fit_surface_density(...)[0]``."""
        return fit_surface_density(R, Sigma, Sigma_err, **kwargs)[0]


def fit_surface_density(R, Sigma, Sigma_err=None, *, n_gauss=None, m_tot=None):
    """Fit a tabulated surface density with non-negative Gaussians (see the module).

    Parameters
    ----------
    R : array or Quantity
        Projected radii of the table (bin centres for a binned profile), kpc (> 0).
    Sigma : array
        Surface density at ``R`` (> 0; any unit: only its shape matters for a tracer,
        its integral sets ``m_tot`` unless given).
    Sigma_err : array, optional
        1-sigma errors of ``Sigma`` (> 0); default 1 % of ``Sigma`` (a relative fit).
    n_gauss : int, optional
        Number of Gaussians, log-spaced in width from ``R.min() / 2`` to ``2 R.max()``;
        default 5 per decade of radius (at least 8).
    m_tot : float, optional
        Total mass of the tracer (Msun); default the fitted integral of ``Sigma``.

    Returns
    -------
    profile : Tabulated
        With ``r_s`` its projected half-light radius.
    info : dict
        ``max_rel_residual`` and ``rms_rel_residual`` of the fit at the table's radii,
        ``chi2`` (with ``Sigma_err``), ``n_gauss``, ``n_used`` (non-zero weights).

    Example
    -------
    An exponential disc of scale length 0.2 kpc tabulated out to 5 scale lengths is fitted to
    ~1e-3 (out to 15 scale lengths, where Sigma has fallen by 3e6, the worst point of the
    Gaussian sum is off by ~25 %: far exponential tails need a table that stops earlier, or
    its errors given as ``Sigma_err``):

    >>> R = np.geomspace(0.01, 1.0, 25)
    >>> tracer, info = fit_surface_density(R, np.exp(-R / 0.2))
    >>> info["max_rel_residual"] < 2e-3
    True
    """
    from scipy.optimize import brentq, nnls

    from ..units import to_kpc

    R = np.asarray(to_kpc(R), dtype=float).ravel()
    Sigma = np.asarray(getattr(Sigma, "value", Sigma), dtype=float).ravel()
    if R.size < 3 or R.shape != Sigma.shape:
        raise ValueError(f"R and Sigma must be 1D arrays of the same length >= 3; got {R.shape}, {Sigma.shape}")
    if np.any(~np.isfinite(R)) or np.any(R <= 0):
        raise ValueError("R must be finite and > 0 (kpc)")
    if np.any(~np.isfinite(Sigma)) or np.any(Sigma <= 0):
        raise ValueError("Sigma must be finite and > 0 (a tracer's surface density)")
    if Sigma_err is None:
        err = 0.01 * Sigma
    else:
        err = np.broadcast_to(np.asarray(getattr(Sigma_err, "value", Sigma_err), dtype=float).ravel(), Sigma.shape)
        if np.any(~np.isfinite(err)) or np.any(err <= 0):
            raise ValueError("Sigma_err must be finite and > 0")
    decades = np.log10(4.0 * R.max() / R.min())
    n = int(n_gauss) if n_gauss is not None else max(8, int(np.ceil(5 * decades)))
    if n < 1:
        raise ValueError(f"n_gauss must be >= 1; got {n_gauss}")
    s = np.geomspace(R.min() / 2.0, 2.0 * R.max(), n)
    basis = np.exp(-0.5 * (R[:, None] / s) ** 2) / (2.0 * np.pi * s**2)  # unit-mass Gaussians
    A = basis / err[:, None]
    norm = np.linalg.norm(A, axis=0)
    coef, _ = nnls(A / norm, Sigma / err, maxiter=50 * n)
    masses = coef / norm
    model = basis @ masses
    rel = model / Sigma - 1.0
    total = masses.sum()
    proj = lambda x: float(np.sum(masses * -np.expm1(-0.5 * (x / s) ** 2))) - 0.5 * total  # noqa: E731
    r_half = brentq(proj, 1e-6 * s.min(), 1e3 * s.max(), xtol=1e-14 * s.min(), rtol=1e-14)
    used = masses > 0
    profile = Tabulated(
        m_tot=float(total if m_tot is None else m_tot),
        r_s=r_half,
        weights=tuple(float(x) for x in masses[used] / total),
        widths=tuple(float(x) for x in s[used] / r_half),
    )
    info = dict(
        max_rel_residual=float(np.max(np.abs(rel))),
        rms_rel_residual=float(np.sqrt(np.mean(rel**2))),
        chi2=float(np.sum(((model - Sigma) / err) ** 2)),
        n_gauss=n,
        n_used=int(used.sum()),
    )
    return profile, info
