"""Outcomes and cost by patient group (README, *Equity*): reads and intervals, no Streamlit.

Value-based programmes are asked to track equity, not only cost: do Medicaid, dual-eligible, older or
minority patients have worse risk-adjusted outcomes, or cost more, than the patients beside them?
`mart_equity_group` answers per scope (the hospital, a service line, a physician's own patients),
dimension and group, with every small cell already suppressed in SQL (CMS cell-size rule: 1–10 cases
or events show nothing, and a second cell is suppressed when one would otherwise be recoverable by
subtraction). This module adds only row-wise arithmetic on what the mart returns — the exact Poisson
interval of each O/E (`core.stats`), and each group's gap to the dimension's reference group (its
largest shown group) with its interval — and never a total.

Who may see which scope is decided in `core.access.equity_scopes`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import beta, norm

from core import db, metrics, scorecard, stats
from core.periods import Period

MIN_CELL = 11  # the CMS cell-size rule: counts of 1–10 are never shown (mart_equity_group)
MEASURES = ("cost", "complication", "readmit_30d", "ssi", "mortality")
MEASURE_LABELS = {"cost": "Cost per case", **{o.key: o.label for o in metrics.OUTCOMES if o.key in MEASURES}}
_Z95 = float(norm.ppf(0.975))
# A gap is called clear only beyond 99.8%, as a physician is called out only outside the funnel's 99.8%
# limit: a page compares dozens of groups, and at 95% one in twenty would differ by chance alone.
CLEAR_LEVEL = 0.998
_Z_CLEAR = float(norm.ppf(1 - (1 - CLEAR_LEVEL) / 2))


def rate_ratio_interval(o1, e1, o2, e2, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ratio, low, high) of (o1/e1) ÷ (o2/e2), exact conditional on o1 + o2 (vectorised).

    Given n = o1 + o2 events, o1 is binomial with p = R·e1 / (R·e1 + e2); the Clopper–Pearson interval
    for p maps to R = p / (1 − p) · e2 / e1 (Breslow & Day 1987, vol. II §2.4; the method of
    `poisson.test` for two samples in R). o1 = 0 gives a lower limit of 0; o2 = 0 an upper of ∞.
    """
    o1, e1, o2, e2 = (np.asarray(x, dtype=float) for x in (o1, e1, o2, e2))
    alpha = 1 - level
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (o1 / e1) / (o2 / e2)
        p_low = np.where(o1 > 0, beta.ppf(alpha / 2, np.maximum(o1, 1e-12), o2 + 1), 0.0)
        p_high = np.where(o2 > 0, beta.ppf(1 - alpha / 2, o1 + 1, np.maximum(o2, 1e-12)), 1.0)
        low = p_low / (1 - p_low) * e2 / e1
        high = np.where(p_high < 1, p_high / (1 - p_high) * e2 / e1, np.inf)
    bad = ~(np.isfinite(e1) & np.isfinite(e2) & (e1 > 0) & (e2 > 0) & np.isfinite(o1) & np.isfinite(o2))
    return (np.where(bad, np.nan, ratio), np.where(bad, np.nan, low), np.where(bad, np.nan, high))


