-- materialized: table
-- Settings and the data's dates in one row, for pages and the report.
select s.*, p.*
from int_settings as s
cross join int_period as p
