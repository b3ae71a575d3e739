-- materialized: view
-- Drugs in use in the period, for supply and pharmacy staff: spend, units, price paid per unit, cases
-- and physicians, whether the formulary prefers the drug, and its drug switch saving.
select
    cd.drug_name,
    any_value(cd.drug_class) as drug_class,
    bool_or(cd.preferred_flag) as preferred_flag,
    bool_or(cd.class_has_preferred_flag) as class_has_preferred_flag,
    count(distinct cd.case_id) as case_count,
    count(distinct cd.physician_id) as physician_count,
    sum(cd.units_count) as units_count,
    sum(cd.spend_usd) as spend_usd,
    case when sum(cd.units_count) > 0 then sum(cd.spend_usd) / sum(cd.units_count) end as paid_unit_cost_usd,
    sum(cd.drug_switch_saving_usd) as drug_switch_saving_usd
from mart_case_drug as cd
semi join mart_period_case as pc on pc.case_id = cd.case_id
-- the request's bounds as constants too (folded at plan time), so scans skip row groups by date
where cd.surgery_date >= coalesce(getvariable('start_date'), date '0001-01-01')
  and cd.surgery_date <= coalesce(getvariable('end_date'), date '9999-12-31')
group by cd.drug_name
