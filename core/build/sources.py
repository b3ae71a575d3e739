"""Where a source's tables come from: CSV or Parquet files, or one Excel workbook, and its mapping file.

Hospitals send extracts as their systems export them (README "Data contract"): a folder of CSV or
Parquet files, or one workbook with one sheet per table, with their own column headers and their own
words for yes and no. This module finds each table in such a source and turns it into columns named
as the contract names them (text, but for a Parquet column already in the contract's type:
core.build.validate), so `validate` checks every format with the same SQL rules and `pipeline` builds
every format to the same figures.

The optional `mapping.toml` beside the extract says how the hospital's export differs:

    date_format = "%d/%m/%Y"          # dates in text cells (ISO 8601 is always accepted too)

    [booleans]                        # words for true and false (true/false/yes/no/1/0 always work)
    true = ["Y"]
    false = ["N"]

    [files]                           # table -> the hospital's file stem or sheet name
    cases = "Surgical cases"

    [columns.cases]                   # the hospital's header -> the contract's column
    "Case No" = "case_id"

Excel cells keep their types: a numeric id comes back as text without a trailing ".0", a date cell
as an ISO date, a TRUE/FALSE cell as true/false. Row numbers in messages are the sheet's own rows
(the header is row 1 when it starts in A1), so an admin can go straight to the cell.
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from core.build import contract

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
MAPPING_FILE = "mapping.toml"
_MAPPING_KEYS = {"date_format", "booleans", "files", "columns"}


@dataclass(frozen=True)
class Mapping:
    """How one hospital's export differs from the contract (see the module docstring)."""

    columns: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> {header: contract column}
    files: dict[str, str] = field(default_factory=dict)  # table -> file stem or sheet name
    true_words: tuple[str, ...] = ()
    false_words: tuple[str, ...] = ()
    date_format: str | None = None

    def rename(self, table: str, header: str) -> str:
        """The contract's name for the hospital's `header` in `table` (the header itself if unmapped)."""
        return self.columns.get(table, {}).get(header, header)

    def header_for(self, table: str, column: str) -> str | None:
        """The hospital's header that was renamed to `column`, or None when the column kept its name."""
        for header, target in self.columns.get(table, {}).items():
            if target == column and header != column:
                return header
        return None

    def stem(self, table: str) -> str:
        """The file stem or sheet name that holds `table`."""
        return self.files.get(table, table)


class MappingError(ValueError):
    """The mapping file cannot be used; the message says why, in the admin's words."""


def load_mapping(folder: Path) -> Mapping | None:
    """The source's mapping file, parsed and checked against the contract; None when there is none."""
    path = folder / MAPPING_FILE
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise MappingError(f"is not valid TOML: {err}") from None
    unknown = sorted(set(data) - _MAPPING_KEYS)
    if unknown:
        raise MappingError(f"unknown section(s) {', '.join(unknown)}; use {', '.join(sorted(_MAPPING_KEYS))}")
    columns: dict[str, dict[str, str]] = {}
    for table, renames in (data.get("columns") or {}).items():
        if table not in contract.TABLES:
            raise MappingError(f"[columns.{table}]: no such table in the contract")
        if not isinstance(renames, dict):
            raise MappingError(f"[columns.{table}] must map the hospital's headers to contract columns")
        known = contract.TABLES[table].column_names
        for header, target in renames.items():
            if not isinstance(target, str) or target not in known:
                raise MappingError(
                    f"[columns.{table}] {header!r} = {target!r}: not a column of {table} ({', '.join(known)})"
                )
        targets = list(renames.values())
        dupes = sorted({t for t in targets if targets.count(t) > 1})
        if dupes:
            raise MappingError(f"[columns.{table}] maps several headers to {', '.join(dupes)}")
        columns[table] = dict(renames)
    files = data.get("files") or {}
    for table, stem in files.items():
        if table not in contract.TABLES or not isinstance(stem, str) or not stem.strip():
            raise MappingError(f"[files] {table} = {stem!r}: expected a contract table = a file or sheet name")
    booleans = data.get("booleans") or {}
    if set(booleans) - {"true", "false"}:
        raise MappingError("[booleans] takes only `true = [...]` and `false = [...]`")
    true_words = tuple(str(w).strip().lower() for w in booleans.get("true", []))
    false_words = tuple(str(w).strip().lower() for w in booleans.get("false", []))
    if set(true_words) & set(false_words):
        raise MappingError("[booleans] the same word is both true and false")
    date_format = data.get("date_format")
    if date_format is not None:
        if not isinstance(date_format, str) or "%" not in date_format:
            raise MappingError(f'date_format {date_format!r} must be a strftime format such as "%d/%m/%Y"')
        try:
            dt.date(2026, 1, 31).strftime(date_format)
        except ValueError as err:
            raise MappingError(f"date_format {date_format!r}: {err}") from None
    return Mapping(columns, {t: s.strip() for t, s in files.items()}, true_words, false_words, date_format)


def find_workbook(source: Path) -> Path | None:
    """The workbook a source is: the path itself, or the one workbook in the folder."""
    if source.is_file() and source.suffix.lower() in WORKBOOK_SUFFIXES:
        return source
    if source.is_dir():
        books = sorted(
            p
            for p in source.iterdir()
            if p.is_file() and p.suffix.lower() in WORKBOOK_SUFFIXES and not p.name.startswith(("~$", "."))
        )
        if len(books) == 1:
            return books[0]
        if len(books) > 1:
            raise MappingError(f"several workbooks ({', '.join(p.name for p in books)}): keep one")
    return None


def cell_text(value) -> str | None:
    """An Excel cell as the text a CSV would carry: ids without '.0', ISO dates, true/false."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    return text if text.strip() else None


@dataclass
class Sheet:
    """One sheet read as text: header, rows and each row's number on the sheet."""

    name: str
    header: list[str]
    rows: list[list[str | None]]
    row_numbers: list[int]


def workbook_sheets(path: Path) -> list[str]:
    """The sheet names of a workbook, in order."""
    from python_calamine import CalamineWorkbook

    return list(CalamineWorkbook.from_path(str(path)).sheet_names)


def read_sheet(path: Path, name: str) -> Sheet:
    """One sheet as text. The header is the first non-blank row; blank rows are skipped."""
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    grid = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
    header: list[str] = []
    rows: list[list[str | None]] = []
    numbers: list[int] = []
    width = 0
    for index, raw in enumerate(grid, start=1):
        cells = [cell_text(v) for v in raw]
        if not header:
            if any(c is not None for c in cells):
                # Leading blank columns before the header are not part of the table.
                first = next(i for i, c in enumerate(cells) if c is not None)
                last = max(i for i, c in enumerate(cells) if c is not None)
                header = [(c or "").strip() for c in cells[first : last + 1]]
                offset, width = first, last + 1 - first
            continue
        row = (cells[offset : offset + width] + [None] * width)[:width]
        if all(c is None for c in row):
            continue
        rows.append(row)
        numbers.append(index)
    return Sheet(name, header, rows, numbers)
