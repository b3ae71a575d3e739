-- materialized: table
-- Categories that have at least one preferred item, and the cheapest preferred price: the
-- benchmark a switch saving is measured against (the Definitions page).
select
    category,
    count(*) as preferred_item_count,
    min(item_unit_cost_usd) as lowest_preferred_unit_cost_usd
from stg_items
where preferred_flag and category is not null
group by category
