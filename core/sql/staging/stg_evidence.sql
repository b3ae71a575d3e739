-- materialized: table
-- Evidence summaries, typed. The summary stays Markdown text: pages render it with raw HTML disabled.
select
    as_text(evidence_id) as evidence_id,
    as_text(category) as category,
    as_text(preferred_item_id) as preferred_item_id,
    as_text(title) as title,
    summary as summary_md,
    lower(trim(evidence_grade)) as evidence_grade,
    as_text(outcomes) as outcomes,
    as_text(sources) as sources,
    cast(reviewed_on as date) as reviewed_on_date,
    as_text(reviewed_by) as reviewed_by,
    cast(next_review as date) as next_review_date
from raw_evidence
