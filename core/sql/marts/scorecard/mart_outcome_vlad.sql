-- materialized: view
-- Physician × procedure × outcome × case, in date order: the cumulative risk-adjusted charts —
-- README "Outcomes over time", Definitions page "Outcomes over time". Over all the data, like the
-- quarterly cost trend; cases whose flag was accepted no longer count.
-- * VLAD (variable life-adjusted display; Lovegrove et al. 1997, Lancet 350:1128): vlad_count is the
--   running sum of expected − observed, "net events avoided" (below 0, more than the risk predicts).
-- * Risk-adjusted CUSUM (Steiner, Cook, Farewell & Treasure 2000, Biostatistics 1:441) for a doubling
--   of the odds of the event (RA = 2), binary outcomes only: each case scores
--   w = y·ln 2 − ln(1 − p + 2p), p its expected risk; the chart S_t = max(0, S_{t−1} + w_t) is, with
--   C_t the running sum of w, C_t − min(0, min over s ≤ t of C_s) — two window passes, no recursion.
--   It signals at cusum_limit_count = 4.5 (the limit Steiner et al. used for RA = 2), no restart.
--   core.stats.ra_cusum computes the same recursively (tests/test_stats.py, tests/test_demo_truths.py).
with outcomes as (
    -- No shared CTE of kept cases: each branch reads mart_case itself, so a request's physician and
    -- procedure filter reaches the scan through the window's partition (one physician's cases, not all).
    select physician_id, procedure_code, case_id, surgery_date, 'complication' as outcome, true as binary_flag,
           cast(complication_flag as integer) as observed, expected_complication_rate as expected
    from mart_case
    where not list_contains(coalesce(getvariable('excluded_case_ids'), []::varchar[]), case_id)
    union all
    select physician_id, procedure_code, case_id, surgery_date, 'readmit_30d', true,
           cast(readmit_30d_flag as integer), expected_readmit_30d_rate
    from mart_case
    where not list_contains(coalesce(getvariable('excluded_case_ids'), []::varchar[]), case_id)
    union all
    select physician_id, procedure_code, case_id, surgery_date, 'ssi', true, cast(ssi_flag as integer),
           expected_ssi_rate
    from mart_case
    where not list_contains(coalesce(getvariable('excluded_case_ids'), []::varchar[]), case_id)
    union all
    select physician_id, procedure_code, case_id, surgery_date, 'mortality', true,
           cast(mortality_flag as integer), expected_mortality_rate
    from mart_case
    where not list_contains(coalesce(getvariable('excluded_case_ids'), []::varchar[]), case_id)
    union all
    select physician_id, procedure_code, case_id, surgery_date, 'los_days', false, los_days, expected_los_days
    from mart_case
    where not list_contains(coalesce(getvariable('excluded_case_ids'), []::varchar[]), case_id)
),
calibrated as (
    -- Each case's expected risk against the physician's peers alone (mart_outcome_calibration), as in
    -- mart_outcome_position, so the chart ends where the scorecard's O and E do; a risk stays below 1.
    select
        o.physician_id, o.procedure_code, o.case_id, o.surgery_date, o.outcome, o.binary_flag, o.observed,
        case when o.binary_flag then least(o.expected * coalesce(c.peer_factor, 1.0), 0.999)
             else o.expected * coalesce(c.peer_factor, 1.0) end as expected
    from outcomes as o
    left join mart_outcome_calibration as c
        on c.physician_id = o.physician_id and c.procedure_code = o.procedure_code and c.outcome = o.outcome
),
running as (
    select
        o.*,
        row_number() over w as case_number,
        sum(o.observed) over w as cumulative_observed_count,
        sum(o.expected) over w as cumulative_expected_count,
        sum(o.expected - o.observed) over w as vlad_count,
        sum(case when o.binary_flag then o.observed * ln(2.0) - ln(1.0 + o.expected) end) over w as cusum_sum
    from calibrated as o
    window w as (partition by o.physician_id, o.procedure_code, o.outcome order by o.surgery_date, o.case_id
                 rows between unbounded preceding and current row)
),
charted as (
    select
        r.*,
        r.cusum_sum - least(0.0, min(r.cusum_sum) over w) as cusum_count
    from running as r
    window w as (partition by r.physician_id, r.procedure_code, r.outcome order by r.case_number
                 rows between unbounded preceding and current row)
)
select
    c.physician_id,
    c.procedure_code,
    c.outcome,
    c.case_number,
    c.case_id,
    c.surgery_date,
    c.observed as observed_count,
    c.expected as expected_count,
    c.cumulative_observed_count,
    c.cumulative_expected_count,
    c.vlad_count,
    c.cusum_count,
    case when c.binary_flag then 4.5 end as cusum_limit_count,
    coalesce(c.cusum_count >= 4.5, false) as cusum_signal_flag,
    coalesce(m.adjusted_flag, false) as adjusted_flag
from charted as c
left join int_risk_model as m on m.procedure_code = c.procedure_code and m.outcome = c.outcome
