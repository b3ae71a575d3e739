"""The admin's refresh day, drawn: upload an extract, watch it build, read every problem, publish or
roll back (README "Refreshing the data"), and the build history on Data status.

The logic is core.build.publish (no Streamlit there); this module only draws it and writes the audit
trail. Everything from an extract (file names, values, headers) is shown in tables or as plain text,
never as Markdown. A build runs in a background thread and writes its progress to app state, so the
page polls it with a fragment and any admin who opens the page sees the same state.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import streamlit as st

from core import db, state, ui
from core.build import publish
from core.build.sources import WORKBOOK_SUFFIXES

_CURRENT = "_publish_build_id"
_UPLOAD_TYPES = ["zip", *(s.lstrip(".") for s in WORKBOOK_SUFFIXES)]
_DONE = ("refused", "ready", "failed", "interrupted", "published", "rolled back", "replaced")


def _target() -> Path:
    return db.database_path()


def upload_form() -> None:
    """The upload box: a zip of extract files or a workbook, checked and built in the background."""
    mb = publish.MAX_UPLOAD_BYTES // (1024 * 1024)
    st.caption(
        f"A workbook (one sheet per table) or a .zip of CSV/Parquet files, up to {mb} MB "
        f"(unpacked at most {publish.MAX_UNPACKED_BYTES // 1024**3} GB). An optional mapping.toml in the "
        "zip renames your own column headers and declares your yes/no words and date format. Nothing in "
        "an upload is ever run; it is kept in a private folder beside the database."
    )
    with st.form("upload", clear_on_submit=True, border=True):
        file = st.file_uploader("Extract", type=_UPLOAD_TYPES, accept_multiple_files=False)
        submitted = st.form_submit_button("Check this extract", type="primary", icon=":material/fact_check:")
    if not submitted:
        return
    if file is None:
        st.warning("Choose a file first.")
        return
    viewer = ui.viewer()
    data = file.getvalue()
    build_id = state.record_build(viewer.email, file.name, len(data))
    try:
        source, skipped = publish.stage_upload(data, file.name, _target(), build_id)
        publish.prune(_target())
        publish.start_build(build_id, source, _target(), skipped=skipped)
    except publish.UploadRefused as err:
        state.update_build(build_id, status="refused", finished_at=state.now(), progress=str(err), detail=str(err))
        ui.audit("upload", "publish", {"file": file.name, "bytes": len(data), "build": build_id}, f"refused: {err}")
        st.error(f"This upload cannot be used: {err}", icon=":material/block:")
        return
    ui.audit("upload", "publish", {"file": file.name, "bytes": len(data), "build": build_id}, "building")
    st.session_state[_CURRENT] = build_id


def current_build() -> dict | None:
    """The build this page is following: the one just uploaded, else the newest not yet settled."""
    publish.settle_interrupted()
    wanted = st.session_state.get(_CURRENT)
    if wanted:
        return state.build_entry(int(wanted))
    history = state.builds(limit=1)
    return history.iloc[0].to_dict() if len(history) else None


def follow(entry: dict) -> None:
    """Progress while the build runs (polled once a second), then its outcome."""
    build_id = int(entry["id"])
    running = entry["status"] in ("uploaded", "building")

    @st.fragment(run_every=1.0 if running else None)
    def progress() -> None:
        now = state.build_entry(build_id) or entry
        if now["status"] in ("uploaded", "building"):
            text = now["progress"] or "starting"
            st.info(f"Build {build_id} ({now['source_name']}) is running: {text}", icon=":material/hourglass_top:")
            step = re.search(r"step (\d+) of (\d+)", text)
            st.progress(int(step.group(1)) / int(step.group(2)) if step else 0.0)
        elif running:
            st.rerun(scope="app")  # finished: draw the outcome below

    progress()
    if not running:
        outcome(entry)


def outcome(entry: dict) -> None:
    """What the build found, and the Publish button when it found no error."""
    build_id, status = int(entry["id"]), entry["status"]
    title = f"Build {build_id} · {entry['source_name']}"
    rows = publish.problems(_target(), build_id)
    frame = pd.DataFrame(rows, columns=publish.PROBLEM_COLUMNS)
    errors, warnings = frame[frame["severity"] == "error"], frame[frame["severity"] == "warning"]
    if status == "refused":
        st.error(
            f"{title}: the extract breaks the contract in {int(entry['error_count'] or 0):,} place(s), so "
            "nothing can be published. The database in service is unchanged. Fix the rows below and upload "
            f"again. {entry['detail'] or ''}",
            icon=":material/error:",
        )
    elif status in ("failed", "interrupted"):
        st.error(
            f"{title}: {entry['progress']}. {entry['detail'] or ''} The database in service is unchanged.",
            icon=":material/error:",
        )
    elif status == "ready":
        st.success(
            f"{title}: the extract keeps the contract ({int(entry['warning_count'] or 0):,} warning(s)). "
            "Check what changes below, then publish.",
            icon=":material/check_circle:",
        )
    else:
        st.info(f"{title}: {status}.", icon=":material/info:")
    if len(frame):
        problem_table(build_id, errors, warnings, frame)
    if status == "ready":
        changes(json.loads(entry["diff"] or "{}"))
        if st.button("Publish", type="primary", icon=":material/publish:", key=f"publish_{build_id}"):
            try:
                publish.publish(build_id, _target(), ui.viewer().email)
            except (publish.PublishRefused, OSError) as err:
                ui.audit("publish", "publish", {"build": build_id}, f"refused: {err}")
                st.error(f"Not published: {err}")
                return
            ui.audit("publish", "publish", {"build": build_id, "sha256": entry["source_sha256"]}, "published")
            st.session_state["_publish_done"] = build_id
            st.rerun()


def problem_table(build_id: int, errors: pd.DataFrame, warnings: pd.DataFrame, frame: pd.DataFrame) -> None:
    """Every problem with file or sheet, row, column, value and rule; and a CSV of them."""
    if len(errors):
        st.subheader(f"Errors ({len(errors):,})")
        _table(errors)
    if len(warnings):
        st.subheader(f"Warnings ({len(warnings):,})")
        st.caption("Warnings do not stop a build; fix them in the next extract.")
        _table(warnings)
    if st.download_button(
        "Download the problems (CSV)",
        publish.problems_csv(frame.to_dict("records")),
        file_name=f"build-{build_id}-problems.csv",
        mime="text/csv",
        icon=":material/download:",
        key=f"problems_{build_id}",
    ):
        ui.audit("export", "publish", {"build": build_id, "what": "problems csv"})


_STATIC_ROWS = 200


def _table(frame: pd.DataFrame) -> None:
    """Problems as a plain table (text, never Markdown); a long list in a scrollable, searchable grid."""
    shown = frame[["file", "row", "column", "header", "value", "rule", "message"]].copy()
    shown["row"] = shown["row"].map(lambda r: "" if pd.isna(r) else str(int(r)))
    if not shown["header"].astype(bool).any():
        shown = shown.drop(columns="header")  # only a mapping file gives the hospital's own headers
    if len(shown) <= _STATIC_ROWS:
        st.table(shown.set_index("file"))
    else:
        st.dataframe(shown, hide_index=True, width="stretch")


def changes(diff: dict, title: str = "What changes if you publish") -> None:
    """What publishing would change: rows per table, cases per surgery month, physicians new or gone."""
    if not diff:
        return
    st.subheader(title)
    if diff.get("first"):
        st.caption("There is no database in service yet: everything is new.")
    new, gone = diff.get("physicians_new", []), diff.get("physicians_gone", [])
    cols = st.columns(3)
    cols[0].metric("Data through", diff.get("span", {}).get("end") or "–")
    cols[1].metric("Physicians new", len(new))
    cols[2].metric("Physicians gone", len(gone))
    months = pd.DataFrame(diff.get("months", []), columns=["month", "before", "after", "change"])
    fewer = months[months["change"] < 0]
    if len(fewer):
        st.warning(
            f"{len(fewer)} month(s) have fewer cases than the data in service: a half-delivered extract? "
            "Check before publishing.",
            icon=":material/warning:",
        )
    left, right = st.columns(2)
    left.caption("Cases per surgery month")
    left.table(months.set_index("month"))
    right.caption("Rows per table")
    right.table(pd.DataFrame(diff.get("tables", []), columns=["table", "before", "after"]).set_index("table"))
    if new or gone:
        people = [{"change": "new", **p} for p in new] + [{"change": "gone", **p} for p in gone]
        st.caption("Physicians with cases, new or gone")
        st.table(pd.DataFrame(people).set_index("change"))


def rollback_box() -> None:
    """Roll back the last publish, once, when the build it replaced is kept."""
    info = publish.rollback_available(_target())
    if st.session_state.get("_publish_done"):
        st.success(
            f"Build {st.session_state['_publish_done']} is published: every open page shows it on "
            "its next run, without a restart.",
            icon=":material/published_with_changes:",
        )
    if info is None:
        return
    with st.expander("Roll back", icon=":material/undo:"):
        st.caption(f"Put back the database that build {info['build_id']} replaced. Only one step back is kept.")
        if st.button("Roll back to the previous build", key="rollback"):
            try:
                rolled = publish.rollback(_target(), ui.viewer().email)
            except (publish.PublishRefused, OSError) as err:
                st.error(f"Not rolled back: {err}")
                return
            ui.audit("rollback", "publish", {"build": rolled}, "previous build back in service")
            st.session_state.pop("_publish_done", None)
            st.session_state[_CURRENT] = rolled
            st.rerun()


def history() -> None:
    """Every build: who, when, source checksum, counts, warnings, published or rolled back."""
    publish.settle_interrupted()
    frame = state.builds(limit=50)
    if frame.empty:
        st.caption(
            "No extract has been uploaded in the app yet; builds from the command line are listed "
            "above as the database in service."
        )
        return
    counts = frame["counts"].map(lambda c: json.loads(c) if isinstance(c, str) and c else {})
    table = pd.DataFrame(
        {
            "build": frame["id"],
            "uploaded": frame["created_at"],
            "by": frame["email"],
            "file": frame["source_name"],
            "status": frame["status"],
            "checksum": frame["source_sha256"].fillna("").str[:12],
            "cases": counts.map(lambda c: c.get("cases")),
            "physicians": counts.map(lambda c: c.get("physicians")),
            "errors": frame["error_count"],
            "warnings": frame["warning_count"],
            "data through": frame["data_end_date"],
            "published": frame["published_at"].fillna("") + " " + frame["published_by"].fillna(""),
            "rolled back": frame["rolled_back_at"].fillna("") + " " + frame["rolled_back_by"].fillna(""),
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")
    ready = frame[frame["diff"].notna()]
    if len(ready):
        chosen = st.selectbox(
            "What changed in build",
            ready["id"].tolist(),
            format_func=lambda i: f"{i} · {ready.set_index('id').at[i, 'source_name']}",
        )
        changes(
            json.loads(ready.set_index("id").at[chosen, "diff"]),
            f"Build {chosen} against the data in service when it was built",
        )
