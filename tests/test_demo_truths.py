"""The demo's planted truths come out of the built marts and the scorecard figures (issues 2, 3).

One demo source at the `make run` size (20,000 cases, seed 42) is generated and built once.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from core import db
from core.build.pipeline import build
from core.tools import report
from core.tools.demo import write_demo_source

COMPONENT_OF = {
    "costly_implants": "implants_usd",
    "costly_extra_items": "supplies_usd",
    "costly_or_time": "or_time_usd",
    "costly_pharmacy": "pharmacy_usd",
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    truth = write_demo_source(folder / "source", cases=20_000, seed=42, fmt="parquet")
    result = build(folder / "source", folder / "demo.duckdb")
    assert result.ok and not result.warnings, [g.render() for g in result.problems]
    return folder / "demo.duckdb", truth


def _positions(path):
    return db.fetch("mart_cost_position", path=path).set_index(["physician_id", "procedure_code"])


def test_truth_file_records_what_was_planted(demo):
    _, truth = demo
    assert truth["generator"] == "scorecard-demo" and truth["cases"] == 20_000
    assert json.loads(json.dumps(truth))["planted"]["few_eligible_procedure"]


@pytest.mark.parametrize("kind", list(COMPONENT_OF))
def test_costly_physicians_sit_above_the_peer_median_for_the_right_component(demo, kind):
    path, truth = demo
    positions = _positions(path)
    for pid in truth["planted"][kind]:
        rows = positions.loc[pid]
        rows = rows[rows["eligible_flag"] & rows["peers_shown_flag"]]
        assert len(rows), pid
        component = COMPONENT_OF[kind]
        for code, row in rows.iterrows():
            # Above the peer median for the component the plant drives, and by a clear margin.
            assert row[component] > 1.2 * row[f"peer_{component}"], (kind, pid, code, row[component])
            if kind == "costly_implants":  # implants dominate joints: the whole case costs more
                assert row["median_case_cost_usd"] > row["peer_median_case_cost_usd"], (pid, code)


def test_wasteful_physicians_waste_more_than_everyone_else(demo):
    path, truth = demo
    positions = _positions(path).reset_index()
    for pid in truth["planted"]["costly_waste"]:
        for code in positions.loc[positions["physician_id"] == pid, "procedure_code"]:
            same = positions[positions["procedure_code"] == code]
            mine = same["physician_id"] == pid
            assert same.loc[mine, "waste_per_case_usd"].iloc[0] > 3 * same.loc[~mine, "waste_per_case_usd"].median()


def test_worse_outcomes_are_above_one_and_flagged(demo, monkeypatch):
    path, truth = demo
    monkeypatch.setenv("SCORECARD_DB", str(path))
    flags = []
    for entry in truth["planted"]["worse_outcomes"]:
        figures = report.report(entry["physician_id"], db_path=path)
        proc = next(p for p in figures["procedures"] if p["procedure_code"] == entry["procedure_code"])
        for outcome in entry["outcomes"]:
            assert proc["outcomes"][outcome]["oe_ratio"] > 1.5
            flags.append(proc["outcomes"][outcome]["flag"])
    assert all(f in ("high_95", "high_998") for f in flags), flags
    assert sum(f == "high_998" for f in flags) >= len(flags) / 2, flags


def test_sicker_patients_raise_raw_rates_but_are_not_flagged(demo, monkeypatch):
    path, truth = demo
    monkeypatch.setenv("SCORECARD_DB", str(path))
    cases = db.fetch(
        "mart_period_case", columns=["physician_id", "procedure_code", "complication_flag", "asa_class"], path=path
    )
    for entry in truth["planted"]["sicker_patients"]:
        same = cases[cases["procedure_code"] == entry["procedure_code"]]
        mine = same["physician_id"] == entry["physician_id"]
        assert same.loc[mine, "asa_class"].mean() > same.loc[~mine, "asa_class"].mean() + 0.5
        assert same.loc[mine, "complication_flag"].mean() > same.loc[~mine, "complication_flag"].mean()
        figures = report.report(entry["physician_id"], db_path=path)
        proc = next(p for p in figures["procedures"] if p["procedure_code"] == entry["procedure_code"])
        assert all(o["flag"] not in ("high_95", "high_998") for o in proc["outcomes"].values()), proc["outcomes"]


def test_few_eligible_procedure_shows_no_peer_figures(demo):
    path, truth = demo
    code = truth["planted"]["few_eligible_procedure"]
    rows = db.fetch("mart_cost_position", where={"procedure_code": code}, path=path)
    assert not rows["peers_shown_flag"].any() and rows["peer_median_case_cost_usd"].isna().all()


def test_below_min_cases_physicians_are_not_eligible(demo):
    path, truth = demo
    positions = _positions(path)
    for entry in truth["planted"]["below_min_cases"]:
        row = positions.loc[(entry["physician_id"], entry["procedure_code"])]
        assert not row["eligible_flag"] and row["cost_percentile_pct"] != row["cost_percentile_pct"]


def test_the_builds_calls_are_the_ones_a_request_computes(demo, monkeypatch):
    """mart_outcome_summary_default (every call made at build time) and the calls a request makes itself
    from the live views agree for every physician, eligible or not: figures, words, limits and funnels."""
    from core import access, scorecard

    path, _ = demo
    monkeypatch.setenv("SCORECARD_DB", str(path))
    ctx = scorecard.data_context()
    period = ctx.default_period()
    pairs = db.fetch("mart_cost_position", columns=["physician_id", "procedure_code", "eligible_flag"], path=path)
    assert len(db.fetch("mart_funnel_default", path=path)) > 0
    assert (~pairs["eligible_flag"]).sum() > 0  # the demo has physicians under the minimum: they are checked too
    text = ["outcome", "label", "flag", "verdict", "tone", "colour", "badge", "limits", "limits_reason"]
    numbers = ["observed", "expected", "oe_ratio", "ci95_low", "ci95_high", "lower95", "upper998", "phi", "tau2"]
    fast = {
        (pid, code): scorecard.outcome_summary(pid, code, period, []) for pid, code, _ in pairs.itertuples(index=False)
    }
    admin = access.Viewer(email="admin@example.org", role="admin")
    codes = pairs["procedure_code"].unique()[:4]
    built = {
        (code, o): scorecard.funnel_data(admin, None, code, o, period, b"s" * 32, ctx.min_peers)
        for code in codes
        for o in ("complication", "readmit_30d", "los_days")
    }
    # Without the build's calls or dispersion, and with an excluded id that matches no case (the live
    # views), every call is made here from the whole peer group.
    monkeypatch.setattr(scorecard, "_has_summary", lambda version: False)
    monkeypatch.setattr(scorecard, "_dispersions", lambda version: {})
    for pid, code, _ in pairs.itertuples(index=False):
        full = scorecard.outcome_summary(pid, code, period, ["no-such-case"])
        mine = fast[(pid, code)]
        assert list(mine.columns) == list(full.columns) == scorecard.SUMMARY_COLUMNS
        assert mine[text].equals(full[text]), (pid, code)
        for col in numbers:
            assert mine[col].to_numpy() == pytest.approx(full[col].to_numpy(), rel=1e-9, nan_ok=True), (pid, code, col)
    for code in codes:
        for outcome in ("complication", "readmit_30d", "los_days"):
            points, meta_b = built[(code, outcome)]
            live, meta_l = scorecard.funnel_data(
                admin, None, code, outcome, period, b"s" * 32, ctx.min_peers, ["no-such-case"]
            )
            assert points["flag"].tolist() == live["flag"].tolist()
            cols = ["expected", "ratio", "lower95", "upper95", "lower998", "upper998"]
            assert points[cols].to_numpy() == pytest.approx(live[cols].to_numpy(), rel=1e-9, nan_ok=True)
            assert meta_b["group_expected"] == pytest.approx(meta_l["group_expected"], rel=1e-9)


def test_every_rendered_outcome_sentence_matches_its_interval(demo, monkeypatch):
    """Every physician and procedure of the demo, default period: flag, words, colour and interval agree."""
    from test_verdict import _check

    from core import scorecard, stats
    from core.output import sentences

    path, _ = demo
    monkeypatch.setenv("SCORECARD_DB", str(path))
    ctx = scorecard.data_context(path)
    period = ctx.default_period()
    pairs = db.fetch("mart_cost_position_default", columns=["physician_id", "procedure_code"], path=path)
    seen = 0
    for pid, code in pairs.itertuples(index=False):
        for row in scorecard.outcome_summary(pid, code, period).to_dict("records"):
            text = sentences.outcome_sentence(row)
            assert row["verdict"] in text
            side = "above" if row["ci95_low"] > 1 else "below" if row["ci95_high"] < 1 else "spans"
            _check(row["flag"], side, row["tone"], row["verdict"])
            assert row["colour"] == stats.TONE_COLOURS[row["tone"]]
            seen += 1
    assert seen > 400


def test_small_department_is_fair_and_cabg_mortality_stays_adjusted(demo, monkeypatch):
    path, truth = demo
    monkeypatch.setenv("SCORECARD_DB", str(path))
    small = truth["planted"]["small_department"]
    assert 8 <= small["physicians"] <= 12
    code = small["procedure_code"]
    worse = report.report(small["worse_outcomes"], db_path=path)
    sicker = report.report(small["sicker_patients"], db_path=path)
    w = next(p for p in worse["procedures"] if p["procedure_code"] == code)["outcomes"]["complication"]
    s = next(p for p in sicker["procedures"] if p["procedure_code"] == code)["outcomes"]
    assert w["limits"] == "exact" and w["flag"] in ("high_95", "high_998")
    assert all(o["flag"] not in ("high_95", "high_998") for o in s.values())
    # Reliability-adjusted figures sit beside the raw ones, pulled towards the peers.
    assert 0 < w["reliability"] < 1 and 1 < w["shrunken_oe_ratio"] < w["oe_ratio"]
    models = db.fetch("mart_risk_model", where={"procedure_code": "CABG", "outcome": "mortality"}, path=path)
    assert bool(models["adjusted_flag"].iloc[0]), models["model_note"].iloc[0]


def test_reliability_view_matches_stats_and_vlad_is_the_running_sum(demo):
    from core import stats

    path, _ = demo
    rel = db.fetch("mart_outcome_reliability_default", path=path)
    settings = db.fetch("mart_settings", path=path).iloc[0]
    for _, group in rel.groupby(["procedure_code", "outcome"]):
        group = group.reset_index(drop=True)
        ref = stats.shrink_oe(group["observed_count"], group["expected_count"], group["eligible_flag"])
        shown = group["adjusted_flag"] & (group["eligible_flag"].sum() >= int(settings["min_peers_count"]))
        if not shown.any():
            assert group["shrunken_oe_ratio"].isna().all()
            continue
        np.testing.assert_allclose(
            group.loc[shown, "reliability"], ref.loc[shown, "reliability"], rtol=1e-9, atol=1e-12
        )
        np.testing.assert_allclose(
            group.loc[shown, "shrunken_oe_ratio"], ref.loc[shown, "shrunken_oe_ratio"], rtol=1e-9
        )
    vlad = db.fetch(
        "mart_outcome_vlad",
        where={"physician_id": "PH051", "procedure_code": "HYS", "outcome": "complication"},
        order_by=["case_number"],
        path=path,
    )
    cases = db.fetch(
        "mart_case",
        where={"physician_id": "PH051", "procedure_code": "HYS"},
        order_by=["surgery_date", "case_id"],
        path=path,
    )
    # Each case's risk is set against the surgeon's peers alone (mart_outcome_calibration): the factor is
    # stats.peer_calibration's over the procedure's cases.
    everyone = db.fetch("mart_case", where={"procedure_code": "HYS"}, path=path)
    per = (
        everyone.assign(o=everyone["complication_flag"].astype(float))
        .groupby("physician_id")[["o", "expected_complication_rate"]]
        .sum()
    )
    factor = stats.peer_calibration(
        per["o"], per["expected_complication_rate"], per["o"].sum(), per["expected_complication_rate"].sum()
    )
    calibration = db.fetch(
        "mart_outcome_calibration", where={"procedure_code": "HYS", "outcome": "complication"}, path=path
    ).set_index("physician_id")
    np.testing.assert_allclose(calibration.loc[per.index, "peer_factor"], factor, rtol=1e-9)
    own = float(calibration.loc["PH051", "peer_factor"])
    assert own < 1  # the worse surgeon's peers have fewer events than the pooled model expects of them
    o = cases["complication_flag"].astype(float).to_numpy()
    e = np.minimum(cases["expected_complication_rate"].to_numpy() * own, 0.999)
    np.testing.assert_array_equal(vlad["case_number"], np.arange(1, len(cases) + 1))
    np.testing.assert_allclose(vlad["vlad_count"], np.cumsum(e - o))
    # The mart's window-sum CUSUM is the recursive one.
    np.testing.assert_allclose(vlad["cusum_count"], stats.ra_cusum(o, e), atol=1e-9)
    assert vlad["cusum_signal_flag"].iloc[-1] and (vlad["cusum_limit_count"] == stats.CUSUM_LIMIT).all()
    # The worse surgeon's chart ends well below 0: more complications than their patients' risk predicts.
    assert vlad["vlad_count"].iloc[-1] < -5


def test_personal_deck_shows_reliability_and_outcomes_over_time(demo, monkeypatch):
    from core import access, presentation, scorecard

    path, truth = demo
    monkeypatch.setenv("SCORECARD_DB", str(path))
    small = truth["planted"]["small_department"]
    users = db.fetch("mart_user", path=path)
    email = users.loc[users["physician_id"] == small["worse_outcomes"], "email"].iloc[0]
    viewer = access.Viewer(email=email, role="physician", physician_id=small["worse_outcomes"])
    period = scorecard.data_context(path).default_period()
    deck = presentation.scorecard_deck(viewer, small["worse_outcomes"], small["procedure_code"], period, b"secret")
    slides = {s.key: s for s in deck.slides}
    assert "shrunken_oe_ratio" in slides["outcomes"].data and "reliability" in slides["outcomes"].data
    funnel = slides["funnel-complication"]
    shrunk = next(f for f in funnel.figures if f.label == "Shrunken O/E")
    assert "reliability" in shrunk.note
    over = slides["over-time"]
    assert "more than your patients' risk predicts" in over.headline and "vlad_count" in over.data


def test_an_accepted_flag_changes_only_its_procedures_calls(demo, monkeypatch):
    """With a case's flag accepted, its procedure's calls are made afresh without it, and every other
    procedure keeps reading the build's calls (a call depends only on its procedure's cases)."""
    from core import scorecard

    path, _ = demo
    monkeypatch.setenv("SCORECARD_DB", str(path))
    period = scorecard.data_context().default_period()
    case = db.fetch("mart_period_case", columns=["case_id", "physician_id", "procedure_code"], limit=1, path=path)
    case_id, pid, code = (str(v) for v in case.iloc[0])
    before = scorecard.outcome_summary(pid, code, period, [])
    after = scorecard.outcome_summary(pid, code, period, [case_id])
    assert (after["cases"] == before["cases"] - 1).all()
    variables = scorecard.period_variables(period, [case_id])
    assert not scorecard._reads_build_calls(code, variables)
    others = db.fetch("mart_cost_position", columns=["physician_id", "procedure_code"], path=path)
    other_pid, other_code = next((p, c) for p, c in others.itertuples(index=False) if c != code)
    assert scorecard._reads_build_calls(other_code, variables)
    assert scorecard.outcome_summary(other_pid, other_code, period, [case_id]).equals(
        scorecard.outcome_summary(other_pid, other_code, period, [])
    )
