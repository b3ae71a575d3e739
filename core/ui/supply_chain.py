"""The supply chain's views drawn with Streamlit: supply risk, pharmacy and savings achieved, and their
pieces on a physician's scorecard (the backorder notice, pharmacy by drug class and its drivers).

Each function takes figures already read (and blinded) by `core.supply_risk`, `core.pharmacy` and
`core.savings` and draws them; none reads the database or groups data itself. Text from the extract
(item and drug names) reaches the page as dataframe cells or through `products.plain`, never as
Markdown or HTML. Downloads go through `core.output.supply_exports.safe_csv` (formulas neutralised) and
are audited. One of the few `core` modules that imports Streamlit.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from core import pharmacy, products, supply_risk, ui
from core.output import charts, supply_exports
from core.periods import Period
from core.ui import products as products_ui


def csv_download(label: str, frame: pd.DataFrame, file_name: str, page: str, params: dict[str, Any]) -> None:
    """A CSV download with formulas neutralised, audited when used."""
    if st.download_button(
        label, supply_exports.safe_csv(frame), file_name, "text/csv", key=f"csv_{file_name}", icon=":material/download:"
    ):
        ui.audit("export", page, {"what": file_name, **params})


def grade(value: Any) -> str:
    """The evidence grade as shown everywhere ('⊕⊕⊕◯ Moderate'), or 'No evidence summary'."""
    return "No evidence summary" if products.is_missing(value) else products.grade_label(value)


# --- supply risk ---------------------------------------------------------------------------------

RISK_CONFIG = {
    "exposure_rank": st.column_config.NumberColumn("#", format="%d"),
    "item_description": st.column_config.TextColumn("Item", pinned=True),
    "reasons": "Why it is a risk",
    "category": "Category",
    "manufacturer": "Manufacturer",
    "preferred_flag": st.column_config.CheckboxColumn("Preferred"),
    "case_count": st.column_config.NumberColumn("Cases", format="%d"),
    "cases_band": "Cases",
    "physician_count": st.column_config.NumberColumn("Physicians", format="%d"),
    "procedure_count": st.column_config.NumberColumn("Procedures", format="%d"),
    "projected_units_next_quarter_count": st.column_config.NumberColumn("Projected units next quarter", format="%.0f"),
    "projected_spend_next_quarter_usd": st.column_config.NumberColumn("Projected spend next quarter", format="dollar"),
}


def risk_filter(ranking: pd.DataFrame) -> pd.DataFrame:
    """The ranking narrowed to the kinds of risk picked in the sidebar (all by default)."""
    kinds = st.sidebar.multiselect(
        "Show items that are",
        list(supply_risk.REASONS.values()),
        default=list(supply_risk.REASONS.values()),
        key="risk_kinds",
    )
    flags = [flag for flag, text in supply_risk.REASONS.items() if text in kinds] or list(supply_risk.REASONS)
    return ranking[ranking[flags].astype(bool).any(axis=1)].reset_index(drop=True)


def risk_metrics(ranking: pd.DataFrame) -> None:
    """How many items in use are a risk, and of which kind."""
    totals, cols = supply_risk.risk_totals(ranking), st.columns(4)
    cols[0].metric("Items at risk in use", totals["items"])
    cols[1].metric("On backorder", totals["backorder_flag"])
    cols[2].metric("Single-source", totals["single_source_flag"])
    cols[3].metric("Critical", totals["critical_flag"])


def risk_table(ranking: pd.DataFrame) -> None:
    """The ranking, most exposed first."""
    st.dataframe(
        ranking[[c for c in RISK_CONFIG if c in ranking]], hide_index=True, width="stretch", column_config=RISK_CONFIG
    )


def item_sentence(row: dict[str, Any], identified: bool) -> str:
    """One risk item in words (Markdown with the data escaped)."""
    name = products.plain(row["item_description"])
    exposure = (
        (
            f"used in **{int(row['case_count'])} cases** by {int(row['physician_count'])} physician(s) across "
            f"{int(row['procedure_count'])} procedure(s) in this period; at the recent rate the next quarter "
            f"needs about **{row['projected_units_next_quarter_count']:,.0f} unit(s)** "
            f"({ui.md(ui.money(row['projected_spend_next_quarter_usd']))})"
        )
        if identified
        else (f"used in {row['cases_band']} cases by {int(row['physician_count'])} physician(s) in this period")
    )
    return (
        f"**{name}** ({products.plain(row['manufacturer'])}, {products.plain(row['category'])}) is "
        f"**{supply_risk.reasons(row)}**: {exposure}."
    )


ALTERNATIVE_CONFIG = {
    "alternative_description": st.column_config.TextColumn("Alternative", pinned=True),
    "alternative_manufacturer": "Manufacturer",
    "alternative_preferred_flag": st.column_config.CheckboxColumn("Preferred"),
    "alternative_unit_cost_usd": st.column_config.NumberColumn("Unit cost", format="dollar"),
    "price_difference_usd": st.column_config.NumberColumn("Price vs this item", format="dollar"),
    "risk": "Its own risk",
    "physician_count": st.column_config.NumberColumn("Physicians already using it", format="%d"),
    "used_by": "Used by",
    "grade": "Evidence",
    "evidence_title": "Evidence summary",
}


def alternatives_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The alternatives for display: evidence grade in words, the alternative's own risk."""
    out = frame.copy()
    out["grade"] = out["evidence_grade"].map(grade)
    out["risk"] = [
        "single-source" if s else ("critical" if c == "high" else "")
        for s, c in zip(out["alternative_single_source_flag"], out["alternative_criticality"], strict=True)
    ]
    return out[[c for c in ALTERNATIVE_CONFIG if c in out]]


