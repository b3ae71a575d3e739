"""Audit log (admin): who looked at what, exported, shared or was refused — filter and download."""

import streamlit as st

from core import state, ui
from core.output import exports

ui.viewer()  # first: a page never draws for someone app.py has not let in
ui.log_view("audit", {})
st.title("Audit log")
st.caption("Every sign-in, page view, export, share and refused access, kept apart from the analytics "
           "database so it survives rebuilds and restarts.")
left, mid, right = st.columns(3)
who = left.text_input("Who (e-mail contains)")
action = mid.selectbox("What", ["(any)", *state.audit_actions()])
since, until = None, None
days = right.date_input("When (from – to)", value=(), help="Leave empty for all dates.")
if isinstance(days, tuple) and len(days) == 2:
    since, until = days[0].isoformat(), days[1].isoformat()
entries = state.audit_entries(email=who or None, action=None if action == "(any)" else action,
                              since=since, until=until)
st.metric("Entries", f"{len(entries):,}")
st.dataframe(entries, hide_index=True, width="stretch")
if st.download_button("Download (CSV)", exports.csv_bytes(entries), "audit-log.csv", "text/csv"):
    ui.audit("export", "audit", {"what": "audit csv", "rows": len(entries)})
