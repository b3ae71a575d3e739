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
A deck is data: `core.exports` turns it into .pptx, PNG, SVG and CSV; `pages/presentation.py`
draws it on screen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from core import access, db, scorecard, stats
from core.output import charts
from core.output import sentences
from core.periods import Period

# Presenters are shown what any peer in the room may see (`access.audience`): a blinded viewer with no scorecard of
# their own, so no row is "you" and no id or name survives `access.present_peers`.


COMPONENT_ORDER = ("implants", "supplies", "pharmacy", "or_time", "bed_days")
_FIG_SIZE = 540  # chart height on screen, px: the slide area of a 1080-line projector


@dataclass(frozen=True)
class Figure:
    """A key figure: shown large on screen and as native text on a slide."""

    label: str
    value: str
    note: str = ""


@dataclass
class Slide:
    """One idea: a title, the sentence that says it, a chart, the key figures and speaker notes."""

    key: str
    title: str
    headline: str
    chart: Any = None  # an Altair chart (already blinded) or None for a text slide
    figures: list[Figure] = field(default_factory=list)
    data: pd.DataFrame = field(default_factory=pd.DataFrame)  # the figures behind the chart (CSV)
    notes: str = ""


@dataclass
class Deck:
    """Slides for one procedure and period, with what the title slide and footers need."""

    title: str
    subtitle: str
    procedure_code: str
    procedure_name: str
    service_line: str
    period: Period
    data_as_of: str
    slides: list[Slide]
    file_stem: str
    your_letter: str | None = None  # told privately to the presenter; never drawn
    blinded: bool = True  # False only for a supply/admin export of an identified scorecard


# --- the page's look: large type for a projector, one idea per screen ------------------------------

