"""Refresh day in the app, the logic under the page (core.build.publish): an upload is bounded, laid
out as a source without executing anything, built beside the database, compared with the build in
service, published atomically only without errors, and rolled back once."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import stat
import time
import zipfile
from pathlib import Path

import pytest

from core import state
from core.build import publish
from core.build.pipeline import build
from extract_support import write_workbook
from fixture_source import TABLES, write_fixture_source


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _zip(files: dict[str, str | bytes], links: tuple[str, ...] = ()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, content in files.items():
            zf.writestr(name, content)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


def _fixture_zip(overrides: dict[str, str | None] | None = None, folder: str = "extract/") -> bytes:
    files = {f"{n}.csv": t for n, t in TABLES.items()}
    files.update(overrides or {})
    return _zip({folder + n: t for n, t in files.items() if t is not None})


@pytest.fixture()
def served(tmp_path) -> tuple[Path, Path]:
    """(database in service, app state) in a fresh folder."""
    target = tmp_path / "data" / "scorecard.duckdb"
    assert build(write_fixture_source(tmp_path / "first"), target).ok
    return target, tmp_path / "data" / "state.sqlite"


def _upload(data: bytes, name: str, target: Path, state_path: Path) -> tuple[int, str]:
    build_id = state.record_build("admin@fixture.org", name, len(data), path=state_path)
    source, skipped = publish.stage_upload(data, name, target, build_id)
    return build_id, publish.run_build(build_id, source, target, state_path, skipped)


def test_zip_in_a_folder_is_laid_out_flat_and_other_files_are_skipped(tmp_path):
    data = _zip({**{f"x/{n}.csv": t for n, t in TABLES.items()}, "x/README.txt": "hello",
                 "__MACOSX/x/._cases.csv": "junk", "x/run.sh": "#!/bin/sh\nrm -rf /"})
    source, skipped = publish.stage_upload(data, "extract.zip", tmp_path / "db.duckdb", 1)
    assert sorted(p.name for p in source.iterdir()) == sorted(f"{n}.csv" for n in TABLES)
    assert sorted(skipped) == ["__MACOSX/x/._cases.csv", "x/README.txt", "x/run.sh"]
    for path in source.iterdir():
        assert not path.stat().st_mode & 0o111  # nothing from an upload is executable
    folder = publish.builds_folder(tmp_path / "db.duckdb")
    assert folder.parent == tmp_path and stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert (folder / "1" / "upload" / "extract.zip").read_bytes() == data


@pytest.mark.parametrize("data, name, words", [
    (_zip({"../cases.csv": "x"}), "a.zip", "outside the extract"),
    (_zip({"/etc/cases.csv": "x"}), "a.zip", "outside the extract"),
    (_zip({"cases.csv": "x"}, links=("items.csv",)), "a.zip", "is a link"),
    (_zip({"a/cases.csv": "x", "b/cases.csv": "y"}), "a.zip", "twice"),
    (_zip({"notes.txt": "x"}), "a.zip", "no extract files"),
    (b"not a zip", "a.zip", "damaged or not a zip"),
    (b"print('hi')", "evil.py", "upload a workbook"),
    (b"", "a.xlsx", "empty"),
])
def test_unsafe_or_unusable_uploads_are_refused(data, name, words, tmp_path):
    with pytest.raises(publish.UploadRefused, match=words):
        publish.stage_upload(data, name, tmp_path / "db.duckdb", 7)
    assert not list(tmp_path.glob("cases.csv")) and not Path("/etc/cases.csv").exists()


def test_upload_size_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(publish, "MAX_UPLOAD_BYTES", 1000)
    with pytest.raises(publish.UploadRefused, match="limited to"):
        publish.stage_upload(b"x" * 1001, "big.xlsx", tmp_path / "db.duckdb", 1)
    monkeypatch.setattr(publish, "MAX_UNPACKED_BYTES", 1000)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("cases.csv", "x" * 50_000)  # a small zip that unpacks large
    assert len(buf.getvalue()) < 1000
    with pytest.raises(publish.UploadRefused, match="unpacks to more than"):
        publish.stage_upload(buf.getvalue(), "bomb.zip", tmp_path / "db.duckdb", 2)


def test_broken_extract_lists_every_problem_and_cannot_be_published(served):
    target, state_path = served
    before = _digest(target)
    cases = TABLES["cases"].replace("2026-02-10,2026-02-11,65", "2026-02-10,2026-02-11,sixty", 1)
    bad_supply = "\n".join(line.replace(",-1,", ",1,") for line in TABLES["supply_usage"].splitlines())
    bad_supply = bad_supply.replace("C01,SUT-1,2,4,,1", "C01,SUT-1,2,=HYPERLINK(1),,1") + "\n"
    build_id, status = _upload(_fixture_zip({"cases.csv": cases, "supply_usage.csv": bad_supply}),
                               "bad.zip", target, state_path)
    assert status == "refused"
    entry = state.build_entry(build_id, path=state_path)
    assert entry["error_count"] == 2 and entry["status"] == "refused" and len(entry["source_sha256"]) == 64
    rows = publish.problems(target, build_id)
    errors = {(r["file"], r["row"], r["column"], r["value"], r["rule"]) for r in rows if r["severity"] == "error"}
    assert ("cases.csv", 2, "patient_age", "sixty", "type.int") in errors
    assert ("supply_usage.csv", 2, "quantity", "=HYPERLINK(1)", "type.number") in errors
    with pytest.raises(publish.PublishRefused, match="only a build without errors"):
        publish.publish(build_id, target, "admin@fixture.org", state_path)
    assert _digest(target) == before
    # The CSV of problems never carries a live formula.
    text = publish.problems_csv(rows).decode("utf-8-sig")
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert {"'=HYPERLINK(1)", "sixty"} <= {r["value"] for r in parsed}
    assert not any(v.startswith(("=", "+", "-", "@")) for r in parsed for v in r.values())


def test_every_problem_is_listed_not_only_the_first_five(served):
    target, state_path = served
    cases = "\n".join(line.replace(",elective,", ",walk-in,") for line in TABLES["cases"].splitlines()) + "\n"
    build_id, status = _upload(_fixture_zip({"cases.csv": cases}), "bad.zip", target, state_path)
    rows = [r for r in publish.problems(target, build_id) if r["rule"] == "value.enum"]
    assert TABLES["cases"].count(",elective,") == 10
    assert status == "refused" and len(rows) == 10 and {r["value"] for r in rows} == {"walk-in"}


def test_good_upload_is_compared_published_and_rolled_back_once(served):
    target, state_path = served
    before = _digest(target)
    # The new extract: one more case in July for a new physician, and P06 (General Surgery) gone.
    physicians = TABLES["physicians"] + "P07,Dr. Gus Seven,Orthopaedic Surgery,Orthopaedics,\n"
    cases = "\n".join(line for line in TABLES["cases"].splitlines() if ",P06," not in line) + "\n"
    cases += "C13,P07,TKA,2026-07-15,2026-07-17,70,F,2,1,elective,Medicare,100,false,false,false,false,Main\n"
    drop = ("C11,", "C12,")
    supply = "\n".join(line for line in TABLES["supply_usage"].splitlines() if not line.startswith(drop)) + "\n"
    drugs = "\n".join(line for line in TABLES["drug_usage"].splitlines() if not line.startswith(drop)) + "\n"
    book = write_workbook(write_fixture_source(target.parent.parent / "new", {
        "physicians.csv": physicians, "cases.csv": cases, "supply_usage.csv": supply, "drug_usage.csv": drugs}),
        target.parent.parent / "book" / "July extract.xlsx")
    build_id, status = _upload(book.read_bytes(), book.name, target, state_path)
    entry = state.build_entry(build_id, path=state_path)
    assert status == "ready", publish.problems(target, build_id)
    assert _digest(target) == before  # built beside, not in service yet
    diff = __import__("json").loads(entry["diff"])
    assert diff["physicians_new"] == [{"physician_id": "P07", "name": "Dr. Gus Seven"}]
    assert diff["physicians_gone"] == [{"physician_id": "P06", "name": "Dr. Flo Six"}]
    months = {m["month"]: (m["before"], m["after"]) for m in diff["months"]}
    assert months["2026-07"] == (0, 1) and months["2026-03"] == (3, 2) and months["2026-04"] == (3, 2)
    assert entry["data_end_date"] == "2026-07-15"

    publish.publish(build_id, target, "admin@fixture.org", state_path)
    assert _digest(target) != before
    assert _digest(publish.builds_folder(target) / publish.PREVIOUS) == before
    assert state.build_entry(build_id, path=state_path)["status"] == "published"
    with pytest.raises(publish.PublishRefused):
        publish.publish(build_id, target, "admin@fixture.org", state_path)

    assert publish.rollback_available(target)["build_id"] == build_id
    assert publish.rollback(target, "admin@fixture.org", state_path) == build_id
    assert _digest(target) == before
    entry = state.build_entry(build_id, path=state_path)
    assert (entry["status"], entry["rolled_back_by"]) == ("rolled back", "admin@fixture.org")
    with pytest.raises(publish.PublishRefused, match="no previous build"):
        publish.rollback(target, "admin@fixture.org", state_path)


def test_no_roll_back_over_a_command_line_rebuild(served, tmp_path):
    target, state_path = served
    build_id, status = _upload(_fixture_zip(), "same.zip", target, state_path)
    assert status == "ready"
    publish.publish(build_id, target, "admin@fixture.org", state_path)
    time.sleep(0.01)
    assert build(write_fixture_source(tmp_path / "cli"), target).ok  # someone rebuilt on the server
    assert publish.rollback_available(target) is None


def test_a_build_running_in_the_background_reports_progress(served):
    target, state_path = served
    data = _fixture_zip()
    build_id = state.record_build("admin@fixture.org", "bg.zip", len(data), path=state_path)
    source, skipped = publish.stage_upload(data, "bg.zip", target, build_id)
    done = []
    publish.start_build(build_id, source, target, state_path, skipped, on_done=done.append)
    with pytest.raises(publish.UploadRefused, match="another build"):
        publish.start_build(build_id + 1, source, target, state_path)
    deadline = time.monotonic() + 60
    while not done and time.monotonic() < deadline:
        time.sleep(0.1)
    assert done == ["ready"]
    entry = state.build_entry(build_id, path=state_path)
    assert entry["progress"] == "built: ready to publish" and entry["pid"] == os.getpid()


def test_a_build_left_running_by_a_stopped_app_is_marked_interrupted(served):
    target, state_path = served
    build_id = state.record_build("admin@fixture.org", "x.zip", 10, path=state_path)
    state.update_build(build_id, state_path, status="building", pid=2**22 + 12345)
    publish.settle_interrupted(state_path)
    assert state.build_entry(build_id, path=state_path)["status"] == "interrupted"


def test_only_the_newest_builds_keep_their_files(served, monkeypatch):
    target, state_path = served
    monkeypatch.setattr(publish, "KEEP_BUILDS", 2)
    for i in range(1, 5):
        publish.build_folder(target, i).mkdir(parents=True)
    publish.prune(target, state_path)
    assert sorted(p.name for p in publish.builds_folder(target).iterdir() if p.is_dir()) == ["3", "4"]
