"""App state apart from the analytics database: audit log, case flags, evidence feedback, secrets.

Where it lives is $SCORECARD_STATE: a SQLite file by default (data/state.sqlite), or a
`postgresql://` URL when several app replicas serve one hospital (README, "Several app servers").
Both backends hold the same tables, created and upgraded by the numbered migrations below from an
empty database (the `schema_version` table records which have run), so it survives rebuilds of the
analytics database and restarts of the app.

Every write is one transaction, and a write that fails raises `StateWriteError` for the page to
report -- never swallowed; a read that fails raises `StateReadError`, so a page that needs state
says so and shows no data instead of showing an empty log or queue as if it were real.
Case flags are keyed by the extract's case_id, which a rebuild keeps.

The audit log is tamper-evident: each entry stores the hash of the entry before it, and its own
hash over its canonical fields (see `entry_hash`). Appends are serialised -- SQLite's write lock
(`begin immediate`), PostgreSQL's `lock table ... in exclusive mode` -- so concurrent sessions on
any number of replicas extend one chain. `verify_audit_chain` recomputes it and names the first
entry that does not match: an edited, inserted or deleted entry breaks the chain from that point.
(Someone who can write the database could recompute every later hash; the audit page shows the
head hash so an administrator can note it elsewhere and compare.)
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets as pysecrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from core import config

DEFAULT_STATE = Path(config.DEFAULT_STATE)
FLAG_REASONS = ("wrong physician", "wrong procedure", "data error", "other")
FLAG_STATUSES = ("open", "accepted", "rejected")
FEEDBACK_KINDS = ("comment", "review request")
FEEDBACK_STATUSES = ("new", "in review", "answered", "closed")
GENESIS = "0" * 64  # the "previous hash" of the first audit entry
AUDIT_FIELDS = ("id", "at", "email", "role", "action", "page", "params", "detail", "prev_hash")

Location = Path | str  # a SQLite file, or a postgresql:// URL


class StateError(RuntimeError):
    """App state could not be reached; the message says what failed."""


class StateWriteError(StateError):
    """App state could not be written; the message says what was lost."""


class StateReadError(StateError):
    """App state could not be read: a page must say so rather than show nothing as if it were real."""


class FlagConflictError(StateWriteError):
    """A decision on a flag that is no longer open (another reviewer decided it first)."""


def state_path() -> Location:
    """Where app state lives: $SCORECARD_STATE (a file, or a postgresql:// URL), else data/state.sqlite."""
    value = config.state_location()
    return value if _is_postgres(value) else Path(value)


def accepted_flags_if_kept(path: Location | None = None) -> list[str]:
    """`accepted_flag_case_ids` where app state is kept, else none: a SQLite file not yet made is not
    created (the command-line build asks this of whatever state the environment names)."""
    where = path or state_path()
    if not _is_postgres(where) and not Path(where).exists():
        return []
    return accepted_flag_case_ids(where)


def _is_postgres(where: Location) -> bool:
    return isinstance(where, str) and where.startswith(("postgresql://", "postgres://"))


def _timeout() -> float:
    """Seconds to wait for a lock or a connection before a request is told state is unavailable."""
    return config.state_timeout()


def now() -> str:
    """UTC timestamp as ISO 8601 text, to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _text(value: Any) -> Any:
    """PostgreSQL text cannot hold NUL; store the same replacement on both backends so they agree."""
    return value.replace("\x00", "\ufffd") if isinstance(value, str) else value


# --- migrations ------------------------------------------------------------------------------
# Each is (version, description, {dialect: DDL} or a function(tx)). Version 1 is the schema that
# SQLite files made before versioning already have (hence "if not exists"); never edit a released
# migration -- add the next one.


def _chain_existing(tx: _Tx) -> None:
    """Give entries written before the hash chain existed their place in it, in id order."""
    prev = GENESIS
    rows = tx.execute(f"select {', '.join(AUDIT_FIELDS[:-1])} from audit_log order by id").fetchall()
    for row in rows:
        entry = dict(zip(AUDIT_FIELDS[:-1], row, strict=True), prev_hash=prev)
        digest = entry_hash(entry)
        tx.execute("update audit_log set prev_hash = ?, hash = ? where id = ?", (prev, digest, entry["id"]))
        prev = digest


# The build history's columns after its id, the same on both backends (only the id's type differs).
_BUILD_COLUMNS = """
    created_at text not null, email text not null, source_name text not null, upload_bytes integer,
    source_sha256 text, status text not null, progress text, finished_at text, seconds double precision,
    error_count integer, warning_count integer, counts text, diff text, detail text, pid integer,
    published_at text, published_by text, rolled_back_at text, rolled_back_by text,
    data_start_date text, data_end_date text"""


_MIGRATIONS: list[tuple[int, str, dict[str, str] | Callable[[_Tx], None]]] = [
    (
        1,
        "audit log, case flags, feedback, secrets",
        {
            "sqlite": """
            create table if not exists audit_log (
                id integer primary key autoincrement, at text not null, email text not null, role text,
                action text not null, page text, params text, detail text);
            create index if not exists audit_log_at on audit_log (at);
            create table if not exists case_flag (
                id integer primary key autoincrement, case_id text not null, physician_id text not null,
                email text not null, reason text not null, note text, status text not null default 'open',
                reply text, created_at text not null, decided_at text, decided_by text);
            create index if not exists case_flag_case on case_flag (case_id);
            create table if not exists feedback (
                id integer primary key autoincrement, evidence_id text not null, category text,
                email text not null, kind text not null, message text not null,
                status text not null default 'new', reply text, created_at text not null,
                updated_at text, updated_by text);
            create table if not exists app_secret (name text primary key, value blob not null);
        """,
            "postgresql": """
            create table audit_log (
                id bigint primary key, at text not null, email text not null, role text,
                action text not null, page text, params text, detail text);
            create index audit_log_at on audit_log (at);
            create table case_flag (
                id bigint generated by default as identity primary key, case_id text not null,
                physician_id text not null, email text not null, reason text not null, note text,
                status text not null default 'open', reply text, created_at text not null,
                decided_at text, decided_by text);
            create index case_flag_case on case_flag (case_id);
            create table feedback (
                id bigint generated by default as identity primary key, evidence_id text not null,
                category text, email text not null, kind text not null, message text not null,
                status text not null default 'new', reply text, created_at text not null,
                updated_at text, updated_by text);
            create table app_secret (name text primary key, value bytea not null);
        """,
        },
    ),
    (
        2,
        "audit log hash chain",
        {
            "sqlite": "alter table audit_log add column prev_hash text; alter table audit_log add column hash text;",
            "postgresql": "alter table audit_log add column prev_hash text; alter table audit_log add column hash text;",
        },
    ),
    (3, "chain the entries written before version 2", _chain_existing),
    (
        4,
        "build history of uploaded extracts (README, *Refreshing the data*)",
        {
            "sqlite": f"create table if not exists builds (id integer primary key autoincrement, {_BUILD_COLUMNS})",
            "postgresql": f"create table builds (id bigint generated by default as identity primary key, {_BUILD_COLUMNS})",
        },
    ),
]
SCHEMA_VERSION = _MIGRATIONS[-1][0]


# --- connections and transactions ------------------------------------------------------------


class _Tx:
    """One open transaction on either backend; SQL is written with `?` placeholders."""

    def __init__(self, con: Any, dialect: str):
        self.con, self.dialect = con, dialect

    def execute(self, sql: str, params: tuple = ()) -> Any:
        if self.dialect == "postgresql":
            sql = sql.replace("?", "%s")
        return self.con.execute(sql, tuple(_text(p) for p in params))

    def script(self, sql: str) -> None:
        for statement in (s.strip() for s in sql.split(";")):
            if statement:
                self.con.execute(statement)


_init_lock = threading.Lock()
_initialised: set[str] = set()
_pool_lock = threading.Lock()
_idle: dict[str, list[Any]] = {}
_POOL_IDLE = 8
_pg_errors: tuple[type[BaseException], ...] = ()


def _backend_errors() -> tuple[type[BaseException], ...]:
    return (sqlite3.Error, OSError, *_pg_errors)


def _migrate(tx: _Tx) -> None:
    """Run the migrations this database has not had, in order, inside the caller's locked transaction."""
    tx.execute(
        "create table if not exists schema_version (version integer primary key, "
        "applied_at text not null, description text not null)"
    )
    done = tx.execute("select coalesce(max(version), 0) from schema_version").fetchone()[0]
    for version, description, step in _MIGRATIONS:
        if version <= done:
            continue
        if callable(step):
            step(tx)
        else:
            tx.script(step[tx.dialect])
        tx.execute(
            "insert into schema_version (version, applied_at, description) values (?, ?, ?)",
            (version, now(), description),
        )


@contextmanager
def _sqlite(path: Path) -> Iterator[sqlite3.Connection]:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=_timeout(), isolation_level=None)
    try:
        con.execute(f"pragma busy_timeout = {int(_timeout() * 1000)}")
        key = str(path.resolve())
        if key not in _initialised:
            with _init_lock:
                con.execute("pragma journal_mode = wal")
                con.execute("begin immediate")
                try:
                    _migrate(_Tx(con, "sqlite"))
                    con.execute("commit")
                except BaseException:
                    con.execute("rollback")
                    raise
                _initialised.add(key)
        yield con
    finally:
        con.close()


