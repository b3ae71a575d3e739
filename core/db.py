"""The one door to the analytics database: every DuckDB connection in Scorecard is opened here.

The app reads through `fetch`: read-only, a fresh cursor per call, values bound as parameters, view
and column names checked against the documented schema (an allow-list), never formatted from input.
The period a view covers and the cases removed by accepted flags are DuckDB session variables set on
the request's own cursor, which is what lets `mart_` views be parameterised without SQL in pages.

Accepted flags keep the fast path (README, *Performance*): every snapshot view is computed per procedure
(peer groups are a procedure's physicians), so removing a case changes only its procedure's rows. When
the excluded set changes, `prepare_excluded` recomputes the live view for just the procedures whose
excluded cases changed and writes the patched snapshot into the connection's own in-memory catalog
(`memory.main.<view>__x<hash>`); requests with that excluded set read it like the build's snapshot.
The analytics file stays read-only. Each patched set is also saved, after the decision has returned,
to a file of its own beside the analytics file (`<file>.patches/`), so a restarted process (or another
replica) loads the set instead of recomputing it; a rebuild starts afresh from the new build's snapshots
(the first request after it pays the refresh once).

The three small stored tables a scorecard request reads by key (HELD_KEYS: the cost position, preferred
use and the build's outcome calls, or their patched snapshots) are loaded once per file version into
process memory and sliced per request: the same rows and types as DuckDB's answer, without its ~2 ms of
binding and conversion per query (README, *Performance*).

A rebuild replaces the database file atomically (`os.replace`). Connections are keyed by the file's
identity (inode and modification time), so the first request after a rebuild opens the new file while
requests already running finish on the old one, whose inode stays readable until they are done.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from core import config, schema

_ALIAS = "sc"
_lock = threading.Lock()
_connections: dict[tuple, duckdb.DuckDBPyConnection] = {}
# Per open file: its default period (start, end) and the snapshot tables it holds. Requests for exactly
# that period with no excluded case read the build's snapshot of a view (`<view>_default`) instead.
_defaults: dict[tuple, tuple[date, date, frozenset[str]] | None] = {}

# Per open file: excluded-set hash -> the cases removed per procedure (of those in the data), for the patched
# snapshots held in the connection's in-memory catalog (most recent last; a few kept so alternating sets
# stay cheap).
_patches: dict[tuple, OrderedDict[str, dict[str, frozenset[str]]]] = {}
# Per open file: case id -> (procedure_code, physician_id), or None for a case not in the data.
_case_owner: dict[tuple, dict[str, tuple[str, str] | None]] = {}
# One lock per open file version: a build preparing a new file's set never holds up requests on the one
# in service.
_patch_locks: dict[tuple, threading.Lock] = {}
PATCHES_KEPT = 4
PATCH_WORKERS = 2
# The snapshots prepare_excluded patches, and the key its patch is computed by: the smallest set of rows
# a changed case can reach. A physician's own figures in one procedure depend only on their cases in it
# ("pair": physician × procedure); a peer group is one procedure's physicians, so rows set against peers
# depend on the procedure's cases ("procedure_code"); a physician's totals over all their procedures on
# their cases ("physician_id"); rows set against every physician using a supply category on the cases
# with a line in it ("category"). Together they are every snapshot the scorecard page reads, so a page
# with accepted flags stays on snapshots. Any other `<view>_default` (supply-chain and pharmacy totals
# over everyone) is read live once a flag is accepted.
PATCH_KEYS: dict[str, str] = {
    "mart_cost_position": "procedure_code",
    "mart_outcome_position": "procedure_code",
    "mart_preferred_use": "pair",
    "mart_category_driver": "procedure_code",
    "mart_cost_quarter": "procedure_code",
    "mart_outcome_quarter": "pair",
    "mart_outcome_reliability": "procedure_code",
    "mart_pharmacy_position": "procedure_code",
    "mart_pharmacy_class_position": "procedure_code",
    "mart_pharmacy_drug_position": "procedure_code",
    "mart_episode_position": "procedure_code",
    "mart_physician_products": "physician_id",
    "mart_physician_backorder": "physician_id",
    "mart_category_physician": "category",
}
_NONE = "\x00none"  # a restriction that matches nothing (e.g. a physician with no procedure in the period)

# Stored tables a request reads by key, held in the process (README, *Performance*): view -> the `where`
# columns of the request. A scorecard request reads three small stored tables by physician (and
# procedure); DuckDB answers each in about 2 ms, most of it binding and converting 35 columns, so the
# first such read loads the whole table once per file version (sorted by the key and the request's own
# ORDER BY) and every later one slices its rows. The rows are the table's rows, in the order DuckDB
# gives; integer and boolean columns come back without nulls exactly as a query's would (`_Held.rows`).
# Tables over HELD_ROWS rows, and any other request, are read by DuckDB.
HELD_KEYS: dict[str, tuple[str, ...]] = {
    "mart_cost_position": ("physician_id",),
    "mart_preferred_use": ("physician_id", "procedure_code"),
    "mart_outcome_summary_default": ("physician_id", "procedure_code"),
}
HELD_ROWS = 1_000_000
# Memory the held tables may take together (the build's and the patched ones of recent excluded sets):
# the least recently used are dropped beyond it. At 1,000,000 cases the build's three take about 60 MB.
HELD_MB = 400
_held: OrderedDict[tuple, _Held | None] = OrderedDict()
_held_lock = threading.Lock()

# Session variables the views understand (see mart_period_case.sql).
VARIABLES = {
    "start_date": date,
    "end_date": date,
    "excluded_case_ids": list,
    "procedure_codes": list,
    "physician_ids": list,
    "categories": list,
}


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
    return _open(path)[0]


def _open(path: Path) -> tuple[duckdb.DuckDBPyConnection, tuple]:
    """`_connection` and the key (path, version) it was opened for: a caller that files anything by the
    file's version uses this one, never a second look at the file, which a rebuild may have replaced."""
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
            _drop(key[0])
            _connections[key] = con
            _defaults[key] = _default_period(con)
    return con, key


