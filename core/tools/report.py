"""`python -m core report`: one physician's scorecard figures for mail-outs and integrations (README, *Commands*).

One entry per procedure the physician did in the period, with the same figures the scorecard page
shows (computed by `core.scorecard`). Peer figures are null when fewer than `min_peers` physicians
are eligible. An unknown physician or an empty period is a clear error (exit 2).
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from datetime import date
from pathlib import Path
from typing import Any

from core import config, episode, metrics, pharmacy, scorecard
from core.errors import UserError
from core.periods import Period


def _num(value: Any, digits: int = 2) -> float | None:
    """A JSON-safe rounded number, or None for missing values."""
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) or math.isinf(f) else round(f, digits)


def _period(ctx: scorecard.DataContext, start: str | None, end: str | None) -> Period:
    default = ctx.default_period()
    try:
        s = date.fromisoformat(start) if start else default.start
        e = date.fromisoformat(end) if end else default.end
    except ValueError as err:
        raise UserError(f"--start/--end must be dates as YYYY-MM-DD ({err})") from None
    if s > e:
        raise UserError(f"--start {s} is after --end {e}")
    return Period(s, e, f"{s}..{e}", f"{s} – {e}")


def report(
    physician_id: str,
    start: str | None = None,
    end: str | None = None,
    db_path: Path | None = None,
    state_path: Path | None = None,
) -> dict[str, Any]:
    """The report object for one physician and period (see the issue's JSON shape)."""
    if db_path is not None:
        if not Path(db_path).exists():
            raise UserError(f"no database at {db_path}: run `python -m core build` first")
    ctx = scorecard.data_context(db_path)
    if scorecard.physician(physician_id) is None:
        raise UserError(f"unknown physician {physician_id!r}")
    period = _period(ctx, start, end)
    excluded = scorecard.excluded_cases(state_path)
    positions = scorecard.positions(physician_id, period, excluded)
    if positions.empty:
        raise UserError(f"physician {physician_id} has no cases between {period.start} and {period.end}")
    entries = []
    for pos in positions.sort_values("procedure_code").to_dict("records"):
        outcomes = scorecard.outcome_summary(physician_id, pos["procedure_code"], period, excluded)
        out = {}
        for r in outcomes.to_dict("records"):
            out[r["outcome"]] = {
                "observed": _num(r["observed"], 4),
                "expected": _num(r["expected"], 4),
                "oe_ratio": _num(r["oe_ratio"], 4),
                "ci95_low": _num(r["ci95_low"], 4),
                "ci95_high": _num(r["ci95_high"], 4),
                "flag": r["flag"],
                "shrunken_oe_ratio": _num(r["shrunken_oe_ratio"], 4),
                "reliability": _num(r["reliability"], 4),
                "limits": r["limits"],
            }
        entries.append(
            {
                "procedure_code": pos["procedure_code"],
                "cases": int(pos["case_count"]),
                "eligible": bool(pos["eligible_flag"]),
                "median_case_cost_usd": _num(pos["median_case_cost_usd"]),
                "peer_physicians": None if pd_isna(pos["peer_physician_count"]) else int(pos["peer_physician_count"]),
                "peer_median_case_cost_usd": _num(pos["peer_median_case_cost_usd"]),
                "cost_percentile": _num(pos["cost_percentile_pct"], 1),
                "components_usd": {c.key: _num(pos[c.column]) for c in metrics.COMPONENTS},
                "preferred_use_pct": _num(pos["preferred_use_pct"], 1),
                "switch_saving_usd": _num(pos["switch_saving_usd"]),
                "waste_usd_per_case": _num(pos["waste_per_case_usd"]),
                "outcomes": out,
                # Pharmacy by drug class and the drug switch saving (README, "core report").
                **pharmacy.report_entry(physician_id, pos["procedure_code"], period, excluded),
                # 30-day episode cost (README, *Episode cost*); null without post-acute data for the procedure
                "episode": episode.report_entry(
                    episode.position(physician_id, pos["procedure_code"], period, excluded)
                ),
            }
        )
    return {
        "physician_id": physician_id,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "procedures": entries,
    }


def pd_isna(value: Any) -> bool:
    """True for None, NaN and pandas' NA."""
    import pandas as pd

    return value is None or bool(pd.isna(value))


def to_csv(result: dict[str, Any]) -> str:
    """The report flattened to one CSV row per procedure."""
    rows = []
    for entry in result["procedures"]:
        row = {"physician_id": result["physician_id"], "start": result["start"], "end": result["end"]}
        for key, value in entry.items():
            if key == "components_usd":
                row.update({f"{c}_usd": v for c, v in value.items()})
            elif key == "episode":
                for name, figure in (value or {}).items():
                    if isinstance(figure, dict):
                        row.update({f"episode_{name}_{k}": v for k, v in figure.items()})
                    else:
                        row[f"episode_{name}"] = figure
            elif key == "outcomes":
                for outcome, figures in value.items():
                    row.update({f"{outcome}_{k}": v for k, v in figures.items()})
            elif key == "pharmacy_by_class_usd":
                for drug_class, figures in value.items():
                    row.update({f"pharmacy_{drug_class}_{k}_usd": v for k, v in figures.items()})
            else:
                row[key] = value
        rows.append(row)
    buf = io.StringIO()
    fields = list(dict.fromkeys(k for r in rows for k in r))
    writer = csv.DictWriter(buf, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def run_report_cli(db_path: Path, physician_id: str, start: str | None, end: str | None, fmt: str) -> int:
    """Print the report as JSON or CSV; exit 2 for an unknown physician or an empty period."""
    if not Path(db_path).exists():
        raise UserError(f"no database at {db_path}: run `python -m core build` first")

    config.use_database(db_path)
    result = report(physician_id, start, end, db_path=Path(db_path))
    sys.stdout.write(json.dumps(result, indent=2) + "\n" if fmt == "json" else to_csv(result))
    return 0
