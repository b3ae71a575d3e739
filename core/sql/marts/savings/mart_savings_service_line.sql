-- materialized: view
-- Savings achieved per service line for the period viewed from program_start_date on (procedures
-- with a baseline), beside the baseline at current volume and the remaining switch-saving opportunity.
select
    service_line,
    count(distinct physician_id) as physician_count,
    sum(baseline_spend_at_current_volume_usd) filter (where baseline_flag) as baseline_spend_at_current_volume_usd,
    sum(spend_usd) filter (where baseline_flag) as spend_usd,
    coalesce(sum(achieved_saving_usd) filter (where baseline_flag), 0) as achieved_saving_usd,
    sum(remaining_opportunity_usd) as remaining_opportunity_usd
from mart_savings_physician
group by service_line