def _drop(resolved: str) -> None:
    """Forget every version of the file at `resolved` this process holds (its caller has `_lock`)."""
    for old in [k for k in _connections if k[0] == resolved]:
        with _held_lock:
            for held in [h for h in _held if h[0] == old]:
                _held.pop(held)
        _connections.pop(old)
        _defaults.pop(old, None)
        _patches.pop(old, None)
        _case_owner.pop(old, None)
        _patch_locks.pop(old, None)


def _patch_lock(key: tuple) -> threading.Lock:
    with _lock:
        return _patch_locks.setdefault(key, threading.Lock())


def forget(path: Path) -> None:
    """Close this process's connection to the file at `path` and drop what it holds for it (the build
    after preparing a new file's accepted flags; cursors still running keep their instance)."""
    with _lock:
        _drop(str(Path(path).resolve()))


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
    known = _defaults.get(_file_key(path))
    if known is None or snapshot not in known[2] or (variables or {}).get("excluded_case_ids"):
        return None
    asked = ((variables or {}).get("start_date"), (variables or {}).get("end_date"))
    return snapshot if asked in ((None, None), known[:2]) else None


def _file_key(path: Path) -> tuple:
    return (str(path.resolve()), database_version(path))


def _patched_for(view: str, path: Path, variables: dict[str, Any] | None) -> str | None:
    """The patched snapshot of `view` for a default-period request with excluded cases, else None."""
    excluded = (variables or {}).get("excluded_case_ids")
    known = _defaults.get(_file_key(path))
    if not excluded or known is None or view not in PATCH_KEYS or f"{view}_default" not in known[2]:
        return None
    asked = ((variables or {}).get("start_date"), (variables or {}).get("end_date"))
    if asked not in ((None, None), known[:2]):
        return None
    return f"memory.main.{view}__x{prepare_excluded(excluded, path)}"


