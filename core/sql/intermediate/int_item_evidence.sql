-- materialized: table
-- The evidence summary behind each item, for supply-risk alternatives and backorder notices: the
-- summary naming the item as its preferred item, else (for a preferred item) its category's first.
with named as (
    select preferred_item_id as item_id, evidence_id, evidence_grade, title
    from stg_evidence
    qualify row_number() over (partition by preferred_item_id order by evidence_id) = 1
),
by_category as (
    select category, evidence_id, evidence_grade, title
    from stg_evidence
    qualify row_number() over (partition by category order by evidence_id) = 1
)
select
    i.item_id,
    coalesce(n.evidence_id, c.evidence_id) as evidence_id,
    coalesce(n.evidence_grade, c.evidence_grade) as evidence_grade,
    coalesce(n.title, c.title) as evidence_title
from stg_items as i
left join named as n on n.item_id = i.item_id
left join by_category as c on c.category = i.category and i.preferred_flag and n.item_id is null
where n.item_id is not null or (i.preferred_flag and c.category is not null)
