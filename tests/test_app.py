"""AppTest: every page for every role, sign-in states, demo mode, refusals (README, *Access* and *Sign-in*)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import access, state

APP = str(Path(__file__).resolve().parent.parent / "app.py")
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "x" * 32,
    "client_id": "scorecard",
    "client_secret": "secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
EMAILS = {
    "physician": "p01@fixture.org",
    "champion": "P03@fixture.org",
    "supply": "supply@fixture.org",
    "admin": "admin@fixture.org",
}
# Every page the app routes (core.access.PAGES), each a file of the same name in pages/.
PAGE_FILES = {key: f"pages/{key}.py" for key in access.PAGES}


def app(email: str | None, *, verified: bool = True, auth: bool = True, params: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if auth:
        at.secrets["auth"] = AUTH
    at.user = {
        "is_logged_in": email is not None,
        **({"email": email, "email_verified": verified, "name": "N"} if email else {}),
    }
    for k, v in (params or {}).items():
        at.query_params[k] = v
    return at


def texts(at: AppTest) -> str:
    parts = [
        e.value
        for kind in ("title", "markdown", "caption", "info", "warning", "error", "success", "metric")
        for e in getattr(at, kind)
        if isinstance(getattr(e, "value", None), str)
    ]
    parts += [str(e.label) for e in at.metric]
    parts += [df.value.to_csv() for df in at.dataframe]
    return "\n".join(parts)


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


@pytest.mark.parametrize("role", list(EMAILS))
def test_default_page_renders_for_each_role(fixture_db, role):
    at = app(EMAILS[role]).run()
    assert_clean(at)
    assert "Scorecard" in texts(at) or at.title


@pytest.mark.parametrize("role", list(EMAILS))
@pytest.mark.parametrize("page", list(PAGE_FILES))
def test_every_page_for_every_role(fixture_db, role, page):
    viewer = access.viewer_from_roster(EMAILS[role], __import__("core.scorecard").scorecard.roster())
    allowed = page in access.allowed_pages(viewer)
    at = app(EMAILS[role]).run()
    if not allowed:
        # Not in the navigation: switching there is impossible, so the URL cannot reach it either.
        with pytest.raises(Exception):
            at.switch_page(PAGE_FILES[page]).run()
        return
    at.switch_page(PAGE_FILES[page]).run()
    assert_clean(at)
    assert at.title or at.markdown, f"{page} drew nothing for {role}"
    assert_valid_charts(at)


def assert_valid_charts(at: AppTest) -> None:
    """Every chart drawn is valid Vega-Lite: the app skips Altair's validation for speed (core/ui/render.py,
    README Performance), so the tests validate each spec the pages draw against the schema instead."""
    import json

    from altair.utils.schemapi import validate_jsonschema
    from altair.vegalite.v6.schema.core import load_schema

    schema = load_schema()
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        spec.pop("width", None) if spec.get("width") == "container" else None
        validate_jsonschema(spec, schema)


def test_physician_scorecard_shows_own_figures_and_blinded_peers(fixture_db):
    at = app(EMAILS["physician"]).run()
    assert_clean(at)
    body = texts(at)
    assert "My scorecard" in body and "294 more than your peers' median" in body
    for other in ("Dr. Ben Two", "Dr. Cy Three", "Dr. Ed Five", "P02", "P03", "P05"):
        assert other not in body


def test_physician_editing_the_link_sees_only_their_own_and_is_audited(fixture_db):
    at = app(EMAILS["physician"], params={"physician": "P02"}).run()
    assert_clean(at)
    body = texts(at)
    assert "Dr. Ben Two" not in body and "1,962" not in body
    assert "data you do not have access to" in body
    refused = state.audit_entries(action="refused", email="p01@fixture.org")
    assert len(refused) and "P02" in refused["params"].iloc[0]


def test_supply_sees_physicians_identified(fixture_db):
    at = app(EMAILS["supply"], params={"physician": "P02"}).run()
    assert_clean(at)
    assert "Dr. Ben Two" in texts(at)


def test_signed_out_sees_sign_in(fixture_db):
    at = app(None).run()
    assert_clean(at)
    assert any(b.label == "Sign in" for b in at.button)
    assert "Dr." not in texts(at)


@pytest.mark.parametrize("email,verified", [("stranger@elsewhere.org", True), ("p01@fixture.org", False)])
def test_no_access_page(fixture_db, email, verified):
    at = app(email, verified=verified).run()
    assert_clean(at)
    body = texts(at)
    assert "No access" in body and "contact your Scorecard administrator" in body
    assert "$" not in body


def test_real_data_without_auth_shows_setup_and_no_data(fixture_db):
    at = app(None, auth=False).run()
    assert_clean(at)
    body = texts(at)
    assert "Sign-in is not configured" in body and "$" not in body


def test_demo_data_without_auth_offers_personas(tmp_path, monkeypatch):
    from core.build.pipeline import build
    from core.tools.demo import write_demo_source

    # The generated demo itself: the build regenerates it from truth.json's seed and size and it matches.
    write_demo_source(tmp_path / "demo", cases=1_000, seed=5)
    assert build(tmp_path / "demo", tmp_path / "demo.duckdb").ok
    monkeypatch.setenv("SCORECARD_DB", str(tmp_path / "demo.duckdb"))
    at = app(None, auth=False).run()
    assert_clean(at)
    assert at.sidebar.selectbox and "Demo mode" in at.sidebar.warning[0].value
    from core import db

    roster = db.fetch("mart_user", path=tmp_path / "demo.duckdb")
    supply = roster.loc[roster["role"] == "supply", "email"].iloc[0]
    at.sidebar.selectbox(key="demo_persona").set_value(supply).run()
    assert_clean(at)


def test_a_truth_file_claiming_the_demo_does_not_open_demo_mode(tmp_path, monkeypatch):
    from fixture_source import write_fixture_source

    from core.build.pipeline import build

    # Finding 4 of issue 12: real data with a truth.json claiming the generator was served without sign-in.
    source = write_fixture_source(tmp_path / "fake")
    (source / "truth.json").write_text(
        json.dumps({"generator": "scorecard-demo", "seed": 42, "cases": 1000, "format": "csv"})
    )
    assert build(source, tmp_path / "fake.duckdb").ok
    monkeypatch.setenv("SCORECARD_DB", str(tmp_path / "fake.duckdb"))
    at = app(None, auth=False).run()
    assert_clean(at)
    assert "Sign-in is not configured" in texts(at) and not at.sidebar.selectbox


def test_missing_database_is_explained(tmp_path, monkeypatch):
    monkeypatch.setenv("SCORECARD_DB", str(tmp_path / "absent.duckdb"))
    at = app(EMAILS["admin"]).run()
    assert_clean(at)
    assert "not set up yet" in texts(at)


def test_stale_link_parameters_fall_back_politely(fixture_db):
    at = app(EMAILS["physician"], params={"period": "1999Q1", "procedure": "XYZ"}).run()
    assert_clean(at)
    body = texts(at)
    assert "has no data" in body and "No XYZ cases" in body


@pytest.mark.parametrize("page", list(PAGE_FILES))
def test_a_page_run_without_app_py_draws_nothing(fixture_db, page):
    """Streamlit can run a pages/ file directly (legacy mode, a fresh server's first request)."""
    state.audit("someone@fixture.org", "admin", "view", "audit", {"secret": "x"})
    at = AppTest.from_file(str(Path(APP).parent / PAGE_FILES[page]), default_timeout=60).run()
    assert_clean(at)
    body = texts(at)
    assert "not signed in" in body
    assert "$" not in body and "someone@fixture.org" not in body and "Dr." not in body


def test_sign_in_is_audited_once_per_session(fixture_db):
    before = len(state.audit_entries(action="sign-in", email="p05@fixture.org"))
    at = app("p05@fixture.org").run()
    at.run()
    assert_clean(at)
    assert len(state.audit_entries(action="sign-in", email="p05@fixture.org")) == before + 1


@pytest.mark.parametrize(
    "email,params,expected",
    [
        # P04 has a single knee replacement: below min_cases (2), so no comparison.
        ("supply@fixture.org", {"physician": "P04"}, "at least 2 are needed for a fair comparison"),
        # P06 is the only cholecystectomy surgeon: below min_peers (3), so no peer figures at all.
        ("p06@fixture.org", {}, "no peer comparison is shown"),
        # Far too few events in the fixture to fit any risk model: unadjusted, labelled as such.
        ("p01@fixture.org", {}, "shown unadjusted"),
        # P01 operated only in the first quarter: an honest empty state for the second.
        ("p01@fixture.org", {"period": "2026Q2"}, "No cases in 2026 Q2"),
    ],
)
def test_honest_states(fixture_db, email, params, expected):
    at = app(email, params=params).run()
    if email.startswith("supply"):  # staff land on the category view: open the scorecard from there
        for k, v in params.items():
            at.query_params[k] = v
        at.switch_page("pages/scorecard.py").run()
    assert_clean(at)
    assert expected in texts(at).replace("\\$", "$")
