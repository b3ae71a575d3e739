"""`python -m benchmarks`: build and query timings at a health system's real shape, against two baselines.

For each size asked for (README, *Performance*; `make bench` runs 100,000 and 1,000,000 cases,
`make bench-10m` 10,000,000) one run:

1. generates the real-shape source as Parquet (`core.tools.demo_system`: one physician per 250 cases
   a year, 102 procedures, about 30 supply lines per case) into the work folder, or reuses it when a
   source of that size, shape and seed is already there (`--shape demo` measures the planted demo);
2. builds it with `python -m core build` in a child process, timing the wall clock and sampling the
   resident memory of the whole process tree (the build and anything it starts) every 0.1 s;
3. times `core.figures.request` — the scorecard figures of one physician × procedure in the default
   period, through the same `core.scorecard` functions the page uses, no cache of results — for pairs
   drawn at random from every physician × procedure pair with cases (the first request, which loads
   the tables `core.db` holds in memory, timed apart);
4. accepts 100 case flags (random cases of the default period) and times what that costs: the refresh
   of the patched snapshots (`core.db.prepare_excluded`) for the 100 at once and for single accepts
   and rejects on top (each set's saving beside the database timed apart), a restarted process's first
   refresh (it loads the saved set), then the same requests with the 100 cases removed, checked against
   the live views;
5. times the scorecard page rendered server-side with Streamlit's AppTest for a sample of physician
   personas signed in through the roster (the shape's ~300-peer surgeon first): a first (cold) render,
   then a second (warm) render;
6. loads each baseline (`benchmarks.baseline`, pandas; `benchmarks.baseline_polars`, Polars lazy) once
   and times the same requests with it, checking that it gives the same numbers (relative tolerance 1e-6),
   with and without the accepted flags;
7. writes `bench-<cases>.json` (with the machine's cores, memory, load and versions) into the results
   folder and prints a table of every size found there; with `--delete` it then removes the source and
   the database (10,000,000 cases take tens of GB).

Timings are wall-clock on whatever else the machine is doing; the load average before and after is
recorded so a noisy run can be recognised.
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
TOLERANCE = 1e-6
# The pandas baseline takes seconds per request at a million cases: it is timed (and checked) on the
# first this-many of the sampled requests, and its ratio compares the same requests on both sides.
BASELINE_REQUESTS = 50
# README, *Performance*: the targets on a 2-core machine, per size (none below a million cases).
TARGETS_BY_SIZE = {
    1_000_000: {
        "build_seconds": 180.0,
        "build_peak_gib": 4.0,
        "figures_p95_ms": 20.0,
        "page_p95_ms": 500.0,
        "page_cold_p95_ms": 1000.0,
        "page_flags_p95_ms": 500.0,
        "pandas_ratio": 50.0,
        "flags_figures_p95_ms": 20.0,
        "flag_decision_max_s": 10.0,
        "flag_restart_s": 10.0,
    },
    10_000_000: {
        "build_seconds": 1200.0,
        "build_peak_gib": 8.0,
        "figures_p95_ms": 50.0,
        "page_p95_ms": 1000.0,
        "page_flags_p95_ms": 1000.0,
        "flags_figures_p95_ms": 50.0,
        "flag_decision_max_s": 10.0,
        "flag_restart_s": 10.0,
    },
}
TARGETS = TARGETS_BY_SIZE[1_000_000]
# DuckDB's memory limit for the build at each size (core.config.build_memory_mb): 4 GiB budget, 8 GiB at 10M.
BUILD_MEMORY_MB = {10_000_000: 5000}
# Baselines that hold every supply line in memory cannot at 10M (about 300M lines: tens of GB in pandas):
# above this the pandas baseline is skipped and the Polars one scans the Parquet files per request.
IN_MEMORY_BASELINE_MAX_CASES = 2_000_000
FLAGS = 100
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "b" * 32,
    "client_id": "scorecard",
    "client_secret": "bench",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}


# ---------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------
def percentiles(samples_ms: list[float]) -> dict[str, float | int | None]:
    """p50, p95, max and mean of a list of milliseconds (nearest-rank p95), rounded to 0.1 ms."""
    if not samples_ms:
        return {"n": 0, "p50_ms": None, "p95_ms": None, "max_ms": None, "mean_ms": None}
    ordered = sorted(samples_ms)
    p95 = ordered[max(0, -(-95 * len(ordered) // 100) - 1)]
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(ordered[-1], 1),
        "mean_ms": round(statistics.fmean(ordered), 1),
    }


def _tree_rss_bytes(root_pid: int) -> int:
    """Resident memory of `root_pid` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read().decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields[21]) * page
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def run_measured(
    command: list[str], env: dict[str, str] | None = None, log: Path | None = None, interval: float = 0.1
) -> dict[str, Any]:
    """Run a command, returning its exit code, wall seconds and peak RSS of its process tree."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = open(log, "wb") if log else subprocess.DEVNULL
    try:
        started = time.perf_counter()
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, _tree_rss_bytes(proc.pid))
            time.sleep(interval)
        seconds = time.perf_counter() - started
    finally:
        if log:
            out.close()
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "returncode": proc.returncode,
        "seconds": round(seconds, 1),
        "peak_rss_gib": round(peak / 2**30, 3),
        # ru_maxrss is the largest single child process ever waited for (KiB), not the tree's sum,
        # and only moves when this child beats every earlier one: a lower bound, kept as a check.
        "ru_maxrss_gib": round(max(before, after) / 2**20, 3) if after > before else None,
    }


def machine() -> dict[str, Any]:
    """Cores, memory, CPU model, load and library versions of this machine."""
    import duckdb
    import numpy
    import pandas
    import pyarrow
    import streamlit

    mem_kib, model = None, platform.processor()
    try:
        mem_kib = int(
            next(row for row in Path("/proc/meminfo").read_text().splitlines() if row.startswith("MemTotal")).split()[1]
        )
        model = next(
            (
                row.split(":", 1)[1].strip()
                for row in Path("/proc/cpuinfo").read_text().splitlines()
                if row.startswith("model name")
            ),
            model,
        )
    except (OSError, StopIteration):
        pass
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 2**20, 1) if mem_kib else None,
        "cpu": model,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "pandas": pandas.__version__,
        "numpy": numpy.__version__,
        "pyarrow": pyarrow.__version__,
        "streamlit": streamlit.__version__,
        "build_env": {"OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")},
    }


def _load() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def _slow_steps(log: Path, at_least: float = 1.0) -> list[str]:
    """The build's progress lines that took at least `at_least` seconds (where the time goes)."""
    try:
        text = log.read_text(errors="replace").replace("\r", "\n")
    except OSError:
        return []
    lines = [m.group(0) for m in re.finditer(r"^\[\s*[\d.]+s\] .*$", text, re.M)]
    slow, last = [], 0.0
    for line in lines:
        at = float(line[1 : line.index("s]")])
        if at - last >= at_least:
            slow.append(f"{line} [+{at - last:.1f}s]")
        last = at
    return slow


