-- materialized: view
-- Physician × procedure × quarter × outcome: observed and expected counts, additive so any run of
-- quarters sums to a period's O/E (the Definitions page trend). Cases whose flag was accepted no longer count.
with outcomes as (
    select physician_id, procedure_code, surgery_quarter, 'complication' as outcome,
           cast(complication_flag as integer) as observed, expected_complication_rate as expected
    from mart_case
    where not list_contains(coalesce(getvariable('excluded_case_ids'), []::varchar[]), case_id)
    union all
    select physician_id, procedure_code, surgery_quarter, 'readmit_30d',
           cast(readmit_30d_flag as integer), expected_readmit_30d_rate
    from mart_case
    where not list_contains(coalesce(getvariable('excluded_case_ids'), []::varchar[]), case_id)
    union all
    select physician_id, procedure_code, surgery_quarter, 'ssi', cast(ssi_flag as integer), expected_ssi_rate
    from mart_case
    where not list_contains(coalesce(getvariable('excluded_case_ids'), []::varchar[]), case_id)
    union all
    select physician_id, procedure_code, surgery_quarter, 'mortality',
           cast(mortality_flag as integer), expected_mortality_rate
    from mart_case
    where not list_contains(coalesce(getvariable('excluded_case_ids'), []::varchar[]), case_id)
    union all
    select physician_id, procedure_code, surgery_quarter, 'los_days', los_days, expected_los_days
    from mart_case
    where not list_contains(coalesce(getvariable('excluded_case_ids'), []::varchar[]), case_id)
)
select
    physician_id,
    procedure_code,
    surgery_quarter,
    outcome,
    count(*) as case_count,
    sum(observed) as observed_count,
    sum(expected) as expected_count
from outcomes
group by physician_id, procedure_code, surgery_quarter, outcome
order by procedure_code, surgery_quarter, physician_id, outcome
