r"""Distribution functions of spherical tracers by Eddington inversion.

For a tracer of density :math:`\nu(r)` in a spherical potential :math:`\Phi(r)` (any mass
model, zero at infinity), with relative potential :math:`\Psi = -\Phi` and binding energy
:math:`\mathcal{E} = \Psi - v^2/2`, the ergodic distribution function is (Eddington 1916;
Binney & Tremaine 2008, eq. 4.46b)

.. math::
    f(\mathcal{E}) = \frac{1}{\sqrt 8\,\pi^2}\left[\int_0^{\mathcal{E}}
    \frac{d^2\nu}{d\Psi^2}\frac{d\Psi}{\sqrt{\mathcal{E} - \Psi}}
    + \frac{1}{\sqrt{\mathcal{E}}}\left(\frac{d\nu}{d\Psi}\right)_{\Psi=0}\right].

The Osipkov-Merritt DF :math:`f(Q)`, :math:`Q = \mathcal{E} - L^2/(2 r_a^2)`, is the same
inversion of :math:`\nu_Q = (1 + r^2/r_a^2)\,\nu` (its anisotropy is
:math:`\beta = r^2/(r^2 + r_a^2)`).

Method. Each tabulated energy is the relative potential at a node of a uniform grid in
s = ln r, :math:`\mathcal{E}_k = \Psi(r_k)`, so the inversion integral runs over
:math:`s \ge s_k`. Writing it in s, :math:`d^2\nu/d\Psi^2\,|d\Psi| = (\nu_{ss}\varphi -
\nu_s\varphi_s)/\varphi^2\,ds` with :math:`\varphi = -d\Psi/ds = GM(r)/r` and the s-derivatives
of :math:`\nu` by automatic differentiation. Near the singular end, :math:`s = s_k + v^2`
removes the inverse square root: :math:`\mathcal{E}_k - \Psi(s) = v^2\langle\varphi\rangle`,
where :math:`\langle\varphi\rangle` is the mean of :math:`\varphi` over :math:`[s_k, s]`
(Gauss-Legendre), so nothing cancels. Farther out, potential differences come from the
cumulative integral of :math:`\varphi` on the grid (sums of positive terms) and the integrand is
integrated with the Jeans engine's interval rules (:mod:`dynamicall.jeans.engine`). The
grid stops ``outer`` e-folds beyond ``r_max``; the boundary term uses
:math:`d\nu/d\Psi` there. Between nodes, :math:`\ln f` is interpolated in s (Lagrange) and
energies are mapped to s by Newton's method on the interpolated :math:`\ln\Psi(s)`.

Accuracy (float64, ``tests/test_df.py``): 2e-14 to 3e-12 relative against the Plummer,
Osipkov-Merritt Plummer and Hernquist closed forms (tested to 1e-9) for r_E between r_min
and r_max; beyond r_max (the padding) f loses accuracy. In a core,
:math:`d^2\nu/d\Psi^2` cancels as :math:`(r/r_{core})^2`: expect ~1e-16 (r_core/r_E)^2
there. Needs float64.

Truncated tracers (King, any profile with a finite, concrete ``truncation_radius`` r_t):
the table ends exactly at r_t (``r_max`` is ignored; the grid's padding goes inward), no
orbit has E < Psi(r_t) (f = 0 there; f itself jumps from a finite value to zero at
Psi(r_t)), and the inversion integral of each energy runs over [s_k, s_t] only, where both
ends are inverse square roots (d^2 nu / ds^2 ~ (s_t - s)^{-1/2} for nu ~ (r_t - r)^{3/2}):
s = s_k + (s_t - s_k) sin^2(chi) makes the integrand smooth, integrated by Gauss-Legendre
with ``edge_nodes`` nodes (see :func:`_truncated_inversion`). Measured for a King tracer
(r_t = 30 r_c) in NFW and self-gravitating (``tests/test_king_edge.py``): the density and
sigma_r recovered from f match nu and the Jeans sigma_r to 3e-11 to 1e-8 inside r_t / 2 and
to 1.7e-5 (density) and 7e-7 (sigma_r) at 0.99-0.9999 r_t with the default step (7e-9
and 1.3e-8 at 0.99 and 0.9999 r_t with ``step=0.02``; also with Osipkov-Merritt anisotropy). The plain ln r inversion, which ran the
grid's polynomial rules across r_t, was off by 7 % at 0.5 r_t and 50 % at 0.9 r_t, which is
what made the mock sampler's envelope fail.

A DF that is negative at some energies (a tracer, mass model and anisotropy with no
physical equilibrium) is kept as computed, never clipped: building it warns with
:class:`InconsistentModelWarning` naming the energies and radii, and
:func:`is_consistent` answers the question directly.
"""

