"""the Definitions page definitions held against the hand-computed fixture (tests/fixture_source.py).

Settings there: OR $10/min, bed day $100, min_cases 2, min_peers 3; the latest surgery is
2026-06-30, so the default period is 2025-07-01 – 2026-06-30 (365 days) and holds every case.
"""

from __future__ import annotations

from datetime import date

import pytest

from core import db, scorecard
from core.periods import Period

ALL = Period(date(2025, 7, 1), date(2026, 6, 30), "last12", "Last 12 months")


@pytest.fixture(scope="module")
def cost(fixture_db):
    frame = db.fetch("mart_case", order_by=["case_id"], path=fixture_db)
    return frame.set_index("case_id")


# Hand computation per case: supplies (non-implant lines) + implants + pharmacy + OR + bed days.
#   C01: SUT 4×10 + GLV-2 2×3 = 46; KNEE-B 1500; drugs 5+20 = 25; 100 min → 1000; LOS 2 → 200 = 2771
#   C02: SUT 2×10 + GLV-1 2×2 = 24; KNEE-B at the line's price 1400; 120 min → 1200; LOS 1 → 100 = 2724
#   C03: GLV-2 4×3 = 12; KNEE-A 1000; 90 min → 900; same day → 0 = 1912
#   C11 (LCH): SUT 3×10 + GLV-1 2×2 = 34; cefazolin 5; 60 min → 600; same day = 639
@pytest.mark.parametrize(
    "case_id,supplies,implants,pharmacy,or_time,bed_days,total,los",
    [
        ("C01", 46, 1500, 25, 1000, 200, 2771, 2),
        ("C02", 24, 1400, 0, 1200, 100, 2724, 1),
        ("C03", 12, 1000, 0, 900, 0, 1912, 0),
        ("C06", 30, 1500, 50, 1100, 100, 2780, 1),
        ("C11", 34, 0, 5, 600, 0, 639, 0),
    ],
)
def test_case_cost_components(cost, case_id, supplies, implants, pharmacy, or_time, bed_days, total, los):
    row = cost.loc[case_id]
    assert (row.supplies_usd, row.implants_usd, row.pharmacy_usd, row.or_time_usd, row.bed_days_usd) == (
        supplies,
        implants,
        pharmacy,
        or_time,
        bed_days,
    )
    assert row.case_cost_usd == total and row.los_days == los


def test_waste_is_wasted_quantity_times_price_paid(cost):
    # C01: 1 suture wasted × $10; C03: 2 premium gloves wasted × $3.
    assert cost.loc["C01", "waste_usd"] == 10 and cost.loc["C03", "waste_usd"] == 6
    assert cost["waste_usd"].sum() == 16


def test_default_period_is_twelve_months_to_latest_surgery(fixture_db):
    s = db.scalar_row("mart_settings", fixture_db)
    assert (
        s["default_start_date"].date() if hasattr(s["default_start_date"], "date") else s["default_start_date"]
    ) == date(2025, 7, 1)


@pytest.fixture(scope="module")
def tka(fixture_db):
    frame = db.fetch("mart_cost_position", where={"procedure_code": "TKA"}, path=fixture_db)
    return frame.set_index("physician_id")


def test_eligibility_and_peer_group(tka):
    # P04 has one case (< min_cases 2): not eligible, so the peer group is P01, P02, P03, P05.
    assert not tka.loc["P04", "eligible_flag"] and tka["eligible_flag"].sum() == 4
    assert (tka["peer_physician_count"] == 4).all()


def test_median_peer_median_best_quartile_percentile(tka):
    # Medians: P01 {2771, 2724, 1912} → 2724; P02 {2020, 1904} → 1962; P03 {2780, 2110} → 2445;
    # P05 {2158, 2670} → 2414. Peer median of [1962, 2414, 2445, 2724] = 2429.5;
    # best quartile (linear) = 1962 + 0.75 × (2414 − 1962) = 2301.
    assert tka.loc["P01", "median_case_cost_usd"] == 2724
    assert tka.loc["P02", "median_case_cost_usd"] == 1962
    assert tka.loc["P01", "peer_median_case_cost_usd"] == pytest.approx(2429.5)
    assert tka.loc["P01", "best_quartile_case_cost_usd"] == pytest.approx(2301)
    # Percent rank, ascending: P02 0, P05 33.3, P03 66.7, P01 100; undefined for P04.
    assert tka.loc["P02", "cost_percentile_pct"] == 0
    assert tka.loc["P05", "cost_percentile_pct"] == pytest.approx(100 / 3)
    assert tka.loc["P01", "cost_percentile_pct"] == 100
    assert tka["cost_percentile_pct"].isna()["P04"]


