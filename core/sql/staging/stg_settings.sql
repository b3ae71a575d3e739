-- materialized: table
-- Settings as text pairs; int_settings turns the known ones into numbers with defaults.
select
    trim(key) as setting_key,
    trim(value) as setting_value
from raw_settings
