"""Load a source folder into raw tables and check every rule of the extract contract (README, *The data contract*).

Each broken rule becomes a `Problem` naming file, row, column, value and rule. Checks run as SQL
in DuckDB over the raw tables, so a 30-million-line supply file is checked in seconds;
each check returns its count and the first few examples, which is what a person fixing an extract
needs. Row numbers are data rows counted from 1 (the CSV header is line 1, so row N is line N + 1);
in a workbook they are the sheet's own rows (core.build.sources). A source may be CSV or Parquet files
or one workbook, with an optional mapping file: every format is loaded under the contract's names
first, as text, so the rules below are the same SQL for all of them. The one exception is a Parquet
column that already has the contract's type (a whole-number column for `int`, any number for `float`,
a date for `date`): it is kept in its type, since it cannot break the type rule, and its range and
required rules are the same rules on the typed value (`_column_checks`). At 10,000,000 cases, writing
282 million supply lines' numbers as text and parsing them back (for the checks, then for staging)
took about four minutes of the build (README, *Performance*).
"""

from __future__ import annotations

import codecs
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

from core.build import contract
from core.build.contract import BOOL, DATE, FLOAT, INT, Column, Table
from core.build.sources import (
    MAPPING_FILE,
    Mapping,
    MappingError,
    find_workbook,
    load_mapping,
    read_sheet,
    workbook_sheets,
)

EXAMPLES_PER_RULE = 5
# How many rows each rule lists: a few on a terminal, every one (up to a bound) for the upload page,
# whose table and CSV are what the admin fixes the extract from. Per thread, so builds never mix.
examples_per_rule: ContextVar[int] = ContextVar("examples_per_rule", default=EXAMPLES_PER_RULE)
ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Problem:
    """One broken rule at one place in one file."""

    severity: str
    file: str
    rule: str
    message: str
    row: int | None = None
    column: str | None = None
    value: str | None = None
    header: str | None = None  # the hospital's own header, when a mapping file renamed it to `column`

    def where(self) -> str:
        """`file, row N, column C, value 'V'` — as much as is known."""
        parts = [self.file]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column}" + (f" (header {self.header!r})" if self.header else ""))
        if self.value is not None:
            parts.append(f"value {self.value!r}")
        return ", ".join(parts)


@dataclass
class ProblemGroup:
    """All problems of one rule in one file and column: a count and the first examples."""

    severity: str
    file: str
    rule: str
    column: str | None
    message: str
    count: int
    examples: list[Problem] = field(default_factory=list)
    header: str | None = None  # the hospital's own header, when a mapping file renamed it to `column`

    def render(self) -> str:
        """Human-readable lines for a terminal or a log."""
        col = f", column {self.column}" if self.column else ""
        if self.header:
            col += f" (header {self.header!r})"
        head = f"{self.severity.upper()} [{self.rule}] {self.file}{col}: {self.message}"
        if self.count > 1:
            head += f" ({self.count} rows)"
        lines = [head]
        for ex in self.examples:
            if ex.row is not None or ex.value is not None:
                lines.append(f"    at {ex.where()}")
        if self.count > len(self.examples) and self.examples and self.examples[0].row is not None:
            lines.append(f"    ... and {self.count - len(self.examples)} more")
        return "\n".join(lines)


@dataclass
class LoadedTable:
    """A source file loaded into a raw table."""

    table: Table
    path: Path
    raw_name: str
    columns: tuple[str, ...]
    rows: int
    label: str = ""  # how messages name the file: its name, or [book.xlsx]sheet for a workbook
    row_expr: str = "rowid + 1"  # a row's number in messages (a workbook keeps the sheet's own rows)
    headers: dict[str, str] = field(default_factory=dict)  # contract column -> the hospital's header
    mapped: dict[str, str] = field(default_factory=dict)  # contract column -> header the mapping file expects
    typed: frozenset[str] = frozenset()  # Parquet columns kept in the contract's own type (the rest are text)

    def __post_init__(self):
        self.label = self.label or self.path.name


