"""Episode cost and equity (issue 15): the demo's planted truths found through the marts and `core report`,
the CMS cell-size suppression (including recovery by subtraction, within a view, across the hospital and its
service lines — attacked with linear programs — and across periods: closed calendar years only), access
scopes, and a source without post-acute data or the optional equity columns (the fixture) showing no empty
sections.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from core import access, db, episode, equity, scorecard
from core.build.pipeline import SQL_DIR, build
from core.tools import report
from core.tools.demo import write_demo_source


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo15")
    truth = write_demo_source(folder / "source", cases=20_000, seed=42, fmt="parquet")
    result = build(folder / "source", folder / "demo.duckdb")
    assert result.ok and not result.warnings, [g.render() for g in result.problems]
    return folder / "demo.duckdb", truth, folder / "source"


@pytest.fixture()
def on_demo(demo, monkeypatch):
    monkeypatch.setenv("SCORECARD_DB", str(demo[0]))
    return demo


# --- episode cost -----------------------------------------------------------------------------


def test_snf_heavy_surgeon_has_ordinary_case_cost_but_the_costliest_care_after_discharge(on_demo):
    path, truth, _ = on_demo
    planted = truth["value_based_care"]["snf_heavy"]
    pos = db.fetch("mart_episode_position", where={"procedure_code": planted["procedure_code"]}, path=path)
    pos = pos[pos["eligible_flag"]].set_index("physician_id")
    me = pos.loc[planted["physician_id"]]
    assert me["peers_shown_flag"]
    # Skilled nursing far more often, and it is what makes the episode costly.
    assert me["snf_discharge_pct"] > 3 * me["peer_snf_discharge_pct"]
    assert me["snf_usd"] > 3 * me["peer_snf_usd"]
    # The costliest care after discharge of the procedure (a surgeon with costlier implants may still have a
    # costlier whole episode: the plant is "same case cost, higher episode cost", not "the costliest episode").
    assert me["mean_post_acute_usd"] == pos["mean_post_acute_usd"].max()
    assert me["mean_episode_cost_usd"] > me["peer_median_episode_cost_usd"] + 1500
    assert me["over_target_pct"] > me["peer_over_target_pct"] + 10
    # Same case cost: within 5% of the peers' median of mean case cost.
    assert abs(me["mean_case_cost_usd"] / me["peer_mean_case_cost_usd"] - 1) < 0.05
    # The risk model does not explain it away: the highest episode O/E of the procedure.
    # Among the surgeons whose case cost is ordinary (within 5% of the peers'), the highest episode O/E: only
    # a surgeon with costlier implants (an index-case difference, not an episode one) may sit above him.
    ordinary = pos[(pos["mean_case_cost_usd"] / pos["peer_mean_case_cost_usd"] - 1).abs() < 0.05]
    assert me["episode_oe_ratio"] == ordinary["episode_oe_ratio"].max() and me["episode_oe_ratio"] > 1.05
    # Where the difference comes from: skilled nursing first.
    assert episode.drivers(me.to_dict() | {"physician_id": planted["physician_id"]}).iloc[0]["part"] == "snf"


def test_report_carries_the_episode_and_null_without_post_acute(on_demo):
    path, truth, _ = on_demo
    planted = truth["value_based_care"]["snf_heavy"]
    result = report.report(planted["physician_id"], db_path=path)
    entry = next(p for p in result["procedures"] if p["procedure_code"] == planted["procedure_code"])
    ep = entry["episode"]
    assert set(ep) >= {
        "cases",
        "mean_episode_cost_usd",
        "peer_median_episode_cost_usd",
        "target_usd",
        "over_target_pct",
        "post_acute_by_setting_usd",
    }
    assert ep["target_usd"] == truth["value_based_care"]["episode_targets_usd"][planted["procedure_code"]]
    assert ep["cases"] == entry["cases"]
    assert set(ep["post_acute_by_setting_usd"]) == set(episode.SETTINGS)
    assert ep["post_acute_by_setting_usd"]["snf"] == max(ep["post_acute_by_setting_usd"].values())
    assert ep["mean_episode_cost_usd"] > ep["peer_median_episode_cost_usd"]
    # A procedure outside the episode programme has no episode.
    other = report.report(truth["planted"]["worse_outcomes"][1]["physician_id"], db_path=path)  # a general surgeon
    assert other["procedures"] and all(p["episode"] is None for p in other["procedures"])
    # CSV flattens it.
    assert "episode_post_acute_by_setting_usd_snf" in report.to_csv(result).splitlines()[0]


def test_peer_median_episode_is_null_below_min_peers(on_demo):
    path = on_demo[0]
    # CABG has six surgeons; a week leaves fewer than min_peers of them eligible (min_cases 10).
    from datetime import date

    from core.periods import Period

    short = Period(date(2026, 9, 24), date(2026, 9, 30), "2026-09-24..2026-09-30", "a week")
    pos = db.fetch(
        "mart_episode_position",
        where={"procedure_code": "CABG"},
        variables=scorecard.period_variables(short),
        path=path,
    )
    assert len(pos) and not pos["peers_shown_flag"].any()
    assert pos["peer_median_episode_cost_usd"].isna().all() and pos["peer_snf_usd"].isna().all()
    pid = pos.iloc[0]["physician_id"]
    entry = next(
        p
        for p in report.report(pid, "2026-09-24", "2026-09-30", db_path=path)["procedures"]
        if p["procedure_code"] == "CABG"
    )
    assert entry["episode"]["peer_median_episode_cost_usd"] is None


def test_episode_counts_only_the_30_days_after_discharge(on_demo):
    path, truth, source = on_demo
    lines = pd.read_parquet(source / "post_acute.parquet")
    cases = pd.read_parquet(source / "cases.parquet", columns=["case_id", "discharge_date"])
    lines = lines.merge(cases, on="case_id")
    days = (pd.to_datetime(lines["service_date"]) - pd.to_datetime(lines["discharge_date"])).dt.days
    assert (days > 30).sum() == truth["value_based_care"]["snf_heavy"]["late_lines"] > 0
    inside = lines[(days >= 0) & (days <= 30)].groupby("case_id")["cost"].sum()
    con = duckdb.connect(str(path), read_only=True)
    built = con.execute("select case_id, post_acute_usd from mart_episode_case").df()
    built["case_id"] = built["case_id"].astype(np.int64)
    built = built.set_index("case_id")["post_acute_usd"]
    expected = inside.reindex(built.index).fillna(0.0)
    assert np.allclose(built.to_numpy(), expected.to_numpy(), atol=0.01)


def test_department_slide_is_blinded_and_names_skilled_nursing(on_demo):
    path = on_demo[0]
    ctx = scorecard.data_context(path)
    s = episode.department_slide("TKA", ctx.default_period(), b"k" * 32, [], "Total knee arthroplasty")
    assert s is not None and "skilled nursing" in s.headline.lower()
    assert not {"physician_id", "physician_name"} & set(s.data.columns)
    assert s.data["label"].str.fullmatch(r"Surgeon [A-Z]+").all() and "case_count" not in s.data
    assert episode.department_slide("LCH", ctx.default_period(), b"k" * 32, [], "Lap chole") is None


# --- equity -----------------------------------------------------------------------------------


def test_dual_eligible_patients_have_clearly_worse_readmissions(on_demo):
    path, truth, _ = on_demo
    planted = truth["value_based_care"]["worse_group"]
    # Equity is shown by closed calendar year: the demo's data run from October 2024 to September 2026, so
    # the latest closed year is 2025 (the planted effect holds over the whole span).
    period = scorecard.data_context(path).closed_years()[0]
    assert period.token == "2025"
    frame = equity.groups("hospital", "", period)
    [outcome] = planted["outcomes"]
    row = frame[
        (frame["dimension"] == planted["dimension"])
        & (frame["group_value"] == "Dual-eligible")
        & (frame["measure"] == outcome)
    ].iloc[0]
    assert row["gap_clear"] and row["gap"] > 1.4 and row["gap_low"] > 1.2
    assert row["oe_ratio"] > 1.3 and row["ci95_low"] > 1.1
    clear = equity.clear_gaps(frame)
    assert ((clear["group_value"] == "Dual-eligible") & (clear["measure"] == outcome)).any()
    # No other outcome is planted for any group: a clear gap elsewhere would be chance beyond 99.8%.
    others = clear[
        (clear["measure"] != "cost") & ~((clear["group_value"] == "Dual-eligible") & (clear["measure"] == outcome))
    ]
    assert len(others) <= 1, others[["dimension", "group_value", "measure", "gap"]]


def test_demo_suppression_holds_in_every_scope(on_demo):
    path, *_ = on_demo
    frame = db.fetch("mart_equity_group", path=path)
    assert frame["suppressed_flag"].any()  # the small race/ethnicity group makes sure there is something to do
    shown = frame[~frame["suppressed_flag"]]
    assert not shown["case_count"].between(1, 10).any()
    assert not shown["observed_count"].between(1, 10).any()
    assert sorted(frame["year"].unique()) == [2024, 2025]  # every closed year, built ahead
    per = frame.groupby(["year", "scope", "scope_value", "dimension", "measure"])["suppressed_flag"]
    counts = per.sum()
    sizes = per.size()
    # Never exactly one suppressed cell beside shown ones (it would be the total − the rest). A dimension
    # with a single group is the total itself: small, it is small in every dimension, hidden there too.
    bad = (counts == 1) & (sizes > 1)
    assert not bad.any(), counts[bad]
    # ... and a physician's own patients: the whole dimension or nothing.
    phys = counts.xs("physician", level="scope")
    assert ((phys == 0) | (phys == sizes.xs("physician", level="scope"))).all()


def _equity_cells(cases: pd.DataFrame) -> pd.DataFrame:
    """mart_equity_cell's SQL (no suppression) over a hand-made mart_period_case and int_case_equity."""
    con = duckdb.connect()
    con.register("cases_frame", cases)
    con.execute(
        "create table mart_period_case as select case_id, physician_id, service_line, case_cost_usd, "
        "expected_case_cost_usd, complication_flag, readmit_30d_flag, ssi_flag, mortality_flag, "
        "expected_complication_rate, expected_readmit_30d_rate, expected_ssi_rate, expected_mortality_rate "
        "from cases_frame"
    )
    con.execute(
        "create table int_case_equity as select case_id, payer, patient_sex, age_band, race_ethnicity, "
        "dual_eligible from cases_frame"
    )
    con.execute(
        "create table int_equity_dimension as select * from (values ('payer', 'Payer', 1), "
        "('patient_sex', 'Sex', 2), ('age_band', 'Age band', 3)) as d(dimension, dimension_label, dimension_order)"
    )
    sql = (SQL_DIR / "marts" / "equity" / "mart_equity_cell.sql").read_text()
    return con.execute(sql).df()


