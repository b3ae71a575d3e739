"""Decks: the types a presentation is made of, and the slide builders, from figures already fetched.

Pure (no database, no Streamlit): `core.presentation` reads the mart views and calls these builders;
`core.output.exports` writes a Deck as PowerPoint, PNG, SVG or CSV; `core.ui` draws it on screen. Each
slide says one idea: a title, the sentence that says it, a chart (already blinded), key figures and
speaker notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from core import metrics, stats
from core.output import charts
from core.output import format as fmt
from core.periods import Period

# Cost components stacked biggest-first for a typical procedure: implants, then supplies, ...
_STACK_ORDER = ("implants", "supplies", "pharmacy", "or_time", "bed_days")
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


def projector(chart: Any) -> Any:
    """Large type for a room: axis, legend and title sizes that read from the back row."""
    return (
        chart.configure_axis(labelFontSize=18, titleFontSize=19, labelLimit=320, titlePadding=12)
        .configure_legend(labelFontSize=18, titleFontSize=18, symbolSize=220, orient="top", labelLimit=420)
        .configure_title(fontSize=22, anchor="start")
        .configure_text(fontSize=17)
        .configure_view(strokeWidth=0)
    )


def _short(label: str) -> str:
    """'Surgeon D' → 'D' for axes; a projector has room for twenty letters, not twenty names."""
    return str(label).removeprefix("Surgeon ")


def _letters(labels) -> str:
    labels = sorted(labels, key=lambda s: (len(s), s))
    return ", ".join(labels) if labels else "none"


def title_slide(deck_title: str, subtitle: str, group: dict, notes) -> Slide:
    figures = [
        Figure("Surgeons compared", f"{group['eligible_count']}"),
        Figure("Cases compared", f"{group['cases']:,}"),
    ]
    if group["shown"]:
        figures.append(Figure("Peer median case cost", fmt.money(group["peer_median_case_cost_usd"])))
    text = (
        "This deck compares surgeons doing the same procedure, blinded as Surgeon A, B, C…. Each surgeon can "
        "find their own letter on their scorecard for the same procedure and period."
    )
    return Slide("title", deck_title, subtitle, None, figures, pd.DataFrame(), notes(text))


def cost_slide(peers: pd.DataFrame, group: dict, name: str, notes) -> Slide:
    data = peers[["label", "median_case_cost_usd", "volume_band"]].copy()
    data["letter"] = data["label"].map(_short)
    lo, hi = data["median_case_cost_usd"].min(), data["median_case_cost_usd"].max()
    median, best = group["peer_median_case_cost_usd"], group["best_quartile_case_cost_usd"]
    order = data.sort_values("median_case_cost_usd")["letter"].tolist()
    bars = (
        alt.Chart(data)
        .mark_bar(color=charts.PEER)
        .encode(
            x=alt.X("letter:N", sort=order, title="Surgeon (blinded)", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("median_case_cost_usd:Q", title="Median case cost", axis=alt.Axis(format="$,.0f")),
            tooltip=[
                alt.Tooltip("label:N", title="Surgeon"),
                alt.Tooltip("median_case_cost_usd:Q", title="Median case cost", format="$,.0f"),
                alt.Tooltip("volume_band:N", title="Cases (band)"),
            ],
        )
    )
    # Values sit inside the bars' tops, clear of the dashed reference lines behind them.
    values = bars.mark_text(dy=10, baseline="top", color="white", fontWeight="bold").encode(
        text=alt.Text("median_case_cost_usd:Q", format="$.3~s")
    )  # $12.3k: fits a bar among twenty
    what = [f"Peer median {fmt.money(median)}", f"Best quartile {fmt.money(best)}"]
    rule = (
        alt.Chart(pd.DataFrame({"y": [median, best], "what": what}))
        .mark_rule(size=3, strokeDash=[8, 5])
        .encode(
            y="y:Q", color=alt.Color("what:N", title=None, scale=alt.Scale(domain=what, range=["black", charts.GREEN]))
        )
    )
    chart = projector(alt.layer(rule, bars, values).properties(height=_FIG_SIZE, width="container"))
    headline = (
        f"Median case cost for {name.lower()} ranges from {fmt.money(lo)} to {fmt.money(hi)} across "
        f"{len(data)} surgeons; the peer median is {fmt.money(median)}."
    )
    figures = [
        Figure("Peer median", fmt.money(median)),
        Figure("Best quartile", fmt.money(best)),
        Figure("Lowest – highest", f"{fmt.money(lo)} – {fmt.money(hi)}"),
        Figure("Surgeons compared", str(len(data))),
    ]
    return Slide(
        "cost", "Cost per case across surgeons", headline, chart, figures, data.drop(columns="letter"), notes("cost")
    )


def breakdown_slide(peers: pd.DataFrame, group: dict, notes) -> Slide:
    cols = [f"{c}_usd" for c in _STACK_ORDER]
    data = peers[["label", *cols]].copy()
    long = data.melt(id_vars="label", value_vars=cols, var_name="component", value_name="usd")
    long["component"] = long["component"].str.removesuffix("_usd").map(metrics.component_labels())
    long["letter"] = long["label"].map(_short)
    names = [metrics.component(c).label for c in _STACK_ORDER]
    long["stack_order"] = long["component"].map({name: i for i, name in enumerate(names)})
    order = peers.sort_values("median_case_cost_usd")["label"].map(_short).tolist()
    chart = projector(
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("letter:N", sort=order, title="Surgeon (blinded)", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("usd:Q", title="Mean cost per case", axis=alt.Axis(format="$,.0f"), stack="zero"),
            color=alt.Color(
                "component:N", title=None, sort=names, scale=alt.Scale(domain=names, range=charts.COMPONENT_COLOURS)
            ),
            order=alt.Order("stack_order:Q"),
            tooltip=[
                alt.Tooltip("label:N", title="Surgeon"),
                alt.Tooltip("component:N", title="Component"),
                alt.Tooltip("usd:Q", title="Mean per case", format="$,.0f"),
            ],
        )
        .properties(height=_FIG_SIZE, width="container")
    )
    peer = {c: group[f"peer_{c}_usd"] for c in _STACK_ORDER}
    total = sum(v for v in peer.values() if not fmt.missing(v))
    biggest = max(peer, key=lambda c: -1 if fmt.missing(peer[c]) else peer[c])
    spread = {c: data[f"{c}_usd"].max() - data[f"{c}_usd"].min() for c in _STACK_ORDER}
    widest = max(spread, key=spread.get)
    share = f" ({fmt.pct(100 * peer[biggest] / total)} of a typical case's cost)" if total else ""
    headline = (
        f"{metrics.component(biggest).label} are the largest part of a case{share}; surgeons differ most "
        f"in {metrics.component(widest).label.lower()} ({fmt.money(data[f'{widest}_usd'].min())} – "
        f"{fmt.money(data[f'{widest}_usd'].max())} per case)."
    )
    headline = headline.replace("OR time are", "OR time is")
    figures = [Figure(metrics.component(c).label, fmt.money(peer[c]), "peer median per case") for c in _STACK_ORDER]
    return Slide("breakdown", "Where the cost goes", headline, chart, figures, data, notes("breakdown"))


def _rate_text(row: dict) -> str:
    if not metrics.outcome(row["outcome"]).binary:
        return f"{row['rate']:.1f} days"
    return fmt.pct(100 * row["rate"]) if row["rate"] >= 0.01 or row["rate"] == 0 else f"{100 * row['rate']:.1f}%"


def _callouts(points: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Letters above and below the 99.8% limit (the only ones a funnel calls out), from the points' `flag`:
    the call made on the exact figures (`scorecard.funnel_data`), since a blinded peer's point carries no limits."""
    high = points.loc[points["flag"] == "high_998", "label"].tolist()
    low = points.loc[points["flag"] == "low_998", "label"].tolist()
    return high, low


