-- materialized: table
-- mart_category_driver for the default period with every case counted, computed once by the build: the
-- scorecard page reads it on nearly every request (see mart_cost_position_default).
select * from mart_category_driver
