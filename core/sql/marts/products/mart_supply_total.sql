-- materialized: view
-- The supply view's headline for the period: totals over every supply category (non-preferred spend,
-- switch saving, waste) and how many categories have no preferred item.
select
    sum(non_preferred_spend_usd) as non_preferred_spend_usd,
    sum(switch_saving_usd) as switch_saving_usd,
    sum(waste_usd) as waste_usd,
    count(*) filter (where not has_preferred_flag) as no_preferred_count
from mart_category_summary
