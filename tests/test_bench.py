"""The benchmark end to end at a small size: it runs, both baselines agree, the JSON has its keys.

Correctness, not timing: `make test` runs this so the benchmark never rots. It runs the planted demo at
3,000 cases (the real shape needs far more cases before peer groups form; `make test-slow` runs it at
100,000). Also holds the build's default-period snapshots (mart_*_default), and the snapshots patched
for accepted flags, to the same numbers as the live views they stand in for.
"""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from benchmarks import bench
from core import db, scorecard
from core.build import pipeline

CASES = 3000


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    """One benchmark run at 3,000 cases into temporary folders (never benchmarks/)."""
    saved = {k: os.environ.get(k) for k in ("SCORECARD_DB", "SCORECARD_STATE")}
    work, results = tmp_path_factory.mktemp("bench-work"), tmp_path_factory.mktemp("bench-results")
    try:
        rec = bench.run_bench(
            CASES,
            seed=7,
            requests=30,
            personas=1,
            work=work,
            results=results,
            shape="demo",
            flags=20,
            say=lambda _m: None,
        )
        yield rec, work, results
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_the_pandas_baseline_gives_the_same_figures(record):
    rec, _, _ = record
    assert rec["baseline"]["agree"], rec["baseline"]["mismatches"]
    assert rec["baseline"]["n"] == 30 and rec["figures"]["n"] == 30
    assert rec["baseline"]["flagged_requests_checked"] == 5


def test_the_polars_baseline_gives_the_same_figures(record):
    rec, _, _ = record
    polars = rec["baselines"]["polars"]
    assert polars["agree"], polars["mismatches"]
    assert polars["n"] == 30 and polars["flagged_requests_checked"] == 5


def test_accepted_flags_stay_on_patched_snapshots_equal_to_the_live_views(record):
    rec, _, _ = record
    flags = rec["flags"]
    assert flags["flags"] == 20 and flags["figures"]["n"] == 30
    assert flags["snapshot_equals_live_view"], flags["problems"]
    assert flags["reads_build_snapshot"] is False  # excluded cases: not the build's own snapshot
    assert flags["refresh_all_ms"] > 0 and flags["refresh_single"]["n"] == 10


def test_the_json_has_every_section(record):
    rec, _, results = record
    on_disk = json.loads((results / f"bench-{CASES}.json").read_text())
    assert on_disk["cases"] == CASES
    for key in ("source", "build", "figures", "flags", "baseline", "baselines", "page", "machine", "targets"):
        assert key in on_disk, key
    assert on_disk["build"]["returncode"] == 0 and on_disk["build"]["peak_rss_gib"] > 0
    for key in ("p50_ms", "p95_ms", "max_ms"):
        assert on_disk["figures"][key] > 0
    assert on_disk["page"]["problems"] == [] and on_disk["page"]["warm"]["n"] == 1
    # the page again with the 20 flags accepted in the app state, as a reviewer accepts them
    assert on_disk["page"]["flags_accepted"] == 20 and on_disk["page"]["warm_with_flags"]["n"] == 1
    assert {"cores", "memory_gib", "duckdb", "pandas"} <= set(on_disk["machine"])
    assert on_disk["targets"] == {}  # targets are set for 1,000,000 and 10,000,000 cases only
    assert set(bench._targets({**on_disk, "cases": 1_000_000})) == set(bench.TARGETS)
    assert "3,000" in bench.table([on_disk])


def test_a_second_run_reuses_the_source(record):
    _, work, _ = record
    assert bench.ensure_source(work / f"source-demo-{CASES}-s7", CASES, 7, lambda _m: None, "demo")["reused"]


@pytest.mark.parametrize(
    "view, key",
    [
        ("mart_cost_position", ["physician_id", "procedure_code"]),
        ("mart_outcome_position", ["physician_id", "procedure_code", "outcome"]),
        ("mart_preferred_use", ["physician_id", "procedure_code", "category"]),
    ],
)
def test_default_period_snapshots_equal_the_live_views(record, view, key):
    rec, work, _ = record
    path = work / f"bench-demo-{CASES}-s7.duckdb"
    period = scorecard.data_context(path).default_period()
    snapshot = db.fetch(view, variables=scorecard.period_variables(period, []), path=path)
    cur = db.cursor(path)
    try:  # the same period set explicitly, so the live view computes it
        db._set_variables(cur, {"start_date": period.start, "end_date": period.end})
        live = cur.execute(f"select * from {view}").df()
    finally:
        cur.close()
    assert len(snapshot) > 0
    pd.testing.assert_frame_equal(
        snapshot.sort_values(key).reset_index(drop=True),
        live.sort_values(key).reset_index(drop=True),
        check_exact=False,
        rtol=1e-9,
    )


