"""Screenshots of the scorecard at a health system's real shape (README, *Performance*): slow, on demand.

`SCORECARD_SCREENSHOT_DB=<a real-shape database> make test-slow` (or `pytest -m slow -k screenshots`)
serves that database, signs in as the surgeon its source's truth.json names (the median-volume surgeon
of the peer group closest to 300 eligible physicians) through the local OpenID provider, and saves the
scorecard at desktop (1280) and phone (390) width into screenshots/ (git-ignored). It checks that the
peer distribution reads at that size: a histogram with You marked, not one bar per surgeon.
`SCORECARD_SCREENSHOT_STATE=<an app state file>` starts from a copy of that state instead of an empty one
(e.g. the benchmark's, which holds its 100 accepted flags) and names the files `...-flags-...`, to look
at the page as it reads the patched snapshots.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from browser_support import app_text, screenshot, sign_in, wait_for_app

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def scale_db():
    path = os.environ.get("SCORECARD_SCREENSHOT_DB")
    if not path or not Path(path).exists():
        pytest.skip("set SCORECARD_SCREENSHOT_DB to a database built from a real-shape source")
    return Path(path)


def test_scorecard_of_a_surgeon_among_300_peers(scale_db, start_app, page, tmp_path):
    truth = (
        json.loads(Path(os.environ.get("SCORECARD_SCREENSHOT_TRUTH", "")).read_text())
        if os.environ.get("SCORECARD_SCREENSHOT_TRUTH")
        else None
    )
    email = os.environ.get("SCORECARD_SCREENSHOT_EMAIL") or (truth or {}).get("personas", {}).get("physician")
    procedure = os.environ.get("SCORECARD_SCREENSHOT_PROCEDURE") or (truth or {}).get("persona_procedure", {}).get(
        "procedure_code"
    )
    if not email:
        pytest.skip("set SCORECARD_SCREENSHOT_TRUTH (the source's truth.json) or SCORECARD_SCREENSHOT_EMAIL")
    state = tmp_path / "state.sqlite"
    tag = ""
    if os.environ.get("SCORECARD_SCREENSHOT_STATE"):
        shutil.copyfile(os.environ["SCORECARD_SCREENSHOT_STATE"], state)
        tag = "-flags"
    url = start_app(scale_db, state)
    page.set_default_timeout(120_000)
    sign_in(page, url, email, timeout_ms=180_000)
    if procedure:
        page.goto(f"{url}/?procedure={procedure}")  # the scorecard is the physician's landing page
        wait_for_app(page, timeout_ms=180_000)
    text = app_text(page)
    assert "My scorecard" in text and "Page not found" not in text
    out = ROOT / "screenshots"
    screenshot(page, out / f"scorecard-300-peers{tag}-desktop.png", 1280, 900)
    screenshot(page, out / f"scorecard-300-peers{tag}-desktop-tall.png", 1280, 4400)
    screenshot(page, out / f"scorecard-300-peers{tag}-phone.png", 390, 844)
    screenshot(page, out / f"scorecard-300-peers{tag}-phone-tall.png", 390, 9000)
