-- materialized: view
-- Physician × procedure × quarter cost trend: cases, median case cost and mean components, with the
-- procedure's peer median for the quarter (median of physicians' quarterly medians) beside it.
-- Cases whose flag was accepted (session variable excluded_case_ids) no longer count, as everywhere.
with per_physician as (
    select
        physician_id,
        procedure_code,
        surgery_quarter,
        count(*) as case_count,
        median(case_cost_usd) as median_case_cost_usd,
        avg(supplies_usd) as supplies_usd,
        avg(implants_usd) as implants_usd,
        avg(pharmacy_usd) as pharmacy_usd,
        avg(or_time_usd) as or_time_usd,
        avg(bed_days_usd) as bed_days_usd,
        avg(waste_usd) as waste_per_case_usd
    from mart_case
    where not list_contains(coalesce(getvariable('excluded_case_ids'), []::varchar[]), case_id)
      and (getvariable('procedure_codes') is null or list_contains(getvariable('procedure_codes'), procedure_code))  -- core.db.prepare_excluded only
    group by physician_id, procedure_code, surgery_quarter
),
peers as (
    select
        procedure_code,
        surgery_quarter,
        count(*) as quarter_physician_count,
        median(median_case_cost_usd) as peer_median_case_cost_usd
    from per_physician
    group by procedure_code, surgery_quarter
)
select
    pp.*,
    pe.quarter_physician_count,
    case when pe.quarter_physician_count >= s.min_peers_count then pe.peer_median_case_cost_usd end
        as peer_median_case_cost_usd
from per_physician as pp
join peers as pe using (procedure_code, surgery_quarter)
cross join int_settings as s
order by pp.procedure_code, pp.surgery_quarter, pp.physician_id
