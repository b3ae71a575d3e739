-- materialized: table
-- mart_equity_group for the default period with every case counted, computed once by the build;
-- core.db.fetch reads this snapshot for exactly that request (see mart_cost_position_default).
select * from mart_equity_group
