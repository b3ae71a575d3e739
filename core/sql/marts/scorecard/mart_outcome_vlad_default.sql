-- materialized: table
-- mart_outcome_vlad with every case counted, computed once by the build. core.db.fetch reads this snapshot
-- unless a request removes cases whose flag was accepted, which reads the view.
select * from mart_outcome_vlad