def prepare_excluded(excluded: Iterable[str], path: Path | None = None, served_as: Path | None = None) -> str:
    """Bring the patched snapshots up to date for this excluded set; return its hash (cheap when current).

    Called when a flag is accepted or rejected (core.review) and by the first request that sees a new
    set. Only the rows the cases whose exclusion differs from the most recent patched set can reach
    (their pairs, procedures, physicians or categories, by the view's PATCH_KEYS) are recomputed: they come
    from the live view (default period, this excluded set), every other row is copied. A set this
    process has not patched but another saved (`_save`; a restart, another replica) is loaded instead.
    `served_as`: the build saves the accepted flags' set of a new file under the name it will serve as.
    """
    global saved_sets_loaded
    path = path or database_path()
    con, key = _open(path)
    folder = saved_folder(path, served_as, version=key[1])
    ids = frozenset(str(x) for x in excluded)
    digest = _digest(ids)
    with _patch_lock(key):
        patches = _patches.setdefault(key, OrderedDict())
        if digest in patches:
            patches.move_to_end(digest)
            return digest
        known = _defaults.get(key)
        if known is None:
            raise RuntimeError("this database has no default-period snapshots")
        start, end, tables = known
        owner_of = _case_owner.setdefault(key, {})
        cur = con.cursor()
        try:
            cur.execute(f"use {_ALIAS}")
            _look_up_owners(cur, owner_of, ids)
            now = _by_procedure(owner_of, ids)
            if _load_saved(cur, folder, digest, tables) is not None:
                saved_sets_loaded += 1
                _keep(cur, patches, digest, now, tables)
                return digest
            if not patches:
                # A new process: start from the newest set saved for this file (a restart after more
                # decisions, flags decided after a build prepared its set), computing only what differs.
                for newest in [d for d in _saved_newest_first(folder) if d != digest]:
                    base_ids = _load_saved(cur, folder, newest, tables)
                    if base_ids is not None:
                        saved_sets_loaded += 1
                        _look_up_owners(cur, owner_of, base_ids)
                        _keep(cur, patches, newest, _by_procedure(owner_of, base_ids), tables)
                        break
            base_digest, base = next(reversed(patches.items())) if patches else (None, {})
            flipped = ids ^ frozenset().union(*base.values())
            changed = _changed(cur, [owner_of[i] for i in flipped if owner_of.get(i)], flipped, tables)
            queries = {
                s.removesuffix("_default"): _view_sql(cur, s.removesuffix("_default")) for s in _patchable(tables)
            }
            reads_of = {view: _reads(view, query) for view, query in queries.items()}
            written: dict[str, Future] = {}

            def patch(snapshot: str) -> None:
                view = snapshot.removesuffix("_default")
                reads = {v: f"memory.main.{v}__x{digest}" for v in reads_of[view] & set(written)}
                for read in reads:
                    written[read].result()  # submitted before this one to a FIFO pool: running or done
                _patch(
                    con,
                    view,
                    snapshot,
                    PATCH_KEYS[view],
                    digest,
                    base_digest,
                    changed,
                    ids,
                    (start, end),
                    reads,
                    queries[view],
                )

            # Two at a time: most patches are small queries that leave a core idle (README, *Performance*).
            try:
                with ThreadPoolExecutor(max_workers=PATCH_WORKERS) as pool:
                    for snapshot in _patch_order(_patchable(tables), reads_of):
                        written[snapshot.removesuffix("_default")] = pool.submit(patch, snapshot)
                for future in written.values():
                    future.result()  # a failed patch raises here, before the set is recorded
            except Exception:
                _drop_set(cur, digest, tables)  # no half-written set left behind
                raise
            _keep(cur, patches, digest, now, tables)
        finally:
            cur.close()
    _saver.submit(_save, con, folder, key, digest, ids, tables)
    return digest


