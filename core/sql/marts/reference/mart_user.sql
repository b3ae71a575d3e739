-- materialized: table
-- The roster joined to the physician directory: what sign-in matches an email against.
select
    u.email,
    u.role,
    u.physician_id,
    coalesce(u.service_line, p.service_line) as service_line,
    p.physician_name
from stg_users as u
left join stg_physicians as p on p.physician_id = u.physician_id
