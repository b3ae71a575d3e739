"""Refresh day in the app: an uploaded extract is staged, built beside the database, compared with
the build in service, and published (or rolled back) by an admin (README "Refreshing the data").

Nothing here imports Streamlit: `core.ui.upload` draws the page and calls these functions.

Where files go. Everything lives in a private folder beside the database, `.scorecard-builds/`
(mode 0700), never under a served path: `<id>/upload/` keeps the file as uploaded, `<id>/source/`
the extract files taken out of it, `<id>/scorecard.duckdb` the new build and `<id>/problems.json`
every problem found. `previous.duckdb` is the build that the last publish replaced, kept so the admin
can roll back once. Only the newest `KEEP_BUILDS` upload folders are kept.

What is accepted. An upload is a workbook (.xlsx, .xlsm, .xls, .ods) or a zip of extract files
(.csv, .parquet, a workbook, mapping.toml), at most `MAX_UPLOAD_BYTES`; a zip may unpack to at most
`MAX_UNPACKED_BYTES` in at most `MAX_ARCHIVE_MEMBERS` files. Files are only ever read as data: nothing
in an upload is executed, imported or given an executable mode; zip members with absolute paths,
`..`, links or encryption are refused; other files (a README, __MACOSX) are skipped and listed.

Publishing swaps the new file in with `os.replace` (atomic on one file system) after hard-linking the
file in service to `previous.duckdb`, so requests already running finish on the file they opened and
the next request opens the new one (core.db keys connections by the file's identity).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core import db, state
from core.build import pipeline
from core.build.sources import MAPPING_FILE, WORKBOOK_SUFFIXES
from core.build.validate import ProblemGroup

MAX_UPLOAD_BYTES = 200 * 1024 * 1024  # matches server.maxUploadSize in .streamlit/config.toml
MAX_UNPACKED_BYTES = 2 * 1024 * 1024 * 1024
MAX_ARCHIVE_MEMBERS = 100
KEEP_BUILDS = 5
# Rows listed per broken rule on the page and in its CSV (the terminal lists five).
LISTED_PER_RULE = 1000
EXTRACT_SUFFIXES = (".csv", ".parquet", *WORKBOOK_SUFFIXES)
FOLDER = ".scorecard-builds"
PREVIOUS = "previous.duckdb"

_running: dict[int, threading.Thread] = {}
_running_lock = threading.Lock()
_swap_lock = threading.Lock()


class UploadRefused(ValueError):
    """The upload cannot be used as a source; the message says why, in the admin's words."""


class PublishRefused(RuntimeError):
    """The build cannot be published or rolled back; the message says why."""


def builds_folder(target: Path) -> Path:
    """The private folder beside the database that holds uploads, candidate builds and the previous build."""
    folder = Path(target).resolve().parent / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder


def build_folder(target: Path, build_id: int) -> Path:
    """The folder of one build (upload, source, candidate database, problems)."""
    return builds_folder(target) / str(int(build_id))


def candidate_path(target: Path, build_id: int) -> Path:
    """Where an uploaded build's database is written before it is published."""
    return build_folder(target, build_id) / "scorecard.duckdb"


# --- staging an upload --------------------------------------------------------------------------


def _size(n: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}".replace(".0 ", " ")
    return f"{n} bytes"


def _safe_name(filename: str) -> str:
    name = Path(filename.replace("\\", "/")).name.strip()
    if not name or name.startswith(".") or any(c in name for c in "\x00/"):
        raise UploadRefused(f"{filename!r} is not a usable file name")
    return name


