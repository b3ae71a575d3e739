"""App state: the audit log, flags and feedback survive restarts, lose nothing under concurrency,
and report failed writes."""

from __future__ import annotations

import threading

import pytest

from core import state


def test_audit_survives_a_new_connection_and_filters(tmp_path):
    path = tmp_path / "state.sqlite"
    state.audit("a@x.org", "admin", "view", "audit", {"k": 1}, path=path)
    state.audit("b@x.org", "physician", "refused", "scorecard", {"physician": "P02"}, "other physician", path=path)
    assert len(state.audit_entries(path=path)) == 2
    refused = state.audit_entries(action="refused", path=path)
    assert refused["email"].tolist() == ["b@x.org"] and "P02" in refused["params"].iloc[0]
    assert state.audit_entries(email="A@X", path=path)["action"].tolist() == ["view"]


def test_concurrent_writers_lose_nothing(tmp_path):
    path = tmp_path / "state.sqlite"
    state.audit("warm@x.org", "admin", "view", path=path)

    def writer(n):
        for i in range(50):
            state.audit(f"user{n}@x.org", "physician", "view", "scorecard", {"i": i}, path=path)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(state.audit_entries(limit=10_000, path=path)) == 1 + 8 * 50


def test_failed_write_is_reported_not_swallowed(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(state.StateWriteError, match="could not save"):
        state.audit("a@x.org", "admin", "view", path=blocker / "state.sqlite")


def test_flag_lifecycle(tmp_path):
    path = tmp_path / "state.sqlite"
    fid = state.flag_case("C01", "P01", "p01@fixture.org", "wrong physician", "not mine", path=path)
    assert state.flags(physician_id="P01", path=path)["status"].tolist() == ["open"]
    assert state.accepted_flag_case_ids(path=path) == []
    state.decide_flag(fid, "accepted", "Reassigned", "supply@fixture.org", path=path)
    assert state.accepted_flag_case_ids(path=path) == ["C01"]
    with pytest.raises(ValueError):
        state.flag_case("C01", "P01", "p01@fixture.org", "because", path=path)


def test_feedback_lifecycle(tmp_path):
    path = tmp_path / "state.sqlite"
    fid = state.add_feedback("EV1", "Knee implant systems", "p01@fixture.org", "review request", "New data", path=path)
    state.set_feedback_status(fid, "in review", "On the March agenda", "supply@fixture.org", path=path)
    row = state.feedback(email="p01@fixture.org", path=path).iloc[0]
    assert row["status"] == "in review" and row["reply"] == "On the March agenda"


def test_secret_is_created_once(tmp_path):
    path = tmp_path / "state.sqlite"
    assert state.secret("peer_letters", path) == state.secret("peer_letters", path)
    assert len(state.secret("peer_letters", path)) == 32
