-- materialized: table
-- Drug lines priced against the formulary (Definitions, "Pharmacy"): a line's drug is preferred when
-- the formulary (drugs) marks it so; a class has a preferred drug when the formulary marks one in it.
-- The drug switch saving of a non-preferred line in such a class is max(0, (cost / quantity - the
-- lowest preferred unit cost in the class) x quantity); a preferred drug's unit cost is the
-- formulary's, else the median paid per unit for it in the data. Lines with no quantity save nothing.
with formulary as (
    select lower(drug_name) as drug_key, drug_class, preferred_flag, drug_unit_cost_usd
    from stg_drugs
),
paid as (
    select lower(drug_name) as drug_key, median(drug_cost_usd / quantity) as median_paid_unit_cost_usd
    from stg_drug_usage
    where quantity > 0
    group by lower(drug_name)
),
class_preferred as (
    select f.drug_class,
           min(coalesce(f.drug_unit_cost_usd, p.median_paid_unit_cost_usd)) as lowest_preferred_unit_cost_usd
    from formulary as f
    left join paid as p on p.drug_key = f.drug_key
    where f.preferred_flag
    group by f.drug_class
)
select
    d.case_id,
    d.line_number,
    d.drug_name,
    d.drug_class,
    d.quantity,
    d.drug_cost_usd,
    case when d.quantity > 0 then d.drug_cost_usd / d.quantity end as paid_unit_cost_usd,
    coalesce(f.preferred_flag, false) as preferred_flag,
    cp.drug_class is not null as class_has_preferred_flag,
    cp.lowest_preferred_unit_cost_usd,
    case when cp.drug_class is not null and not coalesce(f.preferred_flag, false) and d.quantity > 0
         then greatest(0, (d.drug_cost_usd / d.quantity - cp.lowest_preferred_unit_cost_usd) * d.quantity)
         else 0 end as drug_switch_saving_usd
from stg_drug_usage as d
left join formulary as f on f.drug_key = lower(d.drug_name)
left join class_preferred as cp on cp.drug_class = d.drug_class