def stage_upload(data: bytes, filename: str, target: Path, build_id: int) -> tuple[Path, list[str]]:
    """Keep the upload and lay out its extract files as a source folder: (source, skipped names)."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadRefused(f"the file is {_size(len(data))}; uploads are limited to {_size(MAX_UPLOAD_BYTES)}")
    if not data:
        raise UploadRefused("the file is empty")
    name = _safe_name(filename)
    suffix = Path(name).suffix.lower()
    folder = build_folder(target, build_id)
    upload, source = folder / "upload", folder / "source"
    upload.mkdir(parents=True, exist_ok=False)
    source.mkdir()
    kept = upload / name
    kept.write_bytes(data)
    os.chmod(kept, 0o600)
    if suffix in WORKBOOK_SUFFIXES:
        shutil.copyfile(kept, source / name)
        return source, []
    if suffix == ".zip":
        return source, _unzip(data, source)
    raise UploadRefused(f"{name}: upload a workbook ({', '.join(WORKBOOK_SUFFIXES)}) or a .zip of extract files")


def _unzip(data: bytes, dest: Path) -> list[str]:
    """Take the extract files out of a zip, flat, refusing anything unsafe; returns skipped names."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise UploadRefused("the .zip file is damaged or not a zip file") from None
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) > MAX_ARCHIVE_MEMBERS:
        raise UploadRefused(f"the zip holds {len(members)} files; at most {MAX_ARCHIVE_MEMBERS} are accepted")
    if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
        raise UploadRefused(f"the zip unpacks to more than {_size(MAX_UNPACKED_BYTES)}")
    skipped: list[str] = []
    taken: dict[str, str] = {}
    budget = MAX_UNPACKED_BYTES
    for member in members:
        path = member.filename.replace("\\", "/")
        parts = [p for p in path.split("/") if p not in ("", ".")]
        if path.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
            raise UploadRefused(f"the zip member {member.filename!r} points outside the extract")
        if stat.S_ISLNK(member.external_attr >> 16):
            raise UploadRefused(f"the zip member {member.filename!r} is a link; only plain files are accepted")
        if member.flag_bits & 0x1:
            raise UploadRefused("the zip is encrypted; upload it without a password")
        base = parts[-1] if parts else ""
        if (
            not base
            or base.startswith((".", "~$"))
            or "__MACOSX" in parts
            or not (Path(base).suffix.lower() in EXTRACT_SUFFIXES or base == MAPPING_FILE)
        ):
            skipped.append(member.filename)
            continue
        if base in taken:
            raise UploadRefused(f"the zip holds {base} twice ({taken[base]} and {member.filename}): keep one")
        taken[base] = member.filename
        with archive.open(member) as src, (dest / base).open("wb") as out:
            while chunk := src.read(1 << 20):
                budget -= len(chunk)
                if budget < 0:
                    raise UploadRefused(f"the zip unpacks to more than {_size(MAX_UNPACKED_BYTES)}")
                out.write(chunk)
        os.chmod(dest / base, 0o600)
    if not taken:
        raise UploadRefused("the zip holds no extract files (.csv, .parquet or a workbook)")
    return skipped


# --- building ------------------------------------------------------------------------------------


def problem_rows(groups: list[ProblemGroup]) -> list[dict[str, Any]]:
    """One row per problem (file or sheet, row, column, value, rule), for the page's table and CSV."""
    rows = []
    for g in groups:
        examples = g.examples or [None]
        for ex in examples:
            rows.append(
                {
                    "severity": g.severity,
                    "file": g.file,
                    "row": ex.row if ex is not None else None,
                    "column": g.column or "",
                    "header": g.header or "",
                    "value": ex.value if ex is not None and ex.value is not None else "",
                    "rule": g.rule,
                    "message": g.message,
                }
            )
        if g.examples and g.count > len(g.examples):
            rows.append(
                {
                    "severity": g.severity,
                    "file": g.file,
                    "row": None,
                    "column": g.column or "",
                    "header": g.header or "",
                    "value": "",
                    "rule": g.rule,
                    "message": f"… and {g.count - len(g.examples):,} more rows like these",
                }
            )
    return rows


