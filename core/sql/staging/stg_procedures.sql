-- materialized: table
-- Procedures, typed and trimmed.
select
    as_text(procedure_code) as procedure_code,
    as_text(name) as procedure_name,
    as_text(service_line) as service_line
from raw_procedures
