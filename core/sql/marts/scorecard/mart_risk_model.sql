-- materialized: table
-- Which risk models were fitted (plain, or Firth-penalised where the plain fit separates) and which
-- fell back to unadjusted figures for too few events, and why.
select procedure_code, outcome, adjusted_flag, penalised_flag, model_note, events_count, case_count
from int_risk_model
