"""Export buttons (Streamlit): a chart as PNG or SVG, its figures as CSV, a whole deck as PowerPoint.

Each button hands the browser a file made by `core.exports` from exactly what is on screen (already
blinded for the viewer), and writes an "export" entry to the audit log when it is clicked. Files are
made only when a button is clicked (Streamlit's deferred download data), so a page with a dozen
buttons costs nothing until someone downloads; rendering a deck takes a few seconds.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core import access, presentation, ui
from core.output import exports
from core.output.deck import Deck, Slide
from core.periods import Period
from core.ui import render


def _record(page: str, params: dict[str, Any], what: str) -> None:
    """on_click callback: audit the export before the page reruns."""
    ui.audit("export", page, params, what)


def chart_buttons(deck: Deck, slide: Slide, page: str, params: dict[str, Any], key: str) -> None:
    """PNG, SVG and CSV of one slide's chart and figures, side by side."""
    cols = st.columns(3)
    audited = {"on_click": _record}
    if slide.chart is not None:
        cols[0].download_button(
            "PNG",
            data=lambda c=slide.chart, t=slide.title: exports.chart_png(c, title=t),
            file_name=exports.file_name(deck, slide, "png"),
            mime="image/png",
            key=f"{key}_png",
            icon=":material/image:",
            args=(page, params, f"png {deck.file_stem} {slide.key}"),
            **audited,
        )
        cols[1].download_button(
            "SVG",
            data=lambda c=slide.chart, t=slide.title: exports.chart_svg(c, title=t),
            file_name=exports.file_name(deck, slide, "svg"),
            mime="image/svg+xml",
            key=f"{key}_svg",
            icon=":material/draw:",
            args=(page, params, f"svg {deck.file_stem} {slide.key}"),
            **audited,
        )
    if not slide.data.empty:
        cols[2].download_button(
            "CSV",
            data=lambda d=slide.data: exports.figures_csv(d),
            file_name=exports.file_name(deck, slide, "csv"),
            mime="text/csv",
            key=f"{key}_csv",
            icon=":material/table:",
            args=(page, params, f"csv {deck.file_stem} {slide.key}"),
            **audited,
        )


def deck_button(deck: Deck, page: str, params: dict[str, Any], key: str = "deck") -> None:
    """The whole deck as .pptx (title slide, a slide per step, definitions in the notes)."""
    st.download_button(
        "Slides (PowerPoint)",
        data=lambda d=deck: exports.deck_pptx(d),
        file_name=exports.file_name(deck, None, "pptx"),
        mime="application/vnd.openxmlformats-officedocument.presentationml.presentation",
        key=key,
        icon=":material/slideshow:",
        type="primary",
        on_click=_record,
        args=(page, params, f"pptx {deck.file_stem} ({len(deck.slides)} slides)"),
    )


def scorecard_exports(
    viewer: access.Viewer,
    physician_id: str,
    procedure_code: str,
    period: Period,
    secret: bytes,
    excluded: list[str] | None = None,
) -> None:
    """An "Export" popover for one procedure of the scorecard page: the deck, and each chart's files.

    The files are made when asked for (a toggle in a fragment): the deck is a slide per step with its
    charts, several times the work of the page itself, and most views export nothing (README, *Performance*).
    """
    params = {"physician": physician_id, "procedure": procedure_code, "period": period.token}

    def files() -> None:
        try:
            deck = ui.cached(
                presentation.scorecard_deck, viewer, physician_id, procedure_code, period, secret, excluded
            )
        except (LookupError, PermissionError):
            ui.no_data("Nothing to export for this procedure.")
            return
        deck_button(deck, "scorecard", params, key=f"deck_{procedure_code}")
        for slide in deck.slides[1:]:
            if slide.chart is None and slide.data.empty:
                continue
            st.markdown(f"**{ui.plain(slide.title)}**")
            chart_buttons(deck, slide, "scorecard", params, key=f"{procedure_code}_{slide.key}")

    with st.popover("Export", icon=":material/download:"):
        st.caption(
            "Files made from exactly this view, blinded as you see it. Every export is recorded in the audit log."
        )
        render.on_demand("Prepare the slides and chart files", f"export_files_{procedure_code}", files)


def draw_slide(deck: Deck, slide: Slide, kicker: str, menu: bool) -> None:
    """One slide on screen for a room: large type, one idea, the chart already blinded, key figures beside
    it; every text from the data escaped (plain), the app's chrome hidden unless the presenter asks for it."""
    import html

    from core.ui import css

    st.markdown(css.SLIDE_CSS + ("" if menu else css.HIDE_CHROME_CSS), unsafe_allow_html=True)
    st.markdown(
        f"<div class='slide-kicker'>{html.escape(kicker)}</div>",
        unsafe_allow_html=True,
    )
    if slide.key == "title":
        st.markdown(f"<div class='deck-title'>{html.escape(slide.title)}</div>", unsafe_allow_html=True)
    else:
        st.title(ui.plain(slide.title), anchor=False)
    # "$" twice in a line would be read as LaTeX, so it goes in as an HTML entity.
    st.markdown(
        f"<div class='slide-headline'>{html.escape(slide.headline).replace('$', '&#36;')}</div>", unsafe_allow_html=True
    )
    if slide.chart is not None:
        left, right = st.columns([3.3, 1], gap="large")
        left.altair_chart(slide.chart, width="stretch", theme=None)  # the projector type, not the app theme
        for fig in slide.figures:
            right.metric(ui.plain(fig.label), fig.value, help=ui.plain(fig.note) or None)
    else:
        grid = st.columns(3, gap="large")
        for i, fig in enumerate(slide.figures):
            grid[i % 3].metric(ui.plain(fig.label), fig.value)
            if fig.note:
                grid[i % 3].caption(ui.plain(fig.note))
    st.caption(
        f"Data as of {deck.data_as_of}. Surgeons are blinded as Surgeon A, B, C…; each can see their own letter "
        "on their scorecard for the same procedure and period. Definitions are in the downloaded deck's notes."
    )
