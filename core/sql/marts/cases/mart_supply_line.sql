-- materialized: view
-- Every priced supply line with its case's physician, procedure and date and its item's description,
-- manufacturer and flags, for category and product views (which manufacturers are in use, by whom, at
-- what price). A view: the lines are stored narrow in int_supply_line_by_procedure, by procedure, then
-- category and date, and the item master is a small join; a filter on a category reads its stretch of
-- each procedure's lines, and a filter on dates skips only within those stretches.
select
    l.case_id,
    l.physician_id,
    l.procedure_code,
    l.surgery_date,
    quarter_label(l.surgery_date) as surgery_quarter,
    l.line_number,
    l.item_id,
    i.item_description,
    i.manufacturer,
    l.category,
    i.implant_flag,
    i.preferred_flag,
    l.quantity,
    l.wasted_quantity,
    l.paid_unit_cost_usd,
    i.item_unit_cost_usd,
    -- as int_supply_line prices them; computed here rather than stored with every line
    l.quantity * l.paid_unit_cost_usd as line_cost_usd,
    l.wasted_quantity * l.paid_unit_cost_usd as waste_usd
from int_supply_line_by_procedure as l
join stg_items as i on i.item_id = l.item_id
