"""Validate a source and build the analytics database, atomically (README, *The data contract*, §8).

The build writes a new file beside the target and swaps it in with `os.replace` only when every
step succeeded, so the database in service is never touched by a failed or interrupted build: a
contract error exits 2, anything else 1, and in both cases the old file is byte-for-byte the same.
Leftovers of a build that was killed half-way are removed by the next build.

Models are the SQL files in `core/sql/` (one view per file, named as the file) plus the risk-model
step in `core.risk`; they run in dependency order, found from the names each file mentions.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from core import db, state
from core.build import chunks, contract, episodes, equity_years, funnels, provenance, risk, validate
from core.build.validate import ERROR, WARNING, LoadedTable, ProblemGroup, validate_source

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
PYTHON_MODELS = {
    "int_case_expected": ("int_case_cost",),
    "int_risk_model": ("int_case_expected",),
    "int_episode_expected": ("int_case_episode",),
    "int_episode_model": ("int_episode_expected",),
    "mart_funnel_default": ("mart_outcome_position_default",),
    "mart_outcome_summary_default": (
        "mart_funnel_default",
        "mart_outcome_reliability_default",
        "mart_outcome_position_default",
    ),
    "mart_equity_group": ("mart_equity_cell", "int_period"),
}
DEMO_GENERATOR = provenance.DEMO_GENERATOR


@dataclass
class BuildResult:
    """What a build did: problems found, rows per table, and whether the database was replaced."""

    ok: bool
    problems: list[ProblemGroup] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def errors(self) -> list[ProblemGroup]:
        """Problems that stop the build."""
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[ProblemGroup]:
        """Problems listed while the build goes on."""
        return [p for p in self.problems if p.severity == WARNING]


class Progress:
    """Per-step progress lines with timings on a terminal; silent otherwise."""

    def __init__(self, enabled: bool | None = None, stream=sys.stderr):
        self.enabled = stream.isatty() if enabled is None else enabled
        self.stream = stream
        self.started = time.monotonic()

    def __call__(self, message: str) -> None:
        if self.enabled:
            print(f"[{time.monotonic() - self.started:6.1f}s] {message}", file=self.stream, flush=True)


def sql_models() -> dict[str, tuple[str, str]]:
    """{name: (materialized, sql)} for every model file in core/sql/."""
    models = {}
    for path in sorted(SQL_DIR.rglob("*.sql"), key=lambda p: p.name):
        if path.name.startswith("_"):
            continue
        text = path.read_text(encoding="utf-8")
        match = re.search(r"^--\s*materialized:\s*(table|view)\s*$", text, re.M)
        models[path.stem] = (match.group(1) if match else "table", text)
    return models


_SNAPSHOT = re.compile(r"^select \* from ([a-z_][a-z0-9_]*)\s*(order by [a-z0-9_, ]+)?$")


def _code(sql: str) -> str:
    """A model's SQL without its comments."""
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines()).strip().rstrip(";").strip()


def snapshot_of(name: str, models: dict[str, tuple[str, str]]) -> tuple[str, str] | None:
    """(view, order by) when `name` is a default-period snapshot, `<view>_default` = `select * from <view>`
    (plus its storage order), of a view model; else None."""
    match = _SNAPSHOT.match(" ".join(_code(models[name][1]).split())) if name in models else None
    if match is None or match.group(1) + "_default" != name or models.get(match.group(1), ("",))[0] != "view":
        return None
    return match.group(1), match.group(2) or ""


def _words(sql: str) -> set[str]:
    """The lower-case names in `sql`: a model reads each of them that is a model."""
    return set(re.findall(r"\b[a-z_][a-z0-9_]*\b", sql))


def snapshot_inputs(view: str, models: dict[str, tuple[str, str]]) -> list[str]:
    """The views `view` reads directly that have a snapshot of their own: building its snapshot reads those
    snapshots instead (`snapshot_sql`)."""
    words = _words(_code(models[view][1]))
    return sorted(w for w in words if w != view and snapshot_of(f"{w}_default", models))


def snapshot_sql(name: str, models: dict[str, tuple[str, str]]) -> str | None:
    """The SQL that builds snapshot `name` from the snapshots already built, or None if it is no snapshot.

    A snapshot is its view with no session variable set (the default period, every case counted), and so is
    each snapshot the view reads: the view's own SQL with those views' names replaced by their snapshots
    gives the same rows without computing them again (`db.shadowed`: the names bound to the snapshots, the
    view's text untouched). At 10,000,000 cases the category drivers and the
    physicians' product totals each recomputed preferred use from 181 million case × category rows
    (README, *Performance*).
    """
    found = snapshot_of(name, models)
    if found is None:
        return None
    view, order = found
    body = models[view][1].strip().rstrip(";")  # comments kept: each ends at its line's end
    reads = {read: f"{read}_default" for read in snapshot_inputs(view, models)}
    if reads:
        body = db.shadowed(body, reads)
    return f"select * from (\n{body}\n) as {view}\n{order}".rstrip()


