"""One registry of model names: every command and library function looks families up here.

The declarations stay where the classes live (:data:`dynamicall.profiles.PROFILES`,
:data:`dynamicall.anisotropy.ANISOTROPIES`, keyed by class name); this module gives each
family one spelling for messages and the command line (the class name in lower case with
dashes between words: ``core-nfw``, ``osipkov-merritt``, ``baes-van-hese``) and accepts any
spelling that reduces to the same letters and digits (``CoreNFW``, ``corenfw``, ``Core_NFW``),
plus two short aliases (``om``, ``bvh``).

Example
-------
>>> lookup("core-nfw").__name__, lookup("bvh").__name__, lookup("NFW", "profile").__name__
('CoreNFW', 'BaesVanHese', 'NFW')
>>> spelling(lookup("corenfw"))
'core-nfw'
>>> names("anisotropy")
['constant', 'osipkov-merritt', 'baes-van-hese']
"""

from __future__ import annotations

import re

from .anisotropy import ANISOTROPIES
from .profiles import PROFILES

KINDS = ("profile", "anisotropy")

#: Short aliases (key -> class name).
ALIASES = {"om": "OsipkovMerritt", "bvh": "BaesVanHese"}


def key(name: str) -> str:
    """The comparison key of a name: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def spelling(cls) -> str:
    """The family's spelling in messages and on the command line ("core-nfw")."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "-", cls.__name__).lower()


def _table(kind: str) -> dict:
    return {"profile": PROFILES, "anisotropy": ANISOTROPIES}[kind]


def names(kind: str) -> list:
    """Spellings of every family of ``kind`` ("profile" or "anisotropy"), in declaration order."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
    return [spelling(cls) for cls in _table(kind).values()]


def lookup(name, kind: str | None = None):
    """The class of the family called ``name`` (any spelling, or an alias).

    Parameters
    ----------
    name : str or class
        A family name; a class is returned as it is.
    kind : {"profile", "anisotropy"}, optional
        Restrict the search to one kind.

    Raises
    ------
    ValueError
        For an unknown name, listing the known spellings.
    """
    if isinstance(name, type):
        return name
    kinds = KINDS if kind is None else (kind,)
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
    k = key(name)
    for kd in kinds:
        table = _table(kd)
        for cls_name, cls in table.items():
            if key(cls_name) == k:
                return cls
        if k in ALIASES and ALIASES[k] in table:
            return table[ALIASES[k]]
    listing = "; ".join(f"{kd}s: {', '.join(names(kd))}" for kd in kinds)
    raise ValueError(f"unknown model family {name!r}; {listing}")
