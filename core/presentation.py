"""Presentation mode and slide decks: a procedure's figures as a sequence of slides (pure: no Streamlit).

A champion shows their service line to a department meeting one procedure at a time: cost per case
across surgeons, where the cost goes, risk-adjusted outcomes (funnel plots), preferred-product use,
and the trend. The room is made of peers, so the slides are blinded for *everyone* who presents them,
supply and admin included: surgeons are "Surgeon A, B, C…", volumes are banded, nobody is
highlighted as "you" (a highlighted bar on a projector would unblind the presenter), and nothing
about surgeons is shown for a procedure with fewer than `min_peers` eligible surgeons.

Letters come from `core.scorecard` with the scorecard's own view key (procedure and period) and the
same secret, so a surgeon opening their scorecard for that procedure and period sees the same
letters, their own marked "You are Surgeon D". The presenter is told their letter privately
(`your_letter`), never on a slide.

The same `Deck` shape also carries a physician's own scorecard (`scorecard_deck`), drawn with the
scorecard's charts and blinded exactly as the scorecard page shows it, for the scorecard's exports.
A deck is data (`core.output.deck`): this module reads the mart views and hands their rows to the
deck's slide builders; `core.output.exports` turns a deck into .pptx, PNG, SVG and CSV; `core.ui.exports`
and `pages/presentation.py` draw it on screen.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core import access, db, episode, metrics, scorecard
from core.output import charts, sentences
from core.output import format as fmt
from core.output.deck import (
    Deck,
    Figure,
    Slide,
    breakdown_slide,
    cost_slide,
    funnel_slide,
    outcomes_slide,
    preferred_slide,
    projector,
    switch_slide,
    title_slide,
    trend_slide,
)
from core.periods import Period

# Presenters are shown what any peer in the room may see (`access.audience`): a blinded viewer with no scorecard of
# their own, so no row is "you" and no id or name survives `access.present_peers`.

_FIG_SIZE = 540  # chart height on screen, px: the slide area of a 1080-line projector


def _definitions(ctx: scorecard.DataContext) -> dict[str, str]:
    s = ctx.settings
    return metrics.explanations(
        min_cases=ctx.min_cases,
        min_peers=ctx.min_peers,
        or_cost_per_minute=s["or_cost_per_minute_usd"],
        bed_day_cost=s["bed_day_cost_usd"],
    )


def _notes(
    text: str, ctx: scorecard.DataContext, period: Period, excluded: list[str] | None, defs: dict[str, str]
) -> str:
    removed = len(excluded or [])
    return (
        f"{text}\n\n{defs['blinding']}\n\nPeriod: {period.label}. Data as of {_as_of(ctx)}, the latest "
        "surgery date in the data." + (f" {removed} case(s) removed by accepted flags are excluded." if removed else "")
    )


def _as_of(ctx: scorecard.DataContext) -> str:
    built = ctx.build.get("built_at")
    built_text = "" if built is None or pd.isna(built) else f" (built {pd.Timestamp(built):%d %b %Y %H:%M} UTC)"
    return f"{ctx.data_end:%d %b %Y}{built_text}"


# --- who may present what ---------------------------------------------------------------------


def service_lines(viewer: access.Viewer) -> list[str]:
    """The service lines this viewer may present, in name order."""
    lines = sorted(scorecard.procedures()["service_line"].dropna().unique().tolist())
    return [s for s in lines if access.may_present(viewer, s)]


def procedures_for(service_line: str) -> pd.DataFrame:
    """The service line's procedures, busiest first."""
    procs = scorecard.procedures()
    procs = procs[procs["service_line"] == service_line]
    return procs.sort_values(["case_count", "procedure_name"], ascending=[False, True]).reset_index(drop=True)


def check_may_present(viewer: access.Viewer, service_line: str, procedure_code: str) -> pd.Series:
    """The procedure's directory row, or PermissionError when this viewer may not present it."""
    if not access.may_present(viewer, service_line):
        raise PermissionError(f"{viewer.role} {viewer.email} may not present {service_line}")
    procs = procedures_for(service_line)
    match = procs[procs["procedure_code"] == procedure_code]
    if match.empty:
        raise PermissionError(f"{procedure_code} is not a procedure of {service_line}")
    return match.iloc[0]


