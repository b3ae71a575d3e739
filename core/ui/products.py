"""Preferred products and evidence drawn with Streamlit: the scorecard's products section, evidence
cards, feedback forms and the supply view's charts and downloads.

Each function takes figures from `core.products` (which reads the mart views) and draws them; none
reads the database or groups data itself. Text from the data reaches the page only through
`products.plain` / `products.safe_markdown` and `st.markdown` without unsafe HTML, or as dataframe
cells (shown as text). One of the few `core` modules that imports Streamlit.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import altair as alt
import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException

from core import access, products, state, ui
from core.output import charts, exports
from core.periods import Period

EVIDENCE_PAGE = "pages/evidence.py"


def demo_notice(ctx) -> None:
    """On the generated demo data, say plainly that the evidence is illustrative, not clinical guidance."""
    if ctx.build.get("source_kind") == "demo":
        st.info(
            "**Illustrative sample content.** These evidence summaries were generated for the Scorecard "
            "demo. They read like a value analysis committee's work but are not clinical guidance.",
            icon=":material/science:",
        )


def evidence_url(category: Any) -> str | None:
    """A relative link to the evidence library filtered to one category (opens in a new tab from tables)."""
    return None if products.is_missing(category) else "evidence?" + urlencode({"category": str(category)})


def evidence_link(category: str, label: str | None = None, key: str | None = None) -> None:
    """A link to the category's evidence that keeps the session (a page link), else a plain link."""
    text = label or f"Evidence: {category}"
    try:
        st.page_link(EVIDENCE_PAGE, label=text, icon=":material/menu_book:", query_params={"category": category})
    except StreamlitAPIException:
        # The evidence page is not in this app's navigation (e.g. a page run on its own in a test).
        st.markdown(f"[{products.plain(text)}]({evidence_url(category)})")


def share_text(value: Any, has_preferred: Any) -> str:
    """A preferred-use share as text: "27%", or "No preferred item" — never 0% for such a category."""
    if not bool(has_preferred):
        return products.NO_PREFERRED
    return ui.pct(value)


def categories_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The physician's categories as a display table (shares as text so "No preferred item" reads as such)."""
    peers = [
        share_text(v, h) if shown or not h else "Too few peers"
        for v, h, shown in zip(
            frame["peer_median_preferred_use_pct"], frame["has_preferred_flag"], frame["peers_shown_flag"], strict=False
        )
    ]
    has = frame["has_preferred_flag"]
    return pd.DataFrame(
        {
            "Category": frame["category"],
            "Your preferred use (units)": [
                share_text(v, h) for v, h in zip(frame["preferred_use_pct"], has, strict=False)
            ],
            "By spend": [share_text(v, h) for v, h in zip(frame["preferred_spend_pct"], has, strict=False)],
            "Peers typically": peers,
            "Switch saving": frame["switch_saving_usd"],
            "Evidence": [
                evidence_url(c) if has else None
                for c, has in zip(frame["category"], frame["has_evidence_flag"], strict=False)
            ],
            "Your spend": frame["spend_usd"],
            "Waste": frame["waste_usd"],
            "Preferred item": frame["preferred_item"].fillna("—"),
        }
    )


