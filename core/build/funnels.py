"""The build's funnel step: each procedure's overdispersion for the default period, and every call, computed once.

A physician's funnel flag depends on the whole peer group through φ and τ² (the Definitions page, SHMI method),
so computing it means running the funnel over every eligible physician of the procedure. For the
default period with every case counted — nearly every request — the build does that once per
procedure and outcome and stores φ and τ² in `mart_funnel_default`, then makes every physician's call
with them (`core.scorecard.outcome_calls`: limits at their expected count, exact interval, flag and
words) into `mart_outcome_summary_default`, which the scorecard, its funnels and the report read as
they are (README, *Performance*). Any other period, or accepted flags, computes the calls afresh with
the same function.
"""

from __future__ import annotations

import pandas as pd

from core import scorecard, stats

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


def build_outcome_summary(con) -> None:
    """Write mart_outcome_summary_default: every physician's call per procedure × outcome, default period."""
    rows = con.execute(
        "select r.*, p.model_expected_count from mart_outcome_reliability_default r "
        "join mart_outcome_position_default p using (procedure_code, physician_id, outcome)"
    ).df()
    dispersion = {
        (r.procedure_code, r.outcome): (float(r.phi), float(r.tau2), int(r.dispersion_count), float(r.tau2_estimate))
        for r in con.execute("select * from mart_funnel_default").df().itertuples()
    }
    calls = scorecard.outcome_calls(rows, dispersion)
    con.register("calls_frame", calls)
    con.execute(
        "create or replace table mart_outcome_summary_default as select procedure_code::varchar as procedure_code, "
        "physician_id::varchar as physician_id, outcome_order::integer as outcome_order, outcome::varchar as outcome, "
        "label::varchar as label, eligible_flag::boolean as eligible_flag, "
        "cases::bigint as cases, observed::double as observed, expected::double as expected, "
        "model_expected::double as model_expected, oe_ratio::double as oe_ratio, ci95_low::double as ci95_low, "
        "ci95_high::double as ci95_high, lower95::double as lower95, upper95::double as upper95, "
        "lower998::double as lower998, upper998::double as upper998, flag::varchar as flag, "
        "verdict::varchar as verdict, tone::varchar as tone, colour::varchar as colour, "
        "badge_colour::varchar as badge_colour, badge::varchar as badge, shrunken_oe_ratio::double as shrunken_oe_ratio, "
        "reliability::double as reliability, adjusted::boolean as adjusted, model_note::varchar as model_note, "
        "phi::double as phi, tau2::double as tau2, limits::varchar as limits, limits_reason::varchar as limits_reason "
        # stored by procedure, outcome, physician: a request reads one physician's five rows, a funnel one
        # procedure × outcome; DuckDB's zone maps skip the rest
        "from calls_frame order by procedure_code, outcome, physician_id"
    )
    con.unregister("calls_frame")
