"""Sign-in glue between Streamlit's ``st.login`` (OpenID Connect via Authlib) and the app.

This is one of the few ``core`` modules that imports Streamlit. It knows nothing about the roster
or rights: it only says *who* signed in (:func:`signed_in_identity`) and carries a shared link's
*view* (page + filters) across the sign-in round trip. Rights always come from the roster, never
from a link.

Why the deep-link dance
-----------------------
After the OIDC callback Streamlit always redirects to ``/``: the page path and the query string of
the link the user opened are lost, and ``st.session_state`` does not survive either (st.login
reloads the page, which starts a new session). So, while the signed-out user looks at the sign-in
screen, :func:`render_sign_in` stores the view in a short-lived first-party cookie
(``scorecard_return``: path ``/``, 10 minutes, SameSite=Lax, written by a tiny script because
Streamlit cannot set cookies from Python). On the first run after sign-in, :func:`restore_deep_link`
reads it from ``st.context.cookies`` (the cookies of the session's initial request), validates it,
switches to that page with those query parameters and removes the cookie. The cookie value is only a
*view*: a known page's url path and query parameters with known keys and short printable values;
anything else in it is dropped (:func:`decode_return`).

How app.py uses this module
---------------------------
::

    import streamlit as st
    from core import signin

    pages = [st.Page("pages/home.py", default=True), st.Page("pages/scorecard.py"), ...]
    pg = st.navigation(pages)              # 1. resolve the page from the URL first

    if signin.auth_configured():            # production / browser tests: OIDC
        ident = signin.signed_in_identity()
        if ident is None:
            signin.render_sign_in("Scorecard")    # stores the view (page + query) and shows the button
            st.stop()
        # 2. first run after sign-in: go back to the linked view (no-op otherwise). Call it on
        #    every run, before anything is rendered; it calls st.switch_page when it restores.
        signin.restore_deep_link({p.url_path: p for p in pages}, FILTER_KEYS)
        signin.sign_out_button()
        user = roster_lookup(ident.email) if ident.email_verified else None   # rights: roster only
    else:
        ...  # demo persona picker or setup instructions (SPEC §7)
    pg.run()

``FILTER_KEYS`` is the set of query parameter names the pages understand (e.g. ``{"procedure",
"period", "physician", "category", ...}``); the home page's url path is ``""``.

``render_sign_in`` takes the view from the *current run* (``st.context.url``'s path and
``st.query_params``), so call it after ``st.navigation`` has resolved the page. You can pass
``page=pg`` explicitly (``pg.url_path`` is then used).

In AppTest, ``at.user = {"is_logged_in": True, "email": ..., "email_verified": True, "name": ...}``
drives :func:`signed_in_identity`; :func:`auth_configured` reads ``st.secrets``, so
``at.secrets["auth"] = {...}`` makes it true (but ``st.login`` itself only works with a real
secrets file).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import streamlit as st

RETURN_COOKIE = "scorecard_return"
RETURN_MAX_AGE_S = 600
MAX_RETURN_LEN = 1024
MAX_PARAM_VALUE_LEN = 200
MAX_PARAMS = 30

_SS_CONSUMED = "_signin_return_consumed"
_SS_CLEAR_PENDING = "_signin_return_clear_pending"

_REQUIRED_AUTH_KEYS = ("redirect_uri", "cookie_secret")
_REQUIRED_PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
_PAGE_PATH_RE = re.compile(r"^[A-Za-z0-9_\-]*$")
_VALUE_RE = re.compile(r"^[^\x00-\x1f\x7f<>\"'`\\]*$")


@dataclass(frozen=True)
class Identity:
    """Who signed in, as the identity provider's ID token says (not yet matched to the roster)."""

    email: str
    email_verified: bool
    name: str


# ---------------------------------------------------------------------------------------------
# Pure helpers (no Streamlit): the cookie value.
# ---------------------------------------------------------------------------------------------