def _timed(func: Callable, *args) -> tuple[Any, float]:
    started = time.perf_counter()
    value = func(*args)
    return value, (time.perf_counter() - started) * 1000.0


# ---------------------------------------------------------------------------------------------
# The steps
# ---------------------------------------------------------------------------------------------
def ensure_source(
    folder: Path, cases: int, seed: int, say: Callable[[str], None], shape: str = "system"
) -> dict[str, Any]:
    """The source at this size, shape and seed as Parquet, generated unless already there."""
    truth_path = folder / "truth.json"
    try:
        truth = json.loads(truth_path.read_text())
        if (
            truth.get("cases") == cases
            and truth.get("seed") == seed
            and truth.get("shape", "demo") == shape
            and all((folder / f"{t}.parquet").exists() for t in ("cases", "supply_usage", "drug_usage"))
        ):
            say(f"reusing the source in {folder}")
            return {"reused": True, "seconds": None, "counts": truth.get("rows"), "truth": truth}
    except (OSError, ValueError):
        pass
    say(f"generating {cases:,} cases ({shape} shape) into {folder}")
    if shape == "system":
        from core.tools.demo_system import write_system_source

        truth, ms = _timed(lambda: write_system_source(folder, cases=cases, seed=seed, fmt="parquet"))
    else:
        from core.tools.demo import write_demo_source

        truth, ms = _timed(lambda: write_demo_source(folder, cases=cases, seed=seed, fmt="parquet"))
    return {"reused": False, "seconds": round(ms / 1000, 1), "counts": truth.get("rows"), "truth": truth}


def time_figures(
    pairs: list[tuple[str, str]], period, say: Callable[[str], None], excluded: list[str] | None = None
) -> tuple[list[dict | None], list[float], float]:
    """(figures, milliseconds, first) of `core.figures.request` for each pair, after one warm-up request
    timed apart (`first`): it opens the connection and loads the held tables (core.db.HELD_KEYS), a cost
    paid once per database version and excluded set, not per request."""
    from core import figures

    _, first = _timed(figures.request, *pairs[0], period, excluded or [])
    results, times = [], []
    for i, (physician_id, code) in enumerate(pairs):
        value, ms = _timed(figures.request, physician_id, code, period, excluded or [])
        results.append(value)
        times.append(ms)
        if (i + 1) % 50 == 0:
            say(f"  {i + 1} requests, last {ms:.1f} ms")
    return results, times, first


