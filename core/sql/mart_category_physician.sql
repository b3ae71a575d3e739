-- materialized: view
-- Physician × supply category for the period, over all their procedures: preferred use by units
-- and by spend, switch saving and waste (SPEC §5), beside the peers' typical share. "Peers" are the
-- physicians with at least min_cases cases using the category; their median share is given only
-- when there are at least min_peers of them, so it can never single anyone out (SPEC §6).
with per_physician as (
    select
        physician_id,
        category,
        bool_or(has_preferred_flag) as has_preferred_flag,
        bool_or(implant_flag) as implant_flag,
        cast(sum(case_count) as bigint) as case_count,
        sum(units_count) as units_count,
        sum(preferred_units_count) as preferred_units_count,
        sum(spend_usd) as spend_usd,
        sum(preferred_spend_usd) as preferred_spend_usd,
        sum(switch_saving_usd) as switch_saving_usd,
        sum(waste_usd) as waste_usd
    from mart_preferred_use
    group by physician_id, category
),
shares as (
    -- Categories without a preferred item keep null shares: "no preferred item", never 0%.
    select
        p.*,
        case when p.has_preferred_flag and p.units_count > 0
             then 100.0 * p.preferred_units_count / p.units_count end as preferred_use_pct,
        case when p.has_preferred_flag and p.spend_usd > 0
             then 100.0 * p.preferred_spend_usd / p.spend_usd end as preferred_spend_pct,
        p.case_count >= s.min_cases_count as eligible_flag,
        s.min_peers_count
    from per_physician as p
    cross join int_settings as s
),
peers as (
    select
        category,
        count(*) filter (where eligible_flag) as eligible_count,
        median(preferred_use_pct) filter (where eligible_flag) as median_use_pct,
        median(preferred_spend_pct) filter (where eligible_flag) as median_spend_pct
    from shares
    group by category
)
select
    s.physician_id,
    s.category,
    s.has_preferred_flag,
    s.implant_flag,
    s.case_count,
    s.units_count,
    s.preferred_units_count,
    s.spend_usd,
    s.preferred_spend_usd,
    s.preferred_use_pct,
    s.preferred_spend_pct,
    s.switch_saving_usd,
    s.waste_usd,
    s.eligible_flag,
    p.eligible_count >= s.min_peers_count as peers_shown_flag,
    case when p.eligible_count >= s.min_peers_count then p.eligible_count end as peer_physician_count,
    case when p.eligible_count >= s.min_peers_count then p.median_use_pct end as peer_median_preferred_use_pct,
    case when p.eligible_count >= s.min_peers_count then p.median_spend_pct end as peer_median_preferred_spend_pct
from shares as s
join peers as p on p.category = s.category