def products_section(
    physician_id: str, period: Period, excluded: list[str] | None = None, heading: bool = True
) -> None:
    """Preferred-product use per category with the peers' typical share, the three largest savings first,
    and links to each category's evidence (the Definitions page). For the scorecard and the My products page."""
    cats = ui.cached(products.my_categories, physician_id, period, excluded)
    if heading:
        st.subheader("Preferred products")
    if cats.empty:
        ui.no_data(f"No supply lines in {period.label}.")
        return
    st.markdown(products.totals_sentence(ui.cached(products.my_totals, physician_id, period, excluded)))
    top = products.opportunities(cats)
    if top:
        st.markdown("**Your largest opportunities**")
        for i, opp in enumerate(top, 1):
            st.markdown(f"{i}. {opp['text']}")
            if opp["kind"] == "switch":
                evidence_link(opp["category"], f"Why {opp['category']} has a preferred item")
    else:
        st.markdown("No switch saving or waste to report in this period.")
    st.dataframe(
        categories_table(cats),
        hide_index=True,
        width="stretch",
        column_config={
            "Category": st.column_config.TextColumn(pinned=True),
            "Switch saving": st.column_config.NumberColumn(format="dollar"),
            "Your spend": st.column_config.NumberColumn(format="dollar"),
            "Waste": st.column_config.NumberColumn(format="dollar"),
            "Evidence": st.column_config.LinkColumn(display_text="Read", help="Opens the evidence summary"),
        },
    )
    st.caption(
        "Preferred use = preferred units ÷ all your units in the category (by spend beside it). "
        "*Peers typically* is the median over physicians with enough cases using the category, shown "
        "only when there are enough of them to stay anonymous. Switch saving prices each non-preferred "
        "unit against the cheapest preferred item."
    )
    with_evidence = cats.loc[cats["has_evidence_flag"], "category"].tolist()
    if with_evidence:
        chosen = st.selectbox("Read the evidence for", with_evidence, key=f"evidence_pick_{physician_id}")
        evidence_link(chosen, f"Open the evidence for {chosen}")


# --- evidence cards ---------------------------------------------------------------------------


def filter_select(label: str, values: list[str], asked: str | None, container: Any = st) -> str | None:
    """A filter whose default comes from the link; "All" means no filter."""
    choices = ["All", *values]
    value = container.selectbox(label, choices, index=choices.index(asked) if asked in choices else 0)
    return None if value == "All" else value


def grade_legend() -> str:
    """The four grades, each with its symbol and meaning, as Markdown."""
    return "\n".join(f"- **{products.grade_label(g)}** — {products.GRADE_MEANINGS[g]}" for g in products.GRADES)


def library_count(rows: pd.DataFrame) -> None:
    """How many summaries match, how many are overdue for review; an honest empty state."""
    overdue = int(rows["overdue_flag"].sum()) if len(rows) else 0
    st.markdown(
        f"**{len(rows)}** summar{'y' if len(rows) == 1 else 'ies'}"
        + (f" · **{overdue}** overdue for review" if overdue else "")
    )
    if rows.empty:
        ui.no_data("No summary matches these filters. Clear the search or pick *All*.")


def _date(value: Any) -> str:
    return "—" if products.is_missing(value) else f"{pd.Timestamp(value):%d %b %Y}"


def evidence_card(
    row: dict[str, Any], items: pd.DataFrame, viewer: access.Viewer, mine: pd.DataFrame, expanded: bool = False
) -> None:
    """One category's evidence: preferred item(s) and alternatives with prices, the summary (inert),
    grade and what it means, outcomes, sources, review dates (overdue flagged) and feedback."""
    label = f"{products.plain(row['category'])} · {row['grade_label']}"
    if row["overdue_flag"]:
        label += " · review overdue"
    with st.expander(label, expanded=expanded, icon=":material/warning:" if row["overdue_flag"] else None):
        st.markdown(f"#### {products.plain(row['title'])}")
        st.markdown(f"**Evidence grade: {row['grade_label']}** — {products.grade_meaning(row['evidence_grade'])}")
        if row["overdue_flag"]:
            st.warning(
                f"Review overdue: the next review was due {_date(row['next_review_date'])}.",
                icon=":material/event_busy:",
            )
        st.markdown(products.safe_markdown(row["summary_md"]))
        st.markdown(f"**Outcomes considered:** {products.plain(row['outcomes']) or '—'}")
        shown = items[items["category"] == row["category"]].drop(columns=["category", "item_id"])
        if len(shown):
            st.markdown("**Preferred and alternatives in use** (prices paid over all the data)")
            st.dataframe(
                shown,
                hide_index=True,
                width="stretch",
                column_config={
                    "item_description": "Item",
                    "manufacturer": "Manufacturer",
                    "preferred_flag": st.column_config.CheckboxColumn("Preferred"),
                    "item_unit_cost_usd": st.column_config.NumberColumn("List price", format="dollar"),
                    "units_count": st.column_config.NumberColumn("Units used", format="%d"),
                    "min_paid_unit_cost_usd": st.column_config.NumberColumn("Paid: lowest", format="dollar"),
                    "median_paid_unit_cost_usd": st.column_config.NumberColumn("Paid: median", format="dollar"),
                    "max_paid_unit_cost_usd": st.column_config.NumberColumn("Paid: highest", format="dollar"),
                },
            )
        sources = products.sources_markdown(row["sources"])
        if sources:
            st.markdown("**Sources**\n\n" + sources)
        st.caption(
            f"Reviewed by {products.plain(row['reviewed_by']) or '—'} on {_date(row['reviewed_on_date'])} · "
            f"next review {_date(row['next_review_date'])}"
        )
        for fb in mine[mine["evidence_id"] == row["evidence_id"]].to_dict("records"):
            st.caption(
                f"Your {fb['kind']} of {fb['created_at'][:10]}: **{fb['status']}**"
                + (f" — {products.plain(fb['reply'])}" if fb.get("reply") else "")
            )
        if access.can(viewer, "send_feedback"):
            feedback_form(row, viewer)


