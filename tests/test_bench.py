"""The benchmark end to end at a small size: it runs, the pandas baseline agrees, the JSON has its keys.

Correctness, not timing: `make test` runs this so the benchmark never rots. Also holds the build's
default-period snapshots (mart_*_default) to the same numbers as the live views they stand in for.
"""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from benchmarks import bench
from core import db, scorecard

CASES = 3000


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    """One benchmark run at 3,000 cases into temporary folders (never benchmarks/)."""
    saved = {k: os.environ.get(k) for k in ("SCORECARD_DB", "SCORECARD_STATE")}
    work, results = tmp_path_factory.mktemp("bench-work"), tmp_path_factory.mktemp("bench-results")
    try:
        rec = bench.run_bench(CASES, seed=7, requests=30, personas=1, work=work, results=results, say=lambda _m: None)
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


def test_the_json_has_every_section(record):
    rec, _, results = record
    on_disk = json.loads((results / f"bench-{CASES}.json").read_text())
    assert on_disk["cases"] == CASES
    for key in ("source", "build", "figures", "baseline", "page", "machine", "targets"):
        assert key in on_disk, key
    assert on_disk["build"]["returncode"] == 0 and on_disk["build"]["peak_rss_gib"] > 0
    for key in ("p50_ms", "p95_ms", "max_ms"):
        assert on_disk["figures"][key] > 0
    assert on_disk["page"]["problems"] == [] and on_disk["page"]["warm"]["n"] == 1
    assert {"cores", "memory_gib", "duckdb", "pandas"} <= set(on_disk["machine"])
    assert set(on_disk["targets"]) == set(bench.TARGETS)
    assert "3,000" in bench.table([on_disk])


def test_a_second_run_reuses_the_source(record):
    _, work, _ = record
    assert bench.ensure_source(work / f"source-{CASES}-s7", CASES, 7, lambda _m: None)["reused"]


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
    path = work / f"bench-{CASES}-s7.duckdb"
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