from __future__ import annotations

import dataclasses
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from ._pytree import child, is_concrete, pytree_dataclass, static
from .anisotropy import Anisotropy, Constant, OsipkovMerritt
from .jeans import engine
from .interpolate import interpolate_uniform, lagrange_basis
from .jeans.grid import JeansConfig, log_grid_for
from .profiles import Profile
from .profiles.base import concrete_value
from .quadrature import cast, float_dtype, gauss_legendre
from .units import G, to_kpc

SQRT8_PI2 = float(np.sqrt(8.0) * np.pi**2)
FOUR_PI = float(4.0 * np.pi)

__all__ = [
    "DFConfig",
    "DistributionFunction",
    "InconsistentModelWarning",
    "eddington",
    "ergodic_df",
    "is_consistent",
    "osipkov_merritt_df",
]


class InconsistentModelWarning(UserWarning):
    """The tracer, mass model and anisotropy admit no non-negative distribution function."""


@dataclasses.dataclass(frozen=True)
class DFConfig:
    """Static accuracy settings of the Eddington inversion.

    Parameters
    ----------
    step : float
        Grid spacing in ln r (also the spacing of the energy table).
    order : int
        Points of the local interpolant of the interval rules (even).
    outer : float
        E-folds of grid beyond ``r_max`` (the inversion integral needs the tracer there).
    near : float
        E-folds after each energy's radius covered by the substitution s = s_k + v^2.
    near_nodes, mean_nodes : int
        Gauss-Legendre nodes of that piece and of the mean of GM/r inside it.
    edge_nodes : int
        Gauss-Legendre nodes of the whole inversion integral of a truncated tracer (King),
        in s = s_k + (s_t - s_k) sin^2(chi), which makes both of its end points smooth.
    interp_order : int
        Points of the Lagrange interpolation of the tables between nodes (even).

    Example
    -------
    >>> DFConfig().step
    0.04
    """

    step: float = 0.04
    order: int = 12
    outer: float = 8.0
    near: float = 2.0
    near_nodes: int = 32
    mean_nodes: int = 16
    interp_order: int = 8
    edge_nodes: int = 128

    def __post_init__(self):
        if not (0 < self.step <= 0.2):
            raise ValueError(f"DFConfig.step must be in (0, 0.2]; got {self.step}")
        if self.order < 4 or self.order % 2 or self.interp_order < 2 or self.interp_order % 2:
            raise ValueError("DFConfig.order and DFConfig.interp_order must be even integers >= 4 and >= 2")
        if self.outer < 2 or self.near < 0.5:
            raise ValueError("DFConfig.outer must be >= 2 and DFConfig.near >= 0.5 (e-folds)")
        if self.near_nodes < 4 or self.mean_nodes < 4 or self.edge_nodes < 4:
            raise ValueError("DFConfig.near_nodes, DFConfig.mean_nodes and DFConfig.edge_nodes must be >= 4")


# --------------------------------------------------------------------------- helpers
def _derivatives(fn, s):
    """(d fn/ds, d^2 fn/ds^2) of an elementwise function, by forward-mode autodiff."""
    ones = jnp.ones_like(s)

    def first(x):
        return jax.jvp(fn, (x,), (ones,))[1]

    return jax.jvp(first, (s,), (ones,))


def _anisotropy_radius(anisotropy):
    """r_a of an Osipkov-Merritt model, inf for isotropy; ValueError for anything else."""
    if anisotropy is None:
        return np.inf
    if isinstance(anisotropy, OsipkovMerritt):
        return anisotropy.r_a
    if isinstance(anisotropy, Constant):
        beta = concrete_value(anisotropy.beta)
        if beta == 0.0:
            return np.inf
    if not isinstance(anisotropy, Anisotropy):
        raise TypeError(f"anisotropy must be an Anisotropy model or None, got {type(anisotropy).__name__}")
    raise ValueError(
        "distribution functions are available for isotropy (None or Constant(beta=0)) and "
        f"OsipkovMerritt(r_a); got {anisotropy!r}. Use Gaussian velocities from the Jeans "
        "dispersions (dynamicall.mock, velocities='gaussian') for other anisotropies."
    )


