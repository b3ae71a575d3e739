-- materialized: view
-- Physician × procedure × outcome for the period, in long form: observed and expected (sum of the
-- risk model's predictions over the physician's cases, the Definitions page) and whether the model was adjusted.
-- Length of stay counts days: observed and expected bed days. expected_count is measured against the
-- physician's peers alone (× mart_outcome_calibration.peer_factor, so their own excess does not raise
-- their own benchmark); model_expected_count is the model's sum before that, which group totals use.
with outcomes as (
    select physician_id, procedure_code, 'complication' as outcome,
           cast(complication_flag as integer) as observed, expected_complication_rate as expected
    from mart_period_case
    union all
    select physician_id, procedure_code, 'readmit_30d',
           cast(readmit_30d_flag as integer), expected_readmit_30d_rate
    from mart_period_case
    union all
    select physician_id, procedure_code, 'ssi', cast(ssi_flag as integer), expected_ssi_rate
    from mart_period_case
    union all
    select physician_id, procedure_code, 'mortality', cast(mortality_flag as integer), expected_mortality_rate
    from mart_period_case
    union all
    select physician_id, procedure_code, 'los_days', los_days, expected_los_days
    from mart_period_case
)
select
    o.physician_id,
    o.procedure_code,
    o.outcome,
    count(*) as case_count,
    count(*) >= s.min_cases_count as eligible_flag,
    sum(o.observed) as observed_count,
    sum(o.expected) * coalesce(c.peer_factor, 1.0) as expected_count,
    sum(o.expected) as model_expected_count,
    coalesce(m.adjusted_flag, false) as adjusted_flag,
    m.model_note
from outcomes as o
cross join int_settings as s
left join int_risk_model as m on m.procedure_code = o.procedure_code and m.outcome = o.outcome
left join mart_outcome_calibration as c
    on c.physician_id = o.physician_id and c.procedure_code = o.procedure_code and c.outcome = o.outcome
group by o.physician_id, o.procedure_code, o.outcome, s.min_cases_count, m.adjusted_flag, m.model_note, c.peer_factor
