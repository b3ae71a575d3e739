-- materialized: view
-- Physician × supply category for the period, over all their procedures: preferred use by units
-- and by spend, switch saving and waste (the Definitions page), beside the peers' typical share. "Peers" are the
-- physicians with at least min_cases cases using the category; their median share is given only
-- when there are at least min_peers of them, so it can never single anyone out (README, *Access*).
-- Summed from mart_preferred_use (physician × procedure × category, the same period filter), not from the
-- case categories again: a case has one procedure, so its distinct cases, sums and flags add up over the
-- physician's procedures exactly. Its snapshot and its patch after a flag decision then read preferred
-- use's snapshot and patch (2 million rows at 10,000,000 cases, not 181 million; README, *Performance*).
with per_physician as (
    select
        pu.physician_id,
        pu.category,
        bool_or(pu.has_preferred_flag) as has_preferred_flag,
        bool_or(pu.implant_flag) as implant_flag,
        sum(pu.case_count)::bigint as case_count,
        sum(pu.units_count) as units_count,
        sum(pu.preferred_units_count) as preferred_units_count,
        sum(pu.spend_usd) as spend_usd,
        sum(pu.preferred_spend_usd) as preferred_spend_usd,
        sum(pu.switch_saving_usd) as switch_saving_usd,
        sum(pu.waste_usd) as waste_usd
    from mart_preferred_use as pu
    -- set only by core.db.prepare_excluded: the categories of the cases an accepted flag touches (a
    -- category's rows and peer medians depend only on the cases with a line in it)
    where getvariable('categories') is null or list_contains(getvariable('categories'), pu.category)
    group by pu.physician_id, pu.category
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
peer_groups as (
    -- One row per category: the eligible physicians and their medians, grouped and joined back (as a
    -- window over the category, each median took 3.3 s of work at 10,000,000 cases, where thousands of
    -- physicians share a category; README, *Performance*).
    select
        category,
        count(*) filter (where eligible_flag) as eligible_count,
        median(preferred_use_pct) filter (where eligible_flag) as median_use_pct,
        median(preferred_spend_pct) filter (where eligible_flag) as median_spend_pct
    from shares
    group by category
),
peers as (
    select s.*, g.eligible_count, g.median_use_pct, g.median_spend_pct
    from shares as s
    join peer_groups as g on g.category is not distinct from s.category
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
