"""Exports: a chart as PNG or SVG, the figures behind it as CSV, a deck as PowerPoint (pure: no Streamlit).

Everything exported is made from what the screen shows — the same blinded frames and the same Altair
charts — so an export is blinded exactly as the view it came from and carries nothing the view did
not (no ids, no names of blinded peers, no exact volumes). Charts are rendered statically by
vl-convert (the Vega-Lite compiler and renderer in one wheel, no browser needed); decks are written
with python-pptx, with the key figures as native, editable text and the definitions and the
data-as-of date in the speaker notes.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pandas as pd
import vl_convert
from PIL import Image
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.util import Emu, Inches, Pt

from core.output.deck import Deck, Figure, Slide

# 16:9 at PowerPoint's default widescreen size.
SLIDE_W, SLIDE_H = Inches(13.333), Inches(7.5)
# A deck's chart is drawn this many pixels wide: about 0.9 pt a pixel on the slide, so 18-px labels
# read as 16-pt text — large enough for the back of a meeting room.
DECK_CHART_PX = (640, 330)
DECK_MIN_FONT_PX = 17
INK, GREY, ACCENT = RGBColor(0x1F, 0x1F, 0x1F), RGBColor(0x5F, 0x5F, 0x5F), RGBColor(0x00, 0x72, 0xB2)
_FONT_KEYS = ("fontSize", "labelFontSize", "titleFontSize", "subtitleFontSize")


# --- charts -------------------------------------------------------------------------------------


def _drop_inner_sizes(spec: dict) -> None:
    # A layer's members may carry their own (container) sizes; off-screen only the top one counts.
    for member in spec.get("layer", []):
        if isinstance(member, dict):
            member.pop("width", None)
            member.pop("height", None)
            _drop_inner_sizes(member)


def _raise_fonts(node: Any, minimum: float) -> None:
    # Charts drawn for a laptop screen set 11–13 px type in their encodings; a slide needs more.
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _FONT_KEYS and isinstance(value, (int, float)) and value < minimum:
                node[key] = minimum
            else:
                _raise_fonts(value, minimum)
    elif isinstance(node, list):
        for value in node:
            _raise_fonts(value, minimum)


def static_spec(
    chart: Any, *, width: int = 900, height: int = 460, title: str | None = None, min_font: float = 0
) -> dict:
    """The chart's Vega-Lite spec with a fixed size (no container to stretch to), a title, larger type."""
    spec = chart.to_dict()
    _drop_inner_sizes(spec)
    spec["width"], spec["height"] = width, height
    if title and not spec.get("title"):
        spec["title"] = title
    if min_font:
        config = spec.setdefault("config", {})
        for part, keys in (
            ("axis", ("labelFontSize", "titleFontSize")),
            ("legend", ("labelFontSize", "titleFontSize")),
            ("title", ("fontSize",)),
            ("text", ("fontSize",)),
        ):
            section = config.setdefault(part, {})
            for key in keys:
                section.setdefault(key, min_font + (4 if part == "title" else 0))
        _raise_fonts(spec, min_font)
    spec.setdefault("background", "white")
    return spec


def chart_png(
    chart: Any, *, width: int = 900, height: int = 460, title: str | None = None, scale: float = 2, min_font: float = 0
) -> bytes:
    """The chart as a PNG (at `scale` × its pixel size, sharp on a projector)."""
    spec = static_spec(chart, width=width, height=height, title=title, min_font=min_font)
    return bytes(vl_convert.vegalite_to_png(json.dumps(spec), scale=scale))


def chart_svg(chart: Any, *, width: int = 900, height: int = 460, title: str | None = None) -> str:
    """The chart as SVG text (vector: scales to any size)."""
    return vl_convert.vegalite_to_svg(json.dumps(static_spec(chart, width=width, height=height, title=title)))


