-- materialized: table
-- Post-acute spending lines (the 30 days after discharge), typed; empty when the source has none.
select
    as_text(case_id) as case_id,
    cast(line as integer) as line_number,
    lower(trim(setting)) as post_acute_setting,
    cast(service_date as date) as service_date,
    cast(cost as double) as post_acute_cost_usd
from raw_post_acute