def feedback_form(row: dict[str, Any], viewer: access.Viewer) -> None:
    """Comment on a summary or ask for its review; stored in app state with author and time."""
    with st.popover("Comment or ask for a review", icon=":material/rate_review:"):
        eid = row["evidence_id"]
        with st.form(f"feedback_{eid}", clear_on_submit=True):
            kind = st.radio(
                "What would you like to do?",
                state.FEEDBACK_KINDS,
                horizontal=True,
                key=f"fb_kind_{eid}",
                format_func=lambda k: "Comment" if k == "comment" else "Ask for a review",
            )
            message = st.text_area(
                "Your message", placeholder="What should the committee know or look at?", key=f"fb_message_{eid}"
            )
            if st.form_submit_button("Send", key=f"fb_send_{eid}"):
                try:
                    state.add_feedback(row["evidence_id"], row["category"], viewer.email, kind, message)
                    ui.audit("feedback", "evidence", {"evidence_id": row["evidence_id"], "kind": kind})
                    st.success("Sent. Its status shows under *My feedback* and on this summary.")
                except ValueError as err:
                    st.warning(str(err).capitalize() + ".")
                except state.StateWriteError as err:
                    st.error(str(err))


FEEDBACK_COLUMNS = {
    "created_at": "Sent",
    "category": "Category",
    "kind": "Kind",
    "message": "Message",
    "status": "Status",
    "reply": "Reply",
    "updated_at": "Updated",
}


def my_feedback(frame: pd.DataFrame) -> None:
    """What the viewer has sent, with the status supply staff set."""
    st.subheader("My feedback")
    if frame.empty:
        ui.no_data("You have not commented on a summary or asked for a review yet.")
        return
    st.dataframe(frame[list(FEEDBACK_COLUMNS)].rename(columns=FEEDBACK_COLUMNS), hide_index=True, width="stretch")


def feedback_queue(frame: pd.DataFrame, viewer: access.Viewer) -> None:
    """Supply and admin: every comment and review request, and a form to set its status and reply."""
    st.subheader("Feedback from physicians")
    if frame.empty:
        ui.no_data("No comments or review requests yet.")
        return
    open_only = st.toggle("Open only (new or in review)", value=True)
    shown = frame[frame["status"].isin(["new", "in review"])] if open_only else frame
    columns = {"id": "#", "email": "From", **FEEDBACK_COLUMNS}
    st.dataframe(shown[list(columns)].rename(columns=columns), hide_index=True, width="stretch")
    if shown.empty:
        return
    with st.form("feedback_status"):
        labels = {r.id: f"#{r.id} · {r.category} · {r.email} · {r.status}" for r in shown.itertuples()}
        fid = st.selectbox("Feedback", list(labels), format_func=labels.get, key="fb_pick")
        status = st.selectbox("Status", state.FEEDBACK_STATUSES, index=1, key="fb_status")
        reply = st.text_area("Reply to the physician (optional)", key="fb_reply")
        if st.form_submit_button("Save status", key="fb_save"):
            try:
                state.set_feedback_status(int(fid), status, reply, viewer.email)
                ui.audit("feedback status", "evidence", {"feedback_id": int(fid), "status": status})
                st.success(f"Feedback #{fid} is now “{status}”.")
            except state.StateWriteError as err:
                st.error(str(err))