def model_order(models: dict[str, tuple[str, str]]) -> list[str]:
    """Model names in dependency order (a model after every model its SQL mentions, a snapshot after
    the snapshots it is built from, and a model built in runs after the table its runs are sized from)."""
    names = set(models) | set(PYTHON_MODELS)
    deps: dict[str, set[str]] = {}
    for name, (_kind, sql) in models.items():
        deps[name] = (_words(_code(sql)) & names) - {name}
        if found := snapshot_of(name, models):
            deps[name] |= {f"{read}_default" for read in snapshot_inputs(found[0], models)}
        if key := chunks.chunk_key(sql):  # a model built in runs needs the table its runs are sized from
            deps[name] |= _words(chunks.WEIGHTS[key]) & names
    for name, parents in PYTHON_MODELS.items():
        deps[name] = set(parents)
    order: list[str] = []
    seen: set[str] = set()

    def visit(node: str, stack: tuple[str, ...] = ()) -> None:
        if node in seen:
            return
        if node in stack:
            raise RuntimeError(f"model cycle: {' -> '.join(stack + (node,))}")
        for parent in sorted(deps[node]):
            visit(parent, stack + (node,))
        seen.add(node)
        order.append(node)

    # Staging first (with what it needs): once every staging table is built, the loaded copy of the
    # extract is dropped, and its space reused by the tables after it (_run_models).
    for name in sorted(names, key=lambda n: (not n.startswith("stg_"), n)):
        visit(name)
    return order


def source_checksum(source: Path) -> str:
    """SHA-256 over the source's extract files and mapping file (names and bytes), in name order."""
    from core.build.sources import MAPPING_FILE, WORKBOOK_SUFFIXES

    digest = hashlib.sha256()
    paths = [source] if source.is_file() else sorted(source.iterdir())
    for path in paths:
        extract = path.suffix.lower() in (".csv", ".parquet", *WORKBOOK_SUFFIXES) or path.name == MAPPING_FILE
        if extract and path.is_file():
            digest.update(path.name.encode())
            with path.open("rb") as fh:
                while chunk := fh.read(1 << 22):
                    digest.update(chunk)
    return digest.hexdigest()


def source_kind(source: Path) -> str:
    """'demo' only when the build regenerated the demo and it matched the source exactly (core.build.provenance)."""
    return provenance.source_kind(source)


def _normalise_raw(con, loaded: dict[str, LoadedTable]) -> None:
    """Give every table exactly the contract's columns (absent optional ones as nulls), as `raw_<table>`.

    Views over the loaded tables, not copies: staging reads each table once either way, and at
    1,000,000 cases a copy of the supply lines took 21 s of the build (README, *Performance*). A usage
    table without a `line` column gets one: lines numbered 1, 2, ... in file order within each case
    (README "Data contract"), so the staging views never see the difference.

    A number or date column is given as its value or null: a Parquet column kept in its type
    (core.build.validate) as it is, a text one trimmed with blanks as null. Staging then casts either
    with one `cast(column as type)`, whichever way the column arrived.
    """
    for table in contract.TABLES.values():
        lt = loaded.get(table.name)
        present = set(lt.columns) if lt else set()
        typed = lt.typed if lt else frozenset()
        cols = []
        for col in table.columns:
            c = col.name
            if c in present and (c in typed or col.type not in validate.NATIVE_TYPES):
                cols.append(f'"{c}"')
            elif c in present:
                cols.append(f'nullif(trim("{c}"), \'\') as "{c}"')
            elif c == "line" and table.name in contract.LINE_TABLES and lt is not None:
                cols.append('row_number() over (partition by "case_id" order by rowid) as "line"')
            else:
                cols.append(f'cast(null as varchar) as "{c}"')
        source = lt.raw_name if lt else "(select 1 where false)"
        con.execute(f"create or replace view raw_{table.name} as select {', '.join(cols)} from {source}")


def _cleanup_stale(target: Path) -> None:
    """Remove leftovers of builds that were killed (their process is gone)."""
    for stale in target.parent.glob(f".{target.name}.building-*"):
        pid = stale.name.rsplit("-", 1)[-1].split(".")[0]
        alive = pid.isdigit() and Path(f"/proc/{pid}").exists() and int(pid) != os.getpid()
        if not alive:
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)


