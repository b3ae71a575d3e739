-- materialized: table
-- Drug lines, typed; cost is the line's total cost (README, *The data contract*), not a unit price.
select
    as_text(case_id) as case_id,
    cast(line as integer) as line_number,
    as_text(drug_name) as drug_name,
    as_text(drug_class) as drug_class,
    cast(quantity as double) as quantity,
    cast(cost as double) as drug_cost_usd
from raw_drug_usage