# --- supply view --------------------------------------------------------------------------------


def ranking_chart(frame: pd.DataFrame, by: str, top: int = 12) -> alt.Chart:
    """The top categories by the ranking measure, with the other measure in the tooltip."""
    data = frame.head(top)
    return (
        alt.Chart(data)
        .mark_bar(color=charts.PEER)
        .encode(
            y=alt.Y(
                "category:N",
                sort=list(data["category"]),
                title=None,
                axis=alt.Axis(labelLimit=200, labelFontSize=12, labelOverlap=False),
            ),
            x=alt.X(f"{by}:Q", axis=alt.Axis(title=products.RANKINGS[by], format="$,.0f")),
            tooltip=[
                alt.Tooltip("category:N", title="Category"),
                alt.Tooltip("non_preferred_spend_usd:Q", title="Non-preferred spend", format="$,.0f"),
                alt.Tooltip("switch_saving_usd:Q", title="Switch saving", format="$,.0f"),
                alt.Tooltip("manufacturer_count:Q", title="Manufacturers"),
            ],
        )
        .properties(
            title=f"Categories by {products.RANKINGS[by].lower()} (top {len(data)})",
            width="container",
            height=90 + 28 * len(data),
        )
    )  # Streamlit fits title and axes inside the height


def trend_charts(frame: pd.DataFrame) -> tuple[alt.Chart, alt.Chart]:
    """Preferred use (units and spend) and non-preferred spend / switch saving, by quarter."""
    share = frame.melt(
        id_vars=["surgery_quarter"],
        value_vars=["preferred_use_pct", "preferred_spend_pct"],
        var_name="measure",
        value_name="pct",
    ).dropna()
    share["measure"] = share["measure"].map({"preferred_use_pct": "By units", "preferred_spend_pct": "By spend"})
    money = frame.melt(
        id_vars=["surgery_quarter"],
        value_vars=["non_preferred_spend_usd", "switch_saving_usd"],
        var_name="measure",
        value_name="usd",
    )
    money["measure"] = money["measure"].map(
        {"non_preferred_spend_usd": "Non-preferred spend", "switch_saving_usd": "Switch saving"}
    )
    x = alt.X("surgery_quarter:O", title="Quarter", axis=alt.Axis(labelAngle=0))
    left = (
        alt.Chart(share)
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y("pct:Q", title="Preferred use (%)", scale=alt.Scale(domain=[0, 100])),
            color=alt.Color(
                "measure:N",
                title=None,
                scale=alt.Scale(range=[charts.PEER, charts.LIMIT95]),
                legend=alt.Legend(orient="top"),
            ),
            tooltip=["surgery_quarter:O", "measure:N", alt.Tooltip("pct:Q", format=".0f", title="%")],
        )
        .properties(title="Preferred use by quarter", height=320, width="container")
    )
    right = (
        alt.Chart(money)
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y("usd:Q", axis=alt.Axis(title="Spend", format="$,.0f")),
            color=alt.Color(
                "measure:N",
                title=None,
                scale=alt.Scale(range=[charts.YOU, charts.GREEN]),
                legend=alt.Legend(orient="top"),
            ),
            tooltip=["surgery_quarter:O", "measure:N", alt.Tooltip("usd:Q", format="$,.0f", title="Amount")],
        )
        .properties(title="Non-preferred spend and switch saving by quarter", height=320, width="container")
    )
    return left, right


def csv_download(label: str, frame: pd.DataFrame, file_name: str, page: str, params: dict[str, Any]) -> None:
    """A CSV download, audited when used."""
    if st.download_button(
        label, exports.csv_bytes(frame), file_name, "text/csv", key=f"csv_{file_name}", icon=":material/download:"
    ):
        ui.audit("export", page, {"what": file_name, **params})


