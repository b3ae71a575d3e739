"""Sign-in glue between Streamlit's ``st.login`` (OpenID Connect via Authlib) and the app.

One of the few ``core`` modules that imports Streamlit. It knows nothing about the roster or rights:
it says *who* signed in (:func:`signed_in_identity`, from the ID token's claims) and carries a shared
link's *view* (page + filters) across the sign-in round trip. Rights always come from the roster,
never from a link or a cookie.

Why the deep-link dance
-----------------------
After the OIDC callback Streamlit always redirects to ``/``: the page path and the query string of
the link the user opened are lost, and ``st.session_state`` does not survive either (``st.login``
reloads the page: a new session). So while a signed-out user sees the sign-in screen,
:func:`render_sign_in` stores the current view in a short-lived first-party cookie
(``scorecard_return``; path ``/``, 10 minutes, SameSite=Lax; written by a tiny script through
``st.html(..., unsafe_allow_javascript=True)``, since Python cannot set cookies in Streamlit). On the
first run after sign-in, :func:`restore_deep_link` reads it from ``st.context.cookies`` (the cookies
of the session's initial request), validates it, switches to that page with those query parameters
(``st.switch_page(page, query_params=...)``) and deletes the cookie.

The cookie holds ``<unix time written>.<percent-encoded "/page?query">``. It is only a *view*: it is
used when (a) the page is one of the app's pages, (b) it was written less than 10 minutes ago,
(c) the session is the landing right after the callback (default page, no query parameters) and
(d) the user's sign-in (ID token ``auth_time``/``iat``) is not older than the cookie (so a stale
cookie cannot hijack a later, unrelated visit). Query parameters keep only known keys with short
printable values; everything else is dropped (:func:`decode_return`, pure, unit-tested).

How app.py calls this module
----------------------------
::

    import streamlit as st
    from core.ui import signin

    FILTER_KEYS = {"procedure", "period", ...}          # query parameters the pages understand
    pages = [st.Page("pages/home.py", default=True), st.Page("pages/scorecard.py"), ...]

    if signin.auth_configured():                        # [auth] in secrets: OIDC (README, *Sign-in*)
        ident = signin.signed_in_identity()             # Identity(email, email_verified, name)|None
        pg = st.navigation(pages, position="sidebar" if ident else "hidden")
        if ident is None:
            signin.render_sign_in("Scorecard")          # remembers page + query, shows "Sign in"
            st.stop()
        # Every run, before anything else is drawn; right after sign-in it calls st.switch_page
        # (which does not return) to the remembered view, otherwise it returns False.
        signin.restore_deep_link({p.url_path: p for p in pages}, FILTER_KEYS)
        signin.sign_out_button()                        # sidebar "Sign out" -> st.logout()
        user = roster.lookup(ident.email) if ident.email_verified else None  # case-insensitive
        ...                                             # no user -> "no access" page (README, *Access*)
    else:
        ...                                             # demo persona picker / setup instructions
    pg.run()

``st.navigation`` must be called before :func:`render_sign_in` so that the run knows which page the
URL names (the view is read from ``st.context.url`` and ``st.query_params``; pass ``page=pg`` to
name it explicitly). The default page's url path is ``""``; when signed out, a neutral default page
(e.g. ``st.Page(..., url_path="signin", default=True)`` plus every real page by its own path, all
hidden) keeps ``/scorecard?...`` named as such, and :func:`restore_deep_link` then also finds a page
that is the *default* page once signed in by its own path (``/scorecard`` -> ``/``).

AppTest: ``at.user = {"is_logged_in": True, "email": ..., "email_verified": True, "name": ...}``
drives :func:`signed_in_identity`; :func:`auth_configured` reads ``st.secrets``, so setting
``at.secrets["auth"] = {...}`` (redirect_uri, cookie_secret, client_id, client_secret,
server_metadata_url) makes it true -- but ``st.login`` itself only works with a real secrets file
found from the working directory, so do not click "Sign in" in AppTest.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import streamlit as st

RETURN_COOKIE = "scorecard_return"
RETURN_MAX_AGE_S = 600  # cookie lifetime (browser) and accepted age (server)
CLOCK_SKEW_S = 120  # tolerated clock difference between app server and identity provider
MAX_RETURN_LEN = 1024  # decoded "/page?query" length
MAX_PARAM_VALUE_LEN = 200
MAX_PARAMS = 30

_SS_CONSUMED = "_signin_return_consumed"
_SS_CLEAR_PENDING = "_signin_return_clear_pending"

_REQUIRED_AUTH_KEYS = ("redirect_uri", "cookie_secret")
_REQUIRED_PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
_PAGE_PATH_RE = re.compile(r"^[A-Za-z0-9_\-]*$")
_KEY_RE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
_BAD_VALUE_CHARS = re.compile(r"[\x00-\x1f\x7f<>\"'`\\]")
_COOKIE_VALUE_RE = re.compile(r"^(\d{1,12})\.([A-Za-z0-9%._~\-]+)$")


@dataclass(frozen=True)
class Identity:
    """Who signed in, as the identity provider's ID token says (not yet matched to the roster)."""

    email: str
    email_verified: bool
    name: str