def your_letter(
    viewer: access.Viewer, procedure_code: str, period: Period, secret: bytes, excluded: list[str] | None = None
) -> str | None:
    """The presenter's own letter for this view, exactly as their scorecard shows it; None when not eligible.

    Only an eligible surgeon is in the compared group, so only then is the letter one the room sees.
    """
    if not viewer.is_physician:
        return None
    own = scorecard.peer_distribution(viewer, viewer.physician_id, procedure_code, period, secret, excluded)
    mine = own[own["is_you"] & own["eligible_flag"].astype(bool) & own["peers_shown_flag"].astype(bool)]
    return str(mine.iloc[0]["label"]) if len(mine) else None


# --- the department deck ------------------------------------------------------------------------


def _group(procedure_code: str, period: Period, excluded: list[str] | None) -> dict[str, Any]:
    """Figures about the compared group as a whole (mart_procedure_group; nothing per surgeon)."""
    frame = db.fetch(
        "mart_procedure_group",
        where={"procedure_code": procedure_code},
        variables=scorecard.period_variables(period, excluded),
    )
    row = frame.iloc[0].to_dict() if len(frame) else {}
    out = {
        "eligible_count": int(row.get("eligible_physician_count", 0)),
        "cases": int(row.get("compared_case_count", 0)),
        "all_cases": int(row.get("case_count", 0)),
        "shown": bool(row.get("peers_shown_flag", False)),
    }
    for key in (
        "peer_median_case_cost_usd",
        "best_quartile_case_cost_usd",
        *(c.peer_column for c in metrics.COMPONENTS),
    ):
        out[key] = row.get(key, np.nan)
    return out


def _outcome_rows(procedure_code: str, period: Period, excluded: list[str] | None) -> pd.DataFrame:
    """Group totals per outcome over the eligible surgeons' cases (mart_outcome_group), in registry order."""
    frame = db.fetch(
        "mart_outcome_group",
        where={"procedure_code": procedure_code},
        variables=scorecard.period_variables(period, excluded),
    )
    frame = frame.rename(
        columns={
            "case_count": "cases",
            "observed_count": "observed",
            "expected_count": "expected",
            "observed_rate": "rate",
            "adjusted_flag": "adjusted",
        }
    )
    order = {key: i for i, key in enumerate(metrics.OUTCOME_KEYS)}
    frame = frame[frame["outcome"].isin(order)].sort_values("outcome", key=lambda s: s.map(order))
    frame.insert(1, "label", frame["outcome"].map(metrics.outcome_labels()))
    frame["adjusted"] = frame["adjusted"].astype(bool)
    return frame[["outcome", "label", "cases", "observed", "expected", "rate", "adjusted", "model_note"]].reset_index(
        drop=True
    )


def _preferred_frames(procedure_code: str, period: Period, excluded: list[str] | None) -> tuple[dict, pd.DataFrame]:
    """Group preferred use and, per category with a preferred item, the group's use and switch saving."""
    frame = db.fetch(
        "mart_preferred_group",
        where={"procedure_code": procedure_code},
        variables=scorecard.period_variables(period, excluded),
    )
    total = frame[frame["category"].isna()]
    row = total.iloc[0] if len(total) else {}
    totals = {
        "use_pct": row.get("preferred_use_pct", np.nan),
        "spend_pct": row.get("preferred_spend_pct", np.nan),
        "saving": float(row.get("switch_saving_usd", 0.0) or 0.0),
    }
    cats = frame[frame["category"].notna()].sort_values(["switch_saving_usd", "category"], ascending=[False, True])
    return totals, cats.drop(columns=["procedure_code", "preferred_spend_pct"]).reset_index(drop=True)


