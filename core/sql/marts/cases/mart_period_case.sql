-- materialized: view
-- The cases that count for the period being viewed. The period and the cases removed by accepted
-- flags arrive as session variables set by core.db on the request's own cursor (start_date,
-- end_date, excluded_case_ids); with none set, the default period and every case.
with period as (
    select
        coalesce(getvariable('start_date'), p.default_start_date) as start_date,
        coalesce(getvariable('end_date'), p.default_end_date) as end_date
    from int_period as p
)
select c.*
from mart_case as c
cross join period
where c.surgery_date between period.start_date and period.end_date
  -- the request's bounds as constants too (folded at plan time), so the scan skips row groups by date
  and c.surgery_date >= coalesce(getvariable('start_date'), date '0001-01-01')
  and c.surgery_date <= coalesce(getvariable('end_date'), date '9999-12-31')
  and not list_contains(coalesce(getvariable('excluded_case_ids'), []::varchar[]), c.case_id)
  -- set only by core.db.prepare_excluded, which recomputes just the procedures (or physicians) an
  -- accepted flag touches
  and (getvariable('procedure_codes') is null or list_contains(getvariable('procedure_codes'), c.procedure_code))
  and (getvariable('physician_ids') is null or list_contains(getvariable('physician_ids'), c.physician_id))