def outcomes_slide(rows: pd.DataFrame, funnels: dict, notes) -> Slide:
    figures, called = [], []
    for row in rows.to_dict("records"):
        note = (
            "observed; compared after risk adjustment"
            if row["adjusted"]
            else "observed; too few events to risk-adjust, so nobody is compared"
        )
        figures.append(Figure(row["label"], _rate_text(row), note))
        if row["adjusted"] and row["outcome"] in funnels:
            high, low = _callouts(funnels[row["outcome"]][0])
            called += [f"{lab} ({row['label'].lower()}, above)" for lab in high]
            called += [f"{lab} ({row['label'].lower()}, below)" for lab in low]
    if rows.empty:
        headline = "No outcomes recorded for this procedure in this period."
    elif not rows["adjusted"].any():
        headline = (
            "Too few events to risk-adjust any outcome in this period: rates are shown unadjusted and no "
            "surgeon is called out."
        )
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
    lines = pd.concat(
        [
            pd.DataFrame(
                {
                    "expected": grid,
                    "ratio": lim[col],
                    "side": col,
                    "limit": "99.8% limit" if col.endswith("998") else "95% limit",
                }
            )
            for col in ("lower95", "upper95", "lower998", "upper998")
        ]
    )
    # Limits shoot up at small expected counts; the axis stops a little above the highest point.
    y_max = max(2.0, 1.25 * float(points["ratio"].max()), 1.1 * float(lim["upper998"].iloc[-1]))
    y = alt.Y("ratio:Q", title="Observed / expected", scale=alt.Scale(domain=[0, y_max], nice=False))
    limits = (
        alt.Chart(lines)
        .mark_line(strokeDash=[6, 4], strokeWidth=2.5, clip=True)
        .encode(
            x="expected:Q",
            y=y,
            detail="side:N",
            color=alt.Color(
                "limit:N",
                title=None,
                scale=alt.Scale(domain=["95% limit", "99.8% limit"], range=[charts.LIMIT95, charts.LIMIT998]),
            ),
        )
    )
    one = alt.Chart(pd.DataFrame({"y": [1.0]})).mark_rule(color="black", size=1.5).encode(y="y:Q")
    data = points.assign(
        letter=points["label"].map(_short),
        called=points["label"].isin(called).map({True: "Outside 99.8%", False: "Within"}),
    )
    dots = (
        alt.Chart(data)
        .mark_point(filled=True, opacity=0.95)
        .encode(
            x=alt.X("expected:Q", title="Expected (risk-adjusted)", scale=alt.Scale(zero=False)),
            y=y,
            size=alt.Size(
                "called:N", scale=alt.Scale(domain=["Within", "Outside 99.8%"], range=[140, 320]), legend=None
            ),
            color=alt.value("#333333"),
            # Blinded peers carry no observed count and sit at their band's expected count (scorecard.funnel_data).
            tooltip=[
                alt.Tooltip("label:N", title="Surgeon"),
                *(
                    []
                    if points["observed"].isna().any()
                    else [alt.Tooltip("observed:Q", title="Observed", format=",.1f")]
                ),
                alt.Tooltip(
                    "expected:Q",
                    title="Expected (typical of their volume band)" if points["observed"].isna().any() else "Expected",
                    format=",.1f",
                ),
                alt.Tooltip("ratio:Q", title="O/E", format=".2f"),
            ],
        )
    )
    tags = dots.mark_text(align="left", dx=12, dy=-6, color="#333333").encode(
        text="letter:N", size=alt.value(18), color=alt.value("#333333")
    )
    return projector(alt.layer(limits, one, dots, tags).properties(height=_FIG_SIZE, width="container"))


