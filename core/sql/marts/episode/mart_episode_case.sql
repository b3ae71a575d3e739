-- materialized: table
-- One row per episode: index case cost, post-acute spending by setting, the episode cost, its
-- risk-model expectation (a gamma GLM on patient factors, as for case cost) and the target price.
-- Sorted by procedure and date so period filters read only the blocks they need.
select
    e.case_id,
    e.physician_id,
    e.procedure_code,
    e.surgery_date,
    e.case_cost_usd,
    e.snf_usd,
    e.irf_usd,
    e.home_health_usd,
    e.readmission_usd,
    e.outpatient_usd,
    e.other_usd,
    e.post_acute_usd,
    e.episode_cost_usd,
    e.snf_flag,
    x.expected_episode_cost_usd,
    e.episode_target_usd,
    case when e.episode_target_usd is not null then e.episode_cost_usd > e.episode_target_usd end
        as over_target_flag
from int_case_episode as e
left join int_episode_expected as x on x.case_id = e.case_id
order by e.procedure_code, e.surgery_date, e.case_id
