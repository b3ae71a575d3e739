"""Presentation: a service line's procedure as slides for a department meeting, blinded for everyone."""

import streamlit as st

from core import presentation as pr
from core import ui
from core.ui import exports as export_ui

viewer = ui.require(
    "present",
    "presentation",
    "Presentation mode is for clinician champions, supply and admin. "
    "Your scorecard shows the same figures with your own letter marked.",
)
ctx, excluded, secret = ui.context(), ui.excluded(), ui.blinding_secret()
lines = pr.service_lines(viewer)
if not lines:
    ui.no_data("No service line is assigned to you on the roster, so there is nothing to present yet.")
    st.stop()

# --- the view: from the link first, then the pickers (rights come only from the viewer) ------------
asked = {k: ui.param(k) for k in ("service_line", "procedure", "period", "step")}
if asked["service_line"] and asked["service_line"] not in lines:
    ui.refuse("presentation", {"service_line": asked["service_line"]}, "a service line this viewer may not present")
bar = st.columns([1.3, 1.6, 1.6, 0.55, 0.55, 0.55, 0.9, 0.9, 0.7], vertical_alignment="bottom")
line = bar[0].selectbox(
    "Service line",
    lines,
    index=lines.index(asked["service_line"]) if asked["service_line"] in lines else 0,
    disabled=len(lines) == 1,
)
procs = pr.procedures_for(line)
codes = procs["procedure_code"].tolist()
if not codes:
    ui.no_data(f"{line} has no procedures in the data yet.")
    st.stop()
code = bar[1].selectbox(
    "Procedure",
    codes,
    index=codes.index(asked["procedure"]) if asked["procedure"] in codes else 0,
    format_func=dict(zip(codes, procs["procedure_name"], strict=False)).get,
)
# The deck is blinded for everyone, so even supply and admin present only the offered whole periods.
period = ui.period_picker(ctx, bar[2], asked["period"] or "", offered_only=True)
deck = ui.cached(pr.build_deck, viewer, line, code, period, secret, excluded)

# A different view starts at its first slide; the step is in the link so a slide can be shared.
view = {"service_line": line, "procedure": code, "period": period.token}
moved = any(asked[k] and asked[k] != v for k, v in view.items())
step = 1 if moved or ui.int_param("step", 1, 999) is None else min(ui.int_param("step", 1, 999), len(deck.slides))
go = lambda to: st.query_params.update(step=str(to))  # noqa: E731 - runs before the rerun, so the link leads
bar[3].button(
    "Back",
    icon=":material/arrow_back:",
    disabled=step == 1,
    help="Previous slide",
    key="back",
    on_click=go,
    args=(step - 1,),
)
bar[5].button(
    "Next",
    icon=":material/arrow_forward:",
    disabled=step == len(deck.slides),
    help="Next slide",
    key="next",
    type="primary",
    on_click=go,
    args=(step + 1,),
)
bar[4].markdown(f"<div class='slide-count'>{step} / {len(deck.slides)}</div>", unsafe_allow_html=True)
ui.set_params(**view, step=step)
ui.log_view("presentation", view)
slide = deck.slides[step - 1]
with bar[6].popover("Export", icon=":material/download:"):
    export_ui.deck_button(deck, "presentation", view)
    st.caption(f"This slide ({ui.plain(slide.title)}):")
    export_ui.chart_buttons(deck, slide, "presentation", view | {"step": step}, key="slide")
if deck.your_letter:
    bar[7].popover("My letter", icon=":material/person:").markdown(
        f"You are **{deck.your_letter}** in this view. It is not marked on the slides, so the room cannot tell."
    )
menu = bar[8].toggle("Menu", value=False, help="Show the app's sidebar and header")

# --- the slide: large type, one idea, no clutter -------------------------------------------------
export_ui.draw_slide(deck, slide, f"{deck.procedure_name} · {line} · {period.label}", menu)
ui.share_box("presentation", view | {"step": step}, "this slide")