# A spreadsheet reads a cell starting with one of these as a formula (`=HYPERLINK(…)`, `@SUM(…)`,
# `+cmd|…`), or, after a tab or carriage return, may still do so: OWASP's CSV injection guidance.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula, prefixed with a single quote; else as is.

    Numbers stay numbers (a negative gap is data, not a formula); only text is touched, because text
    is what a reviewer's reply or an extract's item name arrives as.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The one CSV writer of every download: formulas neutralised in every text cell and header,
    UTF-8 with a byte-order mark (so spreadsheets read "–" and "×"), CRLF line ends, no index."""
    out = frame.copy()
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise_cell)
    # CRLF line ends (RFC 4180): the csv module then also quotes a cell holding a lone carriage return,
    # which with "\n" ends it would write bare, splitting the row in a spreadsheet.
    return out.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def figures_csv(frame: pd.DataFrame) -> bytes:
    """The figures behind a chart as CSV (`csv_bytes`)."""
    return csv_bytes(frame)


def file_name(deck: Deck, slide: Slide | None, ext: str) -> str:
    """scorecard-TKA-last12.pptx, scorecard-TKA-last12-cost.png …"""
    return f"{deck.file_stem}{'-' + slide.key if slide else ''}.{ext}"


# --- the deck -----------------------------------------------------------------------------------


def _text(
    slide,
    left,
    top,
    width,
    height,
    runs: list[tuple[str, int, bool, RGBColor]],
    align=PP_ALIGN.LEFT,
    anchor=MSO_ANCHOR.TOP,
) -> None:
    """A text box with one paragraph per (text, size pt, bold, colour)."""
    box = slide.shapes.add_textbox(left, top, width, height)
    frame = box.text_frame
    frame.word_wrap = True
    frame.vertical_anchor = anchor
    for i, (text, size, bold, colour) in enumerate(runs):
        para = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        para.alignment = align
        run = para.add_run()
        run.text = text
        run.font.size, run.font.bold, run.font.color.rgb = Pt(size), bold, colour


def _figure_runs(fig: Figure, value_pt: int) -> list:
    runs = [(fig.value, value_pt, True, ACCENT), (fig.label, 14, False, INK)]
    if fig.note:
        runs.append((fig.note, 11, False, GREY))
    return runs


def _place_title(shape, text: str, left, top, width, height, size: int) -> None:
    shape.left, shape.top, shape.width, shape.height = left, top, width, height
    shape.text_frame.text = text
    shape.text_frame.word_wrap = True
    para = shape.text_frame.paragraphs[0]
    para.alignment = PP_ALIGN.LEFT
    for run in para.runs:
        run.font.size, run.font.bold, run.font.color.rgb = Pt(size), True, INK


def _footer(slide, deck: Deck) -> None:
    _text(
        slide,
        Inches(0.5),
        Inches(7.0),
        Inches(12.3),
        Inches(0.35),
        [
            (
                f"{deck.procedure_name} · {deck.period.label} · data as of {deck.data_as_of} · "
                + (
                    "surgeons blinded as Surgeon A, B, C… · "
                    if deck.blinded
                    else "identified: do not share beyond supply and admin · "
                )
                + "Scorecard",
                10,
                False,
                GREY,
            )
        ],
    )


def _chart_picture(slide, chart: Any, left, top, max_w, max_h) -> None:
    png = chart_png(chart, width=DECK_CHART_PX[0], height=DECK_CHART_PX[1], min_font=DECK_MIN_FONT_PX)
    w_px, h_px = Image.open(io.BytesIO(png)).size
    ratio = min(max_w / w_px, max_h / h_px)
    slide.shapes.add_picture(io.BytesIO(png), left, top, Emu(int(w_px * ratio)), Emu(int(h_px * ratio)))


def _figure_grid(slide, figures: list[Figure], left, top, width, columns: int, row_h) -> None:
    col_w = Emu(int(width / columns))
    for i, fig in enumerate(figures):
        row, col = divmod(i, columns)
        _text(slide, Emu(left + col * col_w), Emu(top + row * row_h), col_w, row_h, _figure_runs(fig, 30))


def deck_pptx(deck: Deck) -> bytes:
    """The deck as a .pptx: a title slide, then one slide per step — chart image, key figures as text, notes."""
    prs = Presentation()
    prs.slide_width, prs.slide_height = SLIDE_W, SLIDE_H
    # No person in the file's properties either: the deck is about blinded surgeons.
    props = prs.core_properties
    props.author = props.last_modified_by = "Scorecard"
    props.title, props.subject = f"{deck.title} — {deck.subtitle}", deck.procedure_name
    props.comments = f"Surgeons blinded. Data as of {deck.data_as_of}."
    props.keywords, props.category = "scorecard", "department meeting"
    title_layout, titled_layout = prs.slide_layouts[0], prs.slide_layouts[5]
    for index, item in enumerate(deck.slides):
        if index == 0:
            slide = prs.slides.add_slide(title_layout)
            _place_title(slide.shapes.title, item.title, Inches(0.8), Inches(1.6), Inches(11.7), Inches(1.3), 44)
            subtitle = slide.placeholders[1]
            subtitle.left, subtitle.top, subtitle.width, subtitle.height = (
                Inches(0.8),
                Inches(2.9),
                Inches(11.7),
                Inches(0.8),
            )
            subtitle.text_frame.text = item.headline
            for run in subtitle.text_frame.paragraphs[0].runs:
                run.font.size, run.font.color.rgb = Pt(22), GREY
            subtitle.text_frame.paragraphs[0].alignment = PP_ALIGN.LEFT
            _figure_grid(
                slide, item.figures, Inches(0.8), Inches(4.3), Inches(11.7), max(len(item.figures), 3), Inches(1.4)
            )
        else:
            slide = prs.slides.add_slide(titled_layout)
            _place_title(slide.shapes.title, item.title, Inches(0.5), Inches(0.3), Inches(12.3), Inches(0.85), 32)
            _text(slide, Inches(0.5), Inches(1.15), Inches(12.3), Inches(0.95), [(item.headline, 18, False, INK)])
            if item.chart is not None:
                _chart_picture(slide, item.chart, Inches(0.5), Inches(2.15), Inches(8.8), Inches(4.75))
                for i, fig in enumerate(item.figures[:5]):
                    _text(slide, Inches(9.6), Inches(2.15 + 0.95 * i), Inches(3.3), Inches(0.95), _figure_runs(fig, 24))
            else:
                _figure_grid(slide, item.figures, Inches(0.5), Inches(2.3), Inches(12.3), 3, Inches(1.5))
        _footer(slide, deck)
        slide.notes_slide.notes_text_frame.text = item.notes
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()
