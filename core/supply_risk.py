"""Supply risk: which items in use are critical, single-source or on backorder, how exposed the hospital
is to each, and the approved alternatives (Definitions, "Supply risk").

Every figure comes from a mart view through `core.db.fetch` (no grouping here): the ranked risk items
(`mart_supply_risk_item`, hospital-wide or per service line), their alternatives with who already uses
them and the evidence behind them (`mart_supply_risk_alternative`), the physicians who use an item
(`mart_category_use`), the categories whose preferred item is itself a risk
(`mart_category_preferred_risk`) and a physician's own backordered items (`mart_physician_backorder`).

Supply and admin staff see everything identified. A champion sees their own service line only, and
blinded: volumes that could narrow a peer's volume (cases, units, spend of an item) are replaced by
bands, physician names are never sent, and lists of physicians go through `core.access.present_peers`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from core import access, db
from core.periods import Period

REASONS = {"backorder_flag": "on backorder", "single_source_flag": "single-source", "critical_flag": "critical"}
# Exact volumes a blinded viewer does not get for an item (they can narrow a peer's volume).
_VOLUMES = (
    "units_count",
    "spend_usd",
    "recent_units_count",
    "projected_units_next_quarter_count",
    "projected_spend_next_quarter_usd",
)


# Raised for a viewer with no service-line view (core.access decides).
ScopeRefused = access.ScopeRefused


def _variables(period: Period, excluded: list[str] | None) -> dict[str, Any]:
    return {"start_date": period.start, "end_date": period.end, "excluded_case_ids": list(excluded or [])}


def scope_for(viewer: access.Viewer, service_line: str | None) -> str | None:
    """The service line the viewer's view covers (None: the whole hospital), as core.access decides."""
    return access.service_line_scope(viewer, service_line)


def reasons(row: dict[str, Any]) -> str:
    """'on backorder · single-source · critical': why an item is a risk, most urgent first."""
    return " · ".join(text for flag, text in REASONS.items() if bool(row.get(flag)))


def _blind_volumes(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.drop(columns=[c for c in _VOLUMES if c in frame])
    if "case_count" in out:
        out["cases_band"] = out["case_count"].astype(int).map(access.band_volume)
        out = out.drop(columns=["case_count"])
    return out


def risk_ranking(
    viewer: access.Viewer, period: Period, excluded: list[str] | None = None, service_line: str | None = None
) -> pd.DataFrame:
    """Supply-risk items in use in the period, most exposed first, with `reasons` in words."""
    scope = scope_for(viewer, service_line)
    frame = db.fetch(
        "mart_supply_risk_item",
        where={"service_line": scope},
        order_by=["exposure_rank"],
        variables=_variables(period, excluded),
    )
    frame["reasons"] = [reasons(r) for r in frame.to_dict("records")]
    return frame if viewer.identified else _blind_volumes(frame)


def risk_totals(ranking: pd.DataFrame) -> dict[str, int]:
    """How many risk items of each kind the ranking holds (counts of rows, not volumes)."""
    return {"items": len(ranking), **{flag: int(ranking[flag].astype(bool).sum()) for flag in REASONS}}


def alternatives(
    viewer: access.Viewer, item_id: str, period: Period, excluded: list[str] | None = None
) -> pd.DataFrame:
    """The approved alternatives to one risk item: preferred first, then cheapest; who already uses them
    (names for identified viewers, a count otherwise) and their evidence."""
    # The item's category as well: it is what lets the view read one category's usage, not every item's.
    master = db.fetch("mart_item", columns=["category"], where={"item_id": item_id})
    category = str(master["category"].iloc[0]) if not master.empty and pd.notna(master["category"].iloc[0]) else ""
    frame = db.fetch(
        "mart_supply_risk_alternative",
        where={"item_id": item_id, "category": category},
        order_by=["alternative_preferred_flag desc", "alternative_unit_cost_usd", "alternative_item_id"],
        variables=_variables(period, excluded),
    )
    if viewer.identified:
        frame["used_by"] = [", ".join(list(names)) for names in frame["physician_names"]]
        return frame.drop(columns=["physician_names"])
    return frame.drop(columns=["physician_names", "case_count", "units_count"])


def item_users(
    viewer: access.Viewer,
    item_id: str,
    period: Period,
    secret: bytes,
    excluded: list[str] | None = None,
    service_line: str | None = None,
) -> pd.DataFrame:
    """The physicians who used one item in the period (identified, or blinded with nothing under min_peers)."""
    scope = scope_for(viewer, service_line)
    frame = db.fetch(
        "mart_category_use",
        where={"item_id": item_id},
        variables=_variables(period, excluded),
        columns=["physician_id", "case_count", "units_count", "spend_usd"],
        order_by=["case_count desc", "physician_id"],
    )
    names = db.fetch("mart_physician", columns=["physician_id", "physician_name", "service_line"])
    frame = frame.merge(names, on="physician_id", how="left")
    if scope is not None:
        frame = frame[frame["service_line"] == scope]
    min_peers = int(db.scalar_row("mart_settings").get("min_peers_count", 5))
    out = access.present_peers(
        frame, viewer, view_key=f"risk-item|{item_id}|{period.token}", secret=secret, min_peers=min_peers
    )
    if not viewer.identified:
        out = out.drop(columns=[c for c in ("units_count", "spend_usd") if c in out])
    return out.reset_index(drop=True)


def opportunity_risks() -> pd.DataFrame:
    """Per category with a preferred item: whether that preferred item is single-source or on backorder."""
    return db.fetch("mart_category_preferred_risk", order_by=["category"])


def opportunity_warning(row: dict[str, Any]) -> str | None:
    """The tension beside a standardization saving, in words (None when the preferred item is not a risk)."""
    if not row or not bool(row.get("preferred_at_risk_flag")):
        return None
    parts = []
    for key, label in (
        ("backorder_preferred_items", "on backorder"),
        ("single_source_preferred_items", "single-source"),
    ):
        items = [] if row.get(key) is None else list(row[key])
        if items:
            parts.append(f"{label}: " + ", ".join(map(str, items)))
    return "The preferred item is a supply risk (" + "; ".join(parts) + ")."


def backorder_notices(physician_id: str, period: Period, excluded: list[str] | None = None) -> pd.DataFrame:
    """The physician's own items on backorder in the period, with the preferred alternative and its evidence."""
    return db.fetch(
        "mart_physician_backorder",
        where={"physician_id": physician_id},
        order_by=["case_count desc", "item_id"],
        variables=_variables(period, excluded),
    )


def service_lines() -> list[str]:
    """Service lines a supply or admin viewer can narrow the risk view to."""
    frame = db.fetch("mart_procedure", columns=["service_line"], order_by=["service_line"])
    return list(dict.fromkeys(frame["service_line"].dropna()))
