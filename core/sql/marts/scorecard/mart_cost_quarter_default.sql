-- materialized: table
-- mart_cost_quarter with every case counted, computed once by the build. core.db.fetch reads this snapshot
-- unless a request removes cases whose flag was accepted, which reads the view.
select * from mart_cost_quarter
-- stored by procedure, then physician: a request reads one procedure's (or one physician's) rows, and
-- DuckDB's zone maps skip the row groups of every other procedure
order by procedure_code, physician_id