def groups(scope: str, scope_value: str, period: Period, excluded: list[str] | None = None) -> pd.DataFrame:
    """Every (dimension, group, measure) cell of one scope, with intervals and gaps; suppressed cells stay empty.

    Columns added to the mart's: `oe_ratio`, `ci95_low`, `ci95_high` (outcomes: exact Poisson; cost: the
    cost index's normal interval), `gap`, `gap_low`, `gap_high` (outcomes: ratio of O/E to the reference
    group's, exact conditional interval; cost: difference of cost index, Welch interval) and
    `gap_clear` (the 99.8% interval of the gap excludes no difference: see CLEAR_LEVEL).
    """
    frame = db.fetch(
        "mart_equity_group",
        where={"scope": scope, "scope_value": scope_value},
        variables=scorecard.period_variables(period, excluded),
        order_by=["dimension_order", "measure", "group_value"],
    )
    if frame.empty:
        return frame.assign(oe_ratio=[], ci95_low=[], ci95_high=[], gap=[], gap_low=[], gap_high=[], gap_clear=[])
    cost = (frame["measure"] == "cost").to_numpy()
    obs = frame["observed_count"].astype(float).to_numpy()
    exp = frame["expected_count"].astype(float).to_numpy()
    ratio, low, high = stats.oe_ratios(np.nan_to_num(obs), np.where(np.isfinite(exp), exp, np.nan))
    n = frame["case_count"].astype(float).to_numpy()
    index = frame["cost_index"].astype(float).to_numpy()
    se = np.sqrt(frame["cost_index_var"].astype(float).to_numpy() / n)
    shown = ~frame["suppressed_flag"].to_numpy(dtype=bool)
    frame["oe_ratio"] = np.where(shown, np.where(cost, index, ratio), np.nan)
    frame["ci95_low"] = np.where(shown, np.where(cost, index - _Z95 * se, low), np.nan)
    frame["ci95_high"] = np.where(shown, np.where(cost, index + _Z95 * se, high), np.nan)
    rr, rr_low, rr_high = rate_ratio_interval(
        obs, exp, frame["ref_observed_count"].astype(float), frame["ref_expected_count"].astype(float)
    )
    ref_se = np.sqrt(
        frame["ref_cost_index_var"].astype(float).to_numpy() / frame["ref_case_count"].astype(float).to_numpy()
    )
    diff = index - frame["ref_cost_index"].astype(float).to_numpy()
    diff_se = np.sqrt(se**2 + ref_se**2)
    is_ref = frame["reference_flag"].fillna(False).to_numpy(dtype=bool)
    keep = shown & ~is_ref
    frame["gap"] = np.where(keep, np.where(cost, diff, rr), np.nan)
    frame["gap_low"] = np.where(keep, np.where(cost, diff - _Z95 * diff_se, rr_low), np.nan)
    frame["gap_high"] = np.where(keep, np.where(cost, diff + _Z95 * diff_se, rr_high), np.nan)
    _, c_low, c_high = rate_ratio_interval(
        obs, exp, frame["ref_observed_count"].astype(float), frame["ref_expected_count"].astype(float), CLEAR_LEVEL
    )
    c_low = np.where(cost, diff - _Z_CLEAR * diff_se, c_low)
    c_high = np.where(cost, diff + _Z_CLEAR * diff_se, c_high)
    no_gap = np.where(cost, 0.0, 1.0)
    frame["gap_clear"] = keep & ((c_low > no_gap) | (c_high < no_gap))
    frame["measure_label"] = frame["measure"].map(MEASURE_LABELS)
    return frame


def clear_gaps(frame: pd.DataFrame) -> pd.DataFrame:
    """The cells whose gap to the reference group is clear at 99.8% (worse first), for the page's summary."""
    if frame.empty:
        return frame
    out = frame[frame["gap_clear"]].copy()
    out["worse"] = np.where(out["measure"] == "cost", out["gap"] > 0, out["gap"] > 1)
    return out.sort_values(["worse", "dimension_order"], ascending=[False, True]).reset_index(drop=True)


def gap_sentence(row: dict) -> str:
    """'Dual-eligible patients: 30-day readmissions 1.77 times the reference group's O/E (95% CI 1.45–2.15).'"""
    if row["measure"] == "cost":
        return (
            f"{row['group_value']} — {row['dimension_label']}: cost index {row['gap']:+.2f} against "
            f"{row['reference_group']} (95% CI {row['gap_low']:+.2f} to {row['gap_high']:+.2f})."
        )
    high = "∞" if not math.isfinite(row["gap_high"]) else f"{row['gap_high']:.2f}"
    return (
        f"{row['group_value']} — {row['dimension_label']}: {row['measure_label'].lower()} "
        f"{row['gap']:.2f} times the O/E of {row['reference_group']} (95% CI {row['gap_low']:.2f}–{high})."
    )
