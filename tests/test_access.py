"""Access rules (README, *Access*): roles, subjects, blinding — pure, without Streamlit."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from core import access
from core.access import Viewer

ROSTER = pd.DataFrame(
    {
        "email": ["p01@fixture.org", "p03@fixture.org", "supply@fixture.org", "admin@fixture.org", "odd@fixture.org"],
        "role": ["physician", "champion", "supply", "admin", "janitor"],
        "physician_id": ["P01", "P03", None, None, None],
        "service_line": [None, "Orthopaedics", None, None, None],
        "physician_name": ["Dr. Ada One", "Dr. Cy Three", None, None, None],
    }
)
VIEWERS = {
    "physician": Viewer("p01@fixture.org", "physician", "P01", None, "Dr. Ada One"),
    "champion": Viewer("p03@fixture.org", "champion", "P03", "Orthopaedics", "Dr. Cy Three"),
    "supply": Viewer("supply@fixture.org", "supply"),
    "admin": Viewer("admin@fixture.org", "admin"),
}


def test_roster_match_is_case_insensitive_and_unknowns_are_refused():
    assert access.viewer_from_roster("P01@Fixture.ORG ", ROSTER) == VIEWERS["physician"]
    assert access.viewer_from_roster("stranger@fixture.org", ROSTER) is None
    assert access.viewer_from_roster("odd@fixture.org", ROSTER) is None  # unknown role
    assert access.viewer_from_roster(None, ROSTER) is None


@pytest.mark.parametrize("role", list(VIEWERS))
def test_pages_by_role(role):
    pages = access.allowed_pages(VIEWERS[role])
    assert "definitions" in pages
    assert ("audit" in pages) == (role == "admin")
    assert access.allowed_pages(None) == ()


@pytest.mark.parametrize("role", ["physician", "champion"])
def test_physicians_always_see_their_own_scorecard(role):
    v = VIEWERS[role]
    decision = access.scorecard_subject(v, "P02")
    assert decision.physician_id == v.physician_id and decision.refused
    assert access.scorecard_subject(v, None) == access.SubjectDecision(v.physician_id, False)
    assert not access.scorecard_subject(v, v.physician_id).refused


@pytest.mark.parametrize("role", ["supply", "admin"])
def test_identified_roles_choose_any_physician(role):
    assert access.scorecard_subject(VIEWERS[role], "P02") == access.SubjectDecision("P02", False)


def test_service_lines():
    assert access.may_view_service_line(VIEWERS["champion"], "Orthopaedics")
    assert not access.may_view_service_line(VIEWERS["champion"], "Cardiovascular")
    assert not access.may_view_service_line(VIEWERS["physician"], "Orthopaedics")
    assert access.may_view_service_line(VIEWERS["supply"], "Cardiovascular")


def test_letters_are_stable_per_view_and_not_derived_from_ids():
    ids = [f"P{i:02d}" for i in range(1, 9)]
    a = access.blind_letters(ids, "TKA|last12", b"secret-one")
    assert a == access.blind_letters(list(reversed(ids)), "TKA|last12", b"secret-one")
    assert sorted(a.values()) == [f"Surgeon {c}" for c in "ABCDEFGH"]
    assert a != access.blind_letters(ids, "TKA|last12", b"another-secret")
    assert a != access.blind_letters(ids, "THA|last12", b"secret-one")
    assert [a[i] for i in ids] != [f"Surgeon {c}" for c in "ABCDEFGH"]  # not in id order


def test_letters_beyond_z():
    assert access.letter_for(0) == "A" and access.letter_for(25) == "Z" and access.letter_for(26) == "AA"
    # At a health system's hundreds of peers: every label distinct, none a Roman numeral ("Surgeon IV").
    labels = [access.letter_for(i) for i in range(3000)]
    assert len(set(labels)) == 3000
    assert not [x for x in labels if len(x) > 1 and set(x) <= set("IVXLCDM")]
    assert {"IV", "XL", "CC", "MMX"}.isdisjoint(labels) and "IW" in labels


FRAME = pd.DataFrame(
    {
        "physician_id": ["P01", "P02", "P03", "P05"],
        "physician_name": ["A", "B", "C", "E"],
        "case_count": [3, 27, 120, 2],
        "median_case_cost_usd": [2724, 1962, 2445, 2414],
    }
)


def test_blinded_peers_have_no_names_ids_or_exact_volumes():
    out = access.present_peers(FRAME, VIEWERS["physician"], view_key="k", secret=b"s", min_peers=3)
    assert "physician_id" not in out and "physician_name" not in out
    assert out.loc[out["is_you"], "case_count"].tolist() == [3]
    assert out.loc[~out["is_you"], "case_count"].isna().all()
    assert set(out["volume_band"]) == {"under 10", "25–49", "100–199"}
    text = out.to_csv()
    assert not any(s in text for s in ("P02", "P03", "P05", ",B,", ",C,"))


def test_nothing_for_groups_below_min_peers():
    out = access.present_peers(FRAME, VIEWERS["physician"], view_key="k", secret=b"s", min_peers=5)
    assert out["is_you"].all() and len(out) == 1


def test_identified_roles_see_names():
    out = access.present_peers(FRAME, VIEWERS["supply"], view_key="k", secret=b"s", min_peers=5, you_id=None)
    assert out["label"].tolist() == ["A", "B", "C", "E"] and "physician_id" in out


# --- issue 12: a determined insider ----------------------------------------------------------------


def test_roster_emails_are_normalised_and_an_ambiguous_match_is_refused():
    # Finding 3: case, spacing and Unicode look-alikes (the Kelvin sign "\u212a" folds to "k").
    roster = pd.DataFrame(
        {
            "email": ["amara.okafor@x.org", "k.lee@x.org"],
            "role": ["physician", "physician"],
            "physician_id": ["P1", "P2"],
            "service_line": [None, None],
            "physician_name": ["A", "K"],
        }
    )
    assert access.viewer_from_roster("  AMARA.Okafor@X.ORG\t", roster).physician_id == "P1"
    assert access.viewer_from_roster("\u212a.Lee@x.org", roster).physician_id == "P2"
    assert access.normalise_email("\uff21mara.okafor@x.org") == "amara.okafor@x.org"  # fullwidth A
    # A stray row that differs only in case must not decide the role: sign-in is refused outright.
    stray = pd.concat(
        [
            roster,
            pd.DataFrame(
                {
                    "email": ["Amara.Okafor@x.org "],
                    "role": ["admin"],
                    "physician_id": [None],
                    "service_line": [None],
                    "physician_name": [None],
                }
            ),
        ],
        ignore_index=True,
    )
    assert access.viewer_from_roster("amara.okafor@x.org", stray) is None
    assert access.roster_refusal("amara.okafor@x.org", stray) == "matches 2 roster entries"
    assert access.roster_refusal("nobody@x.org", stray) == "not on the roster"
    assert access.roster_refusal("k.lee@x.org", stray) is None
    assert access.viewer_from_roster("", stray) is None and access.viewer_from_roster("   ", stray) is None


@pytest.mark.parametrize("duplicate", ["P01@Fixture.org ", "p01@fixture.org", "\uff5001@fixture.org"])
def test_a_roster_with_a_duplicate_email_is_a_build_error(tmp_path, duplicate):
    from fixture_source import TABLES, write_fixture_source

    from core.build.pipeline import build

    users = TABLES["users"] + f"{duplicate},admin,,\n"
    source = write_fixture_source(tmp_path / "src", {"users.csv": users})
    result = build(source, tmp_path / "db.duckdb")
    assert not result.ok and not (tmp_path / "db.duckdb").exists()
    rules = {g.rule: g for g in result.errors}
    assert "users.email_duplicate" in rules
    assert rules["users.email_duplicate"].examples[0].row == users.count("\n") - 1  # the stray row, not the first


def test_only_the_regenerated_demo_is_demo(tmp_path):
    import json
    import time

    from core.build import provenance
    from core.tools.demo import write_demo_source

    source = tmp_path / "demo"
    write_demo_source(source, cases=1_000, seed=9)
    assert provenance.source_kind(source) == "demo"
    # Finding 4: edit one roster row (a physician made admin) and keep every claim: real.
    users = source / "users.csv"
    original = users.read_bytes()
    users.write_bytes(original.replace(b",physician,", b",admin,", 1))
    assert provenance.source_kind(source) == "real"
    users.write_bytes(original)
    # truth.json claiming other values, an extra table, or no truth.json at all: real.
    truth = json.loads((source / "truth.json").read_text())
    (source / "truth.json").write_text(json.dumps({**truth, "seed": 10}))
    assert provenance.source_kind(source) == "real"
    (source / "truth.json").write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n")
    assert provenance.source_kind(source) == "demo"
    (source / "extra.csv").write_text("a\n1\n")
    assert provenance.source_kind(source) == "real"
    (source / "extra.csv").unlink()
    (source / "truth.json").write_text(json.dumps({**truth, "cases": 10**9}))
    started = time.monotonic()
    assert provenance.source_kind(source) == "real" and time.monotonic() - started < 1  # not even generated
    (source / "truth.json").unlink()
    assert provenance.source_kind(source) == "real"


def test_the_demo_check_is_fast_enough_at_the_demo_size(tmp_path):
    import time

    from core.build import provenance
    from core.tools.demo import write_demo_source

    write_demo_source(tmp_path, cases=20_000, seed=42, fmt="parquet")
    started = time.monotonic()
    assert provenance.source_kind(tmp_path) == "demo"
    assert time.monotonic() - started < 20  # about 2 s on the development machine


HOSTILE_TEXT = [
    "[Reset your password](https://evil.example/login)",
    "ask ZZ@evil.example",
    "HTTP://EVIL.EXAMPLE",
    "![x](https://tracker.example/p.gif)",
    "<img src=x onerror=alert(1)>",
    "**bold** _it_ `code` ~~s~~",
    ":red[alarm] :material/lock:",
    "$x^2$ and $$y$$",
    "# Heading",
    "> quote",
    "1. list",
    "https://evil.example/raw",
    "www.evil.example",
    "a\u202egnp.exe",
    "line\nbreak\r\n- item",
    "&lt;b&gt; &amp;",
    '=HYPERLINK("x")',
]


@pytest.mark.parametrize("value", HOSTILE_TEXT)
def test_plain_text_is_inert_markdown(value):
    from core import text

    shown = text.plain(value)
    # Every Markdown character is escaped (preceded by a backslash) and no HTML survives.
    for i, c in enumerate(shown):
        if c in "[]()!*_`~:$#<>|":
            assert c not in "<>" and i > 0 and shown[i - 1] == "\\", (shown, i)
    assert "\n" not in shown and "\u202e" not in shown
    # GFM links bare addresses after escapes are resolved: what is left must not match its patterns.
    seen = re.sub(r"\\(.)", r"\1", shown)
    assert not re.search(r"(?i)\b(https?://|www\.)|\w@\w", seen), seen


def test_one_csv_writer_neutralises_formulas():
    from core.output import exports

    frame = pd.DataFrame(
        {
            "reply": ['=HYPERLINK("https://evil","x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "fine", None],
            "gap_usd": [-12.5, 3.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
            "=cmd": ["a", "b", "c", "d", "e", "f", "g", "h"],
        }
    )
    out = exports.csv_bytes(frame).decode("utf-8-sig")
    import csv
    import io

    header, *rows = list(csv.reader(io.StringIO(out, newline="")))
    assert header == ["reply", "gap_usd", "'=cmd"]
    replies = [r[0] for r in rows]
    assert all(v.startswith("'") for v in replies[:6]) and replies[6:] == ["fine", ""]
    assert rows[0][1] == "-12.5"  # numbers stay numbers


@pytest.mark.parametrize(
    "token",
    [
        "0000",
        "0000Q1",
        "9999Q4",
        "9999",
        "²",
        "２０２６",
        "2026Q٣",
        "2026Q5",
        "2026-02-30..2026-03-01",
        "0000-01-01..9999-12-31",
        "9" * 5000,
        "2026-01-01..2025-01-01",
        "last12 ",
        " 2026Q1",
        "2026q1",
        "' OR 1=1 --",
        "[x](http://e)",
        "\x00",
        "2026-1-1..2026-2-2",
        "\u0662\u0660\u0662\u0666",
    ],
)
@pytest.mark.parametrize("offered_only", [True, False])
def test_period_tokens_never_raise_and_stay_within_the_data(token, offered_only):
    from datetime import date

    from core.periods import parse_period

    start, end, default_start = date(2024, 10, 1), date(2026, 9, 30), date(2025, 10, 1)
    period, problem = parse_period(token, start, end, default_start, offered_only=offered_only)
    assert period.end >= start and period.start <= end
    if token.strip() not in ("last12", "2026Q1"):
        assert period.token == "last12" and problem and len(problem) < 400
