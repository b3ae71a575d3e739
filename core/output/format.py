"""The one way Scorecard writes a number for a person: money, percentages, quarters, missing values.

Pages, slides, sentences and exports all call these, so $1,234 reads the same everywhere and a missing
figure is always an en dash, never "nan".
"""

from __future__ import annotations

import math
from typing import Any

MISSING = "–"


def missing(value: Any) -> bool:
    """True for None, NA, NaN and anything that is not a number."""
    try:
        return value is None or math.isnan(float(value))
    except (TypeError, ValueError):
        return True


def money(value: Any, signed: bool = False) -> str:
    """$1,234 (−$1,234 below zero; +$1,234 / −$1,234 when `signed`); an en dash when missing."""
    if missing(value):
        return MISSING
    v = float(value)
    text = f"${abs(v):,.0f}"
    if signed:
        return ("+" if v > 0 else "−" if v < 0 else "") + text
    return ("−" if v < 0 else "") + text


def amount(value: Any) -> str:
    """$1,234 for a size that has no sign in the sentence around it ("saved $1,234"); en dash when missing."""
    return MISSING if missing(value) else f"${abs(float(value)):,.0f}"


def pct(value: Any, digits: int = 0) -> str:
    """45% (with `digits` decimals); an en dash when missing."""
    return MISSING if missing(value) else f"{float(value):.{digits}f}%"


def signed_pct(value: float) -> str:
    """+12% / −12% / 0%."""
    return ("+" if value > 0 else "−" if value < 0 else "") + f"{abs(value):.0f}%"


def units(value: float) -> str:
    """12 or 12.5: whole units without decimals."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def quarter(value: Any) -> str:
    """'2026Q1' → '2026 Q1'."""
    return str(value).replace("Q", " Q")
