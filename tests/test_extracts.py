"""Extracts as hospitals send them (README "Data contract"): the same source as CSV, Parquet and an
Excel workbook, with or without a mapping file renaming every header and using Y/N booleans and
day-first dates, builds to identical figures; and every contract rule is still refused, with the
sheet's own row numbers, for a workbook too."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from pathlib import Path

import duckdb
import pytest
from extract_support import (
    CASES_WITH_EQUITY,
    OPTIONAL_FILES,
    SETTINGS_WITH_PROGRAMME,
    hospital_header,
    marts,
    numeric_ids,
    rounded,
    write_hospital_csv,
    write_parquet,
    write_workbook,
)
from fixture_source import TABLES, write_fixture_source
from test_build import BAD_SOURCES

from core.__main__ import main
from core.build.pipeline import build
from core.build.sources import cell_text, workbook_sheets


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _figures(db_path: Path) -> dict[str, list]:
    """Every mart and every staging table, rows sorted: what two builds must agree on."""
    out = marts(db_path)
    con = duckdb.connect(str(db_path), read_only=True)
    for (name,) in con.execute(
        "select table_name from information_schema.tables where table_name like 'stg_%' order by 1"
    ).fetchall():
        out[name] = sorted((rounded(r) for r in con.execute(f"select * from {name}").fetchall()), key=repr)
    con.close()
    return out


@pytest.fixture(scope="module")
def full_source(tmp_path_factory) -> Path:
    """The fixture with every optional table and column, and numeric-looking physician ids."""
    files = {f"{n}.csv": numeric_ids(t) for n, t in TABLES.items()}
    files.update(OPTIONAL_FILES)
    files["cases.csv"] = numeric_ids(CASES_WITH_EQUITY)
    files["settings.csv"] = SETTINGS_WITH_PROGRAMME
    return write_fixture_source(tmp_path_factory.mktemp("full") / "csv", files)


def test_every_format_builds_to_identical_figures(tmp_path, full_source):
    csv_db = tmp_path / "csv.duckdb"
    result = build(full_source, csv_db)
    assert result.ok and not result.warnings, [g.render() for g in result.problems]
    expected = _figures(csv_db)
    assert len(expected["mart_case"]) == 12 and len(expected["stg_post_acute"]) == 3
    # The ids really are numeric-looking, so a reader that kept "101.0" would not match.
    assert ("101",) in duckdb.connect(str(csv_db), read_only=True).execute(
        "select physician_id from stg_physicians"
    ).fetchall()

    hospital_csv = write_hospital_csv(full_source, tmp_path / "hospital_csv")
    hospital_pq = write_parquet(hospital_csv, tmp_path / "hospital_pq")
    shutil.copy(hospital_csv / "mapping.toml", hospital_pq / "mapping.toml")
    variants = {
        "parquet": write_parquet(full_source, tmp_path / "pq"),
        "typed parquet": write_parquet(full_source, tmp_path / "pq_typed", typed=True),
        "excel": write_workbook(full_source, tmp_path / "xlsx" / "extract.xlsx").parent,
        "excel file": write_workbook(full_source, tmp_path / "xlsx_file" / "extract.xlsx"),
        "excel + mapping": write_workbook(full_source, tmp_path / "xlsx_map" / "extract.xlsx", hospital=True).parent,
        "csv + mapping": hospital_csv,
        "parquet + mapping": hospital_pq,
    }
    # The hospital's export really differs: no contract header, Y/N, day-first dates.
    text = (hospital_csv / "cases.csv").read_text()
    assert "case_id" not in text.splitlines()[0] and ",Y," in text and "/01/2026" in text
    # The typed export really keeps numbers and dates in their types (so they skip the text round trip).
    typed_lines = variants["typed parquet"] / "supply_usage.parquet"
    kinds = {r[0]: r[1] for r in duckdb.sql(f"describe select * from '{typed_lines}'").fetchall()}
    assert kinds["quantity"] in ("BIGINT", "DOUBLE") and kinds["line"] == "BIGINT", kinds
    for name, source in variants.items():
        target = tmp_path / f"{name}.duckdb"
        result = build(source, target)
        assert result.ok and not result.warnings, (name, [g.render() for g in result.problems])
        assert _figures(target) == expected, name


CSV_ONLY = {"non-UTF-8 file"}  # a workbook has no byte encoding to get wrong


@pytest.mark.parametrize("case", [c for c in BAD_SOURCES if c not in CSV_ONLY])
def test_bad_workbook_is_refused_with_sheet_rows_and_changes_nothing(case, tmp_path, capsys):
    overrides, rule, file, row, column, value = BAD_SOURCES[case]
    served = tmp_path / "served.duckdb"
    good = write_workbook(write_fixture_source(tmp_path / "good"), tmp_path / "goodbook" / "extract.xlsx")
    assert build(good, served).ok
    before = _digest(served)
    book = write_workbook(write_fixture_source(tmp_path / "bad", overrides), tmp_path / "badbook" / "extract.xlsx")
    code = main(["build", "--source", str(book.parent), "--db", str(served)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert _digest(served) == before
    assert "Traceback" not in err
    result = build(book.parent, tmp_path / "other.duckdb")
    groups = [g for g in result.errors if g.rule == rule]
    assert groups, [g.render() for g in result.problems]
    example = groups[0].examples[0] if groups[0].examples else None
    assert groups[0].file == f"[extract.xlsx]{file.rsplit('.', 1)[0]}"
    if row is not None:
        # The header is the sheet's row 1, so data row N is the sheet's row N + 1.
        assert example.row == row + 1, groups[0].render()
        assert f"row {row + 1}" in err
    if column is not None:
        assert groups[0].column == column
    if value is not None:
        assert example.value == value
    assert not (tmp_path / "other.duckdb").exists()


def test_messages_name_the_hospital_header_and_the_contract_column(tmp_path, capsys):
    cases = TABLES["cases"].replace("2026-02-10,2026-02-11,65", "2026-02-10,2026-02-11,sixty", 1)
    cases = cases.replace("elective,Medicare,100,false,true", "elective,Medicare,100,maybe,true", 1)
    source = write_fixture_source(tmp_path / "csv", {"cases.csv": cases})
    book = write_workbook(source, tmp_path / "book" / "extract.xlsx", hospital=True)
    result = build(book.parent, tmp_path / "db.duckdb")
    by_rule = {g.rule: g for g in result.errors}
    age, flag = by_rule["type.int"], by_rule["type.bool"]
    assert (age.file, age.column, age.header, age.examples[0].row, age.examples[0].value) == (
        "[extract.xlsx]cases",
        "patient_age",
        hospital_header("cases", "patient_age"),
        3,
        "sixty",
    )
    assert (flag.column, flag.header, flag.examples[0].row, flag.examples[0].value) == (
        "readmit_30d",
        "CAS Readmit 30D",
        2,
        "maybe",
    )
    assert main(["build", "--source", str(book.parent), "--db", str(tmp_path / "x.duckdb")]) == 2
    err = capsys.readouterr().err
    assert "column patient_age (header 'CAS Patient Age')" in err and "row 3" in err


def test_a_date_in_neither_format_names_the_mapping_format(tmp_path):
    source = write_hospital_csv(write_fixture_source(tmp_path / "csv"), tmp_path / "hospital")
    path = source / "cases.csv"
    path.write_text(path.read_text().replace("10/03/2026", "2026.03.10", 1))
    result = build(source, tmp_path / "db.duckdb")
    [group] = [g for g in result.errors if g.rule == "type.date"]
    assert group.header == "CAS Surgery Date" and group.examples[0].value == "2026.03.10"
    assert "%d/%m/%Y" in group.message and group.examples[0].row == 3


@pytest.mark.parametrize(
    "mapping, words",
    [
        ('[columns.nonsense]\n"A" = "b"\n', "no such table"),
        ('[columns.cases]\n"Case No" = "case_number"\n', "not a column of cases"),
        ('[booleans]\ntrue = ["Y"]\nfalse = ["y"]\n', "both true and false"),
        ('date_format = "dd/mm/yyyy"\n', "strftime"),
        ("this is = not toml [", "not valid TOML"),
        ("[colums.cases]\n", "unknown section"),
    ],
)
def test_a_broken_mapping_file_is_a_contract_error(mapping, words, tmp_path, capsys):
    source = write_fixture_source(tmp_path / "src")
    (source / "mapping.toml").write_text(mapping)
    assert main(["build", "--source", str(source), "--db", str(tmp_path / "db.duckdb")]) == 2
    err = capsys.readouterr().err
    assert "[source.mapping] mapping.toml" in err and words in err, err
    assert not (tmp_path / "db.duckdb").exists()


def test_workbook_beside_csv_files_is_ambiguous(tmp_path, capsys):
    source = write_fixture_source(tmp_path / "src")
    write_workbook(source, source / "extract.xlsx")
    assert main(["build", "--source", str(source), "--db", str(tmp_path / "db.duckdb")]) == 2
    assert "[source.ambiguous]" in capsys.readouterr().err


def test_an_extra_sheet_is_a_warning(tmp_path):
    import xlsxwriter

    book = write_workbook(write_fixture_source(tmp_path / "src"), tmp_path / "book" / "extract.xlsx")
    result = build(book.parent, tmp_path / "db.duckdb")
    assert result.ok and not result.warnings
    # A workbook holding only a notes sheet: every table is missing, and the notes sheet is named.
    wb = xlsxwriter.Workbook(str(tmp_path / "notes_only.xlsx"))
    wb.add_worksheet("notes").write(0, 0, "sent by the data warehouse team")
    wb.close()
    result = build(tmp_path / "notes_only.xlsx", tmp_path / "db2.duckdb")
    assert not result.ok and any(g.rule == "file.missing" and g.file == "[notes_only.xlsx]cases" for g in result.errors)
    assert any(g.rule == "sheet.extra" and g.file == "[notes_only.xlsx]notes" for g in result.warnings)


def test_excel_cells_come_back_as_the_text_a_csv_would_carry():
    assert cell_text(101.0) == "101" and cell_text(2.5) == "2.5" and cell_text(-10.0) == "-10"
    assert cell_text(True) == "true" and cell_text(False) == "false"
    assert cell_text(dt.date(2026, 3, 10)) == "2026-03-10"
    assert cell_text(dt.datetime(2026, 3, 10)) == "2026-03-10"
    assert cell_text("") is None and cell_text("   ") is None and cell_text(None) is None
    assert cell_text(" C01 ") == " C01 "  # trimming is the staging views' job, as for CSV


def test_boolean_words_and_file_names_come_from_the_mapping(tmp_path, fixture_db):
    """Words the contract does not know (oui/non) are refused, until the mapping declares them; a
    hospital's own file and sheet names are mapped to tables the same way."""
    import re

    def oui_non(text: str) -> str:
        return re.sub(r"(?<=,)(true|false)(?=,|\n)", lambda m: "oui" if m.group(1) == "true" else "non", text)

    files = {f"{n}.csv": oui_non(t) for n, t in TABLES.items()}
    files["cases.csv"], files["Surgical cases.csv"] = None, files["cases.csv"]
    source = write_fixture_source(tmp_path / "src", files)
    result = build(source, tmp_path / "refused.duckdb")
    assert ("file.missing", "cases.csv") in {(g.rule, g.file) for g in result.errors}  # not under that name
    (source / "mapping.toml").write_text('[files]\ncases = "Surgical cases"\n')
    result = build(source, tmp_path / "refused.duckdb")
    assert {(g.rule, g.file) for g in result.errors} >= {
        ("type.bool", "Surgical cases.csv"),
        ("type.bool", "items.csv"),
    }
    (source / "mapping.toml").write_text(
        '[files]\ncases = "Surgical cases"\n[booleans]\ntrue = ["Oui"]\nfalse = ["Non"]\n'
    )
    result = build(source, tmp_path / "db.duckdb")
    assert result.ok, [g.render() for g in result.problems]
    assert marts(tmp_path / "db.duckdb") == marts(fixture_db)
    book = write_workbook(source, tmp_path / "book" / "extract.xlsx")
    assert "Surgical cases" in workbook_sheets(book)
    shutil.copy(source / "mapping.toml", book.parent / "mapping.toml")
    result = build(book.parent, tmp_path / "book.duckdb")
    assert result.ok, [g.render() for g in result.problems]
    assert marts(tmp_path / "book.duckdb") == marts(fixture_db)


