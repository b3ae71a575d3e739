"""The one door to the analytics database: every DuckDB connection in Scorecard is opened here.

The app reads through `fetch`: read-only, a fresh cursor per call, values bound as parameters, view
and column names checked against the documented schema (an allow-list), never formatted from input.
The period a view covers and the cases removed by accepted flags are DuckDB session variables set on
the request's own cursor, which is what lets `mart_` views be parameterised without SQL in pages.

A rebuild replaces the database file atomically (`os.replace`). Connections are keyed by the file's
identity (inode and modification time), so the first request after a rebuild opens the new file while
requests already running finish on the old one, whose inode stays readable until they are done.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from core import config, schema

_ALIAS = "sc"
_lock = threading.Lock()
_connections: dict[tuple, duckdb.DuckDBPyConnection] = {}
# Per open file: its default period (start, end) and the snapshot tables it holds. Requests for exactly
# that period with no excluded case read the build's snapshot of a view (`<view>_default`) instead.
_defaults: dict[tuple, tuple[date, date, frozenset[str]] | None] = {}

# Session variables the views understand (see mart_period_case.sql).
VARIABLES = {"start_date": date, "end_date": date, "excluded_case_ids": list}


class DatabaseMissing(RuntimeError):
    """The analytics database has not been built yet."""


def database_path() -> Path:
    """Where the analytics database lives (core.config: $SCORECARD_DB, else data/scorecard.duckdb)."""
    return config.database_path()


def database_version(path: Path | None = None) -> str:
    """A token that changes whenever the file is replaced: use it to key caches."""
    path = path or database_path()
    try:
        st = path.stat()
    except FileNotFoundError:
        return "missing"
    return f"{st.st_ino}-{st.st_mtime_ns}-{st.st_size}"


def _connection(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the current file at `path`, opened once per file version."""
    version = database_version(path)
    if version == "missing":
        raise DatabaseMissing(f"no analytics database at {path}: run `python -m core build` first")
    key = (str(path.resolve()), version)
    with _lock:
        con = _connections.get(key)
        if con is None:
            # An in-memory instance with the file attached read-only: DuckDB caches instances by
            # path, so attaching (rather than connecting to the path) guarantees a rebuilt file is
            # really opened anew. Older connections are dropped from the cache; cursors still
            # running on them keep their instance alive until they finish.
            con = duckdb.connect(":memory:", config={"threads": 2})
            con.execute(f"attach ? as {_ALIAS} (read_only)", [str(path)])
            con.execute(f"use {_ALIAS}")
            for old in [k for k in _connections if k[0] == key[0]]:
                _connections.pop(old)
                _defaults.pop(old, None)
            _connections[key] = con
            _defaults[key] = _default_period(con)
    return con


def _default_period(con: duckdb.DuckDBPyConnection) -> tuple[date, date, frozenset[str]] | None:
    """(start, end, snapshot tables) of the file's default period, read once per file version."""
    try:
        row = con.execute("select default_start_date, default_end_date from int_period").fetchone()
        tables = con.execute(
            "select table_name from duckdb_tables() where database_name = ? "
            "and table_name like '%\\_default' escape '\\'",
            [_ALIAS],
        ).fetchall()
    except duckdb.Error:
        return None  # a file from before snapshots, or not built by us: every request computes the view
    return (row[0], row[1], frozenset(t[0] for t in tables)) if row else None


def _snapshot_for(view: str, path: Path, variables: dict[str, Any] | None) -> str | None:
    """The build's snapshot of `view` (`<view>_default`) when the request is its default period, else None.

    Nearly every request is for the default period with every case counted; the build computed the
    period views for exactly that, so reading the snapshot gives the same rows in a millisecond.
    """
    snapshot = f"{view}_default"
    known = _defaults.get((str(path.resolve()), database_version(path)))
    if known is None or snapshot not in known[2] or (variables or {}).get("excluded_case_ids"):
        return None
    asked = ((variables or {}).get("start_date"), (variables or {}).get("end_date"))
    return snapshot if asked in ((None, None), known[:2]) else None


def is_default_request(variables: dict[str, Any] | None, path: Path | None = None) -> bool:
    """Whether a request with these session variables is the build's default period, every case counted."""
    path = path or database_path()
    _connection(path)  # learns the file's default period on first use
    return _snapshot_for("mart_cost_position", path, variables) is not None


