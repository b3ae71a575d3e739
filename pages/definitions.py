"""Definitions: every metric and method in plain words (the Definitions page), with this data's settings."""

import streamlit as st

from core import ui
from core.output import definitions, supply_definitions

ui.require("view_definitions", "definitions", "Definitions are for signed-in users.")
ctx = ui.context()
s = ctx.settings
ui.log_view("definitions", {})
st.title("Definitions")
st.caption(
    f"Settings in force: OR time ${s['or_cost_per_minute_usd']:,.2f} a minute · a bed day "
    f"${s['bed_day_cost_usd']:,.0f} · eligible from {ctx.min_cases} cases · peer figures from "
    f"{ctx.min_peers} eligible physicians."
)

st.markdown(definitions.markdown(ctx))
st.markdown(supply_definitions.markdown(ctx.min_peers))
