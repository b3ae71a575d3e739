-- materialized: table
-- One row per case with every cost component of the Definitions page, never only the sum.
with supply as (
    select
        case_id,
        sum(case when implant_flag then 0 else line_cost_usd end) as supplies_usd,
        sum(case when implant_flag then line_cost_usd else 0 end) as implants_usd,
        sum(waste_usd) as waste_usd,
        count(*) as supply_line_count
    from int_supply_line
    group by case_id
),
pharmacy as (
    select case_id, sum(drug_cost_usd) as pharmacy_usd
    from stg_drug_usage
    group by case_id
),
costed as (
    select
        c.case_id,
        c.physician_id,
        c.procedure_code,
        c.surgery_date,
        c.discharge_date,
        quarter_label(c.surgery_date) as surgery_quarter,
        c.patient_age,
        c.patient_sex,
        c.asa_class,
        c.comorbidity_index,
        c.admission_type,
        c.or_minutes,
        datediff('day', c.surgery_date, c.discharge_date) as los_days,
        coalesce(s.supplies_usd, 0) as supplies_usd,
        coalesce(s.implants_usd, 0) as implants_usd,
        coalesce(p.pharmacy_usd, 0) as pharmacy_usd,
        c.or_minutes * st.or_cost_per_minute_usd as or_time_usd,
        datediff('day', c.surgery_date, c.discharge_date) * st.bed_day_cost_usd as bed_days_usd,
        coalesce(s.waste_usd, 0) as waste_usd,
        coalesce(s.supply_line_count, 0) as supply_line_count,
        -- every outcome flag of stg_cases (core/metrics.py), so a new outcome needs no edit here
        c.* like '%\_flag' escape '\'
    from stg_cases as c
    cross join int_settings as st
    left join supply as s on s.case_id = c.case_id
    left join pharmacy as p on p.case_id = c.case_id
)
select
    *,
    supplies_usd + implants_usd + pharmacy_usd + or_time_usd + bed_days_usd as case_cost_usd
from costed
