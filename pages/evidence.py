"""Evidence library: why each preferred product is preferred — summary, grade, outcomes, sources and
review dates beside the prices paid — with search, filters and feedback to the committee."""

from datetime import date

import streamlit as st

from core import access, products, ui
from core.ui import products as products_ui

viewer = ui.require("view_evidence", "evidence", "The evidence library is for signed-in users.")
ctx = ui.context()
options = ui.cached(products.evidence_filters)
st.title("Evidence library")
products_ui.demo_notice(ctx)
st.caption(
    "Why a product is preferred, as the value analysis committee summarised it. Prices paid are over "
    "all the data. Summaries come from the hospital's extract and are shown as text, never as HTML."
)
query = st.text_input("Search", value=ui.param("q") or "", placeholder="Title, product, outcome…")
c1, c2, c3 = st.columns(3)
category = products_ui.filter_select("Category", options["categories"], ui.param("category"), c1)
service_line = products_ui.filter_select("Service line", options["service_lines"], ui.param("service_line"), c2)
if ui.param("category") and ui.param("category") not in options["categories"]:
    st.info(
        f"There is no evidence summary for {products.plain(ui.param('category'))}: the category has no "
        "preferred item, or its summary is not written yet.",
        icon=":material/info:",
    )
asked_grade = (ui.param("grade") or "").lower() or None
grade = products_ui.filter_select("Evidence grade", list(products.GRADES), asked_grade, c3)
filters = {"category": category, "service_line": service_line, "grade": grade, "q": query.strip() or None}
ui.set_params(**filters)
ui.log_view("evidence", filters)
ui.share_box("evidence", filters, "the evidence library")
with st.expander("What the evidence grades mean"):
    st.markdown(products_ui.grade_legend())

rows = ui.cached(products.evidence_library, category, service_line, grade, filters["q"], date.today())
items = ui.cached(products.library_items, viewer, rows["category"].tolist())
mine = products.own_feedback(viewer)
products_ui.library_count(rows)
for row in rows.to_dict("records"):
    products_ui.evidence_card(row, items, viewer, mine, expanded=len(rows) == 1)

if access.can(viewer, "manage_feedback"):
    products_ui.feedback_queue(products.feedback_for(viewer), viewer)
elif access.can(viewer, "send_feedback"):
    products_ui.my_feedback(products.feedback_for(viewer))
