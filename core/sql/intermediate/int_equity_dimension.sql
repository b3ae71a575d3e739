-- materialized: table
-- The patient-group dimensions the equity view shows, in display order: payer, sex and age band
-- always; race/ethnicity and dual eligibility only when the source gives them for some case, so a
-- source without those columns shows no empty section.
with given as (
    select count(race_ethnicity) > 0 as has_race, count(dual_eligible_flag) > 0 as has_dual
    from stg_cases
)
select dimension, dimension_label, dimension_order
from (
    values ('payer', 'Payer', 1, true),
           ('patient_sex', 'Sex', 2, true),
           ('age_band', 'Age band', 3, true),
           ('race_ethnicity', 'Race and ethnicity', 4, (select has_race from given)),
           ('dual_eligible', 'Dual eligibility (Medicare and Medicaid)', 5, (select has_dual from given))
) as d(dimension, dimension_label, dimension_order, shown)
where shown
