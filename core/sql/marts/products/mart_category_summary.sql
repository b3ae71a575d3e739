-- materialized: view
-- Supply category totals for the period (supply view): spend, non-preferred spend, switch saving,
-- manufacturers and physicians in use. Ranked by the pages on non-preferred spend.
with lines as (
    select l.*
    from mart_supply_line as l
    semi join mart_period_case as pc on pc.case_id = l.case_id
    where true
    -- the request's bounds as constants too (folded at plan time), so scans skip row groups by date
    and l.surgery_date >= coalesce(getvariable('start_date'), date '0001-01-01')
    and l.surgery_date <= coalesce(getvariable('end_date'), date '9999-12-31')
)
select
    l.category,
    cp.category is not null as has_preferred_flag,
    sum(l.line_cost_usd) as spend_usd,
    sum(case when not l.preferred_flag then l.line_cost_usd else 0 end) as non_preferred_spend_usd,
    sum(case when not l.preferred_flag and cp.category is not null
             then greatest(0, (l.paid_unit_cost_usd - cp.lowest_preferred_unit_cost_usd) * l.quantity)
             else 0 end) as switch_saving_usd,
    sum(l.waste_usd) as waste_usd,
    count(distinct l.manufacturer) as manufacturer_count,
    count(distinct l.item_id) as item_count,
    count(distinct l.physician_id) as physician_count,
    case when sum(l.quantity) > 0 and cp.category is not null
         then 100.0 * sum(case when l.preferred_flag then l.quantity else 0 end) / sum(l.quantity) end
        as preferred_use_pct
from lines as l
left join int_category_preferred as cp on cp.category = l.category
where l.category is not null
group by l.category, cp.category
