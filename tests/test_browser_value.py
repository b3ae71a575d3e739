"""Browser: a champion walks to the episode slide of the department deck, a supply analyst through the equity
view (issue 15), on the demo at the `make run` size; screenshots at desktop (1280) and phone (390) width go to
screenshots/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_support import app_text, screenshot, sign_in, wait_for_app

from core.build.pipeline import build
from core.tools.demo import write_demo_source

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parent.parent / "screenshots"


@pytest.fixture(scope="module")
def demo_app(start_app_module, tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo_app")
    truth = write_demo_source(folder / "source", cases=20_000, seed=42, fmt="parquet")
    assert build(folder / "source", folder / "demo.duckdb").ok
    url = start_app_module(folder / "demo.duckdb", folder / "state.sqlite")
    url.truth = truth
    return url


def _phone(page, selector: str, path: Path) -> None:
    """A phone-width screenshot with `selector` scrolled into view (Streamlit scrolls inside its own container)."""
    page.set_viewport_size({"width": 390, "height": 844})
    wait_for_app(page)
    page.locator(selector).first.scroll_into_view_if_needed()
    page.wait_for_timeout(400)
    screenshot(page, path, 390, 844)


def test_champion_reaches_the_episode_slide(demo_app, page):
    champion = demo_app.truth["champions"]["Orthopaedics"]["email"]
    sign_in(page, demo_app, champion, goto=f"{demo_app}/presentation?service_line=Orthopaedics&procedure=TKA")
    wait_for_app(page)
    for _ in range(8):
        if "Episode cost: the case and 30 days after" in app_text(page):
            break
        page.get_by_role("button", name="Next").click()
        wait_for_app(page)
    body = app_text(page)
    assert "Episode cost: the case and 30 days after" in body
    headline = page.locator(".slide-headline").first.inner_text()
    assert "skilled nursing" in headline and "Surgeon" in headline and "target of $22,000" in headline
    assert "Osei" not in body and "PH008" not in body  # blinded for everyone in the room
    page.locator("canvas, svg.marks").first.wait_for()
    screenshot(page, SHOTS / "episode-slide-desktop.png", 1280, 900)
    _phone(page, ".slide-headline", SHOTS / "episode-slide-phone.png")
    _phone(page, "canvas, svg.marks", SHOTS / "episode-slide-phone-chart.png")


def test_supply_analyst_walks_the_equity_view(demo_app, page):
    supply = demo_app.truth["personas"]["supply"]
    sign_in(page, demo_app, supply, goto=f"{demo_app}/equity?scope=hospital&outcome=readmit_30d")
    wait_for_app(page)
    body = app_text(page)
    assert "Equity: outcomes and cost by patient group" in body
    assert "Dual-eligible — Dual eligibility (Medicare and Medicaid): 30-day readmissions" in body
    assert "Race and ethnicity" in body and "group(s) suppressed: fewer than 11 cases or events" in body
    assert "Year 2025" in body and "Shown by closed calendar year only" in body  # the demo's latest closed year
    page.locator("canvas, svg.marks").first.wait_for()
    screenshot(page, SHOTS / "equity-supply-desktop.png", 1280, 900)
    page.get_by_text("Race and ethnicity").first.scroll_into_view_if_needed()
    screenshot(page, SHOTS / "equity-supply-desktop-race.png", 1280, 900)
    _phone(page, "h1", SHOTS / "equity-supply-phone.png")
    _phone(page, "canvas, svg.marks", SHOTS / "equity-supply-phone-chart.png")
    # A service line from the picker keeps the view in the link.
    page.goto(f"{demo_app}/equity?scope=service_line&service_line=Cardiovascular&outcome=readmit_30d")
    wait_for_app(page)
    assert "Service line: Cardiovascular" in app_text(page)
    assert "scope=service_line" in page.url
    # A link to a quarter shows the latest closed year instead, and says why.
    page.goto(f"{demo_app}/equity?scope=hospital&period=2025Q3&outcome=readmit_30d")
    wait_for_app(page)
    body = app_text(page)
    assert "is not offered here" in body and "closed calendar year only" in body and "showing Year 2025" in body
    screenshot(page, SHOTS / "equity-supply-quarter-link-desktop.png", 1280, 900)


def test_snf_heavy_surgeon_sees_where_his_episode_cost_comes_from(demo_app, page):
    planted = demo_app.truth["value_based_care"]["snf_heavy"]
    email = "david.osei@demo-hospital.org"
    assert planted["physician_id"] == "PH008"  # Dr. David Osei in the demo roster
    sign_in(page, demo_app, email, goto=f"{demo_app}/scorecard?procedure=TKA")
    wait_for_app(page)
    body = app_text(page)
    assert "Episode cost: the case and 30 days after" in body
    assert "Most of the difference is skilled nursing" in body
    page.get_by_text("Episode cost: the case and 30 days after").first.scroll_into_view_if_needed()
    screenshot(page, SHOTS / "episode-scorecard-desktop.png", 1280, 900)
