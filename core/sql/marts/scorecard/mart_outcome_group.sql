-- materialized: view
-- Procedure × outcome for the period over the eligible physicians' cases (the presentation's outcomes
-- slide): cases, observed, expected and the observed rate, and whether every model was adjusted.
select
    procedure_code,
    outcome,
    sum(case_count) as case_count,
    sum(observed_count) as observed_count,
    sum(model_expected_count) as expected_count,  -- the model's own: the group is everyone, no peers to set apart
    sum(observed_count) / sum(case_count) as observed_rate,
    bool_and(adjusted_flag) as adjusted_flag,
    any_value(model_note) as model_note
from mart_outcome_position
where eligible_flag
group by procedure_code, outcome