# CSS for pages/presentation.py (text only: this module stays free of Streamlit). The chart toolbar is
# hidden because its "Download as PNG" would bypass the audited export buttons.
SLIDE_CSS = """<style>
h1 {font-size: 3.1rem !important; line-height: 1.15 !important; padding-top: 0.6rem !important;}
.slide-headline {font-size: 1.7rem; line-height: 1.4; margin-bottom: 0.8rem;}
.slide-kicker {font-size: 1.1rem; color: #5f5f5f; text-transform: uppercase; letter-spacing: 0.04em;}
.deck-title {font-size: 4.6rem; font-weight: 700; line-height: 1.1; margin: 14vh 0 1rem 0;}
.slide-count {font-size: 1.2rem; text-align: center; padding-bottom: 0.45rem;}
[data-testid="stMetricValue"] {font-size: 2.6rem !important;}
[data-testid="stMetricLabel"] p {font-size: 1.2rem !important;}
.block-container {padding-top: 1.2rem !important; max-width: 100% !important;}
[data-testid="stElementToolbar"] {display: none !important;}
</style>"""
# No sidebar or header while presenting (a "Menu" toggle brings them back).
HIDE_CHROME_CSS = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stHeader"] {display: none;}
</style>"""


# --- formatting (pure; core.ui has the Streamlit-side twins) -------------------------------------

def _missing(v: Any) -> bool:
    try:
        return v is None or v is pd.NA or math.isnan(float(v))
    except (TypeError, ValueError):
        return True


def money(v: Any) -> str:
    """$1,234, or an en dash when missing."""
    return "–" if _missing(v) else ("−" if float(v) < 0 else "") + f"${abs(float(v)):,.0f}"


def pct(v: Any) -> str:
    """45%, or an en dash when missing."""
    return "–" if _missing(v) else f"{float(v):.0f}%"


def _signed_pct(v: float) -> str:
    return ("+" if v > 0 else "−" if v < 0 else "") + f"{abs(v):.0f}%"


def _quarter(q: Any) -> str:
    """'2026Q1' → '2026 Q1'."""
    return str(q).replace("Q", " Q")


def _short(label: str) -> str:
    """'Surgeon D' → 'D' for axes; a projector has room for twenty letters, not twenty names."""
    return str(label).removeprefix("Surgeon ")


def _letters(labels) -> str:
    labels = sorted(labels, key=lambda s: (len(s), s))
    return ", ".join(labels) if labels else "none"


def projector(chart: Any) -> Any:
    """Large type for a room: axis, legend and title sizes that read from the back row."""
    return (chart.configure_axis(labelFontSize=18, titleFontSize=19, labelLimit=320, titlePadding=12)
            .configure_legend(labelFontSize=18, titleFontSize=18, symbolSize=220, orient="top", labelLimit=420)
            .configure_title(fontSize=22, anchor="start")
            .configure_text(fontSize=17)
            .configure_view(strokeWidth=0))


# --- notes: definitions (SPEC §5) in the words of the Definitions page ---------------------------

def _definitions(ctx: scorecard.DataContext) -> dict[str, str]:
    s = ctx.settings
    eligible = (f"A surgeon is eligible with at least {ctx.min_cases} cases of the procedure in the period; "
                f"figures about surgeons are shown only when at least {ctx.min_peers} are eligible.")
    return {
        "blinding": ("Surgeons are blinded as Surgeon A, B, C…. Letters are stable for this procedure and period, "
                     "cannot be worked out from anyone's id, and each surgeon sees their own letter on their "
                     "scorecard for the same procedure and period. Case volumes are banded."),
        "cost": (f"Median case cost: each surgeon's median over all their cases in the period. Case cost = supplies "
                 f"(non-implant lines, quantity × price paid) + implants + pharmacy + OR time (minutes × "
                 f"${s['or_cost_per_minute_usd']:,.2f}) + bed days (length of stay × ${s['bed_day_cost_usd']:,.0f}). "
                 f"Peer median: the median of the eligible surgeons' medians; best quartile: their 25th percentile. "
                 + eligible),
        "breakdown": ("Each bar is a surgeon's mean cost per case by component (supplies, implants, pharmacy, OR time, "
                      "bed days); the bars add up to the mean case cost, which can differ from the median shown "
                      "before. The figures at the side are the peer medians of each component. " + eligible),
        "outcomes": ("Risk adjustment: per procedure, a model of each outcome on patient factors only (age, sex, ASA "
                     "class, comorbidity index, admission type — never the surgeon, never the payer). Expected = the "
                     "sum of the model's predictions over a surgeon's cases; O/E = observed ÷ expected. Where an "
                     "outcome has too few events to fit a model it is shown unadjusted and nobody is called out. "
                     "Rates here are over the eligible surgeons' cases."),
        "funnel": ("Funnel plot: each surgeon's O/E against their expected count, with exact Poisson 95% and 99.8% "
                   "limits, widened for overdispersion when the data show it (SHMI method: z = √E·ln(O/E), 10% "
                   "trimmed at each end, τ² by DerSimonian–Laird). A surgeon is called out only outside the 99.8% "
                   "limit; points between the limits are expected by chance. There are no rankings."),
        "preferred": ("Preferred-product use: over a surgeon's lines in categories that have a preferred item, 100 × "
                      "preferred units ÷ all units (the share by spend is beside it). Surgeons with no such lines "
                      "are not drawn. " + eligible),
        "switch": ("Switch saving: over non-preferred lines in categories with a preferred item, the sum of max(0, "
                   "(price paid − the cheapest preferred item's unit cost) × quantity), for the eligible surgeons' "
                   "cases in the period."),
        "drivers": ("Spend per case by supply category: the category's spend over your cases ÷ your cases, against "
                    "the median over eligible peers (0 for a peer who never used the category). Spend = quantity × "
                    "price paid."),
        "trend": (f"By calendar quarter over all the data (not only the period): the peer median of a quarter is the "
                  f"median of the medians of the surgeons with cases that quarter, shown when at least "
                  f"{ctx.min_peers} surgeons had cases. Cases removed by accepted flags are not counted."),
    }


def _notes(text: str, ctx: scorecard.DataContext, period: Period, excluded: list[str] | None,
           defs: dict[str, str]) -> str:
    removed = len(excluded or [])
    return (f"{text}\n\n{defs['blinding']}\n\nPeriod: {period.label}. Data as of {_as_of(ctx)}, the latest "
            "surgery date in the data."
            + (f" {removed} case(s) removed by accepted flags are excluded." if removed else ""))


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


def your_letter(viewer: access.Viewer, procedure_code: str, period: Period, secret: bytes,
                excluded: list[str] | None = None) -> str | None:
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
    """Figures about the compared group as a whole (ids stay in here; nothing per surgeon leaves)."""
    variables = scorecard.period_variables(period, excluded)
    pos = db.fetch("mart_cost_position", where={"procedure_code": procedure_code}, variables=variables)
    eligible = pos[pos["eligible_flag"]]
    first = eligible.iloc[0].to_dict() if len(eligible) else {}
    out = {"eligible_ids": eligible["physician_id"].tolist(), "eligible_count": len(eligible),
           "cases": int(eligible["case_count"].sum()) if len(eligible) else 0,
           "all_cases": int(pos["case_count"].sum()) if len(pos) else 0,
           "shown": bool(pos["peers_shown_flag"].any()) if len(pos) else False}
    for key in ("peer_median_case_cost_usd", "best_quartile_case_cost_usd",
                *(f"peer_{c}_usd" for c in scorecard.COMPONENTS)):
        out[key] = first.get(key, np.nan)
    return out


def _title_slide(deck_title: str, subtitle: str, group: dict, notes) -> Slide:
    figures = [Figure("Surgeons compared", f"{group['eligible_count']}"),
               Figure("Cases compared", f"{group['cases']:,}")]
    if group["shown"]:
        figures.append(Figure("Peer median case cost", money(group["peer_median_case_cost_usd"])))
    text = ("This deck compares surgeons doing the same procedure, blinded as Surgeon A, B, C…. Each surgeon can "
            "find their own letter on their scorecard for the same procedure and period.")
    return Slide("title", deck_title, subtitle, None, figures, pd.DataFrame(), notes(text))


def _cost_slide(peers: pd.DataFrame, group: dict, name: str, notes) -> Slide:
    data = peers[["label", "median_case_cost_usd", "volume_band"]].copy()
    data["letter"] = data["label"].map(_short)
    lo, hi = data["median_case_cost_usd"].min(), data["median_case_cost_usd"].max()
    median, best = group["peer_median_case_cost_usd"], group["best_quartile_case_cost_usd"]
    order = data.sort_values("median_case_cost_usd")["letter"].tolist()
    bars = alt.Chart(data).mark_bar(color=charts.PEER).encode(
        x=alt.X("letter:N", sort=order, title="Surgeon (blinded)", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("median_case_cost_usd:Q", title="Median case cost", axis=alt.Axis(format="$,.0f")),
        tooltip=[alt.Tooltip("label:N", title="Surgeon"),
                 alt.Tooltip("median_case_cost_usd:Q", title="Median case cost", format="$,.0f"),
                 alt.Tooltip("volume_band:N", title="Cases (band)")])
    # Values sit inside the bars' tops, clear of the dashed reference lines behind them.
    values = bars.mark_text(dy=10, baseline="top", color="white", fontWeight="bold").encode(
        text=alt.Text("median_case_cost_usd:Q", format="$.3~s"))  # $12.3k: fits a bar among twenty
    what = [f"Peer median {money(median)}", f"Best quartile {money(best)}"]
    rule = alt.Chart(pd.DataFrame({"y": [median, best], "what": what})).mark_rule(size=3, strokeDash=[8, 5]).encode(
        y="y:Q", color=alt.Color("what:N", title=None, scale=alt.Scale(domain=what, range=["black", charts.GREEN])))
    chart = projector(alt.layer(rule, bars, values).properties(height=_FIG_SIZE, width="container"))
    headline = (f"Median case cost for {name.lower()} ranges from {money(lo)} to {money(hi)} across "
                f"{len(data)} surgeons; the peer median is {money(median)}.")
    figures = [Figure("Peer median", money(median)), Figure("Best quartile", money(best)),
               Figure("Lowest – highest", f"{money(lo)} – {money(hi)}"),
               Figure("Surgeons compared", str(len(data)))]
    return Slide("cost", "Cost per case across surgeons", headline, chart, figures,
                 data.drop(columns="letter"), notes("cost"))


def _breakdown_slide(peers: pd.DataFrame, group: dict, notes) -> Slide:
    cols = [f"{c}_usd" for c in COMPONENT_ORDER]
    data = peers[["label", *cols]].copy()
    long = data.melt(id_vars="label", value_vars=cols, var_name="component", value_name="usd")
    long["component"] = long["component"].str.removesuffix("_usd").map(scorecard.COMPONENT_LABELS)
    long["letter"] = long["label"].map(_short)
    names = [scorecard.COMPONENT_LABELS[c] for c in COMPONENT_ORDER]
    long["stack_order"] = long["component"].map({name: i for i, name in enumerate(names)})
    order = peers.sort_values("median_case_cost_usd")["label"].map(_short).tolist()
    chart = projector(alt.Chart(long).mark_bar().encode(
        x=alt.X("letter:N", sort=order, title="Surgeon (blinded)", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("usd:Q", title="Mean cost per case", axis=alt.Axis(format="$,.0f"), stack="zero"),
        color=alt.Color("component:N", title=None, sort=names,
                        scale=alt.Scale(domain=names, range=charts.COMPONENT_COLOURS)),
        order=alt.Order("stack_order:Q"),
        tooltip=[alt.Tooltip("label:N", title="Surgeon"), alt.Tooltip("component:N", title="Component"),
                 alt.Tooltip("usd:Q", title="Mean per case", format="$,.0f")],
    ).properties(height=_FIG_SIZE, width="container"))
    peer = {c: group[f"peer_{c}_usd"] for c in COMPONENT_ORDER}
    total = sum(v for v in peer.values() if not _missing(v))
    biggest = max(peer, key=lambda c: -1 if _missing(peer[c]) else peer[c])
    spread = {c: data[f"{c}_usd"].max() - data[f"{c}_usd"].min() for c in COMPONENT_ORDER}
    widest = max(spread, key=spread.get)
    share = f" ({pct(100 * peer[biggest] / total)} of a typical case's cost)" if total else ""
    headline = (f"{scorecard.COMPONENT_LABELS[biggest]} are the largest part of a case{share}; surgeons differ most "
                f"in {scorecard.COMPONENT_LABELS[widest].lower()} ({money(data[f'{widest}_usd'].min())} – "
                f"{money(data[f'{widest}_usd'].max())} per case).")
    headline = headline.replace("OR time are", "OR time is")
    figures = [Figure(scorecard.COMPONENT_LABELS[c], money(peer[c]), "peer median per case") for c in COMPONENT_ORDER]
    return Slide("breakdown", "Where the cost goes", headline, chart, figures, data, notes("breakdown"))


def _outcome_rows(procedure_code: str, period: Period, excluded: list[str] | None, group: dict) -> pd.DataFrame:
    """Group totals per outcome over the eligible surgeons' cases."""
    frame = db.fetch("mart_outcome_position", where={"procedure_code": procedure_code},
                     variables=scorecard.period_variables(period, excluded))
    frame = frame[frame["physician_id"].isin(group["eligible_ids"])]
    rows = []
    for outcome in scorecard.OUTCOMES:
        part = frame[frame["outcome"] == outcome]
        if part.empty:
            continue
        cases, observed, expected = int(part["case_count"].sum()), float(part["observed_count"].sum()), \
            float(part["expected_count"].sum())
        rows.append({"outcome": outcome, "label": scorecard.OUTCOME_LABELS[outcome], "cases": cases,
                     "observed": observed, "expected": expected,
                     "rate": observed / cases if cases else np.nan,
                     "adjusted": bool(part["adjusted_flag"].all()), "model_note": str(part["model_note"].iloc[0])})
    return pd.DataFrame(rows)


