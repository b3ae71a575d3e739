-- materialized: view
-- Physician × procedure × supply category for the period: the physician's spend per case in the
-- category against the median over the eligible peers (0 for a peer who never used it), and the gap.
-- The scorecard's "what drives my cost" chart reads it; peer figures only when peers are shown.
with pos as (
    select physician_id, procedure_code, case_count, eligible_flag, peers_shown_flag
    from mart_cost_position
    -- set only by core.db.prepare_excluded (the procedures an accepted flag touches), here as well as in
    -- the views read, for it then reads their patched tables
    where getvariable('procedure_codes') is null or list_contains(getvariable('procedure_codes'), procedure_code)
),
used as (
    select physician_id, procedure_code, category, spend_usd
    from mart_preferred_use
    where getvariable('procedure_codes') is null or list_contains(getvariable('procedure_codes'), procedure_code)
),
categories as (
    select distinct procedure_code, category from used
),
grid as (
    select c.procedure_code, c.category, coalesce(u.spend_usd, 0) / p.case_count as per_case_usd
    from pos as p
    join categories as c on c.procedure_code = p.procedure_code
    left join used as u
        on u.physician_id = p.physician_id and u.procedure_code = p.procedure_code and u.category = c.category
    where p.eligible_flag
),
peer as (
    select procedure_code, category, median(per_case_usd) as peer_per_case_usd
    from grid
    group by procedure_code, category
)
select
    u.physician_id,
    u.procedure_code,
    u.category,
    u.spend_usd / p.case_count as you_per_case_usd,
    case when p.peers_shown_flag then pe.peer_per_case_usd end as peer_per_case_usd,
    case when p.peers_shown_flag then u.spend_usd / p.case_count - pe.peer_per_case_usd end as gap_per_case_usd
from used as u
join pos as p on p.physician_id = u.physician_id and p.procedure_code = u.procedure_code
left join peer as pe on pe.procedure_code = u.procedure_code and pe.category = u.category
where u.spend_usd > 0