def evidence_lines(frame: pd.DataFrame) -> None:
    """Each alternative that has an evidence summary, its grade and title in words (plain text)."""
    for row in frame[frame["evidence_id"].notna()].to_dict("records"):
        kind = "Preferred alternative" if row["alternative_preferred_flag"] else "Alternative"
        st.markdown(
            f"**{kind}: {products.plain(row['alternative_description'])}** — evidence "
            f"{grade(row['evidence_grade'])}: *{products.plain(row['evidence_title'])}*"
        )


def users_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Who uses the item (already presented for the viewer): exact cases when identified (or your own),
    the band otherwise."""
    out = pd.DataFrame({"Physician": frame["label"], "Service line": frame["service_line"]})
    if "volume_band" in frame:
        out["Cases"] = [
            str(int(c)) if you and not pd.isna(c) else band
            for c, band, you in zip(frame["case_count"], frame["volume_band"], frame["is_you"], strict=True)
        ]
    else:
        out["Cases"], out["Units"], out["Spend"] = frame["case_count"], frame["units_count"], frame["spend_usd"]
    return out


def with_preferred_risk(ranking: pd.DataFrame) -> pd.DataFrame:
    """The supply categories' ranking with `preferred_risk` beside the switch saving: 'on backorder',
    'single-source' (or both) when the category's preferred item is a supply risk, else empty."""
    risks = ui.cached(supply_risk.opportunity_risks)
    words = {
        r["category"]: ", ".join(
            w
            for w, n in (
                ("on backorder", r["backorder_preferred_count"]),
                ("single-source", r["single_source_preferred_count"]),
            )
            if n
        )
        for r in risks.to_dict("records")
    }
    return ranking.assign(preferred_risk=ranking["category"].map(words).fillna(""))


def opportunity_warning(category: str, risks: pd.DataFrame) -> None:
    """Beside a category's saving: a warning when its preferred item is single-source or on backorder."""
    match = risks[risks["category"] == category]
    text = supply_risk.opportunity_warning(match.iloc[0].to_dict()) if len(match) else None
    if text:
        st.warning(
            products.plain(text) + " Standardizing on it concentrates the supply risk; check the "
            "alternatives on the "
            "*Supply risk* page.",
            icon=":material/warning:",
        )


# --- on a physician's scorecard --------------------------------------------------------------------