def _pg_open(url: str) -> Any:
    global _pg_errors
    import psycopg  # only when state is on PostgreSQL

    _pg_errors = (psycopg.Error,)
    con = psycopg.connect(
        url,
        autocommit=True,
        connect_timeout=max(1, int(_timeout())),
        options=f"-c lock_timeout={int(_timeout() * 1000)}",
    )
    try:
        if url not in _initialised:
            with _init_lock, con.transaction():
                # one migrator at a time across replicas, before any table exists
                con.execute("select pg_advisory_xact_lock(hashtext('scorecard state migrations'))")
                _migrate(_Tx(con, "postgresql"))
            _initialised.add(url)
    except BaseException:
        con.close()
        raise
    return con


@contextmanager
def _postgres(url: str) -> Iterator[Any]:
    """A connection from a small per-process pool; a pooled one is pinged first, so a server that
    restarted costs no request an error once it is back."""
    con = None
    with _pool_lock:
        pooled = _idle.get(url, [])
        con = pooled.pop() if pooled else None
    if con is not None:
        try:
            con.execute("select 1")
        except Exception:  # noqa: BLE001 - a dead pooled connection: open a fresh one
            con.close()
            con = None
    if con is None:
        con = _pg_open(url)
    healthy = False
    try:
        yield con
        healthy = True
    finally:
        if healthy and not con.closed and con.info.transaction_status == 0:  # idle
            with _pool_lock:
                pooled = _idle.setdefault(url, [])
                if len(pooled) < _POOL_IDLE:
                    pooled.append(con)
                    con = None
        if con is not None:
            con.close()


