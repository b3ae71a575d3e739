-- materialized: view
-- Physician × procedure × quarter × outcome: observed and expected counts, additive so any run of
-- quarters sums to a period's O/E (the Definitions page trend). Cases whose flag was accepted no longer count.
-- Expected counts are set against the physician's peers alone, as in mart_outcome_position.
-- procedure_codes and physician_ids are set only by core.db.prepare_excluded (a row depends only on the
-- physician's own cases in the procedure, so it recomputes the pairs an accepted flag touches).
with outcomes as (
    select physician_id, procedure_code, surgery_quarter, 'complication' as outcome,
           cast(complication_flag as integer) as observed, expected_complication_rate as expected
    from mart_case
    where not list_contains(coalesce(getvariable('excluded_case_ids'), []::varchar[]), case_id)
      and (getvariable('procedure_codes') is null or list_contains(getvariable('procedure_codes'), procedure_code))
      and (getvariable('physician_ids') is null or list_contains(getvariable('physician_ids'), physician_id))
    union all
    select physician_id, procedure_code, surgery_quarter, 'readmit_30d',
           cast(readmit_30d_flag as integer), expected_readmit_30d_rate
    from mart_case
    where not list_contains(coalesce(getvariable('excluded_case_ids'), []::varchar[]), case_id)
      and (getvariable('procedure_codes') is null or list_contains(getvariable('procedure_codes'), procedure_code))
      and (getvariable('physician_ids') is null or list_contains(getvariable('physician_ids'), physician_id))
    union all
    select physician_id, procedure_code, surgery_quarter, 'ssi', cast(ssi_flag as integer), expected_ssi_rate
    from mart_case
    where not list_contains(coalesce(getvariable('excluded_case_ids'), []::varchar[]), case_id)
      and (getvariable('procedure_codes') is null or list_contains(getvariable('procedure_codes'), procedure_code))
      and (getvariable('physician_ids') is null or list_contains(getvariable('physician_ids'), physician_id))
    union all
    select physician_id, procedure_code, surgery_quarter, 'mortality',
           cast(mortality_flag as integer), expected_mortality_rate
    from mart_case
    where not list_contains(coalesce(getvariable('excluded_case_ids'), []::varchar[]), case_id)
      and (getvariable('procedure_codes') is null or list_contains(getvariable('procedure_codes'), procedure_code))
      and (getvariable('physician_ids') is null or list_contains(getvariable('physician_ids'), physician_id))
    union all
    select physician_id, procedure_code, surgery_quarter, 'los_days', los_days, expected_los_days
    from mart_case
    where not list_contains(coalesce(getvariable('excluded_case_ids'), []::varchar[]), case_id)
      and (getvariable('procedure_codes') is null or list_contains(getvariable('procedure_codes'), procedure_code))
      and (getvariable('physician_ids') is null or list_contains(getvariable('physician_ids'), physician_id))
)
select
    o.physician_id,
    o.procedure_code,
    o.surgery_quarter,
    o.outcome,
    count(*) as case_count,
    sum(o.observed) as observed_count,
    sum(o.expected) * coalesce(c.peer_factor, 1.0) as expected_count
from outcomes as o
left join mart_outcome_calibration as c
    on c.physician_id = o.physician_id and c.procedure_code = o.procedure_code and c.outcome = o.outcome
group by o.physician_id, o.procedure_code, o.surgery_quarter, o.outcome, c.peer_factor
order by o.procedure_code, o.surgery_quarter, o.physician_id, o.outcome