@dataclass(frozen=True)
class ReturnTarget:
    """A validated view from the return cookie."""

    page: str  # a page url_path; "" is the default page
    params: dict[str, str | list[str]] = field(default_factory=dict)
    written_at: int = 0  # unix time the cookie was written (app clock)


# ---------------------------------------------------------------------------------------------
# Pure helpers (no Streamlit): the cookie value.
# ---------------------------------------------------------------------------------------------


def encode_return(
    page_path: str, params: Mapping[str, str | Iterable[str]] | None = None, now: float | None = None
) -> str:
    """Cookie value for a view: ``<unix time>.<percent-encoded "/page?query">`` (cookie-safe).

    ``page_path`` is a page's ``url_path`` ("" for the default page), with or without slashes;
    ``params`` maps keys to a value or a list of values (as ``st.query_params`` can hold).
    """
    path = "/" + page_path.strip("/")
    pairs: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        if isinstance(value, str):
            pairs.append((key, value))
        else:
            pairs.extend((key, str(v)) for v in value)
    rel = path + ("?" + urlencode(pairs) if pairs else "")
    written = int(time.time() if now is None else now)
    return f"{written}.{quote(rel, safe='')}"


def decode_return(
    value: str | None,
    allowed_pages: Iterable[str],
    allowed_keys: Iterable[str],
    *,
    now: float | None = None,
    max_age_s: int = RETURN_MAX_AGE_S,
) -> ReturnTarget | None:
    """Validate a return cookie value; return the view or None.

    Accepted: a value written (by :func:`encode_return`) at most ``max_age_s`` ago and not in the
    future (beyond :data:`CLOCK_SKEW_S`), holding a same-origin relative path ``/<page>`` -- no
    scheme, host, ``//``, backslash, fragment, dot segment or nested path -- that names one of
    ``allowed_pages`` (url paths, "" = default page), and a query string. Parameters whose key is not
    in ``allowed_keys``, or whose value is longer than :data:`MAX_PARAM_VALUE_LEN` or holds control or
    markup characters, are dropped; blank values are dropped. Anything malformed gives None.
    """
    if not value or not isinstance(value, str) or len(value) > 3 * MAX_RETURN_LEN + 16:
        return None
    m = _COOKIE_VALUE_RE.match(value)
    if not m:
        return None
    written = int(m.group(1))
    now_i = time.time() if now is None else now
    if written > now_i + CLOCK_SKEW_S or now_i - written > max_age_s:
        return None
    try:
        rel = unquote(m.group(2), errors="strict")
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
    if page not in {p.strip("/") for p in allowed_pages}:
        return None
    keys = set(allowed_keys)
    params: dict[str, str | list[str]] = {}
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=False, max_num_fields=MAX_PARAMS)
    except ValueError:
        return None
    for key, val in pairs:
        if key not in keys or not _KEY_RE.match(key):
            continue
        if len(val) > MAX_PARAM_VALUE_LEN or _BAD_VALUE_CHARS.search(val):
            continue
        prev = params.get(key)
        if prev is None:
            params[key] = val
        elif isinstance(prev, list):
            prev.append(val)
        else:
            params[key] = [prev, val]
    return ReturnTarget(page=page, params=params, written_at=written)


