-- materialized: table
-- The roster. Emails are lower-cased so sign-in matches them case-insensitively.
select
    lower(trim(email)) as email,
    lower(trim(role)) as role,
    as_text(physician_id) as physician_id,
    as_text(service_line) as service_line
from raw_users