def time_baseline(
    module,
    source: Path,
    db_path: Path,
    pairs: list[tuple[str, str]],
    period,
    expected: list[dict | None],
    say: Callable[[str], None],
    *,
    excluded: list[str] | None = None,
    flagged: list[tuple[tuple[str, str], dict | None]] = (),
    **load_options,
) -> dict[str, Any]:
    """Load a baseline once, time it on the pairs and compare with the scorecard's figures (and on the
    flagged requests, with the accepted flags' cases removed)."""
    from benchmarks import baseline as pandas_baseline

    data, load_ms = _timed(lambda: module.load(source, db_path, **load_options))
    times, mismatches = [], []
    for i, ((physician_id, code), mine) in enumerate(zip(pairs, expected, strict=False)):
        theirs, ms = _timed(module.request, data, physician_id, code, period, [])
        times.append(ms)
        for problem in pandas_baseline.compare(mine, theirs, TOLERANCE):
            mismatches.append(f"{physician_id} × {code}: {problem}")
        if (i + 1) % 25 == 0:
            say(f"  {i + 1} requests, last {ms:.0f} ms")
    for (physician_id, code), mine in flagged:
        theirs = module.request(data, physician_id, code, period, excluded)
        for problem in pandas_baseline.compare(mine, theirs, TOLERANCE):
            mismatches.append(f"{physician_id} × {code} with {len(excluded or [])} flags: {problem}")
    del data
    return {
        "load_seconds": round(load_ms / 1000, 1),
        "times_ms": times,
        "mismatches": mismatches,
        "flagged_checked": len(flagged),
    }


def _baseline_record(what: str, base: dict[str, Any], same: dict[str, Any]) -> dict[str, Any]:
    stats_ = percentiles(base["times_ms"])
    ratio_mean = stats_["mean_ms"] / same["mean_ms"] if same["mean_ms"] and stats_["mean_ms"] else None
    ratio_p50 = stats_["p50_ms"] / same["p50_ms"] if same["p50_ms"] and stats_["p50_ms"] else None
    return {
        "what": what,
        "load_seconds": base["load_seconds"],
        **stats_,
        "scorecard_same_requests": same,
        "ratio_mean": round(ratio_mean, 1) if ratio_mean else None,
        "ratio_p50": round(ratio_p50, 1) if ratio_p50 else None,
        "tolerance": TOLERANCE,
        "agree": not base["mismatches"],
        "mismatch_count": len(base["mismatches"]),
        "mismatches": base["mismatches"][:20],
        "flagged_requests_checked": base["flagged_checked"],
    }


def time_flags(
    db_path: Path, period, pairs: list[tuple[str, str]], n_flags: int, seed: int, say: Callable[[str], None]
) -> dict[str, Any]:
    """Accept `n_flags` case flags and time the snapshot refresh and the requests that follow.

    The cases are drawn at random from the default period (so they fall on many procedures). The
    refresh is `core.scorecard.prepare_flags` (patched snapshots, then the touched procedures' funnel
    dispersion), which the review queue runs when a flag is decided: timed
    for the `n_flags` at once, then for single accepts and rejects on top of them, each followed by the
    saving of its set (timed apart); then a new process's first refresh with the `n_flags`, which loads
    the saved set (a restart). Requests are the same pairs with those cases removed; each patched
    snapshot is checked against its live view.
    """
    from core import db, scorecard

    refresh = scorecard.prepare_flags  # what the review queue runs after a decision
    cur = db.cursor(db_path)
    try:
        ids = [
            r[0]
            for r in cur.execute(
                "select case_id::varchar from mart_case where surgery_date between ? and ? order by case_id",
                [period.start, period.end],
            ).fetchall()
        ]
    finally:
        cur.close()
    rng = random.Random(seed + 16)
    chosen = rng.sample(ids, min(n_flags + 10, len(ids)))
    accepted, extra = chosen[:n_flags], chosen[n_flags:]
    _, all_ms = _timed(refresh, accepted, db_path)
    # Each new set is then saved beside the database on a thread of its own (core.db `_save`): timed
    # apart, after each refresh, as a reviewer reads the next flag before deciding it.
    _, save_all_ms = _timed(db.wait_for_saves)
    single, saves = [], []
    current = list(accepted)
    for i, case_id in enumerate(extra):
        # Accept a new case, then reject one of the 100: every set is new (returning to one still held
        # would be a cache hit, which the earlier runs counted as half the decisions).
        current = current + [case_id] if i % 2 == 0 else [c for c in current if c != accepted[i]]
        _, ms = _timed(refresh, current, db_path)
        single.append(ms)
        saves.append(_timed(db.wait_for_saves)[1])
    refresh(accepted, db_path)  # back to the 100
    restart = _restart_refresh(db_path, accepted)
    say(
        f"  {len(accepted)} flags refreshed in {all_ms / 1000:.2f} s; single accept/reject "
        f"p50 {statistics.median(single) / 1000:.2f} s; a restarted process "
        f"{restart['ms'] / 1000:.2f} s ({'saved set loaded' if restart['loaded_saved'] else 'computed'})"
    )
    results, times, first = time_figures(pairs, period, say, accepted)
    # Each patched snapshot equals its live view for the same excluded set.
    variables = scorecard.period_variables(period, accepted)
    problems = []
    for view in ("mart_cost_position", "mart_outcome_position", "mart_preferred_use"):
        patched = db.fetch(view, variables=variables, path=db_path)
        live_cur = db.cursor(db_path)
        try:
            db._set_variables(live_cur, variables)
            live = live_cur.execute(f"select * from {view}").df()
        finally:
            live_cur.close()
        problems += _frame_differences(view, patched, live)
    live_default = db.is_default_request(variables, db_path)
    touched = db.excluded_by_procedure(variables, db_path) or {}
    return {
        "flags": len(accepted),
        "procedures_touched": len(touched),
        "refresh_all_ms": round(all_ms, 1),
        "refresh_single": percentiles(single),
        "save_all_ms": round(save_all_ms, 1),
        "save_single": percentiles(saves),
        "restart_refresh_ms": restart["ms"],
        "restart_loaded_saved": restart["loaded_saved"],
        "figures": percentiles(times),
        "first_request_ms": round(first, 1),
        "held_mib": round(db.held_bytes() / 2**20, 1),
        "snapshot_equals_live_view": not problems,
        "problems": problems[:20],
        "reads_build_snapshot": live_default,
        "accepted": accepted,
        "results": results,
    }


