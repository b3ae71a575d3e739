-- materialized: table
-- One row of the numeric settings the metrics need. Defaults are the Definitions page's and match
-- core.contract.SETTINGS_DEFAULTS (a test holds them together).
with provided as (
    select setting_key, try_cast(setting_value as double) as setting_number
    from stg_settings
)
select
    coalesce((select max(setting_number) from provided where setting_key = 'or_cost_per_minute'), 38.0)
        as or_cost_per_minute_usd,
    coalesce((select max(setting_number) from provided where setting_key = 'bed_day_cost'), 2400.0)
        as bed_day_cost_usd,
    cast(coalesce((select max(setting_number) from provided where setting_key = 'min_cases'), 10) as integer)
        as min_cases_count,
    cast(coalesce((select max(setting_number) from provided where setting_key = 'min_peers'), 5) as integer)
        as min_peers_count
