"""App state under faults, and the pages that need it (README, "App state"): the audit page verifies
the hash chain; with PostgreSQL stopped or the SQLite file locked or read-only, writes raise
`StateWriteError`, the audit and review pages say so and show no data, and when state returns
nothing was lost or duplicated. A stale second flag decision is reported, never applied. A build
killed half-way leaves the app serving the old build."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import access, db, state

ROOT = Path(__file__).resolve().parent.parent
AUDIT_PAGE, FLAGS_PAGE = str(ROOT / "pages" / "audit.py"), str(ROOT / "pages" / "flags.py")
ADMIN = access.Viewer("admin@fixture.org", "admin")
SUPPLY = access.Viewer("supply@fixture.org", "supply")


@pytest.fixture(params=["sqlite", "postgresql"])
def where(request, tmp_path, monkeypatch, fixture_db):
    """SCORECARD_STATE for one test on each backend (the analytics database is the fixture's)."""
    place = str(tmp_path / "state.sqlite") if request.param == "sqlite" else request.getfixturevalue("pg_state_url")
    monkeypatch.setenv("SCORECARD_STATE", place)
    return state.state_path()


def _page(path: str, viewer: access.Viewer) -> AppTest:
    at = AppTest.from_file(path, default_timeout=30)
    at.session_state["_scorecard_viewer"] = viewer
    return at.run()


def _tamper(where, sql: str, params: tuple = ()) -> None:
    if isinstance(where, str):
        import psycopg

        with psycopg.connect(where, autocommit=True) as con:
            con.execute(sql.replace("?", "%s"), params)
    else:
        with sqlite3.connect(where) as con:
            con.execute(sql, params)


def test_audit_page_shows_the_chain_verified_then_the_first_altered_entry(where):
    for i in range(3):
        state.audit(f"u{i}@x.org", "physician", "view", "scorecard", {"i": i})
    at = _page(AUDIT_PAGE, ADMIN)
    assert not at.exception and not at.error
    assert "Chain verified: all 4 entries are intact" in at.success[0].value  # 3 + the admin's own view
    assert at.code[0].value == state.verify_audit_chain().head
    _tamper(where, "update audit_log set detail = ? where id = ?", ("nothing happened", 2))
    at = _page(AUDIT_PAGE, ADMIN)
    assert not at.success and "entry 2 does not match" in at.error[0].value
    assert "The 1 entries before it verify" in at.error[0].value


def test_a_stale_second_decision_is_reported_on_the_page_and_not_applied(where):
    flag_id = state.flag_case("C02", "P01", "p01@fixture.org", "wrong physician", "Not mine")
    stale = _page(FLAGS_PAGE, SUPPLY)  # the supply reviewer opens the queue ...
    state.decide_flag(flag_id, "accepted", "Moved to the right surgeon", ADMIN.email)  # ... an admin decides first
    stale.text_input[0].input("The data show you as the surgeon.")
    stale.button[1].click().run()  # "Reject" on the stale page
    assert not stale.exception
    assert any(f"already accepted by {ADMIN.email}" in e.value for e in stale.error)
    row = state.flags().set_index("id").loc[flag_id]
    assert (row["status"], row["decided_by"]) == ("accepted", ADMIN.email)
    assert state.accepted_flag_case_ids() == ["C02"]
    conflict = state.audit_entries(action="flag decision conflict")
    assert conflict["email"].tolist() == [SUPPLY.email]
    assert not stale.text_input  # the queue is redrawn as it is: the decided flag is no longer open


def _shows_no_data(at: AppTest, what: str) -> None:
    """An error, and none of the page's data. The page's own view entry fails first when a write cannot
    be saved; where the audit write fails closed that error is the one shown, else the page's own."""
    assert not at.exception
    assert any(what in e.value or "could not save the audit log entry" in e.value for e in at.error), [
        e.value for e in at.error
    ]
    assert not at.dataframe and not at.metric and not at.text_input and not at.success


def test_postgresql_stopped_mid_way_fails_closed_and_loses_nothing(pg_server, pg_state_url, monkeypatch, fixture_db):
    """A writer keeps auditing while the server is stopped and started again: every write either
    raised StateWriteError or is in the log exactly once, and the chain verifies."""
    monkeypatch.setenv("SCORECARD_STATE", pg_state_url)
    monkeypatch.setenv("SCORECARD_STATE_TIMEOUT", "2")
    flag_id = state.flag_case("C02", "P01", "p01@fixture.org", "data error")
    saved, failed, stop = [], [], threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            try:
                state.audit("writer@x.org", "physician", "view", "scorecard", {"i": i})
                saved.append(i)
            except state.StateWriteError:
                failed.append(i)
                time.sleep(0.02)
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        time.sleep(0.5)
        pg_server.stop()
        time.sleep(0.5)
        with pytest.raises(state.StateWriteError):
            state.decide_flag(flag_id, "accepted", "", SUPPLY.email)
        _shows_no_data(_page(AUDIT_PAGE, ADMIN), "audit log cannot be read")
        _shows_no_data(_page(FLAGS_PAGE, SUPPLY), "review queue cannot be read")
        pg_server.start()
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join()
        if not pg_server.running():
            pg_server.start()
    assert saved and failed, (len(saved), len(failed))  # it really wrote before, during and after
    logged = state.audit_entries(email="writer@x.org", limit=100_000)
    numbers = [int(p.split(": ")[1].rstrip("}")) for p in logged["params"]]
    assert sorted(numbers) == sorted(saved)  # nothing lost, nothing duplicated, nothing from a failed write
    check = state.verify_audit_chain()
    assert check.ok and check.entries == len(saved)  # the pages' own view entries failed too: not shown, not logged
    assert state.flags().iloc[0]["status"] == "open"  # the failed decision left no trace
    state.decide_flag(flag_id, "accepted", "", SUPPLY.email)  # and works once the server is back
    assert state.accepted_flag_case_ids() == ["C02"]


def test_a_locked_sqlite_file_fails_closed_and_loses_nothing(tmp_path, monkeypatch, fixture_db):
    path = tmp_path / "state.sqlite"
    monkeypatch.setenv("SCORECARD_STATE", str(path))
    monkeypatch.setenv("SCORECARD_STATE_TIMEOUT", "0.3")
    state.audit("before@x.org", "admin", "view")
    key = state.secret("peer_letters")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("begin exclusive")  # another process holds the write lock (and, exclusive, blocks readers)
    try:
        with pytest.raises(state.StateWriteError, match="locked"):
            state.audit("during@x.org", "admin", "view")
        assert state.secret("peer_letters") == key  # reads go on: letters stay the same while a writer waits
        at = _page(AUDIT_PAGE, ADMIN)  # in WAL mode reads go on; the page's own audit entry cannot be written
        assert not at.exception and any("locked" in e.value for e in at.error)
    finally:
        holder.execute("rollback")
        holder.close()
    state.audit("after@x.org", "admin", "view")
    assert state.audit_entries()["email"].tolist() == ["after@x.org", "before@x.org"]
    assert state.verify_audit_chain().ok


def test_a_read_only_sqlite_file_refuses_writes_and_keeps_what_it_has(tmp_path):
    path = tmp_path / "ro" / "state.sqlite"
    state.audit("before@x.org", "admin", "view", path=path)
    script = (
        "import sys; from core import state\n"
        "try:\n"
        f"    state.audit('during@x.org', 'admin', 'view', path={str(path)!r})\n"
        "except state.StateWriteError as err:\n"
        "    print('refused:', err); sys.exit(0)\n"
        "sys.exit(3)\n"
    )
    as_root = os.geteuid() == 0
    for item in (path.parent, *path.parent.iterdir()):
        item.chmod(0o555 if item.is_dir() else 0o444)
    try:
        cmd = [sys.executable, "-c", script]  # root ignores file modes unless it gives up the capability to
        drop = ["setpriv", "--bounding-set", "-dac_override,-fowner", "--"]
        done = subprocess.run(
            [*drop, *cmd] if as_root else cmd, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
        )
    finally:
        for item in (path.parent, *path.parent.iterdir()):
            item.chmod(0o755 if item.is_dir() else 0o644)
    assert done.returncode == 0 and "refused: could not save the audit log entry" in done.stdout, done.stderr
    assert state.audit_entries(path=path)["email"].tolist() == ["before@x.org"]
    assert state.verify_audit_chain(path).ok


def test_a_build_killed_half_way_leaves_the_app_serving_the_old_build(tmp_path, fixture_source, fixture_db):
    """Pages keep reading the build in service before, during and after a SIGKILLed rebuild of it."""
    served = tmp_path / "served.duckdb"
    served.write_bytes(fixture_db.read_bytes())
    version, before = db.database_version(served), db.fetch("mart_build_info", path=served)
    env = dict(os.environ, SCORECARD_SLOW_BUILD_FOR_TESTS="5")
    proc = subprocess.Popen(
        [sys.executable, "-m", "core", "build", "--source", str(fixture_source), "--db", str(served)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not list(tmp_path.glob(f".{served.name}.building-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    during = db.fetch("mart_build_info", path=served)  # a request while the build runs
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    after = db.fetch("mart_build_info", path=served)
    assert db.database_version(served) == version
    assert during.equals(before) and after.equals(before)
