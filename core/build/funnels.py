"""The build's funnel step: each procedure's overdispersion for the default period, computed once.

A physician's funnel flag depends on the whole peer group through φ and τ² (the Definitions page, SHMI method),
so computing it means running the funnel over every eligible physician of the procedure. For the
default period with every case counted — nearly every request — the build does that once per
procedure and outcome and stores φ and τ² in `mart_funnel_default`; a request then only needs the
limits at its own expected count. Any other period, or accepted flags, computes the funnel afresh.
"""

from __future__ import annotations

import pandas as pd

from core import stats

COLUMNS = ["procedure_code", "outcome", "physician_count", "dispersion_count", "phi", "tau2_estimate", "tau2"]


def dispersion_table(positions: pd.DataFrame) -> pd.DataFrame:
    """φ and τ² per procedure × outcome over the eligible physicians of `positions`.

    ``tau2`` is what the limits use — 0 when too few physicians remain after trimming to estimate
    overdispersion (`stats.limits_rule`), so the limits are the exact Poisson ones;
    ``tau2_estimate`` is what those physicians gave, and ``dispersion_count`` how many entered it.
    """
    rows = []
    eligible = positions[positions["eligible_flag"]]
    for (code, outcome), group in eligible.groupby(["procedure_code", "outcome"], sort=True):
        fun = stats.funnel(
            group["observed_count"].astype(float).tolist(), group["expected_count"].astype(float).tolist()
        )
        rows.append(
            {
                "procedure_code": code,
                "outcome": outcome,
                "physician_count": len(group),
                "dispersion_count": int(fun.attrs["n_dispersion"]),
                "phi": float(fun.attrs["phi"]),
                "tau2_estimate": float(fun.attrs["tau2_estimate"]),
                "tau2": float(fun.attrs["tau2"]),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def build_funnel_defaults(con) -> None:
    """Write mart_funnel_default from mart_outcome_position_default (the build's own connection)."""
    positions = con.execute(
        "select procedure_code, outcome, physician_id, eligible_flag, observed_count, "
        "expected_count from mart_outcome_position_default"
    ).df()
    table = dispersion_table(positions)
    con.register("dispersion_frame", table)
    con.execute(
        "create or replace table mart_funnel_default as select procedure_code::varchar as procedure_code, "
        "outcome::varchar as outcome, physician_count::bigint as physician_count, "
        "dispersion_count::bigint as dispersion_count, phi::double as phi, "
        "tau2_estimate::double as tau2_estimate, tau2::double as tau2 from dispersion_frame"
    )
    con.unregister("dispersion_frame")
