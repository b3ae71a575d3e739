"""Supply risk, pharmacy spend per case and savings achieved, hand-checked on the small fixture (issue 14).

The fixture (tests/fixture_source.py) with its formulary and programme extras (SUPPLY_EXTRAS): settings
min_cases 2, min_peers 3; the default period is 2025-07-01..2026-06-30 (every case). Each expected
figure is worked out next to its assertion.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import date

import pandas as pd
import pytest
from fixture_source import SUPPLY_EXTRAS, TABLES, write_fixture_source

from core import access, db, pharmacy, savings, supply_risk
from core.build.pipeline import build
from core.output import supply_exports
from core.periods import Period

SUPPLY = access.Viewer("supply@fixture.org", "supply")
CHAMPION = access.Viewer("p03@fixture.org", "champion", "P03", "Orthopaedics")
PHYSICIAN = access.Viewer("p01@fixture.org", "physician", "P01")
SECRET = b"test-secret"
PERIOD = Period(date(2025, 7, 1), date(2026, 6, 30), "last12", "Last 12 months")


@pytest.fixture(scope="module")
def extras_db(tmp_path_factory, fixture_db, monkeypatch_module):
    """The fixture with its formulary and programme, built and served for this module."""
    folder = tmp_path_factory.mktemp("supply_chain")
    target = folder / "scorecard.duckdb"
    result = build(write_fixture_source(folder / "source", SUPPLY_EXTRAS), target)
    assert result.ok and not result.warnings, [g.render() for g in result.problems]
    monkeypatch_module.setenv("SCORECARD_DB", str(target))
    return target


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


# --- supply risk ------------------------------------------------------------------------------------


def test_risk_items_are_ranked_by_exposure(extras_db):
    ranking = supply_risk.risk_ranking(SUPPLY, PERIOD)
    # KNEE-A (critical): C03-C05, C07-C09 = 6 cases, P01-P05 = 5 physicians; KNEE-B (critical and
    # single-source): C01, C02, C06, C10 = 4 cases by P01, P03, P05; GLV-2 (on backorder): C01, C03 (P01).
    assert ranking["item_id"].tolist() == ["KNEE-A", "KNEE-B", "GLV-2"]
    assert ranking["case_count"].tolist() == [6, 4, 2]
    assert ranking["physician_count"].tolist() == [5, 3, 1]
    assert ranking["reasons"].tolist() == ["critical", "single-source · critical", "on backorder"]
    # Recent rate: the period's last 91 days are 2026-04-01..2026-06-30: KNEE-A in C07, C08, C09 (3 units),
    # KNEE-B in C10 (1): projected next quarter = 3 x 91/91 = 3 units, $3,000 at $1,000.
    knee_a = ranking.set_index("item_id").loc["KNEE-A"]
    assert knee_a["recent_units_count"] == 3 and knee_a["projected_units_next_quarter_count"] == 3
    assert knee_a["projected_spend_next_quarter_usd"] == 3000
    # KNEE-B's spend: 1500 (C01) + 1400 paid (C02) + 1500 (C06) + 1500 (C10) = 5,900.
    assert ranking.set_index("item_id").at["KNEE-B", "spend_usd"] == 5900


def test_a_short_period_projects_from_its_own_length(extras_db):
    # 2026Q2 (91 days): KNEE-A C07, C08, C09 -> 3 units over 91 days -> 3. A 30-day period, June 2026:
    # KNEE-B once (C10) -> 1 x 91/30.
    june = Period(date(2026, 6, 1), date(2026, 6, 30), "2026-06-01..2026-06-30", "June")
    ranking = supply_risk.risk_ranking(SUPPLY, june).set_index("item_id")
    assert ranking.at["KNEE-B", "projected_units_next_quarter_count"] == pytest.approx(91 / 30)


def test_alternatives_with_who_uses_them_and_their_evidence(extras_db):
    alt = supply_risk.alternatives(SUPPLY, "KNEE-B", PERIOD)
    assert alt["alternative_item_id"].tolist() == ["KNEE-A"]
    row = alt.iloc[0]
    assert row["price_difference_usd"] == -500 and row["evidence_id"] == "EV1" and row["evidence_grade"] == "moderate"
    assert row["used_by"] == "Dr. Ada One, Dr. Ben Two, Dr. Cy Three, Dr. Di Four, Dr. Ed Five"
    # GLV-2 (on backorder): the only other glove, GLV-1, is preferred with EV2 (high).
    glv = supply_risk.alternatives(SUPPLY, "GLV-2", PERIOD).iloc[0]
    assert (glv["alternative_item_id"], glv["evidence_grade"], glv["physician_count"]) == ("GLV-1", "high", 4)
    blinded = supply_risk.alternatives(CHAMPION, "KNEE-B", PERIOD)
    assert "used_by" not in blinded and "physician_names" not in blinded and "case_count" not in blinded


def test_champion_sees_own_service_line_blinded_and_physicians_none(extras_db):
    ranking = supply_risk.risk_ranking(CHAMPION, PERIOD, service_line="General Surgery")
    assert set(ranking["service_line"]) == {"Orthopaedics"}  # their own, whatever they ask
    assert "case_count" not in ranking and "units_count" not in ranking and "spend_usd" not in ranking
    assert ranking["cases_band"].tolist() == ["under 10"] * 3
    users = supply_risk.item_users(CHAMPION, "KNEE-A", PERIOD, SECRET)
    assert "physician_id" not in users and "physician_name" not in users
    assert users["label"].str.startswith("Surgeon").all() and users["is_you"].sum() == 1
    with pytest.raises(supply_risk.ScopeRefused):
        supply_risk.risk_ranking(PHYSICIAN, PERIOD)
    assert not access.can(PHYSICIAN, "view_supply_risk") and access.can(CHAMPION, "view_supply_risk")


def test_backorder_notice_names_the_preferred_alternative(extras_db):
    notices = supply_risk.backorder_notices("P01", PERIOD)
    # P01 used GLV-2 (on backorder) in C01 (2) and C03 (4).
    assert notices[
        ["item_id", "case_count", "units_count", "alternative_item_id", "evidence_grade"]
    ].values.tolist() == [["GLV-2", 2, 6.0, "GLV-1", "high"]]
    assert supply_risk.backorder_notices("P02", PERIOD).empty


def test_a_preferred_item_at_risk_is_marked_beside_its_saving(tmp_path, fixture_db):
    items = (
        TABLES["items"]
        .replace(
            "KNEE-A,Knee system A,Acme Ortho,Knee implant systems,1000,true,true,high,2,false",
            "KNEE-A,Knee system A,Acme Ortho,Knee implant systems,1000,true,true,high,1,false",
        )
        .replace(
            "GLV-1,Surgical gloves (preferred),Handsafe,Gloves,2,false,true,low,4,false",
            "GLV-1,Surgical gloves (preferred),Handsafe,Gloves,2,false,true,low,4,true",
        )
    )
    target = tmp_path / "db.duckdb"
    assert build(write_fixture_source(tmp_path / "src", {"items.csv": items}), target).ok
    risks = db.fetch("mart_category_preferred_risk", path=target, order_by=["category"])
    gloves, knees = risks.to_dict("records")
    assert (gloves["backorder_preferred_count"], list(gloves["backorder_preferred_items"])) == (
        1,
        ["Surgical gloves (preferred)"],
    )
    assert (knees["single_source_preferred_count"], list(knees["single_source_preferred_items"])) == (
        1,
        ["Knee system A"],
    )
    assert supply_risk.opportunity_warning(knees) == (
        "The preferred item is a supply risk (single-source: Knee system A)."
    )
    # On the unchanged fixture no preferred item is a risk, so nothing is marked.
    plain = db.fetch("mart_category_preferred_risk", path=fixture_db)
    assert not plain["preferred_at_risk_flag"].any()
    assert supply_risk.opportunity_warning(plain.iloc[0].to_dict()) is None


# --- pharmacy ---------------------------------------------------------------------------------------


def test_pharmacy_by_class_against_the_peer_median(extras_db):
    classes = pharmacy.by_class("P03", "TKA", PERIOD).set_index("drug_class")
    # TKA antibiotics per case: P01 5/3, P02 0/2, P03 50/2 = 25, P04 0/1 (not eligible), P05 0/2.
    # Eligible: P01, P02, P03, P05 -> median of (0, 0, 1.667, 25) = 0.833.
    assert classes.at["Antibiotic", "spend_per_case_usd"] == 25
    assert classes.at["Antibiotic", "peer_median_per_case_usd"] == pytest.approx(5 / 6)
    assert classes.at["Antibiotic", "gap_value_usd"] == pytest.approx((25 - 5 / 6) * 2)
    # C06's vancomycin: (50/1 - 5 [cefazolin, the cheapest preferred antibiotic]) x 1 = 45.
    assert classes.at["Antibiotic", "drug_switch_saving_usd"] == 45
    # Tranexamic acid only in C01 (P01): 20/3 for P01, 0 for everyone else, so the median is 0.
    assert classes.at["Antifibrinolytic", "spend_per_case_usd"] == 0
    assert classes.at["Antifibrinolytic", "peer_median_per_case_usd"] == 0


def test_drivers_are_the_drugs_above_the_peer_median(extras_db):
    drivers = pharmacy.drivers("P03", "TKA", PERIOD)
    # Vancomycin: P03 50/2 = 25 a case; eligible peers 0, 0, 0, 25 -> median 0; worth 25 x 2 = 50.
    assert drivers[["drug_name", "gap_value_usd", "drug_switch_saving_usd"]].values.tolist() == [
        ["Vancomycin", 50.0, 45.0]
    ]
    assert pharmacy.drivers("P02", "TKA", PERIOD).empty  # no drug above the median


def test_no_peer_median_below_min_peers(extras_db):
    # LCH: one physician (P06) < min_peers 3.
    classes = pharmacy.by_class("P06", "LCH", PERIOD)
    assert classes["peer_median_per_case_usd"].isna().all() and not classes["peers_shown_flag"].any()
    assert pharmacy.drivers("P06", "LCH", PERIOD).empty


def test_report_gains_pharmacy_by_class_and_drug_switch_saving(extras_db):
    out = subprocess.run(
        [sys.executable, "-m", "core", "report", "--db", str(extras_db), "--physician", "P03"],
        capture_output=True,
        text=True,
        check=True,
    )
    [entry] = json.loads(out.stdout)["procedures"]
    assert entry["pharmacy_by_class_usd"] == {
        "Antibiotic": {"own": 25.0, "peer_median": 0.83},
        "Antifibrinolytic": {"own": 0.0, "peer_median": 0.0},
    }
    assert entry["drug_switch_saving_usd"] == 45.0
    lch = json.loads(
        subprocess.run(
            [sys.executable, "-m", "core", "report", "--db", str(extras_db), "--physician", "P06"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )["procedures"][0]
    assert lch["pharmacy_by_class_usd"] == {"Antibiotic": {"own": 2.5, "peer_median": None}}


def test_drug_switch_saving_is_null_without_a_formulary(fixture_db):
    out = subprocess.run(
        [sys.executable, "-m", "core", "report", "--db", str(fixture_db), "--physician", "P03"],
        capture_output=True,
        text=True,
        check=True,
    )
    [entry] = json.loads(out.stdout)["procedures"]
    assert entry["drug_switch_saving_usd"] is None
    assert entry["pharmacy_by_class_usd"]["Antibiotic"] == {"own": 25.0, "peer_median": 0.83}


def test_staff_rank_classes_by_spend_and_by_variation(extras_db):
    by_spend = pharmacy.class_ranking(PERIOD, by="spend_usd")
    # Antibiotic 5 + 50 + 5 = 60; antifibrinolytic 20.
    assert by_spend[["drug_class", "spend_usd"]].values.tolist() == [["Antibiotic", 60.0], ["Antifibrinolytic", 20.0]]
    by_variation = pharmacy.class_ranking(PERIOD, by="above_peer_median_usd").set_index("drug_class")
    # Antibiotic (TKA only: LCH has too few peers): P01 (5/3 - 5/6) x 3 = 2.5, P03 (25 - 5/6) x 2 = 48.33 -> 50.83.
    # Antifibrinolytic: P01 (20/3 - 0) x 3 = 20.
    assert by_variation.at["Antibiotic", "above_peer_median_usd"] == pytest.approx(2.5 + (25 - 5 / 6) * 2)
    assert by_variation.at["Antifibrinolytic", "above_peer_median_usd"] == pytest.approx(20)
    who = pharmacy.class_physicians(SUPPLY, "Antibiotic", PERIOD, SECRET)
    assert who.iloc[0]["label"] == "Dr. Cy Three"
    drugs = pharmacy.class_drugs("Antibiotic", PERIOD)
    assert drugs[["drug_name", "preferred_flag", "drug_switch_saving_usd"]].values.tolist() == [
        ["Vancomycin", False, 45.0],
        ["Cefazolin", True, 0.0],
    ]


# --- savings achieved --------------------------------------------------------------------------------


def test_savings_achieved_by_category_hand_checked(extras_db):
    cats = savings.by_category(PERIOD).set_index("savings_category")
    # Knee implants, TKA: baseline (2025-04-01..2026-03-31) C01-C06 spend 1500+1400+1000+1000+1000+1500 = 7,400
    # over 6 cases = 1,233.33 a case; current (from 2026-04-01) C07-C10: 1000+1000+1000+1500 = 4,500 over 4.
    # Achieved = 1,233.33 x 4 - 4,500 = 433.33.
    assert cats.at["Knee implant systems", "achieved_saving_usd"] == pytest.approx(7400 / 6 * 4 - 4500)
    # Gloves: TKA baseline 6+4+12+4 = 26 over 6, current 8 (C09) over 4 -> 26/6 x 4 - 8 = 9.33; LCH baseline
    # 4 (C11) over 1, current 0 over 1 (C12) -> 4. Total 13.33.
    assert cats.at["Gloves", "achieved_saving_usd"] == pytest.approx(26 / 6 * 4 - 8 + 4)
    # Remaining opportunity on knees: C10's KNEE-B at 1500 vs the preferred 1000 -> 500.
    assert cats.at["Knee implant systems", "remaining_opportunity_usd"] == 500
    # Drugs: antibiotics TKA baseline 5 + 50 = 55 over 6, current none -> 55/6 x 4 = 36.67; LCH 5 -> 41.67.
    assert cats.at["Antibiotic", "achieved_saving_usd"] == pytest.approx(55 / 6 * 4 + 5)
    assert "Sutures" not in cats.index  # no preferred item: nothing to standardize


def test_savings_summary_against_the_target(extras_db):
    s = savings.summary(PERIOD)
    achieved = (7400 / 6 * 4 - 4500) + (26 / 6 * 4 - 8 + 4) + (55 / 6 * 4 + 5) + (20 / 6 * 4)
    assert s["achieved_saving_usd"] == pytest.approx(achieved)
    assert s["savings_target_usd"] == 1000 and s["achieved_pct_of_target"] == pytest.approx(achieved / 10)
    assert str(s["baseline_start_date"])[:10] == "2025-04-01" and str(s["current_start_date"])[:10] == "2026-04-01"
    # Current window 2026-04-01..2026-06-30 = 91 days.
    assert s["annualised_saving_usd"] == pytest.approx(achieved * 365.25 / 91)
    assert s["remaining_opportunity_usd"] == 500
    assert "50% of this year's $1,000 target" in savings.headline(s)


def test_savings_by_service_line_and_physician(extras_db):
    lines = savings.by_service_line(SUPPLY, PERIOD).set_index("service_line")
    assert lines.at["General Surgery", "achieved_saving_usd"] == pytest.approx(4 + 5)  # gloves + antibiotics, LCH
    who = savings.by_physician(SUPPLY, PERIOD, SECRET).set_index("label")
    # P05 (C09, C10): knees 1233.33 x 2 - 2500, gloves 4.33 x 2 - 8, antibiotics 9.17 x 2, TXA 3.33 x 2.
    assert who.at["Dr. Ed Five", "achieved_saving_usd"] == pytest.approx(
        7400 / 6 * 2 - 2500 + 26 / 6 * 2 - 8 + 55 / 6 * 2 + 20 / 6 * 2
    )
    blinded = savings.by_physician(CHAMPION, PERIOD, SECRET)
    assert set(blinded["service_line"]) == {"Orthopaedics"} and "physician_id" not in blinded
    assert "spend_usd" not in blinded and blinded["label"].str.startswith("Surgeon").all()
    assert savings.by_service_line(CHAMPION, PERIOD)["service_line"].tolist() == ["Orthopaedics"]


def test_headline_says_when_spend_rose():
    s = {
        "program_start_date": "2026-04-01",
        "current_start_date": "2026-04-01",
        "current_end_date": "2026-06-30",
        "baseline_start_date": "2025-04-01",
        "baseline_end_date": "2026-03-31",
        "achieved_saving_usd": -250.0,
        "savings_target_usd": None,
        "saving_category_count": 0,
        "category_count": 2,
        "remaining_opportunity_usd": 80,
    }
    text = savings.headline(s)
    assert "rose, costing $250 more than the baseline" in text and "further $80" in text and "target" not in text


def test_no_programme_no_baseline(fixture_db):
    s = db.fetch("mart_savings_summary", path=fixture_db).iloc[0].to_dict()
    assert s["program_start_date"] is None or str(s["program_start_date"]) in ("NaT", "None")
    assert s["achieved_saving_usd"] == 0
    assert "No programme start date" in savings.headline(s)


# --- exports ----------------------------------------------------------------------------------------


def test_csv_neutralises_formulas():
    import pandas as pd

    frame = pd.DataFrame({"item": ['=HYPERLINK("x")', "+1", "-2", "@SUM(A1)", "plain", "\tx"], "n": [1, 2, 3, 4, 5, 6]})
    rows = list(csv.reader(io.StringIO(supply_exports.safe_csv(frame).decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == ['\'=HYPERLINK("x")', "'+1", "'-2", "'@SUM(A1)", "plain", "'\tx"]
    assert [r[1] for r in rows[1:]] == ["1", "2", "3", "4", "5", "6"]  # numbers stay numbers


def test_cfo_summary_is_one_slide(extras_db):
    from pptx import Presentation

    s = savings.summary(PERIOD)
    data = supply_exports.cfo_summary_pptx(
        s,
        savings.by_category(PERIOD),
        savings.by_service_line(SUPPLY, PERIOD),
        savings.headline(s),
        "Data to 30 Jun 2026",
    )
    deck = Presentation(io.BytesIO(data))
    assert len(deck.slides) == 1
    shapes = deck.slides[0].shapes
    text = " ".join(
        [sh.text_frame.text for sh in shapes if sh.has_text_frame]
        + [cell.text for sh in shapes if sh.has_table for row in sh.table.rows for cell in row.cells]
    )
    assert "Savings achieved" in text and "$502" in text and "Knee implant systems" in text


@pytest.mark.parametrize(
    "view",
    [
        "mart_pharmacy_position",
        "mart_pharmacy_class_position",
        "mart_pharmacy_drug_position",
        "mart_physician_backorder",
        "mart_supply_risk_item",
        "mart_supply_risk_alternative",
        "mart_pharmacy_class_summary",
        "mart_pharmacy_drug_summary",
        "mart_savings_physician",
        "mart_savings_category",
        "mart_savings_service_line",
        "mart_savings_physician_total",
        "mart_savings_summary",
    ],
)
def test_default_snapshots_equal_their_views(extras_db, view):
    """The build's `<view>_default` snapshot (read for default-period requests) holds exactly the view's rows."""
    cols = list(db.schema.view(view)["columns"])
    snapshot = db.fetch(view, order_by=cols)  # default period, no flags: the snapshot
    computed = db.fetch(view, order_by=cols, variables={"excluded_case_ids": ["no-such-case"]})  # the view
    assert db.is_default_request({}) and not db.is_default_request({"excluded_case_ids": ["x"]})
    # Equal up to the order a parallel sum adds its floats in (a few units in the last place).
    pd.testing.assert_frame_equal(snapshot, computed, check_dtype=False, check_exact=False, rtol=1e-12, obj=view)
