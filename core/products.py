"""Preferred products and their evidence: the library, where a physician stands, and the supply view.

Figures come from the mart views through `core.db` (no Streamlit here): the evidence summaries
(`mart_evidence`), items and prices paid (`mart_item`), each physician's preferred use per category
with the peers' typical share (`mart_category_physician`), categories ranked for supply staff
(`mart_category_summary`), who uses which item (`mart_category_use`) and the trend by quarter
(`mart_category_quarter`). Rows about several physicians go through `core.access.present_peers`.

Evidence text arrives from a hospital's extract, so it is never trusted as HTML: `safe_markdown`
keeps Markdown formatting but escapes every `<` and `&` (so no tag or entity can become markup),
turns images into links and defuses link targets that are not http(s) or mailto; `plain` escapes a
field so that it shows literally. Sentences here are Markdown with data fields escaped that way.
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

import pandas as pd

from core import access, db, state
from core import text as _text
from core.output import format as fmt
from core.periods import Period

GRADES = ("high", "moderate", "low", "very low")
# GRADE's certainty symbols, so a grade reads the same on every page, slide and export.
GRADE_SYMBOLS = {"high": "⊕⊕⊕⊕", "moderate": "⊕⊕⊕◯", "low": "⊕⊕◯◯", "very low": "⊕◯◯◯"}
GRADE_MEANINGS = {
    "high": "We are very confident that the true effect lies close to the estimate; further research is "
    "very unlikely to change it.",
    "moderate": "We are moderately confident: the true effect is likely close to the estimate, but it may "
    "be substantially different.",
    "low": "Our confidence is limited: the true effect may be substantially different from the estimate.",
    "very low": "We have very little confidence: the true effect is likely to be substantially different "
    "from the estimate (often expert opinion or small, uncontrolled studies).",
}
RANKINGS = {"non_preferred_spend_usd": "Non-preferred spend", "switch_saving_usd": "Switch saving"}
NO_PREFERRED = "No preferred item"

_MD_PUNCT = set("\\`*_{}[]()#+-.!|~$:^=")
_SAFE_SCHEMES = ("http", "https", "mailto")
_INLINE_TARGET = re.compile(r"(\]\(\s*)([a-zA-Z][a-zA-Z0-9+.\-]*):")
_REFERENCE_TARGET = re.compile(r"^(\s{0,3}\[[^\]\n]+\]:\s*)([a-zA-Z][a-zA-Z0-9+.\-]*):", re.M)
_URL = re.compile(r"https?://[^\s<>\"'\]\[)(;]+")


# --- text made safe to show ------------------------------------------------------------------


def is_missing(value: Any) -> bool:
    """None, NA, NaT or NaN."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return isinstance(value, float) and math.isnan(value)
    except TypeError:
        return False


def plain(text: Any) -> str:
    """A data field as Markdown that shows exactly its characters: no markup, no HTML, one line."""
    return _text.plain(text, limit=None)  # the one mechanism (core.text), shown whole


def _defuse_scheme(match: re.Match) -> str:
    # A link whose target is javascript:, data:, vbscript:… keeps its text but points nowhere.
    return match.group(0) if match.group(2).lower() in _SAFE_SCHEMES else match.group(1) + "#"


def safe_markdown(text: Any) -> str:
    """Markdown from the data made inert: formatting kept, raw HTML and entities shown as text,
    images turned into links, and only http(s)/mailto link targets left live."""
    if is_missing(text):
        return ""
    s = str(text).replace("\r\n", "\n").replace("&", "&amp;").replace("<", "&lt;")
    s = s.replace("![", "\\![")
    s = _INLINE_TARGET.sub(_defuse_scheme, s)
    return _REFERENCE_TARGET.sub(_defuse_scheme, s)


def source_links(sources: Any) -> list[tuple[str, str | None]]:
    """Sources (separated by semicolons) as (citation text, its http(s) link or None)."""
    if is_missing(sources):
        return []
    out = []
    for piece in str(sources).split(";"):
        piece = piece.strip()
        if not piece:
            continue
        match = _URL.search(piece)
        url = match.group(0).rstrip(".,") if match else None
        label = (piece.replace(match.group(0), "") if match else piece).strip(" .,")
        out.append((label or (url or ""), url))
    return out


def sources_markdown(sources: Any) -> str:
    """Sources as a Markdown list of citations, each with its link (escaped and percent-encoded)."""
    lines = []
    for label, url in source_links(sources):
        if url:
            target = url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")
            shown = re.sub(r"^https?://(www\.)?", "", url).rstrip("/")
            lines.append(f"- {plain(label)} — [{plain(shown)}]({target})")
        else:
            lines.append(f"- {plain(label)}")
    return "\n".join(lines)


