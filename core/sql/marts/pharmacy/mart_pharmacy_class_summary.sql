-- materialized: view
-- Drug classes for the period, for supply and pharmacy staff (Definitions, "Pharmacy"): spend,
-- cases and physicians using the class, drug switch saving, and the variation between physicians:
-- the spend above the peer median, summed over physician x procedure pairs with peers shown of
-- max(0, own spend per case - peer median) x the physician's cases. Totals over every class ride along.
with class_position as (
    select drug_class,
           sum(greatest(0, gap_value_usd)) filter (where peers_shown_flag) as above_peer_median_usd,
           count(distinct physician_id) filter (where spend_usd > 0) as physician_count
    from mart_pharmacy_class_position
    group by drug_class
),
lines as (
    select cd.drug_class,
           count(distinct cd.case_id) as case_count,
           count(distinct cd.drug_name) as drug_count,
           bool_or(cd.class_has_preferred_flag) as class_has_preferred_flag,
           sum(cd.units_count) as units_count,
           sum(cd.spend_usd) as spend_usd,
           sum(cd.spend_usd) filter (where not cd.preferred_flag and cd.class_has_preferred_flag)
               as non_preferred_spend_usd,
           sum(cd.drug_switch_saving_usd) as drug_switch_saving_usd
    from mart_case_drug as cd
    semi join mart_period_case as pc on pc.case_id = cd.case_id
    -- the request's bounds as constants too (folded at plan time), so scans skip row groups by date
    where cd.surgery_date >= coalesce(getvariable('start_date'), date '0001-01-01')
      and cd.surgery_date <= coalesce(getvariable('end_date'), date '9999-12-31')
    group by cd.drug_class
)
select
    l.drug_class,
    l.class_has_preferred_flag,
    l.case_count,
    cp.physician_count,
    l.drug_count,
    l.units_count,
    l.spend_usd,
    l.spend_usd / l.case_count as spend_per_using_case_usd,
    coalesce(l.non_preferred_spend_usd, 0) as non_preferred_spend_usd,
    l.drug_switch_saving_usd,
    coalesce(cp.above_peer_median_usd, 0) as above_peer_median_usd,
    sum(l.spend_usd) over () as all_classes_spend_usd,
    sum(coalesce(cp.above_peer_median_usd, 0)) over () as all_classes_above_peer_median_usd,
    sum(l.drug_switch_saving_usd) over () as all_classes_drug_switch_saving_usd
from lines as l
left join class_position as cp on cp.drug_class = l.drug_class