def build_deck(
    viewer: access.Viewer,
    service_line: str,
    procedure_code: str,
    period: Period,
    secret: bytes,
    excluded: list[str] | None = None,
) -> Deck:
    """The department deck for one procedure and period, blinded for everyone; PermissionError if not allowed."""
    proc = check_may_present(viewer, service_line, procedure_code)
    ctx = scorecard.data_context()
    defs = _definitions(ctx)
    notes = lambda key: _notes(defs.get(key, key), ctx, period, excluded, defs)  # noqa: E731
    name = str(proc["procedure_name"])
    group = _group(procedure_code, period, excluded)
    crowd = access.audience(viewer)
    subtitle = f"{service_line} · {period.label}"
    deck = Deck(
        title=name,
        subtitle=subtitle,
        procedure_code=procedure_code,
        procedure_name=name,
        service_line=service_line,
        period=period,
        data_as_of=_as_of(ctx),
        slides=[],
        file_stem=f"scorecard-{procedure_code}-{period.token}".replace("..", "_to_"),
        your_letter=your_letter(viewer, procedure_code, period, secret, excluded),
    )
    deck.slides.append(title_slide(name, subtitle, group, notes))
    if not group["shown"]:
        # Below min_peers nothing about surgeons is shown — not even group figures that could identify them.
        deck.slides[0].figures = [Figure("Surgeons eligible", f"fewer than {ctx.min_peers}")]
        deck.slides.append(
            Slide(
                "too-few",
                "Too few surgeons to compare",
                f"Fewer than {ctx.min_peers} surgeons had at least {ctx.min_cases} {name.lower()} cases in this period, "
                "so no comparison is shown: it could identify them. Try a longer period.",
                notes=notes("cost"),
            )
        )
        return deck
    peers = scorecard.peer_distribution(crowd, None, procedure_code, period, secret, excluded)
    deck.slides += [cost_slide(peers, group, name, notes), breakdown_slide(peers, group, notes)]
    # The episode slide (README, *Episode cost*), only with post-acute data.
    if (ep := episode.department_slide(procedure_code, period, secret, excluded, name)) is not None:
        deck.slides.append(
            Slide(
                "episode",
                ep.title,
                ep.headline,
                projector(ep.chart),
                [Figure(*f) for f in ep.figures],
                ep.data,
                notes(ep.notes),
            )
        )
    rows = _outcome_rows(procedure_code, period, excluded)
    funnels = {}
    for row in rows.to_dict("records") if len(rows) else []:
        if row["adjusted"]:
            points, meta = scorecard.funnel_data(
                crowd, None, procedure_code, row["outcome"], period, secret, ctx.min_peers, excluded
            )
            if len(points) > 1:
                funnels[row["outcome"]] = (points, meta)  # each point carries its call (`flag`)
    deck.slides.append(outcomes_slide(rows, funnels, notes))
    deck.slides += [funnel_slide(o, p, m, notes) for o, (p, m) in funnels.items()]
    totals, cats = _preferred_frames(procedure_code, period, excluded)
    if not fmt.missing(totals["use_pct"]):
        deck.slides.append(preferred_slide(peers, totals, notes))
        if (cats["switch_saving_usd"] >= 1).any():
            deck.slides.append(switch_slide(cats, totals, notes))
    trend = trend_slide(
        db.fetch(
            "mart_cost_quarter",
            columns=["surgery_quarter", "quarter_physician_count", "peer_median_case_cost_usd"],
            where={"procedure_code": procedure_code},
            order_by=["surgery_quarter"],
            variables={"excluded_case_ids": list(excluded or [])},
        ),
        notes,
    )
    if trend is not None:
        deck.slides.append(trend)
    return deck


# --- a physician's own scorecard as a deck (exports from the scorecard page) ---------------------