def _rate_text(row: dict) -> str:
    if row["outcome"] == "los_days":
        return f"{row['rate']:.1f} days"
    return pct(100 * row["rate"]) if row["rate"] >= 0.01 or row["rate"] == 0 else f"{100 * row['rate']:.1f}%"


def _callouts(points: pd.DataFrame, adjusted: bool) -> tuple[list[str], list[str]]:
    """Letters above and below the 99.8% limit (the only ones a funnel calls out)."""
    flags = [scorecard.physician_flag(row, adjusted) for row in points.to_dict("records")]
    high = [lab for lab, f in zip(points["label"], flags) if f == "high_998"]
    low = [lab for lab, f in zip(points["label"], flags) if f == "low_998"]
    return high, low


def _outcomes_slide(rows: pd.DataFrame, funnels: dict, notes) -> Slide:
    figures, called = [], []
    for row in rows.to_dict("records"):
        note = ("observed; compared after risk adjustment" if row["adjusted"]
                else "observed; too few events to risk-adjust, so nobody is compared")
        figures.append(Figure(row["label"], _rate_text(row), note))
        if row["adjusted"] and row["outcome"] in funnels:
            high, low = _callouts(funnels[row["outcome"]][0], True)
            called += [f"{lab} ({row['label'].lower()}, above)" for lab in high]
            called += [f"{lab} ({row['label'].lower()}, below)" for lab in low]
    if rows.empty:
        headline = "No outcomes recorded for this procedure in this period."
    elif not rows["adjusted"].any():
        headline = ("Too few events to risk-adjust any outcome in this period: rates are shown unadjusted and no "
                    "surgeon is called out.")
    elif called:
        headline = "Outside the 99.8% limit given their patients' risk: " + "; ".join(called) + "."
    else:
        headline = "No surgeon is outside the 99.8% limit on any risk-adjusted outcome, given their patients' risk."
    data = rows.drop(columns=["outcome"]).rename(columns={"label": "outcome"}) if len(rows) else rows
    return Slide("outcomes", "Outcomes", headline, None, figures, data, notes("outcomes"))


