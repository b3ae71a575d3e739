"""The big marts built a run of keys at a time (core/build/chunks.py): the same rows in the same order
as one statement would give, however small the runs."""

from __future__ import annotations

import duckdb
import pytest
from extract_support import OPTIONAL_FILES
from fixture_source import write_fixture_source

from core.build import chunks
from core.build.chunks import Run, plan
from core.build.pipeline import build, sql_models

# Each chunked table and the ORDER BY it is stored in (its model's last line).
STORED_ORDER = {
    "int_supply_line_by_procedure": ("procedure_code", "category", "surgery_date"),
    "mart_case_category": ("procedure_code", "surgery_date"),
    "mart_savings_drug_line": ("procedure_code", "surgery_date"),
    "mart_case_drug": ("procedure_code", "surgery_date", "case_id", "drug_name"),
}
RANKED = {"category_rank": "category"}


def test_runs_cover_every_key_once_in_order():
    weights = [("a", 5), ("b", 5), ("c", 5), ("d", 5), (None, 3)]
    assert plan(weights, 10) == [Run(None, "b", False), Run("b", None, True)]
    assert plan(weights, 0) == [Run(None, "a", False), Run("a", "b", False), Run("b", "c", False), Run("c", None, True)]
    # One run when everything fits, and one run for a table with no keys at all.
    assert plan(weights, 100) == [Run(None, None, True)]
    assert plan([], 10) == [Run(None, None, True)]


def test_chunked_models_declare_the_key_their_order_starts_with():
    models = sql_models()
    declared = {name for name, (_kind, sql) in models.items() if chunks.chunk_key(sql)}
    assert declared == set(STORED_ORDER)
    for name, order in STORED_ORDER.items():
        sql = models[name][1]
        assert chunks.chunk_key(sql) == order[0]
        last = [line for line in sql.strip().splitlines() if not line.startswith("--")][-1]
        written = [c.split(".")[-1] for c in last.removeprefix("order by ").split(", ")]
        # A category's rank orders lines as its text does (the model's header says why); the test below
        # holds the stored order by the text itself.
        assert [RANKED.get(c, c) for c in written] == list(order), name


def test_a_run_per_key_gives_the_same_rows_in_the_same_order(tmp_path, monkeypatch):
    # The fixture with the optional tables too, so the formulary gives drug savings rows.
    source = write_fixture_source(tmp_path / "src", OPTIONAL_FILES)
    fixture_db = tmp_path / "one.duckdb"
    assert build(source, fixture_db).ok
    monkeypatch.setattr(chunks, "LINES_PER_MB", 0)  # every procedure its own run
    monkeypatch.setattr(chunks, "run_size", lambda sql: 0)
    target = tmp_path / "runs.duckdb"
    assert build(source, target).ok
    con = duckdb.connect()
    con.execute("attach ? as one (read_only)", [str(fixture_db)])
    con.execute("attach ? as runs (read_only)", [str(target)])
    for table, order in STORED_ORDER.items():
        rows = con.execute(f"select count(*) from one.{table}").fetchone()[0]
        assert rows > 0, table
        for a, b in (("one", "runs"), ("runs", "one")):
            extra = con.execute(f"select count(*) from (from {a}.{table} except all from {b}.{table})").fetchone()[0]
            assert extra == 0, (table, a, b)
        key = "(" + ", ".join(order) + ")"
        # Physically sorted: no row's key below the previous row's in storage order.
        unsorted = con.execute(
            f"select count(*) from (select {key} as k, lag({key}) over (order by rowid) as p from runs.{table}) "
            "where k < p"
        ).fetchone()[0]
        assert unsorted == 0, table
        keys = con.execute(f"select count(distinct {order[0]}) from runs.{table}").fetchone()[0]
        assert keys > 1, table  # the fixture really makes several runs


def test_a_model_may_set_its_run_size():
    assert chunks.run_size("-- chunked by: procedure_code\n-- run size: 4000 lines per MB\nselect 1") == 4000
    assert chunks.run_size("-- chunked by: procedure_code\nselect 1") == chunks.LINES_PER_MB


@pytest.mark.parametrize("budget", [0, 7, 1000])
def test_every_row_lands_in_exactly_one_run(budget):
    con = duckdb.connect()
    con.execute("create table t as select * from (values ('a'), ('b'), ('b'), ('c'), (null), ('e')) v(k)")
    runs = plan([("a", 3), ("b", 4), ("c", 5), ("d", 1)], budget)  # 'e' and null are not in the weights
    got = []
    for run in runs:
        where, params = chunks._restriction("k", run)
        got += [r[0] for r in con.execute(f"select k from t where {where} order by k nulls last", params).fetchall()]
    assert got == ["a", "b", "b", "c", "e", None]
