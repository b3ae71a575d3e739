"""My scorecard: cost per case and risk-adjusted outcomes against blinded peers, per procedure."""

import streamlit as st

from core import access, ui
from core import scorecard as sc
from core.ui import products as products_ui
from core.ui import sections, supply_chain

viewer = ui.require("view_scorecard", "scorecard", "The scorecard is for physicians and staff on the roster.")
ctx, excluded, secret = ui.context(), ui.excluded(), ui.blinding_secret()

# --- filters (from the link first, then the widgets; rights come only from the viewer) -------------
subject = access.scorecard_subject(viewer, ui.param("physician"))
if subject.refused:
    ui.refuse("scorecard", {"physician": ui.param("physician")}, subject.reason)
physician_id = subject.physician_id
if access.can(viewer, "choose_physician"):
    directory = ui.cached(sc.physicians)
    ids = directory["physician_id"].tolist()
    names = dict(zip(directory["physician_id"], directory["physician_name"], strict=False))
    physician_id = st.sidebar.selectbox(
        "Physician", ids, index=ids.index(physician_id) if physician_id in ids else 0, format_func=names.get
    )
period = ui.period_picker(ctx)
positions = ui.cached(sc.positions, physician_id, period, excluded)
st.title(
    "My scorecard"
    if physician_id == viewer.physician_id
    else f"Scorecard — {ui.plain(ui.cached(sc.physician, physician_id)['physician_name'])}"
)
if positions.empty:
    ui.no_data(f"No cases in {period.label}. Pick another period in the sidebar.")
    st.stop()
codes = positions["procedure_code"].tolist()
asked = ui.param("procedure")
if asked and asked not in codes:
    ui.say("warning", f"No {asked} cases in this period; showing every procedure you did.", icon=":material/info:")
chosen = (
    st.sidebar.multiselect(
        "Procedures",
        codes,
        default=[asked] if asked in codes else codes,
        format_func=dict(zip(codes, positions["procedure_name"], strict=False)).get,
    )
    or codes
)
ui.set_params(
    procedure=chosen[0] if len(chosen) == 1 else None,
    period=period.token,
    physician=physician_id if viewer.identified else None,
)
ui.log_view("scorecard", {"physician": physician_id, "procedures": chosen, "period": period.token})
ui.share_box(
    "scorecard",
    {
        "procedure": chosen[0] if len(chosen) == 1 else None,
        "period": period.token,
        "physician": physician_id if viewer.identified else None,
    },
    "this scorecard",
)
st.caption(f"{period.label}. Figures exclude cases whose flag was accepted. See *Definitions* for every metric.")
supply_chain.scorecard_backorders(physician_id, period, excluded)

# --- render, one tab per procedure: lazy, only the one on screen runs (README, Performance) -----------
for tab, code in zip(
    st.tabs(
        [ui.plain(positions.set_index("procedure_code").at[c, "procedure_name"]) for c in chosen],
        on_change="rerun",
        key="procedure_tab",
    ),
    chosen,
    strict=False,
):
    if tab.open is False:
        continue
    with tab:
        sections.procedure_tab(viewer, physician_id, code, positions, period, secret, excluded, ctx.min_peers)

products_ui.products_section(physician_id, period, excluded)

sections.my_cases(viewer, physician_id, period)
