"""The review queue's pieces (pages/flags.py): an open flag with its case and the decision form, and the
table of decided flags. Everything from a flag or the extract is shown as plain text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from core import ui

# The decided flags' columns, in the order a reviewer reads them.
DECIDED_COLUMNS = [
    "case_id",
    "status",
    "reason",
    "note",
    "email",
    "created_at",
    "reply",
    "decided_by",
    "decided_at",
    "physician_name",
    "procedure_name",
    "in_data_flag",
]


def dollars(value: Any) -> str:
    """Money for st.markdown: two "$" in a line would read as LaTeX."""
    return ui.money(value).replace("$", "\\$")


def open_flag(f: dict[str, Any], decide: Callable[[int, str, str], None]) -> None:
    """One open flag: who flagged what and why, the case as the data in service has it, reply and decide."""
    with st.container(border=True):
        st.markdown(
            f"**Case {ui.plain(f['case_id'])}** · flagged **{ui.plain(f['reason'])}** by "
            f"{ui.plain(f['email'])} on {ui.plain(f['created_at'][:10])}"
        )
        if f["note"]:
            st.text(f["note"])
        if f["in_data_flag"]:
            st.markdown(
                f"{ui.plain(f['procedure_name'])} on {pd.Timestamp(f['surgery_date']):%d %b %Y} · "
                f"attributed to **{ui.plain(f['physician_name'])}** ({ui.plain(f['physician_id'])}) · case cost "
                f"{dollars(f['case_cost_usd'])} (implants {dollars(f['implants_usd'])}) · "
                f"ASA {ui.plain(f['asa_class'])} · {ui.plain(f['admission_type'])} · "
                f"{f['or_minutes']:.0f} OR minutes · {f['los_days']} day(s) in hospital · "
                f"{f['supply_line_count']} supply lines"
            )
        else:
            st.caption("This case is no longer in the data in service.")
        with st.form(f"decide_{f['id']}"):
            st.text_input(
                "Reply to the physician",
                placeholder="What you checked and what happens next",
                key=f"reply_{f['id']}",
            )
            left, right, _ = st.columns([2, 1, 3])
            left.form_submit_button(
                "Accept: remove from the figures",
                type="primary",
                on_click=decide,
                args=(f["id"], f["case_id"], "accepted"),
            )
            right.form_submit_button("Reject", on_click=decide, args=(f["id"], f["case_id"], "rejected"))


def decided_table(decided: pd.DataFrame) -> None:
    """Flags already accepted or rejected, newest first."""
    st.dataframe(decided[DECIDED_COLUMNS], hide_index=True, width="stretch")
