"""App state apart from the analytics database: audit log, case flags, evidence feedback, secrets.

It lives in a SQLite file at $SCORECARD_STATE (default data/state.sqlite) so that it survives
rebuilds of the analytics database and restarts of the app. SQLite in WAL mode with a busy
timeout serialises writers from concurrent sessions without losing any; every write is one
transaction, and a write that fails raises `StateWriteError` for the page to report — never
swallowed. Case flags are keyed by the extract's case_id, which a rebuild keeps.
"""

from __future__ import annotations

import json
import os
import secrets as pysecrets
import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

DEFAULT_STATE = Path("data/state.sqlite")
FLAG_REASONS = ("wrong physician", "wrong procedure", "data error", "other")
FLAG_STATUSES = ("open", "accepted", "rejected")
FEEDBACK_KINDS = ("comment", "review request")
FEEDBACK_STATUSES = ("new", "in review", "answered", "closed")

_SCHEMA = """
create table if not exists audit_log (
    id integer primary key autoincrement,
    at text not null,
    email text not null,
    role text,
    action text not null,
    page text,
    params text,
    detail text
);
create index if not exists audit_log_at on audit_log (at);
create table if not exists case_flag (
    id integer primary key autoincrement,
    case_id text not null,
    physician_id text not null,
    email text not null,
    reason text not null,
    note text,
    status text not null default 'open',
    reply text,
    created_at text not null,
    decided_at text,
    decided_by text
);
create index if not exists case_flag_case on case_flag (case_id);
create table if not exists feedback (
    id integer primary key autoincrement,
    evidence_id text not null,
    category text,
    email text not null,
    kind text not null,
    message text not null,
    status text not null default 'new',
    reply text,
    created_at text not null,
    updated_at text,
    updated_by text
);
create table if not exists app_secret (
    name text primary key,
    value blob not null
);
"""

_init_lock = threading.Lock()
_initialised: set[str] = set()


class StateWriteError(RuntimeError):
    """App state could not be written; the message says what was lost."""


def state_path() -> Path:
    """Where app state lives: $SCORECARD_STATE, else data/state.sqlite."""
    return Path(os.environ.get("SCORECARD_STATE", str(DEFAULT_STATE)))


def now() -> str:
    """UTC timestamp as ISO 8601 text, to the second."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


@contextmanager
def _connect(path: Path | None = None) -> Iterator[sqlite3.Connection]:
    path = path or state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=15, isolation_level=None)
    try:
        con.execute("pragma busy_timeout = 15000")
        key = str(path.resolve())
        if key not in _initialised:
            with _init_lock:
                con.execute("pragma journal_mode = wal")
                con.executescript(_SCHEMA)
                _initialised.add(key)
        yield con
    finally:
        con.close()


def _write(sql: str, params: tuple, what: str, path: Path | None = None) -> int:
    try:
        with _connect(path) as con:
            con.execute("begin immediate")
            cur = con.execute(sql, params)
            con.execute("commit")
            return int(cur.lastrowid or 0)
    except (sqlite3.Error, OSError) as err:
        raise StateWriteError(f"could not save {what}: {err}") from err


def _read(sql: str, params: tuple = (), path: Path | None = None) -> pd.DataFrame:
    with _connect(path) as con:
        cur = con.execute(sql, params)
        cols = [d[0] for d in cur.description]
        return pd.DataFrame(cur.fetchall(), columns=cols)


def _newest_first(table: str, equal: dict[str, Any], path: Path | None) -> pd.DataFrame:
    """Rows of one of this module's tables, newest first, where each given (non-empty) column equals its value."""
    given = {column: value for column, value in equal.items() if value}
    where = (" where " + " and ".join(f"{column} = ?" for column in given)) if given else ""
    return _read(f"select * from {table}{where} order by id desc", tuple(given.values()), path)


# --- audit log -------------------------------------------------------------------------------

def audit(email: str, role: str | None, action: str, page: str | None = None,
          params: dict[str, Any] | None = None, detail: str | None = None, path: Path | None = None) -> None:
    """Append one entry (who, what, when) to the audit log."""
    _write(
        "insert into audit_log (at, email, role, action, page, params, detail) values (?, ?, ?, ?, ?, ?, ?)",
        (now(), email, role, action, page, json.dumps(params or {}, sort_keys=True, default=str), detail),
        "the audit log entry",
        path,
    )


def audit_entries(*, email: str | None = None, action: str | None = None, since: str | None = None,
                  until: str | None = None, limit: int = 5000, path: Path | None = None) -> pd.DataFrame:
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
        clauses.append("at < date(?, '+1 day')")
        params.append(until)
    where = (" where " + " and ".join(clauses)) if clauses else ""
    return _read(f"select id, at, email, role, action, page, params, detail from audit_log{where} "
                 f"order by id desc limit ?", (*params, int(limit)), path)


def audit_actions(path: Path | None = None) -> list[str]:
    """The distinct actions in the audit log, for a filter."""
    return _read("select distinct action from audit_log order by action", (), path)["action"].tolist()


# --- secrets ---------------------------------------------------------------------------------

def secret(name: str, path: Path | None = None) -> bytes:
    """A random secret created once and kept in app state (e.g. the key blinding peer letters)."""
    with _connect(path) as con:
        row = con.execute("select value from app_secret where name = ?", (name,)).fetchone()
        if row:
            return bytes(row[0])
        con.execute("insert or ignore into app_secret (name, value) values (?, ?)",
                    (name, pysecrets.token_bytes(32)))
        return bytes(con.execute("select value from app_secret where name = ?", (name,)).fetchone()[0])


