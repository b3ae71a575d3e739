"""Savings achieved: spend per case on preferred-item categories and formulary drug classes against the
baseline before the programme began, at the current volume, beside the year's target and what is still to
switch; by category, service line and physician (identified for supply and admin, blinded for champions)."""

import streamlit as st

from core import savings, ui
from core.ui import supply_chain as view

viewer = ui.require("view_savings", "savings", "Savings achieved is for supply chain staff, admins and champions.")
ctx, excluded, secret = ui.context(), ui.excluded(), ui.blinding_secret()

programme = savings.programme_period(ctx)
period = ui.period_picker(ctx, token=ui.param("period") or (programme.token if programme else None))
scope = savings.scope_for(viewer, ui.param("service_line"))
params = {"period": period.token, "service_line": scope}
ui.set_params(**params)
ui.log_view("savings", params)
st.title("Savings achieved")
st.caption(
    f"{period.label}, from the programme's start · "
    + (
        "identified view for supply and admin staff."
        if viewer.identified
        else f"{scope}: physicians blinded, nothing shown for fewer than {ctx.min_peers}."
    )
)
summary = ui.cached(savings.summary, period, excluded)
headline = savings.headline(summary)
st.markdown(ui.md(headline))
if summary.get("program_start_date") is None or str(summary.get("program_start_date")) in ("NaT", "None"):
    st.stop()
view.savings_metrics(summary)
ui.share_box("savings", params, "savings achieved")
categories = ui.cached(savings.by_category, period, excluded)
lines = ui.cached(savings.by_service_line, viewer, period, excluded, scope)
if viewer.identified:
    view.cfo_button(summary, categories, lines, headline, f"Data to {ctx.data_end:%d %b %Y}", period)

st.subheader("By category")
st.altair_chart(view.savings_chart(categories), width="stretch")
view.table(categories, view.SAVINGS_CONFIG)
view.csv_download("Download categories (CSV)", categories, f"savings-categories-{period.token}.csv", "savings", params)
st.subheader("By service line")
view.table(lines, view.SAVINGS_CONFIG)
st.subheader("By physician")
who = ui.cached(savings.by_physician, viewer, period, secret, excluded, scope)
if who.empty:
    ui.no_data(f"Fewer than {ctx.min_peers} physicians in this view, so none is shown.")
else:
    view.table(who, view.SAVINGS_CONFIG)
    view.csv_download("Download physicians (CSV)", who, f"savings-physicians-{period.token}.csv", "savings", params)
st.caption(
    "Achieved = (baseline spend per case − current spend per case) × current cases, per procedure and "
    "category; the baseline is the 12 months before the programme began. See *Definitions*."
)