@contextmanager
def _transaction(where: Location | None, *, lock_audit: bool = False) -> Iterator[_Tx]:
    """One write transaction; `lock_audit` serialises audit appends (SQLite's `begin immediate`
    already takes the database's write lock)."""
    where = where or state_path()
    if _is_postgres(where):
        with _postgres(str(where)) as con, con.transaction():
            if lock_audit:
                con.execute("lock table audit_log in exclusive mode")
            yield _Tx(con, "postgresql")
    else:
        with _sqlite(Path(where)) as con:
            con.execute("begin immediate")
            try:
                yield _Tx(con, "sqlite")
                con.execute("commit")
            except BaseException:
                if con.in_transaction:
                    con.execute("rollback")
                raise


def _write(sql: str, params: tuple, what: str, path: Location | None = None) -> int:
    try:
        with _transaction(path) as tx:
            row = tx.execute(sql + " returning id", params).fetchone()
            return int(row[0]) if row else 0
    except _backend_errors() as err:
        raise StateWriteError(f"could not save {what}: {err}") from err


def _read(sql: str, params: tuple = (), path: Location | None = None) -> pd.DataFrame:
    where = path or state_path()
    try:
        if _is_postgres(where):
            with _postgres(str(where)) as con:
                cur = _Tx(con, "postgresql").execute(sql, params)
                cols = [d[0] for d in cur.description]
                return pd.DataFrame(cur.fetchall(), columns=cols)
        with _sqlite(Path(where)) as con:
            cur = con.execute(sql, params)
            cols = [d[0] for d in cur.description]
            return pd.DataFrame(cur.fetchall(), columns=cols)
    except _backend_errors() as err:
        raise StateReadError(f"could not read app state: {err}") from err


