-- materialized: table
-- mart_category_physician for the default period with every case counted, computed once by the build (no session
-- variables are set then). The view ranks every physician of each category to find the peers' median, a
-- scan of every supply line of the period (half a second at 1,000,000 cases, README *Performance*):
-- core.db.fetch reads this snapshot for the default request; any other period, or accepted flags, reads the view.
select * from mart_category_physician
-- stored by physician: a request reads one physician's rows (the scorecard's and My products' categories), and DuckDB's zone maps skip the rest
order by physician_id, category