def _digest(ids: frozenset[str]) -> str:
    """The name of an excluded set: a hash of its sorted case ids."""
    return hashlib.sha1("\x1f".join(sorted(ids)).encode()).hexdigest()[:16]


def _look_up_owners(cur, owner_of: dict[str, tuple[str, str] | None], ids: Iterable[str]) -> None:
    """Add the (procedure, physician) of each case of `ids` not in `owner_of` yet; None for a case not in
    the data."""
    case_ids = [i for i in ids if i not in owner_of]
    if not case_ids:
        return
    found = {
        case_id: (procedure, physician)
        for case_id, procedure, physician in cur.execute(
            "select case_id::varchar, procedure_code, physician_id from mart_case "
            "where case_id::varchar in (select unnest(?::varchar[]))",
            [case_ids],
        ).fetchall()
    }
    owner_of.update({i: found.get(i) for i in case_ids})


def _by_procedure(owner_of: dict[str, tuple[str, str] | None], ids: Iterable[str]) -> dict[str, frozenset[str]]:
    """The cases of `ids` in the data, by procedure (a patched set's record in `_patches`)."""
    grouped: dict[str, set[str]] = {}
    for i in ids:
        if owner_of.get(i) is not None:
            grouped.setdefault(owner_of[i][0], set()).add(i)
    return {k: frozenset(v) for k, v in grouped.items()}


def _keep(cur, patches: OrderedDict, digest: str, now: dict, tables: frozenset[str]) -> None:
    """Record the patched set `digest` as the most recent, dropping the oldest beyond PATCHES_KEPT."""
    patches[digest] = now
    while len(patches) > PATCHES_KEPT:
        old, _ = patches.popitem(last=False)
        _drop_set(cur, old, tables)


# Patched sets are also saved beside the database file, one DuckDB file per excluded set, so a process
# that starts with flags already accepted (a restart, a second replica) loads the set it needs instead of
# recomputing every touched procedure (README, *Performance*). The folder is named by the database file's
# version and PATCH_FORMAT, so a rebuild, or a release that patches differently, never reads an old one.
# They are a cache: a missing, partial or unreadable file means the set is computed as before.
PATCH_FORMAT = 2
SAVED_KEPT = 3
SAVED_DAYS = 2
saved_sets_loaded = 0  # how many sets this process loaded rather than computed (the benchmark reports it)
_saver = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scorecard-patch-saver")
_log = logging.getLogger(__name__)


def wait_for_saves() -> None:
    """Return once every patched set submitted so far has been saved (or failed to): for the benchmark and
    the tests, which start a second process that should find them."""
    _saver.submit(lambda: None).result()


def saved_folder(path: Path, served_as: Path | None = None, version: str | None = None) -> Path:
    """Where the patched sets of the analytics file at `path` (this version of it) are saved: beside the
    file (or in $SCORECARD_PATCHES, `core.config.patches_folder`), under the name of `served_as` for a new
    build that will be renamed to it (a rename keeps the version). `version`: the one the caller's
    connection was opened for (`_open`), so a set is never filed under a file that replaced it since."""
    keys = hashlib.sha1(repr(sorted(PATCH_KEYS.items())).encode()).hexdigest()[:8]
    named = served_as or path
    chosen = config.patches_folder()
    base = chosen / named.name if chosen else named.parent / f"{named.name}.patches"
    return base / f"{version or database_version(path)}-{PATCH_FORMAT}-{keys}"


