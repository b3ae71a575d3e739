-- materialized: table
-- chunked by: category
-- Every priced supply line with its case's physician, procedure and date, for category and product
-- views (which manufacturers are in use, by whom, at what price). Stored by category, so a category's
-- views read its row groups only; built a run of categories at a time (core/build/chunks.py).
select
    l.case_id,
    c.physician_id,
    c.procedure_code,
    c.surgery_date,
    c.surgery_quarter,
    l.line_number,
    l.item_id,
    l.item_description,
    l.manufacturer,
    l.category,
    l.implant_flag,
    l.preferred_flag,
    l.quantity,
    l.wasted_quantity,
    l.paid_unit_cost_usd,
    l.item_unit_cost_usd,
    l.line_cost_usd,
    l.waste_usd
from int_supply_line as l
join int_case_cost as c on c.case_id = l.case_id
order by l.category, c.surgery_date, l.case_id, l.line_number