def cookie_script(value: str | None, max_age_s: int = RETURN_MAX_AGE_S) -> str:
    """A ``<script>`` that sets the return cookie on the app's origin, or deletes it (value None).

    Works in the main document (``st.html``) and in a same-origin iframe (``components.html``).
    """
    if value is not None and not re.fullmatch(r"[A-Za-z0-9%._~\-]*", value):
        raise ValueError("cookie value must be cookie-safe (use encode_return)")
    attrs = f"path=/; max-age={max_age_s if value else 0}; samesite=lax"
    cookie = json.dumps(f"{RETURN_COOKIE}={value or ''}; {attrs}")
    return (
        "<script>(function(){var c=" + cookie + ";"
        "try{window.parent.document.cookie=c;}catch(e){}"
        "try{document.cookie=c;}catch(e){}})();</script>"
    )


def signed_in_after(claims: Mapping[str, Any], written_at: int) -> bool:
    """Whether the sign-in described by ID-token ``claims`` happened after ``written_at`` (give or
    take :data:`CLOCK_SKEW_S`). Without a usable ``auth_time``/``iat`` claim: True."""
    for claim in ("auth_time", "iat"):
        t = claims.get(claim)
        if isinstance(t, (int, float)) and not isinstance(t, bool):
            return t >= written_at - CLOCK_SKEW_S
    return True


# ---------------------------------------------------------------------------------------------
# Streamlit-facing API
# ---------------------------------------------------------------------------------------------


def auth_configured() -> bool:
    """True when ``st.secrets`` has an ``[auth]`` section with everything ``st.login()`` needs
    (``redirect_uri``, ``cookie_secret`` and, at that level or under ``[auth.default]``,
    ``client_id``, ``client_secret``, ``server_metadata_url``).

    Never raises and never shows an error: no secrets file, an unreadable one or a partial
    ``[auth]`` all give False.
    """
    try:
        if not st.secrets.load_if_toml_exists():
            return False
        auth = st.secrets.get("auth")
    except Exception:
        return False
    if not isinstance(auth, Mapping):
        return False
    if any(not auth.get(k) for k in _REQUIRED_AUTH_KEYS):
        return False
    provider = auth.get("default")
    if not isinstance(provider, Mapping):
        provider = auth
    return all(provider.get(k) for k in _REQUIRED_PROVIDER_KEYS)


def _truthy_claim(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):  # some providers send "true"
        return value.strip().lower() == "true"
    return False


def _user_claims() -> dict[str, Any]:
    try:
        return dict(st.user.to_dict())
    except Exception:
        return {}


def signed_in_identity() -> Identity | None:
    """The signed-in user from ``st.user`` (ID-token claims), or None when nobody is signed in
    (or the token carries no email). The email is returned as the provider sent it (match the
    roster case-insensitively); ``name`` falls back to the email."""
    user = _user_claims()
    if user.get("is_logged_in") is not True:
        return None
    email = str(user.get("email") or "").strip()
    if not email:
        return None
    name = str(user.get("name") or "").strip() or email
    return Identity(email=email, email_verified=_truthy_claim(user.get("email_verified")), name=name)


def _current_view(page: Any = None) -> tuple[str, dict[str, list[str]]]:
    """This run's page url path ("" = default page) and query parameters."""
    if page is not None and getattr(page, "url_path", None) is not None:
        path = str(page.url_path)
    else:
        try:
            url = st.context.url
        except Exception:
            url = None
        path = urlsplit(url).path if url else ""
        path = path.strip("/")
        from streamlit import config  # a server.baseUrlPath prefix is not part of the page path

        base = str(config.get_option("server.baseUrlPath") or "").strip("/")
        if base and (path == base or path.startswith(base + "/")):
            path = path[len(base) :]
    params = {k: st.query_params.get_all(k) for k in st.query_params}
    return path.strip("/"), params


def _run_script(html: str, key: str) -> None:
    """Run a small script without taking any room on the page (hidden keyed container)."""
    st.html(f"<style>.st-key-{key},[data-testid=stLayoutWrapper]:has(> .st-key-{key}){{display:none}}</style>")
    with st.container(key=key):
        st.html(html, unsafe_allow_javascript=True)


