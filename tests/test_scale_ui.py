"""The scorecard at hundreds of peers (README, *Performance*): a histogram with You marked, not 400 bars."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.output import charts


def _peers(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    frame = pd.DataFrame(
        {
            "median_case_cost_usd": rng.lognormal(np.log(20000), 0.15, n),
            "is_you": [False] * n,
            "label": [f"Peer {i}" for i in range(n)],
        }
    )
    frame.loc[n // 3, ["is_you", "label"]] = [True, "Peer Q"]
    return frame


def test_400_peers_are_a_histogram_with_you_marked():
    frame = _peers(400)
    spec = charts.peer_distribution(
        frame, "Total hip arthroplasty", float(frame["median_case_cost_usd"].median())
    ).to_dict()
    bars, median, you_rule, you_label = spec["layer"]
    assert (
        bars["mark"]["type"] == "bar" and bars["encoding"]["x"]["bin"] and bars["encoding"]["y"]["aggregate"] == "count"
    )
    assert you_label["mark"]["type"] == "text" and you_rule["mark"]["color"] == charts.YOU
    you_value = spec["datasets"][you_rule["data"]["name"]][0]["x"]
    assert you_value == frame.loc[frame["is_you"], "median_case_cost_usd"].iloc[0]
    assert "400 physicians" in " ".join(spec["title"]["subtitle"])
    # the peers' bars carry the 399 others, never a bar (or a label) per physician
    assert len(spec["datasets"][bars["data"]["name"]]) == 399 and "display" not in bars["encoding"].get("x", {}).get(
        "field", ""
    )


def test_a_small_peer_group_keeps_one_bar_per_physician():
    spec = charts.peer_distribution(_peers(12), "Total knee arthroplasty", 20000.0).to_dict()
    assert spec["layer"][0]["encoding"]["x"]["field"] == "display"
