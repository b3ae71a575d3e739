-- materialized: view
-- Physician × procedure episode cost for the period (README, *Episode cost*): mean episode cost,
-- its index-case and post-acute parts, post-acute spending per episode by setting, the share of
-- episodes discharged to a skilled nursing facility and over the target price, and the risk-adjusted
-- view (observed ÷ expected episode cost from the gamma GLM on patient factors). Peer figures are the
-- median over eligible physicians (min_cases) and exist only when at least min_peers are eligible.
with episodes as (
    select e.*
    from mart_episode_case as e
    semi join mart_period_case as pc on pc.case_id = e.case_id
    where true
    -- the request's bounds as constants too (folded at plan time), so scans skip row groups by date
    and e.surgery_date >= coalesce(getvariable('start_date'), date '0001-01-01')
    and e.surgery_date <= coalesce(getvariable('end_date'), date '9999-12-31')
),
per_physician as (
    select
        physician_id,
        procedure_code,
        count(*) as case_count,
        avg(episode_cost_usd) as mean_episode_cost_usd,
        avg(case_cost_usd) as mean_case_cost_usd,
        avg(post_acute_usd) as mean_post_acute_usd,
        avg(snf_usd) as snf_usd,
        avg(irf_usd) as irf_usd,
        avg(home_health_usd) as home_health_usd,
        avg(readmission_usd) as readmission_usd,
        avg(outpatient_usd) as outpatient_usd,
        avg(other_usd) as other_usd,
        100.0 * avg(cast(snf_flag as integer)) as snf_discharge_pct,
        100.0 * avg(cast(over_target_flag as integer)) as over_target_pct,
        max(episode_target_usd) as target_usd,
        sum(episode_cost_usd) as observed_episode_cost_usd,
        sum(expected_episode_cost_usd) as expected_episode_cost_usd
    from episodes
    group by physician_id, procedure_code
),
per_procedure as (
    select procedure_code, avg(episode_cost_usd) as procedure_mean_episode_cost_usd
    from episodes
    group by procedure_code
),
flagged as (
    select
        pp.*,
        pp.observed_episode_cost_usd / nullif(pp.expected_episode_cost_usd, 0) as episode_oe_ratio,
        pp.case_count >= s.min_cases_count as eligible_flag,
        s.min_peers_count
    from per_physician as pp
    cross join int_settings as s
),
peers as (
    select
        procedure_code,
        count(*) as peer_physician_count,
        median(mean_episode_cost_usd) as peer_median_episode_cost_usd,
        median(mean_case_cost_usd) as peer_mean_case_cost_usd,
        median(mean_post_acute_usd) as peer_post_acute_usd,
        median(snf_usd) as peer_snf_usd,
        median(irf_usd) as peer_irf_usd,
        median(home_health_usd) as peer_home_health_usd,
        median(readmission_usd) as peer_readmission_usd,
        median(outpatient_usd) as peer_outpatient_usd,
        median(other_usd) as peer_other_usd,
        median(snf_discharge_pct) as peer_snf_discharge_pct,
        median(over_target_pct) as peer_over_target_pct
    from flagged
    where eligible_flag
    group by procedure_code
)
select
    f.physician_id,
    f.procedure_code,
    f.case_count,
    f.eligible_flag,
    f.mean_episode_cost_usd,
    f.mean_case_cost_usd,
    f.mean_post_acute_usd,
    f.snf_usd,
    f.irf_usd,
    f.home_health_usd,
    f.readmission_usd,
    f.outpatient_usd,
    f.other_usd,
    f.snf_discharge_pct,
    f.target_usd,
    f.over_target_pct,
    f.expected_episode_cost_usd / f.case_count as expected_mean_episode_cost_usd,
    f.episode_oe_ratio,
    -- indirect standardisation: the procedure's mean episode at this physician's O/E
    f.episode_oe_ratio * pr.procedure_mean_episode_cost_usd as risk_adjusted_episode_cost_usd,
    coalesce(m.adjusted_flag, false) as adjusted_flag,
    m.model_note,
    coalesce(pe.peer_physician_count, 0) >= f.min_peers_count as peers_shown_flag,
    case when pe.peer_physician_count >= f.min_peers_count then pe.peer_physician_count end as peer_physician_count,
    case when pe.peer_physician_count >= f.min_peers_count then pe.peer_median_episode_cost_usd end
        as peer_median_episode_cost_usd,
    case when pe.peer_physician_count >= f.min_peers_count then pe.peer_mean_case_cost_usd end
        as peer_mean_case_cost_usd,
    case when pe.peer_physician_count >= f.min_peers_count then pe.peer_post_acute_usd end as peer_post_acute_usd,
    case when pe.peer_physician_count >= f.min_peers_count then pe.peer_snf_usd end as peer_snf_usd,
    case when pe.peer_physician_count >= f.min_peers_count then pe.peer_irf_usd end as peer_irf_usd,
    case when pe.peer_physician_count >= f.min_peers_count then pe.peer_home_health_usd end as peer_home_health_usd,
    case when pe.peer_physician_count >= f.min_peers_count then pe.peer_readmission_usd end as peer_readmission_usd,
    case when pe.peer_physician_count >= f.min_peers_count then pe.peer_outpatient_usd end as peer_outpatient_usd,
    case when pe.peer_physician_count >= f.min_peers_count then pe.peer_other_usd end as peer_other_usd,
    case when pe.peer_physician_count >= f.min_peers_count then pe.peer_snf_discharge_pct end
        as peer_snf_discharge_pct,
    case when pe.peer_physician_count >= f.min_peers_count then pe.peer_over_target_pct end
        as peer_over_target_pct,
    case when pe.peer_physician_count >= f.min_peers_count
         then f.mean_episode_cost_usd - pe.peer_median_episode_cost_usd end as gap_to_peer_median_usd
from flagged as f
left join per_procedure as pr on pr.procedure_code = f.procedure_code
left join peers as pe on pe.procedure_code = f.procedure_code
left join int_episode_model as m on m.procedure_code = f.procedure_code
