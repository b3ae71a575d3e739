"""Exports for the supply chain's views (pure: no Streamlit, no database): CSV with formulas neutralised,
and the one-slide savings summary a CFO can read.

Cells that start with = + - @ (or a tab or carriage return) are what spreadsheets run as formulas, so
any such text from an extract (an item description, a drug name) is prefixed with an apostrophe; the
figures themselves stay numbers. The slide is written with python-pptx, its figures as native,
editable text, the definitions in the speaker notes.
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.util import Inches, Pt

from core.output import format as fmt

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
INK, GREY, ACCENT, GOOD, BAD = (
    RGBColor(0x1F, 0x1F, 0x1F),
    RGBColor(0x5F, 0x5F, 0x5F),
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0xD5, 0x5E, 0x00),
)
NOTES = (
    "Savings achieved = for each procedure and preferred-item category (or drug class with a formulary "
    "preferred drug), (baseline spend per case - current spend per case) x current cases. The baseline is "
    "the 12 months before program_start_date; the current window runs from the programme's start (or the "
    "period's, if later) to the period's end. Remaining opportunity = the switch saving still available: "
    "non-preferred units priced at the cheapest preferred item (or drug). Run rate = achieved x 365.25 / "
    "days in the current window. See the Definitions page in Scorecard."
)


def _neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_csv(frame: pd.DataFrame) -> bytes:
    """The frame as CSV (UTF-8 with a byte-order mark) with every text cell that a spreadsheet would run as
    a formula prefixed by an apostrophe; lists become "a; b"."""
    out = frame.copy()
    for col in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_bool_dtype(out[col])):
            out[col] = out[col].map(lambda v: "; ".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
            out[col] = out[col].map(_neutralise)
    out.columns = [_neutralise(str(c)) for c in out.columns]
    return out.to_csv(index=False).encode("utf-8-sig")


def _money(value: Any) -> str:
    return fmt.money(value)


def _box(slide, left, top, width, height, runs: list[tuple[str, int, bool, RGBColor]]) -> None:
    frame = slide.shapes.add_textbox(left, top, width, height).text_frame
    frame.word_wrap = True
    for i, (text, size, bold, colour) in enumerate(runs):
        para = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        run = para.add_run()
        run.text = text
        run.font.size, run.font.bold, run.font.color.rgb = Pt(size), bold, colour


def _table(slide, left, top, width, header: list[str], rows: list[list[str]], size: int = 12) -> None:
    shape = slide.shapes.add_table(len(rows) + 1, len(header), left, top, width, Inches(0.3) * (len(rows) + 1))
    table = shape.table
    for c, text in enumerate(header):
        table.cell(0, c).text = text
    for r, row in enumerate(rows, start=1):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    for cell in (table.cell(r, c) for r in range(len(rows) + 1) for c in range(len(header))):
        for para in cell.text_frame.paragraphs:
            for run in para.runs:
                run.font.size = Pt(size)


def cfo_summary_pptx(
    summary: dict[str, Any],
    categories: pd.DataFrame,
    service_lines: pd.DataFrame,
    headline: str,
    data_as_of: str,
    top: int = 6,
) -> bytes:
    """One slide: achieved to date against the year's target, run rate, remaining opportunity, where the
    savings came from (and where they did not), by service line. No physician appears on it."""
    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    props = prs.core_properties
    props.author = props.last_modified_by = "Scorecard"
    props.title = "Savings achieved"
    slide = prs.slides.add_slide(prs.slide_layouts[6])
    _box(slide, Inches(0.5), Inches(0.3), Inches(12.3), Inches(0.7), [("Savings achieved", 32, True, INK)])
    _box(slide, Inches(0.5), Inches(1.0), Inches(12.3), Inches(1.0), [(headline, 15, False, INK)])
    target = summary.get("savings_target_usd")
    pct = summary.get("achieved_pct_of_target")
    figures = [
        (_money(summary.get("achieved_saving_usd")), "achieved to date"),
        (
            _money(target) if target is not None and not pd.isna(target) else "not set",
            "this year's target" + (f" ({float(pct):.0f}% reached)" if pct is not None and not pd.isna(pct) else ""),
        ),
        (_money(summary.get("annualised_saving_usd")), "yearly run rate"),
        (_money(summary.get("remaining_opportunity_usd")), "remaining switch-saving opportunity"),
    ]
    for i, (value, label) in enumerate(figures):
        _box(
            slide,
            Inches(0.5 + 3.1 * i),
            Inches(2.05),
            Inches(3.0),
            Inches(1.1),
            [(value, 28, True, ACCENT), (label, 13, False, GREY)],
        )
    cats = categories.sort_values("achieved_saving_usd", ascending=False)
    best = cats[cats["achieved_saving_usd"] > 0].head(top)
    worst = cats[cats["achieved_saving_usd"] <= 0].sort_values("achieved_saving_usd").head(max(0, top - len(best)) or 3)
    rows = [
        [
            str(r["savings_category"]),
            "drug" if r["savings_kind"] == "drug" else "supply",
            _money(r["achieved_saving_usd"]),
            _money(r["baseline_spend_at_current_volume_usd"]),
            _money(r["remaining_opportunity_usd"]),
        ]
        for r in pd.concat([best, worst]).to_dict("records")
    ]
    _box(
        slide,
        Inches(0.5),
        Inches(3.25),
        Inches(7.6),
        Inches(0.4),
        [("Where savings came from — and where they did not", 14, True, INK)],
    )
    _table(
        slide,
        Inches(0.5),
        Inches(3.65),
        Inches(7.6),
        ["Category", "Kind", "Achieved", "Baseline at current volume", "Still to switch"],
        rows,
        11,
    )
    _box(slide, Inches(8.5), Inches(3.25), Inches(4.3), Inches(0.4), [("By service line", 14, True, INK)])
    line_rows = [
        [str(r["service_line"]), _money(r["achieved_saving_usd"]), _money(r["remaining_opportunity_usd"])]
        for r in service_lines.to_dict("records")
    ]
    _table(
        slide, Inches(8.5), Inches(3.65), Inches(4.3), ["Service line", "Achieved", "Still to switch"], line_rows, 11
    )
    _box(
        slide,
        Inches(0.5),
        Inches(7.0),
        Inches(12.3),
        Inches(0.35),
        [(f"{data_as_of} · figures from Scorecard's savings views; definitions in the notes", 10, False, GREY)],
    )
    slide.notes_slide.notes_text_frame.text = NOTES
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()