def grade_label(grade: Any) -> str:
    """'⊕⊕⊕◯ Moderate': the evidence grade, shown the same way everywhere."""
    g = "" if is_missing(grade) else str(grade).strip().lower()
    if g not in GRADE_SYMBOLS:
        return "Not graded"
    return f"{GRADE_SYMBOLS[g]} {g.capitalize()}"


def grade_meaning(grade: Any) -> str:
    """What the grade means, in one sentence."""
    g = "" if is_missing(grade) else str(grade).strip().lower()
    return GRADE_MEANINGS.get(g, "The summary carries no recognised grade.")


def is_overdue(next_review: Any, today: date | None = None) -> bool:
    """Whether the next review date has passed."""
    if is_missing(next_review):
        return False
    return pd.Timestamp(next_review).date() < (today or date.today())


# --- the evidence library --------------------------------------------------------------------


def evidence_filters() -> dict[str, list[str]]:
    """The categories, service lines and grades the library can be filtered by."""
    frame = db.fetch("mart_evidence", columns=["category", "evidence_grade", "service_lines"])
    lines = sorted({sl for xs in frame["service_lines"] for sl in list(xs)})
    present = set(frame["evidence_grade"].dropna())
    return {
        "categories": sorted(frame["category"].dropna().unique().tolist()),
        "service_lines": lines,
        "grades": [g for g in GRADES if g in present],
    }


def evidence_library(
    category: str | None = None,
    service_line: str | None = None,
    grade: str | None = None,
    query: str | None = None,
    today: date | None = None,
) -> pd.DataFrame:
    """Evidence summaries matching the filters, with `grade_label` and `overdue_flag`, by category."""
    where: dict[str, Any] = {}
    if category:
        where["category"] = category
    if grade:
        where["evidence_grade"] = grade.strip().lower()
    frame = db.fetch("mart_evidence", where=where, order_by=["category", "evidence_id"])
    if service_line:
        frame = frame[frame["service_lines"].map(lambda xs: service_line in list(xs))]
    if query and query.strip() and len(frame):  # an empty frame's row-wise join is a frame, not text
        needle = query.strip().lower()
        text = (
            frame[
                ["category", "title", "summary_md", "outcomes", "preferred_item_description", "preferred_manufacturer"]
            ]
            .fillna("")
            .astype(str)
            .agg(" ".join, axis=1)
            .str.lower()
        )
        frame = frame[text.str.contains(needle, regex=False)]
    frame = frame.reset_index(drop=True)
    frame["grade_label"] = frame["evidence_grade"].map(grade_label)
    frame["overdue_flag"] = frame["next_review_date"].map(lambda d: is_overdue(d, today))
    return frame


ITEM_COLUMNS = [
    "category",
    "item_id",
    "item_description",
    "manufacturer",
    "preferred_flag",
    "item_unit_cost_usd",
    "units_count",
    "min_paid_unit_cost_usd",
    "median_paid_unit_cost_usd",
    "max_paid_unit_cost_usd",
]


def library_items(viewer: access.Viewer, categories: list[str]) -> pd.DataFrame:
    """The preferred items and the alternatives in use in these categories, with prices paid.

    Units are hospital-wide totals; they go only to viewers who may see identified figures,
    because an item used by one surgeon would show that surgeon's volume.
    """
    if not categories:
        return pd.DataFrame(columns=ITEM_COLUMNS)
    frame = db.fetch("mart_item", columns=ITEM_COLUMNS, where={"category": list(categories)})
    frame = frame[frame["preferred_flag"] | (frame["units_count"] > 0)]
    frame = frame.sort_values(
        ["category", "preferred_flag", "units_count", "item_unit_cost_usd"], ascending=[True, False, False, True]
    )
    if not viewer.identified:
        frame = frame.drop(columns=["units_count"])
    return frame.reset_index(drop=True)


# --- where a physician stands ----------------------------------------------------------------


def _variables(period: Period, excluded: list[str] | None) -> dict[str, Any]:
    return {"start_date": period.start, "end_date": period.end, "excluded_case_ids": list(excluded or [])}


def preferred_items() -> pd.DataFrame:
    """Per category, the cheapest preferred item (the benchmark a switch saving is priced against)."""
    frame = db.fetch(
        "mart_item",
        columns=["category", "item_description", "manufacturer", "item_unit_cost_usd"],
        where={"preferred_flag": True},
        order_by=["category", "item_unit_cost_usd", "item_id"],
    )
    frame = frame.drop_duplicates("category")
    return frame.rename(
        columns={
            "item_description": "preferred_item",
            "manufacturer": "preferred_manufacturer",
            "item_unit_cost_usd": "preferred_unit_cost_usd",
        }
    )