def _run_equity_sql(cases: pd.DataFrame) -> pd.DataFrame:
    """What the build stores for one year: mart_equity_cell suppressed by core.equity.suppress."""
    return equity.suppress(_equity_cells(cases))


def _cases(spec: list[tuple], line: str | None = "Orthopaedics") -> pd.DataFrame:
    """(physician, payer, sex, cases, complications[, readmissions[, service line]]) blocks; one age band."""
    rows = []
    for block in spec:
        physician, payer, sex, n, events = block[:5]
        readmits = block[5] if len(block) > 5 else 0
        block_line = block[6] if len(block) > 6 else line
        for k in range(n):
            rows.append(
                {
                    "case_id": f"{physician}-{payer}-{sex}-{block_line}-{k}",
                    "physician_id": physician,
                    "service_line": block_line,
                    "case_cost_usd": 1000.0 + k,
                    "expected_case_cost_usd": 1000.0,
                    "complication_flag": k < events,
                    "readmit_30d_flag": k >= n - readmits,
                    "ssi_flag": False,
                    "mortality_flag": False,
                    "expected_complication_rate": 0.1,
                    "expected_readmit_30d_rate": 0.05,
                    "expected_ssi_rate": 0.01,
                    "expected_mortality_rate": 0.01,
                    "payer": payer,
                    "patient_sex": sex,
                    "age_band": "65–74",
                    "race_ethnicity": None,
                    "dual_eligible": None,
                }
            )
    return pd.DataFrame(rows)


