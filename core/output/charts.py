"""Altair charts for the scorecard, presentation and exports (pure: no Streamlit, no database).

Colours are the Okabe–Ito palette, safe for the common colour-vision deficiencies; "You" is
always vermillion and drawn with a distinct shape too, so nothing depends on colour alone. Every
chart has a title, labelled axes with units, and tooltips. Charts take frames the core already
blinded; they never see a physician id.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from core import stats

YOU = "#D55E00"  # vermillion
PEER = "#0072B2"  # blue
NEUTRAL = "#999999"
LIMIT95 = "#E69F00"  # orange
LIMIT998 = "#56B4E9"  # sky blue
GREEN = "#009E73"
COMPONENT_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9"]


def _money_axis(title: str) -> alt.Axis:
    return alt.Axis(title=title, format="$,.0f", labelFontSize=12, titleFontSize=13)


def peer_distribution(
    frame: pd.DataFrame, procedure_name: str, peer_median: float | None, height: int = 320
) -> alt.Chart:
    """Each eligible physician's median case cost as a bar, "You" highlighted, the peer median ruled.

    Above BARS_UP_TO physicians the bars would be unreadable (400 surgeons, 400 slivers, 400 labels):
    the chart becomes a histogram of the peers with You marked (`peer_histogram`)."""
    if len(frame) > BARS_UP_TO:
        return peer_histogram(frame, procedure_name, peer_median, height)
    data = frame.assign(
        who=np.where(frame["is_you"], "You", "Peer"),
        display=np.where(frame["is_you"], frame["label"] + " (you)", frame["label"]),
    )
    tooltip = [
        alt.Tooltip("display:N", title="Physician"),
        alt.Tooltip("median_case_cost_usd:Q", title="Median case cost", format="$,.0f"),
    ]
    if "volume_band" in data:
        tooltip.append(alt.Tooltip("volume_band:N", title="Cases (band)"))
    elif "case_count" in data:
        tooltip.append(alt.Tooltip("case_count:Q", title="Cases"))
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(
                "display:N",
                sort=alt.SortField("median_case_cost_usd"),
                title=None,
                axis=alt.Axis(labelAngle=-45, labelFontSize=11, labelOverlap=False),
            ),
            y=alt.Y("median_case_cost_usd:Q", axis=_money_axis("Median case cost")),
            color=alt.Color(
                "who:N",
                scale=alt.Scale(domain=["You", "Peer"], range=[YOU, PEER]),
                legend=alt.Legend(title=None, orient="top"),
            ),
            tooltip=tooltip,
        )
    )
    layers = [bars]
    if peer_median is not None and not pd.isna(peer_median):
        rule = (
            alt.Chart(pd.DataFrame({"y": [peer_median], "label": ["Peer median"]}))
            .mark_rule(color="black", strokeDash=[6, 4], size=2)
            .encode(y="y:Q", tooltip=[alt.Tooltip("y:Q", title="Peer median", format="$,.0f")])
        )
        layers.append(rule)
    return alt.layer(*layers).properties(
        title=f"Median case cost per physician — {procedure_name}", height=height, width="container"
    )


BARS_UP_TO = 40  # physicians drawn one bar each; more become a histogram


def peer_histogram(frame: pd.DataFrame, procedure_name: str, peer_median: float | None, height: int = 320) -> alt.Chart:
    """How many peers sit in each band of median case cost, You drawn as a labelled vermillion rule.

    Reads at any peer-group size (README, *Performance*: 400 surgeons): the shape of the peer group, where
    You fall in it, and the peer median, with the exact figures in the tooltips. Bins are Vega-Lite's
    (drawn in the browser from the blinded per-physician medians), so nothing is grouped in Python.
    """
    you = frame[frame["is_you"]]
    peers = frame[~frame["is_you"].astype(bool)]
    bars = (
        alt.Chart(peers)
        .mark_bar(color=PEER, opacity=0.75, binSpacing=1)
        .encode(
            x=alt.X("median_case_cost_usd:Q", bin=alt.Bin(maxbins=30), axis=_money_axis("Median case cost")),
            y=alt.Y("count():Q", title="Physicians", axis=alt.Axis(labelFontSize=12, titleFontSize=13, tickMinStep=1)),
            tooltip=[
                alt.Tooltip(
                    "median_case_cost_usd:Q", bin=alt.Bin(maxbins=30), title="Median case cost", format="$,.0f"
                ),
                alt.Tooltip("count():Q", title="Physicians"),
            ],
        )
    )
    layers = [bars]
    if peer_median is not None and not pd.isna(peer_median):
        median = pd.DataFrame({"x": [peer_median], "label": ["Peer median"]})
        layers.append(
            alt.Chart(median)
            .mark_rule(color="black", strokeDash=[6, 4], size=2)
            .encode(x="x:Q", tooltip=[alt.Tooltip("x:Q", title="Peer median", format="$,.0f")])
        )
    if len(you):
        mark = pd.DataFrame({"x": [float(you.iloc[0]["median_case_cost_usd"])], "label": ["You"]})
        layers.append(
            alt.Chart(mark)
            .mark_rule(color=YOU, size=4)
            .encode(x="x:Q", tooltip=[alt.Tooltip("x:Q", title="Your median case cost", format="$,.0f")])
        )
        layers.append(
            alt.Chart(mark)
            .mark_text(color=YOU, fontWeight="bold", fontSize=14, baseline="bottom", y=-3)
            .encode(x="x:Q", text="label:N")
        )
    title = alt.TitleParams(
        "Median case cost per physician",
        offset=18,
        subtitle=[
            f"{procedure_name} · {len(frame)} physicians",
            "bars: physicians per cost band · dashed: peer median",
        ],
    )
    return alt.layer(*layers).properties(title=title, height=height, width="container")


def _you_vs_peer_bars(
    long: pd.DataFrame, field: str, field_title: str, order: list, value_title: str, title: str, height: int
) -> alt.Chart:
    """Horizontal bars per `field`, "You" and "Peer median" side by side (frame: field, who, usd)."""
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y(
                f"{field}:N",
                title=None,
                sort=order,
                axis=alt.Axis(labelFontSize=12, labelLimit=220, labelOverlap=False),
            ),
            yOffset=alt.YOffset("who:N", sort=["You", "Peer median"]),
            x=alt.X("usd:Q", axis=_money_axis(value_title)),
            color=alt.Color(
                "who:N",
                scale=alt.Scale(domain=["You", "Peer median"], range=[YOU, PEER]),
                legend=alt.Legend(title=None, orient="top"),
            ),
            tooltip=[
                alt.Tooltip(f"{field}:N", title=field_title),
                alt.Tooltip("who:N", title="Who"),
                alt.Tooltip("usd:Q", title=value_title, format="$,.0f"),
            ],
        )
        .properties(title=title, height=height, width="container")
    )


def component_bars(frame: pd.DataFrame, height: int = 320) -> alt.Chart:
    """Mean cost per case by component: you against the peer median, side by side."""
    return _you_vs_peer_bars(
        frame,
        "component",
        "Component",
        list(frame["component"].unique()),
        "Mean cost per case",
        "Cost breakdown per case",
        height,
    )


def category_drivers(frame: pd.DataFrame, height: int | None = None) -> alt.Chart:
    """Supply categories by spend per case, you against the median peer."""
    long = frame.melt(
        id_vars=["category"], value_vars=["you_per_case_usd", "peer_per_case_usd"], var_name="who", value_name="usd"
    ).dropna()
    long["who"] = long["who"].map({"you_per_case_usd": "You", "peer_per_case_usd": "Peer median"})
    return _you_vs_peer_bars(
        long,
        "category",
        "Category",
        list(frame["category"]),
        "Spend per case",
        "Supply categories driving the difference",
        height or 90 + 34 * len(frame),
    )


def funnel(points: pd.DataFrame, tau2: float, title: str, height: int = 360) -> alt.Chart:
    """O/E against expected count with 95% and 99.8% limits (widened by τ²), "You" marked."""
    if points.empty:
        return alt.Chart(pd.DataFrame({"x": []})).mark_point().properties(title=title)
    e_max = max(float(points["expected"].max()) * 1.15, 1.0)
    e_min = max(float(points["expected"].min()) * 0.6, e_max / 40, 0.05)
    grid = np.linspace(e_min, e_max, 120)
    lim = stats.funnel_limits(grid, tau2)
    lines = []
    for col, label in (
        ("lower95", "95% limit"),
        ("upper95", "95% limit"),
        ("lower998", "99.8% limit"),
        ("upper998", "99.8% limit"),
    ):
        lines.append(pd.DataFrame({"expected": grid, "ratio": lim[col], "limit": label, "side": col}))
    lines = pd.concat(lines)
    # Limits shoot up at tiny expected counts: cap the axis where the physicians are, so their
    # points are readable, and clip the lines to it.
    y_max = float(
        max(
            2.5,
            np.nanmax(points["ratio"].to_numpy(dtype=float), initial=0) * 1.25,
            np.nanmax(lim["upper95"].to_numpy()[-1:], initial=0) * 1.3,
        )
    )
    y_scale = alt.Scale(domain=[0, y_max], clamp=False)
    limit_layer = (
        alt.Chart(lines)
        .mark_line(strokeDash=[5, 3], clip=True)
        .encode(
            x=alt.X("expected:Q"),
            y=alt.Y("ratio:Q", scale=y_scale),
            detail="side:N",
            color=alt.Color(
                "limit:N",
                scale=alt.Scale(domain=["95% limit", "99.8% limit"], range=[LIMIT95, LIMIT998]),
                legend=alt.Legend(title=None, orient="top"),
            ),
        )
    )
    one = alt.Chart(pd.DataFrame({"y": [1.0]})).mark_rule(color="black", size=1).encode(y="y:Q")
    data = points.assign(
        who=np.where(points["is_you"], "You", "Peer"),
        display=np.where(points["is_you"], points["label"] + " (you)", points["label"]),
    )
    # Blinded peers carry no observed count and sit at their band's expected count (core.scorecard.funnel_data):
    # the tooltip then says so rather than showing a made-up number.
    banded = bool(points["observed"].isna().any())
    tooltip = [alt.Tooltip("display:N", title="Physician")]
    if not banded:
        tooltip.append(alt.Tooltip("observed:Q", title="Observed", format=",.1f"))
    tooltip += [
        alt.Tooltip(
            "expected:Q", title="Expected (peers: typical of their band)" if banded else "Expected", format=",.1f"
        ),
        alt.Tooltip("ratio:Q", title="O/E", format=".2f"),
    ]
    dots = (
        alt.Chart(data)
        .mark_point(filled=True, opacity=0.9, clip=True)
        .encode(
            x=alt.X("expected:Q", title="Expected (risk-adjusted)", scale=alt.Scale(zero=False)),
            y=alt.Y("ratio:Q", title="Observed / expected", scale=y_scale),
            color=alt.Color(
                "who:N",
                scale=alt.Scale(domain=["You", "Peer"], range=[YOU, NEUTRAL]),
                legend=alt.Legend(title=None, orient="top"),
            ),
            shape=alt.Shape("who:N", scale=alt.Scale(domain=["You", "Peer"], range=["diamond", "circle"]), legend=None),
            size=alt.condition("datum.who == 'You'", alt.value(220), alt.value(70)),
            tooltip=tooltip,
        )
    )
    return (
        alt.layer(limit_layer, one, dots)
        .resolve_scale(color="independent")
        .properties(title=title, height=height, width="container")
    )


def cost_trend(frame: pd.DataFrame, height: int = 320) -> alt.Chart:
    """Median case cost by quarter: you and the peer median."""
    parts = [frame[["surgery_quarter", "median_case_cost_usd", "case_count"]].assign(who="You")]
    peer = (
        frame[["surgery_quarter", "peer_median_case_cost_usd"]]
        .dropna()
        .rename(columns={"peer_median_case_cost_usd": "median_case_cost_usd"})
        .assign(who="Peer median", case_count=np.nan)
    )
    data = pd.concat([parts[0], peer])
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("surgery_quarter:O", title="Quarter", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("median_case_cost_usd:Q", axis=_money_axis("Median case cost")),
            color=alt.Color(
                "who:N",
                scale=alt.Scale(domain=["You", "Peer median"], range=[YOU, PEER]),
                legend=alt.Legend(title=None, orient="top"),
            ),
            strokeDash=alt.StrokeDash(
                "who:N", scale=alt.Scale(domain=["You", "Peer median"], range=[[1, 0], [6, 4]]), legend=None
            ),
            tooltip=[
                alt.Tooltip("surgery_quarter:O", title="Quarter"),
                alt.Tooltip("who:N", title="Who"),
                alt.Tooltip("median_case_cost_usd:Q", title="Median case cost", format="$,.0f"),
                alt.Tooltip("case_count:Q", title="Your cases"),
            ],
        )
        .properties(title="Median case cost by quarter", height=height, width="container")
    )


def vlad(frame: pd.DataFrame, label: str, unit: str = "events", height: int = 260) -> alt.Chart:
    """One outcome's cumulative risk-adjusted chart (VLAD): running expected − observed, case by case.

    `frame` is mart_outcome_vlad rows for one physician, procedure and outcome (case_number,
    vlad_count, ...). Above 0: fewer events than the patients' risk predicts ("net avoided"); below
    0, more. A steady slope matters, not one step: each event is a drop of 1 − expected, and each
    case without one a rise of its expected value (Definitions page, "Outcomes over time").
    """
    data = frame[
        [
            "case_number",
            "surgery_date",
            "observed_count",
            "expected_count",
            "cumulative_observed_count",
            "cumulative_expected_count",
            "vlad_count",
        ]
    ].copy()
    data["surgery_date"] = pd.to_datetime(data["surgery_date"]).dt.strftime("%Y-%m-%d")
    # A short axis title: a rotated title longer than the plot is high squeezes the plot to nothing.
    y_title = f"Net {unit} avoided"
    line = (
        alt.Chart(data)
        .mark_line(color=YOU, strokeWidth=2, interpolate="step-after")
        .encode(
            x=alt.X("case_number:Q", title="Your cases, in date order", scale=alt.Scale(nice=False)),
            y=alt.Y("vlad_count:Q", title=y_title),
            tooltip=[
                alt.Tooltip("case_number:Q", title="Case"),
                alt.Tooltip("surgery_date:N", title="Surgery date"),
                alt.Tooltip("cumulative_observed_count:Q", title=f"Observed so far ({unit})", format=",.0f"),
                alt.Tooltip("cumulative_expected_count:Q", title=f"Expected so far ({unit})", format=",.1f"),
                alt.Tooltip("vlad_count:Q", title=f"Net {unit} avoided", format="+,.1f"),
            ],
        )
    )
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color="black", strokeDash=[4, 4]).encode(y="y:Q")
    return alt.layer(zero, line).properties(
        title=f"{label}: net {unit} avoided over time", height=height, width="container"
    )


def cusum(frame: pd.DataFrame, label: str, height: int = 200) -> alt.Chart:
    """One outcome's risk-adjusted CUSUM (Steiner et al. 2000) with its signal threshold ruled.

    `frame` is mart_outcome_vlad rows for one physician, procedure and binary outcome. The chart
    climbs with events beyond the patients' risk and rests at 0 otherwise; reaching the threshold
    (h = 4.5 for a doubling of the odds) is a signal worth a look at the cases, not a verdict.
    """
    data = frame[["case_number", "surgery_date", "cusum_count"]].copy()
    data["surgery_date"] = pd.to_datetime(data["surgery_date"]).dt.strftime("%Y-%m-%d")
    limit = float(frame["cusum_limit_count"].dropna().iloc[0]) if frame["cusum_limit_count"].notna().any() else 4.5
    y_max = max(limit * 1.15, float(data["cusum_count"].max()) * 1.05)
    line = (
        alt.Chart(data)
        .mark_line(color=YOU, strokeWidth=2)
        .encode(
            x=alt.X("case_number:Q", title="Your cases, in date order", scale=alt.Scale(nice=False)),
            y=alt.Y("cusum_count:Q", title="CUSUM", scale=alt.Scale(domain=[0, y_max])),
            tooltip=[
                alt.Tooltip("case_number:Q", title="Case"),
                alt.Tooltip("surgery_date:N", title="Surgery date"),
                alt.Tooltip("cusum_count:Q", title="CUSUM", format=".2f"),
            ],
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"y": [limit], "what": [f"signal threshold {limit:g}"]}))
        .mark_rule(color=LIMIT95, strokeDash=[6, 3], size=2)
        .encode(y="y:Q", tooltip=[alt.Tooltip("what:N", title="")])
    )
    return alt.layer(rule, line).properties(title=f"{label}: CUSUM for doubled odds", height=height, width="container")
