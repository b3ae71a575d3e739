-- materialized: view
-- Savings achieved per physician over all their procedures and savings categories, for the period
-- viewed from program_start_date on (procedures with a baseline), with their remaining opportunity.
select
    physician_id,
    any_value(service_line) as service_line,
    sum(distinct_cases) as case_count,
    sum(baseline_spend_at_current_volume_usd) as baseline_spend_at_current_volume_usd,
    sum(spend_usd) as spend_usd,
    sum(achieved_saving_usd) as achieved_saving_usd,
    sum(remaining_opportunity_usd) as remaining_opportunity_usd
from (
    select
        physician_id,
        procedure_code,
        any_value(service_line) as service_line,
        any_value(case_count) as distinct_cases,
        coalesce(sum(baseline_spend_at_current_volume_usd) filter (where baseline_flag), 0)
            as baseline_spend_at_current_volume_usd,
        coalesce(sum(spend_usd) filter (where baseline_flag), 0) as spend_usd,
        coalesce(sum(achieved_saving_usd) filter (where baseline_flag), 0) as achieved_saving_usd,
        sum(remaining_opportunity_usd) as remaining_opportunity_usd
    from mart_savings_physician
    group by physician_id, procedure_code
)
group by physician_id
