-- materialized: table
-- The physician directory. Identified: core.access decides who may read names and ids.
select physician_id, physician_name, specialty, service_line, email
from stg_physicians
