-- materialized: table
-- Cases, typed: dates, numbers and outcome flags parsed once, after validation proved they parse.
select
    as_text(case_id) as case_id,
    as_text(physician_id) as physician_id,
    as_text(procedure_code) as procedure_code,
    cast(surgery_date as date) as surgery_date,
    cast(discharge_date as date) as discharge_date,
    cast(patient_age as integer) as patient_age,
    upper(trim(patient_sex)) as patient_sex,
    cast(asa_class as integer) as asa_class,
    cast(comorbidity_index as double) as comorbidity_index,
    lower(trim(admission_type)) as admission_type,
    as_text(payer) as payer,
    cast(or_minutes as double) as or_minutes,
    as_flag(readmit_30d) as readmit_30d_flag,
    as_flag(complication) as complication_flag,
    as_flag(ssi) as ssi_flag,
    as_flag(mortality) as mortality_flag,
    as_text(facility) as facility,
    as_text(race_ethnicity) as race_ethnicity,
    case when as_text(dual_eligible) is null then null else as_flag(dual_eligible) end as dual_eligible_flag
from raw_cases
