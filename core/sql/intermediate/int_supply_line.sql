-- materialized: view
-- Supply lines priced: price paid is the line's unit_cost, else the item master's (the Definitions page).
-- A view: the item master is a small join, so the tables built from the lines (int_case_cost and the
-- supply marts) read it from stg_supply_usage instead of the build writing every line a second time.
select
    u.case_id,
    u.item_id,
    u.line_number,
    i.category,
    i.manufacturer,
    i.item_description,
    i.implant_flag,
    i.preferred_flag,
    u.quantity,
    u.wasted_quantity,
    coalesce(u.paid_unit_cost_usd, i.item_unit_cost_usd) as paid_unit_cost_usd,
    i.item_unit_cost_usd,
    u.quantity * coalesce(u.paid_unit_cost_usd, i.item_unit_cost_usd) as line_cost_usd,
    u.wasted_quantity * coalesce(u.paid_unit_cost_usd, i.item_unit_cost_usd) as waste_usd
from stg_supply_usage as u
join stg_items as i on i.item_id = u.item_id
