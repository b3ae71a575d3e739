-- materialized: table
-- chunked by: procedure_code
-- One row per case and supply category: units, spend, preferred share, switch saving and waste,
-- additive so any period or group sums them. Switch saving (the Definitions page) counts only non-preferred
-- lines in categories that have a preferred item, priced against the cheapest preferred item. Stored by
-- procedure; built a run of procedures at a time (core/build/chunks.py).
select
    l.case_id,
    c.physician_id,
    c.procedure_code,
    c.surgery_date,
    c.surgery_quarter,
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
from int_supply_line as l
join int_case_cost as c on c.case_id = l.case_id
left join int_category_preferred as cp on cp.category = l.category
where l.category is not null
group by all
order by c.procedure_code, c.surgery_date, l.case_id, l.category
