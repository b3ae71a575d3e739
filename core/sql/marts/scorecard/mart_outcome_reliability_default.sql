-- materialized: table
-- mart_outcome_reliability for the default period with every case counted, computed once by the build;
-- core.db.fetch reads this snapshot for the default request and the view for any other.
select * from mart_outcome_reliability
-- stored by procedure, then physician: a request reads one procedure's (or one physician's) rows, and
-- DuckDB's zone maps skip the row groups of every other procedure
order by procedure_code, physician_id