def _funnel_chart(points: pd.DataFrame, tau2: float, called: set[str]) -> Any:
    """The funnel as `charts.funnel` draws it, for a room: nobody is "you", every point carries its letter."""
    e_max = max(float(points["expected"].max()) * 1.15, 1.0)
    e_min = max(min(float(points["expected"].min()) * 0.8, e_max / 20), 0.05)
    grid = np.linspace(e_min, e_max, 120)
    lim = stats.funnel_limits(grid, tau2)
    lines = pd.concat([pd.DataFrame({"expected": grid, "ratio": lim[col], "side": col,
                                     "limit": "99.8% limit" if col.endswith("998") else "95% limit"})
                       for col in ("lower95", "upper95", "lower998", "upper998")])
    # Limits shoot up at small expected counts; the axis stops a little above the highest point.
    y_max = max(2.0, 1.25 * float(points["ratio"].max()), 1.1 * float(lim["upper998"].iloc[-1]))
    y = alt.Y("ratio:Q", title="Observed / expected", scale=alt.Scale(domain=[0, y_max], nice=False))
    limits = alt.Chart(lines).mark_line(strokeDash=[6, 4], strokeWidth=2.5, clip=True).encode(
        x="expected:Q", y=y, detail="side:N",
        color=alt.Color("limit:N", title=None, scale=alt.Scale(domain=["95% limit", "99.8% limit"],
                                                               range=[charts.LIMIT95, charts.LIMIT998])))
    one = alt.Chart(pd.DataFrame({"y": [1.0]})).mark_rule(color="black", size=1.5).encode(y="y:Q")
    data = points.assign(letter=points["label"].map(_short),
                         called=points["label"].isin(called).map({True: "Outside 99.8%", False: "Within"}))
    dots = alt.Chart(data).mark_point(filled=True, opacity=0.95).encode(
        x=alt.X("expected:Q", title="Expected (risk-adjusted)", scale=alt.Scale(zero=False)),
        y=y,
        size=alt.Size("called:N", scale=alt.Scale(domain=["Within", "Outside 99.8%"], range=[140, 320]), legend=None),
        color=alt.value("#333333"),
        tooltip=[alt.Tooltip("label:N", title="Surgeon"), alt.Tooltip("observed:Q", title="Observed", format=",.1f"),
                 alt.Tooltip("expected:Q", title="Expected", format=",.1f"),
                 alt.Tooltip("ratio:Q", title="O/E", format=".2f")])
    tags = dots.mark_text(align="left", dx=12, dy=-6, color="#333333").encode(
        text="letter:N", size=alt.value(18), color=alt.value("#333333"))
    return projector(alt.layer(limits, one, dots, tags).properties(height=_FIG_SIZE, width="container"))


