-- materialized: table
-- The standardization programme's dates and target (settings program_start_date and
-- savings_target_usd): the baseline is the 12 months before the programme began (Definitions,
-- "Savings achieved"). One row; nulls when the settings are not given.
with provided as (
    select
        (select try_cast(max(setting_value) as date) from stg_settings
         where setting_key = 'program_start_date') as program_start_date,
        (select try_cast(max(setting_value) as double) from stg_settings
         where setting_key = 'savings_target_usd') as savings_target_usd
)
select
    program_start_date,
    savings_target_usd,
    cast(program_start_date - interval 12 month as date) as baseline_start_date,
    cast(program_start_date - interval 1 day as date) as baseline_end_date
from provided