def test_a_sheet_whose_table_starts_lower_down_keeps_the_sheets_row_numbers(tmp_path):
    """A title above the table and blank rows inside it: messages still give the sheet's own rows."""
    import xlsxwriter

    from core.build.sources import read_sheet

    path = tmp_path / "book.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("procedures")
    ws.write_row(2, 1, ["procedure_code", "name", "service_line"])  # header on row 3, from column B
    ws.write_row(3, 1, ["TKA", "Total knee replacement", "Orthopaedics"])
    ws.write_row(5, 1, ["LCH", "Laparoscopic cholecystectomy", "General Surgery"])  # row 5 left blank
    wb.close()
    sheet = read_sheet(path, "procedures")
    assert sheet.header == ["procedure_code", "name", "service_line"]
    assert sheet.row_numbers == [4, 6] and sheet.rows[1][0] == "LCH"


def test_a_missing_mapped_header_is_named(tmp_path):
    source = write_hospital_csv(write_fixture_source(tmp_path / "csv"), tmp_path / "hospital")
    path = source / "items.csv"
    path.write_text(path.read_text().replace("ITE Unit Cost", "ITE Price", 1))
    result = build(source, tmp_path / "db.duckdb")
    [group] = [g for g in result.errors if g.rule == "column.missing"]
    assert (group.file, group.column, group.header) == ("items.csv", "unit_cost", "ITE Unit Cost")
    assert "mapping.toml expects the header 'ITE Unit Cost'" in group.render()
    assert any(g.rule == "column.extra" and g.column == "ITE Price" for g in result.warnings)


