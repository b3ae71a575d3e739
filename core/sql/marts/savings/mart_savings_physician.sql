-- materialized: view
-- Savings achieved per physician x procedure x savings category (Definitions, "Savings achieved").
-- The baseline is the 12 months before program_start_date; the current period is the period viewed,
-- from program_start_date on. For each procedure and category, baseline spend per case = baseline
-- spend / the procedure's baseline cases; a physician's achieved saving = (baseline per case - their
-- current spend per case) x their current cases: the baseline priced at the current volume, minus
-- what was spent. Summed over physicians this is the procedure's saving. Procedures with no
-- baseline case have no baseline (null). Accepted flags remove cases from both sides.
with programme as (
    select * from int_programme where program_start_date is not null
),
excluded as (
    select coalesce(getvariable('excluded_case_ids'), []::varchar[]) as ids
),
baseline_cases as (
    select c.procedure_code, count(*) as case_count
    from mart_case as c
    cross join programme as g
    cross join excluded as x
    where c.surgery_date between g.baseline_start_date and g.baseline_end_date
      and not list_contains(x.ids, c.case_id)
    group by c.procedure_code
),
baseline_spend as (
    select s.procedure_code, s.savings_kind, s.savings_category, sum(s.spend_usd) as spend_usd
    from mart_savings_line as s
    cross join programme as g
    cross join excluded as x
    where s.surgery_date between g.baseline_start_date and g.baseline_end_date
      and not list_contains(x.ids, s.case_id)
    group by s.procedure_code, s.savings_kind, s.savings_category
),
current_cases as (
    select pc.physician_id, pc.procedure_code, any_value(pc.service_line) as service_line, count(*) as case_count
    from mart_period_case as pc
    cross join programme as g
    where pc.surgery_date >= g.program_start_date
    group by pc.physician_id, pc.procedure_code
),
current_spend as (
    select s.physician_id, s.procedure_code, s.savings_kind, s.savings_category,
           sum(s.spend_usd) as spend_usd, sum(s.switch_saving_usd) as switch_saving_usd
    from mart_savings_line as s
    semi join mart_period_case as pc on pc.case_id = s.case_id
    cross join programme as g
    where s.surgery_date >= g.program_start_date
      -- the request's bounds as constants too (folded at plan time), so scans skip row groups by date
      and s.surgery_date >= coalesce(getvariable('start_date'), date '0001-01-01')
      and s.surgery_date <= coalesce(getvariable('end_date'), date '9999-12-31')
    group by s.physician_id, s.procedure_code, s.savings_kind, s.savings_category
),
categories as (
    select procedure_code, savings_kind, savings_category from baseline_spend
    union
    select procedure_code, savings_kind, savings_category from current_spend
)
select
    cc.physician_id,
    cc.procedure_code,
    cc.service_line,
    k.savings_kind,
    k.savings_category,
    cc.case_count,
    bc.case_count as baseline_case_count,
    bc.case_count is not null as baseline_flag,
    coalesce(bs.spend_usd, 0) / bc.case_count as baseline_spend_per_case_usd,
    coalesce(cs.spend_usd, 0) as spend_usd,
    coalesce(cs.spend_usd, 0) / cc.case_count as spend_per_case_usd,
    coalesce(bs.spend_usd, 0) / bc.case_count * cc.case_count as baseline_spend_at_current_volume_usd,
    (coalesce(bs.spend_usd, 0) / bc.case_count - coalesce(cs.spend_usd, 0) / cc.case_count) * cc.case_count
        as achieved_saving_usd,
    coalesce(cs.switch_saving_usd, 0) as remaining_opportunity_usd
from current_cases as cc
join categories as k on k.procedure_code = cc.procedure_code
left join baseline_cases as bc on bc.procedure_code = cc.procedure_code
left join baseline_spend as bs
    on bs.procedure_code = k.procedure_code and bs.savings_kind = k.savings_kind
   and bs.savings_category = k.savings_category
left join current_spend as cs
    on cs.physician_id = cc.physician_id and cs.procedure_code = k.procedure_code
   and cs.savings_kind = k.savings_kind and cs.savings_category = k.savings_category
