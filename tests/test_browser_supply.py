"""Browser tests for the supply chain's views (issue 14), at desktop and phone width: the supply analyst's
journey (risk ranking → an item → its alternatives and evidence → a shared link that a champion opens) and
a physician reading the drugs that drive their pharmacy cost. Screenshots go to screenshots/ (git-ignored)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser_support import app_text, screenshot, sign_in, wait_for_app
from fixture_source import SUPPLY_EXTRAS, write_fixture_source

from core import state
from core.build.pipeline import build

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parent.parent / "screenshots"
PHONE = (390, 844)


@pytest.fixture(scope="module")
def supply_app(start_app_module, fixture_db, tmp_path_factory):
    """The real app on the fixture with its formulary and programme, signing in through the local provider."""
    folder = tmp_path_factory.mktemp("supply_browser")
    target = folder / "scorecard.duckdb"
    assert build(write_fixture_source(folder / "source", SUPPLY_EXTRAS), target).ok
    url = start_app_module(target, folder / "state.sqlite")
    url.state_path = folder / "state.sqlite"
    return url


def _dismiss_dialogs(page) -> None:
    """Close a modal Streamlit may show over the page (e.g. "Page not found" on a first run after sign-in)."""
    close = page.locator('[role="dialog"] button[aria-label="Close"]')
    if close.count():
        close.first.click()
        page.wait_for_timeout(200)


def _pick(page, label: str, option: str) -> None:
    """Choose `option` in the Streamlit selectbox labelled `label`."""
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
    box.click()
    page.get_by_role("option", name=option).first.click()
    wait_for_app(page)


def test_supply_analyst_goes_from_the_risk_ranking_to_an_items_alternatives_and_shares_it(supply_app, browser, page):
    sign_in(page, supply_app, "supply@fixture.org")
    page.goto(f"{supply_app}/supply_risk")
    wait_for_app(page)
    body = app_text(page)
    assert "Supply risk" in body and "Items at risk in use" in body and "Knee system A" in body
    screenshot(page, SHOTS / "supply-risk-ranking-desktop.png")

    _pick(page, "Item", "Knee system B")
    assert "item=KNEE-B" in page.url
    body = app_text(page)
    assert "single-source · critical" in body and "Approved alternatives" in body
    assert "Preferred alternative: Knee system A — evidence ⊕⊕⊕◯ Moderate" in body
    alternatives = page.locator('[data-testid="stDataFrame"]').nth(1)
    alternatives.scroll_into_view_if_needed()
    screenshot(page, SHOTS / "supply-risk-item-desktop.png")
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    wait_for_app(page)
    page.get_by_text("Approved alternatives").first.scroll_into_view_if_needed()
    screenshot(page, SHOTS / "supply-risk-item-phone.png", *PHONE)
    page.set_viewport_size({"width": 1280, "height": 900})
    wait_for_app(page)

    page.get_by_role("button", name="Share").first.click()
    link = page.locator('[data-testid="stCode"] code').first.inner_text().strip()
    assert link.startswith(f"{supply_app}/supply_risk?") and "item=KNEE-B" in link
    assert "supply" not in link.split("?")[1]  # a view, never identity or rights
    page.get_by_role("button", name="I shared this link").click()
    wait_for_app(page)
    shares = state.audit_entries(action="share", path=supply_app.state_path)
    assert (shares["page"] == "supply_risk").any()

    # The orthopaedic champion opens the link: the same item, their service line, peers blinded.
    ctx = browser.new_context(viewport={"width": PHONE[0], "height": PHONE[1]})
    ctx.route(
        "**/*", lambda r: r.continue_() if re.match(r"https?://(localhost|127\.0\.0\.1)", r.request.url) else r.abort()
    )
    champion = ctx.new_page()
    champion.goto(link)
    wait_for_app(champion)
    sign_in(champion, supply_app, "p03@fixture.org")
    _dismiss_dialogs(champion)
    assert "item=KNEE-B" in champion.url
    body = app_text(champion)
    assert "Knee system B" in body and "Preferred alternative: Knee system A — evidence ⊕⊕⊕◯ Moderate" in body
    for name in ("Dr. Ada One", "Dr. Ben Two", "Dr. Ed Five"):
        assert name not in body
    champion.get_by_text("Approved alternatives").first.scroll_into_view_if_needed()
    screenshot(champion, SHOTS / "supply-risk-item-champion-phone.png", *PHONE)
    ctx.close()


def test_physician_sees_the_drugs_driving_their_pharmacy_cost(supply_app, page):
    sign_in(page, supply_app, "p03@fixture.org")  # Dr. Cy Three: vancomycin where cefazolin is preferred
    page.goto(f"{supply_app}/scorecard?procedure=TKA")
    wait_for_app(page)
    _dismiss_dialogs(page)
    body = app_text(page)
    assert "Pharmacy per case" in body and "The drugs driving the difference" in body
    assert "Vancomycin (Antibiotic): $25.00 a case" in body and "would have saved $45" in body
    assert page.locator(".vega-embed").count() >= 1
    page.get_by_text("Drug switch saving").first.scroll_into_view_if_needed()
    screenshot(page, SHOTS / "scorecard-pharmacy-desktop.png")
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    wait_for_app(page)
    page.get_by_text("Pharmacy per case").first.scroll_into_view_if_needed()
    screenshot(page, SHOTS / "scorecard-pharmacy-phone.png", *PHONE)
    page.get_by_text("The drugs driving the difference").first.scroll_into_view_if_needed()
    screenshot(page, SHOTS / "scorecard-pharmacy-drivers-phone.png", *PHONE)
    for name in ("Dr. Ada One", "Dr. Ben Two", "Dr. Ed Five"):
        assert name not in app_text(page)


def test_physician_sees_a_backorder_notice_with_the_preferred_alternative(supply_app, page):
    sign_in(page, supply_app, "p01@fixture.org")  # Dr. Ada One used the backordered premium gloves
    page.goto(f"{supply_app}/scorecard")
    wait_for_app(page)
    _dismiss_dialogs(page)
    body = app_text(page)
    assert "Surgical gloves (premium)" in body and "on backorder" in body and "Surgical gloves (preferred)" in body
    assert "High" in body
    screenshot(page, SHOTS / "scorecard-backorder-phone.png", *PHONE)
