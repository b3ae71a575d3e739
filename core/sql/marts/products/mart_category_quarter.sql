-- materialized: view
-- Supply category × quarter over all the data (the trend, the Definitions page): spend, preferred use, switch
-- saving, waste and manufacturers in use. Not period-scoped (a trend shows every quarter), but cases
-- removed by accepted flags (session variable excluded_case_ids) do not count here either.
with cases as (
    select *
    from mart_case_category
    where not list_contains(coalesce(getvariable('excluded_case_ids'), []::varchar[]), case_id)
),
makers as (
    select category, surgery_quarter, count(distinct manufacturer) as manufacturer_count
    from mart_supply_line
    where category is not null
      and not list_contains(coalesce(getvariable('excluded_case_ids'), []::varchar[]), case_id)
    group by category, surgery_quarter
)
select
    c.category,
    c.surgery_quarter,
    bool_or(c.has_preferred_flag) as has_preferred_flag,
    count(*) as case_count,  -- one row per case and category (mart_case_category)
    count(distinct c.physician_id) as physician_count,
    sum(c.units_count) as units_count,
    sum(c.preferred_units_count) as preferred_units_count,
    sum(c.spend_usd) as spend_usd,
    sum(c.spend_usd) - sum(c.preferred_spend_usd) as non_preferred_spend_usd,
    case when bool_or(c.has_preferred_flag) and sum(c.units_count) > 0
         then 100.0 * sum(c.preferred_units_count) / sum(c.units_count) end as preferred_use_pct,
    case when bool_or(c.has_preferred_flag) and sum(c.spend_usd) > 0
         then 100.0 * sum(c.preferred_spend_usd) / sum(c.spend_usd) end as preferred_spend_pct,
    sum(c.switch_saving_usd) as switch_saving_usd,
    sum(c.waste_usd) as waste_usd,
    any_value(m.manufacturer_count) as manufacturer_count
from cases as c
left join makers as m on m.category = c.category and m.surgery_quarter = c.surgery_quarter
group by c.category, c.surgery_quarter
