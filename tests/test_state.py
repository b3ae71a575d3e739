"""App state: the audit log, flags and feedback survive restarts, lose nothing under concurrency,
report failed writes, and keep a tamper-evident audit chain -- on SQLite and on PostgreSQL alike
(`where` runs each test against both)."""

from __future__ import annotations

import json
import sqlite3
import threading

import pytest

from core import state


@pytest.fixture(params=["sqlite", "postgresql"])
def where(request, tmp_path):
    """App state for one test: a fresh SQLite file, or a fresh database on the test PostgreSQL server."""
    if request.param == "sqlite":
        return tmp_path / "state.sqlite"
    return request.getfixturevalue("pg_state_url")


def _tamper(where, sql: str, params: tuple = ()) -> None:
    """Change the audit log behind the app's back, as someone with database access could."""
    if isinstance(where, str):
        import psycopg

        with psycopg.connect(where, autocommit=True) as con:
            con.execute(sql.replace("?", "%s"), params)
    else:
        with sqlite3.connect(where) as con:
            con.execute(sql, params)


def test_migrations_build_an_empty_database_to_the_current_version(where):
    assert state.schema_version(where) == state.SCHEMA_VERSION
    assert state.audit_entries(path=where).empty and state.flags(path=where).empty


def test_audit_survives_a_new_connection_and_filters(where):
    state.audit("a@x.org", "admin", "view", "audit", {"k": 1}, path=where)
    state.audit("b@x.org", "physician", "refused", "scorecard", {"physician": "P02"}, "other physician", path=where)
    assert len(state.audit_entries(path=where)) == 2
    refused = state.audit_entries(action="refused", path=where)
    assert refused["email"].tolist() == ["b@x.org"] and "P02" in refused["params"].iloc[0]
    assert state.audit_entries(email="A@X", path=where)["action"].tolist() == ["view"]
    today = state.now()[:10]
    assert len(state.audit_entries(since=today, until=today, path=where)) == 2
    assert state.audit_entries(until="2000-01-01", path=where).empty
    assert state.audit_actions(path=where) == ["refused", "view"]


def test_concurrent_writers_lose_nothing_and_extend_one_chain(where):
    state.audit("warm@x.org", "admin", "view", path=where)

    def writer(n):
        for i in range(25):
            state.audit(f"user{n}@x.org", "physician", "view", "scorecard", {"i": i}, path=where)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    entries = state.audit_entries(limit=10_000, path=where)
    assert len(entries) == 1 + 8 * 25
    assert sorted(entries["id"]) == list(range(1, 2 + 8 * 25))
    check = state.verify_audit_chain(where)
    assert check.ok and check.entries == 1 + 8 * 25, check