# DuckDB types a Parquet column may have to be kept as it is, per contract type: whole numbers for `int`,
# any number for `float`, dates for `date`. Anything else (a float for `int`, a timestamp for `date`,
# booleans, text) is read as text and checked as a CSV would be.
# Not a 32-bit FLOAT: as text it is its shortest decimal (0.1), cast to a double it is not (0.10000000149),
# and money summed over millions of lines would drift by cents from the same extract sent as CSV.
_WHOLE = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")
NATIVE_TYPES = {INT: _WHOLE, FLOAT: (*_WHOLE, "DOUBLE", "DECIMAL"), DATE: ("DATE",)}
# Staging stores whole numbers as 32-bit integers: a larger value is reported, not a failed cast.
_INT_MAX = 2147483647


def native(contract_type: str, duckdb_type: str) -> bool:
    """Whether a Parquet column of `duckdb_type` already holds the contract's `contract_type`."""
    return duckdb_type.split("(")[0] in NATIVE_TYPES.get(contract_type, ())


def sql_literal(value: str) -> str:
    # Only used for file paths the build itself found on disk or writes (DuckDB table functions and COPY need
    # literal paths); user-supplied values are always bound as parameters.
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    """A column name quoted as a SQL identifier (headers come from files, so they are escaped)."""
    return '"' + name.replace('"', '""') + '"'


def find_file(source: Path, table: Table, mapping: Mapping | None = None) -> tuple[Path | None, list[Problem]]:
    """The file that holds `table` in `source` (csv or parquet), or a problem."""
    stem = mapping.stem(table.name) if mapping else table.name
    found = [source / f"{stem}.{ext}" for ext in contract.FILE_FORMATS]
    found = [p for p in found if p.exists()]
    if len(found) > 1:
        names = " and ".join(p.name for p in found)
        return None, [Problem(ERROR, names, "file.ambiguous", "both a CSV and a Parquet file: keep one")]
    if not found:
        if not table.required and not table.warn_when_missing:
            return None, []
        sev = ERROR if table.required else WARNING
        msg = "file is missing" if table.required else "file is missing; the table will be empty"
        return None, [Problem(sev, f"{stem}.csv", "file.missing", msg)]
    return found[0], []


def check_utf8(path: Path) -> Problem | None:
    """The first byte that is not UTF-8, with its line, or None when the file decodes cleanly."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 24):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as err:
                bad = chunk[: err.start]
                line += bad.count(b"\n")
                snippet = chunk[err.start : err.start + 4]
                return Problem(
                    ERROR,
                    path.name,
                    "file.encoding",
                    f"is not UTF-8: byte {snippet[:1].hex()} at line {line}; save the file as UTF-8",
                    row=line - 1 if line > 1 else None,
                    value=repr(snippet)[2:-1],
                )
            line += chunk.count(b"\n")
    return None


def _csv_header(path: Path) -> tuple[list[str], Problem | None]:
    """The CSV header's column names, or why they are unusable."""
    import csv

    with path.open(newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh), [])
    header = [h.strip() for h in header]
    if not header or all(not h for h in header):
        return [], Problem(ERROR, path.name, "file.empty", "file has no header row")
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes or any(not h for h in header):
        what = f"repeated column name(s) {', '.join(dupes)}" if dupes else "an empty column name"
        return [], Problem(ERROR, path.name, "file.header", f"header has {what}", value=",".join(header)[:120])
    return header, None


def _first_ragged_row(path: Path) -> Problem | None:
    """The first CSV row whose number of fields differs from the header's, if any."""
    import csv

    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            return None
        for number, row in enumerate(reader, start=1):
            if row and len(row) != len(header):
                return Problem(
                    ERROR,
                    path.name,
                    "file.unreadable",
                    f"row {number} has {len(row)} fields but the header has {len(header)}; "
                    "quote values that contain commas",
                    row=number,
                    value=",".join(row)[:120],
                )
    return None


def _mapped(table: Table, mapping: Mapping | None) -> dict[str, str]:
    """{contract column: the header the mapping file says the hospital uses}."""
    if mapping is None:
        return {}
    return {target: header for header, target in mapping.columns.get(table.name, {}).items()}


def _renamed_header(
    header: list[str], table: Table, mapping: Mapping | None, label: str
) -> tuple[list[str], dict[str, str], Problem | None]:
    """The header under the contract's names, {contract column: hospital header}, or why not."""
    names = [mapping.rename(table.name, h) for h in header] if mapping else list(header)
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        return (
            [],
            {},
            Problem(
                ERROR,
                label,
                "file.header",
                f"several columns are called (or mapped to) {', '.join(dupes)}",
                value=",".join(header)[:120],
            ),
        )
    return names, {n: h for n, h in zip(names, header, strict=True) if n != h}, None


