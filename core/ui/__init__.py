"""What every page shares: the viewer, cached reads, the audit trail, links and formatting.

One of the few `core` modules that imports Streamlit. Pages stay thin by calling these helpers:
the viewer comes from app.py (which resolved it from the signed-in user and the roster), reads are
cached per database version (so a rebuild is seen at once, README, *Commands*), and every page view, export,
share and refusal goes to the audit log. The audit fails closed: when an entry cannot be written the
run shows an error and stops, so a view nobody recorded is never drawn.

Anything from a link or an extract is shown through `plain` (or `say`), never as Markdown, and link
parameters are read only through `param` / `int_param`: bounded, printable, never an exception.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from core import access, db, scorecard, state, text
from core.output.format import money, pct  # noqa: F401 - the pages' formatters: one implementation

_VIEWER_KEY = "_scorecard_viewer"
_LOGGED_KEY = "_scorecard_logged_views"

# Query parameters a view may carry in a link: filters only, never identity or rights.
LINK_KEYS = (
    "procedure",
    "period",
    "category",
    "outcome",
    "physician",
    "step",
    "service_line",
    "grade",
    "q",
    "slide",
    "item",
    "drug_class",
    "scope",
)
# A link parameter longer than this is ignored whole (a search is the longest honest value).
MAX_PARAM_LENGTH = 200
# The element toolbar's own chart download (a PNG made in the browser) would bypass the audit log, so
# it is hidden on every page; Scorecard's Export buttons make the same files and record them.
# (`client.disableDataExport` in .streamlit/config.toml already removes the table and chart-data CSVs.)
TOOLBAR_CSS = (
    "<style>[data-testid='stElementToolbarButton']:has(button[aria-label^='Download as PNG']),"
    "[data-testid='stElementToolbarButton']:has(button[aria-label^='Copy Vega-Lite spec'])"
    "{display:none !important}</style>"
)


def set_viewer(viewer: access.Viewer) -> None:
    """Called by app.py once per run, after sign-in and the roster match."""
    st.session_state[_VIEWER_KEY] = viewer


def viewer() -> access.Viewer:
    """The signed-in viewer; pages never run without one (app.py stops first)."""
    found = st.session_state.get(_VIEWER_KEY)
    if not isinstance(found, access.Viewer):
        _enter_through_app()
    return found


def _enter_through_app() -> None:
    """Send a page that ran without app.py back through app.py, which decides access.

    Streamlit runs a `pages/` file directly, in its legacy multipage mode, for the first request
    a freshly started server receives, before any run of app.py has declared `st.navigation`.
    Switching the process to `st.navigation` mode and rerunning makes app.py run first, with the
    requested page (and its link) kept. Whatever happens, the page itself draws nothing.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
    st.error("You are not signed in.")
    st.stop()


@st.cache_data(show_spinner=False, max_entries=4000)
def _call(module: str, name: str, version: str, args: tuple, kwargs: tuple) -> Any:
    return getattr(importlib.import_module(module), name)(*args, **dict(kwargs))


def cached(func: Callable, *args: Any, **kwargs: Any) -> Any:
    """`func(*args, **kwargs)`, cached until the database is rebuilt."""
    return _call(func.__module__, func.__name__, db.database_version(), args, tuple(sorted(kwargs.items())))


def context() -> scorecard.DataContext:
    """Settings and build metadata of the database in service."""
    return cached(scorecard.data_context)


def excluded() -> list[str]:
    """Cases removed from the figures by accepted flags (read fresh: flags change without a rebuild)."""
    return scorecard.excluded_cases()


def blinding_secret() -> bytes:
    """The key behind peer letters (kept in app state so letters survive rebuilds)."""
    return state.secret(scorecard.BLINDING_SECRET)


def audit(
    action: str,
    page: str | None = None,
    params: dict[str, Any] | None = None,
    detail: str | None = None,
    *,
    fail_closed: bool = True,
) -> bool:
    """Write an audit entry for the current viewer. When it cannot be written the error is shown (not a
    traceback) and — unless `fail_closed` is False, for a callback that runs outside the page — the run
    stops there, so nothing after it (the data) is drawn (SPEC: a view that is not logged is not shown)."""
    v = st.session_state.get(_VIEWER_KEY)
    email = v.email if isinstance(v, access.Viewer) else "anonymous"
    role = v.role if isinstance(v, access.Viewer) else None
    try:
        state.audit(email, role, action, page, params, detail)
        return True
    except Exception as err:  # noqa: BLE001 - any failure to record means the view is not shown
        st.error(
            "The audit log could not be written, so this page is not shown. Please tell your Scorecard "
            f"administrator ({plain(type(err).__name__)}: {plain(err)}).",
            icon=":material/error:",
        )
        if fail_closed:
            st.stop()
        return False


def log_view(page: str, params: dict[str, Any]) -> None:
    """Audit a page view once per distinct page and filters in this session; stop if it cannot be."""
    key = json.dumps([page, params], sort_keys=True, default=str)
    seen = st.session_state.setdefault(_LOGGED_KEY, set())
    if key not in seen and audit("view", page, params):
        seen.add(key)


def require(action: str, page: str, message: str) -> access.Viewer:
    """The viewer, when they may take `action` (the view then recorded before anything is drawn); otherwise the
    refusal is audited, `message` shown, the run ended. Every page starts with it."""
    viewer = globals()["viewer"]()
    if not access.can(viewer, action):
        audit("refused", page, dict(st.query_params), f"{action} is not allowed for the {viewer.role} role")
        st.warning(message, icon=":material/lock:")
        st.stop()
    log_page_view(page)  # fail closed: nothing is drawn before the view is recorded
    return viewer


