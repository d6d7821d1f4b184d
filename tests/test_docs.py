"""The tutorial code blocks in docs/ run as written."""

from __future__ import annotations

import pathlib
import re
import sys
import types

import pytest

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"
BLOCK = re.compile(r"<!-- tutorial -->\s*```python\n(.*?)```", re.S)


#: Tutorials left out of the fast lane (CI runs them): each took 4-25 s (2026-12-02), mostly
#: compiling; the tests named here cover the same calls in the fast lane.
HEAVY_PAGES = {
    "emulators": "train_network: tests/test_emulate.py (fast); validate: its test_validation_* (slow)",
    "forecast": "forecast and stars_for_target: tests/test_forecast.py, tests/test_fisher.py",
    "df": "eddington, is_consistent: tests/test_df.py",
    # 4-8 s each (2026-12-02, loaded machine), mostly compiling models no other test uses
    "mock": "mock_catalog (contamination, proper motions, errors), write_catalog, sigma_los on a "
            "log_grid + interp_loglog: tests/test_mock.py (test_gaussian_mock_with_errors, "
            "test_catalog_schema_and_reproducibility), tests/test_jeans.py",
    "own_profile": "a user Profile with only density (the isochrone): "
                   "tests/test_profiles.py::test_user_profile_matches_isochrone_closed_forms",
    "actions": "actions_from_phase_space, actions, Kepler limit: tests/test_actions.py",
    "jfactor": "j_factor, d_factor, log10_j_factor gradient: tests/test_jfactor.py",
    "vsp": "vsp_model, vsp_from_catalog: tests/test_vsp.py",
}


def tutorial_blocks():
    for page in sorted(DOCS.glob("*.md")):
        marks = [pytest.mark.slow] if page.stem in HEAVY_PAGES else []
        for i, code in enumerate(BLOCK.findall(page.read_text())):
            yield pytest.param(code, id=f"{page.stem}-{i}", marks=marks)


@pytest.mark.parametrize("code", list(tutorial_blocks()))
def test_tutorial_runs(code, tmp_path, monkeypatch):
    """Each tutorial runs in an empty folder holding the repository's data/, as from the root
    of a clone: the package itself (possibly installed elsewhere) has no data/."""
    (tmp_path / "data").symlink_to(DOCS.parent / "data", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    module = types.ModuleType("docs_tutorial")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(code, "<tutorial>", "exec"), module.__dict__)


def test_own_profile_page_is_short():
    code = BLOCK.findall((DOCS / "own_profile.md").read_text())[0]
    body = code[code.index("@pytree_dataclass") : code.index("iso = ")].strip().splitlines()
    assert len([line for line in body if line.strip()]) <= 15


@pytest.mark.slow  # 6 s of CPU time; the same engine calls run in the fast lane's jeans tutorial
def test_jeans_figure_script(tmp_path, monkeypatch):
    import importlib.util

    monkeypatch.syspath_prepend(str(DOCS / "figures"))  # as `python docs/figures/...` has it
    path = DOCS / "figures" / "jeans_dispersions.py"
    spec = importlib.util.spec_from_file_location("jeans_dispersions", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.make_figure(tmp_path / "fig.png")
    assert out.stat().st_size > 10_000


def test_ci_runs_what_the_readme_quick_start_says():
    """.ci/run installs with the README's extras (not editable), reads the main job from the
    README's quick-start block and runs the README's test command."""
    root = DOCS.parent
    readme = (root / "README.md").read_text()
    block = re.search(r"## Quick start.*?```bash\n(.*?)```", readme, re.S).group(1).splitlines()
    ci = (root / ".ci" / "run").read_text()
    install = [line for line in block if "pip install" in line]
    assert install == ['python -m pip install ".[plot,test]"']
    assert re.search(r'pip install --quiet "\$\{wheel\[0\]\}\[plot,test\]"', ci)
    assert not re.search(r"pip install[^\n]* -e ", ci)
    assert [line for line in block if line.startswith("dynamicall ")], "CI reads the main job here"
    tests = [line for line in block if "pytest" in line]
    assert tests == ["python -m pytest -q -n 2"]
    assert "python -m pytest -q -n 2 " in ci