def _apply_value_mapping(con, raw: str, table: Table, columns: tuple[str, ...], mapping: Mapping | None) -> None:
    """Turn the hospital's boolean words and date format into the contract's, leaving other values
    untouched so that a value that is neither is still reported as the hospital wrote it. `columns` are
    the text columns (a typed Parquet date has no format to map)."""
    if mapping is None:
        return
    for col in table.columns:
        if col.name not in columns:
            continue
        v = _ident(col.name)
        if col.type == BOOL and (mapping.true_words or mapping.false_words):
            whens = []
            if mapping.true_words:
                whens.append(
                    f"when lower(trim({v})) in ({', '.join(sql_literal(w) for w in mapping.true_words)}) then 'true'"
                )
            if mapping.false_words:
                whens.append(
                    f"when lower(trim({v})) in ({', '.join(sql_literal(w) for w in mapping.false_words)}) then 'false'"
                )
            con.execute(f"update {raw} set {v} = case {' '.join(whens)} else {v} end")
        elif col.type == DATE and mapping.date_format:
            con.execute(
                f"update {raw} set {v} = coalesce(strftime(try_strptime(trim({v}), ?), '%Y-%m-%d'), {v})",
                [mapping.date_format],
            )


def _load_sheet(
    con, book: Path, sheets: list[str], table: Table, mapping: Mapping | None
) -> tuple[LoadedTable | None, list[Problem]]:
    """Load one sheet of a workbook into `raw_<table>` as text, keeping the sheet's row numbers."""
    import pyarrow as pa

    name = mapping.stem(table.name) if mapping else table.name
    match = [s for s in sheets if s == name] or [s for s in sheets if s.strip().lower() == name.lower()]
    label = f"[{book.name}]{name}"
    if not match:
        if not table.required and not table.warn_when_missing:
            return None, []
        sev = ERROR if table.required else WARNING
        msg = "sheet is missing" if table.required else "sheet is missing; the table will be empty"
        return None, [Problem(sev, label, "file.missing", msg)]
    label = f"[{book.name}]{match[0]}"
    try:
        sheet = read_sheet(book, match[0])
    except Exception as err:  # the reader raises its own kinds for damaged files
        return None, [Problem(ERROR, label, "file.unreadable", f"cannot be read: {err}")]
    if not sheet.header:
        return None, [Problem(ERROR, label, "file.empty", "sheet is empty (no header, no rows)")]
    if any(not h for h in sheet.header):
        return None, [
            Problem(ERROR, label, "file.header", "header has an empty column name", value=",".join(sheet.header)[:120])
        ]
    names, headers, problem = _renamed_header(sheet.header, table, mapping, label)
    if problem:
        return None, [problem]
    arrays = [pa.array([r[i] for r in sheet.rows], type=pa.string()) for i in range(len(names))]
    arrays.append(pa.array(sheet.row_numbers, type=pa.int64()))
    frame = pa.Table.from_arrays(arrays, names=[*names, "__sheet_row"])
    raw = f"load_{table.name}"
    con.register("sheet_frame", frame)
    try:
        con.execute(f"create or replace table {raw} as select * from sheet_frame")
    finally:
        con.unregister("sheet_frame")
    columns = tuple(names)
    _apply_value_mapping(con, raw, table, columns, mapping)
    loaded = LoadedTable(
        table,
        book,
        raw,
        columns,
        len(sheet.rows),
        label=label,
        row_expr="__sheet_row",
        headers=headers,
        mapped=_mapped(table, mapping),
    )
    problems = []
    if not sheet.rows:
        sev = ERROR if table.must_have_rows else WARNING
        problems.append(Problem(sev, label, "file.empty", "has a header but no rows"))
    return loaded, problems