def _newest_first(table: str, equal: dict[str, Any], path: Location | None) -> pd.DataFrame:
    """Rows of one of this module's tables, newest first, where each given (non-empty) column equals its value."""
    given = {column: value for column, value in equal.items() if value}
    where = (" where " + " and ".join(f"{column} = ?" for column in given)) if given else ""
    return _read(f"select * from {table}{where} order by id desc", tuple(given.values()), path)


def schema_version(path: Location | None = None) -> int:
    """The newest migration this database has had."""
    return int(_read("select max(version) as v from schema_version", (), path)["v"].iloc[0])


# --- audit log -------------------------------------------------------------------------------


def entry_hash(entry: dict[str, Any]) -> str:
    """SHA-256 of an audit entry's canonical form: its fields (id, when, who, role, what, page,
    parameters, detail and the previous entry's hash) as sorted-key compact JSON in UTF-8."""
    canonical = {field: entry.get(field) for field in AUDIT_FIELDS}
    canonical["id"] = int(canonical["id"])
    return hashlib.sha256(
        json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    ).hexdigest()


def audit(
    email: str,
    role: str | None,
    action: str,
    page: str | None = None,
    params: dict[str, Any] | None = None,
    detail: str | None = None,
    path: Location | None = None,
) -> None:
    """Append one entry (who, what, when) to the audit log, chained to the entry before it."""
    entry = {
        "at": now(),
        "email": email,
        "role": role,
        "action": action,
        "page": page,
        "params": json.dumps(params or {}, sort_keys=True, default=str),
        "detail": detail,
    }
    entry = {k: _text(v) for k, v in entry.items()}
    try:
        with _transaction(path, lock_audit=True) as tx:
            last = tx.execute("select id, hash from audit_log order by id desc limit 1").fetchone()
            entry["id"], entry["prev_hash"] = (int(last[0]) + 1, last[1]) if last else (1, GENESIS)
            tx.execute(
                "insert into audit_log (id, at, email, role, action, page, params, detail, prev_hash, hash) "
                "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*(entry[f] for f in AUDIT_FIELDS), entry_hash(entry)),
            )
    except _backend_errors() as err:
        raise StateWriteError(f"could not save the audit log entry: {err}") from err


@dataclass(frozen=True)
class ChainCheck:
    """The outcome of `verify_audit_chain`: `ok`, how many entries were checked, the first entry
    that does not match (its id and why), and the hash of the newest entry (the chain's head)."""

    ok: bool
    entries: int
    first_broken_id: int | None = None
    problem: str = ""
    head: str = GENESIS


def verify_audit_chain(path: Location | None = None, batch: int = 20_000) -> ChainCheck:
    """Recompute the audit log's hash chain from the first entry; stop at the first that breaks it."""
    prev, checked, after = GENESIS, 0, -1
    columns = ", ".join((*AUDIT_FIELDS, "hash"))
    while True:
        rows = _read(f"select {columns} from audit_log where id > ? order by id limit ?", (after, batch), path)
        if rows.empty:
            return ChainCheck(True, checked, head=prev)
        for entry in rows.astype(object).where(rows.notna(), None).to_dict("records"):
            if entry["prev_hash"] != prev:
                why = (
                    "an entry before it was changed, removed or inserted"
                    if checked
                    else "the first entry is not the start of the chain"
                )
                return ChainCheck(False, checked, int(entry["id"]), why, prev)
            if entry["hash"] != entry_hash(entry):
                return ChainCheck(False, checked, int(entry["id"]), "its contents were changed", prev)
            prev, checked, after = entry["hash"], checked + 1, int(entry["id"])


def audit_entries(
    *,
    email: str | None = None,
    action: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int = 5000,
    path: Location | None = None,
) -> pd.DataFrame:
    """Audit entries, newest first, filtered by who, what and when (ISO dates, inclusive)."""
    clauses, params = [], []
    if email:
        clauses.append("lower(email) like ?")
        params.append(f"%{email.lower()}%")
    if action:
        clauses.append("action = ?")
        params.append(action)
    if since:
        clauses.append("at >= ?")
        params.append(since)
    if until:
        clauses.append("at < ?")
        params.append((date.fromisoformat(until) + timedelta(days=1)).isoformat())
    where = (" where " + " and ".join(clauses)) if clauses else ""
    return _read(
        f"select id, at, email, role, action, page, params, detail from audit_log{where} order by id desc limit ?",
        (*params, int(limit)),
        path,
    )


