"""30-day episode cost against the target price (README, *Episode cost*): reads, sentences and the slide.

Hospitals in bundled and mandatory episode programmes (CMS's TEAM model from 2026: joint replacement,
hip fracture, spinal fusion, CABG, major bowel surgery) are paid per episode — the index stay plus 30
days of post-acute care — against a target price. A surgeon whose patients go to a skilled nursing
facility far more often can have an ordinary case cost and an expensive episode; this module says so.

Every figure comes from `mart_episode_position` (one row per physician × procedure; peer figures only
when at least `min_peers` physicians are eligible). Rows about other physicians go through
`core.access.present_peers` with the scorecard's own view key (procedure and period) and letter pool
(the eligible physicians of `mart_cost_position`), so a surgeon's letter is the same here as on their
scorecard and in the department deck. Without post-acute data the mart has no rows and every function
here returns None or an empty frame: nothing is drawn.

Pure: no Streamlit. The slide is returned as its parts (`EpisodeSlide`), which `core.presentation`
wraps in its own `Slide`, so this module sits below the presentation layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import altair as alt
import pandas as pd

from core import access, db, scorecard
from core.periods import Period

# Post-acute settings in the contract's order (README, *The data contract*: post_acute.setting).
SETTINGS = ("snf", "irf", "home_health", "readmission", "outpatient", "other")
SETTING_LABELS = {
    "snf": "Skilled nursing",
    "irf": "Inpatient rehabilitation",
    "home_health": "Home health",
    "readmission": "Readmissions",
    "outpatient": "Outpatient",
    "other": "Other post-acute",
}
PART_LABELS = {"case": "Index case", **SETTING_LABELS}
# Okabe–Ito colours (core/output/charts.py's palette), the index case in its peer blue; every part also
# has a tooltip and a legend, so nothing depends on colour alone.
PART_COLOURS = ["#0072B2", "#D55E00", "#CC79A7", "#E69F00", "#56B4E9", "#009E73", "#999999"]
TARGET_COLOUR = "#009E73"

_PEER_COLUMNS = [
    "physician_id",
    "case_count",
    "eligible_flag",
    "mean_episode_cost_usd",
    "mean_case_cost_usd",
    "mean_post_acute_usd",
    *(f"{s}_usd" for s in SETTINGS),
    "snf_discharge_pct",
    "over_target_pct",
    "episode_oe_ratio",
    "peers_shown_flag",
]


def _missing(v: Any) -> bool:
    try:
        return v is None or v is pd.NA or math.isnan(float(v))
    except (TypeError, ValueError):
        return True


def _money(v: Any) -> str:
    return "–" if _missing(v) else ("−" if float(v) < 0 else "") + f"${abs(float(v)):,.0f}"


def position(
    physician_id: str, procedure_code: str, period: Period, excluded: list[str] | None = None
) -> dict[str, Any] | None:
    """The physician's episode figures for one procedure, or None when it has no episodes (no post-acute data)."""
    frame = db.fetch(
        "mart_episode_position",
        where={"physician_id": physician_id, "procedure_code": procedure_code},
        variables=scorecard.period_variables(period, excluded),
    )
    return frame.iloc[0].to_dict() if len(frame) else None


def report_entry(pos: dict[str, Any] | None) -> dict[str, Any] | None:
    """The `"episode"` object of `python -m core report` (README, *Commands*), or None without episodes."""
    if pos is None:
        return None

    def num(v: Any, digits: int = 2) -> float | None:
        return None if _missing(v) else round(float(v), digits)

    return {
        "cases": int(pos["case_count"]),
        "mean_episode_cost_usd": num(pos["mean_episode_cost_usd"]),
        "peer_median_episode_cost_usd": num(pos["peer_median_episode_cost_usd"]),
        "target_usd": num(pos["target_usd"]),
        "over_target_pct": num(pos["over_target_pct"], 1),
        "post_acute_by_setting_usd": {s: num(pos[f"{s}_usd"]) for s in SETTINGS},
        "episode_oe_ratio": num(pos["episode_oe_ratio"], 4),
        "snf_discharge_pct": num(pos["snf_discharge_pct"], 1),
        "peer_snf_discharge_pct": num(pos["peer_snf_discharge_pct"], 1),
    }


def peers(
    viewer: access.Viewer,
    subject_id: str | None,
    procedure_code: str,
    period: Period,
    secret: bytes,
    excluded: list[str] | None = None,
) -> pd.DataFrame:
    """Each eligible physician's episode figures, presented for this viewer (blinded unless supply/admin)."""
    variables = scorecard.period_variables(period, excluded)
    frame = db.fetch(
        "mart_episode_position", columns=_PEER_COLUMNS, where={"procedure_code": procedure_code}, variables=variables
    )
    if frame.empty:
        return frame
    frame = frame[frame["eligible_flag"] | (frame["physician_id"] == subject_id)]
    if not frame["peers_shown_flag"].any():
        frame = frame[frame["physician_id"] == subject_id]
    # The scorecard's letter pool: the procedure's eligible physicians in the cost position.
    pool = db.fetch(
        "mart_cost_position",
        columns=["physician_id"],
        where={"procedure_code": procedure_code, "eligible_flag": True},
        variables=variables,
    )
    frame = frame.merge(scorecard.physicians()[["physician_id", "physician_name"]], on="physician_id", how="left")
    min_peers = int(scorecard.data_context().min_peers)
    return (
        access.present_peers(
            frame,
            viewer,
            view_key=f"{procedure_code}|{period.token}",
            secret=secret,
            min_peers=min_peers,
            you_id=subject_id,
            letter_ids=pool["physician_id"].astype(str).tolist(),
        )
        .sort_values("mean_episode_cost_usd")
        .reset_index(drop=True)
    )


