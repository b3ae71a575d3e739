"""My scorecard: cost per case and risk-adjusted outcomes against blinded peers, per procedure."""

import streamlit as st

from core import access, episode, state, ui
from core import scorecard as sc
from core.output import exports
from core.ui import episode as episode_ui
from core.ui import exports as export_ui
from core.ui import products as products_ui
from core.ui import render, sections, supply_chain

viewer = ui.require("view_scorecard", "scorecard", "The scorecard is for physicians and staff on the roster.")
ctx, excluded, secret = ui.context(), ui.excluded(), ui.blinding_secret()

# --- filters (from the link first, then the widgets; rights come only from the viewer) -------------
subject = access.scorecard_subject(viewer, ui.param("physician"))
if subject.refused:
    ui.refuse("scorecard", {"physician": ui.param("physician")}, subject.reason)
physician_id = subject.physician_id
if access.can(viewer, "choose_physician"):
    directory = ui.cached(sc.physicians)
    ids = directory["physician_id"].tolist()
    names = dict(zip(directory["physician_id"], directory["physician_name"], strict=False))
    physician_id = st.sidebar.selectbox(
        "Physician", ids, index=ids.index(physician_id) if physician_id in ids else 0, format_func=names.get
    )
period = ui.period_picker(ctx)
positions = ui.cached(sc.positions, physician_id, period, excluded)
st.title(
    "My scorecard"
    if physician_id == viewer.physician_id
    else f"Scorecard — {ui.plain(ui.cached(sc.physician, physician_id)['physician_name'])}"
)
if positions.empty:
    ui.no_data(f"No cases in {period.label}. Pick another period in the sidebar.")
    st.stop()
codes = positions["procedure_code"].tolist()
asked = ui.param("procedure")
if asked and asked not in codes:
    ui.say("warning", f"No {asked} cases in this period; showing every procedure you did.", icon=":material/info:")
chosen = (
    st.sidebar.multiselect(
        "Procedures",
        codes,
        default=[asked] if asked in codes else codes,
        format_func=dict(zip(codes, positions["procedure_name"], strict=False)).get,
    )
    or codes
)
ui.set_params(
    procedure=chosen[0] if len(chosen) == 1 else None,
    period=period.token,
    physician=physician_id if viewer.identified else None,
)
ui.log_view("scorecard", {"physician": physician_id, "procedures": chosen, "period": period.token})
ui.share_box(
    "scorecard",
    {
        "procedure": chosen[0] if len(chosen) == 1 else None,
        "period": period.token,
        "physician": physician_id if viewer.identified else None,
    },
    "this scorecard",
)
st.caption(f"{period.label}. Figures exclude cases whose flag was accepted. See *Definitions* for every metric.")
supply_chain.scorecard_backorders(physician_id, period, excluded)

# --- render, one tab per procedure: lazy, only the one on screen runs (README, Performance) -----------
for tab, code in zip(
    st.tabs(
        [ui.plain(positions.set_index("procedure_code").at[c, "procedure_name"]) for c in chosen],
        on_change="rerun",
        key="procedure_tab",
    ),
    chosen,
    strict=False,
):
    if tab.open is False:
        continue
    with tab:
        pos = positions.set_index("procedure_code").loc[code].to_dict() | {"procedure_code": code}
        sections.headline(pos, pos["procedure_name"])
        export_ui.scorecard_exports(viewer, physician_id, code, period, secret, excluded)
        st.subheader("Cost position")
        sections.cost_position(
            ui.cached(sc.peer_distribution, viewer, physician_id, code, period, secret, excluded),
            pos,
            ui.cached(sc.category_drivers, physician_id, code, period, excluded),
            pos["procedure_name"],
        )
        supply_chain.scorecard_pharmacy(physician_id, code, period, excluded)
        if (ep := ui.cached(episode.position, physician_id, code, period, excluded)) is not None:
            st.subheader("Episode cost: the case and 30 days after")  # only with post-acute data
            episode_ui.section(
                ep,
                ui.cached(episode.peers, viewer, physician_id, code, period, secret, excluded),
                pos["procedure_name"],
            )
        st.subheader("Outcomes, risk-adjusted")
        summary = ui.cached(sc.outcome_summary, physician_id, code, period, excluded)
        funnels = {
            o: ui.cached(sc.funnel_data, viewer, physician_id, code, o, period, secret, ctx.min_peers, excluded)
            for o in summary.get("outcome", [])
        }
        sections.outcomes(summary, funnels)
        st.subheader("Over time")  # a dozen charts: drawn when asked for, in a fragment (README, Performance)
        render.on_demand(
            "Show cost and outcomes over time",
            f"over_time_{code}",
            lambda code=code: sections.trend(
                ui.cached(sc.cost_trend, physician_id, code, excluded),
                ui.cached(sc.outcome_vlad, physician_id, code, excluded),
            ),
        )

products_ui.products_section(physician_id, period, excluded)

st.subheader("My cases")
cases = sections.cases_table(ui.cached(sc.my_cases, physician_id, period), state.latest_flags(physician_id))
st.dataframe(cases, hide_index=True, width="stretch", column_config=sections.CASE_COLUMNS)
if st.download_button("Download my cases (CSV)", exports.csv_bytes(cases), f"cases-{period.token}.csv", "text/csv"):
    ui.audit("export", "scorecard", {"what": "cases csv", "physician": physician_id, "period": period.token})
if physician_id == viewer.physician_id:
    with st.expander("Flag a case that looks wrong"):
        with st.form("flag_case", clear_on_submit=True):
            case_id = st.selectbox("Case", cases["case_id"].tolist())
            reason = st.selectbox("What is wrong", state.FLAG_REASONS)
            note = st.text_area("Note for the reviewers")
            if st.form_submit_button("Send flag"):
                try:
                    state.flag_case(case_id, physician_id, viewer.email, reason, note)
                    ui.audit("flag", "scorecard", {"case_id": case_id, "reason": reason})
                    st.success(f"Flag on {ui.plain(case_id)} sent. Its status shows in the table above.")
                except state.StateWriteError as err:
                    st.error(str(err))