def encode_return(page_path: str, params: Mapping[str, str | Iterable[str]] | None = None) -> str:
    """Cookie value for a view: ``/<page_path>?<query>``, percent-encoded to cookie-safe chars.

    ``page_path`` is a page's ``url_path`` ("" for the default page), with or without slashes.
    """
    path = "/" + page_path.strip("/")
    pairs: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        if isinstance(value, str):
            pairs.append((key, value))
        else:
            pairs.extend((key, str(v)) for v in value)
    rel = path + ("?" + urlencode(pairs) if pairs else "")
    return quote(rel, safe="")


def decode_return(
    value: str | None,
    allowed_pages: Iterable[str],
    allowed_keys: Iterable[str],
) -> tuple[str, dict[str, str | list[str]]] | None:
    """Validate a return cookie value; return ``(page_url_path, query_params)`` or None.

    Accepted: a same-origin relative path ``/<page>`` (no scheme, host, ``//``, backslash, dot
    segments or nested path) naming one of ``allowed_pages`` (url paths, "" = default page), and a
    query string. Query parameters whose key is not in ``allowed_keys``, or whose value is too long
    or contains control/markup characters, are dropped. Anything malformed yields None. Nothing
    here can grant rights: it only chooses which view to open.
    """
    if not value or not isinstance(value, str) or len(value) > 3 * MAX_RETURN_LEN:
        return None
    try:
        rel = unquote(value, errors="strict")
    except UnicodeDecodeError:
        return None
    if len(rel) > MAX_RETURN_LEN or not rel.startswith("/") or rel.startswith("//"):
        return None
    if "\\" in rel or "#" in rel or any(ord(c) < 0x20 or ord(c) == 0x7F for c in rel):
        return None
    parts = urlsplit(rel)
    if parts.scheme or parts.netloc:
        return None
    page = parts.path.strip("/")
    if "/" in page or not _PAGE_PATH_RE.match(page):
        return None
    pages = {p.strip("/") for p in allowed_pages}
    if page not in pages:
        return None
    keys = set(allowed_keys)
    params: dict[str, str | list[str]] = {}
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=False, max_num_fields=MAX_PARAMS)
    except ValueError:
        return None
    for key, val in pairs:
        if key not in keys or len(val) > MAX_PARAM_VALUE_LEN or not _VALUE_RE.match(val):
            continue
        prev = params.get(key)
        if prev is None:
            params[key] = val
        elif isinstance(prev, list):
            prev.append(val)
        else:
            params[key] = [prev, val]
    return page, params


def _cookie_js(value: str | None, max_age: int) -> str:
    """A script that sets (or, with value None, deletes) the return cookie on the app's origin.

    Works both in the main document (st.html) and in a same-origin iframe (components.html).
    """
    cookie = (
        f"{RETURN_COOKIE}={value or ''}; path=/; max-age={max_age if value else 0}; samesite=lax"
    )
    cookie_js = json.dumps(cookie)
    return (
        "<script>(function(){var c=" + cookie_js + ";"
        "try{window.parent.document.cookie=c;}catch(e){}"
        "try{document.cookie=c;}catch(e){}})();</script>"
    )


# ---------------------------------------------------------------------------------------------
# Streamlit-facing API
# ---------------------------------------------------------------------------------------------


def auth_configured() -> bool:
    """True when ``st.secrets`` has an ``[auth]`` section with everything ``st.login()`` needs.

    Never raises: no secrets file, an unreadable one or a partial ``[auth]`` all give False.
    """
    try:
        auth = st.secrets.get("auth")
    except Exception:  # no/invalid secrets file: Streamlit raises on access
        return False
    if not isinstance(auth, Mapping):
        return False
    if any(not auth.get(k) for k in _REQUIRED_AUTH_KEYS):
        return False
    provider: Any = auth.get("default", auth)
    if not isinstance(provider, Mapping):
        return False
    return all(provider.get(k) for k in _REQUIRED_PROVIDER_KEYS)


