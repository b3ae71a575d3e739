"""Scorecard sections drawn with Streamlit, shared by the scorecard page and presentation mode.

Each function takes figures already fetched (and blinded) by `core.scorecard` and draws them with
the charts of `core.charts` (their specs cached by database version, `core.ui.render`) and the words of
`core.sentences`; none reads the database or groups data itself. One of the few `core` modules that imports Streamlit.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core import metrics, scorecard, ui
from core.output import charts, sentences
from core.ui import render


def headline(position: dict[str, Any], procedure_name: str) -> None:
    """Cases, median against the peer median, yearly value of the gap, preferred use — and the sentence."""
    cols = st.columns(4)
    cols[0].metric(
        "Cases",
        f"{int(position['case_count'])}",
        help=f"Eligible for comparison from {int(position['min_cases_count'])} cases.",
    )
    gap = position.get("gap_to_peer_median_usd")
    cols[1].metric(
        "Your median case cost",
        ui.money(position["median_case_cost_usd"]),
        # An ASCII minus: Streamlit reads the delta's direction (and so its colour) from a leading "-".
        delta=None if pd.isna(gap) else f"{ui.money(gap, signed=True).replace('−', '-')} vs peer median",
        delta_color="inverse",
    )
    cols[2].metric(
        "Peer median",
        ui.money(position.get("peer_median_case_cost_usd")),
        help="Median over eligible physicians of each one's median case cost.",
    )
    yearly = position.get("yearly_gap_value_usd")
    cols[3].metric(
        "Yearly value of the gap",
        ui.money(yearly, signed=True) if not pd.isna(yearly) else "–",
        help="Gap to the peer median × your cases per year.",
    )
    st.markdown(f"**{ui.md(sentences.cost_sentence(position, ui.plain(procedure_name)))}**")
    st.markdown(ui.md(sentences.preferred_sentence(position)))


def cost_position(peers: pd.DataFrame, position: dict[str, Any], drivers: pd.DataFrame, procedure_name: str) -> None:
    """The blinded peer distribution with You marked, the component breakdown and the category drivers."""
    if position.get("peers_shown_flag"):
        you = peers[peers["is_you"]]
        if len(you):
            st.caption(
                f"You are **{ui.plain(you.iloc[0]['label'])}** in this view. Peers are blinded; their volumes are banded."
            )
        render.chart(charts.peer_distribution, peers, procedure_name, position.get("peer_median_case_cost_usd"))
        pctl = position.get("cost_percentile_pct")
        if not pd.isna(pctl):
            st.caption(
                f"Cost percentile {pctl:.0f} (0 = lowest cost in the peer group of "
                f"{int(position['peer_physician_count'])})."
            )
    else:
        ui.no_data(
            f"Fewer than {int(position['min_peers_count'])} physicians are eligible for this procedure in "
            "this period, so no peer distribution is shown (it could identify them)."
        )
    left, right = st.columns(2)
    with left:
        render.chart(charts.component_bars, scorecard.component_comparison(position))
    with right:
        if drivers.empty:
            ui.no_data("No supply lines in this period.")
        else:
            render.chart(charts.category_drivers, drivers.head(8))


def outcomes(summary: pd.DataFrame, funnel_for: Any, key: str) -> None:
    """Per outcome: the call as a badge and a sentence, raw O/E beside the reliability-adjusted one and
    which funnel limits were used and why; then one funnel at a time, with You marked.

    `funnel_for(outcome)` gives that outcome's (points, meta), blinded for the viewer. One funnel is
    drawn, the most notable call's first, and a picker redraws only itself (a fragment): a peer group
    of hundreds makes each funnel a large chart, and five of them were most of a first view's time
    (README, *Performance*).
    """
    if summary.empty:
        ui.no_data("No outcomes in this period.")
        return
    if not summary["adjusted"].all():
        st.caption(
            "Some outcomes have too few events to fit a fair risk model; they are shown unadjusted and never flagged."
        )
    cols = st.columns(2)
    for i, row in enumerate(summary.to_dict("records")):
        with cols[i % 2], st.container(border=True):
            st.badge(row["badge"], color=row["badge_colour"])
            st.markdown(ui.md(sentences.outcome_sentence(row)))
            if row["adjusted"]:
                # One compact line rather than three metrics: on a phone, columns stack into a long card.
                st.markdown(
                    ui.md(sentences.figures_line(row)),
                    help="Raw O/E = observed ÷ expected. Shrunken O/E = the raw one pulled towards the "
                    "peer group's by as much as it is noise (empirical Bayes). Reliability 0–1 = how "
                    "much of the raw O/E's difference from peers is real rather than chance.",
                )
                st.caption(ui.md(sentences.reliability_sentence(row)))
            if row["adjusted"] and row.get("limits_reason"):
                st.caption(ui.md(row["limits_reason"]))
            elif not row["adjusted"]:
                st.caption(f"Unadjusted: {ui.plain(row['model_note'])}")
    adjusted = summary[summary["adjusted"]]
    if len(adjusted):
        labels = dict(zip(adjusted["outcome"], adjusted["label"], strict=False))
        _funnel(list(labels), labels, _most_notable(adjusted), funnel_for, key)


# Which call's funnel opens first: a called-out one before one worth watching before the rest.
_NOTABLE = {"high": 0, "low": 1, "watch_high": 2, "watch_low": 3}


def _most_notable(summary: pd.DataFrame) -> str:
    ranks = [_NOTABLE.get(t, 9) for t in summary["tone"]]
    return str(summary["outcome"].iloc[ranks.index(min(ranks))])


@st.fragment
def _funnel(options: list[str], labels: dict[str, str], first: str, funnel_for: Any, key: str) -> None:
    choice = (
        st.segmented_control(
            "Funnel plot",
            options,
            default=first,
            format_func=lambda o: ui.plain(labels[o]),
            key=key,
            help="Each dot is an eligible surgeon of this procedure: O/E against the expected count, "
            "inside the limits that chance alone would give. Pick an outcome to draw its funnel.",
        )
        or first
    )
    points, meta = funnel_for(choice)
    if len(points) > 1:
        render.chart(charts.funnel, points, meta.get("tau2", 0.0), labels[choice])
    else:
        ui.no_data("Too few eligible surgeons to draw a funnel.")


def trend(cost: pd.DataFrame, vlad: pd.DataFrame) -> None:
    """Median case cost by quarter, and each risk-adjusted outcome as a cumulative chart (VLAD).

    Never bare quarterly O/E: a quarter holds a handful of events, and O/E from them swings widely
    by chance alone (Definitions page, "Outcomes over time").
    """
    if cost.empty:
        ui.no_data("No cases by quarter yet.")
        return
    render.chart(charts.cost_trend, cost)
    adjusted = vlad[vlad["adjusted_flag"]] if len(vlad) else vlad
    if adjusted.empty:
        ui.no_data("No risk-adjusted outcome to follow over time.")
        return
    st.caption(
        "Each chart runs through all your cases in the data (not only the period above), in date order: "
        "it rises by the expected risk of every case "
        "without the event and drops by 1 − that risk at every event. Above 0 means fewer events than "
        "your patients' risk predicts; a steady slope matters, not a single step."
    )
    shown = [o for o in metrics.OUTCOMES if o.key in set(adjusted["outcome"])]
    cols = st.columns(2)
    for i, outcome in enumerate(shown):
        part = adjusted[adjusted["outcome"] == outcome.key]
        unit = outcome.unit
        with cols[i % 2]:
            render.chart(charts.vlad, part, outcome.label, unit)
            last = part.iloc[-1]
            st.caption(
                ui.md(
                    sentences.vlad_sentence(
                        float(last["vlad_count"]),
                        int(last["case_number"]),
                        float(last["cumulative_observed_count"]),
                        float(last["cumulative_expected_count"]),
                        unit,
                    )
                )
            )
            if part["cusum_count"].notna().any():
                st.caption(
                    ui.md(
                        sentences.cusum_sentence(
                            part["cusum_count"].to_numpy(dtype=float), float(part["cusum_limit_count"].dropna().iloc[0])
                        )
                    )
                )
                with st.expander("Risk-adjusted CUSUM"):
                    render.chart(charts.cusum, part, outcome.label)


# How the physician's own case list (scorecard.CASE_COLUMNS) is headed and formatted.
CASE_COLUMNS = {
    "surgery_date": st.column_config.DateColumn("Surgery date", format="YYYY-MM-DD"),
    "case_id": "Case",
    "procedure_code": "Procedure",
    "asa_class": "ASA",
    "comorbidity_index": "Comorbidity",
    **{o.source_column: o.case_label for o in metrics.OUTCOMES},
    **{
        c: st.column_config.NumberColumn(label, format="dollar")
        for c, label in (
            ("case_cost_usd", "Case cost"),
            *((c.column, c.label) for c in metrics.COMPONENTS),
            ("waste_usd", "Waste"),
        )
    },
    "flag_status": "Your flag",
    "flag_reply": "Reviewer's reply",
}


def cases_table(cases: pd.DataFrame, flagged: pd.DataFrame) -> pd.DataFrame:
    """The physician's own cases with their newest flag's status beside each (`state.latest_flags`: one row
    per flagged case; no patient identity)."""
    table = cases.copy()
    if not flagged.empty:
        latest = flagged[["case_id", "status", "reply"]]
        table = table.merge(
            latest.rename(columns={"status": "flag_status", "reply": "flag_reply"}), on="case_id", how="left"
        )
    else:
        table["flag_status"], table["flag_reply"] = None, None
    return table


def procedure_tab(
    viewer: Any,
    physician_id: str,
    code: str,
    positions: pd.DataFrame,
    period: Any,
    secret: bytes,
    excluded: list[str],
    min_peers: int,
) -> None:
    """One procedure's tab of the scorecard: headline, exports, cost position, pharmacy, episode, outcomes and,
    on demand, over time (pages/scorecard.py runs only the tab on screen)."""
    from core import episode
    from core import scorecard as sc
    from core.ui import episode as episode_ui
    from core.ui import exports as export_ui
    from core.ui import render, supply_chain

    pos = positions.set_index("procedure_code").loc[code].to_dict() | {"procedure_code": code}
    headline(pos, pos["procedure_name"])
    export_ui.scorecard_exports(viewer, physician_id, code, period, secret, excluded)
    st.subheader("Cost position")
    cost_position(
        ui.cached(sc.peer_distribution, viewer, physician_id, code, period, secret, excluded),
        pos,
        ui.cached(sc.category_drivers, physician_id, code, period, excluded),
        pos["procedure_name"],
    )
    supply_chain.scorecard_pharmacy(physician_id, code, period, excluded)
    if (ep := ui.cached(episode.position, physician_id, code, period, excluded)) is not None:
        st.subheader("Episode cost: the case and 30 days after")  # only with post-acute data
        episode_ui.section(
            ep,
            ui.cached(episode.peers, viewer, physician_id, code, period, secret, excluded),
            pos["procedure_name"],
        )
    st.subheader("Outcomes, risk-adjusted")
    outcomes(
        ui.cached(sc.outcome_summary, physician_id, code, period, excluded),
        lambda o: ui.cached(sc.funnel_data, viewer, physician_id, code, o, period, secret, min_peers, excluded),
        key=f"funnel_{code}",
    )
    st.subheader("Over time")  # a dozen charts: drawn when asked for, in a fragment (README, Performance)
    render.on_demand(
        "Show cost and outcomes over time",
        f"over_time_{code}",
        lambda code=code: trend(
            ui.cached(sc.cost_trend, physician_id, code, excluded),
            ui.cached(sc.outcome_vlad, physician_id, code, excluded),
        ),
    )


def my_cases(viewer: Any, physician_id: str, period: Any) -> None:
    """The physician's own cases (no patient identity), their CSV, and the form to flag one that looks wrong."""
    from core import scorecard as sc
    from core import state
    from core.output import exports

    st.subheader("My cases")
    cases = cases_table(ui.cached(sc.my_cases, physician_id, period), state.latest_flags(physician_id))
    st.dataframe(cases, hide_index=True, width="stretch", column_config=CASE_COLUMNS)
    if st.download_button("Download my cases (CSV)", exports.csv_bytes(cases), f"cases-{period.token}.csv", "text/csv"):
        ui.audit("export", "scorecard", {"what": "cases csv", "physician": physician_id, "period": period.token})
    if physician_id == viewer.physician_id:
        with st.expander("Flag a case that looks wrong"):
            with st.form("flag_case", clear_on_submit=True):
                case_id = st.selectbox("Case", cases["case_id"].tolist())
                reason = st.selectbox("What is wrong", state.FLAG_REASONS)
                note = st.text_area("Note for the reviewers")
                if st.form_submit_button("Send flag"):
                    try:
                        state.flag_case(case_id, physician_id, viewer.email, reason, note)
                        ui.audit("flag", "scorecard", {"case_id": case_id, "reason": reason})
                        st.success(f"Flag on {ui.plain(case_id)} sent. Its status shows in the table above.")
                    except state.StateWriteError as err:
                        st.error(str(err))