def load_table(
    con, source: Path, table: Table, mapping: Mapping | None = None
) -> tuple[LoadedTable | None, list[Problem]]:
    """Load one extract file into `load_<table>` (text columns, or a Parquet column's own type when it is
    the contract's), or say why it cannot be read."""
    path, problems = find_file(source, table, mapping)
    if path is None:
        return None, problems
    if path.stat().st_size == 0:
        return None, [Problem(ERROR, path.name, "file.empty", "file is empty (no header, no rows)")]
    raw = f"load_{table.name}"
    headers: dict[str, str] = {}
    names: list[str] = []
    if path.suffix == ".csv":
        bad = check_utf8(path)
        if bad:
            return None, [bad]
        header, problem = _csv_header(path)
        if problem:
            return None, [problem]
        names, headers, problem = _renamed_header(header, table, mapping, path.name)
        if problem:
            return None, [problem]
        # The header is ours to read: no type sniffing (every value stays text, types are checked
        # by rule) and a strict parser, so a row with a stray comma fails instead of shifting data.
        spec = ", ".join(f"{sql_literal(h)}: 'VARCHAR'" for h in names)
        select = "*"
        typed = frozenset()
        reader = (
            f"read_csv({sql_literal(str(path))}, header=true, auto_detect=false, columns={{{spec}}}, "
            "delim=',', quote='\"', escape='\"', strict_mode=true, null_padding=false)"
        )
    else:
        reader = f"read_parquet({sql_literal(str(path))})"
        try:
            described = [r[:2] for r in con.execute(f"describe select * from {reader}").fetchall()]
        except Exception as err:
            return None, [Problem(ERROR, path.name, "file.unreadable", f"cannot be read: {_first_line(err)}")]
        names, headers, problem = _renamed_header([c for c, _ in described], table, mapping, path.name)
        if problem:
            return None, [problem]
        # Read in one pass: a column that already has the contract's type as it is, every other as
        # text, as a CSV would arrive (module docstring).
        types = {c.name: c.type for c in table.columns}
        typed = frozenset(n for (_, t), n in zip(described, names, strict=True) if n in types and native(types[n], t))
        select = ", ".join(
            f"{_ident(c)} as {_ident(n)}" if n in typed else f"cast({_ident(c)} as varchar) as {_ident(n)}"
            for (c, _), n in zip(described, names, strict=True)
        )
    try:
        con.execute(f"create or replace table {raw} as select {select} from {reader}")
    except Exception as err:  # duckdb raises many kinds: locate the fault ourselves when we can
        ragged = _first_ragged_row(path) if path.suffix == ".csv" else None
        if ragged:
            return None, [ragged]
        return None, [Problem(ERROR, path.name, "file.unreadable", f"cannot be read: {_first_line(err)}")]
    columns = tuple(names)
    _apply_value_mapping(con, raw, table, tuple(c for c in columns if c not in typed), mapping)
    rows = con.execute(f"select count(*) from {raw}").fetchone()[0]
    loaded = LoadedTable(table, path, raw, columns, rows, headers=headers, mapped=_mapped(table, mapping), typed=typed)
    if rows == 0:
        sev = ERROR if table.must_have_rows else WARNING
        problems.append(Problem(sev, path.name, "file.empty", "has a header but no rows"))
    return loaded, problems


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _bool_sql(expr: str) -> str:
    words = ", ".join(sql_literal(w) for w in contract.TRUE_WORDS + contract.FALSE_WORDS)
    return f"lower(trim({expr})) in ({words})"


def _as(column: str, sql_type: str, typed: bool) -> str:
    """A column's value in `sql_type`: the typed column itself, or its text's parse (null if it does not parse)."""
    return f'"{column}"' if typed else f'try_cast(trim("{column}") as {sql_type})'


