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
from extract_support import CASES_WITH_EQUITY, OPTIONAL, OPTIONAL_FILES, SETTINGS_WITH_PROGRAMME, marts
from fixture_source import TABLES, write_fixture_source

from core.__main__ import main
from core.build.pipeline import build

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


def _opt(table: str, old: str, new: str) -> dict[str, str]:
    text = OPTIONAL[table]
    assert old in text, old
    return {f"{table}.csv": text.replace(old, new, 1)}


# (files to override, rule, file, row, column, value) — rows count data rows from 1.
BAD_SOURCES = {
    "missing file": ({"cases.csv": None}, "file.missing", "cases.csv", None, None, None),
    "missing column": (
        {"items.csv": TABLES["items"].replace(",unit_cost,", ",price,")},
        "column.missing",
        "items.csv",
        None,
        "unit_cost",
        None,
    ),
    "wrong type": (
        {"cases.csv": _replace_line("cases", "2026-02-10,2026-02-11,65", "2026-02-10,2026-02-11,sixty")},
        "type.int",
        "cases.csv",
        2,
        "patient_age",
        "sixty",
    ),
    "bad date": (
        {"cases.csv": _replace_line("cases", "C03,P01,TKA,2026-03-10", "C03,P01,TKA,10/03/2026")},
        "type.date",
        "cases.csv",
        3,
        "surgery_date",
        "10/03/2026",
    ),
    "duplicate key": (
        {"physicians.csv": TABLES["physicians"] + "P02,Dr. Dup,Orthopaedic Surgery,Orthopaedics,\n"},
        "key.duplicate",
        "physicians.csv",
        7,
        "physician_id",
        "P02",
    ),
    "duplicate composite key": (
        {"supply_usage.csv": TABLES["supply_usage"] + "C12,SUT-1,1,1,,0\n"},
        "key.duplicate",
        "supply_usage.csv",
        25,
        "case_id/item_id/line",
        "C12/SUT-1/1",
    ),
    "unknown foreign key": (
        {"supply_usage.csv": _replace_line("supply_usage", "C05,GLV-1,2", "C05,GLV-9,2")},
        "fk.unknown",
        "supply_usage.csv",
        12,
        "item_id",
        "GLV-9",
    ),
    "negative cost": (
        {"items.csv": _replace_line("items", "Sutures,10,", "Sutures,-10,")},
        "value.negative",
        "items.csv",
        3,
        "unit_cost",
        "-10",
    ),
    "negative quantity": (
        {"supply_usage.csv": _replace_line("supply_usage", "C04,SUT-1,2,2,,0", "C04,SUT-1,2,-2,,0")},
        "value.negative",
        "supply_usage.csv",
        10,
        "quantity",
        "-2",
    ),
    "wasted more than quantity": (
        {"supply_usage.csv": _replace_line("supply_usage", "C01,SUT-1,2,4,,1", "C01,SUT-1,2,4,,5")},
        "value.wasted_exceeds_quantity",
        "supply_usage.csv",
        2,
        "wasted_quantity",
        "5",
    ),
    "discharge before surgery": (
        {"cases.csv": _replace_line("cases", "2026-04-05,2026-04-06", "2026-04-05,2026-04-01")},
        "dates.discharge_before_surgery",
        "cases.csv",
        8,
        "discharge_date",
        "2026-04-01",
    ),
    "bad enum": (
        {"cases.csv": _replace_line("cases", "urgent,Medicare", "walk-in,Medicare")},
        "value.enum",
        "cases.csv",
        4,
        "admission_type",
        "walk-in",
    ),
    "impossible code": (
        {"cases.csv": _replace_line("cases", "72,M,3,3", "72,M,7,3")},
        "value.range",
        "cases.csv",
        4,
        "asa_class",
        "7",
    ),
    "non-UTF-8 file": (
        {"physicians.csv": TABLES["physicians"].replace("Dr. Ed Five", "Dr. Ed F\u00fcnf").encode("latin-1")},
        "file.encoding",
        "physicians.csv",
        5,
        None,
        None,
    ),
    "empty file": ({"procedures.csv": ""}, "file.empty", "procedures.csv", None, None, None),
    "header only": ({"cases.csv": TABLES["cases"].splitlines()[0] + "\n"}, "file.empty", "cases.csv", None, None, None),
    "missing required value": (
        {"physicians.csv": _replace_line("physicians", "P02,Dr. Ben Two", "P02,")},
        "value.required",
        "physicians.csv",
        2,
        "name",
        None,
    ),
    # The optional tables and columns, with the same rigour.
    "drugs: duplicate drug": (
        {"drugs.csv": OPTIONAL["drugs"] + "Cefazolin,Antibiotic,false,6\n"},
        "key.duplicate",
        "drugs.csv",
        4,
        "drug_name",
        "Cefazolin",
    ),
    "drugs: bad boolean": (
        _opt("drugs", "Vancomycin,Antibiotic,false", "Vancomycin,Antibiotic,maybe"),
        "type.bool",
        "drugs.csv",
        2,
        "preferred",
        "maybe",
    ),
    "drugs: negative cost": (
        _opt("drugs", "false,50", "false,-50"),
        "value.negative",
        "drugs.csv",
        2,
        "unit_cost",
        "-50",
    ),
    "drugs: missing column": (
        {"drugs.csv": OPTIONAL["drugs"].replace(",preferred,", ",formulary,")},
        "column.missing",
        "drugs.csv",
        None,
        "preferred",
        None,
    ),
    "post_acute: unknown case": (
        _opt("post_acute", "C06,1,readmission", "C99,1,readmission"),
        "fk.unknown",
        "post_acute.csv",
        3,
        "case_id",
        "C99",
    ),
    "post_acute: bad setting": (
        _opt("post_acute", "C01,1,snf", "C01,1,hospice"),
        "value.enum",
        "post_acute.csv",
        1,
        "setting",
        "hospice",
    ),
    "post_acute: bad date": (
        _opt("post_acute", "2026-01-25", "25/01/2026"),
        "type.date",
        "post_acute.csv",
        2,
        "service_date",
        "25/01/2026",
    ),
    "post_acute: negative cost": (
        _opt("post_acute", "2026-01-15,3000", "2026-01-15,-3000"),
        "value.negative",
        "post_acute.csv",
        1,
        "cost",
        "-3000",
    ),
    "post_acute: duplicate line": (
        {"post_acute.csv": OPTIONAL["post_acute"] + "C01,2,snf,2026-01-20,10\n"},
        "key.duplicate",
        "post_acute.csv",
        4,
        "case_id/line",
        "C01/2",
    ),
    "targets: unknown procedure": (
        _opt("targets", "LCH,9000", "THA,9000"),
        "fk.unknown",
        "targets.csv",
        2,
        "procedure_code",
        "THA",
    ),
    "targets: not a number": (
        _opt("targets", "TKA,25000", "TKA,25k"),
        "type.number",
        "targets.csv",
        1,
        "episode_target_usd",
        "25k",
    ),
    "targets: duplicate": (
        {"targets.csv": OPTIONAL["targets"] + "TKA,1\n"},
        "key.duplicate",
        "targets.csv",
        3,
        "procedure_code",
        "TKA",
    ),
    "cases: dual_eligible not a boolean": (
        {"cases.csv": CASES_WITH_EQUITY.replace(",Black,true", ",Black,sometimes", 1)},
        "type.bool",
        "cases.csv",
        3,
        "dual_eligible",
        "sometimes",
    ),
    "settings: savings target not a number": (
        {"settings.csv": SETTINGS_WITH_PROGRAMME.replace("250000", "a lot")},
        "settings.number",
        "settings.csv",
        5,
        "value",
        "a lot",
    ),
    "settings: programme start not a date": (
        {"settings.csv": SETTINGS_WITH_PROGRAMME.replace("2026-01-01", "Jan 2026")},
        "settings.date",
        "settings.csv",
        6,
        "value",
        "Jan 2026",
    ),
    "drug line without a line number": (
        {"drug_usage.csv": _replace_line("drug_usage", "C06,1,", "C06,,")},
        "value.required",
        "drug_usage.csv",
        3,
        "line",
        None,
    ),
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
    source = write_fixture_source(
        tmp_path / "src",
        {
            "items.csv": TABLES["items"].replace("Suturex,Sutures,", "Suturex,,"),
            "physicians.csv": "\n".join(line + ",555" for line in TABLES["physicians"].splitlines()) + "\n",
        },
    )
    code = main(["build", "--source", str(source), "--db", str(tmp_path / "db.duckdb")])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "[item.no_category]" in out.err and "[column.extra]" in out.err
    assert (tmp_path / "db.duckdb").exists()


def test_ragged_csv_row_is_located(tmp_path, served_db, capsys):
    source = write_fixture_source(
        tmp_path / "bad",
        {
            "procedures.csv": TABLES["procedures"].replace(
                "LCH,Laparoscopic cholecystectomy,General Surgery", "LCH,Laparoscopic, cholecystectomy,General Surgery"
            )
        },
    )
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
        con.execute(
            f"copy (select * from read_csv('{fixture_source / (name + '.csv')}', all_varchar=true)) "
            f"to '{pq / (name + '.parquet')}' (format parquet)"
        )
    csv_db, pq_db = tmp_path / "csv.duckdb", tmp_path / "pq.duckdb"
    assert build(fixture_source, csv_db).ok and build(pq, pq_db).ok
    q = "select case_id, case_cost_usd from mart_case order by case_id"
    a = duckdb.connect(str(csv_db), read_only=True).execute(q).fetchall()
    b = duckdb.connect(str(pq_db), read_only=True).execute(q).fetchall()
    assert a == b and len(a) == 12


def test_build_metadata_is_recorded(fixture_db):
    import duckdb

    row = (
        duckdb.connect(str(fixture_db), read_only=True)
        .execute(
            "select source_kind, contract_version, cases_count, supply_usage_count, length(source_sha256) "
            "from mart_build_info"
        )
        .fetchone()
    )
    assert row == ("real", "1.0", 12, 24, 64)


def test_killed_build_leaves_old_database_and_no_debris(tmp_path, served_db, fixture_source):
    """SIGKILL a build half-way (during the risk-model step), then build again."""
    before = _digest(served_db)
    env = dict(os.environ, SCORECARD_SLOW_BUILD_FOR_TESTS="5")
    proc = subprocess.Popen(
        [sys.executable, "-m", "core", "build", "--source", str(fixture_source), "--db", str(served_db)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
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

    source = write_fixture_source(
        tmp_path / "src", {"items.csv": TABLES["items"].replace("Suturex,Sutures,", "Suturex,,")}
    )
    assert build(source, tmp_path / "db.duckdb").ok
    rows = (
        duckdb.connect(str(tmp_path / "db.duckdb"), read_only=True)
        .execute("select file_name, rule, column_name, rows_count, examples from mart_build_warning")
        .fetchall()
    )
    assert rows == [("items.csv", "item.no_category", "category", 1, "items.csv, row 3, column category")]


def test_source_without_line_columns_builds_the_same_figures(tmp_path, fixture_db):
    def drop_line(text: str) -> str:
        rows = [line.split(",") for line in text.splitlines()]
        at = rows[0].index("line")
        return "\n".join(",".join(r[:at] + r[at + 1 :]) for r in rows) + "\n"

    source = write_fixture_source(
        tmp_path / "noline",
        {"supply_usage.csv": drop_line(TABLES["supply_usage"]), "drug_usage.csv": drop_line(TABLES["drug_usage"])},
    )
    target = tmp_path / "noline.duckdb"
    result = build(source, target)
    assert result.ok, [g.render() for g in result.problems]
    assert marts(target) == marts(fixture_db)


def test_without_line_a_repeated_item_is_two_lines_not_a_duplicate(tmp_path):
    """With no line column there is no duplicate-line rule: the same item twice is two lines 1, 2."""
    import duckdb

    text = "case_id,item_id,quantity\nC01,SUT-1,1\nC02,SUT-1,2\nC01,SUT-1,3\n"
    source = write_fixture_source(tmp_path / "src", {"supply_usage.csv": text})
    assert build(source, tmp_path / "db.duckdb").ok
    rows = (
        duckdb.connect(str(tmp_path / "db.duckdb"), read_only=True)
        .execute("select case_id, line_number, quantity from stg_supply_usage order by case_id, line_number")
        .fetchall()
    )
    assert rows == [("C01", 1, 1.0), ("C01", 2, 3.0), ("C02", 1, 2.0)]


def test_optional_tables_are_empty_views_when_absent_and_typed_when_given(tmp_path, fixture_db):
    import duckdb

    con = duckdb.connect(str(fixture_db), read_only=True)
    for view in ("stg_drugs", "stg_post_acute", "stg_targets"):
        assert con.execute(f"select count(*) from {view}").fetchone()[0] == 0
    assert (
        con.execute(
            "select count(*) from stg_cases where race_ethnicity is not null or dual_eligible_flag is not null"
        ).fetchone()[0]
        == 0
    )
    source = write_fixture_source(
        tmp_path / "full", {**OPTIONAL_FILES, "cases.csv": CASES_WITH_EQUITY, "settings.csv": SETTINGS_WITH_PROGRAMME}
    )
    result = build(source, tmp_path / "full.duckdb")
    assert result.ok and not result.warnings, [g.render() for g in result.problems]
    con = duckdb.connect(str(tmp_path / "full.duckdb"), read_only=True)
    assert con.execute(
        "select drug_name, preferred_flag, drug_unit_cost_usd from stg_drugs order by drug_name"
    ).fetchall() == [("Cefazolin", True, 5.0), ("Tranexamic acid", True, None), ("Vancomycin", False, 50.0)]
    assert con.execute(
        "select case_id, line_number, post_acute_setting, service_date, post_acute_cost_usd "
        "from stg_post_acute order by case_id, line_number"
    ).fetchall()[0] == ("C01", 1, "snf", __import__("datetime").date(2026, 1, 15), 3000.0)
    assert con.execute("select * from stg_targets order by 1").fetchall() == [("LCH", 9000.0), ("TKA", 25000.0)]
    assert con.execute("select race_ethnicity, dual_eligible_flag from stg_cases where case_id = 'C03'").fetchone() == (
        "Black",
        True,
    )
    assert con.execute(
        "select setting_value from stg_settings where setting_key = 'program_start_date'"
    ).fetchone() == ("2026-01-01",)


def test_a_drug_off_the_formulary_is_a_warning(tmp_path):
    drugs = OPTIONAL["drugs"].replace("Vancomycin,Antibiotic,false,50\n", "")
    result = build(write_fixture_source(tmp_path / "src", {"drugs.csv": drugs}), tmp_path / "db.duckdb")
    assert result.ok
    [group] = [g for g in result.warnings if g.rule == "fk.unknown"]
    assert (group.file, group.column, group.examples[0].row, group.examples[0].value) == (
        "drug_usage.csv",
        "drug_name",
        3,
        "Vancomycin",
    )
