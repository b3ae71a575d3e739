-- materialized: table
-- The item master, typed; optional columns arrive as nulls when the source leaves them out.
select
    as_text(item_id) as item_id,
    as_text(description) as item_description,
    as_text(manufacturer) as manufacturer,
    as_text(category) as category,
    cast(unit_cost as double) as item_unit_cost_usd,
    as_flag(is_implant) as implant_flag,
    as_flag(preferred) as preferred_flag,
    lower(as_text(criticality)) as criticality,
    cast(approved_sources as integer) as approved_sources_count,
    coalesce(as_flag(on_backorder), false) as backorder_flag
from raw_items
