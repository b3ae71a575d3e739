"""`python -m benchmarks`: build and query timings at hospital-system scale, against a pandas baseline.

For each size asked for (README, *Performance*; `make bench` runs 100,000, 300,000 and 1,000,000 cases) one run:

1. generates the demo source as Parquet (about 30 supply lines per case) into the work folder, or
   reuses it when a source of that size and seed is already there;
2. builds it with `python -m core build` in a child process, timing the wall clock and sampling the
   resident memory of the whole process tree (the build and anything it starts) every 0.1 s;
3. times `core.figures.request` — the scorecard figures of one physician × procedure in the default
   period, through the same `core.scorecard` functions the page uses, no cache — for random pairs;
4. times the scorecard page rendered server-side with Streamlit's AppTest for a sample of physician
   personas signed in through the roster: a first (cold) render, then a second (warm) render;
5. loads the pandas baseline (`benchmarks.baseline`) once and times the same requests with it,
   checking that both implementations give the same numbers (relative tolerance 1e-6);
6. writes `bench-<cases>.json` (with the machine's cores, memory, load and versions) into the results
   folder and prints a table of every size found there, so the growth with size reads at a glance.

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
# README, *Performance* and the targets on a 2-core machine at 1,000,000 cases.
TARGETS = {
    "build_seconds": 300.0,
    "build_peak_gib": 4.0,
    "figures_p95_ms": 50.0,
    "page_p95_ms": 1000.0,
    "pandas_ratio": 20.0,
}
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
def ensure_source(folder: Path, cases: int, seed: int, say: Callable[[str], None]) -> dict[str, Any]:
    """The demo source at this size and seed as Parquet, generated unless already there."""
    truth_path = folder / "truth.json"
    try:
        truth = json.loads(truth_path.read_text())
        if (
            truth.get("cases") == cases
            and truth.get("seed") == seed
            and all((folder / f"{t}.parquet").exists() for t in ("cases", "supply_usage", "drug_usage"))
        ):
            say(f"reusing the source in {folder}")
            return {"reused": True, "seconds": None, "counts": truth.get("rows")}
    except (OSError, ValueError):
        pass
    from core.tools.demo import write_demo_source

    say(f"generating {cases:,} cases into {folder}")
    truth, ms = _timed(lambda: write_demo_source(folder, cases=cases, seed=seed, fmt="parquet"))
    return {"reused": False, "seconds": round(ms / 1000, 1), "counts": truth.get("rows")}


def time_figures(
    pairs: list[tuple[str, str]], period, say: Callable[[str], None]
) -> tuple[list[dict | None], list[float]]:
    """(figures, milliseconds) of `core.figures.request` for each pair, after one untimed warm-up."""
    from core import figures

    figures.request(*pairs[0], period, [])  # opens the connection and imports: not a request's cost
    results, times = [], []
    for i, (physician_id, code) in enumerate(pairs):
        value, ms = _timed(figures.request, physician_id, code, period, [])
        results.append(value)
        times.append(ms)
        if (i + 1) % 50 == 0:
            say(f"  {i + 1} requests, last {ms:.1f} ms")
    return results, times


def time_baseline(
    source: Path,
    db_path: Path,
    pairs: list[tuple[str, str]],
    period,
    expected: list[dict | None],
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Load the pandas baseline once, time it on the pairs and compare with the scorecard's figures."""
    from benchmarks import baseline as bench_baseline

    data, load_ms = _timed(bench_baseline.load, source, db_path)
    times, mismatches = [], []
    for i, ((physician_id, code), mine) in enumerate(zip(pairs, expected, strict=False)):
        theirs, ms = _timed(bench_baseline.request, data, physician_id, code, period, [])
        times.append(ms)
        for problem in bench_baseline.compare(mine, theirs, TOLERANCE):
            mismatches.append(f"{physician_id} × {code}: {problem}")
        if (i + 1) % 25 == 0:
            say(f"  {i + 1} pandas requests, last {ms:.0f} ms")
    return {"load_seconds": round(load_ms / 1000, 1), "times_ms": times, "mismatches": mismatches}