def _column_checks(col: Column, typed: bool = False) -> list[tuple[str, str, str, str]]:
    """(rule, message, severity, SQL predicate true for bad rows) for one column.

    A typed column (a Parquet column in the contract's own type) has no type rule to break, and its
    required and range rules read the value itself rather than the text's parse."""
    v = f'"{col.name}"'
    blank = f"{v} is null" if typed else f"({v} is null or trim({v}) = '')"
    checks: list[tuple[str, str, str, str]] = []
    if not col.nullable:
        checks.append(("value.required", "value is missing", ERROR, blank))
    elif col.name == "category":
        checks.append(("item.no_category", "item has no category (left out of category views)", WARNING, blank))
    present = f"not {blank}"
    if typed and col.type == DATE:
        # A Parquet date can hold what no ISO 8601 date is: infinity, years past 9999 or before 1.
        checks.append(
            (
                "type.date",
                "is not an ISO 8601 date (YYYY-MM-DD)",
                ERROR,
                f"{present} and not ({v} between date '0001-01-01' and date '9999-12-31')",
            )
        )
        num = None
    elif col.type in (INT, FLOAT):
        num = _as(col.name, "bigint" if col.type == INT else "double", typed)
        if not typed:
            rule, message = (
                ("type.int", "is not a whole number") if col.type == INT else ("type.number", "is not a number")
            )
            checks.append((rule, message, ERROR, f"{present} and {num} is null"))
    elif col.type == DATE:
        iso = f"regexp_full_match(trim({v}), '\\d{{4}}-\\d{{2}}-\\d{{2}}')"
        checks.append(
            (
                "type.date",
                "is not an ISO 8601 date (YYYY-MM-DD)",
                ERROR,
                f"{present} and (not {iso} or {_as(col.name, 'date', False)} is null)",
            )
        )
        num = None
    elif col.type == BOOL:
        checks.append(("type.bool", "is not a boolean (true/false)", ERROR, f"{present} and not {_bool_sql(v)}"))
        num = None
    else:
        num = None
    if num is not None and col.type == FLOAT:
        checks.append(("value.finite", "must be a finite number (not NaN or infinity)", ERROR, f"not isfinite({num})"))
    if num is not None and col.type == INT and col.maximum is None:
        checks.append(
            (
                "value.range",
                f"must be between {-_INT_MAX - 1:,} and {_INT_MAX:,}",
                ERROR,
                f"({num} > {_INT_MAX} or {num} < {-_INT_MAX - 1})",
            )
        )
    if num is not None and col.minimum is not None:
        rule = "value.negative" if col.minimum == 0 else "value.range"
        msg = "must not be negative" if col.minimum == 0 else f"must be at least {col.minimum:g}"
        checks.append((rule, msg, ERROR, f"{num} < {col.minimum}"))
    if num is not None and col.maximum is not None:
        checks.append(
            ("value.range", f"must be between {col.minimum:g} and {col.maximum:g}", ERROR, f"{num} > {col.maximum}")
        )
    if col.choices:
        allowed = ", ".join(sql_literal(c) for c in col.choices)
        checks.append(
            (
                "value.enum",
                "must be one of " + "/".join(col.choices),
                ERROR,
                f"{present} and lower(trim({v})) not in ({allowed})",
            )
        )
    return checks


def _cross_checks(
    table: Table, present: set[str], typed: frozenset[str] = frozenset()
) -> list[tuple[str, str, str, str, str]]:
    """(rule, message, severity, column reported, predicate) for rules spanning columns."""
    out = []
    if table.name == "supply_usage" and {"quantity", "wasted_quantity"} <= present:
        out.append(
            (
                "value.wasted_exceeds_quantity",
                "wasted_quantity is more than quantity",
                ERROR,
                "wasted_quantity",
                f"{_as('wasted_quantity', 'double', 'wasted_quantity' in typed)} > {_as('quantity', 'double', 'quantity' in typed)}",
            )
        )
    if table.name == "cases" and {"surgery_date", "discharge_date"} <= present:
        out.append(
            (
                "dates.discharge_before_surgery",
                "discharge_date is before surgery_date",
                ERROR,
                "discharge_date",
                f"{_as('discharge_date', 'date', 'discharge_date' in typed)} < {_as('surgery_date', 'date', 'surgery_date' in typed)}",
            )
        )
    if table.name == "users" and {"role", "physician_id"} <= present:
        out.append(
            (
                "users.physician_id_required",
                "physicians and champions need a physician_id",
                ERROR,
                "physician_id",
                "lower(trim(role)) in ('physician', 'champion') and (physician_id is null or trim(physician_id) = '')",
            )
        )
    if table.name == "users" and {"role", "service_line"} <= present:
        out.append(
            (
                "users.service_line_required",
                "champions need a service_line",
                ERROR,
                "service_line",
                "lower(trim(role)) = 'champion' and (service_line is null or trim(service_line) = '')",
            )
        )
    return out


@dataclass(frozen=True)
class _Rule:
    """One rule to check on one table: the SQL predicate true for the rows that break it."""

    rule: str
    message: str
    severity: str
    column: str | None
    predicate: str
    value_expr: str | None = None


