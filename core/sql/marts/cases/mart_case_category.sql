-- materialized: table
-- chunked by: procedure_code
-- run size: 4000 lines per MB
-- One row per case and supply category: units, spend, preferred share, switch saving and waste,
-- additive so any period or group sums them. Switch saving (the Definitions page) counts only non-preferred
-- lines in categories that have a preferred item, priced against the cheapest preferred item. Read from
-- mart_supply_line, the stored lines with their item's flags and their cost and waste priced once there,
-- which already carry each case's physician, procedure, date and quarter. Stored by procedure and date;
-- built a run of procedures at a time (core/build/chunks.py), small runs since the lines are stored by
-- procedure: each run reads only its own procedures' lines and groups and sorts them in memory (at
-- 1,000,000 cases with the memory per line 10,000,000 cases have, 16 s against 23 s for three large
-- runs; README, *Performance*).
select
    l.case_id,
    l.physician_id,
    l.procedure_code,
    l.surgery_date,
    l.surgery_quarter,
    l.category,
    cp.category is not null as has_preferred_flag,
    sum(l.quantity) as units_count,
    sum(case when l.preferred_flag then l.quantity else 0 end) as preferred_units_count,
    sum(l.line_cost_usd) as spend_usd,
    sum(case when l.preferred_flag then l.line_cost_usd else 0 end) as preferred_spend_usd,
    sum(case when not l.preferred_flag and cp.category is not null
             then greatest(0, (l.paid_unit_cost_usd - cp.lowest_preferred_unit_cost_usd) * l.quantity)
             else 0 end) as switch_saving_usd,
    sum(l.waste_usd) as waste_usd,
    bool_or(l.implant_flag) as implant_flag
from mart_supply_line as l
left join int_category_preferred as cp on cp.category = l.category
where l.category is not null
group by all
order by l.procedure_code, l.surgery_date