def cursor(path: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A fresh cursor on the current database (one per call: cursors are not shared across threads)."""
    cur = _connection(path or database_path()).cursor()
    cur.execute(f"use {_ALIAS}")
    return cur


def _set_variables(cur, variables: dict[str, Any] | None) -> None:
    for name, value in (variables or {}).items():
        if name not in VARIABLES:
            raise ValueError(f"unknown session variable {name!r}")
        if value is None:
            continue
        if name == "excluded_case_ids":
            cur.execute("set variable excluded_case_ids = ?::varchar[]", [list(value)])
        else:
            cur.execute(f"set variable {name} = ?::date", [value])


def fetch(
    view: str,
    *,
    where: dict[str, Any] | None = None,
    columns: Iterable[str] | None = None,
    order_by: Iterable[str] | None = None,
    variables: dict[str, Any] | None = None,
    limit: int | None = None,
    path: Path | None = None,
) -> pd.DataFrame:
    """Rows of one documented `mart_` view: `where` is column = value (a list means IN), all bound."""
    doc = schema.view(view)  # raises KeyError for anything not documented: the allow-list
    if not view.startswith("mart_"):
        raise ValueError(f"{view} is not a mart view: pages and reports read only mart_ views")
    known = set(doc["columns"])
    cols = list(columns or doc["columns"])
    for name in [*cols, *(where or {}), *(order_by or [])]:
        if name.removesuffix(" desc") not in known:
            raise ValueError(f"{view} has no column {name!r}")
    path = path or database_path()
    cur = cursor(path)  # first: it opens a rebuilt file, whose default period _snapshot_for needs
    snapshot = _snapshot_for(view, path, variables)
    sql = f"select {', '.join(cols)} from {snapshot or view}"
    params: list[Any] = []
    clauses = []
    for name, value in (where or {}).items():
        if isinstance(value, (list, tuple, set)):
            clauses.append(f"{name} in (select unnest(?))")
            params.append(list(value))
        elif value is None:
            clauses.append(f"{name} is null")
        else:
            clauses.append(f"{name} = ?")
            params.append(value)
    if clauses:
        sql += " where " + " and ".join(clauses)
    if order_by:
        sql += " order by " + ", ".join(order_by)
    if limit is not None:
        sql += f" limit {int(limit)}"
    try:
        if snapshot is None:
            _set_variables(cur, variables)
        return cur.execute(sql, params).df()
    finally:
        cur.close()


def scalar_row(view: str, path: Path | None = None) -> dict[str, Any]:
    """The single row of a one-row mart (e.g. mart_settings, mart_build_info) as a dict."""
    frame = fetch(view, path=path)
    return frame.iloc[0].to_dict() if len(frame) else {}


def describe(name: str, path: Path | None = None) -> list[tuple[str, str]]:
    """(column, type) pairs of a view or table as DuckDB reports them; for the schema test."""
    if name not in schema.names():
        raise KeyError(name)
    cur = cursor(path)
    try:
        return [(r[0], r[1]) for r in cur.execute(f"describe {name}").fetchall()]
    finally:
        cur.close()


def open_for_build(path: Path) -> duckdb.DuckDBPyConnection:
    """A writable connection to a new database file: only `core.build` uses this, on a temp file."""
    con = duckdb.connect(str(path))
    # Stay within the 4 GiB the build may use (README, *Performance*) and spill to a folder beside the file. DuckDB's
    # limit covers its buffers only: at 1,000,000 cases a 3 GB limit peaked at 4.16 GiB for the whole
    # build process (Python, pandas and the risk models on top), so DuckDB gets 2.5 GB.
    con.execute("set memory_limit = '2500MB'")
    con.execute("set threads = 2")
    con.execute("set preserve_insertion_order = true")
    con.execute("set temp_directory = ?", [str(path) + ".tmp"])
    return con


def open_side_by_side(files: dict[str, Path]) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with each file attached read-only under its alias: for comparing a
    new build with the one in service before it is published (core.build.publish)."""
    con = duckdb.connect(":memory:", config={"threads": 2})
    for alias, path in files.items():
        if not alias.isidentifier():
            raise ValueError(f"bad alias {alias!r}")
        con.execute(f"attach ? as {alias} (read_only)", [str(path)])
    return con
