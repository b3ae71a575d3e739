-- materialized: view
-- Physician × procedure cost position for the period (the Definitions page): own median case cost, mean
-- components, eligibility (min_cases), the peer group of eligible physicians, and peer figures only
-- when the group has at least min_peers members. Also preferred-product use and waste per case.
with per_physician as (
    select
        physician_id,
        procedure_code,
        count(*) as case_count,
        median(case_cost_usd) as median_case_cost_usd,
        avg(supplies_usd) as supplies_usd,
        avg(implants_usd) as implants_usd,
        avg(pharmacy_usd) as pharmacy_usd,
        avg(or_time_usd) as or_time_usd,
        avg(bed_days_usd) as bed_days_usd,
        avg(waste_usd) as waste_per_case_usd,
        min(surgery_date) as first_surgery_date,
        max(surgery_date) as last_surgery_date
    from mart_period_case
    group by physician_id, procedure_code
),
preferred as (
    select
        cc.physician_id,
        cc.procedure_code,
        sum(cc.units_count) filter (where cc.has_preferred_flag) as units_count,
        sum(cc.preferred_units_count) filter (where cc.has_preferred_flag) as preferred_units_count,
        sum(cc.spend_usd) filter (where cc.has_preferred_flag) as spend_usd,
        sum(cc.preferred_spend_usd) filter (where cc.has_preferred_flag) as preferred_spend_usd,
        sum(cc.switch_saving_usd) as switch_saving_usd
    from mart_case_category as cc
    semi join mart_period_case as pc on pc.case_id = cc.case_id
    where true
    -- the request's bounds as constants too (folded at plan time), so scans skip row groups by date
    and cc.surgery_date >= coalesce(getvariable('start_date'), date '0001-01-01')
    and cc.surgery_date <= coalesce(getvariable('end_date'), date '9999-12-31')
    and (getvariable('procedure_codes') is null or list_contains(getvariable('procedure_codes'), cc.procedure_code))
    and (getvariable('physician_ids') is null or list_contains(getvariable('physician_ids'), cc.physician_id))
    group by cc.physician_id, cc.procedure_code
),
period as (
    select
        coalesce(getvariable('start_date'), p.default_start_date) as start_date,
        coalesce(getvariable('end_date'), p.default_end_date) as end_date
    from int_period as p
),
flagged as (
    select
        pp.*,
        pp.case_count >= s.min_cases_count as eligible_flag,
        s.min_cases_count,
        s.min_peers_count
    from per_physician as pp
    cross join int_settings as s
),
peers as (
    select
        procedure_code,
        count(*) as peer_physician_count,
        median(median_case_cost_usd) as peer_median_case_cost_usd,
        quantile_cont(median_case_cost_usd, 0.25) as best_quartile_case_cost_usd,
        median(supplies_usd) as peer_supplies_usd,
        median(implants_usd) as peer_implants_usd,
        median(pharmacy_usd) as peer_pharmacy_usd,
        median(or_time_usd) as peer_or_time_usd,
        median(bed_days_usd) as peer_bed_days_usd
    from flagged
    where eligible_flag
    group by procedure_code
),
ranked as (
    select
        physician_id,
        procedure_code,
        -- percent_rank is 100 × (rank − 1)/(n − 1), ties sharing the lower rank (the Definitions page)
        100 * percent_rank() over (partition by procedure_code order by median_case_cost_usd) as cost_percentile_pct
    from flagged
    where eligible_flag
)
select
    f.physician_id,
    f.procedure_code,
    pr.procedure_name,
    pr.service_line,
    f.case_count,
    f.eligible_flag,
    f.min_cases_count,
    f.min_peers_count,
    f.median_case_cost_usd,
    f.supplies_usd,
    f.implants_usd,
    f.pharmacy_usd,
    f.or_time_usd,
    f.bed_days_usd,
    f.waste_per_case_usd,
    coalesce(pe.peer_physician_count, 0) as eligible_physician_count,
    coalesce(pe.peer_physician_count, 0) >= f.min_peers_count as peers_shown_flag,
    case when pe.peer_physician_count >= f.min_peers_count then pe.peer_physician_count end as peer_physician_count,
    case when pe.peer_physician_count >= f.min_peers_count then pe.peer_median_case_cost_usd end as peer_median_case_cost_usd,
    case when pe.peer_physician_count >= f.min_peers_count then pe.best_quartile_case_cost_usd end as best_quartile_case_cost_usd,
    case when pe.peer_physician_count >= f.min_peers_count then pe.peer_supplies_usd end as peer_supplies_usd,
    case when pe.peer_physician_count >= f.min_peers_count then pe.peer_implants_usd end as peer_implants_usd,
    case when pe.peer_physician_count >= f.min_peers_count then pe.peer_pharmacy_usd end as peer_pharmacy_usd,
    case when pe.peer_physician_count >= f.min_peers_count then pe.peer_or_time_usd end as peer_or_time_usd,
    case when pe.peer_physician_count >= f.min_peers_count then pe.peer_bed_days_usd end as peer_bed_days_usd,
    case when pe.peer_physician_count >= f.min_peers_count then r.cost_percentile_pct end as cost_percentile_pct,
    case when pe.peer_physician_count >= f.min_peers_count
         then f.median_case_cost_usd - pe.peer_median_case_cost_usd end as gap_to_peer_median_usd,
    case when pe.peer_physician_count >= f.min_peers_count
         then f.median_case_cost_usd - pe.best_quartile_case_cost_usd end as gap_to_best_quartile_usd,
    -- yearly volume: the period's cases scaled to 365.25 days
    f.case_count * 365.25 / (datediff('day', period.start_date, period.end_date) + 1) as yearly_case_count,
    case when pe.peer_physician_count >= f.min_peers_count
         then (f.median_case_cost_usd - pe.peer_median_case_cost_usd)
              * f.case_count * 365.25 / (datediff('day', period.start_date, period.end_date) + 1)
         end as yearly_gap_value_usd,
    case when p.units_count > 0 then 100.0 * p.preferred_units_count / p.units_count end as preferred_use_pct,
    case when p.spend_usd > 0 then 100.0 * p.preferred_spend_usd / p.spend_usd end as preferred_spend_pct,
    coalesce(p.switch_saving_usd, 0) as switch_saving_usd,
    period.start_date as period_start_date,
    period.end_date as period_end_date
from flagged as f
cross join period
left join peers as pe on pe.procedure_code = f.procedure_code
left join ranked as r on r.physician_id = f.physician_id and r.procedure_code = f.procedure_code
left join preferred as p on p.physician_id = f.physician_id and p.procedure_code = f.procedure_code
-- the procedure's name and line beside its figures, so a page reads one row per procedure and joins nothing
left join stg_procedures as pr on pr.procedure_code = f.procedure_code
