-- materialized: view
-- Outcomes and cost by patient group for the period, BEFORE any suppression (README, *Equity*): per scope
-- (the hospital, a service line, a physician's own patients), dimension (payer, sex, age band,
-- race/ethnicity, dual eligibility) and group, the cases, observed and expected events of each outcome
-- (risk models on patient factors only), mean cost per case and the cost index (mean of cost ÷ expected
-- cost). Cases without a service line form a service_line row with an empty scope_value: never shown,
-- they are the part of the hospital that no service line covers.
--
-- Never shown as it is: core.equity.suppress hides every cell of 1–10 cases or events and the cells
-- that would let one be worked out across the hospital and its service lines (one linked table), and
-- the build stores the result per closed calendar year in mart_equity_group.
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
)
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