def backorder_notice(notices: pd.DataFrame) -> None:
    """A notice per item on backorder the physician used, with the preferred alternative and its evidence."""
    for row in notices.to_dict("records"):
        alt_name = row.get("alternative_description")
        text = (
            f"**{products.plain(row['item_description'])}** ({products.plain(row['category'])}), which you used in "
            f"{int(row['case_count'])} case(s) this period, is **on backorder**."
        )
        if products.is_missing(alt_name):
            text += " There is no approved alternative in its category that is not also on backorder."
        else:
            kind = "preferred alternative" if row.get("alternative_preferred_flag") else "alternative"
            text += (
                f" The {kind} is **{products.plain(alt_name)}** "
                f"({products.plain(row['alternative_manufacturer'])}, "
                f"{ui.md(ui.money(row['alternative_unit_cost_usd']))} a unit); evidence: "
                f"{grade(row.get('evidence_grade'))}."
            )
        st.warning(text, icon=":material/inventory:")
        if not products.is_missing(row.get("evidence_id")):
            products_ui.evidence_link(row["category"], f"Evidence for {row['category']}", key=f"bo_{row['item_id']}")


def pharmacy_section(position: dict[str, Any], classes: pd.DataFrame, drivers: pd.DataFrame) -> None:
    """Pharmacy per case by drug class against the peer median, the drugs driving the difference and the
    drug switch saving, for one procedure of a physician's scorecard."""
    if not position:
        return
    cols = st.columns(3)
    cols[0].metric("Pharmacy per case", ui.money(position["pharmacy_per_case_usd"]))
    cols[1].metric(
        "Peer median",
        ui.money(position.get("peer_median_pharmacy_per_case_usd")),
        help="Median over eligible physicians of their drug spend per case.",
    )
    saving = position.get("drug_switch_saving_usd")
    cols[2].metric(
        "Drug switch saving",
        "no formulary" if products.is_missing(saving) else ui.money(saving),
        help="Non-preferred drugs priced at the cheapest preferred drug of their class (formulary).",
    )
    if classes.empty:
        ui.no_data("No drug lines for this procedure in this period.")
        return
    if not bool(position.get("peers_shown_flag")):
        st.caption("Too few eligible physicians do this procedure to show a peer median (it could identify them).")
    else:
        st.altair_chart(class_chart(classes), width="stretch")
        st.caption("Bars: your drug spend per case on each class. Ticks: the peer median.")
    if drivers.empty:
        st.markdown("No drug sits above the peer median for you in this period.")
    else:
        st.markdown("**The drugs driving the difference**")
        for row in drivers.to_dict("records"):
            line = (
                f"- {row['drug_name']} ({row['drug_class']}): ${row['spend_per_case_usd']:,.2f} a case against a "
                f"peer median of ${row['peer_median_per_case_usd']:,.2f}, worth ${row['gap_value_usd']:,.0f} over "
                "your cases"
            )
            if (row.get("drug_switch_saving_usd") or 0) >= 1:
                line += f"; the formulary's preferred drug would have saved ${row['drug_switch_saving_usd']:,.0f}"
            st.text(line + ".")


def class_chart(classes: pd.DataFrame) -> alt.Chart:
    """You (a bar) against the peer median (a tick), per drug class: drug spend per case."""
    data = classes.assign(you="You", peer="Peer median")
    y = alt.Y("drug_class:N", title=None, sort=list(classes["drug_class"]), axis=alt.Axis(labelLimit=180))
    tooltip = [
        alt.Tooltip("drug_class:N", title="Drug class"),
        alt.Tooltip("spend_per_case_usd:Q", title="You, per case", format="$,.2f"),
        alt.Tooltip("peer_median_per_case_usd:Q", title="Peer median", format="$,.2f"),
    ]
    colour = alt.Scale(domain=["You", "Peer median"], range=[charts.YOU, charts.PEER])
    bars = (
        alt.Chart(data)
        .mark_bar(height=18)
        .encode(
            y=y,
            x=alt.X("spend_per_case_usd:Q", axis=alt.Axis(title="Drug spend per case", format="$,.0f")),
            color=alt.Color("you:N", title=None, scale=colour, legend=alt.Legend(orient="top")),
            tooltip=tooltip,
        )
    )
    ticks = (
        alt.Chart(data)
        .mark_tick(thickness=3, size=30)
        .encode(y=y, x="peer_median_per_case_usd:Q", color=alt.Color("peer:N", scale=colour), tooltip=tooltip)
    )
    return (bars + ticks).properties(
        title="Pharmacy per case by drug class", width="container", height=max(240, 130 + 50 * len(classes))
    )


# --- pharmacy (staff) ------------------------------------------------------------------------------

