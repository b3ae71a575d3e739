-- materialized: view
-- Supply category × physician for the period: the items they used, most-used first, as one text
-- ("Item ×12, Other item ×3") for the supply view's who-uses-what table.
select
    category,
    physician_id,
    string_agg(
        item_description || ' ×' || case when units_count = round(units_count)
                                         then format('{:,}', cast(units_count as bigint))
                                         else format('{:,.1f}', units_count) end,
        ', ' order by units_count desc, item_description
    ) as items_used
from mart_category_use
group by category, physician_id
