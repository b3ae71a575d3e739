-- materialized: table
-- mart_physician_products for the default period with every case counted, computed once by the build (no session
-- variables are set then). The view ranks every physician of each category to find the peers' median, a
-- scan of every supply line of the period (half a second at 1,000,000 cases, README *Performance*):
-- core.db.fetch reads this snapshot for the default request; any other period, or accepted flags, reads the view.
select * from mart_physician_products
-- stored by physician: a request reads one physician's row (My products' summary sentence), and DuckDB's zone maps skip the rest
order by physician_id
