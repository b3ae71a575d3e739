-- materialized: view
-- For a physician's scorecard: each item on backorder they used in the period, with the preferred
-- alternative (a preferred item of the category not on backorder, cheapest first; else the cheapest
-- item not on backorder) and that alternative's evidence.
with used as (
    select l.physician_id, l.item_id,
           count(distinct l.case_id) as case_count,
           sum(l.quantity) as units_count,
           max(l.surgery_date) as last_used_date
    from mart_supply_line as l
    semi join mart_period_case as pc on pc.case_id = l.case_id
    where l.item_id in (select item_id from stg_items where backorder_flag)
      -- the request's bounds as constants too (folded at plan time), so scans skip row groups by date
      and l.surgery_date >= coalesce(getvariable('start_date'), date '0001-01-01')
      and l.surgery_date <= coalesce(getvariable('end_date'), date '9999-12-31')
      -- set only by core.db.prepare_excluded: the physicians an accepted flag touches, and the procedures
      -- they did in the period (the lines are stored by procedure, so the scan reads only those)
      and (getvariable('physician_ids') is null or list_contains(getvariable('physician_ids'), l.physician_id))
      and (getvariable('procedure_codes') is null or list_contains(getvariable('procedure_codes'), l.procedure_code))
    group by l.physician_id, l.item_id
),
alternative as (
    select b.item_id, a.item_id as alternative_item_id
    from stg_items as b
    join stg_items as a on a.category = b.category and a.item_id <> b.item_id and not a.backorder_flag
    where b.backorder_flag
    qualify row_number() over (partition by b.item_id
                               order by a.preferred_flag desc, a.item_unit_cost_usd, a.item_id) = 1
)
select
    u.physician_id,
    u.item_id,
    i.item_description,
    i.manufacturer,
    i.category,
    i.preferred_flag,
    u.case_count,
    u.units_count,
    u.last_used_date,
    alt.item_id as alternative_item_id,
    alt.item_description as alternative_description,
    alt.manufacturer as alternative_manufacturer,
    alt.item_unit_cost_usd as alternative_unit_cost_usd,
    alt.preferred_flag as alternative_preferred_flag,
    ev.evidence_id,
    ev.evidence_grade,
    ev.evidence_title
from used as u
join stg_items as i on i.item_id = u.item_id
left join alternative as a on a.item_id = u.item_id
left join stg_items as alt on alt.item_id = a.alternative_item_id
left join int_item_evidence as ev on ev.item_id = alt.item_id
