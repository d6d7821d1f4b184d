"""Option helpers shared by the commands: one spelling for each option, one parser for
quantities and prior values.

* :func:`add_R_half` adds ``--R-half`` (alias ``--r-half``); ``mock`` and ``forecast``
  take the number of stars as ``--n-stars`` (``mock`` keeps ``--n`` as an alias).
* :func:`quantity` reads a number (internal units) or a value with a unit; it is
  :func:`dynamicall.units.parse_quantity`, the one quantity parser.
* :func:`parse_site_values` reads ``SITE=VALUE`` priors and truths, :func:`parse_value`
  one value, :func:`stellar_mass` the ``--stellar-mass`` option.

Example
-------
>>> parse_site_values(["halo.gamma=0,1", "anisotropy.beta=0.2"])
{'halo.gamma': (0.0, 1.0), 'anisotropy.beta': 0.2}
>>> quantity("250 pc", "length")
0.25
"""

from __future__ import annotations

import argparse

from ..units import parse_quantity


class OptionValueError(argparse.ArgumentTypeError, ValueError):
    """A bad option value: argparse prints its message as is (exit status 2), and code
    that catches ``ValueError`` sees one too."""


def quantity(text, kind: str | None = None):
    """A number (internal units) or quantity from the command line; with ``kind``, a float
    in that kind's internal unit. See :func:`dynamicall.units.parse_quantity`.

    Example
    -------
    >>> quantity("0.25kpc").unit
    Unit("kpc")
    """
    try:
        return parse_quantity(text, kind)
    except ValueError as err:
        raise OptionValueError(str(err)) from None


def length(text):
    """``argparse`` type: a length in kpc (``"250 pc"``, ``"0.25"``)."""
    return quantity(text, "length")


def error_spec(text: str):
    """A per-star error: one value, or a ``LOW,HIGH`` range drawn uniformly.

    Example
    -------
    >>> error_spec("1,3")
    (1.0, 3.0)
    """
    parts = str(text).split(",")
    if len(parts) == 1:
        return quantity(parts[0])
    if len(parts) == 2:
        return tuple(quantity(p) for p in parts)
    raise OptionValueError(f"an error must be VALUE or LOW,HIGH; got {text!r}")


def add_R_half(p, default=None, help=None, dest="R_half", **kwargs):
    """Add ``--R-half`` (alias ``--r-half``; ``args.R_half`` unless ``dest``): the tracer's
    projected half-light radius, a length such as ``'250 pc'`` (kept as text unless a
    ``type`` is given; read it with :func:`length`)."""
    p.add_argument("--R-half", "--r-half", dest=dest, default=default,
                   help=help or "projected half-light radius of the tracer, e.g. '250 pc' "
                                "(default: catalogue metadata)", **kwargs)


def parse_site_values(items, what="prior"):
    """``["halo.gamma=0,1", "anisotropy.beta=0.2", "halo.r_s=1 kpc", "v_sys=normal:110,5"]``
    -> dict of priors: (lo, hi) bounds, numbers, Quantities or numpyro distributions.

    Raises
    ------
    ValueError
        An item without ``=``, or a value none of the forms above (named, with the fix).
    """
    out = {}
    for item in items or ():
        if "=" not in item:
            raise ValueError(f"--{what} {item!r}: expected SITE=VALUE, e.g. halo.gamma=0,1")
        site, text = (s.strip() for s in item.split("=", 1))
        if not site:
            raise ValueError(f"--{what} {item!r}: the site name before '=' is empty")
        out[site] = parse_value(site, text)
    return out


def parse_value(site, text):
    """One prior or truth value: ``normal:MU,SIGMA``, ``LOWER,UPPER``, a number or a
    quantity (``1 kpc``).

    Example
    -------
    >>> parse_value("halo.gamma", "0,1")
    (0.0, 1.0)
    """
    form = "a number, LOWER,UPPER, normal:MU,SIGMA or a quantity such as '1 kpc'"
    if text.lower().startswith("normal:"):
        import numpyro.distributions as dist

        try:
            mu, sigma = (float(x) for x in text.split(":", 1)[1].split(","))
        except ValueError:
            raise ValueError(f"{site}={text!r}: write normal:MU,SIGMA, e.g. normal:110,5") from None
        if not sigma > 0:
            raise ValueError(f"{site}={text!r}: the width SIGMA must be > 0")
        return dist.Normal(mu, sigma)
    if "," in text:
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 2:
            raise ValueError(f"{site}={text!r}: bounds are LOWER,UPPER")
        try:
            return (float(parts[0]), float(parts[1]))
        except ValueError:
            raise ValueError(f"{site}={text!r}: bounds LOWER,UPPER must be numbers") from None
    try:
        return parse_quantity(text)
    except ValueError:
        raise ValueError(f"{site}={text!r}: expected {form}") from None


def stellar_mass(text):
    """The ``--stellar-mass`` option: ``None``, a mass in Msun or ``normal:MU,SIGMA`` on
    its log10.

    Example
    -------
    >>> stellar_mass("1e6")
    1000000.0
    """
    if text is None:
        return None
    return parse_value("stellar-mass", text)
