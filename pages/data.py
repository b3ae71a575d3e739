"""Data status (admin): what is in service, when it was built, from what, and the risk models' state."""

import streamlit as st

from core import db, ui
from core.ui import upload

ui.require("view_data_status", "data", "Data status is for administrators.")
ui.log_view("data", {})
ctx = ui.context()
b = ctx.build
st.title("Data status")
cols = st.columns(4)
cols[0].metric("Source", "Demo data" if b["source_kind"] == "demo" else "Hospital extract")
cols[1].metric("Built", f"{b['built_at']:%d %b %Y %H:%M} UTC")
cols[2].metric("Cases", f"{b['cases_count']:,}")
cols[3].metric("Data through", f"{ctx.data_end:%d %b %Y}")
st.caption(
    f"Contract version {b['contract_version']} · source checksum `{b['source_sha256'][:16]}…` · "
    f"format {b['source_format']} · database version {ctx.version}"
)
st.subheader("Rows read per table")
counts = {k.removesuffix("_count"): b[k] for k in b if k.endswith("_count")}
st.dataframe([{"table": k, "rows": v} for k, v in counts.items()], hide_index=True)
st.subheader("Data quality")
warnings = ui.cached(db.fetch, "mart_build_warning")
if warnings.empty:
    st.success("The last build found no warnings: every row kept the contract.", icon=":material/check_circle:")
else:
    st.warning(
        f"The last build went on with {len(warnings)} warning(s); fix them in the next extract.",
        icon=":material/warning:",
    )
    st.dataframe(warnings, hide_index=True, width="stretch")
st.subheader("Risk models")
st.caption("Where a procedure has too few events the app shows unadjusted figures, labelled as such.")
st.dataframe(
    ui.cached(db.fetch, "mart_risk_model", order_by=["procedure_code", "outcome"]), hide_index=True, width="stretch"
)
st.subheader("Build history")
st.caption(
    "Extracts uploaded on the Publish data page: who, when, the source's checksum, rows, problems, and "
    "whether each was published or rolled back. Pick a build to see what it changed against the data "
    "in service when it was built."
)
upload.history()
st.subheader("Refreshing the data")
st.markdown(
    "Upload an extract on the **Publish data** page, or run `python -m core build --source DIR --db FILE`. "
    "A build that finds any contract error changes nothing (exit 2) and lists each problem with file, "
    "row, column, value and rule; a good build replaces the database atomically and the app serves it "
    "on the next request, without a restart."
)