def test_one_small_cell_takes_the_next_smallest_with_it_so_subtraction_recovers_nothing():
    # Payer: Medicare 40, Commercial 25, Medicaid 12, Self-pay 4 (small). Sex is complete (F 41, M 40), so the
    # hospital total (81) is public: with only Self-pay hidden, 81 − 40 − 25 − 12 = 4 would give it away.
    cases = _cases(
        [
            ("P1", "Medicare", "F", 40, 12),
            ("P2", "Commercial", "M", 25, 0),
            ("P2", "Medicaid", "M", 12, 3),
            ("P2", "Self-pay", "M", 3, 0),
            ("P1", "Self-pay", "F", 1, 0),
        ]
    )
    out = _run_equity_sql(cases)
    hosp = out[(out["scope"] == "hospital")]
    cost = hosp[(hosp["measure"] == "cost") & (hosp["dimension"] == "payer")].set_index("group_value")
    assert cost["suppressed_flag"].to_dict() == {
        "Commercial": False,
        "Medicaid": True,
        "Medicare": False,
        "Self-pay": True,
    }
    assert cost["case_count"].isna().to_dict() == cost["suppressed_flag"].to_dict()
    sex = hosp[(hosp["measure"] == "cost") & (hosp["dimension"] == "patient_sex")]
    total = int(sex["case_count"].sum())  # what anyone can add up
    hidden = total - int(cost["case_count"].sum())
    assert hidden == 16  # Medicaid + Self-pay together: which part is Self-pay cannot be told
    # Every way of splitting the remainder between the two hidden cells is consistent with what is shown.
    assert len([a for a in range(1, hidden) if 1 <= a <= 10 or a >= 11]) > 1
    # No figure of a suppressed cell leaks through another column.
    leak_cols = [
        "case_count",
        "observed_count",
        "expected_count",
        "mean_case_cost_usd",
        "cost_index",
        "cost_index_var",
        "ref_case_count",
        "ref_observed_count",
        "ref_expected_count",
    ]
    assert hosp.loc[hosp["suppressed_flag"], leak_cols].isna().all().all()
    # Events: Medicaid's 3 complications are small (and its cell is hidden anyway); the two hidden cells
    # are enough, so Medicare (12) and Commercial (0) stay.
    comp = hosp[(hosp["measure"] == "complication") & (hosp["dimension"] == "payer")].set_index("group_value")
    assert comp["suppressed_flag"].to_dict() == {
        "Commercial": False,
        "Medicaid": True,
        "Medicare": False,
        "Self-pay": True,
    }
    assert comp.loc["Medicare", "observed_count"] == 12 and comp.loc["Commercial", "observed_count"] == 0


