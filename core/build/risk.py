"""The build's risk-model step: expected outcomes per case from models on patient factors only.

For each procedure and outcome of the registry (`core.metrics.OUTCOMES`, plus the case-cost model),
`core.stats.fit_expected` fits a GLM on age, sex, ASA class, comorbidity index and admission type —
never the physician, never the payer — and returns each case's expected value. A logistic fit that
separates is refitted with Firth's penalised likelihood; a procedure with too few events falls back
to its crude rate, flagged unadjusted. The results land in two tables: `int_case_expected` (one row
per case) and `int_risk_model` (one row per procedure × outcome, with what was done and why).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import tempfile
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from core import metrics, stats
from core.build.validate import sql_literal  # COPY takes no bound parameters: a path the build chose

# outcome name -> (column in int_case_cost, GLM family, expected column), registry order.
OUTCOMES = {o.key: (o.source_column, o.family, o.expected_column) for o in metrics.OUTCOMES}
OUTCOMES[metrics.CASE_COST_MODEL[0]] = metrics.CASE_COST_MODEL[1:]
_CASE_COST_WORDS = ("case", "cases", "case cost")
# Processes that fit procedures side by side during the build: one per core the build uses (DuckDB
# runs 2 threads and is idle while the models are fitted).
FIT_WORKERS = min(2, os.cpu_count() or 1)
_BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def model_words(outcome: str) -> tuple[str, str, str]:
    """(one event, several events, the outcome) in plain words for a model's reason, from the registry.

    Accepts the registry key or a column name ("mortality", "mortality_flag", "los", "los_days",
    "case_cost", "case_cost_usd"); anything else gets its own name.
    """
    key = outcome.lower()
    for o in metrics.OUTCOMES:
        if key in (o.key, o.source_column, o.key.split("_")[0]):
            label = o.label.split(" (")[0]
            return o.one, o.many, label[:1].lower() + label[1:]
    if key.startswith("case_cost"):
        return _CASE_COST_WORDS
    return f"{outcome} event", f"{outcome} events", outcome.replace("_", " ")


def _fit_procedure(item: tuple[str, pd.DataFrame]) -> tuple[pd.DataFrame, list[dict]]:
    """(per-case expected values, model notes) for one procedure's cases."""
    code, group = item
    part = pd.DataFrame({"case_id": group["case_id"].to_numpy()})
    notes = []
    for outcome, (column, family, expected_col) in OUTCOMES.items():
        frame = group[list(stats.PATIENT_FACTORS) + [column]]
        if family == "binomial":
            frame = frame.assign(**{column: group[column].astype(int)})
        fit = stats.fit_expected(frame, column, family, words=model_words(outcome))
        part[expected_col] = fit.expected
        notes.append(
            {
                "procedure_code": code,
                "outcome": outcome,
                "adjusted_flag": bool(fit.adjusted),
                "penalised_flag": bool(fit.penalised),
                "model_note": fit.reason,
                "events_count": int(fit.events),
                "case_count": int(len(group)),
            }
        )
    return part, notes


def _fit_task(task: tuple[str, str, str]) -> list[dict]:
    """Fit one procedure read from the cases file; write its expected values to their own file.

    Runs in a worker process: the procedure's cases are read from Parquet (its row groups only, the
    file being sorted by procedure) and its results written back to Parquet, so neither the build's
    cases nor the results are held whole in one process or copied between processes. At 10,000,000
    cases the pickled frames took more memory than the 8 GiB budget (README, *Performance*)."""
    import duckdb

    code, cases_file, out_file = task
    con = duckdb.connect(config={"threads": 1})
    try:
        group = con.execute(
            "select * from read_parquet(?) where procedure_code = ? order by case_id", [cases_file, code]
        ).df()
        part, notes = _fit_procedure((code, group))
        con.register("part_frame", part)
        con.execute(f"copy part_frame to {sql_literal(out_file)} (format parquet)")
    finally:
        con.close()
    return notes


@contextmanager
def _one_blas_thread():
    """BLAS variables at one thread while processes are started (BLAS reads them when it is loaded)."""
    saved = {name: os.environ.get(name) for name in _BLAS_THREADS}
    os.environ.update(dict.fromkeys(_BLAS_THREADS, "1"))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _fit_in_processes(tasks: list[tuple[str, str, str]], workers: int) -> list[list[dict]]:
    """`_fit_task` over `tasks` in `workers` processes; each task's notes, in the tasks' order.

    The fits are many small least-squares problems (one procedure's cases, a dozen columns): OpenBLAS's
    threads mostly wait on each other there, and on a machine whose cores are busy a 2-thread QR was
    four times slower than a 1-thread one. So each process runs BLAS on one thread and the procedures
    are fitted side by side.
    """
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no copy of DuckDB's threads
    results: dict[int, list[dict]] = {}
    items = iter(enumerate(tasks))
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        running = {}
        with _one_blas_thread():  # the processes start with the first submissions
            for index, task in itertools.islice(items, 2 * workers):
                running[pool.submit(_fit_task, task)] = index
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                results[running.pop(future)] = future.result()
                for index, task in itertools.islice(items, 1):
                    running[pool.submit(_fit_task, task)] = index
    return [results[i] for i in range(len(results))]