def funnel_slide(outcome: str, points: pd.DataFrame, meta: dict, notes) -> Slide:
    """One outcome's funnel: every surgeon a grey point with their letter; limits widened by τ²."""
    label = metrics.outcome(outcome).label
    high, low = _callouts(points)
    chart = _funnel_chart(points, float(meta.get("tau2", 0.0) or 0.0), set(high + low))
    # The group's totals (a blinded peer's observed count is not in the points).
    total_o, total_e = meta.get("group_observed", points["observed"].sum()), meta.get("group_expected", 0.0)
    if high or low:
        parts = [
            f"{_letters(side)} {'is' if len(side) == 1 else 'are'} {word}"
            for side, word in ((high, "above"), (low, "below"))
            if side
        ]
        headline = f"{' and '.join(parts)} the 99.8% limit, given their patients' risk."
    else:
        headline = "Every surgeon is within the 99.8% limits, given their patients' risk."
    short = lambda side: ", ".join(_short(x) for x in sorted(side, key=lambda s: (len(s), s))) or "none"  # noqa: E731
    figures = [
        Figure("Surgeons above the 99.8% limit", short(high)),
        Figure("Surgeons below the 99.8% limit", short(low)),
        Figure("Group O/E", "–" if not total_e else f"{total_o / total_e:.2f}", "observed ÷ expected"),
        Figure("Surgeons", str(len(points))),
        # Which limits, and why (README "Fair numbers at a department's size").
        Figure(
            "Limits",
            "widened for overdispersion" if meta.get("limits") == "overdispersed" else "exact Poisson",
            "too few surgeons to estimate overdispersion" if "at least" in str(meta.get("limits_reason", "")) else "",
        ),
    ]
    data = points[
        ["label", "observed", "expected", "ratio", "lower95", "upper95", "lower998", "upper998", "volume_band"]
    ]
    return Slide(
        f"funnel-{outcome}", f"{label}: observed against expected", headline, chart, figures, data, notes("funnel")
    )


