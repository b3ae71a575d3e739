-- materialized: view
-- Supply category × item × physician for the period: who uses what, how much, at what price. The
-- supply view reads it (identified) for the manufacturers and items in use and each physician's mix.
select
    l.category,
    l.item_id,
    l.item_description,
    l.manufacturer,
    l.preferred_flag,
    l.implant_flag,
    l.item_unit_cost_usd,
    l.physician_id,
    count(distinct l.case_id) as case_count,
    sum(l.quantity) as units_count,
    sum(l.line_cost_usd) as spend_usd,
    min(l.paid_unit_cost_usd) as min_paid_unit_cost_usd,
    max(l.paid_unit_cost_usd) as max_paid_unit_cost_usd,
    sum(l.waste_usd) as waste_usd
from mart_supply_line as l
semi join mart_period_case as pc on pc.case_id = l.case_id
where l.category is not null
  -- the request's bounds as constants too (folded at plan time), so scans skip row groups by date
  and l.surgery_date >= coalesce(getvariable('start_date'), date '0001-01-01')
  and l.surgery_date <= coalesce(getvariable('end_date'), date '9999-12-31')
group by l.category, l.item_id, l.item_description, l.manufacturer, l.preferred_flag, l.implant_flag,
         l.item_unit_cost_usd, l.physician_id
