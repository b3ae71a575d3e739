-- materialized: view
-- Physician x procedure x drug class for the period (Definitions, "Pharmacy"): the physician's drug
-- spend per case on the class (over all their cases of the procedure, 0 when a case used none), the
-- peer median of that figure over the eligible physicians (at least min_cases cases), given only when
-- at least min_peers are eligible, the gap and the drug switch saving. Every class any case of the
-- procedure used in the period gets a row for every physician doing it, so zeros count.
with per_physician as (
    select physician_id, procedure_code, count(*) as case_count
    from mart_period_case
    group by physician_id, procedure_code
),
drug as (
    select cd.physician_id, cd.procedure_code, cd.drug_class,
           bool_or(cd.class_has_preferred_flag) as class_has_preferred_flag,
           sum(cd.spend_usd) as spend_usd,
           sum(cd.drug_switch_saving_usd) as drug_switch_saving_usd
    from mart_case_drug as cd
    semi join mart_period_case as pc on pc.case_id = cd.case_id
    -- the request's bounds as constants too (folded at plan time), so scans skip row groups by date
    where cd.surgery_date >= coalesce(getvariable('start_date'), date '0001-01-01')
      and cd.surgery_date <= coalesce(getvariable('end_date'), date '9999-12-31')
    group by cd.physician_id, cd.procedure_code, cd.drug_class
),
classes as (
    select procedure_code, drug_class, bool_or(class_has_preferred_flag) as class_has_preferred_flag
    from drug
    group by procedure_code, drug_class
),
own as (
    select
        p.physician_id,
        p.procedure_code,
        k.drug_class,
        k.class_has_preferred_flag,
        p.case_count,
        coalesce(d.spend_usd, 0) as spend_usd,
        coalesce(d.spend_usd, 0) / p.case_count as spend_per_case_usd,
        coalesce(d.drug_switch_saving_usd, 0) as drug_switch_saving_usd,
        p.case_count >= s.min_cases_count as eligible_flag,
        s.min_peers_count
    from per_physician as p
    join classes as k on k.procedure_code = p.procedure_code
    left join drug as d
        on d.physician_id = p.physician_id and d.procedure_code = p.procedure_code and d.drug_class = k.drug_class
    cross join int_settings as s
),
peers as (
    select
        *,
        count(*) filter (where eligible_flag) over (partition by procedure_code, drug_class) as eligible_count,
        median(case when eligible_flag then spend_per_case_usd end)
            over (partition by procedure_code, drug_class) as median_per_case_usd
    from own
)
select
    physician_id,
    procedure_code,
    drug_class,
    class_has_preferred_flag,
    case_count,
    eligible_flag,
    spend_usd,
    spend_per_case_usd,
    drug_switch_saving_usd,
    eligible_count >= min_peers_count as peers_shown_flag,
    case when eligible_count >= min_peers_count then eligible_count end as peer_physician_count,
    case when eligible_count >= min_peers_count then median_per_case_usd end as peer_median_per_case_usd,
    case when eligible_count >= min_peers_count then spend_per_case_usd - median_per_case_usd end
        as gap_per_case_usd,
    case when eligible_count >= min_peers_count then (spend_per_case_usd - median_per_case_usd) * case_count end
        as gap_value_usd
from peers
