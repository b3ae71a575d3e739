-- materialized: view
-- Procedure for the period, the compared group as a whole (the presentation's title and cost slides):
-- how many physicians are eligible, how many cases they and everyone did, whether peer figures may be
-- shown (min_peers), and the peer figures themselves (the same on every row of mart_cost_position).
select
    procedure_code,
    count(*) filter (where eligible_flag) as eligible_physician_count,
    coalesce(sum(case_count) filter (where eligible_flag), 0) as compared_case_count,
    sum(case_count) as case_count,
    bool_or(peers_shown_flag) as peers_shown_flag,
    max(peer_median_case_cost_usd) as peer_median_case_cost_usd,
    max(best_quartile_case_cost_usd) as best_quartile_case_cost_usd,
    max(peer_supplies_usd) as peer_supplies_usd,
    max(peer_implants_usd) as peer_implants_usd,
    max(peer_pharmacy_usd) as peer_pharmacy_usd,
    max(peer_or_time_usd) as peer_or_time_usd,
    max(peer_bed_days_usd) as peer_bed_days_usd
from mart_cost_position
group by procedure_code
