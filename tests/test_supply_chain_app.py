"""AppTest: the supply-risk, pharmacy and savings pages and the scorecard's backorder notice and pharmacy
section, per role, on the fixture with its formulary and programme (issue 14)."""

from __future__ import annotations

import pytest
from fixture_source import SUPPLY_EXTRAS, write_fixture_source
from test_app import EMAILS, app, assert_clean, texts

from core import access, scorecard
from core.build.pipeline import build

PAGES = {"supply_risk": "pages/supply_risk.py", "pharmacy": "pages/pharmacy.py", "savings": "pages/savings.py"}


@pytest.fixture(scope="module")
def extras_db(tmp_path_factory, fixture_db):
    folder = tmp_path_factory.mktemp("supply_chain_app")
    target = folder / "scorecard.duckdb"
    assert build(write_fixture_source(folder / "source", SUPPLY_EXTRAS), target).ok
    mp = pytest.MonkeyPatch()
    mp.setenv("SCORECARD_DB", str(target))
    yield target
    mp.undo()


@pytest.mark.parametrize("role", list(EMAILS))
@pytest.mark.parametrize("page", list(PAGES))
def test_new_pages_for_every_role(extras_db, role, page):
    viewer = access.viewer_from_roster(EMAILS[role], scorecard.roster())
    at = app(EMAILS[role]).run()
    if page not in access.allowed_pages(viewer):
        with pytest.raises(Exception):  # noqa: B017 - as test_app: the page is not in the navigation at all
            at.switch_page(PAGES[page]).run()
        return
    at.switch_page(PAGES[page]).run()
    assert_clean(at)
    assert at.title, f"{page} drew nothing for {role}"


def test_supply_analyst_sees_an_item_its_alternatives_and_evidence(extras_db):
    at = app(EMAILS["supply"]).run()
    at.query_params["item"] = "KNEE-B"
    at.switch_page(PAGES["supply_risk"]).run()
    assert_clean(at)
    body = texts(at)
    assert "single-source · critical" in body and "Knee system A" in body and "Moderate" in body
    assert "Dr. Ada One" in body  # identified: who already uses the alternative


def test_champion_sees_own_service_line_blinded(extras_db):
    at = app(EMAILS["champion"]).run()
    at.switch_page(PAGES["supply_risk"]).run()
    assert_clean(at)
    body = texts(at)
    assert "Orthopaedics" in body and "Surgeon" in body
    for name in ("Dr. Ada One", "Dr. Ben Two", "Dr. Ed Five", "P01", "P02"):
        assert name not in body
    at.switch_page(PAGES["savings"]).run()
    assert_clean(at)
    body = texts(at)
    assert "Savings achieved" in body and "Dr. Ed Five" not in body and "Dr. Flo Six" not in body


def test_pharmacy_page_ranks_classes_and_names_physicians(extras_db):
    at = app(EMAILS["supply"]).run()
    at.query_params["drug_class"] = "Antibiotic"
    at.switch_page(PAGES["pharmacy"]).run()
    assert_clean(at)
    body = texts(at)
    assert "Vancomycin" in body and "Dr. Cy Three" in body and "$45" in body


def test_savings_page_shows_the_headline_against_the_target(extras_db):
    at = app(EMAILS["supply"]).run()
    at.switch_page(PAGES["savings"]).run()
    assert_clean(at)
    body = texts(at)
    assert "50% of this year" in body and "Knee implant systems" in body


def test_scorecard_shows_backorder_notice_and_pharmacy(extras_db):
    at = app(EMAILS["physician"]).run()
    assert_clean(at)
    body = texts(at)
    assert "on backorder" in body and "Surgical gloves \\(preferred\\)" in body
    assert "Pharmacy per case" in body
    champion = app(EMAILS["champion"]).run()
    assert_clean(champion)
    text = "\n".join(t.value for t in champion.text)
    assert "Vancomycin (Antibiotic): $25.00 a case" in text