def evidence_index() -> pd.DataFrame:
    """Per category, its first evidence summary's id and grade (for links)."""
    frame = db.fetch(
        "mart_evidence",
        columns=["category", "evidence_id", "evidence_grade", "next_review_date"],
        order_by=["category", "evidence_id"],
    )
    return frame.drop_duplicates("category")


def my_categories(physician_id: str, period: Period, excluded: list[str] | None = None) -> pd.DataFrame:
    """The physician's supply categories in the period: preferred use (units, spend), switch saving,
    waste, the peers' typical share (a median, null under min_peers) and the category's evidence."""
    frame = db.fetch(
        "mart_category_physician", where={"physician_id": physician_id}, variables=_variables(period, excluded)
    )
    frame = frame.merge(preferred_items(), on="category", how="left")
    frame = frame.merge(evidence_index(), on="category", how="left")
    frame["has_evidence_flag"] = frame["evidence_id"].notna()
    return frame.sort_values(
        ["has_preferred_flag", "switch_saving_usd", "spend_usd"], ascending=[False, False, False]
    ).reset_index(drop=True)


def my_totals(physician_id: str, period: Period, excluded: list[str] | None = None) -> dict[str, Any]:
    """The physician's overall preferred use (units and spend), switch saving and waste in the period."""
    frame = db.fetch(
        "mart_physician_products", where={"physician_id": physician_id}, variables=_variables(period, excluded)
    )
    if frame.empty:
        return {
            "units_count": 0.0,
            "preferred_units_count": 0.0,
            "spend_usd": 0.0,
            "preferred_spend_usd": 0.0,
            "preferred_use_pct": None,
            "preferred_spend_pct": None,
            "switch_saving_usd": 0.0,
            "waste_usd": 0.0,
            "case_count": 0,
        }
    row = frame.iloc[0]
    plain = lambda v: None if pd.isna(v) else float(v)  # noqa: E731
    return {
        "units_count": float(row["units_count"]),
        "preferred_units_count": float(row["preferred_units_count"]),
        "spend_usd": float(row["spend_usd"]),
        "preferred_spend_usd": float(row["preferred_spend_usd"]),
        "preferred_use_pct": plain(row["preferred_use_pct"]),
        "preferred_spend_pct": plain(row["preferred_spend_pct"]),
        "switch_saving_usd": float(row["switch_saving_usd"]),
        "waste_usd": float(row["waste_usd"]),
        "case_count": int(row["case_count"]),
    }


def _peer_phrase(row: dict[str, Any]) -> str:
    peer = row.get("peer_median_preferred_use_pct")
    if not row.get("peers_shown_flag") or is_missing(peer):
        return "too few peers use this category to compare"
    return f"peers typically {peer:.0f}%"


def opportunities(categories: pd.DataFrame, n: int = 3) -> list[dict[str, Any]]:
    """The n largest savings in plain words (Markdown), largest first: switching to the preferred item
    in a category, or opening only what is used."""
    found = []
    for row in categories.to_dict("records"):
        name = plain(row["category"])
        saving = row.get("switch_saving_usd") or 0.0
        if row.get("has_preferred_flag") and saving >= 1:
            item = plain(row.get("preferred_item")) or "preferred item"
            text = (
                f"**{name}**: switching to the preferred {item} would have saved **{fmt.amount(saving)}** in this "
                f"period. {fmt.units(row['preferred_units_count'])} of your {fmt.units(row['units_count'])} units "
                f"{'was' if row['preferred_units_count'] == 1 else 'were'} preferred "
                f"({row['preferred_use_pct']:.0f}%; {_peer_phrase(row)})."
            )
            found.append({"category": row["category"], "kind": "switch", "value_usd": float(saving), "text": text})
        waste = row.get("waste_usd") or 0.0
        if waste >= 1:
            text = (
                f"**{name}**: {fmt.amount(waste)} of items were opened but not used in this period; opening only "
                "what is needed would save it."
            )
            found.append({"category": row["category"], "kind": "waste", "value_usd": float(waste), "text": text})
    found.sort(key=lambda o: (-o["value_usd"], o["category"], o["kind"]))
    return found[:n]


def totals_sentence(t: dict[str, Any]) -> str:
    """The physician's overall preferred use, switch saving and waste in one or two sentences."""
    if t["preferred_use_pct"] is None:
        text = "None of your supplies in this period are in categories with a preferred product."
    else:
        text = (
            f"{t['preferred_use_pct']:.0f}% of your units in categories with a preferred product were the "
            f"preferred one ({t['preferred_spend_pct']:.0f}% by spend)."
        )
        if t["switch_saving_usd"] >= 1:
            text += f" Switching the rest would have saved {fmt.amount(t['switch_saving_usd'])} in this period."
    if t["case_count"]:
        text += f" Waste: {fmt.amount(t['waste_usd'])} of opened but unused items over {t['case_count']} cases."
    return text


