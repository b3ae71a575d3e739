-- materialized: view
-- Physician × supply category for the period, over all their procedures: preferred use by units
-- and by spend, switch saving and waste (the Definitions page), beside the peers' typical share. "Peers" are the
-- physicians with at least min_cases cases using the category; their median share is given only
-- when there are at least min_peers of them, so it can never single anyone out (README, *Access*).
with per_physician as (
    select
        cc.physician_id,
        cc.category,
        bool_or(cc.has_preferred_flag) as has_preferred_flag,
        bool_or(cc.implant_flag) as implant_flag,
        count(*) as case_count,
        sum(cc.units_count) as units_count,
        sum(cc.preferred_units_count) as preferred_units_count,
        sum(cc.spend_usd) as spend_usd,
        sum(cc.preferred_spend_usd) as preferred_spend_usd,
        sum(cc.switch_saving_usd) as switch_saving_usd,
        sum(cc.waste_usd) as waste_usd
    from mart_case_category as cc
    semi join mart_period_case as pc on pc.case_id = cc.case_id
    -- the request's bounds as constants too (folded at plan time), so scans skip row groups by date
    where cc.surgery_date >= coalesce(getvariable('start_date'), date '0001-01-01')
      and cc.surgery_date <= coalesce(getvariable('end_date'), date '9999-12-31')
    group by cc.physician_id, cc.category
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
    -- One pass per category (a window, not a self-join): the eligible physicians and their medians.
    select
        *,
        count(*) filter (where eligible_flag) over (partition by category) as eligible_count,
        median(case when eligible_flag then preferred_use_pct end) over (partition by category) as median_use_pct,
        median(case when eligible_flag then preferred_spend_pct end) over (partition by category) as median_spend_pct
    from shares
)
select
    physician_id,
    category,
    has_preferred_flag,
    implant_flag,
    case_count,
    units_count,
    preferred_units_count,
    spend_usd,
    preferred_spend_usd,
    preferred_use_pct,
    preferred_spend_pct,
    switch_saving_usd,
    waste_usd,
    eligible_flag,
    eligible_count >= min_peers_count as peers_shown_flag,
    case when eligible_count >= min_peers_count then eligible_count end as peer_physician_count,
    case when eligible_count >= min_peers_count then median_use_pct end as peer_median_preferred_use_pct,
    case when eligible_count >= min_peers_count then median_spend_pct end as peer_median_preferred_spend_pct
from peers
