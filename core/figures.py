"""One "request" of scorecard figures: one physician × one procedure × one period, as a flat dict.

This is the unit the benchmark times (`core.bench`) and checks against the pandas baseline
(`core.bench_baseline`). It computes nothing itself: every figure comes from the same
`core.scorecard` functions the scorecard page and `python -m core report` call, so timing it times
what a physician waits for, and checking it checks what they see. Pure (no Streamlit).

The figures: the cost position row (case count, eligibility, own median case cost, mean components,
waste per case), the peer figures (peer group size, peer median, best quartile, percentile), preferred
use and switch saving (overall and per supply category), and the five outcomes' observed, expected,
O/E with its 95% interval and funnel flag.
"""

from __future__ import annotations

from typing import Any

from core import scorecard
from core.periods import Period

# Figures of the cost position row that both implementations compute (the Definitions page names).
POSITION_FIGURES = (
    "case_count",
    "eligible_flag",
    "median_case_cost_usd",
    "supplies_usd",
    "implants_usd",
    "pharmacy_usd",
    "or_time_usd",
    "bed_days_usd",
    "waste_per_case_usd",
    "peer_physician_count",
    "peer_median_case_cost_usd",
    "best_quartile_case_cost_usd",
    "cost_percentile_pct",
    "preferred_use_pct",
    "preferred_spend_pct",
    "switch_saving_usd",
)
OUTCOME_FIGURES = ("cases", "observed", "expected", "oe_ratio", "ci95_low", "ci95_high", "flag")
CATEGORY_FIGURES = (
    "units_count",
    "preferred_units_count",
    "spend_usd",
    "preferred_use_pct",
    "switch_saving_usd",
    "waste_usd",
)


def _plain(value: Any) -> Any:
    """A JSON-friendly scalar: numpy numbers to Python, NaN and NA to None."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return None
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    return value


def request(
    physician_id: str, procedure_code: str, period: Period, excluded: list[str] | None = None
) -> dict[str, Any] | None:
    """The scorecard figures for one physician × procedure in `period`; None when they have no such cases."""
    positions = scorecard.positions(physician_id, period, excluded)
    rows = positions[positions["procedure_code"].to_numpy() == procedure_code]
    if rows.empty:
        return None
    figures: dict[str, Any] = {
        "physician_id": physician_id,
        "procedure_code": procedure_code,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
    }
    figures.update({name: _plain(rows[name].iloc[0]) for name in POSITION_FIGURES})
    categories = scorecard.preferred_use(physician_id, procedure_code, period, excluded)
    figures["categories"] = _by_key(categories, "category", CATEGORY_FIGURES)
    outcomes = scorecard.outcome_summary(physician_id, procedure_code, period, excluded)
    figures["outcomes"] = _by_key(outcomes, "outcome", OUTCOME_FIGURES)
    return figures


def _by_key(frame, key: str, names: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """{row's key: {figure: value}} for a frame's rows, read a column at a time (a frame's `to_dict` per
    row costs more than the request's queries)."""
    columns = {name: frame[name].tolist() for name in names}
    return {k: {name: _plain(columns[name][i]) for name in names} for i, k in enumerate(frame[key].tolist())}


def pairs(period: Period, excluded: list[str] | None = None) -> list[tuple[str, str]]:
    """Every (physician, procedure) pair with cases in `period`: what the benchmark samples from."""
    frame = scorecard.db.fetch(
        "mart_cost_position",
        columns=["physician_id", "procedure_code"],
        variables=scorecard.period_variables(period, excluded),
        order_by=["physician_id", "procedure_code"],
    )
    return list(zip(frame["physician_id"], frame["procedure_code"], strict=False))
