-- materialized: table
-- Procedures with their service line and case volume, for pickers.
select
    p.procedure_code,
    p.procedure_name,
    p.service_line,
    count(c.case_id) as case_count
from stg_procedures as p
left join stg_cases as c on c.procedure_code = p.procedure_code
group by p.procedure_code, p.procedure_name, p.service_line