def fit_cases_file(cases_file: Path, work_dir: Path, workers: int = 1) -> tuple[list[Path], pd.DataFrame]:
    """Fit every procedure of a Parquet file of cases sorted by procedure and case: (the files of
    per-case expected values, in procedure order, and the per procedure × outcome model notes).

    With `workers` > 1 the procedures are fitted in that many processes, with the same results; should
    the processes fail to start (a caller's script without a `__main__` guard), they are fitted here."""
    import duckdb

    with duckdb.connect() as con:
        codes = [
            r[0]
            for r in con.execute(
                "select distinct procedure_code from read_parquet(?) order by 1", [str(cases_file)]
            ).fetchall()
        ]
    tasks = [(code, str(cases_file), str(work_dir / f"expected-{i:05d}.parquet")) for i, code in enumerate(codes)]
    notes = None
    if workers > 1 and len(tasks) > 1:
        try:
            notes = _fit_in_processes(tasks, min(workers, len(tasks)))
        except BrokenProcessPool:
            notes = None
    if notes is None:
        notes = [_fit_task(task) for task in tasks]
    return [Path(t[2]) for t in tasks], pd.DataFrame([note for part in notes for note in part])


def expected_for(cases: pd.DataFrame, workers: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-case expected values, per procedure × outcome model notes) for a frame of cases, fitted as
    the build fits them (`fit_cases_file`)."""
    import duckdb

    with tempfile.TemporaryDirectory() as folder:
        cases_file = Path(folder) / "cases.parquet"
        with duckdb.connect() as con:
            con.register("cases_frame", cases)
            con.execute(
                f"copy (select * from cases_frame order by procedure_code, case_id) to {sql_literal(str(cases_file))} "
                "(format parquet)"
            )
        files, notes = fit_cases_file(cases_file, Path(folder), workers)
        with duckdb.connect() as con:
            expected = con.execute("select * from read_parquet(?)", [[str(f) for f in files]]).df() if files else None
    if expected is None:
        expected = pd.DataFrame(columns=["case_id", *[c for _, _, c in OUTCOMES.values()]])
    return expected, notes


def build_expected(con, work_dir: Path) -> int:
    """Fit every procedure's models from int_case_cost, write int_case_expected and int_risk_model; the
    number of models (procedures × outcomes). `work_dir` holds the hand-over files (the build's
    temporary folder)."""
    columns = ", ".join(["case_id", "procedure_code", *stats.PATIENT_FACTORS, *[c for c, _, _ in OUTCOMES.values()]])
    work_dir.mkdir(parents=True, exist_ok=True)
    cases_file = work_dir / "risk-cases.parquet"
    con.execute(
        f"copy (select {columns} from int_case_cost order by procedure_code, case_id) to {sql_literal(str(cases_file))} "
        "(format parquet, row_group_size 65536)"
    )
    files, notes = fit_cases_file(cases_file, work_dir, workers=FIT_WORKERS)
    empty = ", ".join(
        ["cast(null as varchar) as case_id", *[f"cast(null as double) as {c}" for _, _, c in OUTCOMES.values()]]
    )
    if files:
        con.execute(
            "create or replace table int_case_expected as select * from read_parquet(?)", [[str(f) for f in files]]
        )
    else:
        con.execute(f"create or replace table int_case_expected as select {empty} where false")
    for path in [cases_file, *files]:
        path.unlink(missing_ok=True)
    if notes.empty:
        notes = pd.DataFrame(
            {
                "procedure_code": pd.Series(dtype="string"),
                "outcome": pd.Series(dtype="string"),
                "adjusted_flag": pd.Series(dtype="bool"),
                "penalised_flag": pd.Series(dtype="bool"),
                "model_note": pd.Series(dtype="string"),
                "events_count": pd.Series(dtype="int64"),
                "case_count": pd.Series(dtype="int64"),
            }
        )
    con.register("notes_frame", notes)
    con.execute(
        "create or replace table int_risk_model as select procedure_code::varchar as procedure_code, "
        "outcome::varchar as outcome, adjusted_flag::boolean as adjusted_flag, "
        "penalised_flag::boolean as penalised_flag, model_note::varchar as model_note, "
        "events_count::bigint as events_count, case_count::bigint as case_count from notes_frame"
    )
    con.unregister("notes_frame")
    return len(notes)