PROBLEM_COLUMNS = ("severity", "file", "row", "column", "header", "value", "rule", "message")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _neutral(value: Any) -> str:
    """A cell a spreadsheet will show as text: values from an extract never run as formulas."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def problems_csv(rows: list[dict[str, Any]]) -> bytes:
    """The problem list as CSV (UTF-8 with BOM, so Excel opens it cleanly), formula-like cells neutralised."""
    import csv

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(PROBLEM_COLUMNS)
    for row in rows:
        writer.writerow([_neutral(row.get(c)) for c in PROBLEM_COLUMNS])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def problems(target: Path, build_id: int) -> list[dict[str, Any]]:
    """The problems a build found (empty before it has run)."""
    path = build_folder(target, build_id) / "problems.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []


def run_build(
    build_id: int, source: Path, target: Path, state_path: Path | None = None, skipped: list[str] | None = None
) -> str:
    """Build an uploaded source into its candidate file and record the outcome; returns the status."""
    steps = sum(1 for kind, _sql in pipeline.sql_models().values() if kind == "table")
    done = [0]

    def progress(message: str) -> None:
        # The pipeline speaks to a terminal ("built int_case_cost: 13 rows"); the admin sees steps.
        if message.startswith("built "):
            done[0] += 1
            message = f"building the figures: step {done[0]} of {steps}"
        state.update_build(build_id, state_path, progress=message)

    state.update_build(
        build_id,
        state_path,
        status="building",
        progress="reading the extract",
        source_sha256=pipeline.source_checksum(source),
        pid=os.getpid(),
    )
    folder = build_folder(target, build_id)
    try:
        result = pipeline.build(
            source,
            candidate_path(target, build_id),
            progress,
            examples_per_rule=LISTED_PER_RULE,
            accepted=lambda: state.accepted_flag_case_ids(state_path),
            serves_as=Path(target),
        )
        rows = problem_rows(result.problems)
        rows += [
            {
                "severity": "warning",
                "file": name,
                "row": None,
                "column": "",
                "header": "",
                "value": "",
                "rule": "upload.skipped",
                "message": "not an extract file: skipped, never opened",
            }
            for name in skipped or []
        ]
        (folder / "problems.json").write_text(json.dumps(rows, default=str), encoding="utf-8")
        fields: dict[str, Any] = {
            "error_count": sum(g.count for g in result.errors),
            "warning_count": sum(g.count for g in result.warnings) + len(skipped or []),
            "counts": result.row_counts,
            "seconds": round(result.seconds, 1),
            "finished_at": state.now(),
        }
        if result.ok:
            candidate = candidate_path(target, build_id)
            fields["diff"] = compare(candidate, target)
            span = fields["diff"].get("span", {})
            fields.update(data_start_date=span.get("start"), data_end_date=span.get("end"))
            fields.update(status="ready", progress="built: ready to publish")
        else:
            fields.update(status="refused", progress="the extract breaks the contract: nothing to publish")
        state.update_build(build_id, state_path, **fields)
        return fields["status"]
    except Exception as err:  # noqa: BLE001 - anything else: recorded for the admin, the database in service untouched
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        state.update_build(
            build_id,
            state_path,
            status="failed",
            finished_at=state.now(),
            progress="the build failed",
            detail=f"{type(err).__name__}: {first}"[:500],
        )
        return "failed"


def start_build(
    build_id: int,
    source: Path,
    target: Path,
    state_path: Path | None = None,
    skipped: list[str] | None = None,
    on_done: Callable[[str], None] | None = None,
) -> None:
    """Run `run_build` in a background thread, one build at a time in this process."""
    with _running_lock:
        if any(t.is_alive() for t in _running.values()):
            raise UploadRefused("another build is running; wait for it to finish")

        def work() -> None:
            status = run_build(build_id, source, target, state_path, skipped)
            if on_done:
                on_done(status)

        thread = threading.Thread(target=work, name=f"scorecard-build-{build_id}", daemon=True)
        _running[build_id] = thread
        thread.start()


def is_running(build_id: int) -> bool:
    """Whether this process is building `build_id` now."""
    thread = _running.get(int(build_id))
    return bool(thread and thread.is_alive())


def settle_interrupted(state_path: Path | None = None) -> None:
    """Builds left 'building' by a process that is gone (the app restarted) are marked interrupted."""
    history = state.builds(limit=20, path=state_path)
    for row in history.itertuples():
        if row.status not in ("building", "uploaded"):
            continue
        alive = row.pid == os.getpid() and is_running(row.id)
        elsewhere = row.pid != os.getpid() and row.pid and Path(f"/proc/{int(row.pid)}").exists()
        if not alive and not elsewhere:
            state.update_build(
                int(row.id),
                state_path,
                status="interrupted",
                finished_at=state.now(),
                progress="the app stopped before the build finished: upload again",
            )


# --- comparing with the build in service ---------------------------------------------------------


def compare(new: Path, old: Path) -> dict[str, Any]:
    """What changes if `new` replaces `old`: rows per table, cases per surgery month, physicians
    (with cases) new or gone, and the new data's span. A first build compares with nothing."""
    files = {"new": new}
    if Path(old).exists():
        files["old"] = old
    con = db.open_side_by_side(files)
    try:

        def months(alias: str) -> dict[str, int]:
            return dict(
                con.execute(
                    f"select strftime(surgery_date, '%Y-%m'), count(*) from {alias}.stg_cases group by 1 order by 1"
                ).fetchall()
            )

        def physicians(alias: str) -> dict[str, str]:
            return dict(
                con.execute(
                    f"select c.physician_id, coalesce(any_value(p.physician_name), c.physician_id) "
                    f"from {alias}.stg_cases c left join {alias}.stg_physicians p using (physician_id) "
                    f"group by 1"
                ).fetchall()
            )

        def counts(alias: str) -> dict[str, int]:
            frame = con.execute(f"select * from {alias}.mart_build_info").df()
            return {c.removesuffix("_count"): int(frame.at[0, c]) for c in frame.columns if c.endswith("_count")}

        span = con.execute("select min(surgery_date), max(surgery_date) from new.stg_cases").fetchone()
        new_months, new_docs, new_counts = months("new"), physicians("new"), counts("new")
        old_months, old_docs, old_counts = (
            ({}, {}, {}) if "old" not in files else (months("old"), physicians("old"), counts("old"))
        )
    finally:
        con.close()
    all_months = sorted(set(new_months) | set(old_months))
    return {
        "first": "old" not in files,
        "span": {"start": str(span[0]) if span[0] else None, "end": str(span[1]) if span[1] else None},
        "months": [
            {
                "month": m,
                "before": old_months.get(m, 0),
                "after": new_months.get(m, 0),
                "change": new_months.get(m, 0) - old_months.get(m, 0),
            }
            for m in all_months
        ],
        "physicians_new": sorted(
            ({"physician_id": k, "name": v} for k, v in new_docs.items() if k not in old_docs),
            key=lambda d: d["physician_id"],
        ),
        "physicians_gone": sorted(
            ({"physician_id": k, "name": v} for k, v in old_docs.items() if k not in new_docs),
            key=lambda d: d["physician_id"],
        ),
        "tables": [{"table": t, "before": old_counts.get(t, 0), "after": new_counts.get(t, 0)} for t in new_counts],
    }