def audit_actions(path: Location | None = None) -> list[str]:
    """The distinct actions in the audit log, for a filter."""
    return _read("select distinct action from audit_log order by action", (), path)["action"].tolist()


# --- secrets ---------------------------------------------------------------------------------


def secret(name: str, path: Location | None = None) -> bytes:
    """A random secret created once and kept in app state (e.g. the key blinding peer letters); the
    first replica to ask creates it, every other one reads the same value."""
    kept = _read("select value from app_secret where name = ?", (name,), path)
    if len(kept):  # the usual case: a read, which goes on while another session holds the write lock
        return bytes(kept["value"].iloc[0])
    try:
        with _transaction(path) as tx:
            tx.execute(
                "insert into app_secret (name, value) values (?, ?) on conflict (name) do nothing",
                (name, pysecrets.token_bytes(32)),
            )
            return bytes(tx.execute("select value from app_secret where name = ?", (name,)).fetchone()[0])
    except _backend_errors() as err:
        raise StateReadError(f"could not read the {name} secret from app state: {err}") from err


# --- case flags ------------------------------------------------------------------------------


def flag_case(
    case_id: str, physician_id: str, email: str, reason: str, note: str = "", path: Location | None = None
) -> int:
    """Record a physician's flag on one of their cases; returns the flag's id."""
    if reason not in FLAG_REASONS:
        raise ValueError(f"reason must be one of {', '.join(FLAG_REASONS)}")
    return _write(
        "insert into case_flag (case_id, physician_id, email, reason, note, status, created_at) "
        "values (?, ?, ?, ?, ?, 'open', ?)",
        (case_id, physician_id, email, reason, note.strip(), now()),
        "the case flag",
        path,
    )


def decide_flag(flag_id: int, status: str, reply: str, decided_by: str, path: Location | None = None) -> None:
    """Accept or reject an open flag with a reply (supply and admin). Only an open flag can be decided:
    a reviewer whose page is stale gets `FlagConflictError` saying who decided it first, instead of
    silently reversing that decision."""
    if status not in ("accepted", "rejected"):
        raise ValueError("status must be accepted or rejected")
    try:
        with _transaction(path) as tx:
            changed = tx.execute(
                "update case_flag set status = ?, reply = ?, decided_at = ?, decided_by = ? "
                "where id = ? and status = 'open'",
                (status, reply.strip(), now(), decided_by, int(flag_id)),
            ).rowcount
            current = (
                None
                if changed
                else tx.execute(
                    "select status, decided_by, decided_at from case_flag where id = ?", (int(flag_id),)
                ).fetchone()
            )
    except _backend_errors() as err:
        raise StateWriteError(f"could not save the decision on the flag: {err}") from err
    if changed:
        return
    if current is None:
        raise FlagConflictError(f"Flag {flag_id} does not exist; your decision was not saved.")
    raise FlagConflictError(
        f"This flag was already {current[0]} by {current[1]} on {str(current[2])[:16]}; "
        "your decision was not saved. Reload the page to see the current queue."
    )


def flags(*, physician_id: str | None = None, status: str | None = None, path: Location | None = None) -> pd.DataFrame:
    """Case flags, newest first, optionally for one physician or one status."""
    return _newest_first("case_flag", {"physician_id": physician_id, "status": status}, path)


def latest_flags(physician_id: str, path: Location | None = None) -> pd.DataFrame:
    """Each of the physician's flagged cases with its newest flag's status and reply (one row per case)."""
    return _read(
        "select case_id, status, reply from case_flag as f where physician_id = ? and id = "
        "(select max(g.id) from case_flag as g where g.case_id = f.case_id and g.physician_id = f.physician_id)"
        " order by case_id",
        (physician_id,),
        path,
    )


