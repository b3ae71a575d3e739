"""The scorecard's episode section (README, *Episode cost*): Streamlit drawing only; figures from core.episode."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core import episode, ui


def section(pos: dict[str, Any], peers: pd.DataFrame, procedure_name: str) -> None:
    """Mean episode against the peer median and the target, the sentence, the stacked peers and the drivers."""
    cols = st.columns(4)
    gap = pos.get("gap_to_peer_median_usd")
    cols[0].metric(
        "Your mean episode cost",
        ui.money(pos["mean_episode_cost_usd"]),
        delta=None if pd.isna(gap) else f"{ui.money(gap, signed=True)} vs peer median",
        delta_color="inverse",
        help="Index case cost + post-acute spending in the 30 days after discharge.",
    )
    cols[1].metric(
        "Peer median",
        ui.money(pos.get("peer_median_episode_cost_usd")),
        help="Median over eligible physicians of each one's mean episode cost.",
    )
    cols[2].metric("Target price", ui.money(pos.get("target_usd")), help="The procedure's episode target price.")
    cols[3].metric(
        "Episodes over target",
        ui.pct(pos.get("over_target_pct")),
        delta=None
        if pd.isna(pos.get("peer_over_target_pct"))
        else f"peer median {ui.pct(pos.get('peer_over_target_pct'))}",
        delta_color="off",
    )
    st.markdown(f"**{ui.md(episode.sentence(pos, procedure_name))}**")
    oe = pos.get("episode_oe_ratio")
    if pos.get("adjusted_flag") and not pd.isna(oe):
        st.caption(
            f"Risk-adjusted: your episodes cost {oe:.2f} × what your patients' risk predicts "
            f"({ui.money(pos['risk_adjusted_episode_cost_usd'])} at the procedure's mix). "
            f"Skilled nursing: {ui.pct(pos['snf_discharge_pct'])} of your patients, peers' median "
            f"{ui.pct(pos.get('peer_snf_discharge_pct'))}."
        )
    elif not pos.get("adjusted_flag"):
        st.caption(f"Episode cost shown unadjusted: {pos.get('model_note')}")
    left, right = st.columns([3, 2])
    if pos.get("peers_shown_flag") and len(peers) > 1:
        chart = episode.with_rules(
            episode.stack_chart(peers), pos.get("peer_median_episode_cost_usd"), pos.get("target_usd")
        )
        left.altair_chart(chart, width="stretch")
        parts = episode.drivers(pos)
        right.dataframe(
            parts[["label", "you_usd", "peer_usd", "gap_usd"]],
            hide_index=True,
            width="stretch",
            column_config={
                "label": "Part of the episode",
                **{
                    c: st.column_config.NumberColumn(t, format="dollar")
                    for c, t in (
                        ("you_usd", "You, per episode"),
                        ("peer_usd", "Peer median"),
                        ("gap_usd", "Difference"),
                    )
                },
            },
        )
    else:
        ui.no_data("No peer comparison of episodes: too few cases or too few eligible peers in this period.")
