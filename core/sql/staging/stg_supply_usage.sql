-- materialized: table
-- Supply lines, typed; price paid stays null here when the line does not carry one.
select
    as_text(case_id) as case_id,
    as_text(item_id) as item_id,
    cast(line as integer) as line_number,
    cast(quantity as double) as quantity,
    cast(unit_cost as double) as paid_unit_cost_usd,
    coalesce(cast(wasted_quantity as double), 0) as wasted_quantity
from raw_supply_usage