def _radial_range(tracer, r_min, r_max):
    if r_min is None or r_max is None:
        scale = concrete_value(tracer.scale_radius)
        if scale is None:
            raise ValueError(
                "the tracer's scale radius is traced, so give r_min and r_max (kpc) explicitly"
            )
    lo = 1e-4 * scale if r_min is None else float(to_kpc(r_min))
    hi = 1e4 * scale if r_max is None else float(to_kpc(r_max))
    if not (0 < lo < hi < np.inf):
        raise ValueError(f"need 0 < r_min < r_max < inf (kpc); got r_min={lo}, r_max={hi}")
    return lo, hi


def _truncation_radius(tracer):
    """The tracer's truncation radius (kpc) when finite and concrete (King's r_t), else None."""
    value = getattr(tracer, "truncation_radius", None)
    value = None if value is None else concrete_value(value)
    return value if value is not None and np.isfinite(value) else None


def _grid(ratio: float, config: DFConfig):
    """The static grid in t = ln(r / r_min), from 0 to ln(ratio) + outer (cached per ratio)."""
    jc = JeansConfig(step=config.step, order=config.order, inner=0.0, outer=config.outer, nodes=2)
    return log_grid_for((), np.array([1.0, ratio]), jc)


def _mass_tables(mass, grid, log_r0, dtype):
    """Enclosed mass of each component on the grid shifted by ``log_r0`` (see
    :func:`dynamicall.jeans.engine.component_masses`)."""
    return engine.component_masses(mass, grid, dtype, jnp.exp(log_r0 + cast(grid.s, dtype)))


