"""The documentation in core/schema.toml and the database must agree, view by view, column by column."""

from __future__ import annotations

import re

import duckdb
import pytest

from core import db, schema
from core.build import contract
from core.build.pipeline import sql_models


@pytest.fixture(scope="module")
def described(fixture_db):
    con = duckdb.connect(str(fixture_db), read_only=True)
    rows = con.execute(
        "select table_name, column_name from information_schema.columns order by table_name, ordinal_position"
    ).fetchall()
    out: dict[str, list[str]] = {}
    for table, column in rows:
        out.setdefault(table, []).append(column)
    return out


def test_every_view_in_the_database_is_documented_and_vice_versa(described):
    assert sorted(described) == sorted(schema.names())


@pytest.mark.parametrize("name", schema.names())
def test_documented_columns_match_describe(name, fixture_db):
    documented = list(schema.view(name)["columns"])
    actual = [c for c, _t in db.describe(name, fixture_db)]
    assert documented == actual, f"{name}: documentation and DESCRIBE differ"


@pytest.mark.parametrize("name", schema.names())
def test_every_column_has_a_description_and_the_view_a_grain(name):
    doc = schema.view(name)
    assert doc["grain"]
    empty = [c for c, text in doc["columns"].items() if not text.strip()]
    assert not empty, f"{name}: undocumented columns {empty}"


def test_every_sql_file_is_a_documented_view_with_its_materialisation():
    for name, (kind, sql) in sql_models().items():
        assert name in schema.names(), name
        assert schema.view(name)["materialized"] == kind
        assert re.search(r"^-- (?!materialized)\S", sql, re.M), f"{name}.sql needs a comment saying why"
        assert sql == sql.replace("SELECT ", "select "), f"{name}.sql: lowercase keywords"


def test_layers_only_read_downwards():
    order = {"stg": 0, "int": 1, "mart": 2}
    names = set(sql_models())
    for name, (_kind, sql) in sql_models().items():
        body = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
        mentioned = set(re.findall(r"\b((?:stg|int|mart)_[a-z0-9_]+)\b", body)) - {name}
        for other in mentioned & names:
            assert order[other.split("_")[0]] <= order[name.split("_")[0]], f"{name} reads {other}"


def test_sql_defaults_match_the_contract(tmp_path, fixture_source):
    """int_settings' SQL defaults are the Definitions page's, the same numbers as core.contract.SETTINGS_DEFAULTS."""
    from fixture_source import write_fixture_source

    from core.build.pipeline import build

    source = write_fixture_source(tmp_path / "src", {"settings.csv": "key,value\n"})
    assert build(source, tmp_path / "db.duckdb").ok
    row = (
        duckdb.connect(str(tmp_path / "db.duckdb"), read_only=True)
        .execute("select or_cost_per_minute_usd, bed_day_cost_usd, min_cases_count, min_peers_count from int_settings")
        .fetchone()
    )
    d = contract.SETTINGS_DEFAULTS
    assert row == (d["or_cost_per_minute"], d["bed_day_cost"], d["min_cases"], d["min_peers"])


def test_db_fetch_refuses_undocumented_views_and_columns(fixture_db):
    with pytest.raises(KeyError):
        db.fetch("mart_nope", path=fixture_db)
    with pytest.raises(ValueError):
        db.fetch("stg_cases", path=fixture_db)
    with pytest.raises(ValueError):
        db.fetch("mart_case", where={"case_id; drop table x": 1}, path=fixture_db)
    injected = db.fetch("mart_case", where={"case_id": "C01' or '1'='1"}, path=fixture_db)
    assert injected.empty


def test_rebuilt_file_is_served_without_restart(tmp_path, fixture_source):
    from fixture_source import TABLES, write_fixture_source

    from core.build.pipeline import build

    target = tmp_path / "live.duckdb"
    assert build(fixture_source, target).ok
    cur = db.cursor(target)  # a request in flight on the old file
    assert len(db.fetch("mart_case", path=target)) == 12
    more = (
        TABLES["cases"]
        + "C13,P06,LCH,2026-05-05,2026-05-05,50,F,1,0,elective,Commercial,65,false,false,false,false,Main\n"
    )
    assert build(write_fixture_source(tmp_path / "src2", {"cases.csv": more}), target).ok
    assert len(db.fetch("mart_case", path=target)) == 13
    assert cur.execute("select count(*) from mart_case").fetchone()[0] == 12  # finishes on the old file