def _save(con, folder: Path, key: tuple, digest: str, ids: frozenset[str], tables: frozenset[str]) -> None:
    """Write the patched set `digest` to its file in `folder` (a temporary file renamed into place, so a
    reader sees a whole file or none), unless a newer set has been patched since; then keep the SAVED_KEPT
    newest files, and remove the folders of other versions of the file untouched for SAVED_DAYS (a
    rebuilt file's; one still in service and untouched that long only loses its cache). Runs on the one
    saver thread, after the decision has returned; a failure is logged and leaves the set to be computed
    again."""
    with _patch_lock(key):
        patches = _patches.get(key)
        if not patches or next(reversed(patches)) != digest:
            return
    target = folder / f"{digest}.duckdb"
    if target.exists():
        return
    temporary = folder / f".{digest}.{uuid.uuid4().hex}.tmp"  # unique across replicas sharing the folder
    alias = f"patch_out_{digest}"
    cur = con.cursor()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        cur.execute(f"attach ? as {alias}", [str(temporary)])
        try:
            for snapshot in _patchable(tables):
                view = snapshot.removesuffix("_default")
                cur.execute(f"create table {alias}.main.{view} as select * from memory.main.{view}__x{digest}")
            cur.execute(
                f"create table {alias}.main.patch_set as select ? as digest, ?::varchar[] as excluded_case_ids",
                [digest, sorted(ids)],
            )
        finally:
            cur.execute(f"detach {alias}")
        os.replace(temporary, target)
        for old in sorted(folder.glob("*.duckdb"), key=lambda f: f.stat().st_mtime)[:-SAVED_KEPT]:
            old.unlink(missing_ok=True)
        for other in folder.parent.iterdir():
            if other.is_dir() and other != folder and time.time() - other.stat().st_mtime > SAVED_DAYS * 86400:
                shutil.rmtree(other, ignore_errors=True)
    except Exception as err:  # noqa: BLE001 - a cache: a read-only folder, a full disk, a set dropped meanwhile
        _log.warning("could not save the patched snapshots %s in %s: %s", digest, folder, err)
    finally:
        cur.close()
        temporary.unlink(missing_ok=True)


def _saved_newest_first(folder: Path) -> list[str]:
    """The digests of the sets saved in `folder`, newest first."""
    try:
        files = sorted(folder.glob("*.duckdb"), key=lambda f: f.stat().st_mtime, reverse=True)
    except OSError:
        return []
    return [f.stem for f in files]


def _load_saved(cur, folder: Path, digest: str, tables: frozenset[str]) -> frozenset[str] | None:
    """Copy the saved patched set `digest` into memory (`memory.main.<view>__x<digest>`) if its file is
    there and whole: it names the set, its excluded cases hash to that name, and it holds every
    patchable view. Returns those cases; None, nothing kept, otherwise."""
    source = folder / f"{digest}.duckdb"
    if not source.exists():
        return None
    alias = f"patch_in_{digest}"
    views = [s.removesuffix("_default") for s in _patchable(tables)]
    try:
        cur.execute(f"attach ? as {alias} (read_only)", [str(source)])
    except duckdb.Error as err:
        _discard(source, err)
        return None
    ids = None  # set once the whole set is in memory
    try:
        row = cur.execute(f"select digest, excluded_case_ids from {alias}.main.patch_set").fetchall()
        named = frozenset(row[0][1]) if len(row) == 1 and row[0][0] == digest else None
        if named is None or _digest(named) != digest:
            _discard(source, "it does not hold the set its name says")
        else:
            for view in views:
                cur.execute(
                    f"create or replace table memory.main.{view}__x{digest} as select * from {alias}.main.{view}"
                )
            ids = named
    except duckdb.Error as err:
        _discard(source, err)
    finally:
        try:
            cur.execute(f"detach {alias}")
            if ids is None:
                _drop_set(cur, digest, tables)
        except duckdb.Error as err:
            _log.warning("could not let go of the saved patched snapshots %s: %s", source, err)
    return ids


def _discard(source: Path, why) -> None:
    """Remove a saved set that cannot be read (it was renamed into place whole, so it is damaged), so the
    set is computed and saved afresh rather than failing to load on every start."""
    _log.warning("could not read the saved patched snapshots %s (%s): removed", source, why)
    source.unlink(missing_ok=True)


