"""Plain-language sentences for the figures (pure: no Streamlit), so pages, slides and mail-outs
say the same thing the same way — words a physician accepts, never a league table."""

from __future__ import annotations

import math
from typing import Any

from core.output import format as fmt

FLAG_WORDS = {
    "high_998": "clearly higher than expected given your patients' risk (outside the 99.8% limit)",
    "high_95": "somewhat higher than expected given your patients' risk (outside the 95% limit, within 99.8%)",
    "within": "within the expected range given your patients' risk",
    "low_95": "somewhat lower than expected given your patients' risk (better than the 95% limit)",
    "low_998": "clearly lower than expected given your patients' risk (better than the 99.8% limit)",
    "unadjusted": "shown unadjusted: too few events to fit a fair risk model, so no comparison is made",
}



def _missing(v: Any) -> bool:
    try:
        return v is None or math.isnan(float(v))
    except (TypeError, ValueError):
        return True


def cost_sentence(position: dict[str, Any], procedure_name: str) -> str:
    """'Your median knee replacement costs $1,840 more than your peers' median.' or an honest state."""
    name = procedure_name[:1].lower() + procedure_name[1:]
    median = position.get("median_case_cost_usd")
    if not position.get("eligible_flag"):
        return (f"You have {int(position['case_count'])} {name} case(s) in this period; at least "
                f"{int(position['min_cases_count'])} are needed for a fair comparison with peers. "
                f"Your median case cost is {fmt.amount(median)}.")
    if not position.get("peers_shown_flag"):
        return (f"Your median {name} costs {fmt.amount(median)}. Fewer than {int(position['min_peers_count'])} "
                f"physicians are eligible for this procedure, so no peer comparison is shown.")
    gap = float(position["gap_to_peer_median_usd"])
    if abs(gap) < 1:
        return f"Your median {name} costs the same as your peers' median ({fmt.amount(median)})."
    direction = "more" if gap > 0 else "less"
    text = f"Your median {name} costs {fmt.amount(gap)} {direction} than your peers' median."
    yearly = position.get("yearly_gap_value_usd")
    if gap > 0 and not _missing(yearly):
        text += f" Over your yearly volume (about {position['yearly_case_count']:.0f} cases) that is {fmt.amount(yearly)} a year."
    return text


def outcome_sentence(row: dict[str, Any]) -> str:
    """'Complications: 12 observed, 9.8 expected (O/E 1.22, 95% CI 0.63–2.13) — within the expected range…'"""
    label = row["label"]
    if row["outcome"] == "los_days":
        obs = f"{row['observed'] / max(row['cases'], 1):.1f} days on average, {row['expected'] / max(row['cases'], 1):.1f} expected"
    else:
        obs = f"{row['observed']:.0f} observed, {row['expected']:.1f} expected"
    if _missing(row.get("oe_ratio")):
        return f"{label}: {obs}."
    ci = f"O/E {row['oe_ratio']:.2f}, 95% CI {row['ci95_low']:.2f}–{row['ci95_high']:.2f}"
    return f"{label}: {obs} ({ci}) — {FLAG_WORDS.get(row['flag'], row['flag'])}."


def preferred_sentence(position: dict[str, Any]) -> str:
    """Preferred-product use in words, or that there is none to measure."""
    use = position.get("preferred_use_pct")
    if _missing(use):
        return "None of your supplies here are in categories with a preferred product."
    text = f"{use:.0f}% of your units in categories with a preferred product are the preferred one"
    spend = position.get("preferred_spend_pct")
    if not _missing(spend):
        text += f" ({spend:.0f}% by spend)"
    saving = position.get("switch_saving_usd") or 0
    if saving >= 1:
        text += f"; switching the rest would have saved {fmt.amount(saving)} in this period"
    return text + "."