def time_pages(db_path: Path, state_path: Path, personas: int, seed: int, say: Callable[[str], None]) -> dict[str, Any]:
    """Cold and warm AppTest renders of the scorecard page for a sample of physician personas."""
    from streamlit.testing.v1 import AppTest

    from core import scorecard

    roster = scorecard.roster()
    emails = sorted(roster.loc[roster["role"] == "physician", "email"].dropna())
    chosen = random.Random(seed).sample(emails, min(personas, len(emails)))
    cold, warm, problems = [], [], []
    for email in chosen:
        for bucket in (cold, warm):
            at = AppTest.from_file(str(APP), default_timeout=600)
            at.secrets["auth"] = AUTH
            at.user = {"is_logged_in": True, "email": email, "email_verified": True, "name": "Bench"}
            _, ms = _timed(at.run)
            bucket.append(ms)
            if at.exception:
                problems.append(f"{email}: {at.exception[0].message}")
            elif not any("scorecard" in str(t.value).lower() for t in at.title):
                problems.append(f"{email}: the scorecard page did not render")
        say(f"  {email}: cold {cold[-1]:.0f} ms, warm {warm[-1]:.0f} ms")
    return {"personas": len(chosen), "cold": percentiles(cold), "warm": percentiles(warm), "problems": problems}


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
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Benchmark one size end to end and return (and, with `results`, write) its JSON record."""
    work, started_at, load_before = Path(work), datetime.now(UTC), _load()
    work.mkdir(parents=True, exist_ok=True)
    source = work / f"source-{cases}-s{seed}"
    db_path = work / f"bench-{cases}-s{seed}.duckdb"
    state_path = work / f"state-{cases}-s{seed}.sqlite"
    generated = ensure_source(source, cases, seed, say)

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
    env = {**os.environ, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
    build = run_measured(command, env=env, log=work / f"build-{cases}-s{seed}.log")
    if build["returncode"] != 0:
        raise RuntimeError(f"the build failed (exit {build['returncode']}): see {work}/build-{cases}-s{seed}.log")
    say(f"  built in {build['seconds']} s, peak {build['peak_rss_gib']} GiB")
    build["steps"] = _slow_steps(work / f"build-{cases}-s{seed}.log")

    # Point the app's code at the bench database; a fresh state file means no excluded cases.
    os.environ["SCORECARD_DB"] = str(db_path)
    os.environ["SCORECARD_STATE"] = str(state_path)
    from core import figures, scorecard

    ctx = scorecard.data_context(db_path)
    period = ctx.default_period()
    available = figures.pairs(period)
    rng = random.Random(seed)
    sample = [rng.choice(available) for _ in range(requests)]
    say(f"timing {requests} scorecard requests over {len(available)} physician × procedure pairs")
    mine, times = time_figures(sample, period, say)
    figures_stats = percentiles(times)

    n_base = min(BASELINE_REQUESTS if baseline_requests is None else baseline_requests, len(sample))
    say(f"timing the pandas baseline on {n_base} of the same requests")
    base = time_baseline(source, db_path, sample[:n_base], period, mine[:n_base], say)
    base_stats = percentiles(base["times_ms"])
    same = percentiles(times[:n_base])
    ratio_mean = base_stats["mean_ms"] / same["mean_ms"] if same["mean_ms"] else None
    ratio_p50 = base_stats["p50_ms"] / same["p50_ms"] if same["p50_ms"] else None

    pages = None
    if page:
        say(f"rendering the scorecard page for {personas} personas (AppTest)")
        pages = time_pages(db_path, state_path, personas, seed, say)

    size = db_path.stat().st_size
    counts = generated.get("counts") or {}
    record = {
        "cases": cases,
        "seed": seed,
        "supply_lines": counts.get("supply_usage"),
        "drug_lines": counts.get("drug_usage"),
        "started_at": started_at.isoformat(timespec="seconds"),
        "seconds_total": None,
        "source": {"format": "parquet", **generated},
        "build": {**build, "database_gib": round(size / 2**30, 3)},
        "figures": {
            "unit": "one physician × procedure, default period: cost position, peer figures, "
            "preferred use per category, switch saving, waste, five outcomes' O/E and funnel flag",
            "pairs_available": len(available),
            "period": [period.start.isoformat(), period.end.isoformat()],
            **figures_stats,
        },
        "baseline": {
            "what": "pandas: source Parquet loaded once; per request, group-bys over the period's cases "
            "of the procedure; expected values from the built database; funnel maths from core.stats",
            "load_seconds": base["load_seconds"],
            **base_stats,
            "scorecard_same_requests": same,
            "ratio_mean": round(ratio_mean, 1) if ratio_mean else None,
            "ratio_p50": round(ratio_p50, 1) if ratio_p50 else None,
            "tolerance": TOLERANCE,
            "agree": not base["mismatches"],
            "mismatch_count": len(base["mismatches"]),
            "mismatches": base["mismatches"][:20],
        },
        "page": pages,
        "machine": {**machine(), "load_before": load_before, "load_after": _load()},
    }
    record["seconds_total"] = round((datetime.now(UTC) - started_at).total_seconds(), 1)
    record["targets"] = _targets(record)
    if results is not None:
        results = Path(results)
        results.mkdir(parents=True, exist_ok=True)
        (results / f"bench-{cases}.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


def _targets(record: dict[str, Any]) -> dict[str, Any]:
    """Each target with the measured value and whether it holds (meant for the 1,000,000-case run)."""
    page = (record.get("page") or {}).get("warm") or {}
    measured = {
        "build_seconds": record["build"]["seconds"],
        "build_peak_gib": record["build"]["peak_rss_gib"],
        "figures_p95_ms": record["figures"]["p95_ms"],
        "page_p95_ms": page.get("p95_ms"),
        "pandas_ratio": record["baseline"]["ratio_mean"],
    }
    out = {}
    for name, limit in TARGETS.items():
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
        "supply lines",
        "build s",
        "peak GiB",
        "p50 ms",
        "p95 ms",
        "max ms",
        "page p50",
        "page p95",
        "pandas p50",
        "ratio",
        "agree",
    )
    rows = [head]
    for r in sorted(records, key=lambda r: r["cases"]):
        f, b, p = r["figures"], r["baseline"], (r.get("page") or {}).get("warm") or {}
        rows.append(
            (
                f"{r['cases']:,}",
                f"{r['supply_lines']:,}" if r.get("supply_lines") else "",
                f"{r['build']['seconds']:.0f}",
                f"{r['build']['peak_rss_gib']:.2f}",
                f"{f['p50_ms']}",
                f"{f['p95_ms']}",
                f"{f['max_ms']}",
                f"{p.get('p50_ms', '')}",
                f"{p.get('p95_ms', '')}",
                f"{b['p50_ms']}",
                f"{b['ratio_mean']}×",
                "yes" if b["agree"] else "NO",
            )
        )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(head))]
    return "\n".join("  ".join(str(v).rjust(w) for v, w in zip(row, widths, strict=False)) for row in rows)


def run_bench_cli(args) -> int:
    """`python -m benchmarks`: run each size, write its JSON, print the table; exit 1 if figures disagree."""
    say = lambda m: print(f"[{datetime.now():%H:%M:%S}] {m}", flush=True)  # noqa: E731
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
    bad = [r for r in records if not r["baseline"]["agree"]]
    for r in bad:
        print(f"\n{r['cases']:,} cases: the pandas baseline and the scorecard disagree:", file=sys.stderr)
        for m in r["baseline"]["mismatches"]:
            print(f"  {m}", file=sys.stderr)
    return 1 if bad else 0
