-- materialized: table
-- Evidence summaries with their preferred item and the service lines whose cases use the category.
-- The categories' procedures come from mart_case_category (a case's categories, with its procedure),
-- which holds the same pairs as every supply line joined to its case, without reading every line again.
with category_procedures as (
    select distinct category, procedure_code
    from mart_case_category
),
category_lines as (
    select cp.category, list(distinct pr.service_line order by pr.service_line) as service_lines
    from category_procedures as cp
    join stg_procedures as pr on pr.procedure_code = cp.procedure_code
    group by cp.category
)
select
    e.evidence_id,
    e.category,
    e.preferred_item_id,
    i.item_description as preferred_item_description,
    i.manufacturer as preferred_manufacturer,
    i.item_unit_cost_usd as preferred_unit_cost_usd,
    e.title,
    e.summary_md,
    e.evidence_grade,
    e.outcomes,
    e.sources,
    e.reviewed_on_date,
    e.reviewed_by,
    e.next_review_date,
    coalesce(cl.service_lines, []::varchar[]) as service_lines
from stg_evidence as e
left join stg_items as i on i.item_id = e.preferred_item_id
left join category_lines as cl on cl.category = e.category
