"""Supply categories: where non-preferred spend and switch savings are, who uses what (identified),
the manufacturers in use and the trend by quarter, with CSV downloads (supply and admin)."""

import streamlit as st

from core import products, supply_risk, ui
from core.ui import products as products_ui
from core.ui import supply_chain

viewer = ui.require("view_supply", "supply", "The supply view is for supply chain and admin staff.")
ctx, excluded, secret = ui.context(), ui.excluded(), ui.blinding_secret()

period = ui.period_picker(ctx)
by = st.sidebar.radio("Rank categories by", list(products.RANKINGS), format_func=products.RANKINGS.get)
ranking = supply_chain.with_preferred_risk(ui.cached(products.supply_ranking, period, excluded, by))
st.title("Supply categories")
st.caption(
    f"{period.label}. Identified view for supply and admin staff. Figures exclude cases whose flag was accepted."
)
if ranking.empty:
    ui.no_data(f"No supply lines in {period.label}.")
    st.stop()
cats = ranking["category"].tolist()
asked = ui.param("category")
if asked and asked not in cats:
    st.warning("That category has no supply lines in this period; showing the top-ranked one.", icon=":material/info:")
category = st.selectbox("Category", cats, index=cats.index(asked) if asked in cats else 0, key="supply_category")
ui.set_params(category=category, period=period.token)
ui.log_view("supply", {"category": category, "period": period.token, "by": by})
ui.share_box("supply", {"category": category, "period": period.token}, "this supply category")

totals, cols = ui.cached(products.supply_totals, period, excluded), st.columns(4)
cols[0].metric("Non-preferred spend", ui.money(totals["non_preferred_spend_usd"]))
cols[1].metric("Switch saving", ui.money(totals["switch_saving_usd"]))
cols[2].metric("Waste", ui.money(totals["waste_usd"]))
cols[3].metric("Categories without a preferred item", f"{totals['no_preferred_count']}")
st.altair_chart(products_ui.ranking_chart(ranking, by), width="stretch")
st.dataframe(
    products_ui.ranking_table(ranking), hide_index=True, width="stretch", column_config=products_ui.RANKING_CONFIG
)
products_ui.csv_download(
    "Download the ranking (CSV)", ranking, f"categories-{period.token}.csv", "supply", {"period": period.token}
)

row = ranking.set_index("category").loc[category]
st.header(ui.plain(category), anchor=False)
st.markdown(products_ui.category_sentence(category, row))
supply_chain.opportunity_warning(category, ui.cached(supply_risk.opportunity_risks))
products_ui.evidence_link(category)
st.subheader("Items and manufacturers in use")
items = ui.cached(products.category_items_in_use, category, period, excluded)
st.dataframe(items.drop(columns=["item_id"]), hide_index=True, width="stretch", column_config=products_ui.ITEM_CONFIG)
products_ui.csv_download(
    "Download items (CSV)",
    items,
    f"items-{category}-{period.token}.csv",
    "supply",
    {"category": category, "period": period.token},
)
st.subheader("Preferred use by physician")
who = ui.cached(products.category_physicians, viewer, category, period, secret, excluded)
st.dataframe(
    products_ui.physician_table(who), hide_index=True, width="stretch", column_config=products_ui.PHYSICIAN_CONFIG
)
products_ui.csv_download(
    "Download physicians (CSV)",
    who,
    f"physicians-{category}-{period.token}.csv",
    "supply",
    {"category": category, "period": period.token},
)
st.subheader("Trend by quarter")
trend = ui.cached(products.category_trend, category, excluded)
left, right = st.columns(2)
for col, chart in zip((left, right), products_ui.trend_charts(trend), strict=False):
    col.altair_chart(chart, width="stretch")
products_ui.csv_download("Download the trend (CSV)", trend, f"trend-{category}.csv", "supply", {"category": category})
