"""The pandas baseline: the same scorecard figures, written the way an analyst would write them.

`core.bench` times this beside `core.figures.request` and checks that both give the same numbers
(README, *Performance*). It is deliberately straightforward, not a straw man: the extract's tables are read from
the source Parquet files into DataFrames *once* (`load`), the supply lines are priced against the item
master once, and then each request filters the period's cases of the procedure and recomputes the
figures with group-bys — case cost components, each physician's median and mean components, the
eligible peers, peer median, best quartile, percentile, preferred share, switch saving, waste and
the outcomes' observed and expected counts. That is what a notebook answering "how does Dr X compare
on TKA this year?" does.

Two things are taken rather than recomputed, and said so in the benchmark's output:
* the per-case expected values of the risk models come from the built database (`mart_case`):
  fitting the models is a once-per-build job, not part of a request, in either implementation;
* the funnel limits, O/E interval and flag use the same small functions of `core.stats` (math on a
  few dozen numbers, not data handling), and the physician's flag is the scorecard's own rule
  (`core.scorecard.physician_flag`): the comparison is about getting the data there.

Pure (no Streamlit); reads Parquet with pandas/pyarrow and the database only through `core.db`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core import db, metrics, stats
from core.figures import CATEGORY_FIGURES, OUTCOME_FIGURES, POSITION_FIGURES
from core.periods import Period
from core.scorecard import physician_flag

# outcome -> (observed column of the extract, or derived here; expected column in mart_case), from the registry
OUTCOME_COLUMNS = {o.key: (o.extract_column or o.key, o.expected_column) for o in metrics.OUTCOMES}
SETTING_DEFAULTS = {"or_cost_per_minute": 38.0, "bed_day_cost": 2400.0, "min_cases": 10, "min_peers": 5}


@dataclass
class Baseline:
    """The tables an analyst holds in memory: cases, priced supply lines, drug lines, settings."""

    cases: pd.DataFrame
    lines: pd.DataFrame
    drugs: pd.DataFrame
    lowest_preferred: pd.Series
    settings: dict[str, float]
    models: pd.DataFrame


def load(source: Path, db_path: Path) -> Baseline:
    """Read the source Parquet files once (and the risk models' expected values from the database)."""
    source = Path(source)
    cases = pd.read_parquet(
        source / "cases.parquet",
        columns=[
            "case_id",
            "physician_id",
            "procedure_code",
            "surgery_date",
            "discharge_date",
            "or_minutes",
            *(o.extract_column for o in metrics.OUTCOMES if o.extract_column),
        ],
    )
    cases["surgery_date"] = pd.to_datetime(cases["surgery_date"])
    cases["discharge_date"] = pd.to_datetime(cases["discharge_date"])
    cases["los_days"] = (cases["discharge_date"] - cases["surgery_date"]).dt.days
    cases["case_key"] = cases["case_id"].astype(str)
    expected = db.fetch("mart_case", columns=["case_id", *[e for _, e in OUTCOME_COLUMNS.values()]], path=db_path)
    cases = cases.merge(expected.rename(columns={"case_id": "case_key"}), on="case_key", how="left")
    # Each physician's expected values set against their peers alone, over all the data, as the build does
    # (mart_outcome_calibration): once per load, like the model fit itself.
    keys = pd.MultiIndex.from_frame(cases[["procedure_code", "physician_id"]])
    for observed_col, expected_col in OUTCOME_COLUMNS.values():
        sums = (
            cases.assign(_o=cases[observed_col].astype(float))
            .groupby(["procedure_code", "physician_id"])[["_o", expected_col]]
            .sum()
        )
        totals = sums.groupby(level="procedure_code").transform("sum")
        factor = stats.peer_calibration(sums["_o"], sums[expected_col], totals["_o"], totals[expected_col])
        cases[expected_col] = cases[expected_col] * pd.Series(factor, index=sums.index).reindex(keys).to_numpy()

    items = pd.read_parquet(
        source / "items.parquet", columns=["item_id", "category", "unit_cost", "is_implant", "preferred"]
    )
    lines = pd.read_parquet(
        source / "supply_usage.parquet", columns=["case_id", "item_id", "quantity", "unit_cost", "wasted_quantity"]
    )
    lines = lines.merge(items.rename(columns={"unit_cost": "item_unit_cost"}), on="item_id", how="inner")
    lines["price"] = lines["unit_cost"].fillna(lines["item_unit_cost"])
    lines["wasted_quantity"] = lines["wasted_quantity"].fillna(0)
    lines["line_cost"] = lines["quantity"] * lines["price"]
    lines["waste"] = lines["wasted_quantity"] * lines["price"]
    lines = lines.drop(columns=["unit_cost", "item_unit_cost", "item_id"])
    drugs = pd.read_parquet(source / "drug_usage.parquet", columns=["case_id", "cost"])
    lowest = items[items["preferred"].astype(bool) & items["category"].notna()].groupby("category")["unit_cost"].min()

    raw = pd.read_parquet(source / "settings.parquet")
    given = dict(zip(raw["key"].astype(str).str.strip(), pd.to_numeric(raw["value"], errors="coerce"), strict=False))
    settings = {
        k: float(given[k]) if k in given and pd.notna(given[k]) else float(v) for k, v in SETTING_DEFAULTS.items()
    }
    models = db.fetch("mart_risk_model", columns=["procedure_code", "outcome", "adjusted_flag"], path=db_path)
    return Baseline(cases, lines, drugs, lowest, settings, models.set_index(["procedure_code", "outcome"]))


def request(
    data: Baseline, physician_id: str, procedure_code: str, period: Period, excluded: list[str] | None = None
) -> dict[str, Any] | None:
    """The same figures as `core.figures.request`, recomputed from the DataFrames with group-bys."""
    s = data.settings
    c = data.cases
    start, end = pd.Timestamp(period.start), pd.Timestamp(period.end)
    mask = (c["procedure_code"] == procedure_code) & (c["surgery_date"] >= start) & (c["surgery_date"] <= end)
    if excluded:
        mask &= ~c["case_key"].isin(excluded)
    cases = c[mask].copy()
    if not (cases["physician_id"] == physician_id).any():
        return None

    # Case cost components: supply lines and drug lines of these cases, summed per case.
    lines = data.lines[data.lines["case_id"].isin(cases["case_id"])]
    per_case = (
        lines.assign(
            supplies=np.where(lines["is_implant"], 0.0, lines["line_cost"]),
            implants=np.where(lines["is_implant"], lines["line_cost"], 0.0),
        )
        .groupby("case_id")[["supplies", "implants", "waste"]]
        .sum()
    )
    pharmacy = data.drugs[data.drugs["case_id"].isin(cases["case_id"])].groupby("case_id")["cost"].sum()
    cases = cases.join(per_case, on="case_id").join(pharmacy.rename("pharmacy"), on="case_id")
    cases[["supplies", "implants", "waste", "pharmacy"]] = cases[["supplies", "implants", "waste", "pharmacy"]].fillna(
        0.0
    )
    cases["or_time"] = cases["or_minutes"] * s["or_cost_per_minute"]
    cases["bed_days"] = cases["los_days"] * s["bed_day_cost"]
    cases["cost"] = cases[["supplies", "implants", "pharmacy", "or_time", "bed_days"]].sum(axis=1)

    # Each physician's median case cost and mean components; eligibility; the peer group.
    per_phys = cases.groupby("physician_id").agg(
        case_count=("cost", "size"),
        median_case_cost_usd=("cost", "median"),
        supplies_usd=("supplies", "mean"),
        implants_usd=("implants", "mean"),
        pharmacy_usd=("pharmacy", "mean"),
        or_time_usd=("or_time", "mean"),
        bed_days_usd=("bed_days", "mean"),
        waste_per_case_usd=("waste", "mean"),
    )
    per_phys["eligible_flag"] = per_phys["case_count"] >= s["min_cases"]
    peers = per_phys[per_phys["eligible_flag"]]
    shown = len(peers) >= s["min_peers"]
    me = per_phys.loc[physician_id]
    out: dict[str, Any] = {
        "physician_id": physician_id,
        "procedure_code": procedure_code,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
    }
    out.update(
        {
            k: me[k]
            for k in (
                "case_count",
                "median_case_cost_usd",
                "supplies_usd",
                "implants_usd",
                "pharmacy_usd",
                "or_time_usd",
                "bed_days_usd",
                "waste_per_case_usd",
            )
        }
    )
    out["case_count"] = int(out["case_count"])
    out["eligible_flag"] = bool(me["eligible_flag"])
    out["peer_physician_count"] = len(peers) if shown else None
    out["peer_median_case_cost_usd"] = peers["median_case_cost_usd"].median() if shown else None
    out["best_quartile_case_cost_usd"] = peers["median_case_cost_usd"].quantile(0.25) if shown else None
    if shown and me["eligible_flag"]:
        # percent rank: 100 × (rank − 1)/(n − 1), ties sharing the lower rank
        rank = peers["median_case_cost_usd"].rank(method="min")[physician_id]
        out["cost_percentile_pct"] = 100.0 * (rank - 1) / (len(peers) - 1) if len(peers) > 1 else 0.0
    else:
        out["cost_percentile_pct"] = None

    # Preferred use, switch saving and waste by category over the physician's lines.
    my_lines = lines[lines["case_id"].isin(cases.loc[cases["physician_id"] == physician_id, "case_id"])]
    my_lines = my_lines[my_lines["category"].notna()]
    lowest = my_lines["category"].map(data.lowest_preferred)
    has_pref = lowest.notna()
    my_lines = my_lines.assign(
        has_pref=has_pref,
        pref_units=np.where(my_lines["preferred"], my_lines["quantity"], 0),
        pref_spend=np.where(my_lines["preferred"], my_lines["line_cost"], 0.0),
        saving=np.where(
            ~my_lines["preferred"] & has_pref,
            np.maximum(0.0, (my_lines["price"] - lowest.fillna(0.0)) * my_lines["quantity"]),
            0.0,
        ),
    )
    cats = my_lines.groupby("category").agg(
        units_count=("quantity", "sum"),
        preferred_units_count=("pref_units", "sum"),
        spend_usd=("line_cost", "sum"),
        preferred_spend=("pref_spend", "sum"),
        switch_saving_usd=("saving", "sum"),
        waste_usd=("waste", "sum"),
        has_pref=("has_pref", "any"),
    )
    cats["preferred_use_pct"] = np.where(
        cats["has_pref"] & (cats["units_count"] > 0),
        100.0 * cats["preferred_units_count"] / cats["units_count"].where(cats["units_count"] > 0),
        np.nan,
    )
    pref = cats[cats["has_pref"]]
    units, spend = pref["units_count"].sum(), pref["spend_usd"].sum()
    out["preferred_use_pct"] = 100.0 * pref["preferred_units_count"].sum() / units if units > 0 else None
    out["preferred_spend_pct"] = 100.0 * pref["preferred_spend"].sum() / spend if spend > 0 else None
    out["switch_saving_usd"] = float(cats["switch_saving_usd"].sum())
    out["categories"] = {cat: {k: row[k] for k in CATEGORY_FIGURES} for cat, row in cats.iterrows()}

    # Outcomes: observed and expected per physician; the funnel of the eligible peers, with the subject.
    out["outcomes"] = {}
    group = cases.groupby("physician_id")
    for outcome, (observed_col, expected_col) in OUTCOME_COLUMNS.items():
        per = pd.DataFrame(
            {
                "case_count": group.size(),
                "observed": group[observed_col].sum().astype(float),
                "expected": group[expected_col].sum(),
            }
        )
        per = per[(per["case_count"] >= s["min_cases"]) | (per.index == physician_id)]
        # the eligible peers set φ and τ²; a subject under the minimum is drawn against them
        fun = stats.funnel(
            per["observed"].tolist(), per["expected"].tolist(), in_dispersion=per["case_count"] >= s["min_cases"]
        )
        i = list(per.index).index(physician_id)
        f, r = fun.iloc[i], per.loc[physician_id]
        ratio, low, high = stats.oe_ratio(float(r["observed"]), float(r["expected"]))
        key = (procedure_code, outcome)
        adjusted = bool(data.models.loc[key, "adjusted_flag"]) if key in data.models.index else False
        flag = physician_flag(f, adjusted)
        out["outcomes"][outcome] = {
            "cases": int(r["case_count"]),
            "observed": float(r["observed"]),
            "expected": float(r["expected"]),
            "oe_ratio": ratio,
            "ci95_low": low,
            "ci95_high": high,
            "flag": flag,
        }
    return out


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _same(a: Any, b: Any, rel: float) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    x, y = _number(a), _number(b)
    if x is None or y is None:
        return x is None and y is None
    return math.isclose(x, y, rel_tol=rel, abs_tol=1e-6)


def compare(scorecard: dict[str, Any] | None, baseline: dict[str, Any] | None, rel: float = 1e-6) -> list[str]:
    """Where the two implementations disagree (relative tolerance `rel`): an empty list when they agree."""
    if scorecard is None or baseline is None:
        return [] if scorecard is baseline else ["one implementation found no cases"]
    problems = []
    for name in POSITION_FIGURES:
        if not _same(scorecard.get(name), baseline.get(name), rel):
            problems.append(f"{name}: scorecard {scorecard.get(name)!r} vs pandas {baseline.get(name)!r}")
    for label, section, names in (
        ("category", "categories", CATEGORY_FIGURES),
        ("outcome", "outcomes", OUTCOME_FIGURES),
    ):
        mine, theirs = scorecard.get(section, {}), baseline.get(section, {})
        if set(mine) != set(theirs):
            problems.append(f"{section}: scorecard {sorted(mine)} vs pandas {sorted(theirs)}")
        for key in set(mine) & set(theirs):
            for name in names:
                if not _same(mine[key].get(name), theirs[key].get(name), rel):
                    problems.append(
                        f"{label} {key} {name}: scorecard {mine[key].get(name)!r} vs pandas {theirs[key].get(name)!r}"
                    )
    return problems
