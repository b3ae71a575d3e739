"""Shared fixtures: a tiny deterministic database built once per session from tests/fixture_source.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fixture_source import write_fixture_source

from core.build.pipeline import build

pytest_plugins = ["browser_support", "pg_support"]

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def fixture_source(tmp_path_factory) -> Path:
    """The hand-computable source folder (CSV)."""
    return write_fixture_source(tmp_path_factory.mktemp("fixture") / "source")


@pytest.fixture(scope="session")
def fixture_db(tmp_path_factory, fixture_source) -> Path:
    """The fixture built into a database; SCORECARD_DB and SCORECARD_STATE point at it for the session."""
    folder = tmp_path_factory.mktemp("fixture_db")
    target = folder / "scorecard.duckdb"
    result = build(fixture_source, target)
    assert result.ok, [g.render() for g in result.problems]
    os.environ["SCORECARD_DB"] = str(target)
    os.environ["SCORECARD_STATE"] = str(folder / "state.sqlite")
    return target


@pytest.fixture(scope="module")
def app_url(start_app_module, fixture_db, tmp_path_factory):
    """The real app on the fixture database with sign-in through the local provider, one per test module;
    `.state_path` is its app state, for reading the audit log."""
    state_path = tmp_path_factory.mktemp("app_state") / "state.sqlite"
    url = start_app_module(fixture_db, state_path)
    url.state_path = state_path
    return url


def pytest_collection_modifyitems(config, items):
    """Tests marked slow run only when asked for (`make test-slow`, i.e. `pytest -m slow`)."""
    if "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="slow: run with `make test-slow` (pytest -m slow)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
