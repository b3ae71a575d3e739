-- materialized: view
-- Supply category × item for the period (identified: the supply view's items in use): units, spend and
-- its share of the category's spend, the range of prices paid, and how many physicians and cases used it.
select
    category,
    item_id,
    item_description,
    manufacturer,
    preferred_flag,
    item_unit_cost_usd,
    sum(units_count) as units_count,
    sum(spend_usd) as spend_usd,
    100.0 * sum(spend_usd) / sum(sum(spend_usd)) over (partition by category) as spend_share_pct,
    min(min_paid_unit_cost_usd) as min_paid_unit_cost_usd,
    max(max_paid_unit_cost_usd) as max_paid_unit_cost_usd,
    count(distinct physician_id) as physician_count,
    sum(case_count) as case_count
from mart_category_use
group by category, item_id, item_description, manufacturer, preferred_flag, item_unit_cost_usd
