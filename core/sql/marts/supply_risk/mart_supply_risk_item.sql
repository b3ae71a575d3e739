-- materialized: view
-- Items in use in the period that are a supply risk (Definitions, "Supply risk"): critical
-- (criticality high), single-source (approved_sources = 1) or on backorder, with their exposure:
-- cases, physicians and procedures that used them, and the use projected over the next quarter from
-- the recent rate (units in the period's last 91 days, scaled to 91 days when the period is shorter).
-- One row per item hospital-wide (service_line null) and one per item and service line (grouping
-- sets), ranked by exposure within each.
with period as (
    select
        coalesce(getvariable('start_date'), p.default_start_date) as start_date,
        coalesce(getvariable('end_date'), p.default_end_date) as end_date
    from int_period as p
),
risky as (
    select
        item_id,
        coalesce(criticality = 'high', false) as critical_flag,
        coalesce(approved_sources_count = 1, false) as single_source_flag,
        backorder_flag
    from stg_items
    where criticality = 'high' or approved_sources_count = 1 or backorder_flag
),
lines as (
    select l.item_id, l.case_id, l.physician_id, l.procedure_code, pr.service_line, l.surgery_date,
           l.quantity, l.line_cost_usd
    from mart_supply_line as l
    semi join risky as r on r.item_id = l.item_id
    semi join mart_period_case as pc on pc.case_id = l.case_id
    join stg_procedures as pr on pr.procedure_code = l.procedure_code
    -- the request's bounds as constants too (folded at plan time), so scans skip row groups by date
    where l.surgery_date >= coalesce(getvariable('start_date'), date '0001-01-01')
      and l.surgery_date <= coalesce(getvariable('end_date'), date '9999-12-31')
),
exposure as (
    select
        l.item_id,
        l.service_line,
        count(distinct l.case_id) as case_count,
        count(distinct l.physician_id) as physician_count,
        count(distinct l.procedure_code) as procedure_count,
        sum(l.quantity) as units_count,
        sum(l.line_cost_usd) as spend_usd,
        coalesce(sum(l.quantity) filter (where l.surgery_date > period.end_date - 91), 0) as recent_units_count,
        least(91, datediff('day', period.start_date, period.end_date) + 1) as recent_days_count
    from lines as l
    cross join period
    group by grouping sets ((l.item_id, period.start_date, period.end_date),
                            (l.item_id, l.service_line, period.start_date, period.end_date))
)
select
    e.item_id,
    e.service_line,
    i.item_description,
    i.manufacturer,
    i.category,
    i.item_unit_cost_usd,
    i.implant_flag,
    i.preferred_flag,
    i.criticality,
    i.approved_sources_count,
    r.critical_flag,
    r.single_source_flag,
    r.backorder_flag,
    e.case_count,
    e.physician_count,
    e.procedure_count,
    e.units_count,
    e.spend_usd,
    e.recent_units_count,
    e.recent_units_count * 91.0 / e.recent_days_count as projected_units_next_quarter_count,
    e.recent_units_count * 91.0 / e.recent_days_count * i.item_unit_cost_usd as projected_spend_next_quarter_usd,
    row_number() over (partition by e.service_line
                       order by e.case_count desc, e.physician_count desc, e.procedure_count desc,
                                e.recent_units_count desc, e.item_id) as exposure_rank
from exposure as e
join risky as r on r.item_id = e.item_id
join stg_items as i on i.item_id = e.item_id
