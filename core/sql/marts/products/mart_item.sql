-- materialized: table
-- The item master with what was actually paid: lines, units and the spread of prices paid, so the
-- evidence library can show a preferred item's price beside the alternatives in use.
-- One pass over the stored lines: lines, units and spend per item and price paid, from which both the
-- item's totals and its median price are taken (two passes over 282 million lines took 32 s at
-- 10,000,000 cases; README, *Performance*). Every line has its case (a foreign key the build checks),
-- so the stored lines are every priced line.
with prices as (
    select
        item_id,
        paid_unit_cost_usd as price,
        count(*) as lines_count,
        sum(quantity) as units_count,
        sum(quantity * paid_unit_cost_usd) as spend_usd
    from int_supply_line_by_procedure
    group by item_id, paid_unit_cost_usd
),
paid as (
    select
        item_id,
        sum(lines_count)::bigint as line_count,
        sum(units_count) as units_count,
        sum(spend_usd) as spend_usd,
        min(price) as min_paid_unit_cost_usd,
        max(price) as max_paid_unit_cost_usd
    from prices
    group by item_id
),
-- The median price paid, exactly as median() gives it (the mean of the two middle prices when their
-- number is even), from how many lines paid each price: an item has a few prices over millions of
-- lines, and median() over the lines themselves held every price of every line in memory (at
-- 10,000,000 cases it spilled until the disk was full; README, *Performance*).
ranked as (
    select
        item_id,
        price,
        sum(lines_count) over (partition by item_id order by price) as upto_count,
        sum(lines_count) over (partition by item_id) as total_count
    from prices
    where price is not null
),
median as (
    select
        item_id,
        (min(price) filter (where upto_count > (total_count - 1) // 2)
         + min(price) filter (where upto_count > total_count // 2)) / 2 as median_paid_unit_cost_usd
    from ranked
    group by item_id
)
select
    i.item_id,
    i.item_description,
    i.manufacturer,
    i.category,
    i.item_unit_cost_usd,
    i.implant_flag,
    i.preferred_flag,
    i.criticality,
    i.approved_sources_count,
    i.backorder_flag,
    coalesce(p.line_count, 0) as line_count,
    coalesce(p.units_count, 0) as units_count,
    coalesce(p.spend_usd, 0) as spend_usd,
    p.min_paid_unit_cost_usd,
    m.median_paid_unit_cost_usd,
    p.max_paid_unit_cost_usd
from stg_items as i
left join paid as p on p.item_id = i.item_id
left join median as m on m.item_id = i.item_id
