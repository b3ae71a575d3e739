-- materialized: table
-- chunked by: procedure_code
-- run size: 4000 lines per MB
-- The drug half of mart_savings_line: one row per case and drug class with a formulary preferred drug,
-- with the case's spend on the class and its remaining drug switch saving. Stored by procedure and
-- date, so mart_savings_line's readers skip other procedures' and dates' row groups here as they do in
-- mart_case_category, the supply half. Built a few procedures at a time (core/build/chunks.py): the
-- case drugs are stored by procedure, so each run reads only its own.
select
    cd.case_id,
    cd.physician_id,
    cd.procedure_code,
    cd.surgery_date,
    cd.drug_class,
    sum(cd.spend_usd) as spend_usd,
    sum(cd.drug_switch_saving_usd) as switch_saving_usd
from mart_case_drug as cd
where cd.class_has_preferred_flag
group by cd.case_id, cd.physician_id, cd.procedure_code, cd.surgery_date, cd.drug_class
order by cd.procedure_code, cd.surgery_date
