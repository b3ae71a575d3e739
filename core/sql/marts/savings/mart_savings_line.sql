-- materialized: table
-- chunked by: procedure_code
-- The spend a standardization programme can move, per case: one row per case and supply category
-- with a preferred item (kind 'supply') or drug class with a formulary preferred drug (kind 'drug'),
-- with its spend and remaining switch saving; additive, so any period or group sums them.
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
    cd.case_id,
    cd.physician_id,
    cd.procedure_code,
    cd.surgery_date,
    'drug' as savings_kind,
    cd.drug_class as savings_category,
    sum(cd.spend_usd) as spend_usd,
    sum(cd.drug_switch_saving_usd) as switch_saving_usd
from mart_case_drug as cd
where cd.class_has_preferred_flag
group by cd.case_id, cd.physician_id, cd.procedure_code, cd.surgery_date, cd.drug_class
order by procedure_code, surgery_date
