"""The build: every contract rule reported precisely (file, row, column, value, rule), exit codes,
and the database in service left byte-for-byte untouched by any failed or killed build."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.__main__ import main
from core.build.pipeline import build
from fixture_source import TABLES, write_fixture_source

ROOT = Path(__file__).resolve().parent.parent


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _replace_line(table: str, old: str, new: str) -> str:
    text = TABLES[table]
    assert old in text, old
    return text.replace(old, new, 1)


@pytest.fixture()
def served_db(tmp_path, fixture_source) -> Path:
    """A good database in service, to prove failed builds never touch it."""
    target = tmp_path / "served.duckdb"
    assert build(fixture_source, target).ok
    return target


# (files to override, rule, file, row, column, value) — rows count data rows from 1.
BAD_SOURCES = {
    "missing file": ({"cases.csv": None}, "file.missing", "cases.csv", None, None, None),
    "missing column": ({"items.csv": TABLES["items"].replace(",unit_cost,", ",price,")},
                       "column.missing", "items.csv", None, "unit_cost", None),
    "wrong type": ({"cases.csv": _replace_line("cases", "2026-02-10,2026-02-11,65", "2026-02-10,2026-02-11,sixty")},
                   "type.int", "cases.csv", 2, "patient_age", "sixty"),
    "bad date": ({"cases.csv": _replace_line("cases", "C03,P01,TKA,2026-03-10", "C03,P01,TKA,10/03/2026")},
                 "type.date", "cases.csv", 3, "surgery_date", "10/03/2026"),
    "duplicate key": ({"physicians.csv": TABLES["physicians"] + "P02,Dr. Dup,Orthopaedic Surgery,Orthopaedics,\n"},
                      "key.duplicate", "physicians.csv", 7, "physician_id", "P02"),
    "duplicate composite key": ({"supply_usage.csv": TABLES["supply_usage"] + "C12,SUT-1,1,1,,0\n"},
                                "key.duplicate", "supply_usage.csv", 25, "case_id/item_id/line", "C12/SUT-1/1"),
    "unknown foreign key": ({"supply_usage.csv": _replace_line("supply_usage", "C05,GLV-1,2", "C05,GLV-9,2")},
                            "fk.unknown", "supply_usage.csv", 12, "item_id", "GLV-9"),
    "negative cost": ({"items.csv": _replace_line("items", "Sutures,10,", "Sutures,-10,")},
                      "value.negative", "items.csv", 3, "unit_cost", "-10"),
    "negative quantity": ({"supply_usage.csv": _replace_line("supply_usage", "C04,SUT-1,2,2,,0", "C04,SUT-1,2,-2,,0")},
                          "value.negative", "supply_usage.csv", 10, "quantity", "-2"),
    "wasted more than quantity": ({"supply_usage.csv": _replace_line("supply_usage", "C01,SUT-1,2,4,,1", "C01,SUT-1,2,4,,5")},
                                  "value.wasted_exceeds_quantity", "supply_usage.csv", 2, "wasted_quantity", "5"),
    "discharge before surgery": ({"cases.csv": _replace_line("cases", "2026-04-05,2026-04-06", "2026-04-05,2026-04-01")},
                                 "dates.discharge_before_surgery", "cases.csv", 8, "discharge_date", "2026-04-01"),
    "bad enum": ({"cases.csv": _replace_line("cases", "urgent,Medicare", "walk-in,Medicare")},
                 "value.enum", "cases.csv", 4, "admission_type", "walk-in"),
    "impossible code": ({"cases.csv": _replace_line("cases", "72,M,3,3", "72,M,7,3")},
                        "value.range", "cases.csv", 4, "asa_class", "7"),
    "non-UTF-8 file": ({"physicians.csv": TABLES["physicians"].replace("Dr. Ed Five", "Dr. Ed F\u00fcnf").encode("latin-1")},
                       "file.encoding", "physicians.csv", 5, None, None),
    "empty file": ({"procedures.csv": ""}, "file.empty", "procedures.csv", None, None, None),
    "header only": ({"cases.csv": TABLES["cases"].splitlines()[0] + "\n"}, "file.empty", "cases.csv", None, None, None),
    "missing required value": ({"physicians.csv": _replace_line("physicians", "P02,Dr. Ben Two", "P02,")},
                               "value.required", "physicians.csv", 2, "name", None),
}


@pytest.mark.parametrize("case", list(BAD_SOURCES), ids=list(BAD_SOURCES))
def test_bad_source_is_reported_precisely_and_changes_nothing(case, tmp_path, served_db, capsys):
    overrides, rule, file, row, column, value = BAD_SOURCES[case]
    source = write_fixture_source(tmp_path / "bad", overrides)
    before = _digest(served_db)
    code = main(["build", "--source", str(source), "--db", str(served_db)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert _digest(served_db) == before
    assert "Traceback" not in err
    assert f"[{rule}]" in err and file in err, err
    result = build(source, tmp_path / "other.duckdb")
    groups = [g for g in result.errors if g.rule == rule]
    assert groups, [g.render() for g in result.problems]
    example = groups[0].examples[0]
    assert example.file == file
    if row is not None:
        assert example.row == row, groups[0].render()
        assert f"row {row}" in err
    if column is not None:
        assert groups[0].column == column
        assert f"column {column}" in err
    if value is not None:
        assert example.value == value
        assert repr(value) in err
    assert not (tmp_path / "other.duckdb").exists()
    assert not list(tmp_path.glob(".*building*"))


def test_good_build_exits_zero_and_lists_warnings(tmp_path, capsys):
    source = write_fixture_source(tmp_path / "src", {
        "items.csv": TABLES["items"].replace("Suturex,Sutures,", "Suturex,,"),
        "physicians.csv": "\n".join(line + ",555" for line in TABLES["physicians"].splitlines()) + "\n",
    })
    code = main(["build", "--source", str(source), "--db", str(tmp_path / "db.duckdb")])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "[item.no_category]" in out.err and "[column.extra]" in out.err
    assert (tmp_path / "db.duckdb").exists()


def test_ragged_csv_row_is_located(tmp_path, served_db, capsys):
    source = write_fixture_source(tmp_path / "bad", {
        "procedures.csv": TABLES["procedures"].replace("LCH,Laparoscopic cholecystectomy,General Surgery",
                                                       "LCH,Laparoscopic, cholecystectomy,General Surgery")})
    before = _digest(served_db)
    assert main(["build", "--source", str(source), "--db", str(served_db)]) == 2
    err = capsys.readouterr().err
    assert "[file.unreadable] procedures.csv" in err and "row 2" in err and "4 fields" in err, err
    assert _digest(served_db) == before


def test_parquet_source_builds_the_same_figures(tmp_path, fixture_source):
    import duckdb

    pq = tmp_path / "pq"
    pq.mkdir()
    con = duckdb.connect()
    for name in TABLES:
        con.execute(f"copy (select * from read_csv('{fixture_source / (name + '.csv')}', all_varchar=true)) "
                    f"to '{pq / (name + '.parquet')}' (format parquet)")
    csv_db, pq_db = tmp_path / "csv.duckdb", tmp_path / "pq.duckdb"
    assert build(fixture_source, csv_db).ok and build(pq, pq_db).ok
    q = "select case_id, case_cost_usd from mart_case order by case_id"
    a = duckdb.connect(str(csv_db), read_only=True).execute(q).fetchall()
    b = duckdb.connect(str(pq_db), read_only=True).execute(q).fetchall()
    assert a == b and len(a) == 12


def test_build_metadata_is_recorded(fixture_db):
    import duckdb

    row = duckdb.connect(str(fixture_db), read_only=True).execute(
        "select source_kind, contract_version, cases_count, supply_usage_count, length(source_sha256) "
        "from mart_build_info").fetchone()
    assert row == ("real", "1.0", 12, 24, 64)


def test_killed_build_leaves_old_database_and_no_debris(tmp_path, served_db, fixture_source):
    """SIGKILL a build half-way (during the risk-model step), then build again."""
    before = _digest(served_db)
    env = dict(os.environ, SCORECARD_SLOW_BUILD_FOR_TESTS="5")
    proc = subprocess.Popen([sys.executable, "-m", "core", "build", "--source", str(fixture_source),
                             "--db", str(served_db)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not list(served_db.parent.glob(f".{served_db.name}.building-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _digest(served_db) == before
    assert build(fixture_source, served_db).ok
    assert not list(served_db.parent.glob(f".{served_db.name}.building-*"))


def test_missing_source_folder_is_a_clear_error(tmp_path, capsys):
    code = main(["build", "--source", str(tmp_path / "nope"), "--db", str(tmp_path / "x.duckdb")])
    assert code == 2
    assert "source folder does not exist" in capsys.readouterr().err


def test_warnings_are_kept_for_the_admin(tmp_path):
    import duckdb

    source = write_fixture_source(tmp_path / "src", {
        "items.csv": TABLES["items"].replace("Suturex,Sutures,", "Suturex,,")})
    assert build(source, tmp_path / "db.duckdb").ok
    rows = duckdb.connect(str(tmp_path / "db.duckdb"), read_only=True).execute(
        "select file_name, rule, column_name, rows_count, examples from mart_build_warning").fetchall()
    assert rows == [("items.csv", "item.no_category", "category", 1, "items.csv, row 3, column category")]
