-- materialized: table
-- Physician × procedure × outcome over all the data: the factor that measures a physician's expected
-- count against their peers alone (README "Fair numbers at a department's size", Definitions page
-- "Expected (E)"). The risk model is fitted on every case of the procedure, the physician's own
-- included, so a surgeon with many excess events raises everyone's expected risk, their own too, and
-- hides part of their excess (masking: in a department of ten, each surgeon is a tenth of the fit).
-- peer_factor = (ΣO − Oⱼ + 5) / (ΣE − Eⱼ + 5) over the procedure's cases: the other physicians' own
-- O/E, with five events at O/E = 1 added to both so that peers with no events (a rare outcome) do not
-- set it to 0. core.stats.peer_calibration computes the same (PEER_PRIOR_EVENTS = 5).
with outcomes as (
    select physician_id, procedure_code, 'complication' as outcome,
           cast(complication_flag as integer) as observed, expected_complication_rate as expected
    from mart_case
    union all
    select physician_id, procedure_code, 'readmit_30d', cast(readmit_30d_flag as integer), expected_readmit_30d_rate
    from mart_case
    union all
    select physician_id, procedure_code, 'ssi', cast(ssi_flag as integer), expected_ssi_rate
    from mart_case
    union all
    select physician_id, procedure_code, 'mortality', cast(mortality_flag as integer), expected_mortality_rate
    from mart_case
    union all
    select physician_id, procedure_code, 'los_days', los_days, expected_los_days
    from mart_case
),
per_physician as (
    select physician_id, procedure_code, outcome,
           sum(observed) as observed_count, sum(expected) as expected_count
    from outcomes
    group by physician_id, procedure_code, outcome
),
factors as (
    select
        *,
        (sum(observed_count) over w - observed_count + 5.0)
            / nullif(sum(expected_count) over w - expected_count + 5.0, 0) as raw_factor
    from per_physician
    window w as (partition by procedure_code, outcome)
)
select
    physician_id,
    procedure_code,
    outcome,
    case when isfinite(raw_factor) and raw_factor > 0 then raw_factor else 1.0 end as peer_factor
from factors
