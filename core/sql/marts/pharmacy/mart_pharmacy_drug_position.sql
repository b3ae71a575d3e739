-- materialized: view
-- Physician x procedure x drug for the period: the drugs driving a physician's pharmacy gap. Spend
-- per case on the drug over all their cases of the procedure, against the median over the eligible
-- physicians (shown only from min_peers), the gap and the drug switch saving (Definitions, "Pharmacy").
with per_physician as (
    select physician_id, procedure_code, count(*) as case_count
    from mart_period_case
    group by physician_id, procedure_code
),
drug as (
    select cd.physician_id, cd.procedure_code, cd.drug_name,
           sum(cd.units_count) as units_count,
           sum(cd.spend_usd) as spend_usd,
           sum(cd.drug_switch_saving_usd) as drug_switch_saving_usd
    from mart_case_drug as cd
    semi join mart_period_case as pc on pc.case_id = cd.case_id
    -- the request's bounds as constants too (folded at plan time), so scans skip row groups by date
    where cd.surgery_date >= coalesce(getvariable('start_date'), date '0001-01-01')
      and cd.surgery_date <= coalesce(getvariable('end_date'), date '9999-12-31')
    group by cd.physician_id, cd.procedure_code, cd.drug_name
),
drugs as (
    select cd.procedure_code, cd.drug_name, any_value(cd.drug_class) as drug_class,
           bool_or(cd.preferred_flag) as preferred_flag,
           bool_or(cd.class_has_preferred_flag) as class_has_preferred_flag
    from mart_case_drug as cd
    semi join drug as d on d.procedure_code = cd.procedure_code and d.drug_name = cd.drug_name
    group by cd.procedure_code, cd.drug_name
),
own as (
    select
        p.physician_id,
        p.procedure_code,
        k.drug_name,
        k.drug_class,
        k.preferred_flag,
        k.class_has_preferred_flag,
        p.case_count,
        coalesce(d.units_count, 0) as units_count,
        coalesce(d.spend_usd, 0) as spend_usd,
        coalesce(d.spend_usd, 0) / p.case_count as spend_per_case_usd,
        coalesce(d.drug_switch_saving_usd, 0) as drug_switch_saving_usd,
        p.case_count >= s.min_cases_count as eligible_flag,
        s.min_peers_count
    from per_physician as p
    join drugs as k on k.procedure_code = p.procedure_code
    left join drug as d
        on d.physician_id = p.physician_id and d.procedure_code = p.procedure_code and d.drug_name = k.drug_name
    cross join int_settings as s
),
peers as (
    select
        *,
        count(*) filter (where eligible_flag) over (partition by procedure_code, drug_name) as eligible_count,
        median(case when eligible_flag then spend_per_case_usd end)
            over (partition by procedure_code, drug_name) as median_per_case_usd
    from own
)
select
    physician_id,
    procedure_code,
    drug_name,
    drug_class,
    preferred_flag,
    class_has_preferred_flag,
    case_count,
    eligible_flag,
    units_count,
    spend_usd,
    spend_per_case_usd,
    drug_switch_saving_usd,
    eligible_count >= min_peers_count as peers_shown_flag,
    case when eligible_count >= min_peers_count then median_per_case_usd end as peer_median_per_case_usd,
    case when eligible_count >= min_peers_count then spend_per_case_usd - median_per_case_usd end
        as gap_per_case_usd,
    case when eligible_count >= min_peers_count then (spend_per_case_usd - median_per_case_usd) * case_count end
        as gap_value_usd
from peers