# --- case flags ------------------------------------------------------------------------------

def flag_case(case_id: str, physician_id: str, email: str, reason: str, note: str = "",
              path: Path | None = None) -> int:
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


def decide_flag(flag_id: int, status: str, reply: str, decided_by: str, path: Path | None = None) -> None:
    """Accept or reject a flag with a reply (supply and admin)."""
    if status not in ("accepted", "rejected"):
        raise ValueError("status must be accepted or rejected")
    _write("update case_flag set status = ?, reply = ?, decided_at = ?, decided_by = ? where id = ?",
           (status, reply.strip(), now(), decided_by, int(flag_id)), "the decision on the flag", path)


def flags(*, physician_id: str | None = None, status: str | None = None, path: Path | None = None) -> pd.DataFrame:
    """Case flags, newest first, optionally for one physician or one status."""
    return _newest_first("case_flag", {"physician_id": physician_id, "status": status}, path)


def accepted_flag_case_ids(path: Path | None = None) -> list[str]:
    """Cases removed from the figures because a flag on them was accepted."""
    return _read("select distinct case_id from case_flag where status = 'accepted' order by case_id",
                 (), path)["case_id"].tolist()


# --- evidence feedback -----------------------------------------------------------------------

def add_feedback(evidence_id: str, category: str, email: str, kind: str, message: str,
                 path: Path | None = None) -> int:
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


def set_feedback_status(feedback_id: int, status: str, reply: str, updated_by: str,
                        path: Path | None = None) -> None:
    """Supply staff set the status of a piece of feedback, with an optional reply."""
    if status not in FEEDBACK_STATUSES:
        raise ValueError(f"status must be one of {', '.join(FEEDBACK_STATUSES)}")
    _write("update feedback set status = ?, reply = ?, updated_at = ?, updated_by = ? where id = ?",
           (status, reply.strip(), now(), updated_by, int(feedback_id)), "the feedback status", path)


def feedback(*, email: str | None = None, evidence_id: str | None = None, path: Path | None = None) -> pd.DataFrame:
    """Feedback, newest first, optionally from one user or on one summary."""
    return _newest_first("feedback", {"email": email, "evidence_id": evidence_id}, path)


# --- builds: refresh day in the app (uploads, publish, roll back) -----------------------------
# A self-contained block: its own table, created on first use, written through `_write`/`_read`
# like the rest of this module. History lives here rather than beside the database files because
# it records who did what (uploaded, published, rolled back) and outlives the build files, which
# are pruned; several app replicas then share one history.

BUILD_STATUSES = ("uploaded", "building", "refused", "ready", "failed", "interrupted", "published",
                  "rolled back", "replaced")
_BUILD_FIELDS = ("source_sha256", "status", "progress", "finished_at", "seconds", "error_count",
                 "warning_count", "counts", "diff", "detail", "pid", "published_at", "published_by",
                 "rolled_back_at", "rolled_back_by", "data_start_date", "data_end_date")
_BUILDS_SCHEMA = """
create table if not exists builds (
    id integer primary key autoincrement,
    created_at text not null,
    email text not null,
    source_name text not null,
    upload_bytes integer,
    source_sha256 text,
    status text not null,
    progress text,
    finished_at text,
    seconds real,
    error_count integer,
    warning_count integer,
    counts text,
    diff text,
    detail text,
    pid integer,
    published_at text,
    published_by text,
    rolled_back_at text,
    rolled_back_by text,
    data_start_date text,
    data_end_date text
)
"""
_builds_ready: set[str] = set()


def _builds_table(path: Path | None) -> None:
    key = str((path or state_path()).resolve())
    if key not in _builds_ready:
        _write(_BUILDS_SCHEMA, (), "the build history table", path)
        _builds_ready.add(key)


def record_build(email: str, source_name: str, upload_bytes: int, path: Path | None = None) -> int:
    """A new entry in the build history for an uploaded extract; returns its id."""
    _builds_table(path)
    return _write("insert into builds (created_at, email, source_name, upload_bytes, status, pid) "
                  "values (?, ?, ?, ?, 'uploaded', ?)",
                  (now(), email, source_name, int(upload_bytes), os.getpid()), "the build entry", path)


def update_build(build_id: int, path: Path | None = None, **fields: Any) -> None:
    """Set some of a build's fields (dicts and lists are stored as JSON)."""
    unknown = set(fields) - set(_BUILD_FIELDS)
    if unknown:
        raise ValueError(f"unknown build field(s): {', '.join(sorted(unknown))}")
    if "status" in fields and fields["status"] not in BUILD_STATUSES:
        raise ValueError(f"status must be one of {', '.join(BUILD_STATUSES)}")
    _builds_table(path)
    values = [json.dumps(v, sort_keys=True, default=str) if isinstance(v, (dict, list)) else v
              for v in fields.values()]
    sets = ", ".join(f"{name} = ?" for name in fields)
    _write(f"update builds set {sets} where id = ?", (*values, int(build_id)), "the build entry", path)


def builds(limit: int = 50, path: Path | None = None) -> pd.DataFrame:
    """The build history, newest first."""
    _builds_table(path)
    return _read("select * from builds order by id desc limit ?", (int(limit),), path)


def build_entry(build_id: int, path: Path | None = None) -> dict[str, Any] | None:
    """One build's entry, or None."""
    _builds_table(path)
    frame = _read("select * from builds where id = ?", (int(build_id),), path)
    return frame.iloc[0].to_dict() if len(frame) else None
