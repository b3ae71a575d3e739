-- materialized: table
-- chunked by: category
-- Every priced supply line with its case's physician, procedure and date, stored by category and date so a
-- category's views (mart_supply_line and the product views over it) read that category's row groups only.
-- Narrow on purpose: the item's own columns (description, manufacturer, flags, list price) are joined back
-- by mart_supply_line from the 20,000-row item master, so the sort that orders 28 million lines at
-- 1,000,000 cases carries ids, a date and prices, not text (README, *Performance*). Built a run of
-- categories at a time (core/build/chunks.py).
select
    l.case_id,
    c.physician_id,
    c.procedure_code,
    c.surgery_date,
    l.line_number,
    l.item_id,
    l.category,
    l.quantity,
    l.wasted_quantity,
    l.paid_unit_cost_usd,
    l.line_cost_usd,
    l.waste_usd
from int_supply_line as l
join stg_cases as c on c.case_id = l.case_id
order by l.category, c.surgery_date
