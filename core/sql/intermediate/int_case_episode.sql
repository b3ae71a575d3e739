-- materialized: table
-- One row per case of an episode procedure: the index case cost plus post-acute spending dated from
-- discharge to 30 days after it, split by setting (README, *Episode cost*). Episode procedures are
-- those with a target price or any post-acute line, and only when the source has post-acute lines at
-- all: without them there is no episode and the marts have no rows.
with windowed as (
    select pa.case_id, pa.post_acute_setting as setting, pa.post_acute_cost_usd as cost_usd
    from stg_post_acute as pa
    join stg_cases as c on c.case_id = pa.case_id
    where pa.service_date >= c.discharge_date
      and pa.service_date <= c.discharge_date + 30
),
post as (
    select
        case_id,
        coalesce(sum(cost_usd) filter (where setting = 'snf'), 0) as snf_usd,
        coalesce(sum(cost_usd) filter (where setting = 'irf'), 0) as irf_usd,
        coalesce(sum(cost_usd) filter (where setting = 'home_health'), 0) as home_health_usd,
        coalesce(sum(cost_usd) filter (where setting = 'readmission'), 0) as readmission_usd,
        coalesce(sum(cost_usd) filter (where setting = 'outpatient'), 0) as outpatient_usd,
        coalesce(sum(cost_usd) filter (where setting = 'other'), 0) as other_usd,
        count(*) filter (where setting = 'snf') > 0 as snf_flag
    from windowed
    group by case_id
),
episode_procedures as (
    select procedure_code
    from stg_targets
    where exists (select 1 from stg_post_acute)
    union
    select c.procedure_code
    from stg_post_acute as pa
    join stg_cases as c on c.case_id = pa.case_id
),
costed as (
    select
        c.case_id,
        c.physician_id,
        c.procedure_code,
        c.surgery_date,
        c.case_cost_usd,
        coalesce(p.snf_usd, 0) as snf_usd,
        coalesce(p.irf_usd, 0) as irf_usd,
        coalesce(p.home_health_usd, 0) as home_health_usd,
        coalesce(p.readmission_usd, 0) as readmission_usd,
        coalesce(p.outpatient_usd, 0) as outpatient_usd,
        coalesce(p.other_usd, 0) as other_usd,
        coalesce(p.snf_flag, false) as snf_flag,
        t.episode_target_usd
    from int_case_cost as c
    semi join episode_procedures as ep on ep.procedure_code = c.procedure_code
    left join post as p on p.case_id = c.case_id
    left join stg_targets as t on t.procedure_code = c.procedure_code
)
select
    *,
    snf_usd + irf_usd + home_health_usd + readmission_usd + outpatient_usd + other_usd as post_acute_usd,
    case_cost_usd + snf_usd + irf_usd + home_health_usd + readmission_usd + outpatient_usd + other_usd
        as episode_cost_usd
from costed
