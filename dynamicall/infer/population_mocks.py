"""Mock populations: N mock dwarfs drawn from a stated hyper-truth, for
:class:`~dynamicall.infer.population.PopulationModel`.

:func:`mock_population` draws each galaxy's size, star count and velocity errors from a
survey kind (classical dwarfs or ultra-faints, :data:`KINDS`), its pooled halo sites from
the hyper-truth exactly as the population model does (normal, optionally with a linear
trend in a galaxy property, truncated to the galaxy's single-galaxy prior box: with the
default ``bounds_forward`` the domain of the shipped emulator ``zhao_bvh_plummer_v3``, so
that the same mocks can be fitted with the emulator or the exact engine), and its stars with
the single-galaxy generator :func:`dynamicall.infer.mocks.dwarf_mock` (exact Jeans
dispersions). :func:`write_population` writes the catalogues (ECSV, readable by
``dynamicall fit``) and ``truths.json`` into one folder, as a set.

Example
-------
>>> import jax
>>> jax.config.update("jax_enable_x64", True)
>>> pop = mock_population(n_galaxies=2, seed=3, n_stars=(30, 40), bounds_forward="exact")
>>> [len(t) for t in pop["catalogs"]], sorted(pop["truths"])
([31, 32], ['galaxies', 'hyper_truth', 'settings'])
"""

from __future__ import annotations

import numpy as np

from .spec import MASS_SITE

#: Survey kinds: R_half (kpc, log-uniform), stars per galaxy (uniform integers), velocity
#: errors (km/s, uniform per star), like the classical and the ultra-faint dwarfs.
KINDS = {
    "classical": dict(R_half=(0.2, 1.0), n_stars=(200, 2000), v_err=(1.0, 3.0)),
    "ultra-faint": dict(R_half=(0.02, 0.1), n_stars=(20, 100), v_err=(2.0, 5.0)),
}
#: Default hyper-truth: per pooled site, the population mean and scatter (and a slope
#: with ``trend``). gamma: mildly cusped; log10 M(<1.8 R_half) [Msun]; log10 r_s [kpc].
HYPER_TRUTH = {
    "halo.gamma": {"mean": 0.8, "scatter": 0.2},
    MASS_SITE: {"mean": 7.4, "scatter": 0.3},
    "halo.log10_r_s": {"mean": 0.0, "scatter": 0.2},
}
#: Per-galaxy values of the sites that are not pooled (Zhao alpha, beta; Baes-van Hese
#: anisotropy with r_a = 1.2 R_half, or a constant beta).
FIXED_TRUTH = {"halo.alpha": 1.0, "halo.beta": 4.0, "anisotropy.beta_0": 0.0,
               "anisotropy.beta_inf": 0.4, "anisotropy.eta": 2.0, "anisotropy.beta": 0.1}
#: Galaxy property of a trend: log10 stellar mass [Msun], uniform in this range.
PROPERTY_RANGE = (5.0, 7.0)


