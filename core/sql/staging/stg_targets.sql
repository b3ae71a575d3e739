-- materialized: table
-- Episode target prices per procedure, typed; empty when the source has no targets file.
select
    as_text(procedure_code) as procedure_code,
    cast(episode_target_usd as double) as episode_target_usd
from raw_targets
