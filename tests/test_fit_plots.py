"""The fit's plots: units on the corner axes, the derived quantities users quote, tick
labels that never overlap, and the true profile of a mock (issue 13, "the fit's plots").

The fit is ``test_bad_input.fake_fit``: the real model with prior draws, no sampling.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from test_bad_input import catalog, fake_fit

from dynamicall.data import StarCatalog

TRUTH = {"halo.log10_rho_s": 7.6, "halo.log10_r_s": 0.0, "anisotropy.beta": 0.2, "v_sys": 50.0,
         "M_1.8_R_half": 3.06e7}


def result_for(truth=None, priors=None):
    table = catalog(80, seed=2)
    if truth:
        table.meta["truth"] = dict(truth)
    return fake_fit(StarCatalog.from_table(table), tracer="plummer", halo="nfw", anisotropy="constant",
                    forward="exact", priors=dict(priors or {}), R_half=None, stellar_mass=None,
                    likelihood=None, proper_motions=False)


@pytest.fixture(scope="module")
def result():
    return result_for(TRUTH)


def _labels(fig):
    return [ax.get_xlabel() for ax in fig.axes] + [ax.get_ylabel() for ax in fig.axes]


def test_corner_axes_have_units_and_derived_quantities(result):
    from dynamicall.infer.plots import corner_plot

    fig = corner_plot(result)
    labels = " | ".join(_labels(fig))
    assert "halo.log10_rho_s\n[log10 Msun/kpc^3]" in labels
    assert "v_sys\n[km/s]" in labels
    assert "log10 M(<1.8 R$_{1/2}$)\n[Msun]" in labels  # the mass users quote
    assert "(150 pc)" in labels
    n = int(round(np.sqrt(2 * len(fig.axes) + 0.25) - 0.5))  # lower triangle: n (n + 1) / 2 panels
    assert n == len(result.model.sites) + 3  # + M, rho(150 pc), log slope (beta is the sampled beta)


def _overlaps(boxes):
    for a, b in itertools.combinations(boxes, 2):
        if a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1:
            return (a, b)
    return None


def test_corner_tick_labels_do_not_overlap(result):
    """Every tick label of the bottom row (x) and of the first column (y), drawn, against
    every other: no two bounding boxes intersect."""
    from dynamicall.infer.plots import corner_plot

    fig = corner_plot(result)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    xs, ys = [], []
    for ax in fig.axes:
        for label in ax.get_xticklabels():
            if label.get_visible() and label.get_text():
                xs.append(label.get_window_extent(renderer))
        for label in ax.get_yticklabels():
            if label.get_visible() and label.get_text():
                ys.append(label.get_window_extent(renderer))
    assert len(xs) >= 5 and len(ys) >= 5
    assert _overlaps(xs) is None and _overlaps(ys) is None
    assert _overlaps(xs + ys) is None


def test_true_profile_is_drawn_when_the_catalogue_carries_it(result, tmp_path):
    from dynamicall.infer.plots import dispersion_plot

    fig = dispersion_plot(result, tmp_path / "s.png")
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert "truth (catalogue metadata)" in labels
    from dynamicall.infer.plots import true_dispersions

    assert true_dispersions(result_for(None), np.array([0.1, 0.3])) is None  # no truth, no curve


def test_true_profile_matches_the_forward_model(result):
    """The dashed curve is the forward model at the truth, not a stored curve."""
    from dynamicall.infer.plots import true_dispersions

    R = np.array([0.05, 0.2, 0.6])
    got = true_dispersions(result, R)
    model = result.model
    tracer, mass, anisotropy = model.spec.build({s: TRUTH[s] for s in model.spec.sites})
    want = np.asarray(model.forward.dispersions(R, tracer, mass, anisotropy, ("los",))["los"])
    np.testing.assert_allclose(got, want, rtol=1e-12)