# --- publishing and rolling back -----------------------------------------------------------------


def _served_identity(target: Path) -> str:
    return db.database_version(Path(target))


def publish(build_id: int, target: Path, email: str, state_path: Path | None = None) -> None:
    """Swap the build's database in atomically, keeping the one in service as the previous build."""
    with _swap_lock:  # two admins clicking at once: one publishes, the other is told it already was
        _publish(build_id, Path(target), email, state_path)


def _publish(build_id: int, target: Path, email: str, state_path: Path | None) -> None:
    entry = state.build_entry(build_id, state_path)
    if entry is None:
        raise PublishRefused("no such build")
    if entry["status"] != "ready" or (entry["error_count"] or 0) > 0:
        if entry["status"] == "published":
            raise PublishRefused(f"build {build_id} is already published")
        raise PublishRefused(f"build {build_id} is {entry['status']}: only a build without errors can be published")
    candidate = candidate_path(target, build_id)
    if not candidate.exists():
        raise PublishRefused(f"build {build_id}'s database is no longer kept: upload the extract again")
    target = Path(target)
    folder = builds_folder(target)
    previous, marker = folder / PREVIOUS, folder / "previous.json"
    replaced = None
    if target.exists():
        # A second name for the file in service: after the swap it is the previous build. A file
        # system without hard links gets a copy (slower, same result).
        link = folder / f".{PREVIOUS}.{os.getpid()}"
        link.unlink(missing_ok=True)
        try:
            os.link(target, link)
        except OSError:
            shutil.copy2(target, link)
        os.replace(link, previous)
        replaced = _served_in(state_path)
    else:
        previous.unlink(missing_ok=True)
    os.replace(candidate, target)
    _fsync(target.parent)
    marker.write_text(
        json.dumps(
            {
                "build_id": int(build_id),
                "served": _served_identity(target),
                "previous_build_id": replaced,
                "had_previous": previous.exists(),
            }
        )
    )
    if replaced is not None:
        state.update_build(replaced, state_path, status="replaced")
    state.update_build(build_id, state_path, status="published", published_at=state.now(), published_by=email)


def _served_in(state_path: Path | None) -> int | None:
    """The uploaded build in service, if the database in service came from the app."""
    history = state.builds(limit=200, path=state_path)
    live = history[history["status"] == "published"]
    return int(live.iloc[0]["id"]) if len(live) else None


def rollback_available(target: Path) -> dict[str, Any] | None:
    """What a roll back would undo ({build_id, previous_build_id}), or None when it is not possible."""
    folder = builds_folder(target)
    marker, previous = folder / "previous.json", folder / PREVIOUS
    if not marker.exists() or not previous.exists():
        return None
    info = json.loads(marker.read_text())
    if info.get("served") != _served_identity(Path(target)):
        return None  # rebuilt since (e.g. from the command line): the previous build is no longer "one back"
    return info


def rollback(target: Path, email: str, state_path: Path | None = None) -> int:
    """Put the previous build back in service (once); returns the id of the build rolled back."""
    with _swap_lock:
        return _rollback(Path(target), email, state_path)


def _rollback(target: Path, email: str, state_path: Path | None) -> int:
    info = rollback_available(target)
    if info is None:
        raise PublishRefused("there is no previous build to roll back to (only one roll back is kept)")
    folder = builds_folder(target)
    os.replace(folder / PREVIOUS, Path(target))
    _fsync(Path(target).parent)
    (folder / "previous.json").unlink(missing_ok=True)
    state.update_build(
        info["build_id"], state_path, status="rolled back", rolled_back_at=state.now(), rolled_back_by=email
    )
    if info.get("previous_build_id"):
        state.update_build(info["previous_build_id"], state_path, status="published")
    return int(info["build_id"])


def prune(target: Path, state_path: Path | None = None) -> None:
    """Remove the files of all but the newest KEEP_BUILDS builds (their history entries stay)."""
    folder = builds_folder(target)
    ids = sorted((int(p.name) for p in folder.iterdir() if p.is_dir() and p.name.isdigit()), reverse=True)
    for old in ids[KEEP_BUILDS:]:
        if not is_running(old):
            shutil.rmtree(folder / str(old), ignore_errors=True)


def _fsync(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