def drivers(pos: dict[str, Any]) -> pd.DataFrame:
    """Where the physician's episode differs from the peer median: index case and each setting, largest gap first."""
    rows = [
        {
            "part": "case",
            "label": PART_LABELS["case"],
            "you_usd": pos["mean_case_cost_usd"],
            "peer_usd": pos["peer_mean_case_cost_usd"],
        }
    ]
    rows += [
        {"part": s, "label": SETTING_LABELS[s], "you_usd": pos[f"{s}_usd"], "peer_usd": pos[f"peer_{s}_usd"]}
        for s in SETTINGS
    ]
    out = pd.DataFrame(rows)
    out["gap_usd"] = out["you_usd"].astype(float) - out["peer_usd"].astype(float)
    return out.sort_values("gap_usd", ascending=False, na_position="last").reset_index(drop=True)


def sentence(pos: dict[str, Any], procedure_name: str) -> str:
    """The episode in one or two plain sentences: against the peer median, the target, and where the gap comes from."""
    name = procedure_name[:1].lower() + procedure_name[1:]
    mean = pos["mean_episode_cost_usd"]
    target = pos.get("target_usd")
    text = f"Your {name} episodes (the case and 30 days after discharge) cost {_money(mean)} on average"
    if not _missing(target):
        text += f"; {float(pos['over_target_pct']):.0f}% of them were over the target price of {_money(target)}"
    text += "."
    if not pos.get("eligible_flag") or not pos.get("peers_shown_flag"):
        return text + " No peer comparison is shown (too few cases or too few eligible peers)."
    gap = float(pos["gap_to_peer_median_usd"])
    if abs(gap) < 1:
        return text + " That is the peers' median."
    text += f" That is {_money(abs(gap))} {'more' if gap > 0 else 'less'} than the peers' median."
    top = drivers(pos).iloc[0 if gap > 0 else -1]
    if not _missing(top["gap_usd"]) and abs(float(top["gap_usd"])) >= 0.25 * abs(gap):
        text += (
            f" Most of the difference is {str(top['label']).lower()}: {_money(abs(top['gap_usd']))} per episode "
            f"{'more' if top['gap_usd'] > 0 else 'less'}"
        )
        if top["part"] == "snf":
            text += (
                f" ({float(pos['snf_discharge_pct']):.0f}% of your patients went to a skilled nursing facility, "
                f"peers' median {float(pos['peer_snf_discharge_pct']):.0f}%)"
            )
        text += "."
    return text


def stack_chart(
    frame: pd.DataFrame, height: int = 320, *, you: bool = True, legend_columns: int | None = None
) -> alt.Chart:
    """Mean episode cost per physician as stacked parts (index case, then each setting), target and peer median ruled."""
    cols = ["mean_case_cost_usd", *(f"{s}_usd" for s in SETTINGS)]
    data = frame.assign(
        who=frame["label"].astype(str) + frame["is_you"].map({True: " (you)", False: ""})
        if you
        else frame["label"].astype(str)
    )
    long = data.melt(id_vars=["who", "mean_episode_cost_usd"], value_vars=cols, var_name="part", value_name="usd")
    parts = ["case", *SETTINGS]
    long["part"] = long["part"].map(dict(zip(cols, parts, strict=False))).map(PART_LABELS)
    names = [PART_LABELS[p] for p in parts]
    long["stack_order"] = long["part"].map({n: i for i, n in enumerate(names)})
    order = data.sort_values("mean_episode_cost_usd")["who"].tolist()
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("who:N", sort=order, title="Surgeon", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("usd:Q", title="Mean cost per episode", axis=alt.Axis(format="$,.0f"), stack="zero"),
            color=alt.Color(
                "part:N",
                title=None,
                sort=names,
                scale=alt.Scale(domain=names, range=PART_COLOURS),
                legend=alt.Legend(columns=legend_columns) if legend_columns else alt.Legend(),
            ),
            order=alt.Order("stack_order:Q"),
            tooltip=[
                alt.Tooltip("who:N", title="Surgeon"),
                alt.Tooltip("part:N", title="Part"),
                alt.Tooltip("usd:Q", title="Mean per episode", format="$,.0f"),
                alt.Tooltip("mean_episode_cost_usd:Q", title="Mean episode cost", format="$,.0f"),
            ],
        )
        .properties(height=height, width="container")
    )


