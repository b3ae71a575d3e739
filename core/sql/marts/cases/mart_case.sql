-- materialized: table
-- One row per case: cost components, outcomes and their risk-model expectations. Sorted by
-- procedure and date so period filters read only the blocks they need.
select
    c.case_id,
    c.physician_id,
    ph.physician_name,
    c.procedure_code,
    pr.procedure_name,
    pr.service_line,
    c.surgery_date,
    c.discharge_date,
    c.surgery_quarter,
    c.patient_age,
    c.patient_sex,
    c.asa_class,
    c.comorbidity_index,
    c.admission_type,
    c.or_minutes,
    c.los_days,
    c.supplies_usd,
    c.implants_usd,
    c.pharmacy_usd,
    c.or_time_usd,
    c.bed_days_usd,
    c.case_cost_usd,
    c.waste_usd,
    c.supply_line_count,
    -- every outcome flag and every expected value of the risk step (core/metrics.py), so a new outcome
    -- needs no edit here
    c.* like '%\_flag' escape '\',
    e.* exclude (case_id)
from int_case_cost as c
join stg_physicians as ph on ph.physician_id = c.physician_id
join stg_procedures as pr on pr.procedure_code = c.procedure_code
left join int_case_expected as e on e.case_id = c.case_id
order by c.procedure_code, c.surgery_date, c.case_id
