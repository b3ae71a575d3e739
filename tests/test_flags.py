"""Case flags end to end: a physician flags a case, supply or admin accept or reject it with a reply,
the case leaves (or stays in) every figure, and the physician sees the decision; nobody else sees the queue.

Fixture: P01 has three TKA cases (C01–C03, median $2,724); dropping C02 leaves C01 and C03.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fixture_source import write_fixture_source
from streamlit.testing.v1 import AppTest

from core import access, db, review, state
from core import presentation as pr
from core import scorecard as sc
from core.build.pipeline import build

ROOT = Path(__file__).resolve().parent.parent
FLAGS_PAGE = str(ROOT / "pages" / "flags.py")
SUPPLY = access.Viewer("supply@fixture.org", "supply")
ADMIN = access.Viewer("admin@fixture.org", "admin")
CHAMPION = access.Viewer("p03@fixture.org", "champion", "P03", "Orthopaedics", "Dr. Cy Three")
PHYSICIAN = access.Viewer("p01@fixture.org", "physician", "P01", None, "Dr. Ada One")


@pytest.fixture
def fresh_state(fixture_db, tmp_path, monkeypatch):
    """Each test starts with no flags (and its own audit log)."""
    monkeypatch.setenv("SCORECARD_STATE", str(tmp_path / "state.sqlite"))
    return tmp_path / "state.sqlite"


def _page(path: str, viewer: access.Viewer) -> AppTest:
    at = AppTest.from_file(path, default_timeout=30)
    at.session_state["_scorecard_viewer"] = viewer
    return at.run()


def _flag(case_id: str = "C02") -> int:
    return state.flag_case(case_id, "P01", PHYSICIAN.email, "wrong physician", "Not my patient: I was away that week.")


def _p01_tka(excluded: list[str]):
    period = sc.data_context().default_period()
    return db.fetch(
        "mart_cost_position",
        where={"physician_id": "P01", "procedure_code": "TKA"},
        variables=sc.period_variables(period, excluded),
    ).iloc[0]


def _my_cases(at: AppTest):
    return at.dataframe[-1].value.set_index("case_id")


@pytest.mark.parametrize("reviewer", [SUPPLY, ADMIN], ids=lambda v: v.role)
def test_accepted_flag_removes_the_case_and_the_physician_sees_it(reviewer, fresh_state):
    flag_id = _flag()
    at = _page(FLAGS_PAGE, reviewer)
    assert not at.exception
    # Values from the extract are Markdown-escaped (shown as plain text): read them as a person sees them.
    page = re.sub(r"\\(.)", r"\1", "\n".join(m.value for m in at.markdown))
    assert "C02" in page and "Dr. Ada One" in page and "wrong physician" in page  # identified, for review
    assert [m.value for m in at.metric] == ["1", "0", "0"]
    at.text_input[0].input("Checked the theatre log: moved to the right surgeon at the next refresh.")
    at.button[0].click().run()  # "Accept: remove from the figures"
    assert not at.exception and "Flag on C02 accepted." in at.success[0].value
    decided = state.flags().set_index("id").loc[flag_id]
    assert decided["status"] == "accepted" and decided["decided_by"] == reviewer.email
    assert decided["reply"].startswith("Checked the theatre log")
    entry = state.audit_entries(action="flag decision").iloc[0]
    assert entry["email"] == reviewer.email and '"status": "accepted"' in entry["params"]

    # Out of every figure, at once: the period views drop it, so the median is now over C01 and C03.
    excluded = sc.excluded_cases()
    assert excluded == ["C02"]
    before, after = _p01_tka([]), _p01_tka(excluded)
    assert (before["case_count"], after["case_count"]) == (3, 2)
    assert before["median_case_cost_usd"] == 2724.0 and after["median_case_cost_usd"] != 2724.0
    period = sc.data_context().default_period()
    cases = db.fetch("mart_period_case", columns=["case_id"], variables=sc.period_variables(period, excluded))
    assert "C02" not in cases["case_id"].tolist()
    deck = pr.build_deck(SUPPLY, "Orthopaedics", "TKA", period, state.secret(sc.BLINDING_SECRET), excluded)
    assert {f.label: f.value for f in deck.slides[0].figures}["Cases compared"] == "8"
    assert "1 case(s) removed by accepted flags are excluded" in deck.slides[1].notes

    # The physician sees the decision beside the case (which stays listed so they can see it).
    mine = _page(str(ROOT / "pages" / "scorecard.py"), PHYSICIAN)
    assert not mine.exception
    assert _my_cases(mine).loc["C02", "flag_status"] == "accepted"


def test_rejected_flag_needs_a_reply_and_the_case_still_counts(fresh_state):
    flag_id = _flag()
    at = _page(FLAGS_PAGE, SUPPLY)
    at.button[1].click().run()  # "Reject" with no reply
    assert at.error and "Say why" in at.error[0].value
    assert state.flags().set_index("id").loc[flag_id, "status"] == "open"
    at.text_input[0].input("The data show you as the operating surgeon; please ask theatre records to correct it.")
    at.button[1].click().run()
    assert state.flags().set_index("id").loc[flag_id, "status"] == "rejected"
    assert sc.excluded_cases() == []
    assert _p01_tka(sc.excluded_cases())["case_count"] == 3
    assert "Decided" in [t.label for t in at.tabs] and not [m for m in at.markdown if "flagged **" in m.value]
    mine = _page(str(ROOT / "pages" / "scorecard.py"), PHYSICIAN)
    assert _my_cases(mine).loc["C02", "flag_status"] == "rejected"


@pytest.mark.parametrize("viewer", [PHYSICIAN, CHAMPION], ids=lambda v: v.role)
def test_physicians_and_champions_cannot_see_the_queue(viewer, fresh_state):
    flag_id = _flag()
    at = _page(FLAGS_PAGE, viewer)
    assert not at.exception
    assert at.warning and "supply and admin" in at.warning[0].value
    assert not at.markdown and not at.metric and not at.text_input  # no flag, case or form shown
    assert state.audit_entries(email=viewer.email, action="refused")["page"].eq("flags").any()
    with pytest.raises(PermissionError):
        review.queue(viewer)
    with pytest.raises(PermissionError):
        review.decide(viewer, flag_id, "accepted", "")
    assert state.flags().set_index("id").loc[flag_id, "status"] == "open"


def test_only_supply_and_admin_have_the_queue_and_physicians_no_presentation():
    assert "flags" in access.allowed_pages(SUPPLY) and "flags" in access.allowed_pages(ADMIN)
    assert "flags" not in access.allowed_pages(CHAMPION) and "flags" not in access.allowed_pages(PHYSICIAN)
    for viewer in (CHAMPION, SUPPLY, ADMIN):
        assert "presentation" in access.allowed_pages(viewer)
    assert "presentation" not in access.allowed_pages(PHYSICIAN)


def test_flags_survive_a_rebuild_and_a_case_gone_from_the_data_is_marked(fresh_state, tmp_path, monkeypatch):
    _flag("C02")
    state.flag_case("C99", "P01", PHYSICIAN.email, "data error", "")  # a case id the data does not have
    target = tmp_path / "rebuilt.duckdb"
    assert build(write_fixture_source(tmp_path / "source"), target).ok
    monkeypatch.setenv("SCORECARD_DB", str(target))
    queue = review.queue(SUPPLY, "open").set_index("case_id")
    assert queue.loc["C02", "physician_name"] == "Dr. Ada One" and queue.loc["C02", "in_data_flag"]
    assert not queue.loc["C99", "in_data_flag"]
    at = _page(FLAGS_PAGE, SUPPLY)
    assert any("no longer in the data" in c.value for c in at.caption)


def _accept(case_id: str) -> None:
    state.decide_flag(_flag(case_id), "accepted", "Agreed.", SUPPLY.email)


def test_a_rebuild_prepares_the_accepted_flags_for_the_new_file(fresh_state, tmp_path, monkeypatch):
    """The build patches the new file's snapshots for the flags accepted in app state and saves them for the
    name it will be served as (core.build.pipeline.prepare_accepted): the first request after the swap
    loads that set rather than computing it, with the flagged case gone."""
    _accept("C02")
    target = tmp_path / "rebuilt.duckdb"
    said: list[str] = []
    source = write_fixture_source(tmp_path / "source")
    assert build(source, target, said.append, accepted=state.accepted_flags_if_kept).ok
    assert any(line.startswith("prepared the snapshots for 1 accepted flags") for line in said), said
    loaded = db.saved_sets_loaded
    monkeypatch.setenv("SCORECARD_DB", str(target))
    row = _p01_tka(["C02"])
    assert db.saved_sets_loaded == loaded + 1
    assert row["case_count"] == 2
    assert not list(tmp_path.glob(".rebuilt.duckdb.building*"))


def test_a_build_goes_on_when_app_state_cannot_be_read(tmp_path):
    """Preparing accepted flags is a cache: app state that cannot be read is a progress line, not a failed
    build; and a state file that is not there is not created by asking."""

    def unreadable() -> list[str]:
        raise state.StateReadError("could not read app state: the server is down")

    said: list[str] = []
    target = tmp_path / "built.duckdb"
    assert build(write_fixture_source(tmp_path / "source"), target, said.append, accepted=unreadable).ok
    assert any("accepted flags not prepared: app state could not be read" in line for line in said), said
    nowhere = tmp_path / "no-state.sqlite"
    assert state.accepted_flags_if_kept(nowhere) == [] and not nowhere.exists()