def mock_population(hyper_truth=None, n_galaxies: int = 8, seed: int = 0, *, kind="classical",
                    n_stars=None, R_half=None, v_err=None, halo="zhao", anisotropy="baes-van-hese",
                    trend=None, property_range=PROPERTY_RANGE, bounds_forward="zhao_bvh_plummer_v3",
                    truth=None):
    """Draw a mock population.

    Parameters
    ----------
    hyper_truth : dict, optional
        Pooled site -> {"mean", "scatter"(, "slope")} (default :data:`HYPER_TRUTH`). The
        mean is at the mean property of the population when there is a trend.
    n_galaxies : int
        Number of galaxies (>= 1).
    seed : int
        Random seed of everything drawn.
    kind : {"classical", "ultra-faint", "mixed"}
        Survey kind (:data:`KINDS`); "mixed" alternates the two.
    n_stars, R_half, v_err : (low, high), optional
        Override the kind's ranges: stars per galaxy (integers), R_half (kpc, log-uniform),
        velocity errors (km/s).
    halo, anisotropy : str
        Families of every galaxy (``ModelSpec`` names).
    trend : str, optional
        Name of a galaxy property (e.g. ``"log10_m_star"``), drawn uniform in
        ``property_range`` and written to each catalogue's metadata; the hyper-truth's
        slopes apply to it.
    bounds_forward : str
        Forward model whose single-galaxy prior box truncates the pooled sites (default the
        shipped emulator's domain; "exact" for the default prior boxes).
    truth : dict, optional
        Values of the sites that are not pooled (default :data:`FIXED_TRUTH`); ``v_sys``
        is drawn uniform in (-100, 300) km/s.

    Returns
    -------
    dict with ``catalogs`` (astropy Tables, metadata ``name``, ``R_half``, ``truth``,
    ``population_truth``, the property) and ``truths`` (JSON-ready: ``hyper_truth``,
    ``galaxies`` label -> truth, ``settings``).

    Raises
    ------
    ValueError
        Bad counts, ranges, kinds or hyper-truth entries.
    """
    from .mocks import dwarf_mock
    from .population import HYPER, truncated_normal_from_z
    from .priors import support_bounds
    from .spec import ModelSpec

    hyper = {k: dict(v) for k, v in (HYPER_TRUTH if hyper_truth is None else hyper_truth).items()}
    if int(n_galaxies) != n_galaxies or n_galaxies < 1:
        raise ValueError(f"n_galaxies must be an integer >= 1; got {n_galaxies!r}")
    n_galaxies = int(n_galaxies)
    if kind not in (*KINDS, "mixed"):
        raise ValueError(f"kind must be one of {[*KINDS, 'mixed']}; got {kind!r}")
    for site, entry in hyper.items():
        if "mean" not in entry or "scatter" not in entry:
            raise ValueError(f"hyper_truth[{site!r}] needs 'mean' and 'scatter'; got {entry}")
        if not float(entry["scatter"]) > 0:
            raise ValueError(f"hyper_truth[{site!r}]['scatter'] must be > 0; got {entry['scatter']}")
        if "slope" in entry and trend is None:
            raise ValueError(f"hyper_truth[{site!r}] has a slope but no trend property is named (trend=...)")
    rng = np.random.default_rng(seed)
    kinds = [kind if kind != "mixed" else ("classical", "ultra-faint")[i % 2] for i in range(n_galaxies)]

    def rng_range(name, override, k):
        lo, hi = override if override is not None else KINDS[k][name]
        if not (np.isfinite(lo) and np.isfinite(hi) and 0 < lo <= hi):
            raise ValueError(f"{name} range must be 0 < low <= high; got {(lo, hi)}")
        return float(lo), float(hi)

    sizes, counts, errors = [], [], []
    for k in kinds:
        lo, hi = rng_range("R_half", R_half, k)
        sizes.append(float(np.exp(rng.uniform(np.log(lo), np.log(hi)))))
        lo, hi = rng_range("n_stars", n_stars, k)
        counts.append(int(rng.integers(int(lo), int(hi) + 1)))
        errors.append(rng_range("v_err", v_err, k))
    x = rng.uniform(*property_range, n_galaxies) if trend else None
    x_ref = float(np.mean(x)) if trend else None
    fixed = dict(FIXED_TRUTH if truth is None else truth)
    catalogs, galaxies = [], {}
    for i in range(n_galaxies):
        label = f"galaxy{i:02d}"
        spec = ModelSpec("plummer", halo, anisotropy, R_half=sizes[i], forward=bounds_forward,
                         parameterization="enclosed_mass")
        values = {}
        for site in spec.sites:
            p = spec.parameter(site)
            if site in hyper:
                e = hyper[site]
                mean = float(e["mean"]) + (float(e.get("slope", 0.0)) * (x[i] - x_ref) if trend else 0.0)
                lo, hi = support_bounds(p.prior)
                values[site] = float(truncated_normal_from_z(rng.standard_normal(), mean, float(e["scatter"]), lo, hi))
            elif site in fixed:
                values[site] = float(fixed[site])
            elif site == "anisotropy.log10_r_a":
                values[site] = float(np.log10(1.2 * sizes[i]))
            else:
                raise ValueError(f"no truth for {site}: give it in truth={{...}}")
        unknown = sorted(set(hyper) - set(spec.sites))
        if unknown:
            raise ValueError(f"hyper_truth names {unknown}, not free sites of the galaxy model {list(spec.sites)}")
        native = {k: float(v) for k, v in spec.native_values(values).items()}
        v_sys = float(rng.uniform(-100.0, 300.0))
        dwarf_truth = {**{k: v for k, v in values.items() if k != MASS_SITE}, **native, "v_sys": v_sys}
        table = dwarf_mock(n_stars=counts[i], seed=int(rng.integers(2**31)), halo=halo, anisotropy=anisotropy,
                           truth=dwarf_truth, R_half=sizes[i], v_err=errors[i])
        table.meta["name"] = label
        table.meta["kind"] = kinds[i]
        if trend:
            table.meta[trend] = float(x[i])
        table.meta["population_truth"] = hyper
        catalogs.append(table)
        galaxies[label] = {k: v for k, v in table.meta["truth"].items()} | {
            "R_half_kpc": sizes[i], "n_stars": counts[i], "v_err_range_kms": list(errors[i]), "kind": kinds[i],
            **({trend: float(x[i])} if trend else {})}
    truths = dict(
        hyper_truth=hyper,
        galaxies=galaxies,
        settings=dict(n_galaxies=n_galaxies, seed=int(seed), kind=kind, halo=halo, anisotropy=anisotropy,
                      trend=None if not trend else dict(property=trend, x_ref=x_ref, range=list(property_range)),
                      bounds_forward=str(bounds_forward), hyper_sites=sorted(
                          f"{HYPER}:{s}.{k}" for s, e in hyper.items() for k in e)),
    )
    return dict(catalogs=catalogs, truths=truths)


def write_population(population: dict, out_dir, overwrite: bool = False) -> dict:
    """Write a :func:`mock_population` to ``out_dir``: ``<name>.ecsv`` per galaxy and
    ``truths.json``, as one set (:func:`dynamicall._durable.staged_folder`; a folder that
    holds files is refused unless ``overwrite``).

    Returns
    -------
    dict name -> path of each file written.
    """
    import json
    import pathlib

    from .._durable import staged_folder, write_text
    from ..mock import write_catalog

    out_dir = pathlib.Path(out_dir)
    names = {}
    with staged_folder(out_dir, overwrite=overwrite) as stage:
        for table in population["catalogs"]:
            name = f"{table.meta['name']}.ecsv"
            write_catalog(table, stage / name)
            names[table.meta["name"]] = name
        write_text(stage / "truths.json", json.dumps(population["truths"], indent=2, default=float) + "\n")
        names["truths"] = "truths.json"
    return {k: str(out_dir / v) for k, v in names.items()}
