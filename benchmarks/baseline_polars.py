"""The Polars baseline: the same scorecard figures as `benchmarks.baseline`, with Polars' lazy engine.

The pandas baseline is what an analyst writes first; this is the stronger one a performance-minded
analyst would write (README, *Performance*): the source Parquet is read once into Polars frames (supply
lines priced against the item master once, as in the pandas baseline), and each request is one lazy
query plan per figure group — filter the period's cases of the procedure, semi-join their supply and drug
lines, aggregate per case and per physician — collected by Polars' multi-threaded, columnar engine.
The same two things are taken rather than recomputed as in the pandas baseline (the per-case expected
values of the risk models from the built database, and `core.stats` for the funnel maths), so the
comparison is about getting the data there. `benchmarks.bench` checks every figure against Scorecard.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks.baseline import OUTCOME_COLUMNS, SETTING_DEFAULTS
from core import db, stats
from core.figures import CATEGORY_FIGURES
from core.periods import Period
from core.scorecard import physician_flag


@dataclass
class PolarsBaseline:
    """Cases, priced supply lines and drug lines held as Polars frames; settings; model flags."""

    cases: pl.DataFrame
    lines: pl.DataFrame | pl.LazyFrame
    drugs: pl.DataFrame | pl.LazyFrame
    lowest_preferred: pl.DataFrame
    settings: dict[str, float]
    adjusted: dict[tuple[str, str], bool]


def load(source: Path, db_path: Path, in_memory: bool = True) -> PolarsBaseline:
    """Read the source Parquet once (and the risk models' expected values from the database).

    With `in_memory=False` (10,000,000 cases: about 300M supply lines do not fit in this machine's
    memory as frames) the supply and drug lines stay lazy scans of the Parquet files, read per request.
    """
    source = Path(source)
    extract_outcomes = sorted({col for col, _ in OUTCOME_COLUMNS.values()} - {"los_days"})
    cases = (
        pl.scan_parquet(source / "cases.parquet")
        .select(
            "case_id",
            "physician_id",
            "procedure_code",
            "surgery_date",
            "discharge_date",
            "or_minutes",
            *[c for c in extract_outcomes if c in pl.read_parquet_schema(source / "cases.parquet")],
        )
        .with_columns(
            pl.col("surgery_date").cast(pl.Date),
            pl.col("discharge_date").cast(pl.Date),
            pl.col("case_id").cast(pl.Utf8).alias("case_key"),
        )
        .with_columns((pl.col("discharge_date") - pl.col("surgery_date")).dt.total_days().alias("los_days"))
        .collect()
    )
    expected = pl.from_pandas(
        db.fetch("mart_case", columns=["case_id", *[e for _, e in OUTCOME_COLUMNS.values()]], path=db_path)
    ).rename({"case_id": "case_key"})
    cases = cases.join(expected.with_columns(pl.col("case_key").cast(pl.Utf8)), on="case_key", how="left")
    # Each physician's expected values set against their peers alone, over all the data, as the build does
    # (mart_outcome_calibration): once per load, like the model fit itself.
    for observed_col, expected_col in OUTCOME_COLUMNS.values():
        sums = (
            cases.group_by("procedure_code", "physician_id")
            .agg(pl.col(observed_col).cast(pl.Float64).sum().alias("o"), pl.col(expected_col).sum().alias("e"))
            .with_columns(
                pl.col("o").sum().over("procedure_code").alias("total_o"),
                pl.col("e").sum().over("procedure_code").alias("total_e"),
            )
        )
        factor = stats.peer_calibration(
            sums["o"].to_numpy(), sums["e"].to_numpy(), sums["total_o"].to_numpy(), sums["total_e"].to_numpy()
        )
        cases = (
            cases.join(
                sums.select("procedure_code", "physician_id").with_columns(pl.Series("_factor", factor)),
                on=["procedure_code", "physician_id"],
                how="left",
            )
            .with_columns((pl.col(expected_col) * pl.col("_factor")).alias(expected_col))
            .drop("_factor")
        )
    items = pl.read_parquet(
        source / "items.parquet", columns=["item_id", "category", "unit_cost", "is_implant", "preferred"]
    )
    lines = (
        pl.scan_parquet(source / "supply_usage.parquet")
        .select("case_id", "item_id", "quantity", "unit_cost", "wasted_quantity")
        .join(items.lazy().rename({"unit_cost": "item_unit_cost"}), on="item_id", how="inner")
        .with_columns(pl.coalesce("unit_cost", "item_unit_cost").alias("price"), pl.col("wasted_quantity").fill_null(0))
        .with_columns(
            (pl.col("quantity") * pl.col("price")).alias("line_cost"),
            (pl.col("wasted_quantity") * pl.col("price")).alias("waste"),
        )
        .drop("unit_cost", "item_unit_cost", "item_id")
    )
    lines = lines.collect() if in_memory else lines
    drugs = pl.scan_parquet(source / "drug_usage.parquet").select("case_id", "cost")
    drugs = drugs.collect() if in_memory else drugs
    lowest = (
        items.filter(pl.col("preferred").cast(pl.Boolean) & pl.col("category").is_not_null())
        .group_by("category")
        .agg(pl.col("unit_cost").min().alias("lowest"))
    )
    raw = pl.read_parquet(source / "settings.parquet")
    given = {str(k).strip(): v for k, v in zip(raw["key"].to_list(), raw["value"].to_list(), strict=False)}
    settings = {}
    for k, v in SETTING_DEFAULTS.items():
        try:
            settings[k] = float(given[k])
        except (KeyError, TypeError, ValueError):
            settings[k] = float(v)
    models = db.fetch("mart_risk_model", columns=["procedure_code", "outcome", "adjusted_flag"], path=db_path)
    adjusted = {(r.procedure_code, r.outcome): bool(r.adjusted_flag) for r in models.itertuples()}
    return PolarsBaseline(cases, lines, drugs, lowest, settings, adjusted)


def request(
    data: PolarsBaseline, physician_id: str, procedure_code: str, period: Period, excluded: list[str] | None = None
) -> dict[str, Any] | None:
    """The same figures as `core.figures.request`, as lazy Polars queries over the in-memory frames."""
    s = data.settings
    chosen = data.cases.lazy().filter(
        (pl.col("procedure_code") == procedure_code) & pl.col("surgery_date").is_between(period.start, period.end)
    )
    if excluded:
        chosen = chosen.filter(~pl.col("case_key").is_in(list(excluded)))
    chosen = chosen.collect()
    if chosen.filter(pl.col("physician_id") == physician_id).height == 0:
        return None
    ids = chosen.lazy().select("case_id")
    lines = data.lines.lazy().join(ids, on="case_id", how="semi").collect()
    per_case = (
        lines.lazy()
        .group_by("case_id")
        .agg(
            pl.when(pl.col("is_implant")).then(0.0).otherwise(pl.col("line_cost")).sum().alias("supplies"),
            pl.when(pl.col("is_implant")).then(pl.col("line_cost")).otherwise(0.0).sum().alias("implants"),
            pl.col("waste").sum(),
        )
    )
    pharmacy = (
        data.drugs.lazy()
        .join(ids, on="case_id", how="semi")
        .group_by("case_id")
        .agg(pl.col("cost").sum().alias("pharmacy"))
    )
    costed = (
        chosen.lazy()
        .join(per_case, on="case_id", how="left")
        .join(pharmacy, on="case_id", how="left")
        .with_columns(pl.col("supplies", "implants", "waste", "pharmacy").fill_null(0.0))
        .with_columns(
            (pl.col("or_minutes") * s["or_cost_per_minute"]).alias("or_time"),
            (pl.col("los_days") * s["bed_day_cost"]).alias("bed_days"),
        )
        .with_columns(
            (
                pl.col("supplies") + pl.col("implants") + pl.col("pharmacy") + pl.col("or_time") + pl.col("bed_days")
            ).alias("cost")
        )
    ).collect()
    per_phys = (
        costed.lazy()
        .group_by("physician_id")
        .agg(
            pl.len().alias("case_count"),
            pl.col("cost").median().alias("median_case_cost_usd"),
            pl.col("supplies").mean().alias("supplies_usd"),
            pl.col("implants").mean().alias("implants_usd"),
            pl.col("pharmacy").mean().alias("pharmacy_usd"),
            pl.col("or_time").mean().alias("or_time_usd"),
            pl.col("bed_days").mean().alias("bed_days_usd"),
            pl.col("waste").mean().alias("waste_per_case_usd"),
        )
        .with_columns((pl.col("case_count") >= s["min_cases"]).alias("eligible_flag"))
    ).collect()
    peers = per_phys.filter(pl.col("eligible_flag"))
    shown = peers.height >= s["min_peers"]
    me = per_phys.filter(pl.col("physician_id") == physician_id).row(0, named=True)
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
    out["eligible_flag"] = bool(me["eligible_flag"])
    medians = peers["median_case_cost_usd"]
    out["peer_physician_count"] = peers.height if shown else None
    out["peer_median_case_cost_usd"] = medians.median() if shown else None
    out["best_quartile_case_cost_usd"] = medians.quantile(0.25, interpolation="linear") if shown else None
    if shown and me["eligible_flag"]:
        ranks = peers.with_columns(pl.col("median_case_cost_usd").rank("min").alias("r"))
        rank = ranks.filter(pl.col("physician_id") == physician_id)["r"][0]
        out["cost_percentile_pct"] = 100.0 * (rank - 1) / (peers.height - 1) if peers.height > 1 else 0.0
    else:
        out["cost_percentile_pct"] = None

    # Preferred use, switch saving and waste by category over the physician's lines.
    mine = costed.lazy().filter(pl.col("physician_id") == physician_id).select("case_id")
    cats = (
        lines.lazy()
        .join(mine, on="case_id", how="semi")
        .filter(pl.col("category").is_not_null())
        .join(data.lowest_preferred.lazy(), on="category", how="left")
        .with_columns(pl.col("lowest").is_not_null().alias("has_pref"))
        .with_columns(
            pl.when(pl.col("preferred")).then(pl.col("quantity")).otherwise(0).alias("pref_units"),
            pl.when(pl.col("preferred")).then(pl.col("line_cost")).otherwise(0.0).alias("pref_spend"),
            pl.when(~pl.col("preferred") & pl.col("has_pref"))
            .then(((pl.col("price") - pl.col("lowest").fill_null(0.0)) * pl.col("quantity")).clip(0.0))
            .otherwise(0.0)
            .alias("saving"),
        )
        .group_by("category")
        .agg(
            pl.col("quantity").sum().alias("units_count"),
            pl.col("pref_units").sum().alias("preferred_units_count"),
            pl.col("line_cost").sum().alias("spend_usd"),
            pl.col("pref_spend").sum().alias("preferred_spend"),
            pl.col("saving").sum().alias("switch_saving_usd"),
            pl.col("waste").sum().alias("waste_usd"),
            pl.col("has_pref").any(),
        )
        .with_columns(
            pl.when(pl.col("has_pref") & (pl.col("units_count") > 0))
            .then(100.0 * pl.col("preferred_units_count") / pl.col("units_count"))
            .otherwise(None)
            .alias("preferred_use_pct")
        )
    ).collect()
    pref = cats.filter(pl.col("has_pref"))
    units, spend = pref["units_count"].sum(), pref["spend_usd"].sum()
    out["preferred_use_pct"] = 100.0 * pref["preferred_units_count"].sum() / units if units > 0 else None
    out["preferred_spend_pct"] = 100.0 * pref["preferred_spend"].sum() / spend if spend > 0 else None
    out["switch_saving_usd"] = float(cats["switch_saving_usd"].sum())
    out["categories"] = {row["category"]: {k: row[k] for k in CATEGORY_FIGURES} for row in cats.iter_rows(named=True)}

    # Outcomes: observed and expected per physician in one pass; the funnel over the peers and the subject.
    per = (
        costed.lazy()
        .group_by("physician_id")
        .agg(
            pl.len().alias("case_count"),
            *[pl.col(obs).cast(pl.Float64).sum().alias(f"o_{key}") for key, (obs, _) in OUTCOME_COLUMNS.items()],
            *[pl.col(exp).sum().alias(f"e_{key}") for key, (_, exp) in OUTCOME_COLUMNS.items()],
        )
        .filter((pl.col("case_count") >= s["min_cases"]) | (pl.col("physician_id") == physician_id))
        .sort("physician_id")
    ).collect()
    i = per["physician_id"].to_list().index(physician_id)
    out["outcomes"] = {}
    for key in OUTCOME_COLUMNS:
        observed, expected = per[f"o_{key}"].to_list(), per[f"e_{key}"].to_list()
        # the eligible peers set φ and τ²; a subject under the minimum is drawn against them
        fun = stats.funnel(observed, expected, in_dispersion=[n >= s["min_cases"] for n in per["case_count"].to_list()])
        ratio, low, high = stats.oe_ratio(float(observed[i]), float(expected[i]))
        flag = physician_flag(fun.iloc[i], data.adjusted.get((procedure_code, key), False))
        out["outcomes"][key] = {
            "cases": int(per["case_count"][i]),
            "observed": float(observed[i]),
            "expected": float(expected[i]),
            "oe_ratio": ratio,
            "ci95_low": low,
            "ci95_high": high,
            "flag": flag,
        }
    return out
