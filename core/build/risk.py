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
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

import pandas as pd

from core import metrics, stats

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


def _fit_in_processes(groups, workers: int) -> list[tuple[pd.DataFrame, list[dict]]]:
    """`_fit_procedure` over `groups` in `workers` processes, results in the groups' order.

    The fits are many small least-squares problems (one procedure's cases, a dozen columns): OpenBLAS's
    threads mostly wait on each other there, and on a machine whose cores are busy a 2-thread QR was
    four times slower than a 1-thread one. So each process runs BLAS on one thread and the procedures
    are fitted side by side, with at most two waiting per process, so only a few procedures' frames
    are copied at a time.
    """
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no copy of DuckDB's threads
    results: dict[int, tuple[pd.DataFrame, list[dict]]] = {}
    items = iter(enumerate(groups))
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        running = {}
        with _one_blas_thread():  # the processes start with the first submissions
            for index, item in itertools.islice(items, 2 * workers):
                running[pool.submit(_fit_procedure, item)] = index
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                results[running.pop(future)] = future.result()
                for index, item in itertools.islice(items, 1):
                    running[pool.submit(_fit_procedure, item)] = index
    return [results[i] for i in range(len(results))]


def expected_for(cases: pd.DataFrame, workers: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-case expected values, per procedure × outcome model notes) for a frame of cases.

    With `workers` > 1 the procedures are fitted in that many processes, with the same results in the
    same order; should the processes fail to start (a caller's script without a `__main__` guard),
    they are fitted here."""
    groups = cases.groupby("procedure_code", sort=True)
    results = None
    if workers > 1 and groups.ngroups > 1:
        try:
            results = _fit_in_processes(groups, min(workers, groups.ngroups))
        except BrokenProcessPool:
            results = None
    if results is None:
        results = [_fit_procedure(item) for item in groups]
    expected = (
        pd.concat([part for part, _ in results], ignore_index=True)
        if results
        else pd.DataFrame(columns=["case_id", *[c for _, _, c in OUTCOMES.values()]])
    )
    return expected, pd.DataFrame([note for _, notes in results for note in notes])


def build_expected(con) -> int:
    """Fit every procedure's models from int_case_cost, write int_case_expected and int_risk_model; the
    number of models (procedures × outcomes)."""
    columns = ", ".join(["case_id", "procedure_code", *stats.PATIENT_FACTORS, *[c for c, _, _ in OUTCOMES.values()]])
    cases = con.execute(f"select {columns} from int_case_cost order by procedure_code, case_id").df()
    expected, notes = expected_for(cases, workers=FIT_WORKERS)
    con.register("expected_frame", expected)
    con.execute("create or replace table int_case_expected as select * from expected_frame")
    con.unregister("expected_frame")
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
