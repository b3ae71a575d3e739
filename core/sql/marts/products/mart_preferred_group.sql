-- materialized: view
-- Procedure × supply category for the period over the eligible physicians' lines in categories with a
-- preferred item (the presentation's preferred-use and switch slides), plus one row per procedure with
-- category null for the group's totals. Shares follow the Definitions page: 100 × preferred units / all
-- units, and the spend-weighted share beside it.
select
    u.procedure_code,
    u.category,
    sum(u.units_count) as units_count,
    sum(u.preferred_units_count) as preferred_units_count,
    sum(u.spend_usd) as spend_usd,
    sum(u.preferred_spend_usd) as preferred_spend_usd,
    sum(u.switch_saving_usd) as switch_saving_usd,
    case when sum(u.units_count) > 0 then 100.0 * sum(u.preferred_units_count) / sum(u.units_count) end
        as preferred_use_pct,
    case when sum(u.spend_usd) > 0 then 100.0 * sum(u.preferred_spend_usd) / sum(u.spend_usd) end
        as preferred_spend_pct
from mart_preferred_use as u
semi join mart_cost_position as p
    on p.physician_id = u.physician_id and p.procedure_code = u.procedure_code and p.eligible_flag
where u.has_preferred_flag
group by grouping sets ((u.procedure_code, u.category), (u.procedure_code))
