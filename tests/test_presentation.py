"""Presentation mode: the slide sequence, blinding for everyone, letters shared with the scorecard, access.

On the fixture (tests/fixture_source.py): TKA has four eligible surgeons (P01, P02, P03, P05; min_cases
2, min_peers 3) and P04 with one case; LCH has one surgeon, so nothing about surgeons may be shown.
P03 is the Orthopaedics champion.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core import access, state
from core import presentation as pr
from core import scorecard as sc
from core.output.deck import funnel_slide

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "presentation.py")
CHAMPION = access.Viewer("p03@fixture.org", "champion", "P03", "Orthopaedics", "Dr. Cy Three")
SUPPLY = access.Viewer("supply@fixture.org", "supply")
ADMIN = access.Viewer("admin@fixture.org", "admin")
PHYSICIAN = access.Viewer("p01@fixture.org", "physician", "P01", None, "Dr. Ada One")
NAMES = ("Dr. Ada One", "Dr. Ben Two", "Dr. Cy Three", "Dr. Di Four", "Dr. Ed Five", "Dr. Flo Six")
IDS = ("P01", "P02", "P03", "P04", "P05", "P06")


@pytest.fixture(scope="module")
def period(fixture_db):
    return sc.data_context().default_period()


@pytest.fixture(scope="module")
def secret(fixture_db):
    return state.secret(sc.BLINDING_SECRET)


@pytest.fixture(scope="module")
def deck(period, secret):
    return pr.build_deck(CHAMPION, "Orthopaedics", "TKA", period, secret)


def test_champion_steps_through_cost_outcomes_products_and_trend(deck):
    assert [s.key for s in deck.slides] == ["title", "cost", "breakdown", "outcomes", "preferred", "switch", "trend"]
    assert deck.slides[0].title == "Total knee replacement"
    assert "Orthopaedics" in deck.slides[0].headline and "Last 12 months" in deck.slides[0].headline
    title = {f.label: f.value for f in deck.slides[0].figures}
    assert title["Surgeons compared"] == "4" and title["Cases compared"] == "9"  # P04's single case is not compared
    cost = {f.label: f.value for f in deck.slides[1].figures}
    # Medians 1962 (P02), 2414 (P05), 2445 (P03), 2724 (P01): peer median (2414+2445)/2, range as drawn.
    assert cost["Peer median"] == "$2,430" and cost["Lowest – highest"] == "$1,962 – $2,724"
    assert "ranges from $1,962 to $2,724 across 4 surgeons" in deck.slides[1].headline
    # Fixture outcomes have too few events for a model: no funnel slides, nobody called out.
    assert "no surgeon is called out" in deck.slides[3].headline
    assert {f.label: f.value for f in deck.slides[4].figures}["Switch saving"] == "$1,906"
    for slide in deck.slides:
        assert slide.title and slide.headline
        assert "Data as of 30 Jun 2026" in slide.notes and "blinded" in slide.notes
    assert "Median case cost" in deck.slides[1].notes and "$10.00" in deck.slides[1].notes  # OR cost a minute


@pytest.mark.parametrize("viewer", [CHAMPION, SUPPLY, ADMIN], ids=lambda v: v.role)
def test_slides_are_blinded_for_everyone_who_presents(viewer, period, secret, deck):
    mine = pr.build_deck(viewer, "Orthopaedics", "TKA", period, secret)
    for slide in mine.slides:
        assert not {"physician_id", "physician_name", "email", "is_you"} & set(slide.data.columns)
        if "label" in slide.data:
            assert all(re.fullmatch(r"Surgeon [A-Z]+", label) for label in slide.data["label"])
        text = " ".join(
            [
                slide.title,
                slide.headline,
                slide.notes,
                *(f.label + f.value + f.note for f in slide.figures),
                slide.data.to_csv(),
                str(slide.chart.to_json() if slide.chart is not None else ""),
            ]
        )
        assert not any(name in text for name in NAMES) and not any(re.search(rf"\b{i}\b", text) for i in IDS)
    # Same view, same letters, whoever presents it.
    pd.testing.assert_frame_equal(mine.slides[1].data, deck.slides[1].data)


def test_letters_equal_each_surgeons_scorecard_and_are_stable(deck, period, secret):
    shown = dict(zip(deck.slides[1].data["label"], deck.slides[1].data["median_case_cost_usd"], strict=False))
    assert len(shown) == 4
    for pid in ("P01", "P02", "P03", "P05"):
        viewer = access.Viewer(f"{pid.lower()}@fixture.org", "physician", pid)
        own = sc.peer_distribution(viewer, pid, "TKA", period, secret)
        me = own[own["is_you"]].iloc[0]
        assert shown[me["label"]] == me["median_case_cost_usd"], pid  # "You are Surgeon X" points at my bar
    champion_row = sc.peer_distribution(CHAMPION, "P03", "TKA", period, secret).query("is_you").iloc[0]
    assert deck.your_letter == champion_row["label"]
    again = pr.build_deck(CHAMPION, "Orthopaedics", "TKA", period, secret)
    assert again.your_letter == deck.your_letter
    pd.testing.assert_frame_equal(again.slides[1].data, deck.slides[1].data)
    assert pr.your_letter(SUPPLY, "TKA", period, secret) is None  # supply has no letter of their own


def test_champion_presents_only_their_own_service_line(period, secret):
    assert pr.service_lines(CHAMPION) == ["Orthopaedics"]
    assert pr.service_lines(SUPPLY) == ["General Surgery", "Orthopaedics"]
    assert pr.service_lines(PHYSICIAN) == []
    with pytest.raises(PermissionError):
        pr.build_deck(CHAMPION, "General Surgery", "LCH", period, secret)
    with pytest.raises(PermissionError):  # a procedure of another line, smuggled under the champion's own
        pr.build_deck(CHAMPION, "Orthopaedics", "LCH", period, secret)
    with pytest.raises(PermissionError):
        pr.build_deck(PHYSICIAN, "Orthopaedics", "TKA", period, secret)


def test_below_min_peers_nothing_about_surgeons_is_shown(period, secret):
    deck = pr.build_deck(SUPPLY, "General Surgery", "LCH", period, secret)
    assert [s.key for s in deck.slides] == ["title", "too-few"]
    assert [(f.label, f.value) for f in deck.slides[0].figures] == [("Surgeons eligible", "fewer than 3")]
    assert all(s.chart is None and s.data.empty for s in deck.slides)


def test_funnel_slide_calls_out_only_outside_the_998_limit():
    points = pd.DataFrame(
        {
            "label": ["Surgeon A", "Surgeon B", "Surgeon C"],
            "observed": [30.0, 10.0, 9.0],
            "expected": [10.0, 10.0, 10.0],
            "ratio": [3.0, 1.0, 0.9],
            "lower95": [0.48] * 3,
            "upper95": [1.84] * 3,
            "lower998": [0.3] * 3,
            "upper998": [2.4] * 3,
            "volume_band": ["25–49"] * 3,
            "is_you": [False] * 3,
        }
    )
    # Each point carries its call, as scorecard.funnel_data gives it.
    points["flag"] = [sc.physician_flag(r, True) for r in points.to_dict("records")]
    slide = funnel_slide("complication", points, {"tau2": 0.0}, notes=lambda key: key)
    assert slide.headline.startswith("Surgeon A is above the 99.8% limit")
    assert {f.label: f.value for f in slide.figures}["Surgeons above the 99.8% limit"] == "A"
    assert "is_you" not in slide.data and slide.chart.to_dict()  # a valid chart


# --- the page, per role ------------------------------------------------------------------------


def _page(viewer: access.Viewer, **params) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.session_state["_scorecard_viewer"] = viewer
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def _text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [t.value for t in at.title] + [m.label + m.value for m in at.metric]
    return "\n".join(parts + [c.value for c in at.caption])


def test_champion_steps_forward_and_back_with_the_step_in_the_link(fixture_db):
    at = _page(CHAMPION)
    assert not at.exception
    assert "1 / 7" in _text(at) and "Total knee replacement" in _text(at)
    at.button(key="next").click().run()
    assert at.query_params["step"] == "2" and at.title[0].value == "Cost per case across surgeons"
    assert [m.value for m in at.metric][:2] == ["$2,430", "$2,301"]
    at.button(key="back").click().run()
    assert at.query_params["step"] == "1"
    linked = _page(CHAMPION, procedure="TKA", period="last12", step="3")
    assert linked.title[0].value == "Where the cost goes"
    assert "You are **Surgeon" in _text(linked)  # told privately, in the "My letter" popover
    assert not any(name in _text(linked) for name in NAMES)
    assert state.audit_entries(email=CHAMPION.email, action="view")["page"].eq("presentation").any()


def test_champion_asking_for_another_service_line_is_refused_and_logged(fixture_db):
    at = _page(CHAMPION, service_line="General Surgery", procedure="LCH")
    assert not at.exception
    assert at.selectbox[0].value == "Orthopaedics" and "Total knee replacement" in _text(at)
    refused = state.audit_entries(email=CHAMPION.email, action="refused")
    assert refused["page"].eq("presentation").any()


@pytest.mark.parametrize("viewer", [SUPPLY, ADMIN], ids=lambda v: v.role)
def test_supply_and_admin_present_any_service_line_blinded(viewer, fixture_db):
    at = _page(viewer)
    assert not at.exception
    assert at.selectbox[0].options == ["General Surgery", "Orthopaedics"]
    at.selectbox[0].select("Orthopaedics").run()
    at.button(key="next").click().run()
    assert at.title[0].value == "Cost per case across surgeons"
    assert not any(name in _text(at) for name in NAMES)
    assert "You are" not in _text(at)  # nobody's letter: supply and admin are not in the comparison
    gs = _page(viewer, service_line="General Surgery")
    assert "Too few surgeons to compare" in _text(gs) or "1 / 2" in _text(gs)


def test_physician_cannot_open_presentation_mode(fixture_db):
    at = _page(PHYSICIAN)
    assert not at.exception
    assert at.warning and "champions" in at.warning[0].value
    assert not at.title and not at.metric
    assert state.audit_entries(email=PHYSICIAN.email, action="refused")["page"].eq("presentation").any()