def scorecard_deck(
    viewer: access.Viewer,
    physician_id: str,
    procedure_code: str,
    period: Period,
    secret: bytes,
    excluded: list[str] | None = None,
) -> Deck:
    """The scorecard page's figures and charts for one procedure, blinded exactly as the page shows them."""
    subject = access.scorecard_subject(viewer, physician_id)
    if subject.refused:
        raise PermissionError(subject.reason)
    physician_id = subject.physician_id
    ctx = scorecard.data_context()
    defs = _definitions(ctx)
    if viewer.identified:
        defs["blinding"] = "Physicians are identified: your role may see names, as on the scorecard page."
    notes = lambda key: _notes(defs.get(key, key), ctx, period, excluded, defs)  # noqa: E731
    positions = scorecard.positions(physician_id, period, excluded)
    match = positions[positions["procedure_code"] == procedure_code]
    if match.empty:
        raise LookupError(f"no {procedure_code} cases for this physician in {period.label}")
    pos = match.iloc[0].to_dict() | {"procedure_code": procedure_code}
    name = str(pos["procedure_name"])
    own = physician_id == viewer.physician_id
    who = "My scorecard" if own else f"Scorecard — {scorecard.physician(physician_id)['physician_name']}"
    subtitle = f"{name} · {period.label}"
    deck = Deck(
        title=who,
        subtitle=subtitle,
        procedure_code=procedure_code,
        procedure_name=name,
        service_line=str(pos.get("service_line") or ""),
        period=period,
        data_as_of=_as_of(ctx),
        slides=[],
        file_stem=f"scorecard-{physician_id if viewer.identified else 'mine'}-{procedure_code}-{period.token}".replace(
            "..", "_to_"
        ),
        blinded=not viewer.identified,
    )
    gap = pos.get("gap_to_peer_median_usd")
    figures = [
        Figure("Cases", f"{int(pos['case_count'])}"),
        Figure("Your median case cost", fmt.money(pos["median_case_cost_usd"])),
        Figure("Peer median", fmt.money(pos.get("peer_median_case_cost_usd"))),
        Figure("Gap to the peer median", "–" if fmt.missing(gap) else ("+" if gap > 0 else "") + fmt.money(gap)),
    ]
    deck.slides.append(
        Slide(
            "title",
            who,
            subtitle,
            None,
            figures,
            pd.DataFrame(),
            notes("What this scorecard shows: your cost per case and outcomes against peers doing the same procedure."),
        )
    )
    peers = scorecard.peer_distribution(viewer, physician_id, procedure_code, period, secret, excluded)
    if pos.get("peers_shown_flag"):
        you = peers[peers["is_you"]]
        note = f" You are {you.iloc[0]['label']} in this view." if len(you) and not viewer.identified else ""
        deck.slides.append(
            Slide(
                "cost",
                "Cost position",
                sentences.cost_sentence(pos, name) + note,
                charts.peer_distribution(peers, name, pos.get("peer_median_case_cost_usd")),
                figures[1:],
                peers,
                notes("cost"),
            )
        )
    comp = scorecard.component_comparison(pos)
    deck.slides.append(
        Slide(
            "breakdown",
            "Cost breakdown per case",
            sentences.preferred_sentence(pos),
            charts.component_bars(comp),
            [
                Figure(r["component"], fmt.money(r["usd"]), r["who"])
                for r in comp[comp["who"] == "You"].to_dict("records")
            ],
            comp,
            notes("breakdown"),
        )
    )
    drivers = scorecard.category_drivers(physician_id, procedure_code, period, excluded)
    if not drivers.empty:
        top = drivers.head(8)
        deck.slides.append(
            Slide(
                "drivers",
                "Supply categories driving the difference",
                f"Largest gap per case: {top.iloc[0]['category']} "
                f"({fmt.money(top.iloc[0]['gap_per_case_usd'])} per case against the median peer)."
                if not fmt.missing(top.iloc[0]["gap_per_case_usd"])
                else "Your spend per case by supply category.",
                charts.category_drivers(top),
                [],
                top,
                notes("drivers"),
            )
        )
    summary = scorecard.outcome_summary(physician_id, procedure_code, period, excluded)
    records = summary.to_dict("records")
    if records:
        unadjusted = [r["label"].lower() for r in records if not r["adjusted"]]
        headline = (
            "O/E above 1 means more events than expected given your patients' risk; only a result outside "
            "the 99.8% limit is called out."
        )
        if unadjusted:
            headline += f" Too few events to adjust {', '.join(unadjusted)}: shown unadjusted, never flagged."
        deck.slides.append(
            Slide(
                "outcomes",
                "Outcomes, risk-adjusted",
                headline,
                None,
                [
                    Figure(
                        r["label"],
                        "–" if fmt.missing(r["oe_ratio"]) else f"O/E {r['oe_ratio']:.2f}",
                        "risk-adjusted" if r["adjusted"] else "unadjusted",
                    )
                    for r in records
                ],
                summary[[c for c in _OUTCOME_TABLE if c in summary]],
                notes("outcomes"),
            )
        )
    for row in records:
        points, meta = scorecard.funnel_data(
            viewer, physician_id, procedure_code, row["outcome"], period, secret, ctx.min_peers, excluded
        )
        if row["adjusted"] and len(points) > 1:
            deck.slides.append(
                Slide(
                    f"funnel-{row['outcome']}",
                    row["label"],
                    sentences.outcome_sentence(row),
                    charts.funnel(points, meta.get("tau2", 0.0), row["label"]),
                    [
                        Figure("O/E", f"{row['oe_ratio']:.2f}", f"95% CI {row['ci95_low']:.2f}–{row['ci95_high']:.2f}"),
                        _shrunken_figure(row),
                    ],
                    points,
                    notes("funnel"),
                )
            )
    cost = scorecard.cost_trend(physician_id, procedure_code, excluded)
    if not cost.empty:
        deck.slides.append(
            Slide(
                "trend",
                "Trend by quarter",
                "Your median case cost by quarter, beside the peer median.",
                charts.cost_trend(cost),
                [],
                cost.drop(columns=["physician_id"]),
                notes("trend"),
            )
        )
    over_time = _vlad_slide(physician_id, procedure_code, records, excluded)
    if over_time is not None:
        deck.slides.append(over_time)
    return deck


