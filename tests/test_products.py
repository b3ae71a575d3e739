"""Preferred products and evidence: the Definitions page figures on the hand-computed fixture, evidence shown inert
however hostile the extract, and the products, evidence and supply pages per role (README, *Access*).

Fixture arithmetic (tests/fixture_source.py), P01's three TKA cases C01–C03 in the default period:
  Knee implant systems (preferred KNEE-A $1000): C01 KNEE-B 1×$1500, C02 KNEE-B 1×$1400 (price paid),
    C03 KNEE-A 1×$1000 → 3 units, 1 preferred; spend 3900, preferred 1000; saving 500 + 400 = 900.
  Gloves (preferred GLV-1 $2): C01 GLV-2 2×$3, C02 GLV-1 2×$2, C03 GLV-2 4×$3 (2 wasted)
    → 8 units, 2 preferred; spend 22, preferred 4; saving 2×1 + 4×1 = 6; waste 2×3 = 6.
  Sutures (no preferred item): C01 4×$10 (1 wasted), C02 2×$10 → no share; waste 10.
  Overall: units 11, preferred 3 → 27.27%; spend 3922, preferred 1004 → 25.60%; switch saving 906;
  waste 16 over 3 cases.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from fixture_source import TABLES, write_fixture_source
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from core import products, state
from core.access import Viewer
from core.build.pipeline import build
from core.periods import Period

ROOT = Path(__file__).resolve().parent.parent
VIEWERS = {
    "physician": Viewer("p01@fixture.org", "physician", "P01", None, "Dr. Ada One"),
    "champion": Viewer("p03@fixture.org", "champion", "P03", "Orthopaedics", "Dr. Cy Three"),
    "supply": Viewer("supply@fixture.org", "supply"),
    "admin": Viewer("admin@fixture.org", "admin"),
}
OTHERS_OF_P01 = ["P02", "P03", "P04", "P05", "P06", "Ben Two", "Cy Three", "Di Four", "Ed Five", "Flo Six"]
HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<div style="position:fixed" onclick="alert(1)">raw <b>HTML</b></div>',
    "[click](javascript:alert(1))",
    "[entity](java&#115;cript:alert(1))",
    "![pixel](https://tracker.example/p.gif)",
    "[ref]: javascript:alert(1)",
]


@pytest.fixture()
def period(fixture_db) -> Period:
    """The fixture's default period (12 months to 2026-06-30: every case)."""
    from core.scorecard import data_context

    return data_context().default_period()


def _page(name: str, role: str, params: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=60)
    at.session_state["_scorecard_viewer"] = VIEWERS[role]
    for key, value in (params or {}).items():
        at.query_params[key] = value
    return at.run()


def _texts(at: AppTest) -> list[str]:
    """Every piece of text the page sent: element protos (labels, options, bodies, table bytes) and tables."""
    out: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            out.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    out += [df.value.to_csv() for df in at.dataframe]
    return out


