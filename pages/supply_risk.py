"""Supply risk: items in use that are critical, single-source or on backorder, ranked by exposure; for
each, the approved alternatives with their price, who already uses them and their evidence (supply and
admin identified; champions their own service line, blinded)."""

import streamlit as st

from core import supply_risk, ui
from core.ui import products as products_ui
from core.ui import supply_chain as view

viewer = ui.require("view_supply_risk", "supply_risk", "Supply risk is for supply chain staff, admins and champions.")
ctx, excluded, secret = ui.context(), ui.excluded(), ui.blinding_secret()

period = ui.period_picker(ctx)
line = ui.param("service_line")
if viewer.identified:
    lines = ["All service lines", *ui.cached(supply_risk.service_lines)]
    line = st.sidebar.selectbox("Service line", lines, index=lines.index(line) if line in lines else 0)
    line = None if line == "All service lines" else line
scope = supply_risk.scope_for(viewer, line)
ranking = view.risk_filter(ui.cached(supply_risk.risk_ranking, viewer, period, excluded, scope))
ui.log_view("supply_risk", {"period": period.token, "service_line": scope})  # before anything is drawn
st.title("Supply risk")
st.caption(
    f"{period.label} · {scope or 'all service lines'} · "
    + (
        "identified view for supply and admin staff."
        if viewer.identified
        else "your service line; peers blinded and volumes banded."
    )
)
if ranking.empty:
    ui.no_data(f"No item in use in {period.label} is critical, single-source or on backorder.")
    st.stop()
view.risk_metrics(ranking)
view.risk_table(ranking)
view.csv_download(
    "Download the risk ranking (CSV)",
    ranking,
    f"supply-risk-{period.token}.csv",
    "supply_risk",
    {"period": period.token, "service_line": scope},
)

ids = ranking["item_id"].tolist()
labels = dict(zip(ids, ranking["item_description"], strict=True))
asked = ui.param("item")
if asked and asked not in ids:
    st.warning(
        "That item is not among the risks shown for this period; showing the most exposed one.", icon=":material/info:"
    )
item = st.selectbox("Item", ids, index=ids.index(asked) if asked in ids else 0, format_func=labels.get, key="risk_item")
params = {"item": item, "period": period.token, "service_line": scope if viewer.identified else None}
ui.set_params(**params)
ui.log_view("supply_risk", params)
ui.share_box("supply_risk", params, "this supply-risk item")

row = ranking.set_index("item_id").loc[item].to_dict() | {"item_id": item}
st.header(str(row["item_description"]), anchor=False)
st.markdown(view.item_sentence(row, viewer.identified))
st.subheader("Approved alternatives")
alternatives = ui.cached(supply_risk.alternatives, viewer, item, period, excluded)
if alternatives.empty:
    ui.no_data("No other item of this category is approved and off backorder.")
else:
    st.dataframe(
        view.alternatives_table(alternatives), hide_index=True, width="stretch", column_config=view.ALTERNATIVE_CONFIG
    )
    view.evidence_lines(alternatives)
    st.caption(
        "Alternatives are the other items of the category in the item master that are not on backorder, "
        "preferred first, then cheapest. Evidence is the summary behind the alternative."
    )
    view.csv_download(
        "Download the alternatives (CSV)",
        alternatives,
        f"alternatives-{item}-{period.token}.csv",
        "supply_risk",
        params,
    )
products_ui.evidence_link(str(row["category"]), f"Evidence for {row['category']}")
st.subheader("Who uses this item")
users = ui.cached(supply_risk.item_users, viewer, item, period, secret, excluded, scope)
if users.empty:
    ui.no_data("Too few physicians use this item to show them without identifying them.")
else:
    st.dataframe(view.users_table(users), hide_index=True, width="stretch")