def _funnel_slide(outcome: str, points: pd.DataFrame, meta: dict, notes) -> Slide:
    """One outcome's funnel: every surgeon a grey point with their letter; limits widened by τ²."""
    label = scorecard.OUTCOME_LABELS[outcome]
    high, low = _callouts(points, True)
    chart = _funnel_chart(points, float(meta.get("tau2", 0.0) or 0.0), set(high + low))
    total_o, total_e = points["observed"].sum(), points["expected"].sum()
    if high or low:
        parts = [f"{_letters(side)} {'is' if len(side) == 1 else 'are'} {word}"
                 for side, word in ((high, "above"), (low, "below")) if side]
        headline = f"{' and '.join(parts)} the 99.8% limit, given their patients' risk."
    else:
        headline = "Every surgeon is within the 99.8% limits, given their patients' risk."
    short = lambda side: ", ".join(_short(x) for x in sorted(side, key=lambda s: (len(s), s))) or "none"  # noqa: E731
    figures = [Figure("Surgeons above the 99.8% limit", short(high)),
               Figure("Surgeons below the 99.8% limit", short(low)),
               Figure("Group O/E", "–" if not total_e else f"{total_o / total_e:.2f}", "observed ÷ expected"),
               Figure("Surgeons", str(len(points)))]
    data = points[["label", "observed", "expected", "ratio", "lower95", "upper95", "lower998", "upper998",
                   "volume_band"]]
    return Slide(f"funnel-{outcome}", f"{label}: observed against expected", headline, chart, figures, data,
                 notes("funnel"))


def _preferred_frames(procedure_code: str, period: Period, excluded: list[str] | None,
                      group: dict) -> tuple[dict, pd.DataFrame]:
    """Group preferred use and, per category with a preferred item, the group's use and switch saving."""
    use = db.fetch("mart_preferred_use", where={"procedure_code": procedure_code},
                   variables=scorecard.period_variables(period, excluded))
    use = use[use["physician_id"].isin(group["eligible_ids"]) & use["has_preferred_flag"]]
    cats = use.groupby("category", as_index=False)[["units_count", "preferred_units_count", "spend_usd",
                                                     "preferred_spend_usd", "switch_saving_usd"]].sum()
    cats["preferred_use_pct"] = 100 * cats["preferred_units_count"] / cats["units_count"].where(cats["units_count"] > 0)
    cats = cats.sort_values("switch_saving_usd", ascending=False).reset_index(drop=True)
    units, spend = use["units_count"].sum(), use["spend_usd"].sum()
    totals = {"use_pct": 100 * use["preferred_units_count"].sum() / units if units else np.nan,
              "spend_pct": 100 * use["preferred_spend_usd"].sum() / spend if spend else np.nan,
              "saving": float(use["switch_saving_usd"].sum())}
    return totals, cats