def _truthy_claim(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return False


def signed_in_identity() -> Identity | None:
    """The signed-in user from ``st.user`` (ID-token claims), or None when nobody is signed in."""
    try:
        user = st.user.to_dict()
    except Exception:
        return None
    if not user.get("is_logged_in"):
        return None
    email = str(user.get("email") or "").strip()
    if not email:
        return None
    name = str(user.get("name") or "").strip() or email
    return Identity(email=email, email_verified=_truthy_claim(user.get("email_verified")), name=name)


def _current_view(page: Any = None) -> tuple[str, dict[str, list[str]]]:
    """The current page url path and query parameters of this run."""
    if page is not None and getattr(page, "url_path", None) is not None:
        path = str(page.url_path)
    else:
        path = ""
        url = None
        try:
            url = st.context.url
        except Exception:
            url = None
        if url:
            path = urlsplit(url).path
            from streamlit import config  # baseUrlPath prefix is not part of a page path

            base = (config.get_option("server.baseUrlPath") or "").strip("/")
            path = path.strip("/")
            if base and (path == base or path.startswith(base + "/")):
                path = path[len(base) :]
    params = {k: st.query_params.get_all(k) for k in st.query_params}
    return path.strip("/"), params


def _remember_view(page: Any = None) -> None:
    path, params = _current_view(page)
    value = encode_return(path, params)
    if len(value) > 3 * MAX_RETURN_LEN:
        return
    st.html(_cookie_js(value, RETURN_MAX_AGE_S), unsafe_allow_javascript=True)


def render_sign_in(title: str, *, page: Any = None, subtitle: str | None = None) -> None:
    """A clean sign-in screen: title, one line of text and a "Sign in" button (``st.login()``).

    Before showing the button it remembers the current view (page + query) in the return cookie so
    that :func:`restore_deep_link` can bring the user back to it after the round trip.
    """
    _remember_view(page)
    left, mid, right = st.columns([1, 2, 1])
    with mid:
        st.title(title)
        st.write(subtitle or "Sign in with your hospital account to see your scorecard.")
        if st.button("Sign in", type="primary", key="signin_button", use_container_width=True):
            st.login()


def sign_out_button(label: str = "Sign out") -> None:
    """A "Sign out" button in the sidebar calling ``st.logout()``."""
    if st.sidebar.button(label, key="signout_button"):
        st.logout()


def pending_return(allowed_pages: Iterable[str], allowed_keys: Iterable[str]):
    """The validated view ``(page_url_path, params)`` stored before sign-in, or None.

    None as well once this session has already used (or refused) it.
    """
    if st.session_state.get(_SS_CONSUMED):
        return None
    try:
        raw = st.context.cookies.get(RETURN_COOKIE)
    except Exception:
        return None
    if not raw:
        return None
    return decode_return(raw, allowed_pages, allowed_keys)


def restore_deep_link(allowed_pages: Mapping[str, Any], allowed_keys: Iterable[str]) -> bool:
    """On the first run after sign-in, go to the view remembered before the round trip.

    ``allowed_pages`` maps url paths ("" for the default page) to the ``st.Page`` objects given to
    ``st.navigation``. Call on every run of a signed-in user, after ``st.navigation`` and before
    rendering. When it restores a view it calls ``st.switch_page`` (which does not return); else it
    returns False. It also deletes the cookie (on the run after the switch) so that a reload does not
    jump again.
    """
    if st.session_state.get(_SS_CLEAR_PENDING):
        st.session_state[_SS_CLEAR_PENDING] = False
        st.html(_cookie_js(None, 0), unsafe_allow_javascript=True)
    if st.session_state.get(_SS_CONSUMED):
        return False
    target = pending_return(allowed_pages.keys(), allowed_keys)
    try:
        has_cookie = bool(st.context.cookies.get(RETURN_COOKIE))
    except Exception:
        has_cookie = False
    st.session_state[_SS_CONSUMED] = True
    if has_cookie:
        st.session_state[_SS_CLEAR_PENDING] = True
    if target is None:
        if has_cookie:
            st.session_state[_SS_CLEAR_PENDING] = False
            st.html(_cookie_js(None, 0), unsafe_allow_javascript=True)
        return False
    page_path, params = target
    page = allowed_pages.get(page_path)
    if page is None:
        return False
    st.switch_page(page, query_params=params)
    return True  # pragma: no cover - switch_page raises
