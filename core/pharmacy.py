"""Pharmacy spend per case: a physician's drug spend by class against the peer median, the drugs driving
the difference, the drug switch saving where the formulary marks a preferred drug, and the classes
ranked for supply and pharmacy staff (Definitions, "Pharmacy").

Every figure comes from a mart view through `core.db.fetch`, computed there: per physician and
procedure (`mart_pharmacy_position`), per drug class (`mart_pharmacy_class_position`), per drug
(`mart_pharmacy_drug_position`) and, for staff, per class and per drug over everyone
(`mart_pharmacy_class_summary`, `mart_pharmacy_drug_summary`). A physician sees only their own rows and
the peer median, which the marts give only when at least `min_peers` physicians are eligible; staff
views of other physicians go through `core.access.present_peers`.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from core import access, db
from core.periods import Period

RANKINGS = {
    "spend_usd": "Spend",
    "above_peer_median_usd": "Variation between physicians",
    "drug_switch_saving_usd": "Drug switch saving",
}


def _variables(period: Period, excluded: list[str] | None) -> dict[str, Any]:
    return {"start_date": period.start, "end_date": period.end, "excluded_case_ids": list(excluded or [])}


def _number(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


# --- one physician -------------------------------------------------------------------------------


def position(
    physician_id: str, procedure_code: str, period: Period, excluded: list[str] | None = None
) -> dict[str, Any]:
    """Pharmacy per case, the peer median (null under min_peers) and the drug switch saving (null
    without a formulary) for one physician and procedure; {} when they have no case of it."""
    frame = db.fetch(
        "mart_pharmacy_position",
        where={"physician_id": physician_id, "procedure_code": procedure_code},
        variables=_variables(period, excluded),
    )
    return frame.iloc[0].to_dict() if len(frame) else {}


def by_class(physician_id: str, procedure_code: str, period: Period, excluded: list[str] | None = None) -> pd.DataFrame:
    """The physician's drug spend per case by class against the peer median, largest gap first."""
    frame = db.fetch(
        "mart_pharmacy_class_position",
        where={"physician_id": physician_id, "procedure_code": procedure_code},
        columns=[
            "drug_class",
            "class_has_preferred_flag",
            "case_count",
            "spend_per_case_usd",
            "peers_shown_flag",
            "peer_median_per_case_usd",
            "gap_per_case_usd",
            "gap_value_usd",
            "drug_switch_saving_usd",
        ],
        order_by=["gap_value_usd desc", "spend_per_case_usd desc", "drug_class"],
        variables=_variables(period, excluded),
    )
    return frame


def drivers(
    physician_id: str, procedure_code: str, period: Period, excluded: list[str] | None = None, n: int = 5
) -> pd.DataFrame:
    """The drugs that drive the physician's pharmacy gap: their spend per case above the peer median,
    largest first (only drugs above it, and only when peers are shown)."""
    frame = db.fetch(
        "mart_pharmacy_drug_position",
        where={"physician_id": physician_id, "procedure_code": procedure_code, "peers_shown_flag": True},
        columns=[
            "drug_name",
            "drug_class",
            "preferred_flag",
            "class_has_preferred_flag",
            "units_count",
            "spend_per_case_usd",
            "peer_median_per_case_usd",
            "gap_per_case_usd",
            "gap_value_usd",
            "drug_switch_saving_usd",
        ],
        order_by=["gap_value_usd desc", "drug_name"],
        variables=_variables(period, excluded),
    )
    return frame[frame["gap_value_usd"] > 0].head(n).reset_index(drop=True)


def report_entry(
    physician_id: str, procedure_code: str, period: Period, excluded: list[str] | None = None
) -> dict[str, Any]:
    """The report's pharmacy figures for one procedure (README, "core report"):
    {"pharmacy_by_class_usd": {class: {"own", "peer_median"}}, "drug_switch_saving_usd"}."""
    classes = by_class(physician_id, procedure_code, period, excluded).sort_values("drug_class")
    pos = position(physician_id, procedure_code, period, excluded)
    return {
        "pharmacy_by_class_usd": {
            str(r["drug_class"]): {
                "own": _round(r["spend_per_case_usd"]),
                "peer_median": _round(r["peer_median_per_case_usd"]),
            }
            for r in classes.to_dict("records")
        },
        "drug_switch_saving_usd": _round(pos.get("drug_switch_saving_usd")),
    }


