-- materialized: view
-- For every supply-risk item (critical, single-source or on backorder), the approved alternatives:
-- the other items of its category in the item master that are not on backorder, with their price,
-- who already uses them in the period and the evidence behind them (Definitions, "Supply risk").
-- Read one item at a time, with its category (core.supply_risk.alternatives): the category filter reaches
-- the usage scan through the join keys, so a request reads one category's lines. No snapshot is built:
-- every risky item against every alternative of its category grows with the square of the items per
-- category (4.6M rows and 161 s of the build at 1,000,000 cases; README, Performance).
with risky as (
    select item_id, category, item_unit_cost_usd
    from stg_items
    where (criticality = 'high' or approved_sources_count = 1 or backorder_flag) and category is not null
),
users as (
    select u.category,
           u.item_id,
           count(distinct u.physician_id) as physician_count,
           sum(u.case_count) as case_count,
           sum(u.units_count) as units_count,
           list(distinct ph.physician_name order by ph.physician_name) as physician_names
    from mart_category_use as u
    join stg_physicians as ph on ph.physician_id = u.physician_id
    group by u.category, u.item_id
)
select
    r.item_id,
    r.category,
    a.item_id as alternative_item_id,
    a.item_description as alternative_description,
    a.manufacturer as alternative_manufacturer,
    a.item_unit_cost_usd as alternative_unit_cost_usd,
    a.item_unit_cost_usd - r.item_unit_cost_usd as price_difference_usd,
    a.preferred_flag as alternative_preferred_flag,
    a.criticality as alternative_criticality,
    a.approved_sources_count as alternative_approved_sources_count,
    coalesce(a.approved_sources_count = 1, false) as alternative_single_source_flag,
    coalesce(us.physician_count, 0) as physician_count,
    coalesce(us.case_count, 0) as case_count,
    coalesce(us.units_count, 0) as units_count,
    coalesce(us.physician_names, []::varchar[]) as physician_names,
    ev.evidence_id,
    ev.evidence_grade,
    ev.evidence_title
from risky as r
join stg_items as a on a.category = r.category and a.item_id <> r.item_id and not a.backorder_flag
left join users as us on us.category = a.category and us.item_id = a.item_id
left join int_item_evidence as ev on ev.item_id = a.item_id