def log_page_view(page: str) -> None:
    """Audit the opening of a page with the link's filters, before the page runs (app.py): the one place
    that makes every page fail closed, whatever it draws first."""
    log_view(page, _link_params(dict(st.query_params)))


def refuse(page: str, params: dict[str, Any], reason: str) -> None:
    """Log a refused request and tell the user politely what they will see instead."""
    audit("refused", page, params, reason)
    st.warning(
        "That link asked for data you do not have access to, so you are seeing your own view "
        "instead. The attempt has been recorded.",
        icon=":material/lock:",
    )


def period_picker(
    ctx: scorecard.DataContext,
    where: Any = None,
    token: str | None = None,
    offered_only: bool | None = None,
    grain: str = "any",
) -> Any:
    """The link's period (or the default) offered in a picker (`where`, default the sidebar). When the link's
    period cannot be used, a warning says why in plain text (it quotes the link) and the default is shown.
    The one period picker of every page.

    Viewers who see peers blinded get only the offered whole periods (`offered_only`, by default
    everyone but those who may `choose_any_period`): see `core.periods.parse_period`. With
    `grain="closed_year"` (the equity view) only closed calendar years are offered, to everyone, the
    latest by default (`core.periods.parse_closed_year`); None when the data hold no closed year."""
    asked = token if token is not None else param("period")
    if grain == "closed_year":
        period, problem = ctx.parse_closed_year(asked)
        if period is None:
            return None
        options = ctx.closed_years()
    else:
        if offered_only is None:
            offered_only = not access.can(globals()["viewer"](), "choose_any_period")
        period, problem = ctx.parse_period(asked, offered_only=offered_only)
        options = ctx.period_options()
    tokens = [p.token for p in options]
    if period.token not in tokens:
        options, tokens = [period, *options], [period.token, *tokens]
    box = where if where is not None else st.sidebar
    chosen = box.selectbox("Period", options, index=tokens.index(period.token), format_func=lambda p: p.label)
    if problem:
        say("warning", problem, icon=":material/event_busy:")
    return chosen


def param(name: str) -> str | None:
    """A query parameter from the link (a filter; never a right): None when absent, empty, longer than
    MAX_PARAM_LENGTH or holding control characters. A repeated key counts once (its last value)."""
    try:
        value = st.query_params.get(name)
    except Exception:  # noqa: BLE001 - a malformed query string is no parameter at all
        return None
    if value is None:
        return None
    value = str(value).strip()
    if not value or len(value) > MAX_PARAM_LENGTH or not value.isprintable():
        return None
    return value


def int_param(name: str, low: int, high: int) -> int | None:
    """A whole number from the link within [low, high]: ASCII digits only (not "²" or "٣"), at most six."""
    value = param(name)
    if value is None or not (value.isascii() and value.isdigit()) or len(value) > 6:
        return None
    number = int(value)
    return number if low <= number <= high else None


def plain(value: Any) -> str:
    """A value from a link or an extract as Markdown that shows exactly its characters (`core.text.plain`)."""
    return text.plain(value)


def say(kind: str, message: str, icon: str | None = None, where: Any = None) -> None:
    """A warning, info, error or caption whose whole text is plain (it quotes a link or an extract); its
    first letter is made a capital (only that one: `str.capitalize` would lower-case the quoted value)."""
    box = where if where is not None else st
    show = getattr(box, kind)
    body = text.plain(message[:1].upper() + message[1:], limit=600)
    show(body, icon=icon) if icon and kind in ("warning", "info", "error", "success") else show(body)


def _link_params(params: dict[str, Any]) -> dict[str, str]:
    """The filters a link may carry: known keys with a value, as text."""
    return {k: str(v) for k, v in params.items() if v not in (None, "") and k in LINK_KEYS}


def set_params(**params: Any) -> None:
    """Reflect the current filters in the URL so the address bar is always a shareable link."""
    clean = _link_params(params)
    if dict(st.query_params) != clean:
        st.query_params.from_dict(clean)


def share_box(page_path: str, params: dict[str, Any], page_title: str) -> None:
    """A "Share" popover: a link to exactly this view (page and filters), audited when copied."""
    clean = _link_params(params)
    try:
        base = st.context.url.split("?")[0].rsplit("/", 1)[0] if st.context.url else ""
    except Exception:  # noqa: BLE001 - st.context.url is absent under AppTest
        base = ""
    link = f"{base}/{page_path}" + (f"?{urlencode(clean)}" if clean else "")
    with st.popover("Share", icon=":material/share:"):
        st.caption(
            f"A link to this view of {page_title}. It carries the view, never your identity: "
            "whoever opens it sees what their own role allows."
        )
        st.code(link, language=None)
        if st.button("I shared this link", key=f"share_{page_path}"):
            audit("share", page_path, clean, link)
            st.success("Recorded in the audit log.")


def md(text: str) -> str:
    """Plain text made safe for st.markdown: dollar signs would otherwise start LaTeX maths (one already
    escaped by `plain` stays as it is)."""
    return re.sub(r"(?<!\\)\$", r"\\$", text)


def no_data(message: str) -> None:
    """An honest empty state."""
    st.info(message, icon=":material/info:")