PARQUET_SKIPS = {
    "non-UTF-8 file",  # Parquet strings are UTF-8 by the format's own rule
    "missing file",  # names the file the contract asks for, whatever the format
}


@pytest.mark.parametrize("case", [c for c in BAD_SOURCES if c not in PARQUET_SKIPS])
def test_bad_typed_parquet_is_refused_with_the_same_rule_row_and_value(case, tmp_path):
    """A Parquet extract whose numbers and dates are typed (checked in their type, core.build.validate)
    is refused with the rule, row, column and value the same extract as CSV gets."""
    overrides, rule, file, row, column, value = BAD_SOURCES[case]
    csv = write_fixture_source(tmp_path / "bad", overrides)
    source = write_parquet(csv, tmp_path / "bad_pq", typed=True)
    result = build(source, tmp_path / "other.duckdb")
    assert not result.ok
    groups = [g for g in result.errors if g.rule == rule]
    assert groups, [g.render() for g in result.problems]
    assert groups[0].file == file.replace(".csv", ".parquet")
    example = groups[0].examples[0] if groups[0].examples else None
    if row is not None:
        assert example.row == row, groups[0].render()
    if column is not None:
        assert groups[0].column == column
    if value is not None:
        assert example.value == value
    assert not (tmp_path / "other.duckdb").exists()