def accepted_flag_case_ids(path: Location | None = None) -> list[str]:
    """Cases removed from the figures because a flag on them was accepted."""
    return _read("select distinct case_id from case_flag where status = 'accepted' order by case_id", (), path)[
        "case_id"
    ].tolist()


# --- evidence feedback -----------------------------------------------------------------------


def add_feedback(
    evidence_id: str, category: str, email: str, kind: str, message: str, path: Location | None = None
) -> int:
    """A physician's comment on an evidence summary, or a request to review it."""
    if kind not in FEEDBACK_KINDS:
        raise ValueError(f"kind must be one of {', '.join(FEEDBACK_KINDS)}")
    if not message.strip():
        raise ValueError("the message is empty")
    return _write(
        "insert into feedback (evidence_id, category, email, kind, message, status, created_at) "
        "values (?, ?, ?, ?, ?, 'new', ?)",
        (evidence_id, category, email, kind, message.strip(), now()),
        "your feedback",
        path,
    )


def set_feedback_status(
    feedback_id: int, status: str, reply: str, updated_by: str, path: Location | None = None
) -> None:
    """Supply staff set the status of a piece of feedback, with an optional reply."""
    if status not in FEEDBACK_STATUSES:
        raise ValueError(f"status must be one of {', '.join(FEEDBACK_STATUSES)}")
    _write(
        "update feedback set status = ?, reply = ?, updated_at = ?, updated_by = ? where id = ?",
        (status, reply.strip(), now(), updated_by, int(feedback_id)),
        "the feedback status",
        path,
    )


def feedback(*, email: str | None = None, evidence_id: str | None = None, path: Location | None = None) -> pd.DataFrame:
    """Feedback, newest first, optionally from one user or on one summary."""
    return _newest_first("feedback", {"email": email, "evidence_id": evidence_id}, path)


# --- builds: refresh day in the app (uploads, publish, roll back) -----------------------------
# A self-contained block: its own table, created on first use, written through `_write`/`_read`
# like the rest of this module. History lives here rather than beside the database files because
# it records who did what (uploaded, published, rolled back) and outlives the build files, which
# are pruned; several app replicas then share one history.

BUILD_STATUSES = (
    "uploaded",
    "building",
    "refused",
    "ready",
    "failed",
    "interrupted",
    "published",
    "rolled back",
    "replaced",
)
_BUILD_FIELDS = (
    "source_sha256",
    "status",
    "progress",
    "finished_at",
    "seconds",
    "error_count",
    "warning_count",
    "counts",
    "diff",
    "detail",
    "pid",
    "published_at",
    "published_by",
    "rolled_back_at",
    "rolled_back_by",
    "data_start_date",
    "data_end_date",
)


def record_build(email: str, source_name: str, upload_bytes: int, path: Path | None = None) -> int:
    """A new entry in the build history for an uploaded extract; returns its id."""
    return _write(
        "insert into builds (created_at, email, source_name, upload_bytes, status, pid) "
        "values (?, ?, ?, ?, 'uploaded', ?)",
        (now(), email, source_name, int(upload_bytes), os.getpid()),
        "the build entry",
        path,
    )


def update_build(build_id: int, path: Path | None = None, **fields: Any) -> None:
    """Set some of a build's fields (dicts and lists are stored as JSON)."""
    unknown = set(fields) - set(_BUILD_FIELDS)
    if unknown:
        raise ValueError(f"unknown build field(s): {', '.join(sorted(unknown))}")
    if "status" in fields and fields["status"] not in BUILD_STATUSES:
        raise ValueError(f"status must be one of {', '.join(BUILD_STATUSES)}")
    values = [json.dumps(v, sort_keys=True, default=str) if isinstance(v, (dict, list)) else v for v in fields.values()]
    sets = ", ".join(f"{name} = ?" for name in fields)
    _write(f"update builds set {sets} where id = ?", (*values, int(build_id)), "the build entry", path)


def builds(limit: int = 50, path: Path | None = None) -> pd.DataFrame:
    """The build history, newest first."""
    return _read("select * from builds order by id desc limit ?", (int(limit),), path)


def build_entry(build_id: int, path: Path | None = None) -> dict[str, Any] | None:
    """One build's entry, or None."""
    frame = _read("select * from builds where id = ?", (int(build_id),), path)
    return frame.iloc[0].to_dict() if len(frame) else None
