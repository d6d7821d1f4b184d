"""Flax NNX networks of the emulators: an MLP and a 1D-CNN encoder + MLP.

Both map normalised dimensionless inputs (and, for the CNN, the tracer's profile sampled
on a log grid) to normalised outputs on the emulator's radial grid. They are built from
an ``architecture`` mapping stored in the emulator's ``card.json``, so loading an emulator
needs no training code.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

ACTIVATIONS = {
    "silu": jax.nn.silu,
    "gelu": jax.nn.gelu,
    "tanh": jnp.tanh,
    "softplus": jax.nn.softplus,
    "relu": jax.nn.relu,
}


def _activation(name: str):
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}; got {name!r}")
    return ACTIVATIONS[name]


class MLP(nnx.Module):
    """Fully connected network: ``depth`` hidden layers of ``width`` units.

    Parameters
    ----------
    n_in, n_out : int
        Input and output sizes.
    width, depth : int
        Hidden layer width and number of hidden layers.
    activation : str
        One of :data:`ACTIVATIONS`.
    rngs : nnx.Rngs
        Initialisation randomness.

    Example
    -------
    >>> net = MLP(8, 32, width=16, depth=2, rngs=nnx.Rngs(0))
    >>> net(jnp.zeros((5, 8))).shape
    (5, 32)
    """

    def __init__(self, n_in, n_out, *, width=256, depth=4, activation="silu", rngs):
        self.act = _activation(activation)
        sizes = [n_in] + [width] * depth
        self.hidden = nnx.List([nnx.Linear(a, b, rngs=rngs) for a, b in zip(sizes[:-1], sizes[1:])])
        self.out = nnx.Linear(sizes[-1], n_out, rngs=rngs)

    def __call__(self, x):
        for layer in self.hidden:
            x = self.act(layer(x))
        return self.out(x)


class CNNMLP(nnx.Module):
    """1D convolutional encoder of the tracer profile + MLP head (after Simon, Cappellari
    et al.).

    The encoder turns the tracer's profile sampled on a log grid (e.g. log surface density
    or log nu, normalised) into ``n_features`` numbers; the head takes them concatenated
    with the mass and anisotropy inputs. Called on one vector ``[scalars, profile]`` it
    runs both; for repeated calls with a fixed tracer (an MCMC with fixed photometry)
    compute :meth:`encode` once and call :meth:`head`.

    Parameters
    ----------
    n_in : int
        Number of scalar (mass and anisotropy) inputs.
    n_profile : int
        Length of the sampled tracer profile.
    n_out : int
        Output size.
    channels : tuple of int
        Channels of the convolution layers (each halves the length with stride 2).
    kernel : int
        Convolution kernel size.
    n_features : int
        Size of the encoder output.
    width, depth, activation :
        Of the MLP head.

    Example
    -------
    >>> net = CNNMLP(6, 32, 32, channels=(4, 8), n_features=8, width=16, depth=2, rngs=nnx.Rngs(0))
    >>> feats = net.encode(jnp.zeros((3, 32)))
    >>> net.head(feats, jnp.zeros((3, 6))).shape
    (3, 32)
    >>> bool(jnp.allclose(net(jnp.zeros((3, 38))), net.head(feats, jnp.zeros((3, 6)))))
    True
    """

    def __init__(self, n_in, n_profile, n_out, *, channels=(16, 32), kernel=5, n_features=16,
                 width=256, depth=3, activation="silu", rngs):
        self.act = _activation(activation)
        self.n_in = n_in
        chans = [1] + list(channels)
        self.convs = nnx.List([
            nnx.Conv(a, b, kernel_size=(kernel,), strides=(2,), padding="SAME", rngs=rngs)
            for a, b in zip(chans[:-1], chans[1:])
        ])
        length = n_profile
        for _ in channels:
            length = -(-length // 2)
        self.features = nnx.Linear(length * chans[-1], n_features, rngs=rngs)
        self.mlp = MLP(n_in + n_features, n_out, width=width, depth=depth, activation=activation, rngs=rngs)

    def encode(self, profile):
        """Encoder features (..., n_features) of normalised profiles (..., n_profile)."""
        batch = profile.shape[:-1]
        h = profile.reshape((-1, profile.shape[-1], 1))
        for conv in self.convs:
            h = self.act(conv(h))
        h = h.reshape((h.shape[0], -1))
        return self.act(self.features(h)).reshape(batch + (-1,))

    def head(self, features, x):
        """Outputs from encoder features and normalised scalar inputs."""
        return self.mlp(jnp.concatenate([features, x], axis=-1))

    def __call__(self, x):
        """Outputs from ``x = [scalars (n_in), profile (n_profile)]``."""
        return self.head(self.encode(x[..., self.n_in :]), x[..., : self.n_in])


def split_abstract(architecture: dict):
    """(graphdef, abstract state) of a network without initialising it (no compilation:
    loading an emulator only fills this structure with its stored arrays)."""
    return nnx.split(nnx.eval_shape(lambda: build(architecture)))


def initial_state(architecture: dict, seed: int = 0):
    """(graphdef, state) of a freshly initialised network.

    Kernels are drawn from N(0, 1 / fan_in) (LeCun normal) and biases set to zero with
    NumPy: initialising eagerly in JAX would compile one small program per parameter
    shape, which costs seconds on CPU.
    """
    import numpy as np

    graphdef, abstract = split_abstract(architecture)
    rng = np.random.default_rng(seed)
    filled = []
    for path, var in nnx.to_flat_state(abstract):
        shape = tuple(var.get_value().shape)
        if path[-1] == "kernel":
            fan_in = int(np.prod(shape[:-1]))
            value = rng.normal(0.0, 1.0 / np.sqrt(fan_in), shape)
        else:
            value = np.zeros(shape)
        filled.append((path, var.replace(jnp.asarray(value, dtype=var.get_value().dtype))))
    return graphdef, nnx.from_flat_state(filled)


def build(architecture: dict, seed: int = 0):
    """The network described by an ``architecture`` mapping (as stored in card.json).

    Example
    -------
    >>> net = build({"family": "mlp", "n_in": 8, "n_out": 32, "width": 16, "depth": 2,
    ...              "activation": "silu"})
    >>> type(net).__name__
    'MLP'
    """
    arch = dict(architecture)
    family = arch.pop("family")
    rngs = nnx.Rngs(seed)
    if family == "mlp":
        return MLP(arch.pop("n_in"), arch.pop("n_out"), rngs=rngs, **arch)
    if family == "cnn_mlp":
        arch["channels"] = tuple(arch.get("channels", (16, 32)))
        return CNNMLP(arch.pop("n_in"), arch.pop("n_profile"), arch.pop("n_out"), rngs=rngs, **arch)
    raise ValueError(f"architecture family must be 'mlp' or 'cnn_mlp'; got {family!r}")
