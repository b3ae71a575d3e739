"""Scorecard sections drawn with Streamlit, shared by the scorecard page and presentation mode.

Each function takes figures already fetched (and blinded) by `core.scorecard` and draws them with
the charts of `core.charts` and the words of `core.sentences`; none reads the database or groups
data itself. One of the few `core` modules that imports Streamlit.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core import metrics, scorecard, ui
from core.output import charts
from core.output import sentences


def headline(position: dict[str, Any], procedure_name: str) -> None:
    """Cases, median against the peer median, yearly value of the gap, preferred use — and the sentence."""
    cols = st.columns(4)
    cols[0].metric("Cases", f"{int(position['case_count'])}",
                   help=f"Eligible for comparison from {int(position['min_cases_count'])} cases.")
    gap = position.get("gap_to_peer_median_usd")
    cols[1].metric("Your median case cost", ui.money(position["median_case_cost_usd"]),
                   delta=None if pd.isna(gap) else f"{ui.money(gap, signed=True)} vs peer median",
                   delta_color="inverse")
    cols[2].metric("Peer median", ui.money(position.get("peer_median_case_cost_usd")),
                   help="Median over eligible physicians of each one's median case cost.")
    yearly = position.get("yearly_gap_value_usd")
    cols[3].metric("Yearly value of the gap", ui.money(yearly, signed=True) if not pd.isna(yearly) else "–",
                   help="Gap to the peer median × your cases per year.")
    st.markdown(f"**{ui.md(sentences.cost_sentence(position, procedure_name))}**")
    st.markdown(ui.md(sentences.preferred_sentence(position)))


def cost_position(peers: pd.DataFrame, position: dict[str, Any], drivers: pd.DataFrame,
                  procedure_name: str) -> None:
    """The blinded peer distribution with You marked, the component breakdown and the category drivers."""
    if position.get("peers_shown_flag"):
        you = peers[peers["is_you"]]
        if len(you):
            st.caption(f"You are **{you.iloc[0]['label']}** in this view. Peers are blinded; their volumes are banded.")
        st.altair_chart(charts.peer_distribution(peers, procedure_name, position.get("peer_median_case_cost_usd")),
                        width="stretch")
        pctl = position.get("cost_percentile_pct")
        if not pd.isna(pctl):
            st.caption(f"Cost percentile {pctl:.0f} (0 = lowest cost in the peer group of "
                       f"{int(position['peer_physician_count'])}).")
    else:
        ui.no_data(f"Fewer than {int(position['min_peers_count'])} physicians are eligible for this procedure in "
                   "this period, so no peer distribution is shown (it could identify them).")
    left, right = st.columns(2)
    with left:
        st.altair_chart(charts.component_bars(scorecard.component_comparison(position)), width="stretch")
    with right:
        if drivers.empty:
            ui.no_data("No supply lines in this period.")
        else:
            st.altair_chart(charts.category_drivers(drivers.head(8)), width="stretch")


def outcomes(summary: pd.DataFrame, funnels: dict[str, tuple[pd.DataFrame, dict]]) -> None:
    """A funnel per outcome with You marked, and the O/E in words."""
    if summary.empty:
        ui.no_data("No outcomes in this period.")
        return
    if not summary["adjusted"].all():
        st.caption("Some outcomes have too few events to fit a fair risk model; they are shown unadjusted "
                   "and never flagged.")
    cols = st.columns(2)
    for i, row in enumerate(summary.to_dict("records")):
        with cols[i % 2]:
            st.markdown(ui.md(sentences.outcome_sentence(row)))
            points, meta = funnels.get(row["outcome"], (pd.DataFrame(), {}))
            if row["adjusted"] and len(points) > 1:
                st.altair_chart(charts.funnel(points, meta.get("tau2", 0.0), row["label"]), width="stretch")
            elif not row["adjusted"]:
                st.caption(f"Unadjusted: {row['model_note']}")


def trend(cost: pd.DataFrame, outcome: pd.DataFrame) -> None:
    """Median case cost and O/E by quarter."""
    if cost.empty:
        ui.no_data("No cases by quarter yet.")
        return
    left, right = st.columns(2)
    left.altair_chart(charts.cost_trend(cost), width="stretch")
    right.altair_chart(charts.oe_trend(outcome), width="stretch")


# How the physician's own case list (scorecard.CASE_COLUMNS) is headed and formatted.
CASE_COLUMNS = {
    "surgery_date": st.column_config.DateColumn("Surgery date", format="YYYY-MM-DD"),
    "case_id": "Case", "procedure_code": "Procedure", "asa_class": "ASA", "comorbidity_index": "Comorbidity",
    **{o.source_column: o.case_label for o in metrics.OUTCOMES},
    **{c: st.column_config.NumberColumn(label, format="dollar") for c, label in (
        ("case_cost_usd", "Case cost"), *((c.column, c.label) for c in metrics.COMPONENTS), ("waste_usd", "Waste"))},
    "flag_status": "Your flag", "flag_reply": "Reviewer's reply",
}


def cases_table(cases: pd.DataFrame, flagged: pd.DataFrame) -> pd.DataFrame:
    """The physician's own cases with their flag status beside each (no patient identity)."""
    table = cases.copy()
    if not flagged.empty:
        latest = flagged.sort_values("id").groupby("case_id").tail(1)[["case_id", "status", "reply"]]
        table = table.merge(latest.rename(columns={"status": "flag_status", "reply": "flag_reply"}),
                            on="case_id", how="left")
    else:
        table["flag_status"], table["flag_reply"] = None, None
    return table
