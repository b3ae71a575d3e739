"""Browser tests: real headless Chromium signs in through a real OpenID provider (npm oidc-provider)
running locally, against the real app serving the fixture database (README, *Access* and *Sign-in*)."""

from __future__ import annotations

import pytest
from browser_support import app_text, screenshot, sign_in, sign_out, wait_for_app

from core import state

pytestmark = pytest.mark.browser

EMAILS = {
    "physician": "P01@fixture.org",
    "champion": "p03@fixture.org",
    "supply": "supply@fixture.org",
    "admin": "admin@fixture.org",
}


def nav_links(page) -> set[str]:
    """Titles of the pages in the sidebar navigation."""
    return {
        t.strip().splitlines()[-1].strip() for t in page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
    }


PHYSICIAN_PAGES = {"My scorecard", "My products", "Evidence library", "Definitions"}
STAFF_ONLY = {"Supply categories", "Review queue", "Audit log", "Data status"}


@pytest.mark.parametrize(
    "role,expect_pages,forbidden_pages",
    [
        ("physician", PHYSICIAN_PAGES, STAFF_ONLY | {"Presentation"}),
        ("champion", PHYSICIAN_PAGES | {"Presentation"}, STAFF_ONLY),
        (
            "supply",
            {"Supply categories", "My scorecard", "Presentation", "Evidence library", "Review queue", "Definitions"},
            {"Audit log", "Data status", "My products"},
        ),
        (
            "admin",
            {
                "Supply categories",
                "My scorecard",
                "Presentation",
                "Evidence library",
                "Review queue",
                "Audit log",
                "Data status",
                "Definitions",
            },
            {"My products"},
        ),
    ],
)
def test_each_role_signs_in_and_sees_its_pages(app_url, page, role, expect_pages, forbidden_pages):
    sign_in(page, app_url, EMAILS[role])
    links = nav_links(page)
    assert expect_pages <= links and not (forbidden_pages & links), links
    body = app_text(page)
    if role in ("physician", "champion"):
        assert "My scorecard" in body
        assert "Dr. Ben Two" not in body and "P02" not in body
    else:
        assert "Supply categories" in body  # staff land on the category view
        page.goto(f"{app_url}/scorecard?physician=P02")
        wait_for_app(page)
        assert "Scorecard — Dr. Ben Two" in app_text(page)  # identified for their role


def test_physician_editing_the_link_sees_none_of_a_colleague(app_url, page):
    sign_in(page, app_url, EMAILS["physician"])
    page.goto(f"{app_url}/scorecard?physician=P02")
    wait_for_app(page)
    body = app_text(page)
    html = page.content()
    assert "My scorecard" in body and "$294 more than your peers' median" in body
    for leak in ("Dr. Ben Two", "P02", "p02@fixture.org"):
        assert leak not in body and leak not in html, leak
    assert "data you do not have access to" in body
    refused = state.audit_entries(action="refused", email="p01@fixture.org", path=app_url.state_path)
    assert any("P02" in p for p in refused["params"])


def test_physician_cannot_open_the_audit_page_by_url(app_url, page):
    sign_in(page, app_url, EMAILS["physician"])
    page.goto(f"{app_url}/audit")
    wait_for_app(page)
    body = app_text(page)
    assert "Audit log" not in nav_links(page)
    assert "not available to your role" in body and "Entries" not in body
    refused = state.audit_entries(action="refused", email="p01@fixture.org", path=app_url.state_path)
    assert any(p == "audit" for p in refused["page"])


def test_unknown_email_gets_no_access(app_url, page):
    sign_in(page, app_url, "stranger@elsewhere.org")
    body = app_text(page)
    assert "No access" in body and "contact your Scorecard administrator" in body
    assert "$" not in body


def test_unverified_email_gets_no_access(app_url, page):
    sign_in(page, app_url, "unverified.p01@fixture.org")
    assert "No access" in app_text(page)


def test_deep_link_opened_signed_out_lands_on_its_view(app_url, page, tmp_path):
    link = f"{app_url}/scorecard?procedure=TKA&period=2026Q1"
    page.goto(link)
    wait_for_app(page)
    assert page.get_by_role("button", name="Sign in", exact=True).is_visible()
    assert "$" not in app_text(page)
    sign_in(page, app_url, EMAILS["physician"])
    # The scorecard is a physician's default page, which Streamlit shows at "/".
    assert "period=2026Q1" in page.url and "procedure=TKA" in page.url
    body = app_text(page)
    assert "2026 Q1" in body and "My scorecard" in body
    screenshot(page, tmp_path / "deep-link-phone.png", 390, 844)


def test_deep_link_to_a_non_default_page_keeps_its_path(app_url, page):
    page.goto(f"{app_url}/data")
    wait_for_app(page)
    sign_in(page, app_url, EMAILS["admin"])
    assert page.url.startswith(f"{app_url}/data")
    assert "Data status" in app_text(page)


def test_sign_out(app_url, page):
    sign_in(page, app_url, EMAILS["admin"])
    sign_out(page, app_url)
    assert page.get_by_role("button", name="Sign in", exact=True).is_visible()
    page.goto(f"{app_url}/audit")
    wait_for_app(page)
    assert "Entries" not in app_text(page)


def test_charts_render_in_the_browser(app_url, page):
    sign_in(page, app_url, EMAILS["physician"])
    page.wait_for_selector(
        '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg', timeout=20_000
    )
    assert page.locator('[data-testid="stVegaLiteChart"]').count() >= 3


def test_first_request_to_a_fresh_server_cannot_bypass_sign_in(start_app, fixture_db, page, tmp_path):
    """A fresh server's first request for a pages/ file must still go through app.py."""
    state_path = tmp_path / "state.sqlite"
    state.audit("someone@fixture.org", "admin", "view", "audit", {"k": "v"}, path=state_path)
    url = start_app(fixture_db, state_path)
    page.goto(f"{url}/audit")
    wait_for_app(page)
    body = app_text(page)
    assert "someone@fixture.org" not in body and "Entries" not in body
    assert page.get_by_role("button", name="Sign in", exact=True).is_visible()