def _typed_parquet(csv_source: Path, out: Path, casts: dict[str, dict[str, str]]) -> Path:
    """The source as Parquet with the columns `casts` names given those SQL expressions (each table's
    other columns as DuckDB's CSV reader types them)."""
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    for path in sorted(csv_source.glob("*.csv")):
        replace = ", ".join(f"{expr} as {col}" for col, expr in casts.get(path.stem, {}).items())
        select = f"* replace ({replace})" if replace else "*"
        con.execute(f"copy (select {select} from read_csv('{path}')) to '{out / (path.stem + '.parquet')}'")
    con.close()
    return out


def test_decimal_unsigned_and_32_bit_float_columns_build_the_csv_figures(tmp_path):
    """A DECIMAL or unsigned column is kept in its type; a 32-bit FLOAT is read as its text (cast to a
    double it would be 0.10000000149 for 0.1); either way the figures are the CSV's."""
    csv = write_fixture_source(tmp_path / "csv")
    assert build(csv, tmp_path / "csv.duckdb").ok
    source = _typed_parquet(
        csv,
        tmp_path / "pq",
        {
            "items": {
                "unit_cost": "cast(unit_cost as decimal(10, 2))",
                "approved_sources": "approved_sources::uinteger",
            },
            "supply_usage": {"quantity": "quantity::utinyint", "unit_cost": "cast(unit_cost as float)"},
            "drug_usage": {"cost": "cast(cost as float)"},
        },
    )
    kinds = {r[0]: r[1] for r in duckdb.sql(f"describe select * from '{source / 'items.parquet'}'").fetchall()}
    assert kinds["unit_cost"].startswith("DECIMAL") and kinds["approved_sources"] == "UINTEGER"
    result = build(source, tmp_path / "pq.duckdb")
    assert result.ok, [g.render() for g in result.problems]
    assert _figures(tmp_path / "pq.duckdb") == _figures(tmp_path / "csv.duckdb")


