"""Unit tests for core/signin.py's pure parts: the return cookie (deep links across sign-in),
the auth-configured check and the identity read from st.user. No browser, no provider."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from core.ui import signin
from core.ui.signin import (
    CLOCK_SKEW_S,
    RETURN_MAX_AGE_S,
    ReturnTarget,
    cookie_script,
    decode_return,
    encode_return,
    signed_in_after,
)

NOW = 1_800_000_000
PAGES = ["", "scorecard", "cases", "evidence"]
KEYS = {"procedure", "period", "category"}


def raw(rel: str, written: int = NOW) -> str:
    return f"{written}.{quote(rel, safe='')}"


def dec(value, **kw):
    return decode_return(value, PAGES, KEYS, now=kw.pop("now", NOW), **kw)


# --- encode / decode round trip ----------------------------------------------------------------


def test_round_trip_page_and_params():
    value = encode_return("scorecard", {"procedure": "TKA", "period": "2026Q3"}, now=NOW)
    assert dec(value) == ReturnTarget("scorecard", {"procedure": "TKA", "period": "2026Q3"}, NOW)


def test_round_trip_default_page_and_slashes():
    assert dec(encode_return("", {}, now=NOW)) == ReturnTarget("", {}, NOW)
    assert dec(encode_return("/scorecard/", None, now=NOW)) == ReturnTarget("scorecard", {}, NOW)


def test_round_trip_repeated_values_and_unicode():
    value = encode_return("scorecard", {"procedure": ["TKA", "THA"], "category": "Hüfte & Knie"}, now=NOW)
    target = dec(value)
    assert target.params == {"procedure": ["TKA", "THA"], "category": "Hüfte & Knie"}


def test_encoded_value_is_cookie_safe():
    value = encode_return("scorecard", {"procedure": 'a b;c,d"e=f&g'}, now=NOW)
    assert all(c.isalnum() or c in "%._~-" for c in value)
    assert dec(value) is None or dec(value).params.get("procedure") is None  # '"' is refused


def test_encode_uses_current_time_by_default(monkeypatch):
    monkeypatch.setattr(signin.time, "time", lambda: NOW + 0.7)
    assert encode_return("cases").startswith(f"{NOW}.")


# --- what is refused ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "garbage",
        "123",
        f"{NOW}",
        f"{NOW}.",
        f"x{NOW}.%2F",
        f"{NOW}.%2F;x",
        f"{NOW}./scorecard",  # not percent-encoded
        f"{NOW}.%ZZ",
        f"{NOW}.%C3%28",  # bad escapes / invalid UTF-8
    ],
)
def test_malformed_values_are_refused(value):
    assert dec(value) is None


@pytest.mark.parametrize(
    "rel",
    [
        "//evil.example/scorecard",
        "///evil.example",
        "https://evil.example/scorecard",
        "http:/scorecard",
        "scorecard",  # not rooted
        "/\\evil.example",
        "/scorecard\\x",
        "/scorecard#frag",
        "/../scorecard",
        "/scorecard/../admin",
        "/scorecard/cases",  # nested
        "/admin",  # unknown page
        "/Scorecard",  # url paths are case-sensitive
        "/score card",
        "/scorecard\n?procedure=TKA",
        "/%2e%2e/admin",
        "/" + "a" * 2000,
    ],
)
def test_unsafe_or_unknown_paths_are_refused(rel):
    assert dec(raw(rel)) is None


def test_unknown_keys_and_bad_values_are_dropped():
    rel = "/scorecard?procedure=TKA&physician=P007&role=admin&period=%3Cscript%3E&category=" + "x" * 500 + "&period="
    assert dec(raw(rel)) == ReturnTarget("scorecard", {"procedure": "TKA"}, NOW)


@pytest.mark.parametrize("bad", ["a\x00b", "a\nb", "<b>", 'a"b', "a'b", "a`b", "a\\b"])
def test_values_with_control_or_markup_chars_are_dropped(bad):
    assert dec(raw("/scorecard?procedure=" + quote(bad))).params == {}


def test_too_many_fields_refused():
    rel = "/scorecard?" + "&".join(f"procedure=P{i}" for i in range(100))
    assert dec(raw(rel)) is None


def test_age_limits():
    value = encode_return("scorecard", {"procedure": "TKA"}, now=NOW)
    assert dec(value, now=NOW + RETURN_MAX_AGE_S) is not None
    assert dec(value, now=NOW + RETURN_MAX_AGE_S + 1) is None
    assert dec(value, now=NOW - CLOCK_SKEW_S) is not None  # app clocks may differ a little
    assert dec(value, now=NOW - CLOCK_SKEW_S - 1) is None  # written "in the future"
    assert dec(value, now=NOW + 1000, max_age_s=2000) is not None


def test_allowed_pages_accept_slashes():
    assert decode_return(raw("/cases"), ["/cases/"], KEYS, now=NOW).page == "cases"


# --- sign-in time vs cookie time -----------------------------------------------------------------


def test_signed_in_after():
    assert signed_in_after({"auth_time": NOW + 5, "iat": NOW + 9}, NOW)
    assert signed_in_after({"auth_time": NOW - CLOCK_SKEW_S}, NOW)
    assert not signed_in_after({"auth_time": NOW - CLOCK_SKEW_S - 1}, NOW)
    assert not signed_in_after({"iat": NOW - 3600}, NOW)  # iat when no auth_time
    assert signed_in_after({}, NOW)  # nothing to compare: allowed
    assert signed_in_after({"auth_time": "yesterday", "iat": True}, NOW)


# --- the cookie script -------------------------------------------------------------------------


def test_cookie_script_sets_and_deletes():
    value = encode_return("scorecard", {"procedure": "TKA"}, now=NOW)
    js = cookie_script(value)
    assert f"scorecard_return={value}; path=/; max-age={RETURN_MAX_AGE_S}; samesite=lax" in js
    assert js.startswith("<script>") and js.endswith("</script>")
    assert "scorecard_return=; path=/; max-age=0; samesite=lax" in cookie_script(None)


@pytest.mark.parametrize("value", ['x";alert(1);"', "a b", "a;b", "</script>"])
def test_cookie_script_refuses_unsafe_values(value):
    with pytest.raises(ValueError):
        cookie_script(value)


# --- Streamlit-facing helpers with st.secrets / st.user replaced ---------------------------------


class FakeUser:
    def __init__(self, data):
        self._data = data

    def to_dict(self):
        return dict(self._data)


class FakeSecrets:
    def __init__(self, data, exists=True):
        self._data, self._exists = data, exists

    def load_if_toml_exists(self):
        return self._exists

    def get(self, key, default=None):
        if not self._exists:
            raise FileNotFoundError("no secrets")
        return self._data.get(key, default)


FULL_AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "0123456789abcdef",
    "client_id": "scorecard",
    "client_secret": "s3cret",
    "server_metadata_url": "https://idp.example/.well-known/openid-configuration",
}


@pytest.mark.parametrize(
    "data, exists, expected",
    [
        ({"auth": FULL_AUTH}, True, True),
        (
            {
                "auth": {
                    **{k: FULL_AUTH[k] for k in ("redirect_uri", "cookie_secret")},
                    "default": {k: FULL_AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")},
                }
            },
            True,
            True,
        ),
        ({}, True, False),
        ({}, False, False),
        ({"auth": "yes"}, True, False),
        ({"auth": {k: v for k, v in FULL_AUTH.items() if k != "cookie_secret"}}, True, False),
        ({"auth": {k: v for k, v in FULL_AUTH.items() if k != "client_secret"}}, True, False),
        ({"auth": {**FULL_AUTH, "redirect_uri": ""}}, True, False),
    ],
)
def test_auth_configured(monkeypatch, data, exists, expected):
    monkeypatch.setattr(signin.st, "secrets", FakeSecrets(data, exists))
    assert signin.auth_configured() is expected


def test_auth_configured_never_raises(monkeypatch):
    class Broken:
        def load_if_toml_exists(self):
            raise RuntimeError("boom")

    monkeypatch.setattr(signin.st, "secrets", Broken())
    assert signin.auth_configured() is False


@pytest.mark.parametrize(
    "user, expected",
    [
        ({"is_logged_in": False}, None),
        ({}, None),
        ({"is_logged_in": True}, None),  # no email claim
        ({"is_logged_in": True, "email": "  "}, None),
        (
            {"is_logged_in": True, "email": "Dr.Okafor@Example.org", "email_verified": True, "name": "Ada Okafor"},
            signin.Identity("Dr.Okafor@Example.org", True, "Ada Okafor"),
        ),
        (
            {"is_logged_in": True, "email": "a@b.org", "email_verified": "true"},
            signin.Identity("a@b.org", True, "a@b.org"),
        ),
        (
            {"is_logged_in": True, "email": "a@b.org", "email_verified": "false", "name": "A"},
            signin.Identity("a@b.org", False, "A"),
        ),
        ({"is_logged_in": True, "email": "a@b.org", "name": "A"}, signin.Identity("a@b.org", False, "A")),
        ({"is_logged_in": "true", "email": "a@b.org"}, None),  # only a real True counts
    ],
)
def test_signed_in_identity(monkeypatch, user, expected):
    monkeypatch.setattr(signin.st, "user", FakeUser(user))
    assert signin.signed_in_identity() == expected


def test_page_lookup_knows_the_default_page_by_its_own_path():
    class P:
        def __init__(self, own, default=False):
            self._url_path, self._default = own, default

        @property
        def url_path(self):
            return "" if self._default else self._url_path

    card, data = P("scorecard", default=True), P("data")
    lookup = signin._page_lookup({p.url_path: p for p in (card, data)})
    assert lookup == {"": card, "scorecard": card, "data": data}