def with_rules(chart: alt.Chart, peer_median: Any, target: Any) -> alt.LayerChart:
    """The chart with the peer median (black, dashed) and the target price (green, dashed) as rules."""
    rules = [
        (f"Peer median {_money(peer_median)}", peer_median, "black"),
        (f"Target price {_money(target)}", target, TARGET_COLOUR),
    ]
    rules = [r for r in rules if not _missing(r[1])]
    if not rules:
        return alt.layer(chart)
    what = [r[0] for r in rules]
    lines = pd.DataFrame({"y": [float(r[1]) for r in rules], "what": what})
    colour = alt.Color("what:N", legend=None, scale=alt.Scale(domain=what, range=[r[2] for r in rules]))
    rule = alt.Chart(lines).mark_rule(size=3, strokeDash=[8, 5]).encode(y="y:Q", color=colour)
    # Each rule says what it is in words on the line itself (no legend to match colours against).
    label = (
        alt.Chart(lines)
        .mark_text(align="left", dx=4, dy=-8, fontWeight="bold")
        .encode(y="y:Q", x=alt.value(0), text="what:N", color=colour)
    )
    return alt.layer(chart, rule, label).resolve_scale(color="independent")


@dataclass
class EpisodeSlide:
    """A department slide's parts: `core.presentation` wraps them in its `Slide`."""

    title: str
    headline: str
    chart: Any
    figures: list[tuple[str, str, str]] = field(default_factory=list)
    data: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: str = ""


NOTES = (
    "Episode cost: the index case cost plus post-acute spending dated from discharge to 30 days after it "
    "(skilled nursing, inpatient rehabilitation, home health, readmissions, outpatient and other), as in the "
    "post_acute extract. Each bar is a surgeon's mean per episode, split by setting. Peer median: the median "
    "of the eligible surgeons' means; target price: the procedure's episode_target_usd. Over target: the "
    "share of episodes costing more than the target. Risk adjustment: a gamma model of episode cost on "
    "patient factors only (age, sex, ASA class, comorbidity index, admission type), as for case cost."
)


def department_slide(
    procedure_code: str, period: Period, secret: bytes, excluded: list[str] | None, procedure_name: str
) -> EpisodeSlide | None:
    """The episode slide of a department deck, blinded for everyone; None without episodes or below min_peers."""
    crowd = access.Viewer(email="", role="physician")  # the room: a blinded peer with no scorecard of their own
    frame = peers(crowd, None, procedure_code, period, secret, excluded)
    if frame.empty or len(frame) < 2:
        return None
    group = (
        db.fetch(
            "mart_episode_position",
            where={"procedure_code": procedure_code, "eligible_flag": True},
            columns=[
                "peer_median_episode_cost_usd",
                "target_usd",
                "peer_over_target_pct",
                "peer_snf_discharge_pct",
                "peers_shown_flag",
            ],
            variables=scorecard.period_variables(period, excluded),
            limit=1,
        )
        .iloc[0]
        .to_dict()
    )
    if not group["peers_shown_flag"]:
        return None
    frame = frame.assign(label=frame["label"].astype(str).str.removeprefix("Surgeon "))
    chart = with_rules(
        stack_chart(frame, height=540, you=False, legend_columns=4),
        group["peer_median_episode_cost_usd"],
        group["target_usd"],
    )
    spread = {s: float(frame[f"{s}_usd"].max() - frame[f"{s}_usd"].min()) for s in SETTINGS}
    widest = max(spread, key=spread.get)
    top = frame.loc[frame[f"{widest}_usd"].idxmax()]
    name = procedure_name[:1].lower() + procedure_name[1:]
    headline = f"The peer median {name} episode costs {_money(group['peer_median_episode_cost_usd'])}"
    if not _missing(group["target_usd"]):
        headline += (
            f" against a target of {_money(group['target_usd'])}; a typical surgeon has "
            f"{float(group['peer_over_target_pct']):.0f}% of episodes over target"
        )
    headline += (
        f". Surgeons differ most in {SETTING_LABELS[widest].lower()}: Surgeon {top['label']} "
        f"{_money(top[f'{widest}_usd'])} per episode"
    )
    if widest == "snf":
        headline += (
            f" ({float(top['snf_discharge_pct']):.0f}% of patients to a skilled nursing facility, "
            f"median {float(group['peer_snf_discharge_pct']):.0f}%)"
        )
    headline += "."
    figures = [("Peer median episode", _money(group["peer_median_episode_cost_usd"]), "mean per surgeon, median")]
    if not _missing(group["target_usd"]):
        figures += [
            ("Target price", _money(group["target_usd"]), "episode_target_usd"),
            ("Episodes over target", f"{float(group['peer_over_target_pct']):.0f}%", "peer median"),
        ]
    figures.append(("Discharged to skilled nursing", f"{float(group['peer_snf_discharge_pct']):.0f}%", "peer median"))
    data = frame.assign(label="Surgeon " + frame["label"])[
        [
            "label",
            "volume_band",
            "mean_episode_cost_usd",
            "mean_case_cost_usd",
            *(f"{s}_usd" for s in SETTINGS),
            "snf_discharge_pct",
            "over_target_pct",
        ]
    ]
    return EpisodeSlide("Episode cost: the case and 30 days after", headline, chart, figures, data, NOTES)
