"""What every page shares: the viewer, cached reads, the audit trail, links and formatting.

One of the few `core` modules that imports Streamlit. Pages stay thin by calling these helpers:
the viewer comes from app.py (which resolved it from the signed-in user and the roster), reads are
cached per database version (so a rebuild is seen at once, README, *Commands*), and every page view, export,
share and refusal goes to the audit log — a failed audit write is shown, never swallowed.
"""

from __future__ import annotations

import importlib
import json
from typing import Any, Callable
from urllib.parse import urlencode

import streamlit as st

from core import access, db, scorecard, state
from core.output.format import money, pct  # noqa: F401 - the pages' formatters: one implementation

_VIEWER_KEY = "_scorecard_viewer"
_LOGGED_KEY = "_scorecard_logged_views"

# Query parameters a view may carry in a link: filters only, never identity or rights.
LINK_KEYS = ("procedure", "period", "category", "outcome", "physician", "step", "service_line",
             "grade", "q", "slide", "item", "drug_class")


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


def audit(action: str, page: str | None = None, params: dict[str, Any] | None = None,
          detail: str | None = None) -> bool:
    """Write an audit entry for the current viewer; show an error (not a traceback) if it fails."""
    v = st.session_state.get(_VIEWER_KEY)
    email = v.email if isinstance(v, access.Viewer) else "anonymous"
    role = v.role if isinstance(v, access.Viewer) else None
    try:
        state.audit(email, role, action, page, params, detail)
        return True
    except state.StateWriteError as err:
        st.error(f"The audit log could not be written ({err}). Please tell your Scorecard administrator.")
        return False


def log_view(page: str, params: dict[str, Any]) -> None:
    """Audit a page view once per distinct page and filters in this session."""
    key = json.dumps([page, params], sort_keys=True, default=str)
    seen = st.session_state.setdefault(_LOGGED_KEY, set())
    if key not in seen and audit("view", page, params):
        seen.add(key)


def require(action: str, page: str, message: str) -> access.Viewer:
    """The viewer, when they may take `action`; otherwise the refusal is audited, `message` shown, the run ended."""
    viewer = globals()["viewer"]()
    if not access.can(viewer, action):
        audit("refused", page, dict(st.query_params), f"{action} is not allowed for the {viewer.role} role")
        st.warning(message, icon=":material/lock:")
        st.stop()
    return viewer


def refuse(page: str, params: dict[str, Any], reason: str) -> None:
    """Log a refused request and tell the user politely what they will see instead."""
    audit("refused", page, params, reason)
    st.warning("That link asked for data you do not have access to, so you are seeing your own view "
               "instead. The attempt has been recorded.", icon=":material/lock:")


def period_picker(ctx: scorecard.DataContext, where: Any = None, token: str | None = None) -> tuple[Any, str | None]:
    """(period, problem): the link's period (or the default) offered in a picker (`where`, default the
    sidebar); `problem` says why a link's period could not be used."""
    period, problem = ctx.parse_period(token if token is not None else param("period"))
    options = ctx.period_options()
    tokens = [p.token for p in options]
    if period.token not in tokens:
        options, tokens = [period, *options], [period.token, *tokens]
    box = where if where is not None else st.sidebar
    chosen = box.selectbox("Period", options, index=tokens.index(period.token), format_func=lambda p: p.label)
    return chosen, problem


def param(name: str) -> str | None:
    """A query parameter from the link (a filter; never a right)."""
    value = st.query_params.get(name)
    return str(value) if value not in (None, "") else None


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
        st.caption(f"A link to this view of {page_title}. It carries the view, never your identity: "
                   "whoever opens it sees what their own role allows.")
        st.code(link, language=None)
        if st.button("I shared this link", key=f"share_{page_path}"):
            audit("share", page_path, clean, link)
            st.success("Recorded in the audit log.")


def md(text: str) -> str:
    """Plain text made safe for st.markdown: dollar signs would otherwise start LaTeX maths."""
    return text.replace("$", "\\$")


def no_data(message: str) -> None:
    """An honest empty state."""
    st.info(message, icon=":material/info:")
