"""Audit log (admin): who looked at what, exported, shared or was refused — filter and download —
and whether the log's hash chain still verifies (README, "Audit log")."""

import streamlit as st

from core import state, ui
from core.output import exports

ui.require("read_audit", "audit", "The audit log is for administrators.")
ui.log_view("audit", {})
st.title("Audit log")
st.caption(
    "Every sign-in, page view, export, share and refused access, kept apart from the analytics "
    "database so it survives rebuilds and restarts."
)
try:
    check, actions = state.verify_audit_chain(), state.audit_actions()
except state.StateError as err:  # fail closed: no log is shown rather than a partial or empty one
    st.error(
        f"The audit log cannot be read right now ({err}). Nothing is shown until app state is back.",
        icon=":material/error:",
    )
    st.stop()
if check.ok:
    st.success(
        f"Chain verified: all {check.entries:,} entries are intact — none changed, removed or inserted.",
        icon=":material/verified:",
    )
else:
    st.error(
        f"The audit log has been altered: entry {check.first_broken_id} does not match "
        f"({check.problem}). The {check.entries:,} entries before it verify.",
        icon=":material/gpp_bad:",
    )
st.caption("Chain head (note it elsewhere to detect a rewritten log later):")
st.code(check.head, language=None)
left, mid, right = st.columns(3)
who = left.text_input("Who (e-mail contains)")
action = mid.selectbox("What", ["(any)", *actions])
since, until = None, None
days = right.date_input("When (from – to)", value=(), help="Leave empty for all dates.")
if isinstance(days, tuple) and len(days) == 2:
    since, until = days[0].isoformat(), days[1].isoformat()
try:
    entries = state.audit_entries(
        email=who or None, action=None if action == "(any)" else action, since=since, until=until
    )
except state.StateError as err:
    st.error(f"The audit log cannot be read right now ({err}).", icon=":material/error:")
    st.stop()
st.metric("Entries", f"{len(entries):,}")
st.dataframe(entries, hide_index=True, width="stretch")
if st.download_button("Download (CSV)", exports.csv_bytes(entries), "audit-log.csv", "text/csv"):
    ui.audit("export", "audit", {"what": "audit csv", "rows": len(entries)})
