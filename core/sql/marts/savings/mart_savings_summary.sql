-- materialized: view
-- One row: savings achieved to date against the year's target (settings savings_target_usd), for the
-- period viewed from program_start_date on, with the baseline and current windows, the remaining
-- switch-saving opportunity and how many categories saved (Definitions, "Savings achieved").
with period as (
    select
        coalesce(getvariable('start_date'), p.default_start_date) as start_date,
        coalesce(getvariable('end_date'), p.default_end_date) as end_date
    from int_period as p
),
totals as (
    select
        sum(baseline_spend_at_current_volume_usd) as baseline_spend_at_current_volume_usd,
        sum(spend_usd) as spend_usd,
        sum(achieved_saving_usd) as achieved_saving_usd,
        sum(remaining_opportunity_usd) as remaining_opportunity_usd,
        count(*) as category_count,
        count(*) filter (where achieved_saving_usd > 0) as saving_category_count
    from mart_savings_category
)
select
    g.program_start_date,
    g.savings_target_usd,
    g.baseline_start_date,
    g.baseline_end_date,
    greatest(p.start_date, g.program_start_date) as current_start_date,
    p.end_date as current_end_date,
    coalesce(t.baseline_spend_at_current_volume_usd, 0) as baseline_spend_at_current_volume_usd,
    coalesce(t.spend_usd, 0) as spend_usd,
    coalesce(t.achieved_saving_usd, 0) as achieved_saving_usd,
    case when g.savings_target_usd > 0 then 100.0 * coalesce(t.achieved_saving_usd, 0) / g.savings_target_usd end
        as achieved_pct_of_target,
    case when g.savings_target_usd is not null then greatest(0, g.savings_target_usd - coalesce(t.achieved_saving_usd, 0)) end
        as target_gap_usd,
    case when p.end_date >= greatest(p.start_date, g.program_start_date)
         then coalesce(t.achieved_saving_usd, 0) * 365.25
              / (datediff('day', greatest(p.start_date, g.program_start_date), p.end_date) + 1) end
        as annualised_saving_usd,
    coalesce(t.remaining_opportunity_usd, 0) as remaining_opportunity_usd,
    coalesce(t.category_count, 0) as category_count,
    coalesce(t.saving_category_count, 0) as saving_category_count
from int_programme as g
cross join period as p
cross join totals as t