def _collect_all(con, loaded: LoadedTable, rules: list[_Rule]) -> list[ProblemGroup]:
    """Every rule's broken rows, counted in one pass over the table; examples only for broken rules.

    One scan for all of a table's rules rather than one per rule: at 1,000,000 cases the supply
    lines are 28 million rows and carry a dozen rules (README, *Performance*)."""
    if not rules:
        return []
    counts = con.execute(
        "select " + ", ".join(f"count(*) filter (where {r.predicate})" for r in rules) + f" from {loaded.raw_name}"
    ).fetchone()
    groups = []
    for rule, count in zip(rules, counts, strict=True):
        if count:
            groups.append(_examples(con, loaded, rule, count))
    return groups


def _collect(
    con,
    loaded: LoadedTable,
    rule: str,
    message: str,
    severity: str,
    column: str | None,
    predicate: str,
    value_expr: str | None = None,
) -> ProblemGroup | None:
    """One rule on one table (the settings and roster rules, checked one at a time)."""
    found = _collect_all(con, loaded, [_Rule(rule, message, severity, column, predicate, value_expr)])
    return found[0] if found else None


def _examples(con, loaded: LoadedTable, r: _Rule, count: int) -> ProblemGroup:
    value_expr = r.value_expr or (f'"{r.column}"' if r.column else "null")
    rows = con.execute(
        f"select {loaded.row_expr}, cast({value_expr} as varchar) from {loaded.raw_name} "
        f"where {r.predicate} order by rowid limit {int(examples_per_rule.get())}"
    ).fetchall()
    name = loaded.label
    header = loaded.headers.get(r.column) if r.column else None
    examples = [
        Problem(r.severity, name, r.rule, r.message, row=row, column=r.column, value=v, header=header)
        for row, v in rows
    ]
    return ProblemGroup(r.severity, name, r.rule, r.column, r.message, count, examples, header=header)


def check_table(con, loaded: LoadedTable) -> list[ProblemGroup]:
    """Every single-table rule: columns present, types, ranges, choices, keys, cross-field rules."""
    table, name = loaded.table, loaded.label
    groups: list[ProblemGroup] = []
    present = set(loaded.columns)
    for col in table.columns:
        if col.name not in present and col.required:
            expected = loaded.mapped.get(col.name)
            message = f"required column {col.name!r} is missing" + (
                f" (mapping.toml expects the header {expected!r})" if expected else ""
            )
            groups.append(
                ProblemGroup(
                    ERROR,
                    name,
                    "column.missing",
                    col.name,
                    message,
                    1,
                    [Problem(ERROR, name, "column.missing", "missing", column=col.name, header=expected)],
                    header=expected,
                )
            )
    for extra in sorted(present - set(table.column_names)):
        groups.append(ProblemGroup(WARNING, name, "column.extra", extra, f"extra column {extra!r} is ignored", 1, []))
    if loaded.rows == 0:
        return groups
    rules = [
        _Rule(rule, message, severity, col.name, predicate)
        for col in table.columns
        if col.name in present
        for rule, message, severity, predicate in _column_checks(col, col.name in loaded.typed)
    ]
    groups.extend(_collect_all(con, loaded, rules))
    if set(table.key) <= present:
        groups.extend(_duplicate_keys(con, loaded))
    cross = [
        _Rule(rule, message, severity, column, predicate)
        for rule, message, severity, column, predicate in _cross_checks(table, present, loaded.typed)
    ]
    groups.extend(_collect_all(con, loaded, cross))
    return groups


def _duplicate_keys(con, loaded: LoadedTable) -> list[ProblemGroup]:
    """Rows whose key an earlier row already has; the first occurrence is kept as "the" row.

    Counted with a grouping (one hash pass); only a table that has duplicates pays for the window
    that finds which rows are the later ones."""
    table = loaded.table
    key_cols = ", ".join(f'"{k}"' for k in table.key)
    count = con.execute(
        f"select coalesce(sum(n - 1), 0) from (select count(*) as n from {loaded.raw_name} "
        f"group by {key_cols} having count(*) > 1)"
    ).fetchone()[0]
    if not count:
        return []
    key_value = " || '/' || ".join(f"coalesce(cast(\"{k}\" as varchar), '')" for k in table.key)
    predicate = (
        f"rowid in (select rowid from (select rowid, row_number() over "
        f"(partition by {key_cols} order by rowid) as n from {loaded.raw_name}) where n > 1)"
    )
    rule = _Rule(
        "key.duplicate",
        f"duplicate key ({', '.join(table.key)})",
        ERROR,
        "/".join(table.key) if len(table.key) > 1 else table.key[0],
        predicate,
        key_value,
    )
    return [_examples(con, loaded, rule, int(count))]


