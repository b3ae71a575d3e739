-- materialized: view
-- Physician for the period, over all their procedures: preferred-product use over their lines in
-- categories with a preferred item (null when they have no such lines), the spend-weighted share, the
-- switch saving, and waste over all their cases (My products' summary sentence).
with pref as (
    select
        physician_id,
        sum(units_count) filter (where has_preferred_flag) as units_count,
        sum(preferred_units_count) filter (where has_preferred_flag) as preferred_units_count,
        sum(spend_usd) filter (where has_preferred_flag) as spend_usd,
        sum(preferred_spend_usd) filter (where has_preferred_flag) as preferred_spend_usd,
        sum(switch_saving_usd) as switch_saving_usd
    from mart_preferred_use
    group by physician_id
),
cases as (
    select physician_id, sum(case_count) as case_count, sum(case_count * waste_per_case_usd) as waste_usd
    from mart_cost_position
    group by physician_id
)
select
    c.physician_id,
    coalesce(p.units_count, 0) as units_count,
    coalesce(p.preferred_units_count, 0) as preferred_units_count,
    coalesce(p.spend_usd, 0) as spend_usd,
    coalesce(p.preferred_spend_usd, 0) as preferred_spend_usd,
    case when p.units_count > 0 then 100.0 * p.preferred_units_count / p.units_count end as preferred_use_pct,
    case when p.spend_usd > 0 then 100.0 * p.preferred_spend_usd / p.spend_usd end as preferred_spend_pct,
    coalesce(p.switch_saving_usd, 0) as switch_saving_usd,
    c.waste_usd,
    c.case_count
from cases as c
left join pref as p on p.physician_id = c.physician_id