def preferred_slide(peers: pd.DataFrame, totals: dict, notes) -> Slide:
    data = peers[["label", "preferred_use_pct"]].dropna().copy()
    data["letter"] = data["label"].map(_short)
    order = data.sort_values("preferred_use_pct", ascending=False)["letter"].tolist()
    bars = (
        alt.Chart(data)
        .mark_bar(color=charts.GREEN)
        .encode(
            x=alt.X("letter:N", sort=order, title="Surgeon (blinded)", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("preferred_use_pct:Q", title="Preferred units (%)", scale=alt.Scale(domain=[0, 100])),
            tooltip=[
                alt.Tooltip("label:N", title="Surgeon"),
                alt.Tooltip("preferred_use_pct:Q", title="Preferred use", format=".0f"),
            ],
        )
    )
    values = bars.mark_text(dy=10, baseline="top", color="white", fontWeight="bold").encode(
        text=alt.Text("preferred_use_pct:Q", format=".0f")
    )
    rule = (
        alt.Chart(pd.DataFrame({"y": [totals["use_pct"]], "what": [f"Group {fmt.pct(totals['use_pct'])}"]}))
        .mark_rule(size=3, strokeDash=[8, 5])
        .encode(y="y:Q", color=alt.Color("what:N", title=None, scale=alt.Scale(range=["black"])))
    )
    chart = projector(alt.layer(rule, bars, values).properties(height=_FIG_SIZE, width="container"))
    headline = (
        f"Across the group, {fmt.pct(totals['use_pct'])} of units in categories with a preferred product are the "
        f"preferred one ({fmt.pct(totals['spend_pct'])} by spend)"
    )
    headline += (
        f"; switching the rest would have saved {fmt.money(totals['saving'])} in this period."
        if totals["saving"] >= 1
        else "."
    )
    figures = [
        Figure("Preferred use, group", fmt.pct(totals["use_pct"]), "share of units"),
        Figure("By spend", fmt.pct(totals["spend_pct"])),
        Figure("Switch saving", fmt.money(totals["saving"]), "in this period"),
        Figure(
            "Lowest – highest",
            f"{fmt.pct(data['preferred_use_pct'].min())} – {fmt.pct(data['preferred_use_pct'].max())}"
            if len(data)
            else "–",
        ),
    ]
    return Slide(
        "preferred", "Preferred-product use", headline, chart, figures, data.drop(columns="letter"), notes("preferred")
    )


def switch_slide(cats: pd.DataFrame, totals: dict, notes) -> Slide:
    top = cats[cats["switch_saving_usd"] >= 1].head(8).copy()
    top["use_text"] = top["preferred_use_pct"].map(lambda v: f"{fmt.pct(v)} preferred")
    bars = (
        alt.Chart(top)
        .mark_bar(color=charts.LIMIT95)
        .encode(
            y=alt.Y("category:N", sort=top["category"].tolist(), title=None),
            x=alt.X("switch_saving_usd:Q", title="Switch saving in the period", axis=alt.Axis(format="$,.0f")),
            tooltip=[
                alt.Tooltip("category:N", title="Category"),
                alt.Tooltip("switch_saving_usd:Q", title="Switch saving", format="$,.0f"),
                alt.Tooltip("preferred_use_pct:Q", title="Preferred use (%)", format=".0f"),
            ],
        )
    )
    text = bars.mark_text(align="left", dx=8, color="black").encode(text="use_text:N")
    chart = projector(alt.layer(bars, text).properties(height=min(_FIG_SIZE, 90 + 60 * len(top)), width="container"))
    lead = top.iloc[0]
    headline = (
        f"{lead['category']} hold {fmt.money(lead['switch_saving_usd'])} of the {fmt.money(totals['saving'])} switch "
        f"saving; {fmt.pct(lead['preferred_use_pct'])} of units there are the preferred product."
    )
    figures = [
        Figure(r["category"], fmt.money(r["switch_saving_usd"]), f"{fmt.pct(r['preferred_use_pct'])} preferred")
        for r in top.head(4).to_dict("records")
    ]
    data = top[
        ["category", "units_count", "preferred_units_count", "preferred_use_pct", "spend_usd", "switch_saving_usd"]
    ]
    return Slide("switch", "Where switching saves most", headline, chart, figures, data, notes("switch"))


def trend_slide(frame: pd.DataFrame, notes) -> Slide | None:
    """The peer median case cost by quarter (mart_cost_quarter rows); None with fewer than two quarters."""
    data = frame.dropna(subset=["peer_median_case_cost_usd"]).drop_duplicates("surgery_quarter").reset_index(drop=True)
    if len(data) < 2:
        return None
    data = data.rename(columns={"quarter_physician_count": "surgeons_count"})
    line = (
        alt.Chart(data)
        .mark_line(point=alt.OverlayMarkDef(size=140, color=charts.PEER), strokeWidth=4, color=charts.PEER)
        .encode(
            x=alt.X("surgery_quarter:O", title="Quarter", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("peer_median_case_cost_usd:Q", title="Peer median case cost", axis=alt.Axis(format="$,.0f")),
            tooltip=[
                alt.Tooltip("surgery_quarter:O", title="Quarter"),
                alt.Tooltip("peer_median_case_cost_usd:Q", title="Peer median", format="$,.0f"),
                alt.Tooltip("surgeons_count:Q", title="Surgeons"),
            ],
        )
    )
    values = line.mark_text(dy=-18, color="black").encode(text=alt.Text("peer_median_case_cost_usd:Q", format="$,.0f"))
    chart = projector(alt.layer(line, values).properties(height=_FIG_SIZE, width="container"))
    first, last = data.iloc[0], data.iloc[-1]
    change = (last["peer_median_case_cost_usd"] / first["peer_median_case_cost_usd"] - 1) * 100
    direction = "rose" if change > 0.5 else "fell" if change < -0.5 else "held"
    headline = (
        f"The peer median case cost {direction} from {fmt.money(first['peer_median_case_cost_usd'])} in "
        f"{fmt.quarter(first['surgery_quarter'])} to {fmt.money(last['peer_median_case_cost_usd'])} in "
        f"{fmt.quarter(last['surgery_quarter'])}" + (f" ({fmt.signed_pct(change)})." if direction != "held" else ".")
    )
    figures = [
        Figure(fmt.quarter(first["surgery_quarter"]), fmt.money(first["peer_median_case_cost_usd"]), "peer median"),
        Figure(fmt.quarter(last["surgery_quarter"]), fmt.money(last["peer_median_case_cost_usd"]), "peer median"),
        Figure("Change", fmt.signed_pct(change)),
    ]
    return Slide("trend", "Trend by quarter", headline, chart, figures, data, notes("trend"))