def check_foreign_keys(con, loaded: dict[str, LoadedTable]) -> list[ProblemGroup]:
    """Every value of a foreign key column exists in the table it points to (a table's keys in one pass)."""
    rules: dict[str, list[_Rule]] = {}
    for fk in contract.FOREIGN_KEYS:
        child, parent = loaded.get(fk.table), loaded.get(fk.ref_table)
        if not child or not parent or fk.column not in child.columns or fk.ref_column not in parent.columns:
            continue
        predicate = (
            f'"{fk.column}" is not null and trim("{fk.column}") <> \'\' and "{fk.column}" not in '
            f'(select "{fk.ref_column}" from {parent.raw_name} where "{fk.ref_column}" is not null)'
        )
        message = f"unknown {fk.ref_column}: not in {parent.label}"
        rules.setdefault(fk.table, []).append(_Rule("fk.unknown", message, fk.severity, fk.column, predicate))
    groups = []
    for table, table_rules in rules.items():
        groups.extend(_collect_all(con, loaded[table], table_rules))
    return groups


def check_settings(con, loaded: LoadedTable | None) -> list[ProblemGroup]:
    """Known settings must parse (numbers non-negative, dates ISO 8601); unknown keys are warnings."""
    if loaded is None or loaded.rows == 0 or not {"key", "value"} <= set(loaded.columns):
        return []
    groups = []
    numeric = [*contract.SETTINGS_DEFAULTS, *(k for k, t in contract.SETTINGS_OPTIONAL.items() if t == FLOAT)]
    dates = [k for k, t in contract.SETTINGS_OPTIONAL.items() if t == DATE]
    known = ", ".join(sql_literal(k) for k in [*contract.SETTINGS_DEFAULTS, *contract.SETTINGS_OPTIONAL])
    g = _collect(
        con,
        loaded,
        "settings.number",
        "setting must be a non-negative number",
        ERROR,
        "value",
        f"trim(key) in ({', '.join(sql_literal(k) for k in numeric)}) and "
        f"(try_cast(trim(value) as double) is null or try_cast(trim(value) as double) < 0)",
    )
    if g:
        groups.append(g)
    if dates:
        iso = "regexp_full_match(trim(value), '\\d{4}-\\d{2}-\\d{2}')"
        g = _collect(
            con,
            loaded,
            "settings.date",
            "setting must be an ISO 8601 date (YYYY-MM-DD)",
            ERROR,
            "value",
            f"trim(key) in ({', '.join(sql_literal(k) for k in dates)}) and "
            f"(value is null or not {iso} or try_cast(trim(value) as date) is null)",
        )
        if g:
            groups.append(g)
    g = _collect(
        con, loaded, "settings.unknown", "unknown setting is ignored", WARNING, "key", f"trim(key) not in ({known})"
    )
    if g:
        groups.append(g)
    return groups


def check_roster_emails(con, loaded: LoadedTable | None) -> list[ProblemGroup]:
    """Roster e-mails must be unique once normalised (NFKC, trimmed, case-folded: `access.normalise_email`).

    Two rows for one person would let the first decide the role — a stray `Amara.Okafor@…,admin`
    row or one with a Kelvin sign "\u212a" for a "k" would make a physician an admin — so a duplicate
    is an error that stops the build; every row after the first of each address is reported.
    """
    from core.access import normalise_email  # the rule sign-in matches by, so both agree

    if loaded is None or loaded.rows == 0 or "email" not in loaded.columns:
        return []
    first: dict[str, int] = {}
    examples: list[Problem] = []
    count = 0
    message = "duplicate e-mail once case, spacing and Unicode look-alikes are normalised"
    for rowid, email in con.execute(f'select rowid + 1, "email" from {loaded.raw_name} order by rowid').fetchall():
        key = normalise_email(email)
        if not key:
            continue
        if key in first:
            count += 1
            if len(examples) < EXAMPLES_PER_RULE:
                examples.append(
                    Problem(
                        ERROR,
                        loaded.path.name,
                        "users.email_duplicate",
                        f"{message} (same as row {first[key]})",
                        row=rowid,
                        column="email",
                        value=email,
                    )
                )
        else:
            first[key] = rowid
    if not count:
        return []
    return [ProblemGroup(ERROR, loaded.path.name, "users.email_duplicate", "email", message, count, examples)]


