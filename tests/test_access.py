"""Access rules (README, *Access*): roles, subjects, blinding — pure, without Streamlit."""

from __future__ import annotations

import pandas as pd
import pytest

from core import access
from core.access import Viewer

ROSTER = pd.DataFrame({
    "email": ["p01@fixture.org", "p03@fixture.org", "supply@fixture.org", "admin@fixture.org", "odd@fixture.org"],
    "role": ["physician", "champion", "supply", "admin", "janitor"],
    "physician_id": ["P01", "P03", None, None, None],
    "service_line": [None, "Orthopaedics", None, None, None],
    "physician_name": ["Dr. Ada One", "Dr. Cy Three", None, None, None],
})
VIEWERS = {
    "physician": Viewer("p01@fixture.org", "physician", "P01", None, "Dr. Ada One"),
    "champion": Viewer("p03@fixture.org", "champion", "P03", "Orthopaedics", "Dr. Cy Three"),
    "supply": Viewer("supply@fixture.org", "supply"),
    "admin": Viewer("admin@fixture.org", "admin"),
}


def test_roster_match_is_case_insensitive_and_unknowns_are_refused():
    assert access.viewer_from_roster("P01@Fixture.ORG ", ROSTER) == VIEWERS["physician"]
    assert access.viewer_from_roster("stranger@fixture.org", ROSTER) is None
    assert access.viewer_from_roster("odd@fixture.org", ROSTER) is None  # unknown role
    assert access.viewer_from_roster(None, ROSTER) is None


@pytest.mark.parametrize("role", list(VIEWERS))
def test_pages_by_role(role):
    pages = access.allowed_pages(VIEWERS[role])
    assert "definitions" in pages
    assert ("audit" in pages) == (role == "admin")
    assert access.allowed_pages(None) == ()


@pytest.mark.parametrize("role", ["physician", "champion"])
def test_physicians_always_see_their_own_scorecard(role):
    v = VIEWERS[role]
    decision = access.scorecard_subject(v, "P02")
    assert decision.physician_id == v.physician_id and decision.refused
    assert access.scorecard_subject(v, None) == access.SubjectDecision(v.physician_id, False)
    assert not access.scorecard_subject(v, v.physician_id).refused


@pytest.mark.parametrize("role", ["supply", "admin"])
def test_identified_roles_choose_any_physician(role):
    assert access.scorecard_subject(VIEWERS[role], "P02") == access.SubjectDecision("P02", False)


def test_service_lines():
    assert access.may_view_service_line(VIEWERS["champion"], "Orthopaedics")
    assert not access.may_view_service_line(VIEWERS["champion"], "Cardiovascular")
    assert not access.may_view_service_line(VIEWERS["physician"], "Orthopaedics")
    assert access.may_view_service_line(VIEWERS["supply"], "Cardiovascular")


def test_letters_are_stable_per_view_and_not_derived_from_ids():
    ids = [f"P{i:02d}" for i in range(1, 9)]
    a = access.blind_letters(ids, "TKA|last12", b"secret-one")
    assert a == access.blind_letters(list(reversed(ids)), "TKA|last12", b"secret-one")
    assert sorted(a.values()) == [f"Surgeon {c}" for c in "ABCDEFGH"]
    assert a != access.blind_letters(ids, "TKA|last12", b"another-secret")
    assert a != access.blind_letters(ids, "THA|last12", b"secret-one")
    assert [a[i] for i in ids] != [f"Surgeon {c}" for c in "ABCDEFGH"]  # not in id order


def test_letters_beyond_z():
    assert access.letter_for(0) == "A" and access.letter_for(25) == "Z" and access.letter_for(26) == "AA"


FRAME = pd.DataFrame({"physician_id": ["P01", "P02", "P03", "P05"], "physician_name": ["A", "B", "C", "E"],
                      "case_count": [3, 27, 120, 2], "median_case_cost_usd": [2724, 1962, 2445, 2414]})


def test_blinded_peers_have_no_names_ids_or_exact_volumes():
    out = access.present_peers(FRAME, VIEWERS["physician"], view_key="k", secret=b"s", min_peers=3)
    assert "physician_id" not in out and "physician_name" not in out
    assert out.loc[out["is_you"], "case_count"].tolist() == [3]
    assert out.loc[~out["is_you"], "case_count"].isna().all()
    assert set(out["volume_band"]) == {"under 10", "25–49", "100–199"}
    text = out.to_csv()
    assert not any(s in text for s in ("P02", "P03", "P05", ",B,", ",C,"))


def test_nothing_for_groups_below_min_peers():
    out = access.present_peers(FRAME, VIEWERS["physician"], view_key="k", secret=b"s", min_peers=5)
    assert out["is_you"].all() and len(out) == 1


def test_identified_roles_see_names():
    out = access.present_peers(FRAME, VIEWERS["supply"], view_key="k", secret=b"s", min_peers=5, you_id=None)
    assert out["label"].tolist() == ["A", "B", "C", "E"] and "physician_id" in out
