-- materialized: table
-- The tension in a standardization opportunity: per category with a preferred item, how many of its
-- preferred items are single-source or on backorder (shown beside the category's switch saving).
select
    category,
    count(*) as preferred_item_count,
    count(*) filter (where approved_sources_count = 1) as single_source_preferred_count,
    count(*) filter (where backorder_flag) as backorder_preferred_count,
    count(*) filter (where approved_sources_count = 1 or backorder_flag) > 0 as preferred_at_risk_flag,
    coalesce(list(item_description order by item_description) filter (where approved_sources_count = 1),
             []::varchar[]) as single_source_preferred_items,
    coalesce(list(item_description order by item_description) filter (where backorder_flag),
             []::varchar[]) as backorder_preferred_items
from stg_items
where preferred_flag and category is not null
group by category
