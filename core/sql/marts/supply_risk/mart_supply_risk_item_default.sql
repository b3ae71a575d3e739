-- materialized: table
-- mart_supply_risk_item for the default period with every case counted, computed once by the build (no session
-- variables are set then). core.db.fetch reads this snapshot for such requests instead of recomputing
-- the view; any other period, or accepted flags, reads the view.
select * from mart_supply_risk_item
