-- materialized: table
-- Which risk models were fitted and which fell back to unadjusted figures, and why.
select procedure_code, outcome, adjusted_flag, model_note, events_count, case_count
from int_risk_model
