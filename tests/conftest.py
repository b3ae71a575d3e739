"""Shared fixtures: a tiny deterministic database built once per session from tests/fixture_source.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.build import build
from fixture_source import write_fixture_source

pytest_plugins = ["browser_support"]

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