def remember_view(page: Any = None) -> None:
    """Write this run's view (page + query) into the return cookie (done by render_sign_in)."""
    path, params = _current_view(page)
    value = encode_return(path, params)
    if len(value) <= 3 * MAX_RETURN_LEN:
        _run_script(cookie_script(value), "scorecard_return_set")


def render_sign_in(title: str, *, page: Any = None, text: str | None = None) -> None:
    """A clean sign-in screen: title, one line of text and a primary "Sign in" button that calls
    ``st.login()``. It first remembers the current view for :func:`restore_deep_link`."""
    _, mid, _ = st.columns([1, 2, 1])
    with mid:
        st.title(title)
        st.write(text or "Sign in with your hospital account to continue.")
        if st.button("Sign in", type="primary", key="signin_button", width="stretch"):
            st.login()
    remember_view(page)


def sign_out_button(label: str = "Sign out") -> None:
    """A "Sign out" button in the sidebar calling ``st.logout()`` (also signs out at the provider
    when it advertises an end_session_endpoint)."""
    if st.sidebar.button(label, key="signout_button"):
        st.logout()


def pending_return(allowed_pages: Iterable[str], allowed_keys: Iterable[str]) -> ReturnTarget | None:
    """The validated view stored before sign-in (cookie of this session's first request), or None
    -- also None once this session has used or refused it, or when the sign-in predates it."""
    if st.session_state.get(_SS_CONSUMED):
        return None
    try:
        raw = st.context.cookies.get(RETURN_COOKIE)
    except Exception:
        return None
    target = decode_return(raw, allowed_pages, allowed_keys)
    if target is None or not signed_in_after(_user_claims(), target.written_at):
        return None
    return target


def _page_lookup(allowed_pages: Mapping[str, Any]) -> dict[str, Any]:
    """``allowed_pages`` plus each page's own url path: the default page's ``url_path`` is "",
    but a link opened signed out names it by its path (e.g. ``/scorecard``)."""
    lookup = {str(k).strip("/"): v for k, v in allowed_pages.items()}
    for p in allowed_pages.values():
        own = getattr(p, "_url_path", None)
        if isinstance(own, str) and own.strip("/") and own.strip("/") not in lookup:
            lookup[own.strip("/")] = p
    return lookup


def restore_deep_link(allowed_pages: Mapping[str, Any], allowed_keys: Iterable[str], *, page: Any = None) -> bool:
    """Right after sign-in, go to the view remembered before the round trip.

    ``allowed_pages`` maps url paths ("" = default page) to the ``st.Page`` objects given to
    ``st.navigation`` (a link to the default page by its own path, e.g. ``/scorecard`` when the
    scorecard is the default page, is understood too); ``allowed_keys`` are the query parameter names the pages understand. Call on
    every run of a signed-in user, after ``st.navigation`` and before drawing anything. It acts
    once per session and only on the landing after the callback (default page, no query); then it
    calls ``st.switch_page`` (does not return). Otherwise it returns False. The cookie is deleted
    on the next run (or at once when unused), so a reload does not jump again.
    """
    if st.session_state.get(_SS_CLEAR_PENDING):
        st.session_state[_SS_CLEAR_PENDING] = False
        _run_script(cookie_script(None), "scorecard_return_clear")
    if st.session_state.get(_SS_CONSUMED):
        return False
    try:
        has_cookie = bool(st.context.cookies.get(RETURN_COOKIE))
    except Exception:
        has_cookie = False
    lookup = _page_lookup(allowed_pages)
    target = pending_return(lookup.keys(), allowed_keys) if has_cookie else None
    st.session_state[_SS_CONSUMED] = True
    if not has_cookie:
        return False
    current_path, current_params = _current_view(page)
    landing = current_path == "" and not current_params
    dest = lookup.get(target.page) if target is not None else None
    already_there = dest is not None and dest is lookup.get("") and not target.params
    if not landing or dest is None or already_there:
        _run_script(cookie_script(None), "scorecard_return_clear")
        return False
    st.session_state[_SS_CLEAR_PENDING] = True
    st.switch_page(dest, query_params=target.params)
    return True  # pragma: no cover - st.switch_page raises to rerun