CLASS_CONFIG = {
    "rank": st.column_config.NumberColumn("#", format="%d"),
    "drug_class": st.column_config.TextColumn("Drug class", pinned=True),
    "class_has_preferred_flag": st.column_config.CheckboxColumn("Formulary prefers a drug"),
    "spend_usd": st.column_config.NumberColumn("Spend", format="dollar"),
    "above_peer_median_usd": st.column_config.NumberColumn("Spend above peer median", format="dollar"),
    "drug_switch_saving_usd": st.column_config.NumberColumn("Drug switch saving", format="dollar"),
    "spend_per_using_case_usd": st.column_config.NumberColumn("Per case using it", format="dollar"),
    "case_count": st.column_config.NumberColumn("Cases", format="%d"),
    "physician_count": st.column_config.NumberColumn("Physicians", format="%d"),
    "drug_count": st.column_config.NumberColumn("Drugs", format="%d"),
}
DRUG_CONFIG = {
    "drug_name": st.column_config.TextColumn("Drug", pinned=True),
    "preferred_flag": st.column_config.CheckboxColumn("Preferred"),
    "spend_usd": st.column_config.NumberColumn("Spend", format="dollar"),
    "units_count": st.column_config.NumberColumn("Units", format="%d"),
    "paid_unit_cost_usd": st.column_config.NumberColumn("Paid per unit", format="dollar"),
    "case_count": st.column_config.NumberColumn("Cases", format="%d"),
    "physician_count": st.column_config.NumberColumn("Physicians", format="%d"),
    "drug_switch_saving_usd": st.column_config.NumberColumn("Drug switch saving", format="dollar"),
}
PRESCRIBER_CONFIG = {
    "label": st.column_config.TextColumn("Physician", pinned=True),
    "service_line": "Service line",
    "procedure_code": "Procedure",
    "case_count": st.column_config.NumberColumn("Cases", format="%d"),
    "spend_per_case_usd": st.column_config.NumberColumn("Per case", format="dollar"),
    "peer_median_per_case_usd": st.column_config.NumberColumn("Peer median", format="dollar"),
    "gap_value_usd": st.column_config.NumberColumn("Above the median, over their cases", format="dollar"),
    "drug_switch_saving_usd": st.column_config.NumberColumn("Drug switch saving", format="dollar"),
}


def ranking_chart(frame: pd.DataFrame, by: str, top: int = 12) -> alt.Chart:
    """Drug classes by the ranking measure."""
    data = frame.head(top)
    return (
        alt.Chart(data)
        .mark_bar(color=charts.PEER)
        .encode(
            y=alt.Y("drug_class:N", sort=list(data["drug_class"]), title=None, axis=alt.Axis(labelLimit=200)),
            x=alt.X(f"{by}:Q", axis=alt.Axis(title=pharmacy.RANKINGS[by], format="$,.0f")),
            tooltip=[
                alt.Tooltip("drug_class:N", title="Drug class"),
                alt.Tooltip("spend_usd:Q", title="Spend", format="$,.0f"),
                alt.Tooltip("above_peer_median_usd:Q", title="Above peer median", format="$,.0f"),
                alt.Tooltip("drug_switch_saving_usd:Q", title="Drug switch saving", format="$,.0f"),
            ],
        )
        .properties(
            title=f"Drug classes by {pharmacy.RANKINGS[by].lower()}",
            width="container",
            height=max(240, 120 + 30 * len(data)),
        )
    )


def table(frame: pd.DataFrame, config: dict[str, Any]) -> None:
    """A table with only the configured columns, in their order."""
    st.dataframe(frame[[c for c in config if c in frame]], hide_index=True, width="stretch", column_config=config)


# --- savings achieved --------------------------------------------------------------------------------

SAVINGS_CONFIG = {
    "savings_category": st.column_config.TextColumn("Category", pinned=True),
    "savings_kind": "Kind",
    "label": st.column_config.TextColumn("Physician", pinned=True),
    "service_line": "Service line",
    "achieved_saving_usd": st.column_config.NumberColumn("Achieved", format="dollar"),
    "achieved_pct": st.column_config.NumberColumn("Achieved (% of baseline)", format="%.1f%%"),
    "baseline_spend_at_current_volume_usd": st.column_config.NumberColumn(
        "Baseline at current volume", format="dollar"
    ),
    "spend_usd": st.column_config.NumberColumn("Spent", format="dollar"),
    "remaining_opportunity_usd": st.column_config.NumberColumn("Still to switch", format="dollar"),
    "volume_band": "Cases",
    "case_count": st.column_config.NumberColumn("Cases", format="%d"),
    "physician_count": st.column_config.NumberColumn("Physicians", format="%d"),
}