def _run_models(con, progress: Callable[[str], None]) -> None:
    con.execute((SQL_DIR / "_macros.sql").read_text(encoding="utf-8"))
    models = sql_models()
    raw = re.compile(rf"\braw_({'|'.join(contract.TABLES)})\b")
    readers = {name for name, (_kind, sql) in models.items() if raw.search(sql)}
    built: set[str] = set()
    for name in model_order(models):
        if readers and readers <= built:
            _drop_loaded(con)
            progress("dropped the loaded extract (every staging table is built), checkpointed")
            readers = set()
        built.add(name)
        started = time.monotonic()
        if name in PYTHON_MODELS:
            if name == "int_case_expected":
                # Lets tests kill a build half-way deterministically (tests/test_build.py).
                if delay := os.environ.get("SCORECARD_SLOW_BUILD_FOR_TESTS"):
                    time.sleep(float(delay))
                work_dir = Path(con.execute("select current_setting('temp_directory')").fetchone()[0])
                fits = risk.build_expected(con, work_dir)
                progress(f"built int_case_expected, int_risk_model: {fits:,} risk models ({_since(started)})")
            elif name == "int_episode_expected":
                episodes.build_episode_expected(con)  # writes int_episode_model too
                progress(f"built int_episode_expected, int_episode_model ({_since(started)})")
            elif name == "mart_funnel_default":
                funnels.build_funnel_defaults(con)
                progress(f"built mart_funnel_default ({_since(started)})")
            elif name == "mart_outcome_summary_default":
                funnels.build_outcome_summary(con)
                progress(f"built mart_outcome_summary_default ({_since(started)})")
            elif name == "mart_equity_group":
                rows = equity_years.build_equity_years(con)
                progress(f"built mart_equity_group: {rows:,} rows ({_since(started)})")
            continue  # int_risk_model is written by the risk step
        kind, sql = models[name]
        body = snapshot_sql(name, models) or sql.strip().rstrip(";")
        key = chunks.chunk_key(sql) if kind == "table" else None
        runs = 1
        if key:
            runs = chunks.build_chunked(con, name, body, key, chunks.run_size(sql))
        else:
            con.execute(f"create or replace {kind} {name} as {body}")
        if kind == "table":
            rows = con.execute(f"select count(*) from {name}").fetchone()[0]
            by = f", {runs} runs by {key}" if runs > 1 else ""
            progress(f"built {name}: {rows:,} rows ({_since(started)}{by})")


def _drop_loaded(con) -> None:
    """Drop the extract's loaded copy and its `raw_` views, and checkpoint so the file reuses their space:
    at 10,000,000 cases they are tens of GB that every later table would otherwise be written after
    (README, *Performance*)."""
    for table in contract.TABLES:
        con.execute(f"drop view if exists raw_{table}")
        con.execute(f"drop table if exists load_{table}")
    con.execute("checkpoint")


def _since(started: float) -> str:
    return f"{time.monotonic() - started:.1f}s"


def _write_build_info(con, source: Path, loaded: dict[str, LoadedTable]) -> dict[str, int]:
    counts = {name: (loaded[name].rows if name in loaded else 0) for name in contract.TABLES}
    span = con.execute("select data_start_date, data_end_date from int_period").fetchone()
    con.execute(
        """
        create or replace table mart_build_info as
        select
            ? as source_kind,
            cast(? as timestamp) as built_at,
            ? as source_sha256,
            ? as contract_version,
            ? as source_format,
            cast(? as date) as data_start_date,
            cast(? as date) as data_end_date,
            ?::integer as physicians_count, ?::integer as procedures_count, ?::integer as cases_count,
            ?::integer as items_count, ?::bigint as supply_usage_count, ?::bigint as drug_usage_count,
            ?::integer as evidence_count, ?::integer as users_count, ?::integer as settings_count,
            ?::integer as drugs_count, ?::bigint as post_acute_count, ?::integer as targets_count
        """,
        [
            source_kind(source),
            datetime.now(UTC).replace(tzinfo=None),
            source_checksum(source),
            contract.CONTRACT_VERSION,
            ",".join(sorted({lt.path.suffix.lstrip(".") for lt in loaded.values()})),
            span[0],
            span[1],
            *[
                counts[t]
                for t in (
                    "physicians",
                    "procedures",
                    "cases",
                    "items",
                    "supply_usage",
                    "drug_usage",
                    "evidence",
                    "users",
                    "settings",
                    "drugs",
                    "post_acute",
                    "targets",
                )
            ],
        ],
    )
    return counts


