"""The case-flag review queue: physicians' flags beside the case they concern, and the decisions on them.

A physician flags one of their own cases on "My cases" (wrong physician, wrong procedure, data error,
other). Supply and admin staff work the queue here: they see the case as the data has it —
identified, which their role allows — and accept or reject the flag with a reply the physician
reads on their scorecard. An accepted flag removes the case from every figure at once, with no
rebuild (`core.scorecard.excluded_cases`). Flags live in app state keyed by the extract's case id,
so they survive rebuilds; a flag whose case has left the data is still listed, marked as such.
"""

from __future__ import annotations

import pandas as pd

from core import access, db, state

CASE_DETAIL_COLUMNS = [
    "case_id",
    "physician_id",
    "physician_name",
    "procedure_code",
    "procedure_name",
    "surgery_date",
    "discharge_date",
    "asa_class",
    "admission_type",
    "or_minutes",
    "los_days",
    "case_cost_usd",
    "implants_usd",
    "supplies_usd",
    "supply_line_count",
]


def _require(viewer: access.Viewer) -> None:
    if not access.can(viewer, "review_flags"):
        raise PermissionError(f"{viewer.role} {viewer.email} may not review case flags")


def queue(viewer: access.Viewer, status: str | None = None) -> pd.DataFrame:
    """Flags (newest first, optionally of one status) with the flagged case's details from the data in service.

    `flagged_physician_id` is who flagged; `physician_id` and `physician_name` are whom the data
    attributes the case to (they differ when a case was attributed to the wrong physician).
    `in_data_flag` is False when the case is no longer in the data.
    """
    _require(viewer)
    flags = state.flags(status=status)
    if flags.empty:
        return flags.assign(in_data_flag=pd.Series(dtype=bool))
    cases = db.fetch("mart_case", columns=CASE_DETAIL_COLUMNS, where={"case_id": flags["case_id"].unique().tolist()})
    out = flags.rename(columns={"physician_id": "flagged_physician_id"}).merge(cases, on="case_id", how="left")
    out["in_data_flag"] = out["procedure_code"].notna()
    return out.sort_values("id", ascending=False).reset_index(drop=True)


def counts(viewer: access.Viewer) -> dict[str, int]:
    """How many flags are open, accepted and rejected."""
    _require(viewer)
    flags = state.flags()
    return {s: int((flags["status"] == s).sum()) if len(flags) else 0 for s in state.FLAG_STATUSES}


def decide(viewer: access.Viewer, flag_id: int, status: str, reply: str) -> None:
    """Accept or reject a flag with a reply; a rejection must say why (the physician reads it)."""
    _require(viewer)
    if status == "rejected" and not reply.strip():
        raise ValueError("Say why the flag is rejected: the physician sees your reply.")
    state.decide_flag(flag_id, status, reply, viewer.email)
    refresh_snapshots()


def refresh_snapshots() -> None:
    """Recompute, now, the snapshot rows the decision affects (README, *Performance*: accepted flags keep
    the fast path), so the next scorecard request reads a snapshot rather than the live views. Best effort:
    a database not built yet, or one without snapshots, leaves requests on the live views as before."""
    try:
        excluded = state.accepted_flag_case_ids()
        if excluded:
            db.prepare_excluded(excluded)
    except Exception:  # noqa: BLE001 - the decision is recorded; requests fall back to the live views
        pass
