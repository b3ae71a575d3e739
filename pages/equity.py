"""Equity: outcomes and cost by patient group (payer, sex, age band, race/ethnicity, dual eligibility),
by closed calendar year, with every cell of 1–10 cases or events suppressed (README, *Equity*)."""

import streamlit as st

from core import access, equity, ui
from core import scorecard as sc
from core.ui import equity as equity_ui

viewer = ui.require("view_equity", "equity", "The equity view is not available to your role.")
ctx, excluded = ui.context(), ui.excluded()

lines = sorted(ui.cached(sc.procedures)["service_line"].dropna().unique().tolist())
scopes = access.equity_scopes(viewer, lines)
st.title("Equity: outcomes and cost by patient group")
if not scopes:
    ui.no_data("You have no patients or service line to compare by group.")
    st.stop()
asked = (ui.param("scope"), ui.param("service_line") or "")
if ui.param("scope") == "physician":
    asked = ("physician", viewer.physician_id or "")
if ui.param("scope") and asked not in scopes:
    ui.refuse(
        "equity",
        {"scope": ui.param("scope"), "service_line": ui.param("service_line")},
        "an equity scope outside the viewer's rights was requested",
    )
scope = st.sidebar.selectbox(
    "Patients", scopes, index=scopes.index(asked) if asked in scopes else 0, format_func=equity_ui.scope_label
)
period = ui.period_picker(ctx, grain="closed_year")
if period is None:
    ui.no_data(
        f"The data run from {ctx.data_start:%d %b %Y} to {ctx.data_end:%d %b %Y}. Figures by patient group are "
        "shown by closed calendar year only, and no calendar year has ended within the data yet."
    )
    st.stop()
measures = list(equity.MEASURES)
measure = st.sidebar.radio(
    "Figure",
    measures,
    format_func=equity.MEASURE_LABELS.get,
    index=measures.index(ui.param("outcome")) if ui.param("outcome") in measures else 0,
)
params = {
    "scope": scope[0],
    "service_line": scope[1] if scope[0] == "service_line" else None,
    "period": period.token,
    "outcome": measure,
}
ui.set_params(**params)
ui.log_view("equity", params)
ui.share_box("equity", params, "this equity view")
st.caption(
    f"{equity_ui.scope_label(scope)} · {period.label}. Outcomes are observed ÷ expected from the risk models "
    "(patient factors only, never payer or group), with exact 95% intervals; cost index = case cost ÷ "
    "expected case cost. Shown by closed calendar year only. Any cell of 1–10 cases or events is "
    "suppressed, with other cells wherever one could otherwise be worked out from the rest (across the "
    "hospital and its service lines); no totals are shown. See *Definitions*."
)
frame = ui.cached(equity.groups, scope[0], scope[1], period, excluded, scopes)
if frame.empty:
    ui.no_data(f"No cases in {period.label}.")
    st.stop()
st.subheader("Clear gaps")
equity_ui.gaps(frame)
st.subheader(equity.MEASURE_LABELS[measure])
rows = frame[frame["measure"] == measure]
for key in rows["dimension"].drop_duplicates():
    equity_ui.dimension(rows[rows["dimension"] == key].reset_index(drop=True), measure)
if scope[0] == "physician":
    st.caption(
        "Your own patients are shown by a dimension only when every group has at least 11 cases "
        "(and events), and nothing of it is hidden in the service-line view you also see, so that no small "
        "group of patients can be recognised or worked out."
    )
