-- materialized: view
-- Physician x procedure pharmacy for the period: drug spend per case against the peer median (over
-- the eligible physicians, from min_peers) and the drug switch saving, which is null when no
-- formulary (drugs) was given, since then no drug is preferred (Definitions, "Pharmacy").
with per_physician as (
    select physician_id, procedure_code, count(*) as case_count, avg(pharmacy_usd) as pharmacy_per_case_usd
    from mart_period_case
    group by physician_id, procedure_code
),
saving as (
    select cd.physician_id, cd.procedure_code, sum(cd.drug_switch_saving_usd) as drug_switch_saving_usd
    from mart_case_drug as cd
    semi join mart_period_case as pc on pc.case_id = cd.case_id
    -- the request's bounds as constants too (folded at plan time), so scans skip row groups by date
    where cd.surgery_date >= coalesce(getvariable('start_date'), date '0001-01-01')
      and cd.surgery_date <= coalesce(getvariable('end_date'), date '9999-12-31')
    group by cd.physician_id, cd.procedure_code
),
flagged as (
    select p.*, p.case_count >= s.min_cases_count as eligible_flag, s.min_peers_count,
           (select count(*) from stg_drugs) > 0 as formulary_flag
    from per_physician as p
    cross join int_settings as s
),
peers as (
    select *,
           count(*) filter (where eligible_flag) over (partition by procedure_code) as eligible_count,
           median(case when eligible_flag then pharmacy_per_case_usd end)
               over (partition by procedure_code) as median_per_case_usd
    from flagged
)
select
    p.physician_id,
    p.procedure_code,
    p.case_count,
    p.eligible_flag,
    p.pharmacy_per_case_usd,
    p.eligible_count >= p.min_peers_count as peers_shown_flag,
    case when p.eligible_count >= p.min_peers_count then p.eligible_count end as peer_physician_count,
    case when p.eligible_count >= p.min_peers_count then p.median_per_case_usd end as peer_median_pharmacy_per_case_usd,
    p.formulary_flag,
    case when p.formulary_flag then coalesce(s.drug_switch_saving_usd, 0) end as drug_switch_saving_usd
from peers as p
left join saving as s on s.physician_id = p.physician_id and s.procedure_code = p.procedure_code
