-- materialized: view
-- Physician × procedure × outcome for the period: the raw O/E beside its reliability-adjusted
-- (shrunken) estimate — README "Reliability-adjusted estimates", Definitions page "Shrunken O/E".
-- Empirical Bayes with a gamma–Poisson model: O ~ Poisson(E·θ), θ across the peer group with mean m
-- (the pooled ratio ΣO/ΣE of the eligible physicians) and variance τ² (DerSimonian–Laird moments on
-- the ratio scale, weights E/m). Reliability = τ²/(τ² + m/E): the share of a physician's O/E spread
-- that is real difference rather than chance. Shrunken O/E = m + reliability × (O/E − m).
-- core.stats.shrink_oe computes the same from the same numbers (tests/test_reliability.py).
-- Shown only for a risk-adjusted outcome with at least min_peers eligible physicians to learn from.
with positions as (
    select p.*, p.observed_count / nullif(p.expected_count, 0) as raw_ratio
    from mart_outcome_position as p
),
pooled as (
    select procedure_code, outcome, count(*) as prior_physician_count,
           sum(observed_count) / nullif(sum(expected_count), 0) as pooled_ratio
    from positions
    where eligible_flag and expected_count > 0
    group by procedure_code, outcome
),
moments as (
    select q.procedure_code, q.outcome,
           sum((p.expected_count / q.pooled_ratio) * (p.raw_ratio - q.pooled_ratio) ^ 2) as q_stat,
           sum(p.expected_count / q.pooled_ratio) as sum_w,
           sum((p.expected_count / q.pooled_ratio) ^ 2) as sum_w2
    from pooled as q
    join positions as p on p.procedure_code = q.procedure_code and p.outcome = q.outcome
    where p.eligible_flag and p.expected_count > 0 and q.pooled_ratio > 0
    group by q.procedure_code, q.outcome
),
prior as (
    select q.procedure_code, q.outcome, q.prior_physician_count, q.pooled_ratio,
           case when q.prior_physician_count >= 2 and m.sum_w - m.sum_w2 / m.sum_w > 0
                then greatest(0.0, (m.q_stat - (q.prior_physician_count - 1)) / (m.sum_w - m.sum_w2 / m.sum_w))
                else 0.0 end as between_variance
    from pooled as q
    left join moments as m on m.procedure_code = q.procedure_code and m.outcome = q.outcome
),
scored as (
    select p.physician_id, p.procedure_code, p.outcome, p.case_count, p.eligible_flag, p.observed_count,
           p.expected_count, p.adjusted_flag, p.model_note, p.raw_ratio, r.pooled_ratio, r.between_variance,
           r.prior_physician_count,
           p.adjusted_flag and p.expected_count > 0 and r.prior_physician_count >= s.min_peers_count
               as shown,
           case when r.between_variance > 0 and r.pooled_ratio > 0
                then r.between_variance / (r.between_variance + r.pooled_ratio / p.expected_count)
                else 0.0 end as rel
    from positions as p
    cross join int_settings as s
    left join prior as r on r.procedure_code = p.procedure_code and r.outcome = p.outcome
)
select
    physician_id,
    procedure_code,
    outcome,
    case_count,
    eligible_flag,
    observed_count,
    expected_count,
    adjusted_flag,
    model_note,
    raw_ratio as oe_ratio,
    case when shown then pooled_ratio end as pooled_ratio,
    case when shown then between_variance end as between_variance,
    coalesce(prior_physician_count, 0) as prior_physician_count,
    case when shown then rel end as reliability,
    case when shown then pooled_ratio + rel * (raw_ratio - pooled_ratio) end as shrunken_oe_ratio
from scored
