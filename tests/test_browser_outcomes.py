"""The new outcome section in a real browser, at desktop (1280) and phone (390) width.

A small demo (its Women's Health department has the truly worse surgeon, Dr. Ashford) is built, the
app started with sign-in, and Ashford's hysterectomy scorecard opened. The screenshots go to
screenshots/ (git-ignored) to be looked at; the checks are on the text the page shows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_support import app_text, screenshot, sign_in, wait_for_app

from core import db
from core.build.pipeline import build
from core.tools.demo import write_demo_source

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parent.parent / "screenshots"


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("outcomes_demo")
    truth = write_demo_source(folder / "source", cases=20_000, seed=42, fmt="parquet")
    assert build(folder / "source", folder / "demo.duckdb").ok
    return folder / "demo.duckdb", truth


def test_outcome_section_desktop_and_phone(start_app, page, demo_db, tmp_path):
    path, truth = demo_db
    surgeon = truth["planted"]["small_department"]["worse_outcomes"]
    users = db.fetch("mart_user", path=path)
    email = users.loc[users["physician_id"] == surgeon, "email"].iloc[0]
    url = start_app(path, tmp_path / "state.sqlite")
    sign_in(page, url, email, goto=f"{url}/scorecard?procedure=HYS")
    wait_for_app(page)
    # "Over time" is drawn on demand (README, Performance): open it as a reader would.
    page.get_by_text("Show cost and outcomes over time", exact=True).first.click()
    wait_for_app(page)
    text = app_text(page)
    assert "Outcomes, risk-adjusted" in text and "shrunken O/E" in text and "reliability-adjusted O/E" in text
    assert "Higher than expected" in text and "Exact Poisson limits" in text
    assert "net events avoided" in text and "Outcomes by quarter" not in text
    heading = page.get_by_text("Outcomes, risk-adjusted", exact=True).first
    for width, height, name in ((1280, 900, "outcomes-desktop-1280.png"), (390, 844, "outcomes-phone-390.png")):
        page.set_viewport_size({"width": width, "height": height})
        wait_for_app(page)
        heading.scroll_into_view_if_needed()
        page.wait_for_timeout(2000)  # charts draw once they are on screen
        screenshot(page, SHOTS / name, width, height)
    page.set_viewport_size({"width": 1280, "height": 900})
    wait_for_app(page)
    over_time = page.get_by_text("Each chart runs through all your cases", exact=False).first
    over_time.scroll_into_view_if_needed()
    page.get_by_text("Risk-adjusted CUSUM", exact=True).first.click()
    wait_for_app(page)
    over_time.scroll_into_view_if_needed()
    page.wait_for_timeout(2500)
    screenshot(page, SHOTS / "over-time-desktop-1280.png", 1280, 900)
    assert "signal threshold 4.5" in app_text(page)
    page.get_by_text("Risk-adjusted CUSUM", exact=True).first.scroll_into_view_if_needed()
    page.mouse.move(800, 450)
    page.mouse.wheel(0, 350)  # the expander's chart, below its label
    page.wait_for_timeout(2000)
    screenshot(page, SHOTS / "cusum-desktop-1280.png", 1280, 900)
    page.set_viewport_size({"width": 390, "height": 844})
    wait_for_app(page)
    over_time.scroll_into_view_if_needed()
    page.wait_for_timeout(2000)
    screenshot(page, SHOTS / "over-time-phone-390.png", 390, 844)