def _drop_set(cur, digest: str, tables: frozenset[str]) -> None:
    """Drop whatever of the patched set `digest` is in memory."""
    for snapshot in _patchable(tables):
        cur.execute(f"drop table if exists memory.main.{snapshot.removesuffix('_default')}__x{digest}")


def _changed(cur, owners: list[tuple[str, str]], flipped: Iterable[str], tables: frozenset[str]) -> dict[str, Any]:
    """The keys (PATCH_KEYS) whose rows the cases `flipped` (newly excluded or newly counted again) can
    change, from their `owners` (procedure, physician): the pairs, procedures and physicians they belong
    to; the procedures those physicians did in the default period (a physician-keyed view then reads only
    those; None, every procedure, without the snapshot to tell); and the supply categories the cases have
    a line in (from the stored case categories, read by procedure, as they are stored)."""
    procedures = sorted({procedure for procedure, _ in owners})
    physicians = sorted({physician for _, physician in owners})
    changed: dict[str, Any] = {
        "pair": sorted({(physician, procedure) for procedure, physician in owners}),
        "procedure_code": procedures,
        "physician_id": physicians,
        "physician_procedures": None,
        "category": [],
    }
    if not owners:
        return changed
    if "mart_cost_position_default" in tables:
        changed["physician_procedures"] = [
            r[0]
            for r in cur.execute(
                "select distinct procedure_code from mart_cost_position_default "
                "where physician_id in (select unnest(?::varchar[])) order by 1",
                [physicians],
            ).fetchall()
        ]
    if "category" in PATCH_KEYS.values():
        _set_variables(cur, {"procedure_codes": procedures})
        try:
            changed["category"] = [
                r[0]
                for r in cur.execute(
                    "select distinct category from mart_case_category "
                    "where list_contains(getvariable('procedure_codes'), procedure_code) "
                    "and case_id::varchar in (select unnest(?::varchar[])) order by 1",
                    [sorted(flipped)],
                ).fetchall()
            ]
        finally:
            cur.execute("reset variable procedure_codes")
    return changed


def _reads(view: str, query: str | None) -> frozenset[str]:
    """The patchable views (PATCH_KEYS) that `view`'s query (`_view_sql`; None reads none) reads directly."""
    return frozenset(v for v in PATCH_KEYS if v != view and re.search(rf"\b{v}\b", query or ""))


def _view_sql(cur, view: str) -> str | None:
    """The query of `view` as this database defines it (DuckDB's own rendering, without `CREATE VIEW`), or
    None when its definition is not the plain `CREATE VIEW name AS query` the build writes."""
    row = cur.execute(
        "select sql from duckdb_views() where database_name = ? and view_name = ?", [_ALIAS, view]
    ).fetchone()
    match = re.match(rf"\s*create\s+view\s+{view}\s+as\s+(.*)$", row[0] if row else "", flags=re.I | re.S)
    return match.group(1).rstrip().rstrip(";") if match else None


def shadowed(query: str, tables: dict[str, str]) -> str:
    """`query` reading each view named in `tables` from the table it maps to, its text untouched: common
    table expressions of those names around it, which the query's names bind to before the catalog's."""
    ctes = ",\n".join(f"{name} as (select * from {table})" for name, table in sorted(tables.items()))
    return f"with {ctes}\nselect * from (\n{query}\n) as shadowed"


def _patch_order(snapshots: list[str], reads_of: dict[str, frozenset[str]]) -> list[str]:
    """The snapshots to patch, each after the patchable views its view reads (so it can read their patches)."""
    left = sorted(snapshots)
    order: list[str] = []
    while left:
        pending = {x.removesuffix("_default") for x in left}
        ready = [s for s in left if not (reads_of[s.removesuffix("_default")] & pending)]
        if not ready:
            raise RuntimeError(f"patchable views read each other in a cycle: {left}")
        order += ready
        left = [s for s in left if s not in ready]
    return order


