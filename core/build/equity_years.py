"""The build's equity step: every closed calendar year's figures by patient group, suppressed once.

The equity view shows closed calendar years only (README, *Equity*), so the build can compute each of
them ahead: `mart_equity_cell` for the year, then `core.equity.suppress` — the one suppression rule,
linked across the hospital and its service lines — written to `mart_equity_group`, keyed by `year`.
A request then reads one year and one scope from a table. Accepted flags recompute the year in
`core.equity.groups` with the same rule.
"""

from __future__ import annotations

import pandas as pd

from core import equity
from core.periods import closed_years


def build_equity_years(con) -> int:
    """Write mart_equity_group for every closed year of the data (the build's own connection); rows written."""
    span = con.execute("select data_start_date, data_end_date from int_period").fetchone()
    years = closed_years(span[0], span[1]) if span and span[0] is not None else []
    frames = [pd.DataFrame(columns=equity.COLUMNS)]
    try:
        for period in years:
            con.execute("set variable start_date = ?::date", [period.start])
            con.execute("set variable end_date = ?::date", [period.end])
            frames.append(equity.year_table(con.execute("select * from mart_equity_cell").df(), period.start.year))
    finally:
        con.execute("reset variable start_date")
        con.execute("reset variable end_date")
    table = equity.year_table(pd.DataFrame(), 0) if len(frames) == 1 else pd.concat(frames[1:], ignore_index=True)
    con.register("equity_frame", table)
    casts = {
        "year": "integer",
        "dimension_order": "integer",
        "suppressed_flag": "boolean",
        "reference_flag": "boolean",
        **{c: "double" for c in equity.COLUMNS if c.endswith(("_count", "_usd", "_index", "_var"))},
    }
    select = ", ".join(f"{c}::{casts.get(c, 'varchar')} as {c}" for c in equity.COLUMNS)
    con.execute(f"create or replace table mart_equity_group as select {select} from equity_frame")
    con.unregister("equity_frame")
    return len(table)
