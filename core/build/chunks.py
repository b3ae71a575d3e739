"""Build the largest tables a run of keys at a time, in the order they are stored.

The big supply tables hold one row per supply line (282 million at 10,000,000 cases) or per case and
category, sorted by procedure so that DuckDB's zone maps let the reading views skip every other
procedure's row groups. Sorted in one statement, such a table does not fit in the build's memory:
DuckDB spills the sort to disk, and at 10,000,000 cases that spill filled the 70 GB that were free
(benchmarks/results/build-10000000-attempt-2.log).

A model whose ORDER BY begins with a key column says so in its header, `-- chunked by: <column>`. The
build then runs the model's own query once per run of consecutive key values, each restricted to its
run and appended in key order: the table gets the same rows in the same order, while a sort holds only
one run. The restriction is a filter on the query's output column; DuckDB pushes it through the ORDER
BY and the joins to the scan that supplies the key (the cases for a procedure, or a table already
stored by procedure, whose other row groups it skips), so a run sorts only its own lines. Key values
are compared with bound parameters, in DuckDB's own order, so the runs cover every value once (nulls,
last in an ascending ORDER BY, go with the last run).

A run's size is LINES_PER_MB unless the model's header says `-- run size: <n> lines per MB`: a model
that reads a table already stored by its key reads only its own rows per run, so small runs cost it no
extra reading and keep its grouping and sort in memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core import config

# Rows each key value brings, in supply lines: the unit the run size is measured in. Approximate is
# enough (a run that is larger only spills more); the runs cover every key whatever these return.
WEIGHTS = {
    "procedure_code": "select procedure_code, sum(supply_line_count) from int_case_cost group by procedure_code",
}
# Supply lines per run and MB of the build's memory limit. A stored line (ids, a date and prices; the
# item's text is joined back by the views) takes about 100 bytes in DuckDB's sort, so a run spills
# some of its sort; every run of int_supply_line_by_procedure reads all the lines to pick its own, so
# fewer, larger runs are faster until their spill outgrows the disk. 20,000 lines per MB gives one run
# at 1,000,000 cases (50 million lines at the default 2,500 MB) and three at 10,000,000 (100 million
# each at 5,000 MB), where one statement's sort spilled 70 GB (README, *Performance*).
LINES_PER_MB = 20000

_HEADER = re.compile(r"^--\s*chunked by:\s*([a-z_][a-z0-9_]*)\s*$", re.M)
_RUN_SIZE = re.compile(r"^--\s*run size:\s*([0-9]+) lines per MB\b", re.M)


@dataclass(frozen=True)
class Run:
    """One run of consecutive key values: those above `after` (when set) up to `last` (when set)."""

    after: str | None
    last: str | None
    nulls: bool  # the run also takes the rows whose key is null (the last run)


def run_size(sql: str) -> int:
    """Supply lines per MB of a run: the model's `-- run size: <n> lines per MB`, else LINES_PER_MB."""
    match = _RUN_SIZE.search(sql)
    return int(match.group(1)) if match else LINES_PER_MB


def chunk_key(sql: str) -> str | None:
    """The key a model declares with `-- chunked by: <column>`, or None."""
    match = _HEADER.search(sql)
    if match is None:
        return None
    if match.group(1) not in WEIGHTS:
        raise RuntimeError(f"chunked by {match.group(1)!r}: no weights for that key (core/build/chunks.py WEIGHTS)")
    return match.group(1)


def plan(weights: list[tuple[str | None, int]], budget: int) -> list[Run]:
    """Runs of consecutive keys (given in the table's order) of about `budget` rows each.

    The first run is open below and the last open above and takes the nulls, so every key value,
    even one the weights do not list, lands in exactly one run.
    """
    keys = [(k, int(w or 0)) for k, w in weights if k is not None]
    lasts: list[str] = []
    total = 0
    for i, (key, weight) in enumerate(keys):
        total += weight
        if total >= budget and i < len(keys) - 1:
            lasts.append(key)
            total = 0
    runs = []
    after = None
    for last in lasts:
        runs.append(Run(after, last, False))
        after = last
    runs.append(Run(after, None, True))
    return runs


def _restriction(key: str, run: Run) -> tuple[str, list]:
    """A filter on `key` for one run, with its bound values."""
    parts, params = [], []
    if run.after is not None:
        parts.append(f"{key} > ?")
        params.append(run.after)
    if run.last is not None:
        parts.append(f"{key} <= ?")
        params.append(run.last)
    where = " and ".join(parts) if parts else "true"
    if run.nulls and parts:
        where = f"({where}) or {key} is null"
    return where, params


def build_chunked(con, name: str, body: str, key: str, lines_per_mb: int) -> int:
    """Create table `name` from the model query `body` one run of `key` at a time, runs of `lines_per_mb`
    (`run_size`); the number of runs."""
    weights = con.execute(f"select * from ({WEIGHTS[key]}) order by 1").fetchall()
    runs = plan(weights, config.build_memory_mb() * lines_per_mb)
    con.execute(f"create or replace table {name} as select * from (\n{body}\n) limit 0")
    for run in runs:
        where, params = _restriction(key, run)
        con.execute(f"insert into {name} select * from (\n{body}\n) where {where}", params)
    return len(runs)
