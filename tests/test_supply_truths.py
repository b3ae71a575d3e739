"""The demo's supply-chain truths come out of the marts and `core report` (issue 14): the preferred item
on backorder, the single-source preferred item, the surgeon using costly drugs where the formulary prefers
another, and the programme whose savings materialise in some categories and not in others.

One demo source at the `make run` size (20,000 cases, seed 42) is generated and built once.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from core import access, db, supply_risk
from core.build.pipeline import build
from core.periods import Period
from core.tools.demo import write_demo_source


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo_supply")
    truth = write_demo_source(folder / "source", cases=20_000, seed=42, fmt="parquet")
    result = build(folder / "source", folder / "demo.duckdb")
    assert result.ok and not result.warnings, [g.render() for g in result.problems]
    return folder / "demo.duckdb", truth


def test_truth_records_the_supply_chain_plants(demo):
    _, truth = demo
    assert json.loads(json.dumps(truth))["supply_risk"]["backorder_preferred_item"]["category"] == "Guidewires"
    assert truth["savings_programme"]["program_start_date"] == truth["default_period"]["start"]


def test_the_preferred_item_on_backorder_is_found_with_its_alternative(demo):
    path, truth = demo
    planted = truth["supply_risk"]["backorder_preferred_item"]
    risks = db.fetch("mart_supply_risk_item", where={"service_line": None}, path=path).set_index("item_id")
    row = risks.loc[planted["item_id"]]
    assert row["backorder_flag"] and row["preferred_flag"] and row["case_count"] > 100
    category = db.fetch("mart_category_preferred_risk", where={"category": planted["category"]}, path=path).iloc[0]
    assert category["backorder_preferred_count"] == 1 and category["preferred_at_risk_flag"]
    # Every physician who used it in the default period gets the notice, with the other preferred guidewire
    # and the category's evidence.
    users = set(db.fetch("mart_category_use", where={"item_id": planted["item_id"]}, path=path)["physician_id"])
    notices = db.fetch("mart_physician_backorder", where={"item_id": planted["item_id"]}, path=path)
    assert set(notices["physician_id"]) == users and len(users) >= 5
    assert set(notices["alternative_item_id"]) == {planted["alternative_item_id"]}
    assert set(notices["alternative_preferred_flag"]) == {True}
    assert set(notices["evidence_id"]) == {planted["evidence_id"]}
    assert set(notices["evidence_grade"]) == {planted["evidence_grade"]}
    alternatives = db.fetch(
        "mart_supply_risk_alternative",
        where={"item_id": planted["item_id"]},
        path=path,
        order_by=["alternative_preferred_flag desc", "alternative_unit_cost_usd"],
    )
    first = alternatives.iloc[0]
    assert first["alternative_item_id"] == planted["alternative_item_id"] and first["physician_count"] >= 5


def test_the_single_source_preferred_item_is_the_only_one_and_marked_beside_its_saving(demo):
    path, truth = demo
    planted = truth["supply_risk"]["single_source_preferred_item"]
    flagged = db.fetch("mart_category_preferred_risk", where={"preferred_at_risk_flag": True}, path=path)
    single = flagged[flagged["single_source_preferred_count"] > 0]
    assert single["category"].tolist() == [planted["category"]]
    items = db.fetch("mart_item", where={"item_id": planted["item_id"]}, path=path).iloc[0]
    assert items["preferred_flag"] and items["approved_sources_count"] == 1
    # Knee implants are also the biggest standardization win: the tension the supply view must show.
    ranking = db.fetch("mart_category_summary", path=path, order_by=["switch_saving_usd desc"])
    assert ranking.iloc[0]["category"] == planted["category"]
    risks = db.fetch("mart_supply_risk_item", where={"service_line": "Orthopaedics"}, path=path).set_index("item_id")
    assert risks.at[planted["item_id"], "single_source_flag"]


def test_the_costly_drug_surgeon_is_found_by_the_marts_and_the_report(demo):
    path, truth = demo
    plant = truth["formulary"]
    pid = plant["costly_drug_physician"]
    for code in plant["costly_drug_procedures"]:
        pos = db.fetch("mart_pharmacy_position", where={"procedure_code": code, "eligible_flag": True}, path=path)
        per_case = (pos["drug_switch_saving_usd"] / pos["case_count"]).set_axis(pos["physician_id"])
        assert per_case.idxmax() == pid, code
        assert per_case[pid] > 2 * per_case.drop(pid).max(), code
        classes = db.fetch(
            "mart_pharmacy_class_position", where={"procedure_code": code, "physician_id": pid}, path=path
        ).set_index("drug_class")
        for drug_class in ("Local anaesthetic", "Neuromuscular reversal"):
            if drug_class in classes.index:
                row = classes.loc[drug_class]
                assert row["spend_per_case_usd"] > 2 * row["peer_median_per_case_usd"], (code, drug_class)
    out = subprocess.run(
        [sys.executable, "-m", "core", "report", "--db", str(path), "--physician", pid],
        capture_output=True,
        text=True,
        check=True,
    )
    entries = {e["procedure_code"]: e for e in json.loads(out.stdout)["procedures"]}
    for code in plant["costly_drug_procedures"]:
        local = entries[code]["pharmacy_by_class_usd"]["Local anaesthetic"]
        assert local["own"] > 2 * local["peer_median"]
        assert entries[code]["drug_switch_saving_usd"] > 1000
    # A surgeon without the habit: some saving, far less per case.
    other = db.fetch("mart_pharmacy_position", where={"procedure_code": "LCH", "eligible_flag": True}, path=path)
    other = other[other["physician_id"] != pid].iloc[0]
    peer = json.loads(
        subprocess.run(
            [sys.executable, "-m", "core", "report", "--db", str(path), "--physician", other["physician_id"]],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    lch = next(e for e in peer["procedures"] if e["procedure_code"] == "LCH")
    turner = entries["LCH"]["drug_switch_saving_usd"] / entries["LCH"]["cases"]
    assert lch["drug_switch_saving_usd"] / lch["cases"] < turner / 2


def test_savings_materialise_where_planted_and_not_elsewhere(demo):
    path, truth = demo
    plan = truth["savings_programme"]
    summary = db.fetch("mart_savings_summary", path=path).iloc[0]
    assert str(summary["program_start_date"])[:10] == plan["program_start_date"]
    assert str(summary["baseline_start_date"])[:10] == plan["baseline"]["start"]
    assert str(summary["baseline_end_date"])[:10] == plan["baseline"]["end"]
    assert summary["savings_target_usd"] == plan["savings_target_usd"]
    cats = db.fetch("mart_savings_category", where={"savings_kind": "supply"}, path=path).set_index("savings_category")
    for category in plan["materialised"]:
        assert cats.at[category, "achieved_saving_usd"] > 100_000, category
        assert cats.at[category, "achieved_pct"] > 4, category
    for category in plan["not_materialised"]:
        assert abs(cats.at[category, "achieved_pct"]) < 2, category
    # The planted categories are the two largest savings among the supply categories.
    top = cats.sort_values("achieved_saving_usd", ascending=False).index[:2].tolist()
    assert sorted(top) == sorted(plan["materialised"])
    # The holdouts did not switch: their stent saving is about nothing, their peers' is not.
    by_physician = db.fetch("mart_savings_physician", where={"savings_category": "Cardiac stents"}, path=path)
    holdout = by_physician[by_physician["physician_id"].isin(plan["holdouts"])]
    others = by_physician[~by_physician["physician_id"].isin(plan["holdouts"])]
    assert holdout["achieved_saving_usd"].sum() < 0.1 * others["achieved_saving_usd"].sum()


def test_a_champion_sees_the_backorder_blinded_in_their_service_line(demo, monkeypatch):
    path, truth = demo
    monkeypatch.setenv("SCORECARD_DB", str(path))
    line, champion = "Cardiovascular", truth["champions"]["Cardiovascular"]["physician_id"]
    viewer = access.Viewer("c@x", "champion", champion, line)
    period = Period(
        *[__import__("datetime").date.fromisoformat(truth["default_period"][k]) for k in ("start", "end")],
        "last12",
        "Last 12 months",
    )
    ranking = supply_risk.risk_ranking(viewer, period)
    item = truth["supply_risk"]["backorder_preferred_item"]["item_id"]
    assert item in ranking["item_id"].tolist() and set(ranking["service_line"]) == {line}
    users = supply_risk.item_users(viewer, item, period, b"secret")
    assert "physician_id" not in users and users["label"].str.match(r"Surgeon [A-Z]+$|You").all()