RANKING_CONFIG = {
    "rank": st.column_config.NumberColumn("#", format="%d"),
    "category": "Category",
    "has_preferred_flag": st.column_config.CheckboxColumn("Has a preferred item"),
    "spend_usd": st.column_config.NumberColumn("Spend", format="dollar"),
    "non_preferred_spend_usd": st.column_config.NumberColumn("Non-preferred spend", format="dollar"),
    "switch_saving_usd": st.column_config.NumberColumn("Switch saving", format="dollar"),
    "preferred_risk": "Preferred item at risk",  # core.ui.supply_chain.with_preferred_risk
    "preferred_use": "Preferred use (units)",
    "manufacturer_count": st.column_config.NumberColumn("Manufacturers", format="%d"),
    "item_count": st.column_config.NumberColumn("Items", format="%d"),
    "physician_count": st.column_config.NumberColumn("Physicians", format="%d"),
    "waste_usd": st.column_config.NumberColumn("Waste", format="dollar"),
}


def ranking_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The ranking for display: the preferred share as text ("No preferred item", never 0%)."""
    out = frame.copy()
    out["preferred_use"] = [
        share_text(v, h) for v, h in zip(out["preferred_use_pct"], out["has_preferred_flag"], strict=False)
    ]
    return out[[c for c in RANKING_CONFIG if c in out]]


def category_sentence(category: str, row: Any) -> str:
    """One category's position in words (Markdown, data escaped)."""
    name = products.plain(category)
    text = (
        f"**{name}**: {ui.money(row['spend_usd'])} spent in the period, {ui.money(row['non_preferred_spend_usd'])} "
        f"on non-preferred items, from {int(row['manufacturer_count'])} manufacturer(s) and "
        f"{int(row['item_count'])} item(s), used by {int(row['physician_count'])} physician(s). "
    )
    if not row["has_preferred_flag"]:
        return text + "The category has **no preferred item**, so there is no switch saving to measure."
    return text + (
        f"{ui.pct(row['preferred_use_pct'])} of units are preferred; switching the rest to the cheapest "
        f"preferred item would have saved **{ui.money(row['switch_saving_usd'])}**."
    )


ITEM_CONFIG = {
    "item_description": "Item",
    "manufacturer": "Manufacturer",
    "preferred_flag": st.column_config.CheckboxColumn("Preferred"),
    "item_unit_cost_usd": st.column_config.NumberColumn("List price", format="dollar"),
    "units_count": st.column_config.NumberColumn("Units", format="%d"),
    "spend_usd": st.column_config.NumberColumn("Spend", format="dollar"),
    "spend_share_pct": st.column_config.NumberColumn("Share of spend", format="%.0f%%"),
    "min_paid_unit_cost_usd": st.column_config.NumberColumn("Paid: lowest", format="dollar"),
    "max_paid_unit_cost_usd": st.column_config.NumberColumn("Paid: highest", format="dollar"),
    "physician_count": st.column_config.NumberColumn("Physicians", format="%d"),
    "case_count": st.column_config.NumberColumn("Cases", format="%d"),
}

PHYSICIAN_CONFIG = {
    "label": "Physician",
    "service_line": "Service line",
    "case_count": st.column_config.NumberColumn("Cases", format="%d"),
    "preferred_use": "Preferred use (units)",
    "preferred_spend": "By spend",
    "units_count": st.column_config.NumberColumn("Units", format="%d"),
    "spend_usd": st.column_config.NumberColumn("Spend", format="dollar"),
    "switch_saving_usd": st.column_config.NumberColumn("Switch saving", format="dollar"),
    "waste_usd": st.column_config.NumberColumn("Waste", format="dollar"),
    "items_used": "Items used (units)",
}


def physician_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-physician use of one category for display (already presented for the viewer by core)."""
    out = frame.copy()
    out["preferred_use"] = [
        share_text(v, h) for v, h in zip(out["preferred_use_pct"], out["has_preferred_flag"], strict=False)
    ]
    out["preferred_spend"] = [
        share_text(v, h) for v, h in zip(out["preferred_spend_pct"], out["has_preferred_flag"], strict=False)
    ]
    return out[[c for c in PHYSICIAN_CONFIG if c in out]]