# The personal outcomes table: raw O/E and its interval beside the reliability-adjusted figure.
_OUTCOME_TABLE = (
    "label",
    "cases",
    "observed",
    "expected",
    "oe_ratio",
    "ci95_low",
    "ci95_high",
    "flag",
    "shrunken_oe_ratio",
    "reliability",
    "limits",
    "adjusted",
    "model_note",
)


def _shrunken_figure(row: dict) -> Figure:
    """The reliability-adjusted O/E as a slide figure, with its reliability in words."""
    if fmt.missing(row.get("shrunken_oe_ratio")):
        return Figure("Shrunken O/E", "–", "too few peers to estimate")
    return Figure(
        "Shrunken O/E",
        f"{row['shrunken_oe_ratio']:.2f}",
        f"reliability {row['reliability']:.2f}: {sentences.reliability_words(row['reliability'])}",
    )


def _vlad_slide(
    physician_id: str, procedure_code: str, records: list[dict], excluded: list[str] | None
) -> Slide | None:
    """The first risk-adjusted outcome over time as a cumulative chart (VLAD), never quarterly O/E."""
    adjusted = [r for r in records if r["adjusted"] and metrics.outcome(r["outcome"]).binary]
    if not adjusted:
        return None
    row = adjusted[0]
    frame = scorecard.outcome_vlad(physician_id, procedure_code, excluded)
    part = frame[frame["outcome"] == row["outcome"]]
    if part.empty:
        return None
    last = part.iloc[-1]
    headline = sentences.vlad_sentence(
        float(last["vlad_count"]),
        int(last["case_number"]),
        float(last["cumulative_observed_count"]),
        float(last["cumulative_expected_count"]),
    )
    return Slide(
        "over-time",
        f"{row['label']} over time",
        headline,
        charts.vlad(part, row["label"]),
        [Figure("Net events avoided", f"{float(last['vlad_count']):+.1f}", "expected − observed")],
        part.drop(columns=["adjusted_flag"]),
        "Each case adds its expected risk and subtracts its event: a cumulative chart, because quarterly "
        "O/E from a handful of events swings by chance alone.",
    )