def test_one_small_event_count_takes_the_next_smallest_with_it():
    # Cases are all large; complications: F 12, M 4 (small). The total (16) is public through payer, so M's 4
    # would be 16 − 12: F is suppressed too.
    cases = _cases([("P1", "Medicare", "F", 30, 12), ("P1", "Medicare", "M", 30, 4)])
    out = _run_equity_sql(cases)
    comp = out[
        (out["scope"] == "hospital") & (out["measure"] == "complication") & (out["dimension"] == "patient_sex")
    ].set_index("group_value")
    assert comp["suppressed_flag"].all()
    cost = out[(out["scope"] == "hospital") & (out["measure"] == "cost") & (out["dimension"] == "patient_sex")]
    assert not cost["suppressed_flag"].any()  # 30 and 30 cases are fine to show


def test_two_small_cells_need_no_third_and_a_physician_sees_a_dimension_only_when_every_cell_is_large():
    cases = _cases(
        [
            ("P1", "Medicare", "F", 40, 0),
            ("P1", "Medicaid", "F", 5, 0),
            ("P1", "Self-pay", "F", 3, 0),
            ("P1", "Commercial", "M", 20, 0),
        ]
    )
    out = _run_equity_sql(cases)
    hosp = out[(out["scope"] == "hospital") & (out["measure"] == "cost") & (out["dimension"] == "payer")]
    assert sorted(hosp.loc[hosp["suppressed_flag"], "group_value"]) == ["Medicaid", "Self-pay"]
    phys = out[(out["scope"] == "physician") & (out["measure"] == "cost")]
    by_dim = phys.groupby("dimension")["suppressed_flag"].agg(["all", "any"])
    assert by_dim.loc["payer", "all"]  # Medicaid 5, Self-pay 3: the whole payer dimension is hidden
    assert not by_dim.loc["patient_sex", "any"]  # F 48, M 20: shown


# --- suppression across scopes (the hospital and its service lines are one linked table) ---------------