SNAPSHOTS = sorted(n for n in pipeline.sql_models() if pipeline.snapshot_of(n, pipeline.sql_models()))


def test_snapshots_are_built_from_the_snapshots_they_read():
    """A snapshot whose view reads other snapshotted views is built from those snapshots, after them."""
    models = pipeline.sql_models()
    order = pipeline.model_order(models)
    reading = {n: pipeline.snapshot_inputs(pipeline.snapshot_of(n, models)[0], models) for n in SNAPSHOTS}
    assert {"mart_cost_position", "mart_preferred_use"} <= set(reading["mart_category_driver_default"])
    for name, reads in reading.items():
        sql = pipeline.snapshot_sql(name, models)
        for read in reads:
            assert order.index(f"{read}_default") < order.index(name)
            assert f"{read} as (select * from {read}_default)" in sql, (name, read)


@pytest.mark.parametrize("snapshot", SNAPSHOTS)
def test_every_snapshot_equals_its_view_computed_live(record, snapshot):
    """Each `<view>_default` table, however the build made it, holds the view's rows for the default period."""
    _, work, _ = record
    path = work / f"bench-demo-{CASES}-s7.duckdb"
    period = scorecard.data_context(path).default_period()
    view = snapshot.removesuffix("_default")
    cur = db.cursor(path)
    try:
        stored = cur.execute(f"select * from {snapshot}").df()
        db._set_variables(cur, {"start_date": period.start, "end_date": period.end})  # the view computes
        live = cur.execute(f"select * from {view}").df()
    finally:
        cur.close()
    assert len(live) > 0 or view.startswith("mart_episode"), f"{view} has no rows in the benchmark's demo"
    key = list(live.columns)
    pd.testing.assert_frame_equal(
        stored.sort_values(key).reset_index(drop=True),
        live.sort_values(key).reset_index(drop=True),
        check_exact=False,
        rtol=1e-9,
    )


# Columns that, together, name a row of a patched view (whichever of them the view has).
ROW_KEYS = (
    "physician_id",
    "procedure_code",
    "outcome",
    "category",
    "surgery_quarter",
    "drug_class",
    "drug_name",
    "item_id",
)


@pytest.mark.parametrize("view", sorted(db.PATCH_KEYS))
def test_snapshots_patched_for_accepted_flags_equal_the_live_views(record, view):
    """Accepting flags one after another, and rejecting one, keeps every patched snapshot equal to its view:
    the ones patched per procedure, per physician and whole (core.db.PATCH_KEYS)."""
    rec, work, _ = record
    path = work / f"bench-demo-{CASES}-s7.duckdb"
    period = scorecard.data_context(path).default_period()
    cur = db.cursor(path)
    try:
        cases = cur.execute(
            "select case_id::varchar, procedure_code from mart_case where surgery_date >= ? order by case_id",
            [period.start],
        ).fetchall()
    finally:
        cur.close()
    first, second = cases[::97][:6], cases[::89][:4]
    steps = [[c for c, _ in first], [c for c, _ in first + second], [c for c, _ in first[1:] + second]]
    has_rows = len(db.fetch(view, variables=scorecard.period_variables(period, []), path=path)) > 0
    for excluded in steps:
        variables = scorecard.period_variables(period, excluded)
        patched = db.fetch(view, variables=variables, path=path)
        assert not db.is_default_request(variables, path)
        assert db._patched_for(view, path, variables), f"{view} is read live with flags accepted"
        key = [c for c in ROW_KEYS if c in patched.columns]
        live_cur = db.cursor(path)
        try:
            db._set_variables(live_cur, variables)
            live = live_cur.execute(f"select * from {view}").df()
        finally:
            live_cur.close()
        assert len(patched) > 0 or not has_rows
        pd.testing.assert_frame_equal(
            patched.sort_values(key).reset_index(drop=True),
            live[list(patched.columns)].sort_values(key).reset_index(drop=True),
            check_exact=False,
            rtol=1e-9,
            check_dtype=False,
        )