def validate_source(
    con, source: Path, progress: Callable[[str], None] = lambda _m: None
) -> tuple[dict[str, LoadedTable], list[ProblemGroup]]:
    """Load every table of `source` into raw tables and return them with every problem found.

    `source` is a folder of CSV/Parquet files, a folder holding one workbook, or a workbook; a
    `mapping.toml` in the folder renames headers and declares boolean words and the date format.
    """

    def fail(file: str, rule: str, message: str) -> tuple[dict, list[ProblemGroup]]:
        return {}, [ProblemGroup(ERROR, file, rule, None, message, 1, [])]

    if not source.exists() or not (source.is_dir() or source.is_file()):
        return fail(str(source), "source.missing", "source folder does not exist")
    folder = source if source.is_dir() else source.parent
    try:
        book = find_workbook(source)
        mapping = load_mapping(folder) if source.is_dir() else None
    except MappingError as err:
        name = MAPPING_FILE if "workbook" not in str(err) else source.name
        return fail(name, "source.mapping" if name == MAPPING_FILE else "source.ambiguous", str(err))
    if source.is_file() and book is None:
        return fail(source.name, "source.format", "a source is a folder of CSV or Parquet files, or a workbook")
    sheets: list[str] = []
    if book is not None:
        others = sorted(p.name for p in folder.iterdir() if p.suffix in (".csv", ".parquet")) if source.is_dir() else []
        if others:
            return fail(
                book.name,
                "source.ambiguous",
                f"a workbook and extract files ({', '.join(others[:3])}) side by side: keep one kind",
            )
        try:
            sheets = workbook_sheets(book)
        except Exception as err:  # damaged or not really a workbook
            return fail(book.name, "file.unreadable", f"cannot be read as a workbook: {err}")
    loaded: dict[str, LoadedTable] = {}
    groups: list[ProblemGroup] = []
    for table in contract.TABLES.values():
        if book is not None:
            lt, problems = _load_sheet(con, book, sheets, table, mapping)
        else:
            lt, problems = load_table(con, source, table, mapping)
        for p in problems:
            groups.append(ProblemGroup(p.severity, p.file, p.rule, p.column, p.message, 1, [p]))
        if lt is not None:
            loaded[table.name] = lt
            progress(f"read {lt.label}: {lt.rows:,} rows")
    if book is not None:
        expected = {(mapping.stem(t) if mapping else t).lower() for t in contract.TABLES}
        for extra in (s for s in sheets if s.strip().lower() not in expected):
            groups.append(
                ProblemGroup(
                    WARNING,
                    f"[{book.name}]{extra}",
                    "sheet.extra",
                    None,
                    "sheet is not a contract table and is ignored",
                    1,
                    [],
                )
            )
    for lt in loaded.values():
        started = time.monotonic()
        groups.extend(check_table(con, lt))
        if lt.rows >= 100_000:  # the large tables' checks, timed in the build log (README, *Performance*)
            progress(f"checked {lt.label}: its rules and keys ({time.monotonic() - started:.1f}s)")
    started = time.monotonic()
    groups.extend(check_foreign_keys(con, loaded))
    progress(f"checked the foreign keys ({time.monotonic() - started:.1f}s)")
    groups.extend(check_settings(con, loaded.get("settings")))
    if mapping is not None and mapping.date_format:
        for g in groups:
            if g.rule == "type.date":
                g.message = f"is not a date in the mapping's format {mapping.date_format} nor ISO 8601"
                for ex in g.examples:
                    object.__setattr__(ex, "message", g.message)
    groups.extend(check_roster_emails(con, loaded.get("users")))
    progress("checked every contract rule")
    return loaded, groups