def _preferred_slide(peers: pd.DataFrame, totals: dict, notes) -> Slide:
    data = peers[["label", "preferred_use_pct"]].dropna().copy()
    data["letter"] = data["label"].map(_short)
    order = data.sort_values("preferred_use_pct", ascending=False)["letter"].tolist()
    bars = alt.Chart(data).mark_bar(color=charts.GREEN).encode(
        x=alt.X("letter:N", sort=order, title="Surgeon (blinded)", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("preferred_use_pct:Q", title="Preferred units (%)", scale=alt.Scale(domain=[0, 100])),
        tooltip=[alt.Tooltip("label:N", title="Surgeon"),
                 alt.Tooltip("preferred_use_pct:Q", title="Preferred use", format=".0f")])
    values = bars.mark_text(dy=10, baseline="top", color="white", fontWeight="bold").encode(
        text=alt.Text("preferred_use_pct:Q", format=".0f"))
    rule = alt.Chart(pd.DataFrame({"y": [totals["use_pct"]], "what": [f"Group {pct(totals['use_pct'])}"]})).mark_rule(
        size=3, strokeDash=[8, 5]).encode(y="y:Q",
                                          color=alt.Color("what:N", title=None, scale=alt.Scale(range=["black"])))
    chart = projector(alt.layer(rule, bars, values).properties(height=_FIG_SIZE, width="container"))
    headline = (f"Across the group, {pct(totals['use_pct'])} of units in categories with a preferred product are the "
                f"preferred one ({pct(totals['spend_pct'])} by spend)")
    headline += (f"; switching the rest would have saved {money(totals['saving'])} in this period."
                 if totals["saving"] >= 1 else ".")
    figures = [Figure("Preferred use, group", pct(totals["use_pct"]), "share of units"),
               Figure("By spend", pct(totals["spend_pct"])),
               Figure("Switch saving", money(totals["saving"]), "in this period"),
               Figure("Lowest – highest", f"{pct(data['preferred_use_pct'].min())} – "
                      f"{pct(data['preferred_use_pct'].max())}" if len(data) else "–")]
    return Slide("preferred", "Preferred-product use", headline, chart, figures, data.drop(columns="letter"),
                 notes("preferred"))


def _switch_slide(cats: pd.DataFrame, totals: dict, notes) -> Slide:
    top = cats[cats["switch_saving_usd"] >= 1].head(8).copy()
    top["use_text"] = top["preferred_use_pct"].map(lambda v: f"{pct(v)} preferred")
    bars = alt.Chart(top).mark_bar(color=charts.LIMIT95).encode(
        y=alt.Y("category:N", sort=top["category"].tolist(), title=None),
        x=alt.X("switch_saving_usd:Q", title="Switch saving in the period", axis=alt.Axis(format="$,.0f")),
        tooltip=[alt.Tooltip("category:N", title="Category"),
                 alt.Tooltip("switch_saving_usd:Q", title="Switch saving", format="$,.0f"),
                 alt.Tooltip("preferred_use_pct:Q", title="Preferred use (%)", format=".0f")])
    text = bars.mark_text(align="left", dx=8, color="black").encode(text="use_text:N")
    chart = projector(alt.layer(bars, text).properties(height=min(_FIG_SIZE, 90 + 60 * len(top)), width="container"))
    lead = top.iloc[0]
    headline = (f"{lead['category']} hold {money(lead['switch_saving_usd'])} of the {money(totals['saving'])} switch "
                f"saving; {pct(lead['preferred_use_pct'])} of units there are the preferred product.")
    figures = [Figure(r["category"], money(r["switch_saving_usd"]), f"{pct(r['preferred_use_pct'])} preferred")
               for r in top.head(4).to_dict("records")]
    data = top[["category", "units_count", "preferred_units_count", "preferred_use_pct", "spend_usd",
                "switch_saving_usd"]]
    return Slide("switch", "Where switching saves most", headline, chart, figures, data, notes("switch"))


def _trend_slide(procedure_code: str, notes, excluded: list[str] | None = None) -> Slide | None:
    frame = db.fetch("mart_cost_quarter", columns=["surgery_quarter", "quarter_physician_count",
                                                   "peer_median_case_cost_usd"],
                     where={"procedure_code": procedure_code}, order_by=["surgery_quarter"],
                     variables={"excluded_case_ids": list(excluded or [])})
    data = frame.dropna(subset=["peer_median_case_cost_usd"]).drop_duplicates("surgery_quarter").reset_index(drop=True)
    if len(data) < 2:
        return None
    data = data.rename(columns={"quarter_physician_count": "surgeons_count"})
    line = alt.Chart(data).mark_line(point=alt.OverlayMarkDef(size=140, color=charts.PEER), strokeWidth=4,
                                   color=charts.PEER).encode(
        x=alt.X("surgery_quarter:O", title="Quarter", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("peer_median_case_cost_usd:Q", title="Peer median case cost", axis=alt.Axis(format="$,.0f")),
        tooltip=[alt.Tooltip("surgery_quarter:O", title="Quarter"),
                 alt.Tooltip("peer_median_case_cost_usd:Q", title="Peer median", format="$,.0f"),
                 alt.Tooltip("surgeons_count:Q", title="Surgeons")])
    values = line.mark_text(dy=-18, color="black").encode(text=alt.Text("peer_median_case_cost_usd:Q", format="$,.0f"))
    chart = projector(alt.layer(line, values).properties(height=_FIG_SIZE, width="container"))
    first, last = data.iloc[0], data.iloc[-1]
    change = (last["peer_median_case_cost_usd"] / first["peer_median_case_cost_usd"] - 1) * 100
    direction = "rose" if change > 0.5 else "fell" if change < -0.5 else "held"
    headline = (f"The peer median case cost {direction} from {money(first['peer_median_case_cost_usd'])} in "
                f"{_quarter(first['surgery_quarter'])} to {money(last['peer_median_case_cost_usd'])} in "
                f"{_quarter(last['surgery_quarter'])}"
                + (f" ({_signed_pct(change)})." if direction != "held" else "."))
    figures = [Figure(_quarter(first["surgery_quarter"]), money(first["peer_median_case_cost_usd"]), "peer median"),
               Figure(_quarter(last["surgery_quarter"]), money(last["peer_median_case_cost_usd"]), "peer median"),
               Figure("Change", _signed_pct(change))]
    return Slide("trend", "Trend by quarter", headline, chart, figures, data, notes("trend"))


def build_deck(viewer: access.Viewer, service_line: str, procedure_code: str, period: Period, secret: bytes,
               excluded: list[str] | None = None) -> Deck:
    """The department deck for one procedure and period, blinded for everyone; PermissionError if not allowed."""
    proc = check_may_present(viewer, service_line, procedure_code)
    ctx = scorecard.data_context()
    defs = _definitions(ctx)
    notes = lambda key: _notes(defs.get(key, key), ctx, period, excluded, defs)  # noqa: E731
    name = str(proc["procedure_name"])
    group = _group(procedure_code, period, excluded)
    crowd = access.audience(viewer)
    subtitle = f"{service_line} · {period.label}"
    deck = Deck(title=name, subtitle=subtitle, procedure_code=procedure_code, procedure_name=name,
                service_line=service_line, period=period, data_as_of=_as_of(ctx), slides=[],
                file_stem=f"scorecard-{procedure_code}-{period.token}".replace("..", "_to_"),
                your_letter=your_letter(viewer, procedure_code, period, secret, excluded))
    deck.slides.append(_title_slide(name, subtitle, group, notes))
    if not group["shown"]:
        # Below min_peers nothing about surgeons is shown — not even group figures that could identify them.
        deck.slides[0].figures = [Figure("Surgeons eligible", f"fewer than {ctx.min_peers}")]
        deck.slides.append(Slide(
            "too-few", "Too few surgeons to compare",
            f"Fewer than {ctx.min_peers} surgeons had at least {ctx.min_cases} {name.lower()} cases in this period, "
            "so no comparison is shown: it could identify them. Try a longer period.",
            notes=notes("cost")))
        return deck
    peers = scorecard.peer_distribution(crowd, None, procedure_code, period, secret, excluded)
    deck.slides += [_cost_slide(peers, group, name, notes), _breakdown_slide(peers, group, notes)]
    # The episode slide (README, *Episode cost*), only with post-acute data.
    from core import episode

    if (ep := episode.department_slide(procedure_code, period, secret, excluded, name)) is not None:
        deck.slides.append(Slide("episode", ep.title, ep.headline, projector(ep.chart),
                                 [Figure(*f) for f in ep.figures], ep.data, notes(ep.notes)))
    rows = _outcome_rows(procedure_code, period, excluded, group)
    funnels = {}
    for row in rows.to_dict("records") if len(rows) else []:
        if row["adjusted"]:
            points, meta = scorecard.funnel_data(crowd, None, procedure_code, row["outcome"], period, secret,
                                                 ctx.min_peers, excluded)
            if len(points) > 1:
                funnels[row["outcome"]] = (points, meta)
    deck.slides.append(_outcomes_slide(rows, funnels, notes))
    deck.slides += [_funnel_slide(o, p, m, notes) for o, (p, m) in funnels.items()]
    totals, cats = _preferred_frames(procedure_code, period, excluded, group)
    if not _missing(totals["use_pct"]):
        deck.slides.append(_preferred_slide(peers, totals, notes))
        if (cats["switch_saving_usd"] >= 1).any():
            deck.slides.append(_switch_slide(cats, totals, notes))
    trend = _trend_slide(procedure_code, notes, excluded)
    if trend is not None:
        deck.slides.append(trend)
    return deck


# --- a physician's own scorecard as a deck (exports from the scorecard page) ---------------------

def scorecard_deck(viewer: access.Viewer, physician_id: str, procedure_code: str, period: Period, secret: bytes,
                   excluded: list[str] | None = None) -> Deck:
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
    deck = Deck(title=who, subtitle=subtitle, procedure_code=procedure_code, procedure_name=name,
                service_line=str(pos.get("service_line") or ""), period=period, data_as_of=_as_of(ctx), slides=[],
                file_stem=f"scorecard-{physician_id if viewer.identified else 'mine'}-{procedure_code}-{period.token}"
                .replace("..", "_to_"), blinded=not viewer.identified)
    gap = pos.get("gap_to_peer_median_usd")
    figures = [Figure("Cases", f"{int(pos['case_count'])}"),
               Figure("Your median case cost", money(pos["median_case_cost_usd"])),
               Figure("Peer median", money(pos.get("peer_median_case_cost_usd"))),
               Figure("Gap to the peer median", "–" if _missing(gap) else ("+" if gap > 0 else "") + money(gap))]
    deck.slides.append(Slide("title", who, subtitle, None, figures, pd.DataFrame(),
                             notes("What this scorecard shows: your cost per case and outcomes against peers doing "
                                   "the same procedure.")))
    peers = scorecard.peer_distribution(viewer, physician_id, procedure_code, period, secret, excluded)
    if pos.get("peers_shown_flag"):
        you = peers[peers["is_you"]]
        note = f" You are {you.iloc[0]['label']} in this view." if len(you) and not viewer.identified else ""
        deck.slides.append(Slide("cost", "Cost position", sentences.cost_sentence(pos, name) + note,
                                 charts.peer_distribution(peers, name, pos.get("peer_median_case_cost_usd")),
                                 figures[1:], peers, notes("cost")))
    comp = scorecard.component_comparison(pos)
    deck.slides.append(Slide("breakdown", "Cost breakdown per case", sentences.preferred_sentence(pos),
                             charts.component_bars(comp), [Figure(r["component"], money(r["usd"]), r["who"])
                                                           for r in comp[comp["who"] == "You"].to_dict("records")],
                             comp, notes("breakdown")))
    drivers = scorecard.category_drivers(physician_id, procedure_code, period, excluded)
    if not drivers.empty:
        top = drivers.head(8)
        deck.slides.append(Slide("drivers", "Supply categories driving the difference",
                                 f"Largest gap per case: {top.iloc[0]['category']} "
                                 f"({money(top.iloc[0]['gap_per_case_usd'])} per case against the median peer)."
                                 if not _missing(top.iloc[0]["gap_per_case_usd"]) else
                                 "Your spend per case by supply category.",
                                 charts.category_drivers(top), [], top, notes("drivers")))
    summary = scorecard.outcome_summary(physician_id, procedure_code, period, excluded)
    records = summary.to_dict("records")
    if records:
        unadjusted = [r["label"].lower() for r in records if not r["adjusted"]]
        headline = ("O/E above 1 means more events than expected given your patients' risk; only a result outside "
                    "the 99.8% limit is called out.")
        if unadjusted:
            headline += f" Too few events to adjust {', '.join(unadjusted)}: shown unadjusted, never flagged."
        deck.slides.append(Slide("outcomes", "Outcomes, risk-adjusted", headline, None,
                                 [Figure(r["label"], "–" if _missing(r["oe_ratio"]) else f"O/E {r['oe_ratio']:.2f}",
                                         "risk-adjusted" if r["adjusted"] else "unadjusted") for r in records],
                                 summary.drop(columns=["outcome"]), notes("outcomes")))
    for row in records:
        points, meta = scorecard.funnel_data(viewer, physician_id, procedure_code, row["outcome"], period, secret,
                                             ctx.min_peers, excluded)
        if row["adjusted"] and len(points) > 1:
            deck.slides.append(Slide(f"funnel-{row['outcome']}", row["label"], sentences.outcome_sentence(row),
                                     charts.funnel(points, meta.get("tau2", 0.0), row["label"]),
                                     [Figure("O/E", f"{row['oe_ratio']:.2f}", f"95% CI {row['ci95_low']:.2f}–"
                                             f"{row['ci95_high']:.2f}")], points, notes("funnel")))
    cost = scorecard.cost_trend(physician_id, procedure_code, excluded)
    if not cost.empty:
        deck.slides.append(Slide("trend", "Trend by quarter",
                                 "Your median case cost by quarter, beside the peer median.",
                                 charts.cost_trend(cost), [], cost.drop(columns=["physician_id"]), notes("trend")))
    return deck
