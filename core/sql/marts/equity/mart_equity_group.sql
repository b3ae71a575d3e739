-- materialized: view
-- Outcomes and cost by patient group for the period (README, *Equity*): per scope (the hospital, a
-- service line, a physician's own patients), dimension (payer, sex, age band, race/ethnicity, dual
-- eligibility) and group, the cases, observed and expected events of each outcome (risk models on
-- patient factors only), mean cost per case and the cost index (mean of cost ÷ expected cost).
--
-- Small cells are suppressed here, not in a page (CMS cell-size rule): a cell of 1–10 cases shows
-- nothing; when exactly one cell of a dimension is suppressed the next smallest is suppressed too, so
-- no cell can be recovered by subtracting the others from the scope's total (which any complete
-- dimension gives away). Outcome figures follow the same rule on their event counts. A physician's
-- own patients are shown by a dimension only when no cell of it needs suppressing. No totals are
-- shown. Each row carries the reference group (the largest shown cell) for the gaps.
with cases as (
    select
        pc.physician_id,
        pc.service_line,
        pc.case_cost_usd,
        pc.case_cost_usd / nullif(pc.expected_case_cost_usd, 0) as cost_ratio,
        cast(pc.complication_flag as integer) as complication,
        cast(pc.readmit_30d_flag as integer) as readmit_30d,
        cast(pc.ssi_flag as integer) as ssi,
        cast(pc.mortality_flag as integer) as mortality,
        pc.expected_complication_rate,
        pc.expected_readmit_30d_rate,
        pc.expected_ssi_rate,
        pc.expected_mortality_rate,
        q.payer,
        q.patient_sex,
        q.age_band,
        q.race_ethnicity,
        q.dual_eligible
    from mart_period_case as pc
    join int_case_equity as q on q.case_id = pc.case_id
),
long as (
    select
        c.*,
        d.dimension,
        d.dimension_label,
        d.dimension_order,
        case d.dimension
            when 'payer' then c.payer
            when 'patient_sex' then c.patient_sex
            when 'age_band' then c.age_band
            when 'race_ethnicity' then c.race_ethnicity
            else c.dual_eligible
        end as group_value
    from cases as c
    cross join int_equity_dimension as d
),
cells as (
    select
        case when grouping(service_line) = 0 then 'service_line'
             when grouping(physician_id) = 0 then 'physician'
             else 'hospital' end as scope,
        coalesce(service_line, physician_id, '') as scope_value,
        dimension,
        dimension_label,
        dimension_order,
        group_value,
        count(*) as case_count,
        avg(case_cost_usd) as mean_case_cost_usd,
        avg(cost_ratio) as cost_index,
        var_samp(cost_ratio) as cost_index_var,
        sum(complication) as complication_observed,
        sum(expected_complication_rate) as complication_expected,
        sum(readmit_30d) as readmit_30d_observed,
        sum(expected_readmit_30d_rate) as readmit_30d_expected,
        sum(ssi) as ssi_observed,
        sum(expected_ssi_rate) as ssi_expected,
        sum(mortality) as mortality_observed,
        sum(expected_mortality_rate) as mortality_expected
    from long
    group by grouping sets (
        (dimension, dimension_label, dimension_order, group_value),
        (service_line, dimension, dimension_label, dimension_order, group_value),
        (physician_id, dimension, dimension_label, dimension_order, group_value)
    )
),
-- Case-count suppression: primary (1–10 cases), then complementary (the next smallest cell).
primary_cells as (
    select
        *,
        case_count between 1 and 10 as primary_flag,
        count(*) filter (where case_count between 1 and 10)
            over (partition by scope, scope_value, dimension) as primary_count,
        min(case_count) over (partition by scope, scope_value, dimension) as smallest_count,
        row_number() over (partition by scope, scope_value, dimension
                           order by case_count between 1 and 10, case_count, group_value) as size_rank
    from cells
),
suppressed_cells as (
    select
        *,
        case
            -- a physician's own patients: the whole dimension or nothing
            when scope = 'physician' then smallest_count <= 10
            else primary_flag or (primary_count = 1 and size_rank = 1)
        end as cell_suppressed_flag
    from primary_cells
),
measures as (
    select *, 'cost' as measure, cast(null as double) as observed_count,
           cast(null as double) as expected_count
    from suppressed_cells
    union all
    select *, 'complication', complication_observed, complication_expected from suppressed_cells
    union all
    select *, 'readmit_30d', readmit_30d_observed, readmit_30d_expected from suppressed_cells
    union all
    select *, 'ssi', ssi_observed, ssi_expected from suppressed_cells
    union all
    select *, 'mortality', mortality_observed, mortality_expected from suppressed_cells
),
-- Event-count suppression for outcomes: the same two steps on the events of each cell.
event_primary as (
    select
        *,
        cell_suppressed_flag or coalesce(observed_count between 1 and 10, false) as event_primary_flag
    from measures
),
event_ranked as (
    select
        *,
        count(*) filter (where event_primary_flag)
            over (partition by scope, scope_value, dimension, measure) as event_primary_count,
        row_number() over (partition by scope, scope_value, dimension, measure
                           order by event_primary_flag, observed_count, group_value) as event_rank
    from event_primary
),
final as (
    select
        *,
        case
            when measure = 'cost' then cell_suppressed_flag
            when scope = 'physician' then event_primary_count > 0
            else event_primary_flag or (event_primary_count = 1 and event_rank = 1)
        end as suppressed_flag
    from event_ranked
),
reference as (
    select scope, scope_value, dimension, measure, group_value as reference_group, case_count as ref_case_count,
           observed_count as ref_observed_count, expected_count as ref_expected_count,
           cost_index as ref_cost_index, cost_index_var as ref_cost_index_var
    from (
        select *, row_number() over (partition by scope, scope_value, dimension, measure
                                     order by case_count desc, group_value) as ref_rank
        from final
        where not suppressed_flag
    ) as shown
    where ref_rank = 1
)
select
    f.scope,
    f.scope_value,
    f.dimension,
    f.dimension_label,
    f.dimension_order,
    f.group_value,
    f.measure,
    f.suppressed_flag,
    case when not f.suppressed_flag then f.case_count end as case_count,
    case when not f.suppressed_flag then f.observed_count end as observed_count,
    case when not f.suppressed_flag then f.expected_count end as expected_count,
    case when not f.suppressed_flag and f.measure = 'cost' then f.mean_case_cost_usd end as mean_case_cost_usd,
    case when not f.suppressed_flag and f.measure = 'cost' then f.cost_index end as cost_index,
    case when not f.suppressed_flag and f.measure = 'cost' then f.cost_index_var end as cost_index_var,
    r.reference_group,
    not f.suppressed_flag and f.group_value = r.reference_group as reference_flag,
    case when not f.suppressed_flag then r.ref_case_count end as ref_case_count,
    case when not f.suppressed_flag then r.ref_observed_count end as ref_observed_count,
    case when not f.suppressed_flag then r.ref_expected_count end as ref_expected_count,
    case when not f.suppressed_flag and f.measure = 'cost' then r.ref_cost_index end as ref_cost_index,
    case when not f.suppressed_flag and f.measure = 'cost' then r.ref_cost_index_var end as ref_cost_index_var
from final as f
left join reference as r
    on r.scope = f.scope and r.scope_value = f.scope_value and r.dimension = f.dimension and r.measure = f.measure