def _round(value: Any) -> float | None:
    f = _number(value)
    return None if f is None else round(f, 2)


def class_sentence(row: dict[str, Any]) -> str:
    """One drug class in words for the physician (plain text: class names come from the extract)."""
    own = _number(row.get("spend_per_case_usd")) or 0.0
    peer = _number(row.get("peer_median_per_case_usd"))
    name = str(row["drug_class"])
    if peer is None:
        return f"{name}: ${own:,.2f} a case; too few eligible peers to compare."
    gap = own - peer
    where = "above" if gap > 0.005 else "below" if gap < -0.005 else "level with"
    text = f"{name}: ${own:,.2f} a case, ${abs(gap):,.2f} {where} the peer median (${peer:,.2f})."
    saving = _number(row.get("drug_switch_saving_usd")) or 0.0
    if saving >= 1:
        text += f" The formulary's preferred drug would have saved ${saving:,.0f}."
    return text


# --- supply and pharmacy staff (identified) -------------------------------------------------------


def class_ranking(period: Period, excluded: list[str] | None = None, by: str = "spend_usd") -> pd.DataFrame:
    """Drug classes in the period ranked by spend, by variation between physicians or by switch saving."""
    if by not in RANKINGS:
        raise ValueError(f"rank by one of {', '.join(RANKINGS)}")
    frame = db.fetch(
        "mart_pharmacy_class_summary",
        variables=_variables(period, excluded),
        order_by=[f"{by} desc", "spend_usd desc", "drug_class"],
    )
    frame.insert(0, "rank", range(1, len(frame) + 1))
    return frame


def class_drugs(drug_class: str, period: Period, excluded: list[str] | None = None) -> pd.DataFrame:
    """The drugs of one class in use: spend, units, price paid per unit, whether preferred, switch saving."""
    return db.fetch(
        "mart_pharmacy_drug_summary",
        where={"drug_class": drug_class},
        order_by=["spend_usd desc", "drug_name"],
        variables=_variables(period, excluded),
    )


def class_physicians(
    viewer: access.Viewer, drug_class: str, period: Period, secret: bytes, excluded: list[str] | None = None
) -> pd.DataFrame:
    """Each physician's spend per case on one class per procedure against the peer median, presented for
    the viewer (identified for supply and admin), largest excess first."""
    frame = db.fetch(
        "mart_pharmacy_class_position",
        where={"drug_class": drug_class},
        columns=[
            "physician_id",
            "procedure_code",
            "case_count",
            "eligible_flag",
            "spend_usd",
            "spend_per_case_usd",
            "peer_median_per_case_usd",
            "gap_per_case_usd",
            "gap_value_usd",
            "drug_switch_saving_usd",
        ],
        order_by=["gap_value_usd desc", "spend_usd desc", "physician_id", "procedure_code"],
        variables=_variables(period, excluded),
    )
    names = db.fetch("mart_physician", columns=["physician_id", "physician_name", "service_line"])
    frame = frame.merge(names, on="physician_id", how="left")
    min_peers = int(db.scalar_row("mart_settings").get("min_peers_count", 5))
    return access.present_peers(
        frame, viewer, view_key=f"pharmacy|{drug_class}|{period.token}", secret=secret, min_peers=min_peers
    )


def physician_drugs(
    physician_id: str, drug_class: str, period: Period, excluded: list[str] | None = None
) -> pd.DataFrame:
    """One physician's drugs of a class per procedure, against the peer median (staff drill-down)."""
    return db.fetch(
        "mart_pharmacy_drug_position",
        where={"physician_id": physician_id, "drug_class": drug_class},
        columns=[
            "procedure_code",
            "drug_name",
            "preferred_flag",
            "units_count",
            "spend_per_case_usd",
            "peer_median_per_case_usd",
            "gap_value_usd",
            "drug_switch_saving_usd",
        ],
        order_by=["procedure_code", "spend_per_case_usd desc", "drug_name"],
        variables=_variables(period, excluded),
    )