def _write_warnings(con, warnings: list[ProblemGroup]) -> None:
    """Keep the build's warnings in the database, for the admin's data-quality view."""
    import pandas as pd

    rows = [
        {
            "file_name": g.file,
            "rule": g.rule,
            "column_name": g.column or "",
            "message": g.message,
            "rows_count": int(g.count),
            "examples": "; ".join(ex.where() for ex in g.examples if ex.row is not None or ex.value is not None),
        }
        for g in warnings
    ]
    frame = pd.DataFrame(rows, columns=["file_name", "rule", "column_name", "message", "rows_count", "examples"])
    con.register("warning_frame", frame)
    con.execute(
        "create or replace table mart_build_warning as select file_name::varchar as file_name, "
        "rule::varchar as rule, column_name::varchar as column_name, message::varchar as message, "
        "rows_count::bigint as rows_count, examples::varchar as examples from warning_frame"
    )
    con.unregister("warning_frame")


def build(
    source: Path,
    target: Path,
    progress: Callable[[str], None] | None = None,
    examples_per_rule: int | None = None,
    *,
    accepted: Callable[[], list[str]] | None = None,
    serves_as: Path | None = None,
) -> BuildResult:
    """Validate `source` and, when it keeps the contract, atomically replace `target` with a new build.

    `examples_per_rule` lists more rows per broken rule than a terminal wants (the upload page lists
    them all, up to that bound). `accepted` gives the cases whose flags are accepted in app state: their
    patched snapshots are computed on the new file before it replaces `target`, and saved for the name it
    will be served as (`serves_as`, else `target`), so the first request after the swap loads them rather
    than computing every touched procedure (`prepare_accepted`)."""
    if examples_per_rule is not None:
        token = validate.examples_per_rule.set(examples_per_rule)
        try:
            return build(source, target, progress, accepted=accepted, serves_as=serves_as)
        finally:
            validate.examples_per_rule.reset(token)
    progress = progress or Progress(enabled=False)
    started = time.monotonic()
    source, target = Path(source), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _cleanup_stale(target)
    temp = target.parent / f".{target.name}.building-{os.getpid()}"
    spill = Path(str(temp) + ".tmp")
    con = db.open_for_build(temp)
    result = BuildResult(ok=False)
    try:
        loaded, problems = validate_source(con, source, progress)
        result.problems = problems
        if result.errors:
            return result
        progress("source keeps the contract: building views")
        _normalise_raw(con, loaded)
        progress("raw tables given the contract's columns")
        _run_models(con, progress)
        result.row_counts = _write_build_info(con, source, loaded)
        _write_warnings(con, result.warnings)
        progress("wrote mart_build_info (source checksum) and mart_build_warning")
        _drop_loaded(con)  # already dropped after staging; a build whose models read no raw table drops them here
        progress("checkpointed")
        con.close()
        con = None
        if accepted is not None:
            prepare_accepted(temp, serves_as or target, accepted, progress)
        os.replace(temp, target)
        _fsync_dir(target.parent)
        result.ok = True
        progress(f"database ready: {target}")
        return result
    finally:
        if con is not None:
            con.close()
        if not result.ok:
            temp.unlink(missing_ok=True)
            Path(str(temp) + ".wal").unlink(missing_ok=True)
        shutil.rmtree(spill, ignore_errors=True)
        result.seconds = time.monotonic() - started


def prepare_accepted(
    built: Path, served_as: Path, accepted: Callable[[], list[str]], progress: Callable[[str], None]
) -> None:
    """Patch the new file's snapshots for the flags accepted in app state and save them under the name it
    will be served as (`core.db.prepare_excluded`; a rename keeps the file's version). A cache, so the
    build goes on without it: app state that cannot be read, or a set that cannot be computed or saved,
    is reported as a progress line and the first request computes the set instead."""
    started = time.monotonic()
    try:
        excluded = accepted()
    except Exception as err:  # noqa: BLE001 - any state backend's failure; the build itself is sound
        progress(f"accepted flags not prepared: app state could not be read ({err})")
        return
    if not excluded:
        return
    try:
        db.prepare_excluded(excluded, built, served_as=served_as)
        db.wait_for_saves()
        progress(f"prepared the snapshots for {len(excluded):,} accepted flags ({_since(started)})")
    except Exception as err:  # noqa: BLE001 - a cache: the build stands without it
        progress(f"accepted flags not prepared: {err}")
    finally:
        db.forget(built)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def run_build_cli(source: Path, target: Path) -> int:
    """`python -m core build`: report problems, return 0 (built), 2 (contract errors) or 1."""
    progress = Progress()
    result = build(source, target, progress, accepted=state.accepted_flags_if_kept)
    for group in result.errors + result.warnings:
        print(group.render(), file=sys.stderr)
    if result.errors:
        n = sum(g.count for g in result.errors)
        print(f"build stopped: {n} contract error(s) in {source}; {target} was not changed", file=sys.stderr)
        return 2
    print(
        f"built {target} from {source} in {result.seconds:.1f}s "
        f"({result.row_counts.get('cases', 0):,} cases, {len(result.warnings)} warning(s))"
    )
    return 0