def _patch(con, view, snapshot, key, digest, base_digest, changed, ids, period, reads, query) -> None:
    """Write `memory.main.<view>__x<digest>`: the rows of the changed keys (`_changed`) from the live view,
    the rest copied from the previous patch (or the build's snapshot). Each view on its own cursor, so the
    restricting session variables (procedure_codes, physician_ids, categories: constants folded at plan
    time, so they filter where the rows are read) are only the ones this view's key sets.

    `reads` maps the patchable views this view reads to their patches for this excluded set, already
    written: the view's own `query` (`_view_sql`) then reads those instead of computing them again (a patch
    holds exactly its view's rows for the set; tests/test_bench.py). The category drivers recomputed
    preferred use from every case × category row of the touched procedures (README, *Performance*)."""
    keys = changed[key]
    target = f"memory.main.{view}__x{digest}"
    source = f"memory.main.{view}__x{base_digest}" if base_digest else f"{_ALIAS}.{snapshot}"
    if key == "pair":
        restrict = {"procedure_codes": sorted({c for _, c in keys}), "physician_ids": sorted({p for p, _ in keys})}
        row, bound, order = (
            "list_value(physician_id, procedure_code)",
            [list(k) for k in keys],
            "procedure_code, physician_id",
        )
    elif key == "procedure_code":
        restrict, row, bound, order = {"procedure_codes": keys}, key, keys, "procedure_code, physician_id"
    elif key == "physician_id":
        restrict = {"physician_ids": keys, "procedure_codes": changed["physician_procedures"]}
        row, bound, order = key, keys, "physician_id"
    else:
        restrict, row, bound, order = {"categories": keys}, key, keys, "physician_id, category"
    cur = con.cursor()
    try:
        cur.execute(f"use {_ALIAS}")
        if not keys:  # nothing this view keys by has changed (e.g. the changed cases are not in the data)
            cur.execute(f"create or replace table {target} as select * from {source}")
            return
        variables = {"start_date": period[0], "end_date": period[1], "excluded_case_ids": sorted(ids)}
        _set_variables(
            cur, {**variables, **{k: (v or [_NONE]) if v is not None else None for k, v in restrict.items()}}
        )
        live = f"({shadowed(query, reads)}) as {view}" if reads and query is not None else f"{_ALIAS}.{view}"
        typed = "varchar[][]" if key == "pair" else "varchar[]"
        cur.execute(
            f"create or replace table {target} as "
            f"select * from {source} where {row} not in (select unnest(?::{typed})) "
            f"union all by name "
            f"select * from {live} where {row} in (select unnest(?::{typed})) "
            f"order by {order}",
            [bound, bound],
        )
    finally:
        cur.close()


def excluded_by_procedure(
    variables: dict[str, Any] | None, path: Path | None = None
) -> dict[str, frozenset[str]] | None:
    """For a default-period request with excluded cases: those cases per procedure (the procedures whose
    snapshot rows were patched); None for any other request. Lets callers reuse build-time results
    (e.g. the funnels' φ and τ²) for every procedure an accepted flag did not touch."""
    path = path or database_path()
    _, key = _open(path)
    if _patched_for("mart_outcome_position", path, variables) is None:
        return None
    digest = prepare_excluded((variables or {}).get("excluded_case_ids") or [], path)
    with _patch_lock(key):
        return dict(_patches.get(key, {}).get(digest, {}))


def _patchable(tables: Iterable[str]) -> list[str]:
    """Snapshots of the views prepare_excluded patches (PATCH_KEYS) that this database holds."""
    return [t for t in tables if t.removesuffix("_default") in PATCH_KEYS]


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
        if VARIABLES[name] is list:
            cur.execute(f"set variable {name} = ?::varchar[]", [list(value)])
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
    con = _connection(path)  # first: it opens a rebuilt file, whose default period _snapshot_for needs
    snapshot = _snapshot_for(view, path, variables) or _patched_for(view, path, variables)
    if limit is None and (snapshot or _stored(view, path)):
        held = _held_table(con, path, view, snapshot or view, where, order_by)
        if held is not None:
            rows = held.rows(tuple(where[k] for k in HELD_KEYS[view]), cols)
            if rows is not None:
                return rows
    cur = con.cursor()
    cur.execute(f"use {_ALIAS}")
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


