"""Plain-language sentences for the figures (pure: no Streamlit), so pages, slides and mail-outs
say the same thing the same way — words a physician accepts, never a league table."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from core.output import format as fmt

# Reliability in plain words (README "Reliability-adjusted estimates"): below 0.4 most of the spread
# of a raw O/E between physicians is chance, above 0.7 most of it is real.
RELIABILITY_WORDS = ((0.4, "mostly noise"), (0.7, "partly noise, partly signal"), (1.01, "mostly signal"))


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
        return (
            f"You have {int(position['case_count'])} {name} case(s) in this period; at least "
            f"{int(position['min_cases_count'])} are needed for a fair comparison with peers. "
            f"Your median case cost is {fmt.amount(median)}."
        )
    if not position.get("peers_shown_flag"):
        return (
            f"Your median {name} costs {fmt.amount(median)}. Fewer than {int(position['min_peers_count'])} "
            f"physicians are eligible for this procedure, so no peer comparison is shown."
        )
    gap = float(position["gap_to_peer_median_usd"])
    if abs(gap) < 1:
        return f"Your median {name} costs the same as your peers' median ({fmt.amount(median)})."
    direction = "more" if gap > 0 else "less"
    text = f"Your median {name} costs {fmt.amount(gap)} {direction} than your peers' median."
    yearly = position.get("yearly_gap_value_usd")
    if gap > 0 and not _missing(yearly):
        text += (
            f" Over your yearly volume (about {position['yearly_case_count']:.0f} cases) that is "
            f"{fmt.amount(yearly)} a year."
        )
    return text


def outcome_sentence(row: dict[str, Any]) -> str:
    """'Complications: 12 observed, 9.8 expected (O/E 1.22, 95% CI 0.63–2.13) — within the expected range…'

    The words after the dash are the row's `verdict`, decided with its flag and colour by
    `core.stats.verdict` (through `core.scorecard.outcome_summary`), so they never contradict the
    interval printed before them.
    """
    label = row["label"]
    if row["outcome"] == "los_days":
        per_case = max(row["cases"], 1)
        obs = f"{row['observed'] / per_case:.1f} days on average, {row['expected'] / per_case:.1f} expected"
    else:
        obs = f"{row['observed']:.0f} observed, {row['expected']:.1f} expected"
    if _missing(row.get("oe_ratio")):
        return f"{label}: {obs}."
    ci = f"O/E {row['oe_ratio']:.2f}, 95% CI {row['ci95_low']:.2f}–{row['ci95_high']:.2f}"
    return f"{label}: {obs} ({ci}) — {row['verdict']}."


def reliability_words(reliability: Any) -> str:
    """'mostly noise' / 'partly noise, partly signal' / 'mostly signal' for a reliability in 0–1."""
    for upper, words in RELIABILITY_WORDS:
        if float(reliability) < upper:
            return words
    return RELIABILITY_WORDS[-1][1]


def figures_line(row: dict[str, Any]) -> str:
    """'O/E **2.88** · shrunken O/E **2.31** · reliability **0.69**' (– where a figure is missing)."""

    def fmt(v: Any) -> str:
        return "–" if _missing(v) else f"{float(v):.2f}"

    return (
        f"O/E (raw) **{fmt(row.get('oe_ratio'))}** · shrunken O/E **{fmt(row.get('shrunken_oe_ratio'))}** · "
        f"reliability **{fmt(row.get('reliability'))}**"
    )


def reliability_sentence(row: dict[str, Any]) -> str:
    """'With 12 cases this figure is mostly noise (reliability 0.18): the reliability-adjusted O/E is 1.04.'"""
    rel, shrunk = row.get("reliability"), row.get("shrunken_oe_ratio")
    if _missing(rel) or _missing(shrunk):
        if not row.get("adjusted", True):
            return "No reliability-adjusted figure: the outcome is not risk-adjusted."
        return "No reliability-adjusted figure: too few eligible physicians to learn the usual spread from."
    cases = int(row.get("cases") or 0)
    return (
        f"With {cases:,} case{'s' if cases != 1 else ''} this figure is {reliability_words(rel)} "
        f"(reliability {float(rel):.2f}): allowing for chance, the reliability-adjusted O/E is "
        f"{float(shrunk):.2f}."
    )


def vlad_sentence(net: float, cases: int, observed: float, expected: float, unit: str = "events") -> str:
    """'Over your 84 cases: 9 observed against 12.3 expected — 3.3 events fewer than your patients' risk predicts.'"""
    head = (
        f"Over your {cases:,} case{'s' if cases != 1 else ''}: {observed:,.0f} observed against "
        f"{expected:,.1f} expected"
    )
    if abs(net) < 0.05:
        return head + " — as your patients' risk predicts."
    side = "fewer" if net > 0 else "more"
    return head + f" — {abs(net):,.1f} {unit} {side} than your patients' risk predicts."


def cusum_sentence(values: Any, limit: float) -> str:
    """Where the risk-adjusted CUSUM stands against its threshold, and whether it ever reached it."""
    series = np.asarray(values, dtype=float)
    if series.size == 0 or not np.isfinite(series).any():
        return "No risk-adjusted CUSUM for this outcome."
    crossed = np.flatnonzero(series >= limit)
    now = float(series[-1])
    if crossed.size:
        return (
            f"Risk-adjusted CUSUM: it reached the signal threshold {limit:g} at your case {int(crossed[0]) + 1} "
            f"(now {now:.1f}) — a run of events beyond your patients' risk worth a look at the cases."
        )
    return (
        f"Risk-adjusted CUSUM: {now:.1f} now, highest {float(np.nanmax(series)):.1f}; it has not reached the "
        f"signal threshold {limit:g} for a doubling of the odds."
    )


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
