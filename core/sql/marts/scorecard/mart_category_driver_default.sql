-- materialized: table
-- mart_category_driver for the default period with every case counted, computed once by the build: the
-- scorecard page reads it on nearly every request (see mart_cost_position_default).
select * from mart_category_driver
-- stored by procedure, then physician: a request reads one procedure's (or one physician's) rows, and
-- DuckDB's zone maps skip the row groups of every other procedure
order by procedure_code, physician_id
