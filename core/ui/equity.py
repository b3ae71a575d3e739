"""The equity page's drawing (README, *Equity*): one section per patient-group dimension; figures from core.equity.

Suppressed cells are listed with the words "fewer than 11 (suppressed)" rather than left out, so a
reader knows the group exists without seeing a number; no total row is ever drawn (it would let a
suppressed cell be recovered by subtraction). Group names come from the extract: tables and
`st.text` only, never Markdown.
"""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from core import equity, ui

SCOPE_WORDS = {"hospital": "The hospital", "service_line": "Service line", "physician": "My patients"}


def scope_label(scope: tuple[str, str]) -> str:
    """'The hospital', 'Service line: Orthopaedics', 'My patients'."""
    return SCOPE_WORDS[scope[0]] + (f": {scope[1]}" if scope[0] == "service_line" else "")


def _interval(low: float, high: float, cost: bool) -> str:
    if pd.isna(low):
        return ""
    hi = "∞" if not math.isfinite(high) else (f"{high:+.2f}" if cost else f"{high:.2f}")
    return f"{low:+.2f} to {hi}" if cost else f"{low:.2f}–{hi}"


def table(rows: pd.DataFrame, measure: str) -> pd.DataFrame:
    """The dimension's groups as a display table: suppressed cells say so; the reference group is marked."""
    cost = measure == "cost"
    out = pd.DataFrame(
        {
            "Group": rows["group_value"].astype(str)
            + np.where(rows["reference_flag"].fillna(False), " (reference)", ""),
            "Cases": np.where(rows["suppressed_flag"], "suppressed", rows["case_count"].astype("Int64").astype(str)),
        }
    )
    if cost:
        out["Mean cost per case"] = [ui.money(v) for v in rows["mean_case_cost_usd"]]
        out["Cost index (1 = as expected)"] = [("" if pd.isna(v) else f"{v:.2f}") for v in rows["oe_ratio"]]
    else:
        out["Observed"] = [("" if pd.isna(v) else f"{v:.0f}") for v in rows["observed_count"]]
        out["Expected"] = [("" if pd.isna(v) else f"{v:.1f}") for v in rows["expected_count"]]
        out["O/E"] = [("" if pd.isna(v) else f"{v:.2f}") for v in rows["oe_ratio"]]
    out["95% CI"] = [_interval(lo, hi, False) for lo, hi in zip(rows["ci95_low"], rows["ci95_high"], strict=False)]
    out["Gap to reference" + (" (difference)" if cost else " (ratio)")] = [
        ("" if pd.isna(v) else (f"{v:+.2f}" if cost else f"{v:.2f}")) for v in rows["gap"]
    ]
    out["Gap 95% CI"] = [_interval(lo, hi, cost) for lo, hi in zip(rows["gap_low"], rows["gap_high"], strict=False)]
    out["Clear gap"] = np.where(rows["gap_clear"], "yes", "")
    return out


def chart(rows: pd.DataFrame, measure: str) -> alt.LayerChart:
    """O/E (or cost index) per shown group with its 95% interval, 1 ruled."""
    data = rows[~rows["suppressed_flag"]].assign(group=lambda f: f["group_value"].astype(str))
    title = "Cost index (cost ÷ expected)" if measure == "cost" else "O/E (observed ÷ expected)"
    base = alt.Chart(data).encode(
        y=alt.Y("group:N", title=None, sort=None, axis=alt.Axis(labelOverlap=False, labelLimit=150))
    )
    bars = base.mark_rule(size=3, color="#0072B2").encode(x=alt.X("ci95_low:Q", title=title), x2="ci95_high:Q")
    points = base.mark_point(filled=True, size=120, color="#D55E00", shape="diamond").encode(
        x="oe_ratio:Q",
        tooltip=[
            alt.Tooltip("group:N", title="Group"),
            alt.Tooltip("case_count:Q", title="Cases"),
            alt.Tooltip("oe_ratio:Q", title=title, format=".2f"),
            alt.Tooltip("ci95_low:Q", title="95% CI low", format=".2f"),
            alt.Tooltip("ci95_high:Q", title="95% CI high", format=".2f"),
        ],
    )
    one = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(strokeDash=[6, 4], color="black").encode(x="x:Q")
    return alt.layer(bars, points, one).properties(height=alt.Step(30), width="container")


def dimension(rows: pd.DataFrame, measure: str) -> None:
    """One dimension: the chart and the table, or why nothing is shown."""
    st.markdown(f"**{ui.md(str(rows['dimension_label'].iloc[0]))}**")
    if rows["suppressed_flag"].all():
        ui.no_data(
            "Not shown: some groups have fewer than 11 cases or events, or could be worked out from another view "
            "you see (CMS cell-size rule)."
        )
        return
    hidden = int(rows["suppressed_flag"].sum())
    if hidden:
        st.caption(
            f"{hidden} group(s) suppressed: fewer than 11 cases or events, or hidden with a small one (here "
            "or in another view of the hospital and its service lines) so that it cannot be worked out."
        )
    left, right = st.columns([1, 2])
    left.altair_chart(chart(rows, measure), width="stretch")
    right.dataframe(table(rows, measure), hide_index=True, width="stretch")


def gaps(frame: pd.DataFrame) -> None:
    """The clear gaps of the scope (beyond 99.8%: many groups are compared), worse first, as plain sentences."""
    clear = equity.clear_gaps(frame)
    if clear.empty:
        st.caption("No group differs clearly (beyond 99.8%) from its dimension's reference group.")
        return
    for row in clear.to_dict("records"):
        st.text(("▲ " if row["worse"] else "▼ ") + equity.gap_sentence(row))