@pytest.mark.parametrize(
    ("table", "column", "expr", "rule", "value"),
    [
        (
            "cases",
            "surgery_date",
            "case when case_id = 'C03' then 'infinity'::date else surgery_date end",
            "type.date",
            "infinity",
        ),
        (
            "supply_usage",
            "unit_cost",
            "case when case_id = 'C02' then 'nan'::double else unit_cost end",
            "value.finite",
            "nan",
        ),
        (
            "supply_usage",
            "line",
            "case when case_id = 'C02' then 3000000000 else line end",
            "value.range",
            "3000000000",
        ),
    ],
    ids=["infinite date", "NaN cost", "line beyond 32 bits"],
)
def test_a_typed_value_no_text_could_carry_is_refused(table, column, expr, rule, value, tmp_path):
    """What a typed Parquet column can hold and no ISO date or plain number in a CSV would: reported with
    its row and value like any broken rule, before staging could fail or sum a NaN."""
    source = _typed_parquet(write_fixture_source(tmp_path / "csv"), tmp_path / "pq", {table: {column: expr}})
    result = build(source, tmp_path / "out.duckdb")
    assert not result.ok
    groups = [g for g in result.errors if g.rule == rule and g.column == column]
    assert groups, [g.render() for g in result.problems]
    assert groups[0].file == f"{table}.parquet" and groups[0].examples[0].value == value
    assert not (tmp_path / "out.duckdb").exists()


def test_a_typed_parquet_with_a_mapping_builds_the_csv_figures(tmp_path, full_source):
    """The hospital's export (its headers, Y/N, day-first dates) as typed Parquet with its mapping file:
    the mapping renames typed columns too and rewrites only the text ones."""
    expected_db = tmp_path / "csv.duckdb"
    assert build(full_source, expected_db).ok
    hospital_csv = write_hospital_csv(full_source, tmp_path / "hospital_csv")
    source = write_parquet(hospital_csv, tmp_path / "hospital_pq", typed=True)
    shutil.copy(hospital_csv / "mapping.toml", source / "mapping.toml")
    result = build(source, tmp_path / "pq.duckdb")
    assert result.ok and not result.warnings, [g.render() for g in result.problems]
    assert _figures(tmp_path / "pq.duckdb") == _figures(expected_db)
