-- materialized: table
-- The data's date span and the default period: the 12 months ending at the latest surgery (the Definitions page).
with span as (
    select min(surgery_date) as data_start_date, max(surgery_date) as data_end_date
    from stg_cases
)
select
    data_start_date,
    data_end_date,
    cast(data_end_date - interval 12 month + interval 1 day as date) as default_start_date,
    data_end_date as default_end_date
from span
