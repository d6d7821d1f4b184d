r"""One-parameter families of tracers that CNN emulators are trained on.

A CNN emulator (:class:`dynamicall.emulate.networks.CNNMLP`) reads the tracer's light
profile, so its training set must span many tracer shapes. A recipe draws them from a
family declared here by one dimensionless input, like any other input (see
``training/cnn_sersic_king.toml``); the network never sees that input, only the profile
it gives (``[encoder]`` in the recipe).

Every member has total mass 1 and projected half-light radius R_half = 1 (the recipes'
length unit), so its scale parameters follow from its shape.

:class:`SersicKing`, input ``shape``:

=================  ==================================================================
``shape``          tracer
=================  ==================================================================
``shape < 1``      Sersic, :math:`n = 0.5 \times 16^{\rm shape}` (n = 0.5 at 0, 1 at 0.25,
                   2 at 0.5, 4 at 0.75, 8 at 1), R_e = 1
``shape >= 1``     King (1962), concentration
                   :math:`c = \log_{10}(r_t/r_c) = 0.7 + 1.8\,({\rm shape} - 1)` (0.7 at 1,
                   2.5 at 2), r_c and r_t scaled so that R_half = 1
=================  ==================================================================

Both pieces are evaluated and one is selected with ``jnp.where`` (the King piece costs
~2 % of the Sersic deprojection), with their parameters clamped to their valid ranges so
that neither produces NaN on the other side.
"""

from __future__ import annotations

import jax.numpy as jnp

from .._pytree import parameter, pytree_dataclass
from ..profiles import King, Sersic
from ..profiles.base import Profile

#: Sersic index at shape = 0 and its growth factor per unit of shape.
SERSIC_N0, SERSIC_GROWTH = 0.5, 16.0
#: King concentration at shape = 1 and its slope per unit of shape.
KING_C0, KING_SLOPE = 0.7, 1.8


def sersic_index(shape):
    """Sersic n of a SersicKing shape (clamped to the Sersic piece, shape <= 1)."""
    return SERSIC_N0 * SERSIC_GROWTH ** jnp.minimum(shape, 1.0)


def king_concentration(shape):
    """King c = log10(r_t / r_c) of a SersicKing shape (clamped to the King piece, shape >= 1)."""
    return KING_C0 + KING_SLOPE * (jnp.maximum(shape, 1.0) - 1.0)


def shape_of_sersic(n):
    """The SersicKing shape of a Sersic index n (inverse of :func:`sersic_index`)."""
    return float(jnp.log(n / SERSIC_N0) / jnp.log(SERSIC_GROWTH))


def shape_of_king(c):
    """The SersicKing shape of a King concentration c (inverse of :func:`king_concentration`)."""
    return 1.0 + (float(c) - KING_C0) / KING_SLOPE


def unit_king(c):
    """The King profile of concentration ``c`` with total mass 1 and R_half = 1."""
    one = 0.0 * c + 1.0  # r_c = 1 as a function of c: the R_half solver's start then varies with c
    raw = King(m_tot=1.0, r_c=one, r_t=10.0**c)  # (shard_map needs loop carries of one kind)
    r_half = raw.half_light_radius()
    return King(m_tot=1.0, r_c=1.0 / r_half, r_t=10.0**c / r_half)


@pytree_dataclass
class SersicKing(Profile):
    """A Sersic (``shape < 1``) or King (``shape >= 1``) tracer with m_tot = 1 and
    R_half = 1 (see the module docstring for the map from ``shape`` to n and c).

    Parameters
    ----------
    shape : float
        The family coordinate, in [-0.5, 2.5].

    Example
    -------
    >>> import numpy as np
    >>> t = SersicKing(shape=0.25)  # Sersic n = 1 (exponential)
    >>> round(float(t.surface_density(1.0) / t.surface_density(0.0)), 6) == round(float(np.exp(-1.678347)), 6)
    True
    """

    shape: float = parameter(lower=-0.5, upper=2.5, lower_inclusive=True, upper_inclusive=True)

    scale_field = None

    @property
    def scale_radius(self):
        return jnp.ones_like(jnp.asarray(self.shape, dtype=float))

    @staticmethod
    def piece_labels(shape) -> "np.ndarray":
        """"Sersic" or "King" for each value of ``shape`` (the validation report's split)."""
        import numpy as np

        return np.where(np.asarray(shape) < 1.0, "Sersic", "King")

    def _pieces(self):
        sersic = Sersic(m_tot=1.0, R_e=1.0, n=sersic_index(self.shape))
        return sersic, unit_king(king_concentration(self.shape)), self.shape < 1.0

    def _pick(self, method, R):
        sersic, king, is_sersic = self._pieces()
        return jnp.where(is_sersic, getattr(sersic, method)(R), getattr(king, method)(R))

    def density(self, r):
        r, _ = self._radius(r)
        return self._pick("density", r)

    def mass(self, r):
        r, _ = self._radius(r)
        return self._pick("mass", r)

    def potential(self, r):
        r, _ = self._radius(r)
        return self._pick("potential", r)

    def surface_density(self, R):
        R, _ = self._radius(R)
        return self._pick("surface_density", R)

    def projected_mass(self, R):
        R, _ = self._radius(R)
        return self._pick("projected_mass", R)

    def total_mass(self):
        return jnp.ones_like(jnp.asarray(self.shape, dtype=float))


#: Tracer families a recipe may use besides :data:`dynamicall.profiles.PROFILES`.
TRACER_FAMILIES = {cls.__name__: cls for cls in (SersicKing,)}
