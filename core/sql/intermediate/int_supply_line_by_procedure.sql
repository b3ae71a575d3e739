-- materialized: table
-- chunked by: procedure_code
-- Every priced supply line with its case's physician, procedure and date, stored by procedure, category
-- and date. By procedure first so that mart_case_category, grouped a few procedures at a time, reads
-- only those procedures' row groups; by category and date within a procedure so that a category's
-- views (mart_supply_line and the product views over it) still skip most row groups (a category is
-- one stretch in each procedure's lines). Narrow on purpose: the item's own columns (description,
-- manufacturer, flags, list price) are joined back by mart_supply_line from the item master, and a
-- line's cost and waste (quantity and wasted quantity times the price paid) are computed there too, so
-- the sort that orders 282 million lines at 10,000,000 cases carries ids, a date and three numbers,
-- not text (README, *Performance*). Within a procedure the lines are ordered by the category's rank
-- among the item master's categories (nulls last, as DuckDB orders the text): the same order as the
-- text, compared as a small integer. Built a run of procedures at a time (core/build/chunks.py).
with category_order as (
    select item_id, dense_rank() over (order by category) as category_rank
    from stg_items
)
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
    l.paid_unit_cost_usd
from int_supply_line as l
join stg_cases as c on c.case_id = l.case_id
join category_order as o on o.item_id = l.item_id
order by c.procedure_code, o.category_rank, c.surgery_date