def test_gap_and_yearly_value(tka):
    # Gap 2724 − 2429.5 = 294.5; yearly volume 3 × 365.25 / 365; value = gap × yearly volume.
    assert tka.loc["P01", "gap_to_peer_median_usd"] == pytest.approx(294.5)
    assert tka.loc["P01", "gap_to_best_quartile_usd"] == pytest.approx(423)
    assert tka.loc["P01", "yearly_gap_value_usd"] == pytest.approx(294.5 * 3 * 365.25 / 365)


def test_component_means_per_case(tka):
    # P01: implants (1500 + 1400 + 1000) / 3 = 1300; OR (1000 + 1200 + 900) / 3.
    assert tka.loc["P01", "implants_usd"] == pytest.approx(1300)
    assert tka.loc["P01", "or_time_usd"] == pytest.approx(3100 / 3)
    assert tka.loc["P01", "waste_per_case_usd"] == pytest.approx(16 / 3)


def test_preferred_use_and_switch_saving(tka):
    # P01's lines in categories with a preferred item (knee systems, gloves; sutures have none):
    # units 1+2+1+2+1+4 = 11, preferred (GLV-1 2, KNEE-A 1) = 3 → 27.27%;
    # spend 1500+6+1400+4+1000+12 = 3922, preferred 1004 → 25.60%.
    # Switch saving: KNEE-B (1500−1000) + GLV-2 (3−2)×2 + KNEE-B at 1400 (400) + GLV-2 (3−2)×4 = 906.
    assert tka.loc["P01", "preferred_use_pct"] == pytest.approx(300 / 11)
    assert tka.loc["P01", "preferred_spend_pct"] == pytest.approx(100 * 1004 / 3922)
    assert tka.loc["P01", "switch_saving_usd"] == pytest.approx(906)


def test_no_preferred_category_is_null_not_zero(fixture_db):
    sutures = db.fetch("mart_preferred_use", where={"physician_id": "P01", "category": "Sutures"}, path=fixture_db)
    assert len(sutures) == 1 and sutures["preferred_use_pct"].isna().all()


def test_peer_figures_hidden_below_min_peers(fixture_db):
    # LCH has one physician: below min_peers 3, so no peer figure at all.
    lch = db.fetch("mart_cost_position", where={"procedure_code": "LCH"}, path=fixture_db)
    assert lch["peer_median_case_cost_usd"].isna().all() and lch["peer_physician_count"].isna().all()
    assert not lch["peers_shown_flag"].any()


def test_period_and_excluded_cases_scope_the_figures(fixture_db):
    q1 = Period(date(2026, 1, 1), date(2026, 3, 31), "2026Q1", "2026 Q1")
    frame = db.fetch(
        "mart_cost_position",
        where={"physician_id": "P01"},
        variables=scorecard.period_variables(q1, ["C03"]),
        path=fixture_db,
    )
    # C01–C03 are in Q1; excluding C03 leaves C01 and C02: median (2771 + 2724) / 2.
    assert frame["case_count"].iloc[0] == 2
    assert frame["median_case_cost_usd"].iloc[0] == pytest.approx(2747.5)


def test_quarter_marts_add_up_to_the_period(fixture_db):
    quarters = db.fetch(
        "mart_outcome_quarter", where={"physician_id": "P01", "outcome": "complication"}, path=fixture_db
    )
    period = db.fetch(
        "mart_outcome_position", where={"physician_id": "P01", "outcome": "complication"}, path=fixture_db
    )
    assert quarters["observed_count"].sum() == period["observed_count"].sum() == 1
    assert quarters["expected_count"].sum() == pytest.approx(period["expected_count"].sum())


def test_trend_leaves_out_cases_whose_flag_was_accepted(fixture_db):
    q = {"physician_id": "P01", "procedure_code": "TKA"}
    every = db.fetch("mart_cost_quarter", where=q, path=fixture_db)
    less = db.fetch("mart_cost_quarter", where=q, variables={"excluded_case_ids": ["C03"]}, path=fixture_db)
    assert every["case_count"].tolist() == [3] and less["case_count"].tolist() == [2]
    assert less["median_case_cost_usd"].iloc[0] == pytest.approx(2747.5)
    outcomes = db.fetch(
        "mart_outcome_quarter",
        where=q | {"outcome": "los_days"},
        variables={"excluded_case_ids": ["C01"]},
        path=fixture_db,
    )
    assert outcomes["observed_count"].sum() == 1  # C02's one day; C01's two days no longer count