# --- the supply view (identified) ------------------------------------------------------------


def supply_ranking(
    period: Period, excluded: list[str] | None = None, by: str = "non_preferred_spend_usd"
) -> pd.DataFrame:
    """Supply categories in the period ranked by non-preferred spend or by switch saving."""
    if by not in RANKINGS:
        raise ValueError(f"rank by one of {', '.join(RANKINGS)}")
    other = "switch_saving_usd" if by == "non_preferred_spend_usd" else "non_preferred_spend_usd"
    frame = db.fetch(
        "mart_category_summary",
        variables=_variables(period, excluded),
        order_by=[f"{by} desc", f"{other} desc", "category"],
    )
    frame.insert(0, "rank", range(1, len(frame) + 1))
    return frame


def supply_totals(period: Period, excluded: list[str] | None = None) -> dict[str, Any]:
    """Totals over every category in the period: non-preferred spend, switch saving, waste, and the
    categories without a preferred item."""
    row = db.fetch("mart_supply_total", variables=_variables(period, excluded)).iloc[0]
    return {
        "non_preferred_spend_usd": float(row["non_preferred_spend_usd"] or 0),
        "switch_saving_usd": float(row["switch_saving_usd"] or 0),
        "waste_usd": float(row["waste_usd"] or 0),
        "no_preferred_count": int(row["no_preferred_count"] or 0),
    }


def category_items_in_use(category: str, period: Period, excluded: list[str] | None = None) -> pd.DataFrame:
    """Items of one category used in the period: units, spend and its share, price paid, physicians."""
    return db.fetch(
        "mart_category_item",
        where={"category": category},
        variables=_variables(period, excluded),
        columns=[
            "item_id",
            "item_description",
            "manufacturer",
            "preferred_flag",
            "item_unit_cost_usd",
            "units_count",
            "spend_usd",
            "min_paid_unit_cost_usd",
            "max_paid_unit_cost_usd",
            "physician_count",
            "case_count",
            "spend_share_pct",
        ],
        order_by=["preferred_flag desc", "spend_usd desc", "item_id"],
    )


def category_physicians(
    viewer: access.Viewer, category: str, period: Period, secret: bytes, excluded: list[str] | None = None
) -> pd.DataFrame:
    """Each physician's preferred use in one category and the items they used, presented for the viewer
    (identified for supply and admin; blinded, and nothing under min_peers, for anyone else)."""
    variables = _variables(period, excluded)
    frame = db.fetch(
        "mart_category_physician",
        where={"category": category},
        variables=variables,
        columns=[
            "physician_id",
            "has_preferred_flag",
            "case_count",
            "units_count",
            "preferred_units_count",
            "spend_usd",
            "preferred_use_pct",
            "preferred_spend_pct",
            "switch_saving_usd",
            "waste_usd",
        ],
    )
    mix = db.fetch(
        "mart_category_physician_mix",
        where={"category": category},
        variables=variables,
        columns=["physician_id", "items_used"],
    )
    frame = frame.merge(mix, on="physician_id", how="left").fillna({"items_used": ""})
    names = db.fetch("mart_physician", columns=["physician_id", "physician_name", "service_line"])
    frame = frame.merge(names, on="physician_id", how="left")
    min_peers = int(db.scalar_row("mart_settings").get("min_peers_count", 5))
    out = access.present_peers(
        frame,
        viewer,
        view_key=f"category|{category}|{period.token}",
        secret=secret,
        min_peers=min_peers,
        you_id=viewer.physician_id,
    )
    return out.sort_values(["switch_saving_usd", "spend_usd"], ascending=[False, False]).reset_index(drop=True)


def category_trend(category: str, excluded: list[str] | None = None) -> pd.DataFrame:
    """One category by quarter over all the data: spend, preferred use, switch saving, manufacturers."""
    return db.fetch(
        "mart_category_quarter",
        where={"category": category},
        variables={"excluded_case_ids": list(excluded or [])},
        order_by=["surgery_quarter"],
    )


# --- feedback on evidence --------------------------------------------------------------------


def own_feedback(viewer: access.Viewer) -> pd.DataFrame:
    """What this viewer has sent, newest first."""
    return state.feedback(email=viewer.email)


def feedback_for(viewer: access.Viewer) -> pd.DataFrame:
    """Feedback this viewer may see: everyone's for supply and admin, their own for anyone else."""
    if access.can(viewer, "manage_feedback"):
        return state.feedback()
    return state.feedback(email=viewer.email)
