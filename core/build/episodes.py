"""The build's episode step: expected 30-day episode cost per case, from patient factors only.

Episode cost is risk-adjusted exactly like case cost (README, *Episode cost*): per episode procedure,
`core.stats.fit_expected` fits a gamma GLM (log link) of the episode cost on age, sex, ASA class,
comorbidity index and admission type — never the physician, never the payer — and the fit is
calibrated so a procedure's total expected equals its total observed. A physician's O/E of episode
cost is then the sum of their episodes' costs over the sum of the predictions: above 1 means their
episodes cost more than their patients' risk explains. A procedure too small to fit gets its crude
mean for every case, flagged unadjusted with the reason.
"""

from __future__ import annotations

import pandas as pd

from core import stats

_COLUMNS = ("case_id", "procedure_code", *stats.PATIENT_FACTORS, "episode_cost_usd")


def expected_episodes(episodes: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(case_id, expected_episode_cost_usd) per episode and (procedure, adjusted, note) per procedure."""
    parts, notes = [], []
    for code, group in episodes.groupby("procedure_code", sort=True):
        fit = stats.fit_expected(group[[*stats.PATIENT_FACTORS, "episode_cost_usd"]], "episode_cost_usd", "gamma")
        parts.append(pd.DataFrame({"case_id": group["case_id"].to_numpy(), "expected_episode_cost_usd": fit.expected}))
        notes.append(
            {
                "procedure_code": code,
                "adjusted_flag": bool(fit.adjusted),
                "model_note": fit.reason,
                "case_count": len(group),
            }
        )
    expected = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(
            {"case_id": pd.Series(dtype="string"), "expected_episode_cost_usd": pd.Series(dtype="float64")}
        )
    )
    note_frame = (
        pd.DataFrame(notes)
        if notes
        else pd.DataFrame(
            {
                "procedure_code": pd.Series(dtype="string"),
                "adjusted_flag": pd.Series(dtype="bool"),
                "model_note": pd.Series(dtype="string"),
                "case_count": pd.Series(dtype="int64"),
            }
        )
    )
    return expected, note_frame


def build_episode_expected(con) -> None:
    """Fit every episode procedure's model and write int_episode_expected and int_episode_model."""
    episodes = con.execute(
        "select e.case_id, e.procedure_code, c.patient_age, c.patient_sex, c.asa_class, c.comorbidity_index, "
        "c.admission_type, e.episode_cost_usd from int_case_episode as e "
        "join int_case_cost as c on c.case_id = e.case_id order by e.procedure_code, e.case_id"
    ).df()
    expected, notes = expected_episodes(episodes)
    con.register("episode_expected_frame", expected)
    con.execute(
        "create or replace table int_episode_expected as select case_id::varchar as case_id, "
        "expected_episode_cost_usd::double as expected_episode_cost_usd from episode_expected_frame"
    )
    con.unregister("episode_expected_frame")
    con.register("episode_notes_frame", notes)
    con.execute(
        "create or replace table int_episode_model as select procedure_code::varchar as procedure_code, "
        "adjusted_flag::boolean as adjusted_flag, model_note::varchar as model_note, "
        "case_count::bigint as case_count from episode_notes_frame"
    )
    con.unregister("episode_notes_frame")
