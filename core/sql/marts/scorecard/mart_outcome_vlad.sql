-- materialized: view
-- Physician × procedure × outcome × case, in date order: the cumulative risk-adjusted chart (VLAD,
-- variable life-adjusted display; Lovegrove et al. 1997, Lancet 350:1128; Sherlaw-Johnson 2005) —
-- README "Outcomes over time", Definitions page "Outcomes over time". vlad_count is the running sum of
-- expected − observed: how many events fewer than the physician's patients' risk predicts ("net
-- complications avoided"; below 0, more than predicted). Over all the data, like the quarterly trend;
-- cases whose flag was accepted no longer count.
with kept as (
    select *
    from mart_case
    where not list_contains(coalesce(getvariable('excluded_case_ids'), []::varchar[]), case_id)
),
outcomes as (
    select physician_id, procedure_code, case_id, surgery_date, 'complication' as outcome,
           cast(complication_flag as integer) as observed, expected_complication_rate as expected
    from kept
    union all
    select physician_id, procedure_code, case_id, surgery_date, 'readmit_30d',
           cast(readmit_30d_flag as integer), expected_readmit_30d_rate
    from kept
    union all
    select physician_id, procedure_code, case_id, surgery_date, 'ssi', cast(ssi_flag as integer), expected_ssi_rate
    from kept
    union all
    select physician_id, procedure_code, case_id, surgery_date, 'mortality',
           cast(mortality_flag as integer), expected_mortality_rate
    from kept
    union all
    select physician_id, procedure_code, case_id, surgery_date, 'los_days', los_days, expected_los_days
    from kept
)
select
    o.physician_id,
    o.procedure_code,
    o.outcome,
    row_number() over w as case_number,
    o.case_id,
    o.surgery_date,
    o.observed as observed_count,
    o.expected as expected_count,
    sum(o.observed) over w as cumulative_observed_count,
    sum(o.expected) over w as cumulative_expected_count,
    sum(o.expected - o.observed) over w as vlad_count,
    coalesce(m.adjusted_flag, false) as adjusted_flag
from outcomes as o
left join int_risk_model as m on m.procedure_code = o.procedure_code and m.outcome = o.outcome
window w as (partition by o.physician_id, o.procedure_code, o.outcome order by o.surgery_date, o.case_id
             rows between unbounded preceding and current row)
