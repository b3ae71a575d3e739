-- materialized: table
-- One row per case with the patient groups the equity view compares (README, *Equity*): payer, sex,
-- age band, and race/ethnicity and dual eligibility when the source gives them. A blank value is its
-- own group ("Not recorded") so the groups of a dimension always add up to every case.
select
    c.case_id,
    coalesce(c.payer, 'Not recorded') as payer,
    case c.patient_sex when 'F' then 'Female' when 'M' then 'Male' when 'X' then 'X'
                       else 'Not recorded' end as patient_sex,
    case when c.patient_age < 18 then '0–17'
         when c.patient_age < 50 then '18–49'
         when c.patient_age < 65 then '50–64'
         when c.patient_age < 75 then '65–74'
         when c.patient_age < 85 then '75–84'
         else '85 or older' end as age_band,
    coalesce(c.race_ethnicity, 'Not recorded') as race_ethnicity,
    case when c.dual_eligible_flag is null then 'Not recorded'
         when c.dual_eligible_flag then 'Dual-eligible' else 'Not dual-eligible' end as dual_eligible
from stg_cases as c