def test_failed_write_is_reported_not_swallowed(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(state.StateWriteError, match="could not save"):
        state.audit("a@x.org", "admin", "view", path=blocker / "state.sqlite")


def test_unreachable_postgresql_is_reported_on_write_and_read(monkeypatch):
    monkeypatch.setenv("SCORECARD_STATE_TIMEOUT", "2")
    with socket_closed() as url:
        with pytest.raises(state.StateWriteError, match="could not save the audit log entry"):
            state.audit("a@x.org", "admin", "view", path=url)
        with pytest.raises(state.StateReadError, match="could not read app state"):
            state.audit_entries(path=url)


class socket_closed:
    """A postgresql:// URL on a loopback port nothing listens on."""

    def __enter__(self) -> str:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        return f"postgresql://postgres@127.0.0.1:{port}/nothing"

    def __exit__(self, *exc) -> None:
        return None


def test_audit_chain_verifies_and_names_the_first_edited_entry(where):
    for i in range(5):
        state.audit(f"u{i}@x.org", "physician", "view", "scorecard", {"i": i}, f"detail {i}", path=where)
    good = state.verify_audit_chain(where)
    assert good.ok and good.entries == 5 and good.first_broken_id is None and len(good.head) == 64
    _tamper(where, "update audit_log set email = ? where id = ?", ("someone-else@x.org", 3))
    bad = state.verify_audit_chain(where)
    assert not bad.ok and bad.first_broken_id == 3 and bad.entries == 2 and "changed" in bad.problem


def test_audit_chain_detects_a_deleted_entry_and_a_recomputed_hash(where):
    for i in range(4):
        state.audit(f"u{i}@x.org", "physician", "view", path=where)
    _tamper(where, "delete from audit_log where id = ?", (2,))
    check = state.verify_audit_chain(where)
    assert not check.ok and check.first_broken_id == 3 and "removed" in check.problem


def test_audit_chain_detects_an_entry_rewritten_with_its_own_hash_recomputed(where):
    for i in range(3):
        state.audit(f"u{i}@x.org", "physician", "view", path=where)
    row = state.audit_entries(path=where).set_index("id").loc[2]
    forged = {**row.to_dict(), "id": 2, "action": "nothing to see", "prev_hash": _hashes(where)[1]}
    _tamper(
        where, "update audit_log set action = ?, hash = ? where id = ?", ("nothing to see", state.entry_hash(forged), 2)
    )
    check = state.verify_audit_chain(where)
    assert not check.ok and check.first_broken_id == 3  # entry 3 still points at the original entry 2


def _hashes(where) -> dict[int, str]:
    frame = state._read("select id, hash from audit_log order by id", (), where)
    return dict(zip(frame["id"], frame["hash"], strict=True))


def test_audit_chain_holds_across_batches_and_hostile_text(where):
    hostile = ["\x00nul", '=HYPERLINK("x")', "ünïcödé 𝓤", "'; drop table audit_log; --", "a" * 5000]
    for text in hostile:
        state.audit(text, None, "view", text, {"q": text}, text, path=where)
    check = state.verify_audit_chain(where, batch=2)
    assert check.ok and check.entries == len(hostile), check
    first = state.audit_entries(path=where).iloc[-1]
    assert first["email"] == "\ufffdnul" and json.loads(first["params"]) == {"q": "\x00nul"}  # JSON escapes NUL


def test_a_pre_chain_sqlite_file_is_migrated_and_its_entries_chained(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as con:  # the schema as it was before versioning and the hash chain
        con.executescript(state._MIGRATIONS[0][2]["sqlite"])
        con.executemany(
            "insert into audit_log (at, email, role, action, page, params, detail) values (?, ?, ?, ?, ?, ?, ?)",
            [("2026-01-01T00:00:00+00:00", f"u{i}@x.org", "admin", "view", "audit", "{}", None) for i in range(3)],
        )
    state.audit("new@x.org", "admin", "view", path=path)
    assert state.schema_version(path) == state.SCHEMA_VERSION
    check = state.verify_audit_chain(path)
    assert check.ok and check.entries == 4


def test_flag_lifecycle(where):
    fid = state.flag_case("C01", "P01", "p01@fixture.org", "wrong physician", "not mine", path=where)
    assert state.flags(physician_id="P01", path=where)["status"].tolist() == ["open"]
    assert state.accepted_flag_case_ids(path=where) == []
    state.decide_flag(fid, "accepted", "Reassigned", "supply@fixture.org", path=where)
    assert state.accepted_flag_case_ids(path=where) == ["C01"]
    with pytest.raises(ValueError):
        state.flag_case("C01", "P01", "p01@fixture.org", "because", path=where)


def test_a_stale_second_decision_is_refused_not_overwritten(where):
    fid = state.flag_case("C01", "P01", "p01@fixture.org", "data error", path=where)
    state.decide_flag(fid, "accepted", "Checked the OR log", "first@fixture.org", path=where)
    with pytest.raises(state.FlagConflictError, match="already accepted by first@fixture.org"):
        state.decide_flag(fid, "rejected", "Looks right to me", "second@fixture.org", path=where)
    row = state.flags(path=where).iloc[0]
    assert (row["status"], row["decided_by"], row["reply"]) == ("accepted", "first@fixture.org", "Checked the OR log")
    assert state.accepted_flag_case_ids(path=where) == ["C01"]
    with pytest.raises(state.FlagConflictError, match="does not exist"):
        state.decide_flag(fid + 100, "accepted", "", "first@fixture.org", path=where)


def test_two_reviewers_deciding_at_once_one_wins(where):
    fid = state.flag_case("C02", "P01", "p01@fixture.org", "data error", path=where)
    outcomes: list[str] = []

    def decide(who, status):
        try:
            state.decide_flag(fid, status, "", who, path=where)
            outcomes.append(f"saved {who}")
        except state.FlagConflictError:
            outcomes.append(f"conflict {who}")

    threads = [threading.Thread(target=decide, args=(f"r{i}@x.org", ("accepted", "rejected")[i % 2])) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    saved = [o for o in outcomes if o.startswith("saved")]
    assert len(saved) == 1 and len(outcomes) == 6
    assert state.flags(path=where).iloc[0]["decided_by"] == saved[0].split()[1]


def test_feedback_lifecycle(where):
    fid = state.add_feedback("EV1", "Knee implant systems", "p01@fixture.org", "review request", "New data", path=where)
    state.set_feedback_status(fid, "in review", "On the March agenda", "supply@fixture.org", path=where)
    row = state.feedback(email="p01@fixture.org", path=where).iloc[0]
    assert row["status"] == "in review" and row["reply"] == "On the March agenda"


def test_secret_is_created_once(where):
    assert state.secret("peer_letters", where) == state.secret("peer_letters", where)
    assert len(state.secret("peer_letters", where)) == 32


def test_secret_is_the_same_for_concurrent_first_readers(where):
    seen: list[bytes] = []
    threads = [threading.Thread(target=lambda: seen.append(state.secret("shared", where))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 6 and len(set(seen)) == 1
