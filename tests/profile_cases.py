"""One case per profile family: parameters, allowed ranges and expected limits.

Every built-in family must appear here (checked by ``test_registry_complete``).
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from dynamicall._pytree import parameter, pytree_dataclass
from dynamicall.profiles import (
    NFW,
    Burkert,
    Composite,
    CoreNFW,
    Dehnen,
    Einasto,
    Hernquist,
    Plummer,
    Profile,
    Zhao,
)


@pytree_dataclass
class Isochrone(Profile):
    """A user profile with only ``density``: the Henon isochrone (closed forms known)."""

    m_tot: float = parameter(kind="mass", lower=0)
    r_s: float = parameter(kind="length", lower=0)

    def density(self, r):
        a = jnp.sqrt(self.r_s**2 + r * r)
        u, v = r / a, self.r_s / a  # ratios keep float32 from overflowing at large r
        return self.m_tot / (4 * jnp.pi * a**3) * (3 / (1 + v) ** 2 - u * u * (v + 3) / (1 + v) ** 3)


@dataclasses.dataclass
class Case:
    name: str
    cls: type
    params: dict
    inner_slope: float  # lim_{r->0} d ln M / d ln r = 3 - gamma_inner
    bad: dict  # parameter -> an invalid value
    finite_mass: bool = True
    r_inner: float = 1e-7  # in units of r_s: where the inner power law has converged
    float32_rtol: float = 2e-5
    roundoff: float = 1e-13  # agreement of the same computation compiled differently

    def make(self, **over):
        return self.cls(**{**self.params, **over})


CASES = [
    Case("Plummer", Plummer, dict(m_tot=2e6, r_s=0.3), 3.0, dict(m_tot=0.0, r_s=-1.0)),
    Case("Hernquist", Hernquist, dict(m_tot=2e6, r_s=0.3), 2.0, dict(m_tot=-1.0, r_s=0.0)),
    Case("Dehnen", Dehnen, dict(m_tot=2e6, r_s=0.3, gamma=2.5), 0.5, dict(gamma=3.0, r_s=float("nan"))),
    Case("Dehnen-core", Dehnen, dict(m_tot=2e6, r_s=0.3, gamma=0.0), 3.0, dict(gamma=-0.1)),
    Case("NFW", NFW, dict(rho_s=3e7, r_s=0.8), 2.0, dict(rho_s=0.0, r_s=-0.1), finite_mass=False),
    Case(
        "Zhao",
        Zhao,
        dict(rho_s=3e7, r_s=0.8, alpha=0.7, beta=5.5, gamma=1.3),
        1.7,
        dict(alpha=0.0, beta=2.0, gamma=3.0, rho_s=float("inf")),
    ),
    Case(
        "Zhao-beta3",
        Zhao,
        dict(rho_s=3e7, r_s=0.8, alpha=2.0, beta=3.0, gamma=0.2),
        2.8,
        dict(beta=1.5),
        finite_mass=False,
    ),
    Case("Einasto", Einasto, dict(rho_s=3e7, r_s=0.8, alpha=0.2), 3.0, dict(alpha=-0.2), r_inner=1e-40),
    Case("Burkert", Burkert, dict(rho_s=3e8, r_s=0.5), 3.0, dict(rho_s=-3.0), finite_mass=False),
    Case(
        "CoreNFW",
        CoreNFW,
        dict(rho_s=3e7, r_s=0.8, r_c=0.3, n=0.6),
        2.6,
        dict(n=1.5, r_c=0.0),
        finite_mass=False,
    ),
    # the isochrone density formula itself cancels (3 - 3 u^2) in float32 at r >> b
    Case("Isochrone(user)", Isochrone, dict(m_tot=2e6, r_s=0.3), 3.0, dict(m_tot=-2.0), float32_rtol=1e-3, roundoff=1e-11),
]


def composite_case():
    return NFW(rho_s=3e7, r_s=0.8) + Plummer(m_tot=2e6, r_s=0.3)


BUILTIN = {c.cls for c in CASES if c.cls.__module__.startswith("dynamicall")} | {Composite}

# Tracers defined by their light (Sersic, Exponential, King, Tabulated) have their own
# closed-form and identity tests in tests/test_tracers.py.
BUILTIN |= {cls for name, cls in __import__("dynamicall.profiles", fromlist=["PROFILES"]).PROFILES.items() if name in ("Sersic", "Exponential", "King", "Tabulated")}
