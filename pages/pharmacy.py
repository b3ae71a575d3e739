"""Pharmacy: drug classes ranked by spend, by variation between physicians or by drug switch saving; for a
class, the drugs in use and each physician's spend per case against the peer median (supply and admin,
identified), with CSV downloads."""

import streamlit as st

from core import pharmacy, ui
from core.ui import supply_chain as view

viewer = ui.require("view_pharmacy", "pharmacy", "The pharmacy view is for supply chain, pharmacy and admin staff.")
ctx, excluded, secret = ui.context(), ui.excluded(), ui.blinding_secret()

period = ui.period_picker(ctx)
by = st.sidebar.radio("Rank drug classes by", list(pharmacy.RANKINGS), format_func=pharmacy.RANKINGS.get)
ranking = ui.cached(pharmacy.class_ranking, period, excluded, by)
st.title("Pharmacy spend")
st.caption(
    f"{period.label}. Identified view for supply, pharmacy and admin staff. Spend per case is over all "
    "of a physician's cases of a procedure; see *Definitions*."
)
if ranking.empty:
    ui.no_data(f"No drug lines in {period.label}.")
    st.stop()
cols, totals = st.columns(3), ranking.iloc[0]
cols[0].metric("Drug spend", ui.money(totals["all_classes_spend_usd"]))
cols[1].metric("Spend above peer medians", ui.money(totals["all_classes_above_peer_median_usd"]))
cols[2].metric(
    "Drug switch saving",
    ui.money(totals["all_classes_drug_switch_saving_usd"]),
    help="Non-preferred drugs priced at the cheapest preferred drug of their class (the formulary).",
)
st.altair_chart(view.ranking_chart(ranking, by), width="stretch")
view.table(ranking, view.CLASS_CONFIG)
view.csv_download(
    "Download the drug classes (CSV)", ranking, f"drug-classes-{period.token}.csv", "pharmacy", {"period": period.token}
)

classes = ranking["drug_class"].tolist()
asked = ui.param("drug_class")
if asked and asked not in classes:
    st.warning("That drug class has no lines in this period; showing the top-ranked one.", icon=":material/info:")
drug_class = st.selectbox(
    "Drug class", classes, index=classes.index(asked) if asked in classes else 0, key="pharmacy_class"
)
params = {"drug_class": drug_class, "period": period.token}
ui.set_params(**params)
ui.log_view("pharmacy", {**params, "by": by})
ui.share_box("pharmacy", params, "this drug class")

st.header(drug_class, anchor=False)
st.subheader("Drugs in use")
drugs = ui.cached(pharmacy.class_drugs, drug_class, period, excluded)
view.table(drugs, view.DRUG_CONFIG)
view.csv_download("Download the drugs (CSV)", drugs, f"drugs-{drug_class}-{period.token}.csv", "pharmacy", params)
st.subheader("Spend per case by physician and procedure")
who = ui.cached(pharmacy.class_physicians, viewer, drug_class, period, secret, excluded)
view.table(who, view.PRESCRIBER_CONFIG)
st.caption(
    "Per case = the physician's spend on the class ÷ all their cases of the procedure. The peer median is "
    f"over physicians with at least {ctx.min_cases} cases, shown from {ctx.min_peers} of them."
)
view.csv_download("Download physicians (CSV)", who, f"physicians-{drug_class}-{period.token}.csv", "pharmacy", params)
