"""The layout holds (README, *Architecture*): layers, one Streamlit package, thin pages, SQL as the model,
access in one module. Each rule is checked on the source itself, so a change that breaks one fails here."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "pages").glob("*.py"))
CORE = sorted((ROOT / "core").rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_only_core_ui_imports_streamlit():
    offenders = [
        _rel(p)
        for p in CORE
        if not _rel(p).startswith("core/ui/")
        and any(m == "streamlit" or m.startswith("streamlit.") for m in _imports(p))
    ]
    assert offenders == []


def test_import_linter_contracts_hold():
    """The layer contract in .importlinter: no import runs back up."""
    linter = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(linter)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_pages_are_thin(page):
    assert len(page.read_text(encoding="utf-8").splitlines()) < 100


# Model steps of the build (risk models, funnels), the statistics library and the demo generator work on
# frames by design; everything that serves a page or a report reads its figures from a mart view.
_COMPUTE_ALLOWED = ("core/build/", "core/stats.py", "core/tools/demo.py")
_GROUP_BY = re.compile(r"\.(groupby|pivot_table|pivot|resample|crosstab)\(")


@pytest.mark.parametrize(
    "path", [p for p in [*CORE, *PAGES, ROOT / "app.py"] if not _rel(p).startswith(_COMPUTE_ALLOWED)], ids=_rel
)
def test_no_group_by_after_the_fetch(path):
    hits = [
        f"{_rel(path)}:{i}: {line.strip()}"
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if _GROUP_BY.search(line)
    ]
    assert hits == []


_SQL = re.compile(
    r"\bselect\b.+\bfrom\b|\bcreate\s+(or\s+replace\s+)?(temp\s+)?(table|view)\b|\binsert\s+into\b"
    r"|\bdelete\s+from\b|\bupdate\s+\w+\s+set\b",
    re.IGNORECASE,
)
_SQL_ALLOWED = ("core/db.py", "core/state.py", "core/build/")


@pytest.mark.parametrize(
    "path", [p for p in [*CORE, *PAGES, ROOT / "app.py"] if not _rel(p).startswith(_SQL_ALLOWED)], ids=_rel
)
def test_no_sql_outside_core_sql_and_the_doors(path):
    hits = [f"{_rel(path)}:{i}" for i, line in enumerate(path.read_text().splitlines(), 1) if _SQL.search(line)]
    assert hits == []


def test_sql_views_are_one_per_file_in_their_layer():
    sql = ROOT / "core" / "sql"
    layers = {"staging": "stg_", "intermediate": "int_", "marts": "mart_"}
    for path in sql.rglob("*.sql"):
        if path.name.startswith("_"):
            continue
        layer = path.relative_to(sql).parts[0]
        assert path.stem.startswith(layers[layer]), f"{_rel(path)} is not in its layer's folder"


# `viewer.identified` is core.access's own answer (a property defined there), so asking it is allowed.
_ROLE_TEST = re.compile(r"""role\s*(==|!=|\bin\b)|["'](physician|champion|supply|admin)["']\s*(==|in)\b""")


@pytest.mark.parametrize("path", [p for p in [*CORE, *PAGES, ROOT / "app.py"] if _rel(p) != "core/access.py"], ids=_rel)
def test_access_is_decided_only_in_core_access(path):
    """No page or module compares roles: they ask core.access (access.can, scorecard_subject, present_peers)."""
    hits = [
        f"{_rel(path)}:{i}: {line.strip()}"
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if _ROLE_TEST.search(line)
    ]
    assert hits == []


def test_one_registry_of_outcomes():
    """Outcome keys are spelled out as a list only in core/metrics.py."""
    pattern = re.compile(r"""\(\s*["']complication["']\s*,\s*["']readmit_30d["']""")
    offenders = [
        _rel(p)
        for p in [*CORE, *PAGES, *sorted((ROOT / "benchmarks").glob("*.py"))]
        if _rel(p) != "core/metrics.py" and pattern.search(p.read_text())
    ]
    assert offenders == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_page_starts_with_one_access_call(page):
    """`ui.require(ACTION, ...)` before anything else: access asked, the view recorded (fail closed)."""
    calls = [
        line for line in page.read_text(encoding="utf-8").splitlines() if re.search(r"\bui\.(require|viewer)\(", line)
    ]
    assert calls and "ui.require(" in calls[0], calls