def _ranges(cells: pd.DataFrame, out: pd.DataFrame, dimension: str) -> dict[tuple[str, str, str], tuple]:
    """What an attacker can pin: for every suppressed hospital or service-line cell of `dimension`, the least
    and the greatest value (cases for cost, events for an outcome) consistent with all a supply analyst sees.

    The attacker knows every shown cell of every scope (cases, and each outcome's events), every margin
    (each service line's, the no-service-line rest's and the hospital's cases and events: any complete
    dimension gives them away), that a group listed as suppressed has at least one case, that a group not
    listed in a scope has none there, that the hospital is the sum of its lines and the rest, and that
    events never exceed cases. Solved exactly as linear programs (scipy's HiGHS). Returns
    {(measure, column, group): (min, max, true value, whether a public total gives it whatever is hidden)}.
    """
    from itertools import product

    from scipy.optimize import linprog

    hosp = "\x00hospital"
    raw = cells[(cells["scope"] != "physician") & (cells["dimension"] == dimension)]
    seen = out[(out["scope"] != "physician") & (out["dimension"] == dimension)]

    def column(scope: str, value: str) -> str:
        return hosp if scope == "hospital" else value

    groups = sorted(raw["group_value"].unique())
    lines = sorted(set(raw.loc[raw["scope"] == "service_line", "scope_value"]) | {""})  # "": no service line
    columns = [*lines, hosp]
    quantities = ["cases", *equity.OUTCOME_MEASURES]
    index = {key: i for i, key in enumerate(product(quantities, groups, columns))}
    truth = dict.fromkeys(index, 0.0)
    for r in raw.itertuples():
        c = column(r.scope, r.scope_value)
        truth[("cases", r.group_value, c)] = float(r.case_count)
        for m in equity.OUTCOME_MEASURES:
            truth[(m, r.group_value, c)] = float(getattr(r, f"{m}_observed"))
    a_eq, b_eq = [], []
    for q in quantities:
        for c in columns:  # every margin is public
            row = np.zeros(len(index))
            for g in groups:
                row[index[(q, g, c)]] = 1
            a_eq.append(row)
            b_eq.append(sum(truth[(q, g, c)] for g in groups))
        for g in groups:  # the hospital is the sum of its lines and the rest
            row = np.zeros(len(index))
            for c in lines:
                row[index[(q, g, c)]] = 1
            row[index[(q, g, hosp)]] = -1
            a_eq.append(row)
            b_eq.append(0.0)
    a_ub = []
    for m, g, c in product(equity.OUTCOME_MEASURES, groups, columns):  # events ≤ cases
        row = np.zeros(len(index))
        row[index[(m, g, c)]], row[index[("cases", g, c)]] = 1, -1
        a_ub.append(row)
    bounds = [(0.0, None)] * len(index)
    listed = {(r.group_value, column(r.scope, r.scope_value)) for r in seen.itertuples()}
    for q, g, c in index:
        if c != "" and (g, c) not in listed:
            bounds[index[(q, g, c)]] = (0.0, 0.0)  # not listed in a shown scope: none there
    hidden = []
    for r in seen.itertuples():
        c, q = column(r.scope, r.scope_value), ("cases" if r.measure == "cost" else r.measure)
        if r.suppressed_flag:
            hidden.append((q, r.group_value, c))
            if q == "cases":
                bounds[index[(q, r.group_value, c)]] = (1.0, None)
            continue
        bounds[index[("cases", r.group_value, c)]] = (r.case_count, r.case_count)
        if q != "cases":
            bounds[index[(q, r.group_value, c)]] = (r.observed_count, r.observed_count)
    result = {}
    for key in hidden:
        objective = np.zeros(len(index))
        objective[index[key]] = 1
        ends = []
        for sign in (1, -1):
            lp = linprog(sign * objective, A_ub=a_ub, b_ub=np.zeros(len(a_ub)), A_eq=a_eq, b_eq=b_eq, bounds=bounds)
            assert lp.status == 0, (key, lp.message)  # the true table is always a solution
            ends.append(sign * lp.fun)
        # Two cells no suppression can hide, both given by a public total: a cell in a line, or a group, with
        # no event at all (it is 0, no count of 1–10), and a line's only group of the dimension (all of
        # Women's Health is female: the cell IS the line's total, which the hospital's total less the other
        # lines' gives; README, *Equity*, says so).
        zero = sum(truth[(key[0], g, key[2])] for g in groups) == 0 or truth[(key[0], key[1], hosp)] == 0
        alone = sum(truth[("cases", g, key[2])] > 0 for g in groups) == 1
        result[("cost" if key[0] == "cases" else key[0], key[2], key[1])] = (
            ends[0],
            ends[1],
            truth[key],
            zero or alone,
        )
    return result


def _pinned(cells: pd.DataFrame, out: pd.DataFrame, dimensions=("payer", "patient_sex")) -> dict:
    """Suppressed cells the attacker narrows to less than one unit (each with its range and true value)."""
    ranges = {}
    for dim in dimensions:
        for key, (low, high, true, given) in _ranges(cells, out, dim).items():
            assert low - 1e-6 <= true <= high + 1e-6
            if not given:
                ranges[(dim, *key)] = (round(low, 3), round(high, 3), true)
    return {k: v for k, v in ranges.items() if v[1] - v[0] < 1 - 1e-6}


