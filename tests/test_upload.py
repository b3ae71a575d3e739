"""Refresh day in the app, the logic under the page (core.build.publish): an upload is bounded, laid
out as a source without executing anything, built beside the database, compared with the build in
service, published atomically only without errors, and rolled back once."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import stat
import time
import zipfile
from pathlib import Path

import pytest
from extract_support import write_workbook
from fixture_source import TABLES, write_fixture_source

from core import state
from core.build import publish
from core.build.pipeline import build


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


def test_only_admins_may_publish():
    from core import access

    assert access.ACTIONS["publish_data"] == ("admin",) and access.PAGES["publish"] == "publish_data"
    for role in ("physician", "champion", "supply"):
        viewer = access.Viewer(
            f"{role}@fixture.org",
            role,
            "P01" if role in ("physician", "champion") else None,
            "Orthopaedics" if role == "champion" else None,
        )
        assert not access.can(viewer, "publish_data") and "publish" not in access.allowed_pages(viewer)
    assert "publish" in access.allowed_pages(access.Viewer("admin@fixture.org", "admin"))


def test_zip_in_a_folder_is_laid_out_flat_and_other_files_are_skipped(tmp_path):
    data = _zip(
        {
            **{f"x/{n}.csv": t for n, t in TABLES.items()},
            "x/README.txt": "hello",
            "__MACOSX/x/._cases.csv": "junk",
            "x/run.sh": "#!/bin/sh\nrm -rf /",
        }
    )
    source, skipped = publish.stage_upload(data, "extract.zip", tmp_path / "db.duckdb", 1)
    assert sorted(p.name for p in source.iterdir()) == sorted(f"{n}.csv" for n in TABLES)
    assert sorted(skipped) == ["__MACOSX/x/._cases.csv", "x/README.txt", "x/run.sh"]
    for path in source.iterdir():
        assert not path.stat().st_mode & 0o111  # nothing from an upload is executable
    folder = publish.builds_folder(tmp_path / "db.duckdb")
    assert folder.parent == tmp_path and stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert (folder / "1" / "upload" / "extract.zip").read_bytes() == data


@pytest.mark.parametrize(
    "data, name, words",
    [
        (_zip({"../cases.csv": "x"}), "a.zip", "outside the extract"),
        (_zip({"/etc/cases.csv": "x"}), "a.zip", "outside the extract"),
        (_zip({"cases.csv": "x"}, links=("items.csv",)), "a.zip", "is a link"),
        (_zip({"a/cases.csv": "x", "b/cases.csv": "y"}), "a.zip", "twice"),
        (_zip({"notes.txt": "x"}), "a.zip", "no extract files"),
        (b"not a zip", "a.zip", "damaged or not a zip"),
        (b"print('hi')", "evil.py", "upload a workbook"),
        (b"", "a.xlsx", "empty"),
    ],
)
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
    build_id, status = _upload(
        _fixture_zip({"cases.csv": cases, "supply_usage.csv": bad_supply}), "bad.zip", target, state_path
    )
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
    book = write_workbook(
        write_fixture_source(
            target.parent.parent / "new",
            {"physicians.csv": physicians, "cases.csv": cases, "supply_usage.csv": supply, "drug_usage.csv": drugs},
        ),
        target.parent.parent / "book" / "July extract.xlsx",
    )
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
    _target, state_path = served
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


# --- in the browser ------------------------------------------------------------------------------

SHOTS = Path(__file__).resolve().parent.parent / "screenshots"


def _second_page(browser):
    """Another browser (own cookies), local requests only, like the `page` fixture."""
    from browser_support import _is_local, watch_streamlit

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    context.route(
        "**/*", lambda route: route.continue_() if _is_local(route.request.url) else route.abort("blockedbyclient")
    )
    pg = context.new_page()
    watch_streamlit(pg)
    return pg


def _tables(page) -> list[list[str]]:
    """Every row of every plain table on the page, as cell texts."""
    page.locator('[data-testid="stTable"]').first.wait_for()
    rows = []
    for row in page.locator('[data-testid="stTable"] tr').all():
        rows.append([c.strip() for c in row.locator("th, td").all_inner_texts()])
    return rows


def _check(page, zip_path: Path, expect: str, running_shot: Path | None = None) -> None:
    from browser_support import screenshot, wait_for_app

    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(zip_path))
    page.get_by_text(zip_path.name).wait_for()
    page.get_by_role("button", name="Check this extract").click()
    # The app's builds are slowed down (SCORECARD_SLOW_BUILD_FOR_TESTS) so the progress can be seen.
    page.get_by_text("is running:").first.wait_for(timeout=30_000)
    if running_shot:
        # The progress follows the build: the step it is on, polled once a second.
        step = re.compile(r"is running: building the figures: step \d+ of \d+")
        page.get_by_text(step).first.wait_for(timeout=30_000)
        screenshot(page, running_shot, full_page=True)
    page.get_by_text(expect).first.wait_for(timeout=90_000)
    wait_for_app(page)


@pytest.mark.browser
def test_admin_uploads_a_broken_extract_fixes_it_publishes_and_a_physician_sees_it(start_app, page, browser, tmp_path):
    from browser_support import app_text, screenshot, sign_in, wait_for_app

    target, state_path = tmp_path / "data" / "scorecard.duckdb", tmp_path / "data" / "state.sqlite"
    assert build(write_fixture_source(tmp_path / "first"), target).ok
    url = start_app(target, state_path, extra_env={"SCORECARD_SLOW_BUILD_FOR_TESTS": "4"})
    doctor = _second_page(browser)
    sign_in(doctor, url, "P01@fixture.org")
    assert "Data to 30 Jun 2026" in app_text(doctor)

    sign_in(page, url, "admin@fixture.org")
    page.goto(f"{url}/publish")
    wait_for_app(page)
    assert "Publish data" in app_text(page)
    screenshot(page, SHOTS / "publish-1-upload.png", full_page=True)

    new_case = "C13,P01,TKA,2026-08-20,2026-08-22,66,F,2,1,elective,Medicare,95,false,false,false,false,Main\n"
    broken = TABLES["cases"] + new_case.replace(",66,", ",sixty-six,")
    (tmp_path / "broken.zip").write_bytes(_fixture_zip({"cases.csv": broken}))
    _check(page, tmp_path / "broken.zip", "so nothing can be published")
    assert "Errors (1)" in app_text(page)
    rows = _tables(page)
    assert rows[0][:5] == ["file", "row", "column", "value", "rule"], rows
    assert rows[1][:5] == ["cases.csv", "13", "patient_age", "sixty-six", "type.int"], rows
    assert page.get_by_role("button", name="Publish").count() == 0
    screenshot(page, SHOTS / "publish-2-errors.png", full_page=True)

    (tmp_path / "fixed.zip").write_bytes(_fixture_zip({"cases.csv": TABLES["cases"] + new_case}))
    _check(
        page,
        tmp_path / "fixed.zip",
        "Check what changes below, then publish",
        running_shot=SHOTS / "publish-2b-building.png",
    )
    assert "What changes if you publish" in app_text(page)
    assert ["2026-08", "0", "1", "1"] in _tables(page)
    screenshot(page, SHOTS / "publish-2c-ready.png", height=1400)
    page.get_by_role("button", name="Publish", exact=True).click()
    page.get_by_text("is published").wait_for()
    wait_for_app(page)
    screenshot(page, SHOTS / "publish-3-published.png", full_page=True)
    entries = state.audit_entries(email="admin@fixture.org", path=state_path)
    assert {"upload", "publish"} <= set(entries["action"])

    # The physician's page, open all along, shows the new data on its next run: no restart.
    doctor.reload()
    wait_for_app(doctor)
    assert "Data to 20 Aug 2026" in app_text(doctor)
    screenshot(doctor, SHOTS / "publish-4-physician-after.png")

    page.goto(f"{url}/data")
    wait_for_app(page)
    screenshot(page, SHOTS / "publish-5-history.png", full_page=True)
    body = app_text(page)
    assert "Build history" in body and "Build 2 against the data in service when it was built" in body
    assert ["2026-08", "0", "1", "1"] in _tables(page) and ["cases", "12", "13"] in _tables(page)
    history = state.builds(path=state_path)
    assert history[["source_name", "status"]].values.tolist() == [["fixed.zip", "published"], ["broken.zip", "refused"]]
    doctor.context.close()


def test_a_published_build_serves_the_accepted_flags_from_its_first_request(served):
    """An uploaded build patches its snapshots for the flags accepted in app state and saves them under
    the name it will be served as; after Publish, the first request loads them (no refresh to wait for)."""
    from core import db, scorecard

    target, state_path = served
    flag_id = state.flag_case("C02", "P01", "p01@fixture.org", "wrong physician", "", path=state_path)
    state.decide_flag(flag_id, "accepted", "Agreed.", "supply@fixture.org", path=state_path)
    data = _fixture_zip()
    build_id, status = _upload(data, "extract.zip", target, state_path)
    assert status == "ready", publish.problems(target, build_id)
    publish.publish(build_id, target, "admin@fixture.org", state_path)
    loaded = db.saved_sets_loaded
    period = scorecard.data_context(target).default_period()
    row = db.fetch(
        "mart_cost_position",
        where={"physician_id": "P01", "procedure_code": "TKA"},
        variables=scorecard.period_variables(period, ["C02"]),
        path=target,
    ).iloc[0]
    assert db.saved_sets_loaded == loaded + 1
    assert row["case_count"] == 2