@pytest.mark.slow
def test_the_real_shape_benchmark_at_100000_cases(tmp_path):
    """`make test-slow`: the real shape end to end (a few minutes): both baselines and the flags agree."""
    saved = {k: os.environ.get(k) for k in ("SCORECARD_DB", "SCORECARD_STATE")}
    try:
        rec = bench.run_bench(
            100_000,
            seed=11,
            requests=40,
            personas=2,
            work=tmp_path / "work",
            results=tmp_path / "results",
            flags=100,
            say=lambda _m: None,
        )
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert rec["shape"] == "system" and rec["shape_facts"]["procedures"] >= 100
    assert rec["figures"]["pairs_available"] > 500
    assert rec["baselines"]["pandas"]["agree"], rec["baselines"]["pandas"]["mismatches"]
    assert rec["baselines"]["polars"]["agree"], rec["baselines"]["polars"]["mismatches"]
    assert rec["flags"]["snapshot_equals_live_view"], rec["flags"]["problems"]
    assert rec["page"]["problems"] == []


def _held_requests(path, period, excluded):
    """Every (view, where, order_by) a scorecard request makes of the held tables, for every pair."""
    pairs = db.fetch(
        "mart_cost_position",
        columns=["physician_id", "procedure_code"],
        variables=scorecard.period_variables(period, excluded),
        path=path,
    )
    physicians = sorted(set(pairs["physician_id"]))
    yield from (("mart_cost_position", {"physician_id": p}, ["case_count desc", "procedure_code"]) for p in physicians)
    for p, c in zip(pairs["physician_id"], pairs["procedure_code"], strict=True):
        yield (
            "mart_preferred_use",
            {"physician_id": p, "procedure_code": c},
            ["switch_saving_usd desc", "spend_usd desc"],
        )
        yield "mart_outcome_summary_default", {"procedure_code": c, "physician_id": p}, ["outcome_order"]
    yield "mart_cost_position", {"physician_id": "nobody"}, ["case_count desc", "procedure_code"]


@pytest.mark.parametrize("flags", [0, 7])
def test_held_tables_give_duckdbs_rows_and_types(record, monkeypatch, flags):
    """A request answered from a held table (core.db.HELD_KEYS) gets exactly the frame DuckDB returns for the
    same query, types included (integer and boolean columns nullable only where its rows have a null), for
    every physician and pair, on the build's snapshots and on snapshots patched for accepted flags."""
    _, work, _ = record
    path = work / f"bench-demo-{CASES}-s7.duckdb"
    period = scorecard.data_context(path).default_period()
    cur = db.cursor(path)
    try:
        cases = [r[0] for r in cur.execute("select case_id::varchar from mart_case order by case_id").fetchall()]
    finally:
        cur.close()
    excluded = cases[::53][:flags]
    variables = scorecard.period_variables(period, excluded)
    requests = list(_held_requests(path, period, excluded))
    db._held.clear()  # a cache: what this test reads is loaded anew
    answered = []
    rows = db._Held.rows
    monkeypatch.setattr(db._Held, "rows", lambda self, *a: answered.append(rows(self, *a)) or answered[-1])
    held = [db.fetch(v, where=w, order_by=o, variables=variables, path=path) for v, w, o in requests]
    monkeypatch.undo()
    # Every request but the one for a physician with no rows was answered from memory, from three tables
    # (the patched snapshots when flags are accepted, the build's otherwise).
    assert sum(a is not None for a in answered) == len(requests) - 1
    assert len(db._held) == 3 and all(h is not None for h in db._held.values())
    assert all(k[1].startswith("memory.") == (bool(flags) and k[1] != "mart_outcome_summary_default") for k in db._held)
    monkeypatch.setattr(db, "HELD_KEYS", {})
    for (view, where, order), mine in zip(requests, held, strict=True):
        theirs = db.fetch(view, where=where, order_by=order, variables=variables, path=path)
        ordered = [c.removesuffix(" desc") for c in order]
        # In the requested order (rows that tie share those values), then row for row.
        pd.testing.assert_frame_equal(mine[ordered], theirs[ordered])
        tie = [c for c in ("procedure_code", "category", "outcome") if c in theirs.columns]
        pd.testing.assert_frame_equal(
            mine.sort_values([*tie]).reset_index(drop=True) if len(mine) else mine,
            theirs.sort_values([*tie]).reset_index(drop=True) if len(theirs) else theirs,
        )
    assert sum(len(f) for f in held) > len(requests)


