-- materialized: view
-- Savings achieved per savings category (supply category or drug class) for the period viewed from
-- program_start_date on: the sum over procedures with a baseline of their achieved saving, beside the
-- baseline at current volume, the current spend and the remaining switch-saving opportunity.
select
    savings_kind,
    savings_category,
    sum(case_count) filter (where spend_usd > 0) as using_case_count,
    count(distinct procedure_code) as procedure_count,
    count(distinct physician_id) filter (where spend_usd > 0) as physician_count,
    sum(baseline_spend_at_current_volume_usd) filter (where baseline_flag) as baseline_spend_at_current_volume_usd,
    sum(spend_usd) filter (where baseline_flag) as spend_usd,
    coalesce(sum(achieved_saving_usd) filter (where baseline_flag), 0) as achieved_saving_usd,
    case when sum(baseline_spend_at_current_volume_usd) filter (where baseline_flag) > 0
         then 100.0 * sum(achieved_saving_usd) filter (where baseline_flag)
              / sum(baseline_spend_at_current_volume_usd) filter (where baseline_flag) end as achieved_pct,
    sum(remaining_opportunity_usd) as remaining_opportunity_usd
from mart_savings_physician
group by savings_kind, savings_category
