"""My products: my preferred-product use per category beside my peers' typical share, what switching
would save, and the evidence behind each preferred item (the Definitions page)."""

import streamlit as st

from core import ui
from core.ui import products as products_ui

viewer = ui.require("view_products", "products", "My products is for physicians with a scorecard.")
ctx, excluded = ui.context(), ui.excluded()
if not viewer.is_physician:
    # Supply and admin read every physician's products on the supply view; this page is one's own.
    ui.audit("refused", "products", {}, "no physician of one's own on the roster")
    st.warning(
        "*My products* shows a physician's own products. Supply staff see every physician on the "
        "*Supply categories* page.",
        icon=":material/lock:",
    )
    st.stop()
if ui.param("physician") and ui.param("physician") != viewer.physician_id:
    ui.refuse("products", {"physician": ui.param("physician")}, "another physician's products were requested")

period = ui.period_picker(ctx)
ui.set_params(period=period.token)
ui.log_view("products", {"physician": viewer.physician_id, "period": period.token})
st.title("My products")
ui.share_box("products", {"period": period.token}, "My products")
st.caption(f"{period.label}. Figures exclude cases whose flag was accepted. See *Definitions* for every metric.")
products_ui.products_section(viewer.physician_id, period, excluded, heading=False)
