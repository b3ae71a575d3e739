-- Scalar macros shared by the staging views: one spelling of "is this text true" for every flag.
create or replace macro as_flag(v) as lower(trim(v)) in ('true', 't', 'yes', 'y', '1');
create or replace macro as_text(v) as nullif(trim(v), '');
create or replace macro quarter_label(d) as cast(year(d) as varchar) || 'Q' || cast(quarter(d) as varchar);