def savings_metrics(s: dict[str, Any]) -> None:
    """Achieved, target, run rate and the remaining opportunity."""
    cols = st.columns(4)
    cols[0].metric("Achieved to date", ui.money(s.get("achieved_saving_usd")))
    target, pct = s.get("savings_target_usd"), s.get("achieved_pct_of_target")
    cols[1].metric(
        "This year's target",
        "not set" if products.is_missing(target) else ui.money(target),
        delta=None if products.is_missing(pct) else f"{pct:.0f}% reached",
        delta_color="off",
    )
    cols[2].metric("Yearly run rate", ui.money(s.get("annualised_saving_usd")))
    cols[3].metric(
        "Still to switch",
        ui.money(s.get("remaining_opportunity_usd")),
        help="The switch saving still available in the current window (supply and drugs).",
    )


def savings_chart(categories: pd.DataFrame, top: int = 15) -> alt.Chart:
    """Achieved per category: where savings came from (green) and where spend per case rose (orange)."""
    data = categories.reindex(categories["achieved_saving_usd"].abs().sort_values(ascending=False).index).head(top)
    data = data.assign(direction=["saved" if v > 0 else "rose" for v in data["achieved_saving_usd"]])
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("savings_category:N", title=None, sort="-x", axis=alt.Axis(labelLimit=200)),
            x=alt.X("achieved_saving_usd:Q", axis=alt.Axis(title="Achieved against the baseline", format="$,.0f")),
            color=alt.Color(
                "direction:N",
                title=None,
                scale=alt.Scale(domain=["saved", "rose"], range=[charts.GREEN, charts.YOU]),
                legend=alt.Legend(orient="top"),
            ),
            tooltip=[
                alt.Tooltip("savings_category:N", title="Category"),
                alt.Tooltip("savings_kind:N", title="Kind"),
                alt.Tooltip("achieved_saving_usd:Q", title="Achieved", format="$,.0f"),
                alt.Tooltip("achieved_pct:Q", title="% of baseline", format=".1f"),
                alt.Tooltip("remaining_opportunity_usd:Q", title="Still to switch", format="$,.0f"),
            ],
        )
        .properties(
            title=f"Savings achieved by category (largest {len(data)})",
            width="container",
            height=max(240, 120 + 28 * len(data)),
        )
    )


def cfo_button(
    summary: dict[str, Any],
    categories: pd.DataFrame,
    lines: pd.DataFrame,
    headline: str,
    data_as_of: str,
    period: Period,
) -> None:
    """The one-slide CFO summary (PowerPoint), audited when downloaded."""
    data = supply_exports.cfo_summary_pptx(summary, categories, lines, headline, data_as_of)
    name = f"savings-{period.token.replace('..', '_')}.pptx"
    if st.download_button(
        "CFO summary (one slide, PowerPoint)",
        data,
        name,
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        icon=":material/slideshow:",
        key="cfo_summary",
    ):
        ui.audit("export", "savings", {"what": "cfo summary pptx", "period": period.token})


# --- the scorecard's calls (one line each on the page) ------------------------------------------------


def scorecard_backorders(physician_id: str, period: Period, excluded: list[str] | None) -> None:
    """The backorder notices for the physician whose scorecard this is."""
    backorder_notice(ui.cached(supply_risk.backorder_notices, physician_id, period, excluded))


def scorecard_pharmacy(physician_id: str, procedure_code: str, period: Period, excluded: list[str] | None) -> None:
    """The scorecard's pharmacy section for one procedure."""
    st.subheader("Pharmacy")
    pharmacy_section(
        ui.cached(pharmacy.position, physician_id, procedure_code, period, excluded),
        ui.cached(pharmacy.by_class, physician_id, procedure_code, period, excluded),
        ui.cached(pharmacy.drivers, physician_id, procedure_code, period, excluded),
    )