def _tables(grid, config, tracer, mass, r_a, log_r0, dtype, truncated=False):
    """Relative potential, the DF and auxiliary tables on the grid nodes s = log_r0 + t.

    ``truncated``: the tracer ends at the grid's last node (see :func:`_truncated_inversion`).
    """
    t_nodes = cast(grid.s, dtype)
    s = log_r0 + t_nodes
    n, h = grid.n, config.step
    n_e = n - 1  # energies at every node but the last
    parts, m_parts = _mass_tables(mass, grid, log_r0, dtype)
    m_grid = sum(m_parts)
    phi = G * m_grid / jnp.exp(s)
    cum = engine.cumulative_before(phi, grid, dtype)  # int_{s_0}^{s_k} GM/r ds
    outside = engine.cumulative_after(phi, grid, dtype)  # int_{s_k}^{s_end}: no cancellation
    psi = -mass.potential(jnp.exp(s[-1:]))[0] + outside

    def mass_at(sx):
        total = 0.0
        for part, table in zip(parts, m_parts):
            if part.cheap_mass:
                total = total + part.mass(jnp.exp(sx))
            else:
                total = total + jnp.exp(interpolate_uniform(jnp.log(table), (sx - s[0]) / h, config.interp_order))
        return total

    inv_ra2 = jnp.asarray(r_a, dtype) ** -2.0

    def nu(sx):
        return tracer.density(jnp.exp(sx)) * (1.0 + jnp.exp(2.0 * sx) * inv_ra2)

    def integrand(sx, mx):
        """d^2 nu / d Psi^2 * (-dPsi/ds)."""
        rx = jnp.exp(sx)
        phx = G * mx / rx
        dphx = FOUR_PI * G * rx * rx * mass.density(rx) - phx
        nu_s, nu_ss = _derivatives(nu, sx)
        return (nu_ss * phx - nu_s * dphx) / (phx * phx)

    # near piece: s = s_k + v^2 over min(near, to the grid end) e-folds
    n_near = max(int(round(config.near / h)), config.order // 2 + 1)
    k = np.arange(n_e)
    span = np.minimum(n_near, n - 1 - k) * h
    x, w = gauss_legendre(config.near_nodes)
    v = np.sqrt(span)[:, None] * x[None, :]
    wv = cast(np.sqrt(span)[:, None] * w[None, :], dtype)
    y, wy = gauss_legendre(config.mean_nodes)
    s_near = s[:n_e, None] + cast(v * v, dtype)
    s_mean = s[:n_e, None, None] + cast((v * v)[:, :, None] * y, dtype)
    # one evaluation of the mass at all off-grid points, one of the integrand at all points
    m_off = mass_at(jnp.concatenate([s_near.ravel(), s_mean.ravel()]))
    m_near, m_mean = m_off[: s_near.size].reshape(s_near.shape), m_off[s_near.size :].reshape(s_mean.shape)
    mean_phi = jnp.sum(cast(wy, dtype) * G * m_mean / jnp.exp(s_mean), axis=-1)
    g_all = integrand(jnp.concatenate([s_near.ravel(), s]), jnp.concatenate([m_near.ravel(), m_grid]))
    g_near = 2.0 * g_all[: s_near.size].reshape(s_near.shape) / jnp.sqrt(mean_phi)
    g_nodes = g_all[s_near.size :]
    near = jnp.sum(wv * g_near, axis=-1)
    near_abs = jnp.sum(wv * jnp.abs(g_near), axis=-1)

    # far piece, s >= s_k + near: the engine's interval rules summed from there to the
    # grid end (rows of its dense operator ``after``), potential differences from ``cum``
    j = np.arange(n)
    valid = j[None, :] > k[:, None]
    dpsi = cum[None, :] - cum[:n_e, None]
    inv_sqrt = jnp.where(valid, 1.0 / jnp.sqrt(jnp.where(valid, dpsi, 1.0)), 0.0)
    weights = cast(grid.after[np.minimum(k + n_near, n - 1)], dtype)
    far = jnp.sum(weights * g_nodes * inv_sqrt, -1)
    far_abs = jnp.sum(jnp.abs(weights) * jnp.abs(g_nodes) * inv_sqrt, -1)

    # boundary term (d nu / d Psi)_end / sqrt(E - Psi_end), d nu/ds by autodiff
    nu_s_end = jax.jvp(nu, (s[-1:],), (jnp.ones((1,), dtype),))[1][0]
    boundary = (-nu_s_end / phi[-1]) / jnp.sqrt(outside[:n_e])

    f = (near + far + boundary) / SQRT8_PI2
    noise = (near_abs + far_abs + jnp.abs(boundary)) / SQRT8_PI2
    ok = (f[-1] > 0) & (f[-2] > 0)
    f_last = jnp.where(ok, f[-1] * f[-1] / jnp.where(ok, f[-2], 1.0), f[-1])
    if truncated:
        f, noise, f_last = _truncated_inversion(config, s, cum, phi, integrand, mass_at, dtype)
    return dict(
        psi=psi,
        values=jnp.concatenate([f, f_last[None]]),
        noise=jnp.concatenate([noise, noise[-1:]]),
        cumulative=cum,
        log_phi=jnp.log(phi),
    )


def _truncated_inversion(config, s, cum, phi, integrand, mass_at, dtype):
    """f at every node but the last for a tracer that ends at the grid's last node s_t.

    The tracer's density vanishes beyond r_t (King: as (r_t - r)^{3/2}), so the inversion
    integral of energy E_k = Psi(r_k) runs over [s_k, s_t] only, with an inverse square root
    at each end (1 / sqrt(E_k - Psi) at s_k, d^2 nu / ds^2 ~ (s_t - s)^{-1/2} at s_t; the
    boundary term vanishes). The substitution s = s_k + (s_t - s_k) sin^2(chi) makes the
    integrand smooth in chi; Gauss-Legendre with ``edge_nodes`` nodes. E_k - Psi(s) is the
    mean of GM/r times (s - s_k) within ``near`` e-folds (no cancellation), the difference of
    the interpolated cumulative table beyond. The last node's value (f just above Psi(r_t),
    finite: f jumps to zero there) is extrapolated from the ``interp_order`` nodes before it.

    Returns (f at nodes 0..n-2, the sum of absolute contributions, f at the last node).
    """
    n, h = s.shape[0], config.step
    n_e = n - 1
    x, w = gauss_legendre(config.edge_nodes)
    chi = 0.5 * np.pi * x
    sin2 = np.sin(chi) ** 2
    span = s[-1] - s[:n_e]  # (n_e,)
    sx = s[:n_e, None] + span[:, None] * cast(sin2, dtype)
    ds = span[:, None] * cast(0.5 * np.pi * w * np.sin(2.0 * chi), dtype)
    delta = sx - s[:n_e, None]
    # E_k - Psi(s): near, (s - s_k) <GM/r> by Gauss-Legendre; far, the cumulative table
    y, wy = gauss_legendre(config.mean_nodes)
    s_mean = s[:n_e, None, None] + delta[..., None] * cast(y, dtype)
    m_mean = mass_at(s_mean.ravel()).reshape(s_mean.shape)
    mean_phi = jnp.sum(cast(wy, dtype) * G * m_mean / jnp.exp(s_mean), axis=-1)
    c_far = interpolate_uniform(cum, (sx - s[0]) / h, config.interp_order) - cum[:n_e, None]
    gap = jnp.where(delta < config.near, delta * mean_phi, c_far)
    m_x = mass_at(sx.ravel())
    g = integrand(sx.ravel(), m_x).reshape(sx.shape)
    terms = ds * g / jnp.sqrt(gap)
    f = jnp.sum(terms, axis=-1) / SQRT8_PI2
    noise = jnp.sum(jnp.abs(terms), axis=-1) / SQRT8_PI2
    p = config.interp_order
    extrapolate = cast(lagrange_basis(np.array([float(p)]), p)[0], dtype)
    f_last = jnp.sum(extrapolate * f[n_e - p:])
    return f, noise, f_last


_tables_jit = jax.jit(_tables, static_argnums=(0, 1, 6, 7))


# ----------------------------------------------------------------------------- class
@pytree_dataclass
class DistributionFunction:
    """A tabulated distribution function f(E) (ergodic) or f(Q) (Osipkov-Merritt).

    Built by :func:`eddington`; a JAX pytree (tables are leaves), so it can be built and
    evaluated inside ``jit`` and differentiated with respect to the model parameters.
    Binding energies E (or Q) are in (km/s)^2, positive for bound orbits; f is in
    [tracer density unit] / (km/s)^3, normalised like the tracer: the integral of f over
    velocities is the tracer density.

    Attributes
    ----------
    psi : array
        Relative potential -Phi at the grid radii, (km/s)^2 (the energy table).
    values : array
        f at those energies.
    r_a : float
        Osipkov-Merritt radius (kpc); inf for an ergodic DF.
    s0 : float
        ln of the first table radius (kpc); the nodes are spaced by ``step`` in ln r.
    n_accurate : int
        Number of nodes up to ``r_max``; beyond them (the padding) f is less accurate and
        is not checked for negative values.
    truncated : bool
        The tracer ends at the last table radius (its truncation radius r_t): f = 0 below
        the last table energy Psi(r_t).

    Example
    -------
    >>> from dynamicall.profiles import Plummer
    >>> p = Plummer(m_tot=1.0, r_s=1.0)
    >>> df = eddington(p, p)
    >>> bool(df.is_consistent())
    True
    """

    psi: jnp.ndarray = child()
    values: jnp.ndarray = child()
    noise: jnp.ndarray = child()
    cumulative: jnp.ndarray = child()
    log_phi: jnp.ndarray = child()
    r_a: jnp.ndarray = child()
    s0: jnp.ndarray = child()
    step: float = static(0.04)
    interp_order: int = static(8)
    n_accurate: int = static(0)
    truncated: bool = static(False)

    # ------------------------------------------------------------------ grid
    @property
    def log_radius_grid(self) -> np.ndarray:
        """ln r of the table nodes (r in kpc)."""
        return float(np.asarray(self.s0)) + self.step * np.arange(np.shape(self.psi)[-1])

    @property
    def radius_grid(self) -> np.ndarray:
        """Radii of the table nodes (kpc); the energy table is Psi there."""
        return np.exp(self.log_radius_grid)

    @property
    def is_osipkov_merritt(self) -> bool:
        """True for an Osipkov-Merritt DF f(Q), False for an ergodic f(E) (needs concrete r_a)."""
        return bool(np.isfinite(np.asarray(self.r_a)))

    def _index(self, log_r):
        return (log_r - self.s0) / self.step

    def relative_potential(self, r):
        """Psi(r) = -Phi(r), (km/s)^2, at radii ``r`` (kpc), from the table."""
        return _relative_potential(self, jnp.asarray(to_kpc(r)))

    def _relative_potential(self, r):
        u = self._index(jnp.log(r))
        return jnp.exp(interpolate_uniform(jnp.log(self.psi), u, self.interp_order))

    def log_radius(self, energy, newton_steps: int = 5):
        """ln r_E with Psi(r_E) = ``energy``: the apocentre of a radial orbit (r in kpc).

        Newton's method on the interpolated ln Psi(ln r), with d ln Psi / d ln r =
        -GM / (r Psi) from the tables; outside the table, ln Psi is continued linearly.
        """
        lpsi = jnp.log(self.psi)
        n = lpsi.shape[-1]
        e = jnp.asarray(energy)
        target = jnp.log(jnp.where(e > 0, e, 1.0))
        k = jnp.clip(jnp.searchsorted(-lpsi, -target), 1, n - 1)
        upper, lower = lpsi[k - 1], lpsi[k]
        gap = jnp.where(upper > lower, upper - lower, 1.0)
        u = (k - 1) + jnp.clip((upper - target) / gap, 0.0, 1.0)
        def newton(_, t):  # d ln Psi / d s = -GM / (r Psi)
            val = interpolate_uniform(lpsi, t, self.interp_order)
            der = -self.step * jnp.exp(interpolate_uniform(self.log_phi, t, self.interp_order) - val)
            der = jnp.where(der < 0, der, -1.0)
            return jnp.clip(t - (val - target) / der, -1e3, n - 1 + 1e3)

        u = jax.lax.fori_loop(0, newton_steps, newton, u)
        return self.s0 + self.step * u

    def _f_at_log_radius(self, log_r):
        u = self._index(log_r)
        positive = jnp.all(self.values > 0)
        log_f = jnp.log(jnp.where(self.values > 0, self.values, 1.0))
        f = jnp.where(
            positive,
            jnp.exp(interpolate_uniform(log_f, u, self.interp_order)),
            interpolate_uniform(self.values, u, self.interp_order),
        )
        if self.truncated:  # no orbits below Psi(r_t): the tracer ends there
            f = jnp.where(u > np.shape(self.values)[-1] - 1 + 1e-9, 0.0, f)
        return f

    def __call__(self, energy):
        """f at binding energy E (ergodic) or Q (Osipkov-Merritt), (km/s)^2; 0 for E <= 0.

        Example
        -------
        >>> from dynamicall.profiles import Plummer
        >>> from dynamicall.units import G
        >>> p = Plummer(m_tot=1.0, r_s=1.0)
        >>> df = eddington(p, p)
        >>> exact = 24 * 2**0.5 / (7 * jnp.pi**3) / G**5 * (0.5 * G) ** 3.5
        >>> bool(abs(df(0.5 * G) / exact - 1) < 1e-8)
        True
        """
        return _evaluate(self, jnp.asarray(energy))

    def _evaluate(self, e):
        return jnp.where(e > 0, self._f_at_log_radius(self.log_radius(e)), 0.0)

    # --------------------------------------------------------------- moments
    @property
    def log_radius_end(self):
        """ln of the last table radius (kpc)."""
        return self.s0 + self.step * (np.shape(self.psi)[-1] - 1)

    def energy_measure(self, log_r, u):
        """The DF along energy at radius e^log_r, in the variable u with E = Psi(e^(log_r + u^2)).

        Returns ``(measure, w2)``: ``measure`` = 4 pi f(E) |dE/du| and ``w2`` = 2 (Psi(r) - E),
        the squared speed (ergodic) or |w|^2 (Osipkov-Merritt). So
        ``int measure * w2**(k/2 + 1/2) du`` = 4 pi int f w^(k+2) dw: the density for k = 0.
        The substitution removes the square-root end point at E = Psi(r).
        """
        sx = log_r + u * u
        order = self.interp_order
        c_here = interpolate_uniform(self.cumulative, self._index(log_r), order)
        w2 = 2.0 * jnp.maximum(interpolate_uniform(self.cumulative, self._index(sx), order) - c_here, 0.0)
        phi = jnp.exp(interpolate_uniform(self.log_phi, self._index(sx), order))
        return FOUR_PI * self._f_at_log_radius(sx) * phi * 2.0 * u, w2

    def velocity_moments(self, r, nodes: int = 96):
        """Velocity moments of the DF at radii ``r`` (kpc), by quadrature over energy.

        Returns
        -------
        dict
            ``density`` (the tracer density recovered from f), ``sigma_r``, ``sigma_t``
            (one tangential component), km/s, and the fourth moments ``v_r4`` =
            <v_r^4>, ``v_r2_v_t2`` = <v_r^2 v_theta^2>, ``v_t4`` = <v_theta^4>, (km/s)^4.

        Example
        -------
        >>> from dynamicall.profiles import Plummer
        >>> from dynamicall.units import G
        >>> p = Plummer(m_tot=1.0, r_s=1.0)
        >>> m = eddington(p, p).velocity_moments(1.0)
        >>> bool(abs(m["sigma_r"] ** 2 / (G / (6 * 2**0.5)) - 1) < 1e-8)
        True
        """
        return _moments(self, jnp.asarray(to_kpc(r)), int(nodes))

    def _velocity_moments(self, r, nodes):
        log_r = jnp.log(r)
        span = jnp.maximum(self.log_radius_end - log_r, 0.0)
        x, w = gauss_legendre(nodes)
        u = jnp.sqrt(span)[..., None] * x
        measure, w2 = self.energy_measure(log_r[..., None], u)
        weight = jnp.sqrt(span)[..., None] * w * measure
        m0 = jnp.sum(weight * jnp.sqrt(w2), -1)  # 4 pi int f w^2 dw
        m2 = jnp.sum(weight * w2 * jnp.sqrt(w2), -1)  # 4 pi int f w^4 dw
        m4 = jnp.sum(weight * w2 * w2 * jnp.sqrt(w2), -1)  # 4 pi int f w^6 dw
        stretch = 1.0 + jnp.exp(2.0 * log_r) * jnp.asarray(self.r_a) ** -2.0
        return dict(
            density=m0 / stretch,
            sigma_r=jnp.sqrt(m2 / (3.0 * m0)),
            sigma_t=jnp.sqrt(m2 / (3.0 * m0) / stretch),
            v_r4=m4 / (5.0 * m0),
            v_r2_v_t2=m4 / (15.0 * m0) / stretch,
            v_t4=m4 / (5.0 * m0) / stretch**2,
        )

    # ----------------------------------------------------------- consistency
    def negative(self, tolerance: float = 1e-8):
        """Boolean mask of table nodes (up to r_max) where f < 0 beyond numerical noise
        (``-tolerance`` times the sum of absolute contributions)."""
        bad = np.asarray(self.values) < -tolerance * np.asarray(self.noise)
        bad[self.n_accurate :] = False
        return bad

    def is_consistent(self, tolerance: float = 1e-8) -> bool:
        """True if f >= 0 at every tabulated energy (to numerical precision)."""
        return not bool(np.any(self.negative(tolerance)))

    def negative_ranges(self, tolerance: float = 1e-8):
        """Where f < 0: list of (E_low, E_high, r_low, r_high) for each run of table nodes,
        energies in (km/s)^2 and the radii r_E where Psi = E in kpc."""
        bad = self.negative(tolerance)
        psi, radii = np.asarray(self.psi), self.radius_grid
        runs, start = [], None
        for i, b in enumerate(np.append(bad, False)):
            if b and start is None:
                start = i
            elif not b and start is not None:
                runs.append((psi[i - 1], psi[start], radii[start], radii[i - 1]))
                start = None
        return runs

    def _warn_if_negative(self, label):
        runs = self.negative_ranges()
        if not runs:
            return
        what = "Q" if self.is_osipkov_merritt else "E"
        where = "; ".join(
            f"{what} in [{lo:.5g}, {hi:.5g}] (km/s)^2 (r_{what} in [{r_lo:.4g}, {r_hi:.4g}] kpc)"
            for lo, hi, r_lo, r_hi in runs
        )
        warnings.warn(
            f"{label}: the distribution function is negative at {where}; this combination "
            "of tracer, mass model and anisotropy has no physical equilibrium (f is kept as "
            "computed, not clipped)",
            InconsistentModelWarning,
            stacklevel=3,
        )


_evaluate = jax.jit(DistributionFunction._evaluate)
_relative_potential = jax.jit(DistributionFunction._relative_potential)
_moments = jax.jit(DistributionFunction._velocity_moments, static_argnums=2)


# --------------------------------------------------------------------------- builders
def _describe(tracer, mass, anisotropy) -> str:
    def name(p):
        comps = engine.components(p)
        return " + ".join(type(c).__name__ for c in comps)

    aniso = "isotropic" if anisotropy is None else type(anisotropy).__name__
    return f"tracer {name(tracer)} in {name(mass)} ({aniso})"


def eddington(tracer, mass, anisotropy=None, *, r_min=None, r_max=None, config: DFConfig = DFConfig(), warn: bool = True):
    """Distribution function of ``tracer`` in the potential of ``mass`` by Eddington inversion.

    Parameters
    ----------
    tracer : Profile
        Tracer density nu(r) (its normalisation sets that of f).
    mass : Profile
        Total mass model (e.g. ``halo + stars``); its potential must vanish at infinity.
    anisotropy : None, Constant(beta=0) or OsipkovMerritt
        None or beta = 0 gives the ergodic f(E); OsipkovMerritt(r_a) gives f(Q).
    r_min, r_max : float or Quantity, optional
        Radial range (kpc) of the energy table; default 1e-4 and 1e4 tracer scale radii.
        Needed explicitly when the tracer's scale radius is traced (inside ``jit``).
    config : DFConfig
        Grid and quadrature settings.
    warn : bool
        Warn (:class:`InconsistentModelWarning`) if f is negative anywhere.

    Returns
    -------
    DistributionFunction

    Raises
    ------
    ValueError
        For anisotropy models without a DF here, or a bad radial range.

    Example
    -------
    >>> from dynamicall.profiles import Hernquist
    >>> from dynamicall.anisotropy import OsipkovMerritt
    >>> h = Hernquist(m_tot=1e6, r_s=0.5)
    >>> df = eddington(h, h, OsipkovMerritt(r_a=1.0))
    >>> df.is_osipkov_merritt
    True
    """
    if not isinstance(tracer, Profile) or not isinstance(mass, Profile):
        raise TypeError("tracer and mass must be Profiles")
    r_a = _anisotropy_radius(anisotropy)
    edge = _truncation_radius(tracer)
    if edge is not None:  # the table ends exactly at r_t
        r_max = edge
    lo, hi = _radial_range(tracer, r_min, r_max)
    grid = _grid(hi / lo, config)
    dtype = jnp.dtype(float_dtype(*jax.tree_util.tree_leaves((tracer, mass, r_a))))
    if edge is not None:
        lo = edge * float(np.exp(-grid.s[-1]))
    log_r0 = jnp.log(jnp.asarray(lo, dtype))
    t = _tables_jit(grid, config, tracer, mass, r_a, log_r0, dtype, edge is not None)
    df = DistributionFunction(
        psi=t["psi"],
        values=t["values"],
        noise=t["noise"],
        cumulative=t["cumulative"],
        log_phi=t["log_phi"],
        r_a=jnp.asarray(r_a, dtype),
        s0=log_r0,
        step=float(config.step),
        interp_order=int(config.interp_order),
        n_accurate=grid.n if edge is not None else int(np.searchsorted(grid.s, np.log(hi / lo) + 1e-9, side="right")),
        truncated=edge is not None,
    )
    if warn and is_concrete(df.values):
        df._warn_if_negative(_describe(tracer, mass, anisotropy))
    return df


def ergodic_df(tracer, mass, **kwargs):
    """The isotropic f(E) of ``tracer`` in ``mass`` (see :func:`eddington`).

    Example
    -------
    >>> from dynamicall.profiles import CoreNFW, Plummer
    >>> stars = Plummer(m_tot=1e6, r_s=0.25)
    >>> df = ergodic_df(stars, CoreNFW(rho_s=1.5e7, r_s=1.4, r_c=0.25, n=1.0) + stars)
    >>> bool(df(100.0) > 0), df.is_consistent()
    (True, True)
    """
    return eddington(tracer, mass, None, **kwargs)


def osipkov_merritt_df(tracer, mass, r_a, **kwargs):
    """The Osipkov-Merritt f(Q) of ``tracer`` in ``mass`` with anisotropy radius ``r_a`` (kpc).

    Example
    -------
    >>> from dynamicall.profiles import Plummer
    >>> p = Plummer(m_tot=1.0, r_s=1.0)
    >>> osipkov_merritt_df(p, p, 2.0).is_osipkov_merritt
    True
    """
    return eddington(tracer, mass, OsipkovMerritt(r_a=r_a), **kwargs)


def is_consistent(tracer, mass, anisotropy=None, **kwargs) -> bool:
    """Whether the model has a non-negative distribution function everywhere.

    The Osipkov-Merritt Plummer sphere is consistent for r_a >= 3/4 of its scale radius
    (Dejonghe 1987; Binney & Tremaine 2008, problem 4.13).

    Example
    -------
    >>> from dynamicall.profiles import Plummer
    >>> from dynamicall.anisotropy import OsipkovMerritt
    >>> p = Plummer(m_tot=1.0, r_s=1.0)
    >>> is_consistent(p, p, OsipkovMerritt(r_a=0.8)), is_consistent(p, p, OsipkovMerritt(r_a=0.7))
    (True, False)
    """
    return eddington(tracer, mass, anisotropy, warn=False, **kwargs).is_consistent()
