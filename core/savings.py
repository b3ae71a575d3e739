"""Savings achieved: spend per case on preferred-item categories (and drug classes with a preferred drug)
against the baseline before the standardization programme began, at the current volume, beside the
year's target and the remaining switch-saving opportunity (Definitions, "Savings achieved").

Every figure is computed in the savings marts and read here through `core.db.fetch`: the one-row
summary (`mart_savings_summary`), by category (`mart_savings_category`), by service line
(`mart_savings_service_line`) and by physician (`mart_savings_physician_total`, and per category
`mart_savings_physician`). Supply and admin see every physician identified; a champion sees their own
service line only, with physicians blinded through `core.access.present_peers` (nothing under
`min_peers`). The programme's start and target are settings (program_start_date, savings_target_usd).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from core import access, db
from core.output import format as fmt
from core.periods import Period

# Raised for a viewer with no service-line view (core.access decides).
ScopeRefused = access.ScopeRefused


def _variables(period: Period, excluded: list[str] | None) -> dict[str, Any]:
    return {"start_date": period.start, "end_date": period.end, "excluded_case_ids": list(excluded or [])}


def programme() -> dict[str, Any]:
    """The programme's start, baseline window and target as set in the extract's settings (nulls when not set)."""
    frame = db.fetch(
        "mart_savings_summary",
        columns=["program_start_date", "savings_target_usd", "baseline_start_date", "baseline_end_date"],
    )
    return frame.iloc[0].to_dict() if len(frame) else {}


def programme_period(ctx: Any) -> Period | None:
    """The programme to date (from program_start_date to the latest surgery), the savings page's default."""
    start = programme().get("program_start_date")
    if start is None or pd.isna(start):
        return None
    start = pd.Timestamp(start).date()
    end = ctx.data_end
    if start > end:
        return None
    return Period(start, end, f"{start}..{end}", f"Programme to date ({start:%d %b %Y} – {end:%d %b %Y})")


def summary(period: Period, excluded: list[str] | None = None) -> dict[str, Any]:
    """Achieved to date, the target and its share, the run rate and the remaining opportunity (one row)."""
    frame = db.fetch("mart_savings_summary", variables=_variables(period, excluded))
    return frame.iloc[0].to_dict() if len(frame) else {}


def scope_for(viewer: access.Viewer, service_line: str | None) -> str | None:
    """The service line the viewer's view covers (None: the whole hospital), as core.access decides."""
    return access.service_line_scope(viewer, service_line)


def by_category(period: Period, excluded: list[str] | None = None) -> pd.DataFrame:
    """Savings categories, largest saving first: achieved, baseline at current volume, remaining opportunity."""
    return db.fetch(
        "mart_savings_category",
        variables=_variables(period, excluded),
        order_by=["achieved_saving_usd desc", "savings_kind", "savings_category"],
    )


def by_service_line(
    viewer: access.Viewer, period: Period, excluded: list[str] | None = None, service_line: str | None = None
) -> pd.DataFrame:
    """Savings by service line; a champion gets only their own line."""
    scope = scope_for(viewer, service_line)
    where = {"service_line": scope} if scope else None
    return db.fetch(
        "mart_savings_service_line",
        where=where,
        variables=_variables(period, excluded),
        order_by=["achieved_saving_usd desc", "service_line"],
    )


def by_physician(
    viewer: access.Viewer,
    period: Period,
    secret: bytes,
    excluded: list[str] | None = None,
    service_line: str | None = None,
) -> pd.DataFrame:
    """Savings per physician, largest first: identified for supply and admin; for a champion their own
    service line, blinded, and nothing at all when it has fewer than min_peers physicians."""
    scope = scope_for(viewer, service_line)
    frame = db.fetch(
        "mart_savings_physician_total",
        where={"service_line": scope} if scope else None,
        variables=_variables(period, excluded),
        order_by=["achieved_saving_usd desc", "physician_id"],
    )
    names = db.fetch("mart_physician", columns=["physician_id", "physician_name"])
    frame = frame.merge(names, on="physician_id", how="left")
    min_peers = int(db.scalar_row("mart_settings").get("min_peers_count", 5))
    out = access.present_peers(
        frame, viewer, view_key=f"savings|{scope}|{period.token}", secret=secret, min_peers=min_peers
    )
    if not viewer.identified:
        # Spend and baseline in dollars scale with a peer's volume; the saving and opportunity are kept.
        out = out.drop(columns=[c for c in ("baseline_spend_at_current_volume_usd", "spend_usd") if c in out])
    return out


def category_physicians(
    viewer: access.Viewer, kind: str, category: str, period: Period, secret: bytes, excluded: list[str] | None = None
) -> pd.DataFrame:
    """Per physician and procedure, the saving achieved in one category (identified staff drill-down)."""
    if not viewer.identified:
        raise ScopeRefused("the per-category physician drill-down is identified: supply and admin only")
    frame = db.fetch(
        "mart_savings_physician",
        where={"savings_kind": kind, "savings_category": category},
        columns=[
            "physician_id",
            "procedure_code",
            "case_count",
            "baseline_spend_per_case_usd",
            "spend_per_case_usd",
            "achieved_saving_usd",
            "remaining_opportunity_usd",
        ],
        variables=_variables(period, excluded),
        order_by=["achieved_saving_usd desc", "physician_id"],
    )
    names = db.fetch("mart_physician", columns=["physician_id", "physician_name"])
    return access.present_peers(
        frame.merge(names, on="physician_id", how="left"),
        viewer,
        view_key=f"savings|{kind}|{category}|{period.token}",
        secret=secret,
        min_peers=1,
    )


def headline(s: dict[str, Any]) -> str:
    """The CFO's sentence: achieved against the target, the run rate, and what is left to find."""
    if not s or s.get("program_start_date") is None or pd.isna(s.get("program_start_date")):
        return (
            "No programme start date is set, so there is no baseline to measure savings against. Add "
            "program_start_date (and savings_target_usd) to the extract's settings."
        )
    start = pd.Timestamp(s["current_start_date"]).date()
    end = pd.Timestamp(s["current_end_date"]).date()
    moved = "fell enough to save {} against" if s["achieved_saving_usd"] >= 0 else "rose, costing {} more than"
    text = (
        f"From {start:%d %b %Y} to {end:%d %b %Y}, spend per case on preferred-item categories and "
        f"formulary drug classes {moved.format(fmt.amount(s['achieved_saving_usd']))} the baseline "
        f"({_d(s['baseline_start_date']):%d %b %Y} – {_d(s['baseline_end_date']):%d %b %Y}) at today's volume"
    )
    target = s.get("savings_target_usd")
    if target is not None and not pd.isna(target):
        text += (
            f": {s['achieved_pct_of_target']:.0f}% of this year's {fmt.amount(target)} target "
            f"(run rate {fmt.money(s['annualised_saving_usd'])} a year)"
        )
    text += (
        f". {int(s['saving_category_count'])} of {int(s['category_count'])} categories saved. Switching the "
        f"remaining non-preferred use would save a further {fmt.amount(s['remaining_opportunity_usd'])}."
    )
    return text


def _d(value: Any) -> date:
    return pd.Timestamp(value).date()