_RESTART = """
import json, sys, time
from pathlib import Path
from core import db
path, ids = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())
started = time.perf_counter()
db.prepare_excluded(ids, path)
ms = (time.perf_counter() - started) * 1000
print(json.dumps({"ms": round(ms, 1), "loaded_saved": db.saved_sets_loaded == 1}))
"""


def _restart_refresh(db_path: Path, accepted: list[str]) -> dict[str, Any]:
    """A restarted process's first refresh with the accepted flags: a new Python process opens the
    database and prepares the set, as the first request after a restart does; it finds the set this one
    saved (`core.db.wait_for_saves`) unless saving failed."""
    from core import db

    db.wait_for_saves()
    ids_file = db_path.with_name(db_path.name + ".accepted.json")
    ids_file.write_text(json.dumps(accepted))
    try:
        out = subprocess.run(
            [sys.executable, "-c", _RESTART, str(db_path), str(ids_file)],
            cwd=Path(__file__).resolve().parents[1],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        ids_file.unlink(missing_ok=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _frame_differences(view: str, a, b) -> list[str]:
    """Where two frames of the same view differ (rows in any order; numbers to a relative 1e-9)."""
    import pandas as pd

    if len(a) != len(b) or list(a.columns) != list(b.columns):
        return [f"{view}: {len(a)} rows × {list(a.columns)[:3]}… vs {len(b)} × {list(b.columns)[:3]}…"]
    keys = [c for c in ("physician_id", "procedure_code", "outcome", "category", "surgery_quarter") if c in a.columns]
    a = a.sort_values(keys).reset_index(drop=True)
    b = b[list(a.columns)].sort_values(keys).reset_index(drop=True)
    try:
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, check_dtype=False)
    except AssertionError as err:
        return [f"{view}: {str(err).splitlines()[0]}"]
    return []


def time_pages(
    db_path: Path,
    state_path: Path,
    personas: int,
    seed: int,
    say: Callable[[str], None],
    first: str | None = None,
    accepted: list[str] | None = None,
) -> dict[str, Any]:
    """Cold and warm AppTest renders of the scorecard page for a sample of physician personas; then, with
    `accepted` case flags accepted in the app state as a reviewer would, warm renders again."""
    from streamlit.testing.v1 import AppTest

    from core import scorecard

    roster = scorecard.roster()
    emails = sorted(roster.loc[roster["role"] == "physician", "email"].dropna())
    # A Streamlit server scans the installed packages for components once, at start-up; AppTest does it
    # on every new AppTest (about 0.5 s here): scan once and share it, so a render is the page's own cost.
    components = None
    try:
        from streamlit.components.v2.component_manager import BidiComponentManager

        components = BidiComponentManager()
        components.discover_and_register_components(start_file_watching=False)
    except Exception:  # noqa: BLE001 - another Streamlit version: AppTest scans per render, as before
        components = None
    chosen = random.Random(seed).sample(emails, min(personas, len(emails)))
    if first and first in emails:  # the shape's ~300-peer surgeon, so the page is timed at that size too
        chosen = [first] + [e for e in chosen if e != first][: max(0, personas - 1)]
    cold, warm, problems = [], [], []

    def render(email: str):
        """The app signed in as `email`, run once: (the AppTest, milliseconds)."""
        at = AppTest.from_file(str(APP), default_timeout=600)
        if components is not None and hasattr(at, "_bidi_component_manager"):
            at._bidi_component_manager = components
        at.secrets["auth"] = AUTH
        at.user = {"is_logged_in": True, "email": email, "email_verified": True, "name": "Bench"}
        _, ms = _timed(at.run)
        return at, ms

    # A server renders pages long before a rebuild: its modules (Altair, the page's sections) are imported
    # and its shared caches primed by earlier views. One render for a physician outside the sample does
    # that here, recorded apart as `process_warmup_ms`, so `cold` is each persona's first view after the
    # build, not the process's first page.
    spare = next((e for e in emails if e not in chosen), None)
    warmup_ms = None
    if spare is not None:
        _, warmup_ms = render(spare)
        say(f"  process warm-up ({spare}): {warmup_ms:.0f} ms")
    for email in chosen:
        for bucket in (cold, warm):
            at, ms = render(email)
            bucket.append(ms)
            if at.exception:
                problems.append(f"{email}: {at.exception[0].message}")
            elif not any("scorecard" in str(t.value).lower() for t in at.title):
                problems.append(f"{email}: the scorecard page did not render")
        say(f"  {email}: cold {cold[-1]:.0f} ms, warm {warm[-1]:.0f} ms")
    flagged: list[float] = []
    if accepted:
        _accept_flags(db_path, accepted)
        for email in chosen:
            at, ms = render(email)
            flagged.append(ms)
            if at.exception:
                problems.append(f"{email} with flags: {at.exception[0].message}")
        say(f"  with {len(accepted)} flags accepted: warm p95 {percentiles(flagged)['p95_ms']} ms")
    return {
        "personas": len(chosen),
        "first_persona": chosen[0] if chosen else None,
        "component_scan_shared": components is not None,
        "process_warmup_ms": round(warmup_ms, 1) if warmup_ms is not None else None,
        "cold": percentiles(cold),
        "warm": percentiles(warm),
        "flags_accepted": len(accepted or []),
        "warm_with_flags": percentiles(flagged),
        "problems": problems,
    }


def _accept_flags(db_path: Path, case_ids: list[str]) -> None:
    """Flag each case as its physician would and accept it as a reviewer would (app state), then run what
    the review queue runs after a decision (`core.scorecard.prepare_flags`)."""
    from core import db, scorecard, state

    cur = db.cursor(db_path)
    try:
        owners = dict(
            cur.execute(
                "select case_id::varchar, physician_id from mart_case where case_id::varchar in (select unnest(?))",
                [list(case_ids)],
            ).fetchall()
        )
    finally:
        cur.close()
    for case_id in case_ids:
        flag_id = state.flag_case(case_id, owners[case_id], "bench@example.org", "data error", "benchmark")
        state.decide_flag(flag_id, "accepted", "benchmark", "bench-reviewer@example.org")
    scorecard.prepare_flags(state.accepted_flag_case_ids(), db_path)


def run_bench(
    cases: int,
    *,
    seed: int = 42,
    requests: int = 200,
    personas: int = 10,
    work: Path,
    results: Path | None,
    page: bool = True,
    baseline_requests: int | None = None,
    shape: str = "system",
    flags: int = FLAGS,
    polars: bool = True,
    delete: bool = False,
    reuse_build: bool = False,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Benchmark one size end to end and return (and, with `results`, write) its JSON record."""
    work, started_at, load_before = Path(work), datetime.now(UTC), _load()
    work.mkdir(parents=True, exist_ok=True)
    tag = f"{shape}-{cases}-s{seed}"
    source = work / f"source-{tag}"
    db_path = work / f"bench-{tag}.duckdb"
    state_path = work / f"state-{tag}.sqlite"
    generated = ensure_source(source, cases, seed, say, shape)
    truth = generated.pop("truth", {}) or {}

    say(f"building {cases:,} cases (python -m core build)")
    # `python -m core build` itself, with its per-step progress lines switched on for the log.
    command = [
        sys.executable,
        "-c",
        "import sys; sys.stderr.isatty = lambda: True; from core.__main__ import main; sys.exit(main(sys.argv[1:]))",
        "build",
        "--source",
        str(source),
        "--db",
        str(db_path),
    ]
    # One BLAS thread: the risk models' small least-squares steps run several times slower with
    # OpenBLAS threads competing for two cores (see benchmarks/README.md).
    # A fresh app state for the run: no accepted flags (an earlier run's would be excluded from the pages'
    # first renders, and the build would prepare their snapshots: core.build.pipeline.prepare_accepted).
    state_path.unlink(missing_ok=True)
    env = {
        **os.environ,
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1"),
        "SCORECARD_STATE": str(state_path),
    }
    if cases in BUILD_MEMORY_MB:
        env["SCORECARD_BUILD_MEMORY_MB"] = str(BUILD_MEMORY_MB[cases])
    previous = Path(results) / f"bench-{cases}.json" if results is not None else None
    if reuse_build and db_path.exists() and previous is not None and previous.exists():
        # Measure again on the database the previous run built (its build record kept, and said so).
        build = dict(json.loads(previous.read_text())["build"])
        build["reused_from_run_at"] = json.loads(previous.read_text()).get("started_at")
        say(f"reusing the database built at {build['reused_from_run_at']} ({build['seconds']} s)")
    else:
        build = run_measured(command, env=env, log=work / f"build-{tag}.log")
    if build["returncode"] != 0:
        raise RuntimeError(f"the build failed (exit {build['returncode']}): see {work}/build-{tag}.log")
    say(f"  built in {build['seconds']} s, peak {build['peak_rss_gib']} GiB")
    build["steps"] = build.get("steps") or _slow_steps(work / f"build-{tag}.log")
    build["duckdb_memory_limit_mb"] = BUILD_MEMORY_MB.get(cases, 2500)

    # Point the app's code at the bench database; a fresh state file means no excluded cases.
    os.environ["SCORECARD_DB"] = str(db_path)
    os.environ["SCORECARD_STATE"] = str(state_path)
    from core import db, figures, scorecard

    # No patched set saved by an earlier run on this database (--reuse-build): the flags are computed.
    shutil.rmtree(db.saved_folder(db_path).parent, ignore_errors=True)

    ctx = scorecard.data_context(db_path)
    period = ctx.default_period()
    available = figures.pairs(period)
    rng = random.Random(seed)
    sample = [rng.choice(available) for _ in range(requests)]
    say(f"timing {requests} scorecard requests over {len(available):,} physician × procedure pairs")
    mine, times, first = time_figures(sample, period, say)
    figures_stats = percentiles(times)
    figures_stats["first_request_ms"] = round(first, 1)
    figures_stats["held_mib"] = round(db.held_bytes() / 2**20, 1)

    flag_record = None
    if flags:
        say(f"accepting {flags} case flags and timing the requests again")
        flag_record = time_flags(db_path, period, sample, flags, seed, say)
    accepted = flag_record["accepted"] if flag_record else []
    flagged_results = flag_record.pop("results") if flag_record else []

    in_memory = cases <= IN_MEMORY_BASELINE_MAX_CASES
    default_n = BASELINE_REQUESTS if in_memory else 10
    n_base = min(default_n if baseline_requests is None else baseline_requests, len(sample))
    n_flagged = min(5, n_base) if flag_record else 0
    flagged = list(zip(sample[:n_flagged], flagged_results[:n_flagged], strict=False))
    same = percentiles(times[:n_base])
    baselines: dict[str, Any] = {}
    if in_memory:
        from benchmarks import baseline as pandas_baseline

        say(f"timing the pandas baseline on {n_base} of the same requests")
        base = time_baseline(
            pandas_baseline,
            source,
            db_path,
            sample[:n_base],
            period,
            mine[:n_base],
            say,
            excluded=accepted,
            flagged=flagged,
        )
        baselines["pandas"] = _baseline_record(
            "pandas: source Parquet loaded once; per request, group-bys over the period's cases of the procedure; "
            "expected values from the built database; funnel maths from core.stats",
            base,
            same,
        )
    else:
        baselines["pandas"] = {
            "skipped": f"above {IN_MEMORY_BASELINE_MAX_CASES:,} cases the supply lines do not fit "
            "in memory as pandas frames on this machine",
            "agree": None,
            "ratio_mean": None,
            "p50_ms": None,
        }
    if polars:
        from benchmarks import baseline_polars

        mode = "in memory" if in_memory else "scanning the Parquet files per request (too large for memory)"
        say(f"timing the Polars baseline ({mode}) on {n_base} of the same requests")
        base = time_baseline(
            baseline_polars,
            source,
            db_path,
            sample[:n_base],
            period,
            mine[:n_base],
            say,
            excluded=accepted,
            flagged=flagged,
            in_memory=in_memory,
        )
        baselines["polars"] = _baseline_record(
            f"Polars lazy, {mode}: per request, lazy plans over the period's cases of the procedure; expected "
            "values from the built database; funnel maths from core.stats",
            base,
            same,
        )

    pages = None
    if page:
        say(f"rendering the scorecard page for {personas} personas (AppTest)")
        pages = time_pages(
            db_path,
            state_path,
            personas,
            seed,
            say,
            first=(truth.get("personas") or {}).get("physician"),
            accepted=accepted,
        )

    size = db_path.stat().st_size
    counts = generated.get("counts") or {}
    record = {
        "cases": cases,
        "seed": seed,
        "shape": shape,
        "supply_lines": counts.get("supply_usage"),
        "drug_lines": counts.get("drug_usage"),
        "started_at": started_at.isoformat(timespec="seconds"),
        "seconds_total": None,
        "source": {"format": "parquet", **generated, "bytes": sum(f.stat().st_size for f in source.iterdir())},
        "shape_facts": truth.get("shape_facts"),
        "build": {**build, "database_gib": round(size / 2**30, 3)},
        "figures": {
            "unit": "one physician × procedure, default period: cost position, peer figures, "
            "preferred use per category, switch saving, waste, outcomes' O/E and funnel flag",
            "pairs_available": len(available),
            "period": [period.start.isoformat(), period.end.isoformat()],
            **figures_stats,
        },
        "flags": flag_record,
        "baseline": baselines.get("pandas"),
        "baselines": baselines,
        "page": pages,
        "machine": {**machine(), "load_before": load_before, "load_after": _load()},
    }
    record["seconds_total"] = round((datetime.now(UTC) - started_at).total_seconds(), 1)
    record["targets"] = _targets(record)
    if results is not None:
        results = Path(results)
        results.mkdir(parents=True, exist_ok=True)
        (results / f"bench-{cases}.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    if delete:
        say(f"deleting {source} and {db_path}")
        shutil.rmtree(source, ignore_errors=True)
        shutil.rmtree(db.saved_folder(db_path).parent, ignore_errors=True)
        db_path.unlink(missing_ok=True)
        state_path.unlink(missing_ok=True)
    return record


def _targets(record: dict[str, Any]) -> dict[str, Any]:
    """Each target of this size with the measured value and whether it holds (README, *Performance*)."""
    limits = TARGETS_BY_SIZE.get(record["cases"])
    if not limits:
        return {}
    page = record.get("page") or {}
    flags = record.get("flags") or {}
    pandas_ = (record.get("baselines") or {}).get("pandas") or {}
    measured = {
        "build_seconds": record["build"]["seconds"],
        "build_peak_gib": record["build"]["peak_rss_gib"],
        "figures_p95_ms": record["figures"]["p95_ms"],
        "page_p95_ms": (page.get("warm") or {}).get("p95_ms"),
        "page_cold_p95_ms": (page.get("cold") or {}).get("p95_ms"),
        "page_flags_p95_ms": (page.get("warm_with_flags") or {}).get("p95_ms"),
        "pandas_ratio": pandas_.get("ratio_mean"),
        "flags_figures_p95_ms": (flags.get("figures") or {}).get("p95_ms"),
        # One accept or reject on top of the 100 (what a reviewer waits for), and the first refresh of a
        # restarted process with the 100 (it loads the saved set): separate, so neither hides the other.
        # The 100 computed at once (the first request after a rebuild) is reported, not a target.
        "flag_decision_max_s": round(((flags.get("refresh_single") or {}).get("max_ms") or 0) / 1000, 2)
        if flags
        else None,
        "flag_restart_s": round((flags.get("restart_refresh_ms") or 0) / 1000, 2) if flags else None,
    }
    out = {}
    for name, limit in limits.items():
        value = measured[name]
        holds = None if value is None else (value >= limit if name == "pandas_ratio" else value <= limit)
        out[name] = {"target": limit, "measured": value, "holds": holds}
    return out


# ---------------------------------------------------------------------------------------------
# The table and the command
# ---------------------------------------------------------------------------------------------
def table(records: list[dict[str, Any]]) -> str:
    """A plain-text table of records, one row per size."""
    head = (
        "cases",
        "shape",
        "supply lines",
        "build s",
        "peak GiB",
        "p50 ms",
        "p95 ms",
        "flags p95",
        "page p95",
        "cold p95",
        "page+flags p95",
        "pandas ×",
        "polars ×",
        "agree",
    )
    rows = [head]
    for r in sorted((r for r in records if r.get("figures")), key=lambda r: r["cases"]):  # complete runs only
        f, p = r["figures"], r.get("page") or {}
        bases = r.get("baselines") or {"pandas": r.get("baseline") or {}}
        flags = (r.get("flags") or {}).get("figures") or {}
        agree = [b.get("agree") for b in bases.values() if b.get("agree") is not None]
        rows.append(
            (
                f"{r['cases']:,}",
                r.get("shape", "demo"),
                f"{r['supply_lines']:,}" if r.get("supply_lines") else "",
                f"{r['build']['seconds']:.0f}",
                f"{r['build']['peak_rss_gib']:.2f}",
                f"{f['p50_ms']}",
                f"{f['p95_ms']}",
                f"{flags.get('p95_ms', '')}",
                f"{(p.get('warm') or {}).get('p95_ms', '')}",
                f"{(p.get('cold') or {}).get('p95_ms', '')}",
                f"{(p.get('warm_with_flags') or {}).get('p95_ms') or ''}",
                f"{(bases.get('pandas') or {}).get('ratio_mean') or '-'}",
                f"{(bases.get('polars') or {}).get('ratio_mean') or '-'}",
                "yes" if agree and all(agree) else ("NO" if agree else "-"),
            )
        )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(head))]
    return "\n".join("  ".join(str(v).rjust(w) for v, w in zip(row, widths, strict=False)) for row in rows)


def markdown_table(records: list[dict[str, Any]]) -> str:
    """The README's table (README, *Performance*): one row per size, from the JSON records."""

    def ms(d: dict | None, key: str) -> str:
        v = (d or {}).get(key)
        return "–" if v is None else (f"{v / 1000:.2f} s" if v >= 1000 else f"{v:.0f} ms")

    head = (
        "cases",
        "physicians",
        "pairs",
        "supply lines",
        "build",
        "build peak",
        "figures p50 / p95",
        "with 100 flags p95",
        "flag decision p50 / max",
        "restart / 100 computed",
        "page warm p50 / p95",
        "page cold p95",
        "page with 100 flags p95",
        "pandas ×",
        "Polars ×",
    )
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for r in sorted((r for r in records if r.get("figures")), key=lambda r: r["cases"]):  # complete runs only
        f, fl, p = r["figures"], r.get("flags") or {}, r.get("page") or {}
        b = r.get("baselines") or {}
        facts = r.get("shape_facts") or {}
        lines.append(
            "| "
            + " | ".join(
                [
                    f"{r['cases']:,}",
                    f"{facts.get('physicians', '–'):,}" if facts else "–",
                    f"{f['pairs_available']:,}",
                    f"{r['supply_lines']:,}" if r.get("supply_lines") else "–",
                    f"{r['build']['seconds']:.0f} s",
                    f"{r['build']['peak_rss_gib']:.2f} GiB",
                    f"{ms(f, 'p50_ms')} / {ms(f, 'p95_ms')}",
                    ms(fl.get("figures"), "p95_ms"),
                    f"{ms(fl.get('refresh_single'), 'p50_ms')} / {ms(fl.get('refresh_single'), 'max_ms')}"
                    if fl
                    else "–",
                    f"{(fl.get('restart_refresh_ms') or 0) / 1000:.1f} s / {(fl.get('refresh_all_ms') or 0) / 1000:.1f} s"
                    if fl.get("restart_refresh_ms")
                    else "–",
                    f"{ms(p.get('warm'), 'p50_ms')} / {ms(p.get('warm'), 'p95_ms')}",
                    ms(p.get("cold"), "p95_ms"),
                    ms(p.get("warm_with_flags"), "p95_ms"),
                    f"{(b.get('pandas') or {}).get('ratio_mean') or '–'}",
                    f"{(b.get('polars') or {}).get('ratio_mean') or '–'}",
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def run_bench_cli(args) -> int:
    """`python -m benchmarks`: run each size, write its JSON, print the table; exit 1 if figures disagree."""
    say = lambda m: print(f"[{datetime.now():%H:%M:%S}] {m}", flush=True)  # noqa: E731
    if getattr(args, "table", False):  # the README's table from the results on record, nothing run
        recs = [json.loads(p.read_text()) for p in sorted(Path(args.results).glob("bench-*.json"))]
        print(markdown_table([r for r in recs if r.get("shape") == "system"]))
        return 0
    records = []
    for cases in args.cases:
        say(f"=== {cases:,} cases")
        records.append(
            run_bench(
                cases,
                seed=args.seed,
                requests=args.requests,
                personas=args.personas,
                work=args.work,
                results=args.results,
                page=not args.no_page,
                baseline_requests=getattr(args, "baseline_requests", None),
                shape=args.shape,
                flags=args.flags,
                polars=not args.no_polars,
                delete=args.delete,
                reuse_build=args.reuse_build,
                say=say,
            )
        )
        say(f"wrote {Path(args.results) / f'bench-{cases}.json'}")
    # Every size on record (this run's and earlier ones) so growth with size is visible in one table.
    shown = {r["cases"]: r for r in records}
    for path in sorted(Path(args.results).glob("bench-*.json")):
        try:
            rec = json.loads(path.read_text())
            shown.setdefault(rec["cases"], rec)
        except (OSError, ValueError, KeyError):
            continue
    print()
    print(table(list(shown.values())))
    bad = []
    for r in records:
        for name, b in (r.get("baselines") or {}).items():
            if b.get("agree") is False:
                bad.append((r["cases"], name, b["mismatches"]))
        if r.get("flags") and not r["flags"]["snapshot_equals_live_view"]:
            bad.append((r["cases"], "patched snapshots", r["flags"]["problems"]))
    for cases, name, problems in bad:
        print(f"\n{cases:,} cases: {name} and the scorecard disagree:", file=sys.stderr)
        for m in problems:
            print(f"  {m}", file=sys.stderr)
    return 1 if bad else 0
