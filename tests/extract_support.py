"""Extracts as hospitals send them, for tests: the fixture's optional tables, and writers that turn a
CSV source into Parquet, into an Excel workbook (typed cells, as Excel itself stores them) and into
a hospital-flavoured export with its own headers, Y/N booleans, day-first dates and a mapping.toml."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

from fixture_source import TABLES

from core.build import contract

# The optional tables and columns of the contract (README "Data contract"), good versions.
OPTIONAL = {
    "drugs": """drug_name,drug_class,preferred,unit_cost
Cefazolin,Antibiotic,true,5
Vancomycin,Antibiotic,false,50
Tranexamic acid,Antifibrinolytic,true,
""",
    "post_acute": """case_id,line,setting,service_date,cost
C01,1,snf,2026-01-15,3000
C01,2,home_health,2026-01-25,400
C06,1,readmission,2026-03-10,8000
""",
    "targets": """procedure_code,episode_target_usd
TKA,25000
LCH,9000
""",
}
OPTIONAL_FILES = {f"{name}.csv": text for name, text in OPTIONAL.items()}
CASES_WITH_EQUITY = (
    "\n".join(
        line + (",race_ethnicity,dual_eligible" if i == 0 else (",Black,true" if i % 3 == 0 else ",White,false"))
        for i, line in enumerate(TABLES["cases"].splitlines())
    )
    + "\n"
)
SETTINGS_WITH_PROGRAMME = TABLES["settings"] + "savings_target_usd,250000\nprogram_start_date,2026-01-01\n"


# A hospital's own headers for every contract column: "Case Id" style, never the contract's names.
def hospital_header(table: str, column: str) -> str:
    """The header a hospital's export might use for `column`: different from the contract's name."""
    return f"{table[:3].upper()} {column.replace('_', ' ').title()}"


def numeric_ids(text: str) -> str:
    """The fixture with numeric-looking physician ids (P01 -> 101), as many hospital systems have:
    a workbook stores them as numbers, and the reader must bring them back as '101', not '101.0'."""
    return re.sub(r"(?<=[,\n])P0(\d)(?=[,\n])", r"10\1", "\n" + text)[1:]


def read_source(folder: Path, every_file: bool = False) -> dict[str, list[list[str]]]:
    """Every CSV file of a source as rows of text (header first), by table name (or by file stem)."""
    out = {}
    for path in sorted(folder.glob("*.csv")):
        if every_file or path.stem in contract.TABLES:
            out[path.stem] = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    return out


def write_parquet(csv_source: Path, out: Path, *, typed: bool = False) -> Path:
    """The same source as Parquet files: all text, as an export tool that keeps values as given, or
    with `typed` each column in the type DuckDB's CSV reader detects (whole numbers, doubles, dates,
    booleans, text), as a database export writes them."""
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    for path in sorted(csv_source.glob("*.csv")):
        reader = f"read_csv('{path}')" if typed else f"read_csv('{path}', all_varchar=true)"
        con.execute(f"copy (select * from {reader}) to '{out / (path.stem + '.parquet')}' (format parquet)")
    con.close()
    return out


def _cell_kind(table: str, column: str) -> str:
    t = contract.TABLES.get(table)
    if t is None or column not in t.column_names:
        return contract.TEXT
    return t.column(column).type


def write_workbook(csv_source: Path, book: Path, *, hospital: bool = False) -> Path:
    """The source as one workbook with one sheet per table, cells typed as Excel stores them: numbers
    as numbers, dates as date cells, booleans as TRUE/FALSE. With `hospital`, headers are the
    hospital's own, booleans are Y/N text and dates day-first text, and a mapping.toml is written beside."""
    import xlsxwriter

    book.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(book), {"strings_to_numbers": False})
    date_cell = wb.add_format({"num_format": "yyyy-mm-dd"})
    for table, rows in read_source(csv_source, every_file=True).items():
        ws = wb.add_worksheet(table)
        if not rows:
            continue
        header = rows[0]
        ws.write_row(0, 0, [hospital_header(table, h) if hospital else h for h in header])
        for r, row in enumerate(rows[1:], start=1):
            for c, value in enumerate(row):
                _write_cell(
                    ws, r, c, value, _cell_kind(table, header[c] if c < len(header) else ""), date_cell, hospital
                )
    wb.close()
    if hospital:
        write_mapping(csv_source, book.parent)
    return book


def _write_cell(ws, r: int, c: int, value: str, kind: str, date_cell, hospital: bool) -> None:
    if value == "":
        return
    low = value.strip().lower()
    if kind == contract.BOOL and low in contract.TRUE_WORDS + contract.FALSE_WORDS:
        truth = low in contract.TRUE_WORDS
        if hospital:
            ws.write_string(r, c, "Y" if truth else "N")
        else:
            ws.write_boolean(r, c, truth)
        return
    if kind == contract.DATE and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        day = dt.date.fromisoformat(value)
        if hospital:
            ws.write_string(r, c, day.strftime("%d/%m/%Y"))
        else:
            ws.write_datetime(r, c, dt.datetime(day.year, day.month, day.day), date_cell)
        return
    if re.fullmatch(r"-?\d+(\.\d+)?", value) and not re.fullmatch(r"0\d+", value):
        ws.write_number(r, c, float(value))
        return
    ws.write_string(r, c, value)


def write_mapping(csv_source: Path, folder: Path) -> Path:
    """A mapping.toml renaming every header of the hospital's export back to the contract's."""
    lines = ['date_format = "%d/%m/%Y"', "", "[booleans]", 'true = ["Y"]', 'false = ["N"]', ""]
    for table, rows in read_source(csv_source).items():
        if not rows:
            continue
        lines.append(f"[columns.{table}]")
        lines += [f'"{hospital_header(table, h)}" = "{h}"' for h in rows[0]]
        lines.append("")
    path = folder / "mapping.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_hospital_csv(csv_source: Path, out: Path) -> Path:
    """The source as CSV files with the hospital's headers, Y/N booleans, day-first dates and a mapping."""
    out.mkdir(parents=True, exist_ok=True)
    for table, rows in read_source(csv_source).items():
        header = rows[0]
        body = []
        for row in rows[1:]:
            cells = []
            for c, value in enumerate(row):
                kind = _cell_kind(table, header[c])
                low = value.strip().lower()
                if kind == contract.BOOL and low in contract.TRUE_WORDS + contract.FALSE_WORDS:
                    value = "Y" if low in contract.TRUE_WORDS else "N"
                elif kind == contract.DATE and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                    value = dt.date.fromisoformat(value).strftime("%d/%m/%Y")
                cells.append(value)
            body.append(cells)
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow([hospital_header(table, h) for h in header])
        writer.writerows(body)
        (out / f"{table}.csv").write_text(buf.getvalue(), encoding="utf-8")
    write_mapping(csv_source, out)
    return out


def marts(db_path: Path) -> dict[str, list]:
    """Every mart's rows, sorted, so two builds can be compared figure for figure."""
    import duckdb

    con = duckdb.connect(str(db_path), read_only=True)
    names = [
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables where table_name like 'mart_%' "
            "and table_name <> 'mart_build_info' order by 1"
        ).fetchall()
    ]
    out = {n: sorted((rounded(r) for r in con.execute(f"select * from {n}").fetchall()), key=repr) for n in names}
    con.close()
    return out


def rounded(row: tuple) -> tuple:
    """A row with its floats to 12 significant digits: DuckDB's parallel sums may add in another order
    from one build to the next (1.8 against 1.7999999999999998), which is no difference in a figure."""
    return tuple(float(f"{v:.12g}") if isinstance(v, float) else v for v in row)