def test_a_held_slice_has_the_types_a_query_would_give():
    """Integer and boolean columns with a null somewhere in the table: DuckDB gives a slice without nulls
    numpy types and one with a null pandas' nullable types; the held copy must do the same."""
    import duckdb

    con = duckdb.connect()
    con.execute(
        "create table t as select * from (values ('a', 1::bigint, true, 2::integer), ('a', 2, false, 3),"
        " ('b', null, null, 4), ('b', 5, true, null), ('c', 7, true, 8)) v(k, n, f, m)"
    )
    whole = db._Held(con.execute("select * from t order by k, n").df(), ("k",))
    assert whole.rows(("missing",), ["k"]) is None  # no rows: the query answers, with its own empty types
    empty = db._Held(con.execute("select * from t where false").df(), ("k",))  # an empty table holds no key
    assert empty.spans == {} and empty.rows(("a",), ["k"]) is None
    for key in ("a", "b", "c"):
        theirs = con.execute("select * from t where k = ? order by n", [key]).df()
        pd.testing.assert_frame_equal(whole.rows((key,), ["k", "n", "f", "m"]), theirs)


def test_a_restarted_process_loads_the_saved_set(record):
    """The benchmark's restart: a new process finds the set this one saved and loads it, not computes it."""
    rec, _, _ = record
    assert rec["flags"]["restart_loaded_saved"] is True
    assert rec["flags"]["restart_refresh_ms"] > 0


# A new process's view of a saved set: loaded or computed, and each patched view against its live view.
_RELOAD = """
import json, sys
from pathlib import Path
import pandas as pd
from core import db, scorecard
path, ids = Path(sys.argv[1]), json.loads(sys.argv[2])
period = scorecard.data_context(path).default_period()
variables = scorecard.period_variables(period, ids)
problems = []
for view in sorted(db.PATCH_KEYS):
    patched = db.fetch(view, variables=variables, path=path)
    cur = db.cursor(path)
    db._set_variables(cur, variables)
    live = cur.execute(f"select * from {view}").df()
    cur.close()
    keys = [c for c in json.loads(sys.argv[3]) if c in patched.columns]
    try:
        pd.testing.assert_frame_equal(
            patched.sort_values(keys).reset_index(drop=True),
            live[list(patched.columns)].sort_values(keys).reset_index(drop=True),
            check_exact=False, rtol=1e-9, check_dtype=False,
        )
    except AssertionError as err:
        problems.append(f"{view}: {str(err).splitlines()[0]}")
print(json.dumps({"loaded": db.saved_sets_loaded, "problems": problems}))
"""


