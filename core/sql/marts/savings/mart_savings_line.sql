-- materialized: view
-- The spend a standardization programme can move, per case: one row per case and supply category
-- with a preferred item (kind 'supply') or drug class with a formulary preferred drug (kind 'drug'),
-- with its spend and remaining switch saving; additive, so any period or group sums them. A view over
-- two tables stored by procedure and date (mart_case_category and mart_savings_drug_line), so a filter
-- on either still skips row groups; storing the union again took 58 s of the build at 10,000,000
-- cases (README, *Performance*).
select
    cc.case_id,
    cc.physician_id,
    cc.procedure_code,
    cc.surgery_date,
    'supply' as savings_kind,
    cc.category as savings_category,
    cc.spend_usd,
    cc.switch_saving_usd
from mart_case_category as cc
where cc.has_preferred_flag
union all
select
    d.case_id,
    d.physician_id,
    d.procedure_code,
    d.surgery_date,
    'drug' as savings_kind,
    d.drug_class as savings_category,
    d.spend_usd,
    d.switch_saving_usd
from mart_savings_drug_line as d