class _Tags(HTMLParser):
    """Collects the tags and attributes an HTML fragment really contains."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _assert_inert(markdown: str) -> None:
    """Rendered by a CommonMark renderer that even allows raw HTML, the text makes no live markup."""
    html = MarkdownIt("commonmark", {"html": True}).render(markdown)
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag not in ("script", "img", "iframe", "div", "b", "style"), (tag, html)
        assert not any(a.startswith("on") for a in attrs), (tag, attrs)
        scheme = re.match(r"\s*([a-z][a-z0-9+.\-]*):", (attrs.get("href") or "").lower())
        assert not scheme or scheme.group(1) in ("http", "https", "mailto"), attrs["href"]  # else relative
    assert "<script" not in markdown and "<img" not in markdown.lower()


# --- figures (the Definitions page) ---------------------------------------------------------------------------


def test_totals_match_hand_computation(period):
    t = products.my_totals("P01", period, [])
    assert t["units_count"] == 11 and t["preferred_units_count"] == 3
    assert t["preferred_use_pct"] == pytest.approx(27.2727, abs=1e-3)
    assert t["spend_usd"] == 3922 and t["preferred_spend_usd"] == 1004
    assert t["preferred_spend_pct"] == pytest.approx(25.5992, abs=1e-4)
    assert t["switch_saving_usd"] == 906
    assert t["waste_usd"] == pytest.approx(16) and t["case_count"] == 3
    sentence = products.totals_sentence(t)
    assert "27%" in sentence and "26% by spend" in sentence and "$906" in sentence and "$16" in sentence


def test_categories_without_preferred_item_are_never_zero(period):
    cats = products.my_categories("P01", period, []).set_index("category")
    assert list(cats.index[:2]) == ["Knee implant systems", "Gloves"]  # preferred categories, largest saving first
    knee, gloves, sutures = cats.loc["Knee implant systems"], cats.loc["Gloves"], cats.loc["Sutures"]
    assert knee["preferred_use_pct"] == pytest.approx(100 / 3) and knee["switch_saving_usd"] == 900
    assert knee["preferred_spend_pct"] == pytest.approx(100000 / 3900)
    assert gloves["preferred_use_pct"] == 25 and gloves["switch_saving_usd"] == 6 and gloves["waste_usd"] == 6
    assert not sutures["has_preferred_flag"] and pd.isna(sutures["preferred_use_pct"])
    assert sutures["waste_usd"] == 10 and not sutures["has_evidence_flag"]
    assert knee["preferred_item"] == "Knee system A" and knee["evidence_id"] == "EV1"
    from core.ui.products import categories_table

    table = categories_table(cats.reset_index()).set_index("Category")
    assert table.loc["Sutures", "Your preferred use (units)"] == products.NO_PREFERRED
    assert table.loc["Sutures", "By spend"] == products.NO_PREFERRED
    assert table.loc["Knee implant systems", "Your preferred use (units)"] == "33%"
    assert pd.isna(table.loc["Sutures", "Evidence"])
    assert table.loc["Gloves", "Evidence"] == "evidence?category=Gloves"


def test_peer_typical_share_is_a_median_shown_only_with_enough_peers(period):
    cats = products.my_categories("P01", period, []).set_index("category")
    # Knee: eligible (≥2 cases using it) P01 33%, P02 100%, P03 50%, P05 50% → median 50% over 4 ≥ min_peers 3.
    assert cats.loc["Knee implant systems", "peer_median_preferred_use_pct"] == 50
    assert cats.loc["Knee implant systems", "peer_median_preferred_spend_pct"] == 40
    assert cats.loc["Knee implant systems", "peer_physician_count"] == 4
    # Gloves: only P01 has 2+ cases using them, so no peer figure at all.
    assert not cats.loc["Gloves", "peers_shown_flag"] and pd.isna(cats.loc["Gloves", "peer_median_preferred_use_pct"])


def test_opportunities_largest_first_in_plain_words(period):
    top = products.opportunities(products.my_categories("P01", period, []))
    assert [(o["category"], o["kind"], o["value_usd"]) for o in top] == [
        ("Knee implant systems", "switch", 900),
        ("Sutures", "waste", 10),
        ("Gloves", "switch", 6),
    ]
    assert "$900" in top[0]["text"] and "1 of your 3 units was preferred" in top[0]["text"]
    assert "peers typically 50%" in top[0]["text"]
    assert "too few peers" in top[2]["text"]


def test_period_and_accepted_flags_scope_the_figures(fixture_db):
    q1 = Period(date(2026, 1, 1), date(2026, 3, 31), "2026Q1", "2026 Q1")
    assert products.my_totals("P01", q1, [])["switch_saving_usd"] == 906
    without_c01 = products.my_totals("P01", q1, ["C01"])
    assert without_c01["switch_saving_usd"] == 400 + 4 and without_c01["case_count"] == 2
    q3 = Period(date(2026, 7, 1), date(2026, 9, 30), "2026Q3", "2026 Q3")
    assert products.my_categories("P01", q3, []).empty


def test_supply_ranking_and_category_detail(period):
    by_spend = products.supply_ranking(period, [], "non_preferred_spend_usd")
    assert by_spend["category"].tolist() == ["Knee implant systems", "Sutures", "Gloves"]
    knee = by_spend.set_index("category").loc["Knee implant systems"]
    assert knee["non_preferred_spend_usd"] == 5900 and knee["switch_saving_usd"] == 1900  # 500+400+500+500
    assert knee["manufacturer_count"] == 2
    by_saving = products.supply_ranking(period, [], "switch_saving_usd")
    assert by_saving["category"].tolist() == ["Knee implant systems", "Gloves", "Sutures"]
    assert products.supply_totals(period, []) == {
        "non_preferred_spend_usd": 5900 + 190 + 18,
        "switch_saving_usd": 1906,
        "waste_usd": 16,
        "no_preferred_count": 1,
    }
    items = products.category_items_in_use("Knee implant systems", period, []).set_index("item_id")
    assert items.loc["KNEE-B", "units_count"] == 4 and items.loc["KNEE-B", "spend_usd"] == 5900
    assert items.loc["KNEE-B", "min_paid_unit_cost_usd"] == 1400 and items.loc["KNEE-B", "physician_count"] == 3
    assert items.loc["KNEE-A", "spend_share_pct"] == pytest.approx(600000 / 11900)


def test_per_physician_use_is_identified_only_for_supply(fixture_db, period):
    secret = b"k" * 32
    who = products.category_physicians(VIEWERS["supply"], "Knee implant systems", period, secret, [])
    p01 = who.set_index("label").loc["Dr. Ada One"]
    assert p01["switch_saving_usd"] == 900 and p01["items_used"] == "Knee system B ×2, Knee system A ×1"
    blinded = products.category_physicians(VIEWERS["physician"], "Knee implant systems", period, secret, [])
    assert "physician_id" not in blinded and "physician_name" not in blinded
    assert not blinded["label"].str.contains("Dr.").any()


def test_trend_by_quarter_and_excluded_cases(fixture_db):
    trend = products.category_trend("Knee implant systems").set_index("surgery_quarter")
    assert trend.loc["2026Q1", "spend_usd"] == 7400 and trend.loc["2026Q2", "spend_usd"] == 4500
    assert trend.loc["2026Q1", "preferred_use_pct"] == 50 and trend.loc["2026Q2", "preferred_use_pct"] == 75
    assert trend.loc["2026Q1", "manufacturer_count"] == 2
    assert (
        products.category_trend("Knee implant systems", ["C01"]).set_index("surgery_quarter").loc["2026Q1", "spend_usd"]
        == 5900
    )


# --- the evidence library ---------------------------------------------------------------------------


def test_library_filters_grades_and_overdue(fixture_db):
    assert products.evidence_filters() == {
        "categories": ["Gloves", "Knee implant systems"],
        "service_lines": ["General Surgery", "Orthopaedics"],
        "grades": ["high", "moderate"],
    }
    rows = products.evidence_library(today=date(2026, 6, 1)).set_index("evidence_id")
    assert rows.loc["EV2", "overdue_flag"] and not rows.loc["EV1", "overdue_flag"]
    assert rows.loc["EV1", "grade_label"] == "⊕⊕⊕◯ Moderate"
    assert products.evidence_library(grade="High")["evidence_id"].tolist() == ["EV2"]
    assert products.evidence_library(service_line="General Surgery")["evidence_id"].tolist() == ["EV2"]
    assert products.evidence_library(query="REGISTRY")["evidence_id"].tolist() == ["EV1"]
    assert products.evidence_library(category="Gloves")["evidence_id"].tolist() == ["EV2"]
    assert [products.grade_label(g) for g in products.GRADES] == [
        "⊕⊕⊕⊕ High",
        "⊕⊕⊕◯ Moderate",
        "⊕⊕◯◯ Low",
        "⊕◯◯◯ Very low",
    ]
    assert products.grade_label(None) == "Not graded"


def test_library_items_prices_and_units_by_role(fixture_db):
    supply = products.library_items(VIEWERS["supply"], ["Knee implant systems"])
    assert supply["item_id"].tolist() == ["KNEE-A", "KNEE-B"]  # the preferred item first
    b = supply.set_index("item_id").loc["KNEE-B"]
    assert (b["min_paid_unit_cost_usd"], b["max_paid_unit_cost_usd"], b["units_count"]) == (1400, 1500, 4)
    assert "units_count" not in products.library_items(VIEWERS["physician"], ["Knee implant systems"])


def test_safe_markdown_keeps_formatting_and_kills_html():
    for text in HOSTILE:
        _assert_inert(products.safe_markdown(text))
        _assert_inert(products.plain(text))
    html = MarkdownIt("commonmark", {"html": True}).render(
        products.safe_markdown("**bold** and [a link](https://example.org)\n\n- one\n- two")
    )
    assert "<strong>bold</strong>" in html and '<a href="https://example.org">' in html and "<li>one</li>" in html
    shown = MarkdownIt("commonmark", {"html": True}).render(products.safe_markdown(HOSTILE[0]))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown  # visible as text, not run
    assert products.plain("**not bold** <b>") == r"\*\*not bold\*\* &lt;b&gt;"


def test_sources_become_links_and_only_http():
    md = products.sources_markdown(
        "Registry report 2024. https://example.org/registry; Expert view; "
        "Bad javascript:alert(1); <script>x</script> https://ok.example/a(b)"
    )
    _assert_inert(md)
    assert "[example\\.org/registry](https://example.org/registry)" in md
    assert "- Expert view" in md and "javascript:alert" not in md.split("](")[-1]
    assert products.source_links("A https://a.example/x.") == [("A", "https://a.example/x")]


@pytest.fixture()
def hostile_db(tmp_path, monkeypatch) -> Path:
    """The fixture with hostile evidence text (summary, title, outcomes, sources, reviewer), built and served."""
    header, *rows = list(csv.reader(io.StringIO(TABLES["evidence"])))
    rows[0] = [
        "EV1",
        "Knee implant systems",
        "KNEE-A",
        "<script>alert(2)</script>Title",
        " ".join(HOSTILE) + "\n\n" + "\n".join(HOSTILE),
        "moderate",
        "<img src=x onerror=alert(3)>",
        "<script>alert(4)</script> https://example.org/x; javascript:alert(5)",
        "2026-01-01",
        "<b onmouseover=alert(6)>VAC</b>",
        "2027-01-01",
    ]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    source = write_fixture_source(tmp_path / "src", {"evidence.csv": out.getvalue()})
    target = tmp_path / "hostile.duckdb"
    result = build(source, target)
    assert result.ok, [g.render() for g in result.problems]
    monkeypatch.setenv("SCORECARD_DB", str(target))
    monkeypatch.setenv("SCORECARD_STATE", str(tmp_path / "state.sqlite"))
    return target


def test_hostile_evidence_is_shown_inert(hostile_db):
    row = products.evidence_library(category="Knee implant systems").iloc[0]
    assert "<script>" in row["summary_md"]  # the extract really carries it …
    _assert_inert(products.safe_markdown(row["summary_md"]))  # … and the render helper defuses it
    for role in ("physician", "supply"):
        at = _page("evidence", role, {"category": "Knee implant systems"})
        assert not at.exception
        bodies = [m.value for m in at.markdown] + [c.value for c in at.caption] + [e.label for e in at.expander]
        assert any("alert(1)" in b for b in bodies)  # the hostile text is there, as text
        for body in bodies:
            _assert_inert(body)
        for text in _texts(at):
            assert "<script" not in text and "<img" not in text and "<b " not in text


# --- pages per role ------------------------------------------------------------------------------------


def test_products_page_for_the_physician(fixture_db):
    at = _page("products", "physician")
    assert not at.exception and at.title[0].value == "My products"
    body = "\n".join(m.value for m in at.markdown)
    assert "27%" in body and "26% by spend" in body and "$906" in body and "$16" in body
    assert body.index("Knee implant systems") < body.index("Sutures") < body.index("**Gloves**")
    table = at.dataframe[0].value.set_index("Category")
    assert table.loc["Sutures", "Your preferred use (units)"] == products.NO_PREFERRED
    assert table.loc["Knee implant systems", "Peers typically"] == "50%"
    assert any("evidence?category=Knee+implant+systems" in m.value for m in at.markdown)
    for text in _texts(at):
        for other in OTHERS_OF_P01:
            assert other not in text, other


def test_products_page_refuses_another_physician_and_non_physicians(fixture_db):
    at = _page("products", "physician", {"physician": "P02"})
    assert at.warning and "recorded" in at.warning[0].value
    assert "27%" in "\n".join(m.value for m in at.markdown)  # still P01's own figures
    for text in _texts(at):
        assert "Ben Two" not in text
    refused = state.audit_entries(action="refused")
    assert ((refused["email"] == "p01@fixture.org") & (refused["page"] == "products")).any()
    champion = _page("products", "champion")
    assert not champion.exception and champion.title[0].value == "My products" and not champion.warning
    for role in ("supply", "admin"):
        at = _page("products", role)
        assert at.warning and not at.dataframe and not at.title


def test_evidence_page_every_role(fixture_db):
    for role in VIEWERS:
        at = _page("evidence", role)
        assert not at.exception, role
        assert len(at.expander) == 3  # the grade legend and two summaries
        labels = [e.label for e in at.expander]
        assert any("⊕⊕⊕◯ Moderate" in label for label in labels) and any("overdue" in label for label in labels)
        subheaders = [s.value for s in at.subheader]
        assert ("Feedback from physicians" in subheaders) == (role in ("supply", "admin"))
        assert ("My feedback" in subheaders) == (role in ("physician", "champion"))
        if role == "physician":
            for text in _texts(at):
                for other in OTHERS_OF_P01:
                    assert other not in text, other
    one = _page("evidence", "physician", {"category": "Gloves"})
    assert [e.label for e in one.expander][1:] == ["Gloves · ⊕⊕⊕⊕ High · review overdue"]
    assert one.selectbox[0].value == "Gloves"
    none = _page("evidence", "physician", {"category": "Sutures"})
    assert any("no evidence summary for Sutures" in i.value for i in none.info)


def test_feedback_round_trip(fixture_db, tmp_path, monkeypatch):
    monkeypatch.setenv("SCORECARD_STATE", str(tmp_path / "state.sqlite"))
    at = _page("evidence", "physician", {"category": "Gloves"})
    at.radio(key="fb_kind_EV2").set_value("review request")
    at.text_area(key="fb_message_EV2").input("Our perforation data differ; please review.")
    at.button(key="fb_send_EV2").click().run()
    assert not at.exception and at.success
    sent = state.feedback(email="p01@fixture.org")
    assert sent[["evidence_id", "kind", "status"]].values.tolist() == [["EV2", "review request", "new"]]
    assert at.dataframe[-1].value["Status"].tolist() == ["new"]  # My feedback

    desk = _page("evidence", "supply")
    assert "p01@fixture.org" in desk.dataframe[-1].value["From"].tolist()
    desk.selectbox(key="fb_status").set_value("in review")
    desk.text_area(key="fb_reply").input("On the agenda for March.")
    desk.button(key="fb_save").click().run()
    assert not desk.exception and desk.success
    assert state.feedback(email="p01@fixture.org")["status"].tolist() == ["in review"]

    back = _page("evidence", "physician", {"category": "Gloves"})
    assert back.dataframe[-1].value["Status"].tolist() == ["in review"]
    assert any("in review" in c.value and "March" in c.value for c in back.caption)
    other = _page("evidence", "champion")
    assert any("not commented" in i.value for i in other.info)  # nothing of P01's reaches P03
    assert not any("perforation data" in t for t in _texts(other))
    actions = state.audit_entries()["action"].tolist()
    assert "feedback" in actions and "feedback status" in actions


def test_supply_page_for_supply_and_admin(fixture_db):
    for role in ("supply", "admin"):
        at = _page("supply", role, {"category": "Knee implant systems"})
        assert not at.exception, role
        ranking = at.dataframe[0].value
        assert ranking["category"].tolist() == ["Knee implant systems", "Sutures", "Gloves"]
        assert ranking.set_index("category").loc["Sutures", "preferred_use"] == products.NO_PREFERRED
        people = at.dataframe[2].value.set_index("label")
        assert people.loc["Dr. Ada One", "switch_saving_usd"] == 900  # identified for these roles
        assert at.dataframe[1].value.set_index("item_description").loc["Knee system B", "units_count"] == 4
        assert [m.value for m in at.metric][:2] == ["$6,108", "$1,906"]
        assert at.header[0].value == "Knee implant systems"
    gloves = _page("supply", "supply", {"category": "Gloves"})
    assert gloves.selectbox(key="supply_category").value == "Gloves" and gloves.header[0].value == "Gloves"


def test_supply_page_refuses_physicians_and_champions(fixture_db):
    for role in ("physician", "champion"):
        at = _page("supply", role, {"category": "Knee implant systems"})
        assert at.warning and not at.dataframe and not at.title
        for text in _texts(at):
            for name in ("Ada One", "Ben Two", "Cy Three", "Di Four", "Ed Five"):
                assert name not in text
    refused = state.audit_entries(action="refused")
    assert ((refused["page"] == "supply") & (refused["role"] == "champion")).any()


def test_scorecard_section_one_liner(fixture_db):
    def script():
        from core import ui
        from core.ui import products as products_ui

        products_ui.products_section("P01", ui.context().default_period(), ui.excluded())

    at = AppTest.from_function(script, default_timeout=60)
    at.session_state["_scorecard_viewer"] = VIEWERS["physician"]
    at.run()
    assert not at.exception
    assert at.subheader[0].value == "Preferred products"
    assert "$906" in "\n".join(m.value for m in at.markdown)


def test_median_price_paid_is_the_median_of_every_line(tmp_path):
    """mart_item's median price paid comes from how many lines paid each price (core/sql, mart_item): the
    same value as DuckDB's median() over the lines, for odd and even numbers of lines and ties."""
    import duckdb

    from core.build.pipeline import build

    lines = ["case_id,item_id,line,quantity,unit_cost"]
    prices = {"KNEE-A": [1000, 1200, 1100], "SUT-1": [5, 5, 7, 9], "GLV-1": [2.5, 2.5]}
    n = 0
    for item, paid in prices.items():
        for price in paid:
            n += 1
            lines.append(f"C{(n % 12) + 1:02d},{item},{n},1,{price}")
    source = write_fixture_source(tmp_path / "src", {"supply_usage.csv": "\n".join(lines) + "\n"})
    assert build(source, tmp_path / "db.duckdb").ok
    con = duckdb.connect(str(tmp_path / "db.duckdb"), read_only=True)
    got = dict(con.execute("select item_id, median_paid_unit_cost_usd from mart_item where line_count > 0").fetchall())
    direct = dict(
        con.execute("select item_id, median(paid_unit_cost_usd) from mart_supply_line group by item_id").fetchall()
    )
    assert got == direct == {"KNEE-A": 1100.0, "SUT-1": 6.0, "GLV-1": 2.5}


def test_case_categories_are_one_row_per_case_and_category(fixture_db):
    """Preferred use and the category trend count a category's cases as rows of mart_case_category
    (a distinct count there made the default snapshot three times slower), which holds only while a case and
    category is one row; and each count equals the distinct count it replaced."""
    con = duckdb.connect(str(fixture_db), read_only=True)
    twice = con.execute(
        "select count(*) from (select case_id, category from mart_case_category group by all having count(*) > 1)"
    ).fetchone()[0]
    assert twice == 0
    rows, distinct = con.execute(
        "select sum(n), sum(d) from (select count(*) as n, count(distinct case_id) as d from mart_case_category "
        "group by physician_id, procedure_code, category)"
    ).fetchone()
    assert rows == distinct and rows > 0
    con.close()