class _Held:
    """A stored table in memory, sorted by its key columns, with each key's span of rows."""

    def __init__(self, frame: pd.DataFrame, keys: tuple[str, ...]):
        self.frame = frame
        n = len(frame)
        values = [frame[k].to_numpy(dtype=object) for k in keys]
        change = np.zeros(n, dtype=bool)
        if n:
            change[0] = True
        for column in values:
            change[1:] |= column[1:] != column[:-1]
        starts = np.flatnonzero(change)
        stops = np.append(starts[1:], n) if n else starts
        firsts = zip(*(v[starts].tolist() for v in values), strict=True)
        self.spans = dict(zip(firsts, zip(starts.tolist(), stops.tolist(), strict=True), strict=True))
        # Columns a query returns as a numpy dtype when its rows have no null, nullable when they do
        # (DuckDB's `df()`): the held frame is nullable wherever the whole table has a null.
        self.nullable = {c: dt.numpy_dtype for c, dt in frame.dtypes.items() if hasattr(dt, "numpy_dtype")}
        self.bytes = int(frame.memory_usage(deep=True).sum()) + 200 * len(self.spans)  # a key's tuple and span

    def rows(self, key: tuple, columns: list[str]) -> pd.DataFrame | None:
        """The key's rows as DuckDB's `df()` gives them; None for a key with none (an empty result has
        DuckDB's own types: the query answers it)."""
        if key not in self.spans:
            return None
        start, stop = self.spans[key]
        out = self.frame.iloc[start:stop][columns].reset_index(drop=True)
        for column in columns:
            if column in self.nullable and not out[column].hasnans:
                out[column] = out[column].to_numpy(dtype=self.nullable[column])
        return out


def held_bytes() -> int:
    """Memory the held tables take now, every file version and excluded set (the benchmark reports it)."""
    with _held_lock:
        return sum(h.bytes for h in _held.values() if h is not None)


def _stored(view: str, path: Path) -> bool:
    """Whether `view` is itself a table the build stored (e.g. mart_outcome_summary_default)."""
    known = _defaults.get(_file_key(path))
    return known is not None and view in known[2]


def _held_table(con, path: Path, view: str, source: str, where, order_by) -> _Held | None:
    """The held copy of `source` for a request on HELD_KEYS[view] with one value each, else None."""
    keys = HELD_KEYS.get(view)
    if keys is None or set(where or {}) != set(keys) or not all(isinstance(where[k], str) for k in keys):
        return None
    order = tuple(order_by or ())
    entry = (_file_key(path), source, keys, order)
    with _held_lock:
        if entry in _held:
            _held.move_to_end(entry)
            return _held[entry]
        # Loaded under the lock: concurrent first requests wait for one load rather than each doing it.
        held = None
        cur = con.cursor()
        try:
            cur.execute(f"use {_ALIAS}")
            if cur.execute(f"select count(*) from {source}").fetchone()[0] <= HELD_ROWS:
                frame = cur.execute(f"select * from {source} order by {', '.join([*keys, *order])}").df()
                held = _Held(frame, keys)
        finally:
            cur.close()
        if _connections.get(entry[0]) is not con:  # the file was replaced meanwhile: keep nothing read from the old one
            return None
        _held[entry] = held
        while len(_held) > 1 and sum(h.bytes for h in _held.values() if h is not None) > HELD_MB * 2**20:
            _held.popitem(last=False)
        return held


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
    # build process (Python, pandas and the risk models on top), so DuckDB gets 2.5 GB unless configured.
    con.execute(f"set memory_limit = '{config.build_memory_mb():d}MB'")
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