def _reload(path, ids) -> dict:
    import subprocess
    import sys
    from pathlib import Path

    out = subprocess.run(
        [sys.executable, "-c", _RELOAD, str(path), json.dumps(ids), json.dumps(ROW_KEYS)],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _flag_cases(path, every: int, n: int) -> list[str]:
    period = scorecard.data_context(path).default_period()
    cur = db.cursor(path)
    try:
        rows = cur.execute(
            "select case_id::varchar from mart_case where surgery_date >= ? order by case_id", [period.start]
        ).fetchall()
    finally:
        cur.close()
    return [r[0] for r in rows[::every][:n]]


def test_a_saved_set_loads_in_a_new_process_equal_to_the_live_views(record):
    """A patched set is saved beside the database (core.db `_save`); a new process loads it (no refresh)
    and every patched view it reads equals the live view for the same accepted flags."""
    _, work, _ = record
    path = work / f"bench-demo-{CASES}-s7.duckdb"
    ids = _flag_cases(path, 53, 7)
    digest = db.prepare_excluded(ids, path)
    db.wait_for_saves()
    assert (db.saved_folder(path) / f"{digest}.duckdb").exists()
    out = _reload(path, ids)
    assert out["loaded"] == 1 and out["problems"] == []


def test_an_unreadable_saved_set_is_computed_instead(record):
    """A saved file that is not a whole set (here: garbage) is never trusted: the new process computes
    the set, with the same figures."""
    _, work, _ = record
    path = work / f"bench-demo-{CASES}-s7.duckdb"
    ids = _flag_cases(path, 61, 5)
    digest = db.prepare_excluded(ids, path)
    db.wait_for_saves()
    saved = db.saved_folder(path) / f"{digest}.duckdb"
    for other in db.saved_folder(path).glob("*.duckdb"):
        other.unlink()  # nothing else to start from
    saved.write_bytes(b"not a duckdb file" * 100)
    out = _reload(path, ids)
    assert out["loaded"] == 0 and out["problems"] == []
    # The damaged file was removed and the computed set saved in its place: the next process loads it.
    assert _reload(path, ids)["loaded"] == 1


def test_a_new_process_computes_a_new_set_on_top_of_the_newest_saved_one(record):
    """A set nobody saved (flags decided after the build prepared its set, or after the last save) starts
    from the newest saved set and computes only what differs, to the live views' figures."""
    _, work, _ = record
    path = work / f"bench-demo-{CASES}-s7.duckdb"
    ids = _flag_cases(path, 71, 6)
    db.prepare_excluded(ids, path)
    db.wait_for_saves()
    more = ids[1:] + _flag_cases(path, 73, 2)
    assert not (db.saved_folder(path) / f"{db._digest(frozenset(more))}.duckdb").exists()
    out = _reload(path, more)
    assert out["loaded"] == 1 and out["problems"] == []


def test_a_set_that_cannot_be_saved_still_serves(record, caplog):
    """Saving is a cache: a folder that cannot be written is logged, and the set is served from memory."""
    _, work, _ = record
    path = work / f"bench-demo-{CASES}-s7.duckdb"
    blocked = db.saved_folder(path).parent
    moved = blocked.with_name(blocked.name + ".aside")
    if blocked.exists():
        blocked.rename(moved)
    blocked.write_text("a file where the folder would be")
    try:
        ids = _flag_cases(path, 67, 4)
        with caplog.at_level("WARNING", logger="core.db"):
            db.prepare_excluded(ids, path)
            db.wait_for_saves()
        assert "could not save the patched snapshots" in caplog.text
        period = scorecard.data_context(path).default_period()
        variables = scorecard.period_variables(period, ids)
        assert db._patched_for("mart_cost_position", path, variables)  # served from the set in memory
        assert len(db.fetch("mart_cost_position", variables=variables, path=path)) > 0
    finally:
        blocked.unlink()
        if moved.exists():
            moved.rename(blocked)


def test_a_rebuilt_database_never_reads_the_old_sets(record, tmp_path):
    """The saved sets' folder is named by the file's version: the same data rebuilt into a new file (a new
    inode, same size) has another, so a new process computes its sets rather than loading the old file's."""
    import shutil

    _, work, _ = record
    path = tmp_path / "served.duckdb"
    shutil.copy(work / f"bench-demo-{CASES}-s7.duckdb", path)
    ids = _flag_cases(path, 79, 5)
    digest = db.prepare_excluded(ids, path)
    db.wait_for_saves()
    old = db.saved_folder(path)
    assert (old / f"{digest}.duckdb").exists()
    shutil.copy(path, tmp_path / "rebuilt.duckdb")
    os.replace(tmp_path / "rebuilt.duckdb", path)
    assert db.saved_folder(path) != old and db.saved_folder(path).parent == old.parent
    out = _reload(path, ids)
    assert out["loaded"] == 0 and out["problems"] == []


def test_saved_sets_go_where_scorecard_patches_says(tmp_path, monkeypatch):
    """$SCORECARD_PATCHES names a folder the app servers and the build share when the analytics file is
    read-only to them (deploy/compose.yaml); a new build's sets are filed under the name it will serve as."""
    path = tmp_path / "data" / "scorecard.duckdb"
    path.parent.mkdir()
    path.write_bytes(b"a database")
    assert db.saved_folder(path).parent == tmp_path / "data" / "scorecard.duckdb.patches"
    monkeypatch.setenv("SCORECARD_PATCHES", str(tmp_path / "shared"))
    assert db.saved_folder(path).parent == tmp_path / "shared" / "scorecard.duckdb"
    building = tmp_path / "data" / ".scorecard.duckdb.building-1"
    building.write_bytes(b"a new build")
    assert db.saved_folder(building, served_as=path).parent == tmp_path / "shared" / "scorecard.duckdb"
    assert db.saved_folder(building, served_as=path).name.startswith(db.database_version(building))
