"""The flat layout of a model's sampled sites: one home for ravel / unravel.

NUTS (with a dense mass matrix over the tuple of sites), the Laplace start and
:func:`~dynamicall.infer.optimize.optimize` all see the unconstrained parameters as one
flat vector. :class:`SiteLayout` says where each site lives in it: the sites in sorted
order (the order numpyro ravels a dense mass block in), each site's shape (``()`` for a
scalar, ``(n_galaxies,)`` for a population's per-galaxy vector site) and its offset.
For a model of scalar sites only, column ``i`` is site ``i`` (the layout the library
always had).

Example
-------
>>> import numpy as np
>>> layout = SiteLayout({"b": (), "a": (3,)})
>>> layout.sites, layout.size, layout.offsets
(('a', 'b'), 4, (0, 3))
>>> x = layout.ravel({"a": np.array([[1.0, 2.0, 3.0]]), "b": np.array([4.0])})
>>> x.tolist()
[[1.0, 2.0, 3.0, 4.0]]
>>> {k: v.tolist() for k, v in layout.unravel(x).items()}
{'a': [[1.0, 2.0, 3.0]], 'b': [4.0]}
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np


class SiteLayout:
    """Sites (sorted), their shapes, sizes and offsets in the flat unconstrained vector.

    Parameters
    ----------
    shapes : dict
        site -> shape of one draw of the site (``()`` for a scalar).
    """

    def __init__(self, shapes: dict):
        self.sites = tuple(sorted(shapes))
        self.shapes = {s: tuple(int(n) for n in shapes[s]) for s in self.sites}
        self.sizes = tuple(math.prod(self.shapes[s]) for s in self.sites)
        self.offsets = tuple(int(o) for o in np.cumsum((0,) + self.sizes[:-1]))
        self.size = int(sum(self.sizes))

    @classmethod
    def of_priors(cls, priors: dict) -> "SiteLayout":
        """The layout of a model's ``priors()`` (site -> numpyro distribution): each
        site's shape is its distribution's batch + event shape."""
        return cls({s: tuple(p.batch_shape) + tuple(p.event_shape) for s, p in priors.items()})

    @property
    def scalar(self) -> bool:
        """True when every site is a scalar (column i is site i)."""
        return self.size == len(self.sites)

    def slice(self, site: str) -> slice:
        """The columns of ``site`` in the flat vector."""
        i = self.sites.index(site)
        return slice(self.offsets[i], self.offsets[i] + self.sizes[i])

    def names(self) -> tuple:
        """A name per flat column: the site, or ``site[i]`` for an element of a vector site."""
        out = []
        for s, n in zip(self.sites, self.sizes):
            out += [s] if self.shapes[s] == () else [f"{s}[{i}]" for i in range(n)]
        return tuple(out)

    def unravel(self, x) -> dict:
        """Flat ``x`` (..., size) -> site -> array (..., *shape) (numpy or jax, as given)."""
        xp = jnp if not isinstance(x, np.ndarray) else np
        lead = x.shape[:-1]
        return {s: xp.reshape(x[..., o:o + n], lead + self.shapes[s])
                for s, o, n in zip(self.sites, self.offsets, self.sizes)}

    def ravel(self, values: dict):
        """site -> array (chains, *shape) -> flat (chains, size)."""
        xp = np if all(isinstance(values[s], np.ndarray) for s in self.sites) else jnp
        return xp.concatenate([xp.reshape(values[s], (values[s].shape[0], -1)) for s in self.sites], axis=-1)
