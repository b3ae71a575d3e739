"""Exports: the deck opens in python-pptx with the expected slides, titles, figures and notes; nothing in
the file names or identifies a blinded surgeon; PNG, SVG and CSV of a chart; every export is audited."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from pptx import Presentation
from streamlit.testing.v1 import AppTest

from core import access, state
from core import presentation as pr
from core import scorecard as sc
from core.output import exports
from core.output.deck import Deck

ROOT = Path(__file__).resolve().parent.parent
CHAMPION = access.Viewer("p03@fixture.org", "champion", "P03", "Orthopaedics", "Dr. Cy Three")
SUPPLY = access.Viewer("supply@fixture.org", "supply")
ADMIN = access.Viewer("admin@fixture.org", "admin")
PHYSICIAN = access.Viewer("p01@fixture.org", "physician", "P01", None, "Dr. Ada One")
# Everything that could identify a fixture physician: names, ids, e-mail addresses.
IDENTIFYING = (
    "Dr. Ada One",
    "Dr. Ben Two",
    "Dr. Cy Three",
    "Dr. Di Four",
    "Dr. Ed Five",
    "Dr. Flo Six",
    "P01",
    "P02",
    "P03",
    "P04",
    "P05",
    "P06",
    "fixture.org",
)


@pytest.fixture(scope="module")
def period(fixture_db):
    return sc.data_context().default_period()


@pytest.fixture(scope="module")
def deck(period):
    return pr.build_deck(CHAMPION, "Orthopaedics", "TKA", period, state.secret(sc.BLINDING_SECRET))


@pytest.fixture(scope="module")
def pptx_bytes(deck):
    return exports.deck_pptx(deck)


def _slide_text(slide) -> str:
    return "\n".join(shape.text_frame.text for shape in slide.shapes if shape.has_text_frame)


def _leaks(blob: bytes, needles=IDENTIFYING) -> list[str]:
    """Identifying strings found in any non-image part of a .pptx (images are checked as SVG)."""
    found = []
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        for name in z.namelist():
            if name.startswith("ppt/media/"):
                continue
            text = z.read(name).decode("utf-8", errors="replace")
            found += [f"{n} in {name}" for n in needles if n in text]
    return found


def test_deck_opens_with_a_title_slide_then_a_slide_per_step(deck, pptx_bytes):
    prs = Presentation(io.BytesIO(pptx_bytes))
    slides = list(prs.slides)
    assert len(slides) == len(deck.slides) == 7
    assert [s.shapes.title.text for s in slides] == [s.title for s in deck.slides]
    assert slides[0].shapes.title.text == "Total knee replacement"
    assert "Orthopaedics · Last 12 months" in _slide_text(slides[0])
    for slide, source in zip(slides, deck.slides, strict=False):
        text = _slide_text(slide)
        assert source.headline in text
        for fig in source.figures:  # key figures are native text, not pixels
            assert fig.label in text and fig.value in text
        pictures = [s for s in slide.shapes if s.shape_type == 13]
        assert len(pictures) == (source.chart is not None)
        notes = slide.notes_slide.notes_text_frame.text
        assert "Data as of 30 Jun 2026" in notes and "blinded as Surgeon A, B, C" in notes
    assert "Peer median: the median of the eligible surgeons' medians" in slides[1].notes_slide.notes_text_frame.text
    assert prs.core_properties.author == "Scorecard"
    assert prs.slide_width > prs.slide_height  # 16:9


def test_no_name_or_id_of_a_blinded_surgeon_anywhere_in_the_file(deck, pptx_bytes):
    assert _leaks(pptx_bytes) == []
    # The pictures are rendered from the charts: their SVG text is what the images show.
    for slide in deck.slides:
        if slide.chart is not None:
            svg = exports.chart_svg(slide.chart)
            assert not [n for n in IDENTIFYING if n in svg], slide.key
            assert "Surgeon (blinded)" in svg or slide.key in ("switch", "trend")


def test_png_svg_and_csv_of_a_chart(deck):
    cost = deck.slides[1]
    png = exports.chart_png(cost.chart, title=cost.title)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    svg = exports.chart_svg(cost.chart, title=cost.title)
    assert svg.lstrip().startswith("<svg") and "Cost per case across surgeons" in svg
    frame = pd.read_csv(io.BytesIO(exports.figures_csv(cost.data)), encoding="utf-8-sig")
    assert list(frame.columns) == ["label", "median_case_cost_usd", "volume_band"]
    assert frame["median_case_cost_usd"].sort_values().tolist() == [1962.0, 2414.0, 2445.0, 2724.0]
    assert exports.file_name(deck, cost, "png") == "scorecard-TKA-last12-cost.png"


def test_scorecard_deck_is_blinded_exactly_as_the_scorecard_page(period):
    secret = state.secret(sc.BLINDING_SECRET)
    mine = pr.scorecard_deck(PHYSICIAN, "P01", "TKA", period, secret)
    assert [s.key for s in mine.slides][:4] == ["title", "cost", "breakdown", "drivers"]
    you = sc.peer_distribution(PHYSICIAN, "P01", "TKA", period, secret).query("is_you").iloc[0]["label"]
    assert f"You are {you} in this view." in mine.slides[1].headline
    blob = exports.deck_pptx(Deck(**{**mine.__dict__, "slides": mine.slides[:2]}))  # two slides: quick
    assert _leaks(blob, tuple(n for n in IDENTIFYING if n not in ("P01", "Dr. Ada One"))) == []
    with pytest.raises(PermissionError):  # a physician cannot export a colleague's scorecard
        pr.scorecard_deck(PHYSICIAN, "P02", "TKA", period, secret)
    identified = pr.scorecard_deck(SUPPLY, "P01", "TKA", period, secret)
    assert identified.slides[0].title == "Scorecard — Dr. Ada One"  # supply sees names, on screen and in files


# --- every export is audited, for every role that can export ------------------------------------


@pytest.mark.parametrize("viewer", [CHAMPION, SUPPLY, ADMIN], ids=lambda v: v.role)
def test_presentation_exports_are_audited(viewer, fixture_db):
    at = AppTest.from_file(str(ROOT / "pages" / "presentation.py"), default_timeout=30)
    at.session_state["_scorecard_viewer"] = viewer
    at.query_params.update(service_line="Orthopaedics", procedure="TKA", step="2")
    at.run()
    buttons = {b.label: b for b in at.get("download_button")}
    assert set(buttons) == {"Slides (PowerPoint)", "PNG", "SVG", "CSV"}
    buttons["Slides (PowerPoint)"].click().run()
    {b.label: b for b in at.get("download_button")}["CSV"].click().run()
    details = state.audit_entries(email=viewer.email, action="export")["detail"].tolist()
    assert "pptx scorecard-TKA-last12 (7 slides)" in details and "csv scorecard-TKA-last12 cost" in details


def _scorecard_export_script():
    from core import ui
    from core.ui import exports as export_ui

    viewer, ctx = ui.viewer(), ui.context()
    export_ui.scorecard_exports(
        viewer, viewer.physician_id, "TKA", ctx.default_period(), ui.blinding_secret(), ui.excluded()
    )


def test_scorecard_exports_are_audited_for_a_physician(fixture_db):
    at = AppTest.from_function(_scorecard_export_script, default_timeout=30)
    at.session_state["_scorecard_viewer"] = PHYSICIAN
    at.run()
    assert not at.exception
    # The files are made only when asked for (README, Performance): no button before the toggle.
    assert not at.get("download_button")
    at.toggle(key="export_files_TKA").set_value(True).run()
    assert not at.exception
    labels = [b.label for b in at.get("download_button")]
    assert labels[0] == "Slides (PowerPoint)" and labels.count("PNG") >= 3
    at.get("download_button")[0].click().run()
    entry = state.audit_entries(email=PHYSICIAN.email, action="export").iloc[0]
    assert entry["page"] == "scorecard" and re.match(r"pptx scorecard-mine-TKA-last12 \(\d+ slides\)", entry["detail"])
