"""Review queue (supply, admin): physicians' flags on their cases — accept or reject each with a reply."""

import streamlit as st

from core import review, scorecard, state, ui
from core.ui import review as review_ui

viewer = ui.require(
    "review_flags",
    "flags",
    "The review queue is for supply and admin staff. The status of your "
    "own flags is under *My cases* on your scorecard.",
)
ui.log_view("flags", {})
st.title("Review queue")
st.caption(
    "Physicians flag cases they believe are wrong. Accepting a flag removes the case from every figure at "
    "once; the physician sees your decision and reply beside the case on their scorecard."
)


def decide(flag_id: int, case_id: str, status: str) -> None:
    """Runs before the page redraws (a button callback), so a click on a flag that another reviewer
    decided meanwhile -- no longer drawn as open -- is still reported rather than silently lost. The
    outcome is audited and shown by the page run that follows."""
    reply = st.session_state.get(f"reply_{flag_id}", "")
    params = {"flag_id": flag_id, "case_id": case_id, "status": status}
    try:
        review.decide(viewer, flag_id, status, reply)
    except state.FlagConflictError as err:
        st.session_state["_flag_outcome"] = ("flag decision conflict", params, str(err), "conflict")
    except (ValueError, state.StateError) as err:  # nothing saved: say why
        st.session_state["_flag_outcome"] = (None, params, str(err), "problem")
    else:
        st.session_state["_flag_outcome"] = ("flag decision", params, reply, f"Flag on {case_id} {status}.")
        scorecard.prepare_flags(ui.excluded())  # snapshots and funnels refreshed now (README, Performance)


if outcome := st.session_state.pop("_flag_outcome", None):
    action, params, detail, said = outcome
    if action:
        ui.audit(action, "flags", params, detail)
    if said == "conflict":
        st.error(detail, icon=":material/sync_problem:")
    elif said == "problem":
        st.error(detail, icon=":material/error:")
    else:
        st.success(said, icon=":material/check:")
try:
    counts, flags, decided = review.counts(viewer), review.queue(viewer, "open"), review.queue(viewer)
except state.StateError as err:  # say so and show no queue, rather than an empty one that looks real
    st.error(
        f"The review queue cannot be read right now ({err}). Nothing is shown until app state is back.",
        icon=":material/error:",
    )
    st.stop()
for col, (status, n) in zip(st.columns(3), counts.items(), strict=True):
    col.metric(status.capitalize(), n)

open_tab, decided_tab = st.tabs([f"Open ({counts['open']})", "Decided"])
with open_tab:
    if flags.empty:
        ui.no_data("No open flags. New ones appear here as physicians send them.")
    for f in flags.to_dict("records"):
        review_ui.open_flag(f, decide)
with decided_tab:
    decided = decided[decided["status"] != "open"] if len(decided) else decided
    if decided.empty:
        ui.no_data("No decisions yet.")
    else:
        review_ui.decided_table(decided)
