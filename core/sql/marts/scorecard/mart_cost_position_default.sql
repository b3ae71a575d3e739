-- materialized: table
-- mart_cost_position for the default period with every case counted, computed once by the build (no session
-- variables are set then). Nearly every request asks for exactly this, so core.db.fetch reads this
-- snapshot instead of recomputing the view; any other period, or accepted flags, reads the view.
select * from mart_cost_position
-- stored by procedure, then physician: a request reads one procedure's (or one physician's) rows, and
-- DuckDB's zone maps skip the row groups of every other procedure
order by procedure_code, physician_id
