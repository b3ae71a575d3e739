-- materialized: table
-- The formulary, typed; empty when the source has no drugs file (pharmacy views then fall back to
-- drug_usage's own classes).
select
    as_text(drug_name) as drug_name,
    as_text(drug_class) as drug_class,
    as_flag(preferred) as preferred_flag,
    cast(unit_cost as double) as drug_unit_cost_usd
from raw_drugs
