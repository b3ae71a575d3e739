-- materialized: table
-- The item master with what was actually paid: lines, units and the spread of prices paid, so the
-- evidence library can show a preferred item's price beside the alternatives in use.
with paid as (
    select
        item_id,
        count(*) as line_count,
        sum(quantity) as units_count,
        sum(line_cost_usd) as spend_usd,
        min(paid_unit_cost_usd) as min_paid_unit_cost_usd,
        median(paid_unit_cost_usd) as median_paid_unit_cost_usd,
        max(paid_unit_cost_usd) as max_paid_unit_cost_usd
    from int_supply_line
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
    p.median_paid_unit_cost_usd,
    p.max_paid_unit_cost_usd
from stg_items as i
left join paid as p on p.item_id = i.item_id
