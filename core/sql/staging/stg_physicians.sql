-- materialized: table
-- Physicians, typed and trimmed: the one place source spelling is normalised.
select
    as_text(physician_id) as physician_id,
    as_text(name) as physician_name,
    as_text(specialty) as specialty,
    as_text(service_line) as service_line,
    lower(as_text(email)) as email
from raw_physicians