def _three_lines() -> pd.DataFrame:
    # Medicaid: Orthopaedics 25, Cardiac 12, Spine 3 (small) — the hospital's Medicaid is 40.
    blocks = []
    for line, sizes in {
        "Orthopaedics": {"Medicare": 60, "Commercial": 40, "Medicaid": 25},
        "Cardiac": {"Medicare": 50, "Commercial": 30, "Medicaid": 12},
        "Spine": {"Medicare": 30, "Commercial": 20, "Medicaid": 3},
    }.items():
        for payer, n in sizes.items():
            blocks.append((f"P-{line}", payer, "F", n, n // 5, n // 8, line))
            if payer != "Medicaid":
                blocks.append((f"P-{line}", payer, "M", 12, 2, 1, line))
    return _cases(blocks)


def test_the_hospital_less_two_service_lines_no_longer_gives_away_the_third():
    cells = _equity_cells(_three_lines())
    out = equity.suppress(cells)
    cost = out[(out["measure"] == "cost") & (out["dimension"] == "payer") & (out["scope"] != "physician")]
    cost = cost.assign(where=np.where(cost["scope"] == "hospital", "Hospital", cost["scope_value"]))
    medicaid = cost[cost["group_value"] == "Medicaid"].set_index("where")["case_count"]
    assert np.isnan(medicaid["Spine"])  # 3 cases
    # Within each scope alone the old rule was met; across scopes Hospital − Orthopaedics − Cardiac gave Spine.
    # Now one of those three is hidden too, so the subtraction cannot be done ...
    assert medicaid[["Hospital", "Orthopaedics", "Cardiac"]].isna().any()
    # ... and no linear combination of everything shown pins any hidden cell, in any measure.
    assert not _pinned(cells, out)


def test_no_suppressed_cell_can_be_pinned_from_everything_a_supply_analyst_sees():
    # A hand-made hospital: four lines, four payers, small cells scattered, a case with no service line.
    blocks = [
        ("A", "Medicare", "F", 40, 9, 4, "Orthopaedics"),
        ("A", "Medicare", "M", 35, 6, 3, "Orthopaedics"),
        ("A", "Medicaid", "F", 4, 1, 0, "Orthopaedics"),
        ("A", "Commercial", "M", 22, 3, 11, "Orthopaedics"),
        ("B", "Self-pay", "F", 2, 0, 1, "Orthopaedics"),
        ("C", "Medicare", "F", 25, 12, 2, "Cardiac"),
        ("C", "Medicaid", "M", 14, 5, 1, "Cardiac"),
        ("C", "Commercial", "F", 11, 0, 0, "Cardiac"),
        ("C", "Self-pay", "M", 1, 1, 1, "Cardiac"),
        ("D", "Medicare", "M", 18, 2, 2, "Spine"),
        ("D", "Medicaid", "F", 7, 3, 0, "Spine"),
        ("D", "Commercial", "F", 30, 4, 12, "Spine"),
        ("E", "Medicare", "F", 50, 20, 13, "General"),
        ("E", "Commercial", "M", 9, 9, 0, "General"),
        ("E", "Self-pay", "F", 13, 2, 0, "General"),
        ("F", "Medicaid", "M", 3, 0, 0, None),
    ]
    cells = _equity_cells(_cases(blocks))
    out = equity.suppress(cells)
    assert out["suppressed_flag"].any() and not out["suppressed_flag"].all()
    assert not _pinned(cells, out)


@pytest.mark.parametrize("seed", range(5))
def test_no_suppressed_cell_can_be_pinned_in_random_hospitals(seed):
    rng = np.random.default_rng(seed)
    lines = [f"Line {k}" for k in range(int(rng.integers(3, 5)))]
    blocks = []
    for line in [*lines, None]:
        for payer in ("Medicare", "Medicaid", "Commercial", "Self-pay"):
            for sex in ("F", "M"):
                if line is None and rng.random() < 0.7:
                    continue
                kind = rng.choice(3, p=[0.15, 0.35, 0.5])
                n = 0 if kind == 0 else int(rng.integers(1, 11) if kind == 1 else rng.integers(11, 70))
                if n:
                    blocks.append(
                        (f"P{seed}", payer, sex, n, int(rng.binomial(n, 0.2)), int(rng.binomial(n, 0.1)), line)
                    )
    cells = _equity_cells(_cases(blocks))
    out = equity.suppress(cells)
    assert not _pinned(cells, out), seed


def test_demo_year_pins_no_suppressed_cell_and_flags_recompute_it_with_the_same_rule(on_demo):
    path, *_ = on_demo
    year = scorecard.data_context(path).closed_years()[0]
    cells = db.fetch("mart_equity_cell", variables=scorecard.period_variables(year), path=path)
    built = db.fetch("mart_equity_group", where={"year": 2025}, path=path)
    dims = ("payer", "patient_sex", "age_band", "race_ethnicity", "dual_eligible")
    assert built.loc[built["scope"] != "physician", "suppressed_flag"].any()
    assert not _pinned(cells, built, dims)
    # With accepted flags the year is recomputed from the cells by the same rule: an excluded id that
    # matches no case changes nothing, so the recomputed scope equals the build's.
    for scope, value in (("hospital", ""), ("service_line", "Orthopaedics")):
        kept = equity.groups(scope, value, year)
        again = equity.groups(scope, value, year, ["no-such-case"])
        cols = ["dimension", "group_value", "measure", "suppressed_flag", "case_count", "observed_count", "gap"]
        pd.testing.assert_frame_equal(
            kept[cols].reset_index(drop=True), again[cols].reset_index(drop=True), check_dtype=False
        )


def test_a_champion_sees_nothing_of_their_own_patients_that_their_line_hides(on_demo):
    """A champion sees their line and their own patients: their own exact counts bound the line's hidden cells
    from below, so an own (dimension, measure) is shown only where the line hides nothing of it."""
    path, _, _ = on_demo
    ctx = scorecard.data_context(path)
    year = ctx.closed_years()[0]
    table = db.fetch("mart_equity_group", where={"year": year.start.year}, path=path)
    lines = table[(table["scope"] == "service_line") & table["suppressed_flag"]]
    own = table[(table["scope"] == "physician") & ~table["suppressed_flag"]]
    # A physician of a line that hides something of a block they would see whole on their own.
    cases = db.fetch("mart_case", columns=["physician_id", "service_line"], path=path).drop_duplicates()
    found = None
    for line, hidden in lines.groupby("scope_value"):
        blocks = set(zip(hidden["dimension"], hidden["measure"], strict=True))
        for pid in cases.loc[cases["service_line"] == line, "physician_id"]:
            mine = own[own["scope_value"] == pid]
            overlap = blocks & set(zip(mine["dimension"], mine["measure"], strict=True))
            if overlap:
                found = (line, pid, overlap)
                break
        if found:
            break
    assert found, "the demo should have a physician whose line hides part of a block they see whole"
    line, pid, overlap = found
    alone = equity.groups("physician", pid, year)
    champion = equity.groups("physician", pid, year, also_seen=[("service_line", line), ("physician", pid)])
    for frame in (alone, champion):
        assert frame["suppressed_flag"].dtype == bool
    key = list(zip(champion["dimension"], champion["measure"], strict=True))
    hide = np.array([k in overlap for k in key])
    assert champion.loc[hide, "suppressed_flag"].all()
    assert champion.loc[hide, ["case_count", "observed_count", "mean_case_cost_usd", "oe_ratio"]].isna().all().all()
    # Everything else is what the physician alone would see.
    shown = champion.loc[~hide].reset_index(drop=True)
    same = alone.loc[~hide].reset_index(drop=True)
    pd.testing.assert_frame_equal(shown, same)
    assert not alone.loc[hide, "suppressed_flag"].any()  # alone, they did see those blocks


def test_only_the_suppression_rule_and_the_build_read_the_unsuppressed_cells():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    readers = {
        str(p.relative_to(root))
        for p in [*root.glob("pages/*.py"), *root.glob("app.py"), *(root / "core").rglob("*.py")]
        if "mart_equity_cell" in p.read_text(encoding="utf-8")
    }
    # core/build/pipeline.py only names it as the build step's input.
    assert readers == {"core/equity.py", "core/build/equity_years.py", "core/build/pipeline.py"}


# --- suppression across periods: closed calendar years only ----------------------------------------------


def test_equity_periods_are_the_closed_calendar_years_and_anything_else_falls_back_with_a_reason():
    from datetime import date

    from core import periods

    start, end = date(2024, 10, 1), date(2026, 9, 30)  # the demo's span
    years = periods.closed_years(start, end)
    assert [p.token for p in years] == ["2025", "2024"]  # 2024 starts late in the data: closed all the same
    assert years[0] == periods.Period(date(2025, 1, 1), date(2025, 12, 31), "2025", "Year 2025")
    assert periods.closed_years(start, date(2025, 12, 31))[0].token == "2025"  # closed on its last day
    assert periods.closed_years(date(2025, 3, 1), date(2025, 12, 30)) == []
    assert periods.parse_closed_year("2025", date(2025, 3, 1), date(2025, 12, 30)) == (None, None)
    assert periods.parse_closed_year(None, start, end) == (years[0], None)
    assert periods.parse_closed_year("2024", start, end) == (years[1], None)
    for token in ("2025Q3", "last12", "2025-01-01..2025-06-30", "2026", "2019", "２０２５", "x" * 100):
        period, problem = periods.parse_closed_year(token, start, end)
        assert period == years[0] and problem and problem.endswith("showing Year 2025"), token
    assert "closed calendar year only" in periods.parse_closed_year("2025Q3", start, end)[1]
    assert "'2026' is not closed yet (data run to 30 Sep 2026)" in periods.parse_closed_year("2026", start, end)[1]
    assert "has no data" in periods.parse_closed_year("2019", start, end)[1]
    # The reads refuse anything else, so no caller can show two periods that overlap.
    quarter = periods.Period(date(2025, 7, 1), date(2025, 9, 30), "2025Q3", "2025 Q3")
    with pytest.raises(ValueError, match="closed calendar year only"):
        equity.closed_year(quarter, start, end)
    with pytest.raises(ValueError):
        equity.closed_year(periods.year_period(2026), start, end)
    assert equity.closed_year(years[1], start, end) == 2024


def _equity_page(email: str, params: dict):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    root = Path(__file__).resolve().parent.parent
    at = AppTest.from_file(str(root / "app.py"), default_timeout=60)
    at.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "x" * 32,
        "client_id": "scorecard",
        "client_secret": "secret",
        "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
    }
    at.user = {"is_logged_in": True, "email": email, "email_verified": True, "name": "N"}
    at.run()
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page("pages/equity.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


@pytest.mark.parametrize("token", ["2025Q3", "last12", "2026"])
def test_equity_page_offers_closed_years_only_and_a_link_to_another_period_falls_back(
    on_demo, monkeypatch, tmp_path, token
):
    path, truth, _ = on_demo
    monkeypatch.setenv("SCORECARD_STATE", str(tmp_path / "state.sqlite"))
    at = _equity_page(truth["personas"]["supply"], {"scope": "hospital", "period": token})
    picker = next(s for s in at.sidebar.selectbox if s.label == "Period")
    assert picker.options == ["Year 2025", "Year 2024"]  # no quarter, no last 12 months, no custom range
    assert picker.value.token == "2025"
    warnings = " ".join(w.value for w in at.warning)
    assert "closed calendar year only" in warnings and "showing Year 2025" in warnings
    assert at.query_params["period"] == "2025"  # the link now says what is shown
    # A closed year from a link is taken as it is, with no warning.
    at = _equity_page(truth["personas"]["supply"], {"scope": "hospital", "period": "2024"})
    assert not at.warning and "Year 2024" in " ".join(c.value for c in at.caption)


def test_equity_page_without_a_closed_year_says_so_and_shows_no_figures(fixture_db):
    ctx = scorecard.data_context(fixture_db)
    assert not ctx.closed_years()  # the fixture's cases all fall in 2026
    at = _equity_page("supply@fixture.org", {"scope": "hospital"})
    info = " ".join(i.value for i in at.info)
    assert f"The data run from {ctx.data_start:%d %b %Y} to {ctx.data_end:%d %b %Y}" in info
    assert "shown by closed calendar year only" in info
    assert not at.dataframe and not at.get("vega_lite_chart")


def test_rate_ratio_interval_matches_the_exact_conditional_binomial():
    # Conditional on 45 events, 30 fall in group 1: scipy's exact (Clopper–Pearson) interval for 30/45,
    # mapped to the ratio p/(1 − p) × e2/e1, must be what rate_ratio_interval gives.
    from scipy.stats import binomtest

    ci = binomtest(30, 45).proportion_ci(confidence_level=0.95, method="exact")
    ratio, low, high = equity.rate_ratio_interval([30], [10], [15], [12])
    assert ratio[0] == pytest.approx(3.0 / 1.25)
    assert low[0] == pytest.approx(ci.low / (1 - ci.low) * 12 / 10, rel=1e-9)
    assert high[0] == pytest.approx(ci.high / (1 - ci.high) * 12 / 10, rel=1e-9)
    _, low0, high0 = equity.rate_ratio_interval([0], [5], [10], [5])
    assert low0[0] == 0 and np.isfinite(high0[0])
    _, _, inf = equity.rate_ratio_interval([10], [5], [0], [5])
    assert np.isinf(inf[0])


# --- access -----------------------------------------------------------------------------------


def test_equity_scopes_by_role():
    lines = ["Cardiovascular", "Orthopaedics"]
    supply = access.Viewer("s@x", "supply")
    champion = access.Viewer("c@x", "champion", physician_id="P03", service_line="Orthopaedics")
    physician = access.Viewer("p@x", "physician", physician_id="P01")
    assert access.equity_scopes(supply, lines) == [
        ("hospital", ""),
        ("service_line", "Cardiovascular"),
        ("service_line", "Orthopaedics"),
    ]
    assert access.equity_scopes(champion, lines) == [("service_line", "Orthopaedics"), ("physician", "P03")]
    assert access.equity_scopes(physician, lines) == [("physician", "P01")]
    assert access.equity_scopes(access.Viewer("q@x", "physician"), lines) == []
    assert all("equity" in access.allowed_pages(v) for v in (supply, champion, physician))


# --- a source without post_acute or the optional equity columns ----------------------------------


def test_fixture_without_optional_data_builds_and_has_no_episode_or_extra_dimensions(fixture_db):
    assert db.fetch("mart_episode_position", path=fixture_db).empty
    assert db.fetch("mart_episode_case", path=fixture_db).empty
    frame = db.fetch("mart_equity_cell", path=fixture_db)  # no closed year in the fixture: the cells as they are
    assert set(frame["dimension"]) == {"payer", "patient_sex", "age_band"}
    assert db.fetch("mart_equity_group", path=fixture_db).empty
    result = report.report("P01", db_path=fixture_db)
    assert result["procedures"] and all(p["episode"] is None for p in result["procedures"])
    assert "episode" not in report.to_csv(result).splitlines()[0]
