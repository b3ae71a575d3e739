"""Synthetic demo source: `write_demo_source` writes the tables of README, *The data contract* plus truth.json.

What it builds
--------------
A fictional hospital ("demo-hospital.org") with four service lines (Orthopaedics, General Surgery,
Cardiovascular, Women's Health), nine procedures with a real-world-like cost structure (implants
dominate joint replacement and TAVR, OR time and bed days dominate CABG, lap chole and hernia repair
are mostly supplies and OR time and often same-day), 60 physicians, about 445 items in 46 categories
(most with one or two preferred items, seven with none), about 30 supply lines and 2-6 drug lines per
case, evidence summaries for every category with a preferred item, a roster of users and settings.
Surgery dates cover the two years ending 2026-09-30, fixed so the output never depends on the clock.

What is planted, and why
------------------------
Scorecard exists to show physicians where they truly differ, fairly. So the demo plants a difference
of every kind the app must find, and some it must *not* be fooled by (all recorded in truth.json):

* Costlier through implant choice: Dr. Amara Okafor (TKA, THA) and two others pick the priciest
  non-preferred implant nearly always (preferred share ~6% against 60-95% for peers). Okafor's median
  TKA cost sits well above the peer median and the implant component explains most of the gap.
* Costlier through extra items: optional pricey lines (hemostats, incisional NPWT, extra energy
  devices) appear in ~85% of their cases instead of 5-20%, so more supply lines and higher supplies.
* Costlier through waste: ~28% of their lines have opened-but-unused units (1.5% for peers).
* Costlier through OR time: or_minutes x1.4 for the same patients.
* Costlier pharmacy (one physician): the costly alternative drug (liposomal bupivacaine, sugammadex)
  by habit.
* Worse outcomes after risk adjustment: four physicians (TKA, LCH, PCI, HYS) whose complication
  odds are x4 on top of the patient-factor model from 2025-07-01 (their quarterly trend turns up).
  That strength is what it takes to clear an overdispersion-widened 99.8% funnel limit with 80-140
  cases in the default 12 months; each does only ~6% of their procedure's volume, so their excess
  events barely raise everyone else's expected counts in the pooled risk model (O/E about 3.5-5 in
  the default period, 2.5-3.5 over the two years).
* Sicker patients, ordinary care: four physicians (THA, SPF, CABG, HYS) whose patients are older, higher
  ASA, more comorbid and more often non-elective but who get no physician effect: raw rates high,
  O/E about 1. This is the trap a fair scorecard must not fall into; three sit in procedures without a
  worse-outcome physician so nothing else moves their expected counts.
* A small department: Women's Health (ten gynaecologists doing hysterectomies, nine eligible) holds both
  a truly worse surgeon and a sicker-patients surgeon, at the size where overdispersion cannot be
  estimated and the funnel limits are exact (truth.json `small_department`).
* The supply chain's side (issue 14): a preferred guidewire on backorder (its alternative is the other
  preferred guidewire), a single-source preferred knee system (the biggest standardization win carries
  a supply risk), a formulary whose preferred drugs the costly-pharmacy surgeon passes over, and a
  standardization programme that began with the default period: preferred use rose in cardiac stents
  and hernia mesh (savings achieved) and stayed flat in knee and hip implants (none).
* A procedure with too few eligible physicians (TAVR: four physicians, one of them below min_cases),
  so no peer figures may be shown; and four (physician, procedure) pairs below min_cases in the last
  12 months with a fixed number of cases at every size.

Outcomes come from a logistic model on patient factors only (age, sex, ASA class, comorbidity index,
admission type) with procedure-specific baselines, which is what the app's risk adjustment fits, so
the planted physician effects are exactly what it should recover. Everyone else gets only small random
habits (preferred-product propensity, favourite brands, OR pace, discharge practice) so peers spread
realistically without hiding the planted effects.

How
---
Cases are generated in one vectorised NumPy pass; supply and drug lines are generated in fixed-size
chunks of cases, each with its own generator seeded from (seed, table, chunk), and streamed with
pyarrow to CSV or Parquet. Memory stays flat at a million cases (~30M supply lines) and the bytes are
identical for identical arguments on any machine.
"""

from __future__ import annotations

import io
import json
import unicodedata
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from core import metrics
from core.errors import UserError

START_DATE = date(2024, 10, 1)
END_DATE = date(2026, 9, 30)
N_DAYS = (END_DATE - START_DATE).days + 1
# The app's default period is the 12 months ending at the latest surgery date (which we pin to END_DATE).
PERIOD_START = date(2025, 10, 1)
# Evidence reviews are judged overdue against this date (the demo's notional "today").
REVIEW_TODAY = date(2026, 11, 22)
DOMAIN = "demo-hospital.org"
# Fixed chunk size: chunk boundaries seed the generators, so changing this changes the output.
CHUNK_CASES = 50_000
MIN_CASES = 1_000
VOLUME_GROWTH = 0.3  # relative rise in daily case volume from the first day to the last
TABLES = (
    "physicians",
    "procedures",
    "cases",
    "items",
    "supply_usage",
    "drug_usage",
    "evidence",
    "users",
    "settings",
    "drugs",
    "post_acute",
    "targets",
)
SETTINGS = (("or_cost_per_minute", "38"), ("bed_day_cost", "2400"), ("min_cases", "10"), ("min_peers", "5"))
FACILITIES = ("Main Campus", "North Campus", "Riverside Surgery Center")
# The binary outcomes the extract carries (core/metrics.py); each needs a row of OUTCOME_COEF below.
OUTCOMES = tuple(o.extract_column for o in metrics.OUTCOMES if o.binary)

# ---------------------------------------------------------------------------------------------
# Procedures
# ---------------------------------------------------------------------------------------------
# code, name, service line, share of cases, age (mean, sd, min, max), share female,
# admission mix (elective, urgent, emergency), mean comorbidity index, ASA shift,
# OR minutes (median, log sd), LOS (elective minimum, elective mean extra, non-elective minimum,
# non-elective mean extra), baseline rates for a typical patient (complication, readmit, SSI, death).
PROCEDURES = (
    (
        "TKA",
        "Total knee arthroplasty",
        "Orthopaedics",
        0.20,
        (67, 8.5, 40, 92),
        0.60,
        (0.97, 0.03, 0.00),
        1.4,
        0.0,
        (95, 0.16),
        (0, 1.3, 1, 2.0),
        (0.08, 0.04, 0.010, 0.001),
    ),
    (
        "THA",
        "Total hip arthroplasty",
        "Orthopaedics",
        0.14,
        (66, 10, 35, 94),
        0.56,
        (0.93, 0.04, 0.03),
        1.4,
        0.0,
        (100, 0.17),
        (0, 1.5, 1, 3.0),
        (0.05, 0.045, 0.012, 0.002),
    ),
    (
        "SPF",
        "Lumbar spinal fusion",
        "Orthopaedics",
        0.06,
        (59, 12, 25, 88),
        0.52,
        (0.90, 0.08, 0.02),
        1.3,
        0.1,
        (205, 0.22),
        (1, 2.0, 2, 3.0),
        (0.10, 0.08, 0.025, 0.003),
    ),
    (
        "LCH",
        "Laparoscopic cholecystectomy",
        "General Surgery",
        0.15,
        (49, 16, 18, 92),
        0.68,
        (0.62, 0.28, 0.10),
        0.9,
        -0.3,
        (75, 0.25),
        (0, 0.2, 1, 1.2),
        (0.08, 0.04, 0.015, 0.002),
    ),
    (
        "IHR",
        "Inguinal hernia repair",
        "General Surgery",
        0.13,
        (56, 15, 18, 92),
        0.10,
        (0.90, 0.06, 0.04),
        1.0,
        -0.2,
        (62, 0.22),
        (0, 0.12, 1, 1.0),
        (0.03, 0.03, 0.010, 0.0005),
    ),
    (
        "CABG",
        "Coronary artery bypass graft",
        "Cardiovascular",
        0.07,
        (66, 9, 38, 88),
        0.25,
        (0.55, 0.35, 0.10),
        2.6,
        0.6,
        (240, 0.15),
        (4, 1.8, 5, 2.4),
        (0.20, 0.12, 0.030, 0.020),
    ),
    (
        "PCI",
        "Percutaneous coronary intervention",
        "Cardiovascular",
        0.11,
        (64, 11, 30, 94),
        0.30,
        (0.38, 0.34, 0.28),
        2.0,
        0.4,
        (70, 0.28),
        (0, 0.6, 1, 1.4),
        (0.12, 0.07, 0.004, 0.010),
    ),
    (
        "TAVR",
        "Transcatheter aortic valve replacement",
        "Cardiovascular",
        0.02,
        (80, 6, 62, 97),
        0.45,
        (0.85, 0.13, 0.02),
        3.2,
        0.8,
        (105, 0.20),
        (1, 1.0, 2, 2.5),
        (0.12, 0.10, 0.010, 0.025),
    ),
    (
        "HYS",
        "Hysterectomy",
        "Women's Health",
        0.12,
        (47, 10, 25, 85),
        1.0,
        (0.93, 0.05, 0.02),
        0.7,
        -0.2,
        (120, 0.22),
        (0, 0.9, 1, 1.8),
        (0.10, 0.04, 0.020, 0.001),
    ),
)
PROC_CODES = tuple(p[0] for p in PROCEDURES)
FEW_ELIGIBLE_PROCEDURE = "TAVR"

# Logistic coefficients shared by every procedure: per year of age above the procedure's mean, per
# ASA class above 2.4, per comorbidity point above the procedure's mean, urgent, emergency, male.
# Patient factors only (never payer, never physician): the model the app's risk adjustment fits.
OUTCOME_COEF = {
    "complication": (0.025, 0.45, 0.18, 0.35, 0.80, 0.10),
    "readmit_30d": (0.020, 0.35, 0.20, 0.30, 0.60, 0.05),
    "ssi": (0.010, 0.30, 0.15, 0.30, 0.70, 0.00),
    "mortality": (0.060, 0.90, 0.25, 0.70, 1.60, 0.15),
}

# ---------------------------------------------------------------------------------------------
# Physicians and what is planted in them
# ---------------------------------------------------------------------------------------------
# name, specialty, service line, home facility (0 Main, 1 North), {procedure: relative volume}.
# IDs are PH001... in this order; relative volumes vary so some physicians are busy and some not.
PHYSICIANS = (
    ("Dr. Amara Okafor", "Orthopaedic Surgery", "Orthopaedics", 0, {"TKA": 1.6, "THA": 0.8}),
    ("Dr. Lars Ångström", "Orthopaedic Surgery", "Orthopaedics", 0, {"TKA": 1.2, "THA": 1.2}),
    ("Dr. Michael Brennan", "Orthopaedic Surgery", "Orthopaedics", 0, {"TKA": 1.5, "THA": 0.6}),
    ("Dr. Rachel Goldberg", "Orthopaedic Surgery", "Orthopaedics", 1, {"TKA": 0.7}),
    ("Dr. Tomasz Wiśniewski", "Orthopaedic Surgery", "Orthopaedics", 0, {"THA": 1.4, "TKA": 0.8}),
    ("Dr. Kenji Watanabe", "Orthopaedic Surgery", "Orthopaedics", 1, {"THA": 1.4, "TKA": 0.5}),
    ("Dr. Sofia Marchetti", "Orthopaedic Surgery", "Orthopaedics", 0, {"TKA": 0.9, "THA": 0.9}),
    ("Dr. David Osei", "Orthopaedic Surgery", "Orthopaedics", 1, {"TKA": 1.2}),
    ("Dr. Hannah Lindqvist", "Orthopaedic Surgery", "Orthopaedics", 0, {"THA": 1.2, "TKA": 0.7}),
    ("Dr. Carlos Mendoza", "Orthopaedic Surgery", "Orthopaedics", 1, {"TKA": 0.6, "THA": 0.6}),
    ("Dr. Emily Hartmann", "Orthopaedic Surgery", "Orthopaedics", 0, {"TKA": 1.0, "THA": 0.4}),
    ("Dr. James O'Connell", "Orthopaedic Surgery", "Orthopaedics", 0, {"THA": 0.8, "TKA": 0.8}),
    ("Dr. Aisha Rahman", "Orthopaedic Surgery", "Orthopaedics", 1, {}),
    ("Dr. Viktor Petrov", "Spine Surgery", "Orthopaedics", 0, {"SPF": 1.5}),
    ("Dr. Robert Castellano", "Spine Surgery", "Orthopaedics", 0, {"SPF": 1.2}),
    ("Dr. Mei-Ling Chen", "Spine Surgery", "Orthopaedics", 1, {"SPF": 1.0}),
    ("Dr. Samuel Adeyemi", "Spine Surgery", "Orthopaedics", 0, {"SPF": 0.8}),
    ("Dr. Ingrid Solberg", "Spine Surgery", "Orthopaedics", 1, {"SPF": 1.0}),
    ("Dr. Arjun Mehta", "Spine Surgery", "Orthopaedics", 0, {"SPF": 0.7}),
    ("Dr. Patrick Doyle", "General Surgery", "General Surgery", 0, {"LCH": 1.0, "IHR": 0.8}),
    ("Dr. Laura Bianchi", "General Surgery", "General Surgery", 0, {"LCH": 1.2, "IHR": 1.2}),
    ("Dr. Gregory Walsh", "General Surgery", "General Surgery", 1, {"LCH": 1.0, "IHR": 1.5}),
    ("Dr. Fatima Al-Sayed", "Acute Care Surgery", "General Surgery", 0, {"LCH": 1.5, "IHR": 0.5}),
    ("Dr. Nathan Cole", "General Surgery", "General Surgery", 0, {"LCH": 1.0, "IHR": 1.0}),
    ("Dr. Olivia Turner", "General Surgery", "General Surgery", 1, {"LCH": 1.0, "IHR": 1.0}),
    ("Dr. Benjamin Kraus", "General Surgery", "General Surgery", 0, {"LCH": 0.8, "IHR": 1.2}),
    ("Dr. Chloe Dubois", "General Surgery", "General Surgery", 1, {"LCH": 1.3, "IHR": 0.6}),
    ("Dr. Marcus Johnson", "General Surgery", "General Surgery", 0, {"IHR": 1.6, "LCH": 0.5}),
    ("Dr. Elena Popescu", "General Surgery", "General Surgery", 0, {"LCH": 1.1, "IHR": 0.9}),
    ("Dr. Hiroshi Tanaka", "General Surgery", "General Surgery", 1, {"LCH": 0.7, "IHR": 0.7}),
    ("Dr. Grace Mwangi", "General Surgery", "General Surgery", 0, {"LCH": 1.2, "IHR": 1.0}),
    ("Dr. William Foster", "General Surgery", "General Surgery", 1, {"IHR": 1.1, "LCH": 0.6}),
    ("Dr. Isabel Navarro", "General Surgery", "General Surgery", 0, {"LCH": 0.9, "IHR": 0.5}),
    ("Dr. Sarah Whitfield", "General Surgery", "General Surgery", 1, {"LCH": 1.0}),
    ("Dr. Richard Hale", "Cardiothoracic Surgery", "Cardiovascular", 0, {"CABG": 1.2}),
    ("Dr. Nkechi Eze", "Cardiothoracic Surgery", "Cardiovascular", 0, {"CABG": 1.0}),
    ("Dr. Stefan Novak", "Cardiothoracic Surgery", "Cardiovascular", 0, {"CABG": 1.2, "TAVR": 1.0}),
    ("Dr. Catherine Moreau", "Cardiothoracic Surgery", "Cardiovascular", 0, {"CABG": 1.0, "TAVR": 1.0}),
    ("Dr. Ahmed Haddad", "Cardiothoracic Surgery", "Cardiovascular", 1, {"CABG": 0.8}),
    ("Dr. Jonathan Pierce", "Cardiothoracic Surgery", "Cardiovascular", 1, {"CABG": 1.0}),
    ("Dr. Ravi Subramanian", "Interventional Cardiology", "Cardiovascular", 0, {"PCI": 1.5, "TAVR": 1.0}),
    ("Dr. Lucas Ferreira", "Interventional Cardiology", "Cardiovascular", 0, {"PCI": 1.2}),
    ("Dr. Yuki Sato", "Interventional Cardiology", "Cardiovascular", 1, {"PCI": 1.0}),
    ("Dr. Margaret Sullivan", "Interventional Cardiology", "Cardiovascular", 0, {"PCI": 0.8}),
    ("Dr. Diego Alvarez", "Interventional Cardiology", "Cardiovascular", 1, {"PCI": 0.8}),
    ("Dr. Anna Kowalczyk", "Interventional Cardiology", "Cardiovascular", 0, {"PCI": 1.3}),
    ("Dr. Peter Lindgren", "Interventional Cardiology", "Cardiovascular", 1, {"PCI": 0.6}),
    ("Dr. Oluwaseun Bello", "Interventional Cardiology", "Cardiovascular", 0, {"PCI": 1.0}),
    ("Dr. Farid Nasser", "Interventional Cardiology", "Cardiovascular", 1, {"PCI": 0.9}),
    ("Dr. Kwame Asante", "Interventional Cardiology", "Cardiovascular", 0, {"PCI": 1.1}),
    ("Dr. Victoria Ashford", "Gynaecology", "Women's Health", 0, {"HYS": 0.5}),
    ("Dr. Claire Beaumont", "Gynaecology", "Women's Health", 0, {"HYS": 1.2}),
    ("Dr. Maya Patel", "Gynaecology", "Women's Health", 1, {"HYS": 1.0}),
    ("Dr. Helen Fitzgerald", "Gynaecology", "Women's Health", 0, {"HYS": 1.0}),
    ("Dr. Rosa Jiménez", "Gynaecology", "Women's Health", 1, {}),
    ("Dr. Naomi Clarke", "Gynaecology", "Women's Health", 0, {"HYS": 1.1}),
    ("Dr. Leila Farahani", "Gynaecology", "Women's Health", 1, {"HYS": 0.9}),
    ("Dr. Julia Svensson", "Gynaecology", "Women's Health", 0, {"HYS": 0.7}),
    ("Dr. Adaeze Nwosu", "Gynaecology", "Women's Health", 1, {"HYS": 1.3}),
    ("Dr. Charlotte Reid", "Gynaecology", "Women's Health", 0, {"HYS": 0.6}),
)
PHYSICIAN_IDS = tuple(f"PH{i + 1:03d}" for i in range(len(PHYSICIANS)))


def _pid(name: str) -> str:
    """The physician id of the roster entry whose name ends with `name` (planted lists read by name)."""
    found = [pid for pid, p in zip(PHYSICIAN_IDS, PHYSICIANS, strict=False) if p[0].endswith(name)]
    if len(found) != 1:
        raise ValueError(f"roster name {name!r} matches {len(found)} physicians")
    return found[0]


COSTLY_IMPLANTS = (_pid("Okafor"), _pid("Castellano"), _pid("Ferreira"))  # TKA+THA, SPF, PCI
COSTLY_EXTRA_ITEMS = (_pid("Watanabe"), _pid("Bianchi"), _pid("Beaumont"))
COSTLY_WASTE = (_pid("Petrov"), _pid("Walsh"), _pid("Bello"))
COSTLY_OR_TIME = (_pid("Brennan"), _pid("Novak"), _pid("Clarke"))
COSTLY_PHARMACY = (_pid("Turner"),)  # liposomal bupivacaine and sugammadex by habit
# (physician, procedure, {outcome: odds ratio}): worse than their patients explain, from WORSE_FROM
# on. Each sits in a procedure with ten or more physicians, so a funnel's overdispersion estimate
# (trimmed 10% each tail) sets the outlier aside. Each does only ~6% of the procedure's volume and is
# worse only for the last 15 months, so their excess events barely move the pooled two-year risk
# model: peers stay near O/E 1 and the SHMI overdispersion (tau^2) stays small. The odds ratio is
# large because detection needs it: at 20k cases such a physician has only ~10-15 expected events in
# the default 12 months (with app-style SHMI limits, ~94% of (seed, physician) draws land beyond
# 99.8%, all four at seed 42; all beyond 95%).
WORSE_OUTCOMES = (
    (_pid("Goldberg"), "TKA", {"complication": 4.0}),
    (_pid("Doyle"), "LCH", {"complication": 4.0}),
    (_pid("Sullivan"), "PCI", {"complication": 4.0}),
    (_pid("Ashford"), "HYS", {"complication": 4.0}),
)
# (physician, procedure): much sicker patients, ordinary care (no physician effect). Kept out of the
# procedures with a worse-outcome physician, whose excess events would otherwise raise everyone's
# expected count in that procedure's pooled risk model.
# Deteriorating from mid-2025: a story the quarterly trend shows, and see WORSE_OUTCOMES.
WORSE_FROM = date(2025, 7, 1)
SICKER_PATIENTS = ((_pid("Wiśniewski"), "THA"), (_pid("Chen"), "SPF"), (_pid("Eze"), "CABG"), (_pid("Farahani"), "HYS"))
# A department of real size (README "Fair numbers at a department's size"): in the default year Women's
# Health has ten gynaecologists doing hysterectomies, nine of them eligible, with one truly worse surgeon (Ashford, in
# WORSE_OUTCOMES) and one with much sicker patients (Farahani, in SICKER_PATIENTS) side by side.
# Too few surgeons to estimate overdispersion, so its funnels use exact limits: the scorecard must
# still call out the first and not the second.
SMALL_DEPARTMENT = ("Women's Health", "HYS", _pid("Ashford"), _pid("Farahani"))
# (physician, procedure, cases in the last 12 months, cases in the year before): fixed at any size.
BELOW_MIN_CASES = (
    (_pid("Rahman"), "TKA", 6, 0),  # a new consultant who started in the spring
    (_pid("Whitfield"), "IHR", 4, 3),  # a cholecystectomy surgeon who rarely repairs hernias
    (_pid("Sato"), "TAVR", 7, 2),  # the fourth TAVR operator, which leaves TAVR with too few peers
    (_pid("Jiménez"), "HYS", 8, 14),  # part-time since last year: eligible over two years, not one
)
CHAMPIONS = {
    "Orthopaedics": _pid("Ångström"),
    "General Surgery": _pid("Cole"),
    "Cardiovascular": _pid("Moreau"),
    "Women's Health": _pid("Patel"),
}
SUPPLY_USERS = ("nadia.kowalski", "tomas.herrera")
ADMIN_USERS = ("jordan.blake",)

# ---------------------------------------------------------------------------------------------
# Item master
# ---------------------------------------------------------------------------------------------
MFR = {
    "ortho": (
        "Kestrel Orthopaedics",
        "Northfield Implants",
        "Orvella Medical",
        "Tavira Joint Systems",
        "Halden Bioworks",
    ),
    "spine": ("Calder Spine", "Veyra Spinal Systems", "Northfield Implants", "Ostrava Biologics"),
    "cardio": (
        "Solenne Cardio",
        "Arcadia Vascular",
        "Pellham Interventional",
        "Corvane Medical",
        "Brightline Vascular",
    ),
    "surg": ("Everholt Surgical", "Brightwater Surgical", "Quillon Medical", "Lindenhall Medical", "Marlow & Vance"),
    "commodity": (
        "Carewell Supply",
        "Harrow Surgical Supply",
        "Bluecrest Healthcare",
        "Tendril Health",
        "Pinefield Clinical",
    ),
}
MODELS = (
    "Arc",
    "Vela",
    "Norda",
    "Trion",
    "Sola",
    "Axis",
    "Cove",
    "Strata",
    "Prima",
    "Helix",
    "Crest",
    "Orbit",
    "Fjord",
    "Lumen",
    "Pulse",
    "Atlas",
    "Zephyr",
    "Keel",
    "Sable",
    "Tern",
    "Ridge",
    "Delta",
    "Nova",
    "Echo",
    "Flux",
    "Quill",
    "Rune",
    "Spire",
    "Tide",
    "Vale",
    "Aster",
    "Brio",
    "Cairn",
    "Dune",
    "Ember",
    "Gale",
    "Haven",
    "Isle",
    "Juno",
    "Koda",
    "Lark",
    "Moss",
)
# name, is_implant, items, unit cost range, preferred items, criticality, manufacturer group, variants.
CATEGORIES = (
    (
        "Knee implant systems",
        True,
        8,
        4200,
        8900,
        2,
        "high",
        "ortho",
        (
            "cemented cruciate-retaining knee system",
            "cemented posterior-stabilised knee system",
            "cementless cruciate-retaining knee system",
            "medial-pivot knee system",
            "rotating-platform knee system",
            "bicruciate-retaining knee system",
            "posterior-stabilised knee system, robotic instrumentation",
            "cementless knee system, 3D-printed tibial baseplate",
        ),
    ),
    (
        "Hip implant systems",
        True,
        8,
        3900,
        8600,
        2,
        "high",
        "ortho",
        (
            "cementless stem and cup, ceramic-on-polyethylene",
            "cemented polished taper stem system",
            "cementless stem, dual-mobility cup",
            "short cementless stem, metal-on-polyethylene",
            "collared cementless stem, ceramic-on-ceramic",
            "modular-neck hip system",
            "cemented stem, dual-mobility cup",
            "cementless stem, 3D-printed acetabular shell",
        ),
    ),
    (
        "Bone cement",
        True,
        6,
        180,
        620,
        1,
        "high",
        "ortho",
        (
            "PMMA bone cement 40 g",
            "high-viscosity bone cement 40 g",
            "gentamicin bone cement 40 g",
            "low-viscosity bone cement 40 g",
            "tobramycin bone cement 40 g",
            "dual-antibiotic bone cement 40 g",
        ),
    ),
    (
        "Spinal screws",
        True,
        12,
        550,
        1500,
        2,
        "high",
        "spine",
        (
            "polyaxial pedicle screw 6.5 mm",
            "polyaxial pedicle screw 5.5 mm",
            "cortical trajectory screw",
            "fenestrated pedicle screw",
            "reduction pedicle screw",
            "navigated polyaxial pedicle screw",
        ),
    ),
    (
        "Spinal rods",
        True,
        8,
        240,
        720,
        1,
        "high",
        "spine",
        ("titanium rod 5.5 mm", "cobalt-chrome rod 5.5 mm", "pre-bent titanium rod", "titanium rod 6.0 mm"),
    ),
    (
        "Interbody cages",
        True,
        10,
        1900,
        5600,
        2,
        "high",
        "spine",
        (
            "PEEK TLIF cage",
            "titanium-coated PEEK cage",
            "PEEK PLIF cage",
            "3D-printed titanium TLIF cage",
            "expandable titanium TLIF cage",
        ),
    ),
    (
        "Bone graft substitutes",
        True,
        8,
        380,
        2900,
        1,
        "medium",
        "spine",
        (
            "beta-TCP granules 10 cc",
            "demineralised bone matrix putty 5 cc",
            "bioactive glass putty 10 cc",
            "cellular bone allograft 5 cc",
        ),
    ),
    (
        "Saw blades",
        False,
        8,
        45,
        160,
        1,
        "low",
        "ortho",
        (
            "sagittal saw blade 90 mm",
            "sagittal saw blade 25 mm",
            "oscillating saw blade, narrow",
            "reciprocating saw blade",
        ),
    ),
    (
        "Tourniquet cuffs",
        False,
        6,
        18,
        65,
        1,
        "low",
        "surg",
        ("contour tourniquet cuff 30 in", "single-use tourniquet cuff 24 in", "single-use tourniquet cuff 34 in"),
    ),
    (
        "Cardiac stents",
        True,
        12,
        850,
        2300,
        2,
        "high",
        "cardio",
        (
            "everolimus-eluting coronary stent",
            "zotarolimus-eluting coronary stent",
            "sirolimus-eluting coronary stent",
            "biodegradable-polymer DES",
            "polymer-free DES",
            "long DES 38 mm",
        ),
    ),
    (
        "Guidewires",
        False,
        14,
        55,
        280,
        2,
        "high",
        "cardio",
        (
            "workhorse coronary guidewire 0.014 in",
            "hydrophilic coronary guidewire 0.014 in",
            "CTO guidewire 0.014 in",
            "J-tip guidewire 0.035 in",
            "extra-support guidewire 0.035 in",
            "pre-shaped TAVR guidewire",
            "polymer-jacketed guidewire 0.014 in",
        ),
    ),
    (
        "Balloon catheters",
        False,
        14,
        170,
        680,
        2,
        "high",
        "cardio",
        (
            "semi-compliant PTCA balloon",
            "non-compliant PTCA balloon",
            "cutting balloon",
            "drug-coated balloon",
            "scoring balloon",
            "valvuloplasty balloon",
            "compliant PTCA balloon",
        ),
    ),
    (
        "Introducer sheaths",
        False,
        8,
        22,
        140,
        1,
        "medium",
        "cardio",
        (
            "hydrophilic radial sheath 6 Fr",
            "radial introducer sheath 6 Fr",
            "femoral introducer sheath 6 Fr",
            "large-bore introducer sheath 14 Fr",
        ),
    ),
    (
        "Diagnostic and guide catheters",
        False,
        10,
        38,
        190,
        1,
        "medium",
        "cardio",
        (
            "JL4 guide catheter 6 Fr",
            "JR4 guide catheter 6 Fr",
            "EBU guide catheter 6 Fr",
            "pigtail diagnostic catheter 6 Fr",
            "guide extension catheter",
        ),
    ),
    (
        "Vascular closure devices",
        False,
        6,
        160,
        340,
        1,
        "medium",
        "cardio",
        (
            "collagen-plug closure device 6 Fr",
            "suture-mediated closure device",
            "large-bore closure system",
            "radial compression band",
        ),
    ),
    (
        "Transcatheter heart valves",
        True,
        5,
        27500,
        38500,
        1,
        "high",
        "cardio",
        (
            "balloon-expandable transcatheter valve",
            "self-expanding transcatheter valve",
            "mechanically expanded transcatheter valve",
            "self-expanding valve, repositionable",
            "balloon-expandable valve, skirt",
        ),
    ),
    (
        "Cardiopulmonary bypass circuits",
        False,
        5,
        1150,
        2450,
        0,
        "high",
        "cardio",
        (
            "adult bypass circuit with oxygenator",
            "coated bypass circuit with oxygenator",
            "minimised extracorporeal circuit",
        ),
    ),
    (
        "Sternal closure",
        True,
        6,
        160,
        3100,
        1,
        "high",
        "cardio",
        (
            "stainless steel sternal wire set",
            "sternal cable system",
            "sternal wire set, double-loop",
            "rigid sternal plate system",
            "sternal band system",
            "thermoreactive sternal clip system",
        ),
    ),
    (
        "Chest drainage",
        False,
        8,
        45,
        190,
        1,
        "medium",
        "cardio",
        (
            "dry-suction chest drainage unit",
            "straight chest tube 28 Fr",
            "silicone mediastinal drain",
            "digital chest drainage unit",
        ),
    ),
    (
        "Hernia mesh",
        True,
        12,
        85,
        3400,
        2,
        "medium",
        "surg",
        (
            "lightweight polypropylene mesh 15x15 cm",
            "mid-weight polypropylene mesh 15x15 cm",
            "self-gripping mesh 15x9 cm",
            "3D anatomical mesh, large",
            "composite mesh 15x15 cm",
            "plug and patch system",
            "biosynthetic absorbable mesh",
            "biologic mesh 10x15 cm",
        ),
    ),
    (
        "Mesh fixation",
        False,
        6,
        180,
        560,
        1,
        "medium",
        "surg",
        (
            "absorbable tack fixation device",
            "permanent tack fixation device",
            "fibrin sealant kit",
            "cyanoacrylate mesh glue",
        ),
    ),
    (
        "Surgical staplers",
        False,
        10,
        120,
        620,
        1,
        "medium",
        "surg",
        (
            "linear cutting stapler 60 mm",
            "stapler reload 60 mm",
            "powered linear stapler",
            "endoscopic stapler reload 45 mm",
            "skin stapler 35W",
        ),
    ),
    (
        "Trocars",
        False,
        12,
        38,
        165,
        2,
        "medium",
        "surg",
        (
            "bladeless trocar 5 mm",
            "bladeless trocar 12 mm",
            "Hasson trocar 12 mm",
            "balloon-tip trocar 12 mm",
            "optical trocar 5 mm",
            "bladed trocar 11 mm",
        ),
    ),
    (
        "Ligation clips",
        False,
        8,
        55,
        190,
        1,
        "medium",
        "surg",
        (
            "titanium clip applier, medium-large",
            "polymer locking clip cartridge",
            "absorbable clip applier",
            "titanium clip applier, medium",
        ),
    ),
    (
        "Specimen retrieval bags",
        False,
        6,
        22,
        95,
        1,
        "low",
        "surg",
        ("specimen retrieval bag 10 mm", "specimen retrieval bag 15 mm", "contained tissue extraction bag"),
    ),
    (
        "Uterine manipulators",
        False,
        6,
        55,
        260,
        1,
        "medium",
        "surg",
        (
            "uterine manipulator with colpotomy cup",
            "single-use uterine manipulator",
            "articulating uterine manipulator",
        ),
    ),
    (
        "Energy devices",
        False,
        12,
        240,
        980,
        2,
        "medium",
        "surg",
        (
            "advanced bipolar sealer 5 mm",
            "ultrasonic shears 36 cm",
            "hybrid energy device 5 mm",
            "open vessel sealer",
            "ultrasonic shears, short",
            "bipolar sealer with articulation",
        ),
    ),
    (
        "Hemostatic agents",
        False,
        10,
        85,
        460,
        1,
        "medium",
        "surg",
        (
            "oxidised regenerated cellulose 2x3 in",
            "gelatin sponge",
            "flowable thrombin matrix 5 mL",
            "fibrin sealant patch",
            "collagen hemostat",
            "polysaccharide hemostatic powder",
        ),
    ),
    (
        "Sutures",
        False,
        40,
        6,
        68,
        2,
        "medium",
        "surg",
        (
            "triclosan-coated polyglactin 910 2-0, SH",
            "triclosan-coated polydioxanone loop 1, CTX",
            "polyglactin 910 braided 0, CT-1",
            "polyglactin 910 braided 2-0, SH",
            "poliglecaprone 3-0, PS-2",
            "polydioxanone loop 1, CTX",
            "polypropylene 2-0, SH",
            "polypropylene 4-0, RB-1",
            "nylon 3-0, FS-1",
            "barbed polydioxanone 0, CT-1",
            "barbed poliglecaprone 3-0, PS-2",
        ),
    ),
    (
        "Skin prep",
        False,
        6,
        3.5,
        16,
        1,
        "medium",
        "commodity",
        (
            "chlorhexidine-alcohol applicator 26 mL",
            "chlorhexidine-alcohol applicator 10.5 mL",
            "povidone-iodine scrub kit",
            "iodine povacrylex applicator 26 mL",
        ),
    ),
    (
        "Surgical drapes",
        False,
        12,
        9,
        95,
        2,
        "low",
        "commodity",
        (
            "split sheet drape",
            "extremity drape",
            "laparotomy drape",
            "iodophor-impregnated incise drape",
            "cardiovascular drape",
            "lithotomy drape",
        ),
    ),
    (
        "Surgical gowns",
        False,
        8,
        3.8,
        14,
        1,
        "low",
        "commodity",
        (
            "surgical gown, reinforced, XL",
            "surgical gown, standard, L",
            "surgical gown, breathable, L",
            "surgical gown, AAMI level 4, XL",
        ),
    ),
    (
        "Surgical gloves",
        False,
        12,
        0.9,
        4.5,
        1,
        "low",
        "commodity",
        (
            "sterile synthetic polyisoprene gloves 7.5",
            "sterile latex-free underglove 7.5",
            "sterile neoprene gloves 7",
            "sterile orthopaedic gloves 8",
            "sterile indicator underglove 7.5",
            "sterile nitrile gloves 7",
        ),
    ),
    (
        "Wound dressings",
        False,
        16,
        2.5,
        65,
        2,
        "low",
        "commodity",
        (
            "island dressing 10x25 cm",
            "silicone foam dressing 10x20 cm",
            "transparent film dressing",
            "absorbent pad 10x20 cm",
            "hydrocolloid dressing 10x10 cm",
            "post-operative dressing, waterproof",
            "antimicrobial gauze dressing",
            "silver hydrofiber dressing 9x25 cm",
        ),
    ),
    (
        "Negative pressure wound therapy",
        False,
        5,
        320,
        620,
        1,
        "medium",
        "commodity",
        (
            "single-use incisional NPWT system 20 cm",
            "single-use incisional NPWT system 35 cm",
            "canister NPWT dressing kit",
        ),
    ),
    (
        "Skin adhesives",
        False,
        6,
        16,
        42,
        1,
        "low",
        "surg",
        ("2-octyl cyanoacrylate 0.7 mL", "n-butyl cyanoacrylate 0.5 mL", "skin adhesive with mesh tape 22 cm"),
    ),
    (
        "Electrosurgical pencils",
        False,
        6,
        5,
        28,
        1,
        "low",
        "surg",
        (
            "electrosurgical pencil with smoke evacuation",
            "electrosurgical pencil, rocker switch",
            "extended-tip electrosurgical pencil",
        ),
    ),
    (
        "Urinary catheters",
        False,
        8,
        7,
        28,
        1,
        "low",
        "commodity",
        (
            "closed-system silicone Foley tray 16 Fr",
            "latex Foley catheter tray 14 Fr",
            "silicone Foley catheter tray 16 Fr",
            "silver-alloy Foley catheter tray 16 Fr",
        ),
    ),
    (
        "Patient warming",
        False,
        6,
        14,
        42,
        1,
        "low",
        "commodity",
        ("forced-air upper body blanket", "forced-air lower body blanket", "underbody warming blanket"),
    ),
    (
        "Compression sleeves",
        False,
        6,
        22,
        64,
        1,
        "low",
        "commodity",
        ("calf compression sleeve, medium", "thigh-length compression sleeve", "foot compression garment"),
    ),
    (
        "Procedure packs",
        False,
        14,
        110,
        480,
        0,
        "medium",
        "commodity",
        (
            "total joint custom pack",
            "spine custom pack",
            "laparoscopy custom pack",
            "hernia custom pack",
            "open heart custom pack",
            "cath lab custom pack",
            "gynaecology custom pack",
        ),
    ),
    (
        "Surgical blades",
        False,
        8,
        0.8,
        3.2,
        0,
        "low",
        "commodity",
        ("scalpel blade no. 10", "scalpel blade no. 15", "scalpel blade no. 11", "scalpel blade no. 20"),
    ),
    (
        "Suction and irrigation",
        False,
        12,
        9,
        185,
        0,
        "low",
        "surg",
        (
            "Yankauer suction with tubing",
            "laparoscopic suction-irrigator",
            "pulsed lavage system",
            "suction tubing 3.6 m",
            "irrigation tubing set",
            "bulb irrigation syringe",
        ),
    ),
    (
        "Syringes and needles",
        False,
        16,
        0.25,
        3.5,
        0,
        "low",
        "commodity",
        (
            "syringe 10 mL luer-lock",
            "syringe 20 mL luer-lock",
            "hypodermic needle 18 G",
            "spinal needle 22 G",
            "blunt fill needle 18 G",
            "syringe 60 mL catheter tip",
            "safety needle 25 G",
            "control syringe 10 mL",
        ),
    ),
    (
        "Sponges and gauze",
        False,
        10,
        1.5,
        14,
        0,
        "low",
        "commodity",
        (
            "X-ray detectable laparotomy sponges, 5 pack",
            "gauze sponges 10x10 cm, 10 pack",
            "cotton-tipped applicators, 10 pack",
            "peanut sponges, 5 pack",
            "neuro patties, 10 pack",
        ),
    ),
    (
        "IV and infusion sets",
        False,
        10,
        2.8,
        18,
        0,
        "low",
        "commodity",
        (
            "gravity IV administration set",
            "pump infusion set",
            "IV extension set with valve",
            "blood administration set",
            "peripheral IV catheter 18 G",
        ),
    ),
)
CAT_NAMES = tuple(c[0] for c in CATEGORIES)
CAT_INDEX = {name: i for i, name in enumerate(CAT_NAMES)}

# ---------------------------------------------------------------------------------------------
# Supply "slots": per procedure, the lines a case may have (category, chance, quantity range,
# optional). Optional slots are the pricey extras that extra-items physicians add to most cases.
# ---------------------------------------------------------------------------------------------
_SURGICAL_BASE = (
    ("Procedure packs", 1.0, 1, 1),
    ("Surgical gloves", 1.0, 2, 6),
    ("Surgical gloves", 1.0, 1, 4),
    ("Surgical gloves", 0.5, 1, 3),
    ("Surgical gowns", 1.0, 2, 4),
    ("Surgical gowns", 0.4, 1, 2),
    ("Surgical drapes", 1.0, 1, 2),
    ("Surgical drapes", 0.7, 1, 3),
    ("Skin prep", 1.0, 1, 2),
    ("Sutures", 1.0, 1, 3),
    ("Sutures", 1.0, 1, 3),
    ("Sutures", 0.85, 1, 2),
    ("Sutures", 0.5, 1, 2),
    ("Sponges and gauze", 1.0, 1, 5),
    ("Sponges and gauze", 0.6, 1, 3),
    ("Syringes and needles", 1.0, 2, 8),
    ("Syringes and needles", 0.8, 1, 4),
    ("Surgical blades", 1.0, 1, 3),
    ("Electrosurgical pencils", 0.95, 1, 1),
    ("Suction and irrigation", 0.9, 1, 2),
    ("IV and infusion sets", 1.0, 1, 3),
    ("Patient warming", 0.8, 1, 1),
    ("Compression sleeves", 0.85, 1, 1),
    ("Wound dressings", 1.0, 1, 2),
    ("Wound dressings", 0.4, 1, 2),
    ("Skin adhesives", 0.45, 1, 1),
    ("Sutures", 0.5, 1, 2),
    ("Syringes and needles", 0.6, 1, 3),
    ("Surgical drapes", 0.5, 1, 2),
    ("IV and infusion sets", 0.6, 1, 2),
    ("Sponges and gauze", 0.5, 1, 2),
    ("Suction and irrigation", 0.4, 1, 1),
    ("Surgical gloves", 0.4, 1, 2),
)
_CATH_BASE = (
    ("Procedure packs", 1.0, 1, 1),
    ("Surgical gloves", 1.0, 2, 4),
    ("Surgical gloves", 0.7, 1, 2),
    ("Surgical gowns", 1.0, 1, 3),
    ("Surgical drapes", 1.0, 1, 2),
    ("Skin prep", 1.0, 1, 1),
    ("Syringes and needles", 1.0, 2, 8),
    ("Syringes and needles", 0.8, 1, 4),
    ("IV and infusion sets", 1.0, 1, 2),
    ("IV and infusion sets", 0.8, 1, 2),
    ("Sponges and gauze", 1.0, 1, 2),
    ("Wound dressings", 1.0, 1, 1),
    ("Surgical blades", 0.6, 1, 1),
    ("Syringes and needles", 0.7, 1, 3),
    ("Surgical drapes", 0.6, 1, 1),
    ("Sponges and gauze", 0.5, 1, 2),
    ("IV and infusion sets", 0.5, 1, 1),
    ("Surgical gowns", 0.5, 1, 2),
    ("Skin prep", 0.3, 1, 1),
    ("Suction and irrigation", 0.5, 1, 1),
)
_OPT = "optional"
SUPPLY_SLOTS = {
    "TKA": _SURGICAL_BASE
    + (
        ("Knee implant systems", 1.0, 1, 1),
        ("Bone cement", 1.0, 1, 2),
        ("Saw blades", 1.0, 1, 2),
        ("Tourniquet cuffs", 0.8, 1, 1),
        ("Suction and irrigation", 0.7, 1, 1),
        ("Urinary catheters", 0.3, 1, 1),
        ("Hemostatic agents", 0.15, 1, 2, _OPT),
        ("Negative pressure wound therapy", 0.08, 1, 1, _OPT),
        ("Wound dressings", 0.15, 1, 1, _OPT),
        ("Energy devices", 0.10, 1, 1, _OPT),
    ),
    "THA": _SURGICAL_BASE
    + (
        ("Hip implant systems", 1.0, 1, 1),
        ("Bone cement", 0.3, 1, 2),
        ("Saw blades", 1.0, 1, 2),
        ("Suction and irrigation", 0.6, 1, 1),
        ("Urinary catheters", 0.4, 1, 1),
        ("Hemostatic agents", 0.15, 1, 2, _OPT),
        ("Negative pressure wound therapy", 0.06, 1, 1, _OPT),
        ("Wound dressings", 0.15, 1, 1, _OPT),
        ("Energy devices", 0.12, 1, 1, _OPT),
    ),
    "SPF": _SURGICAL_BASE
    + (
        ("Spinal screws", 1.0, 4, 8),
        ("Spinal rods", 1.0, 2, 2),
        ("Interbody cages", 0.85, 1, 2),
        ("Bone graft substitutes", 0.7, 1, 3),
        ("Hemostatic agents", 0.6, 1, 2),
        ("Urinary catheters", 1.0, 1, 1),
        ("Suction and irrigation", 0.8, 1, 1),
        ("Hemostatic agents", 0.15, 1, 2, _OPT),
        ("Negative pressure wound therapy", 0.06, 1, 1, _OPT),
        ("Energy devices", 0.15, 1, 1, _OPT),
        ("Bone graft substitutes", 0.15, 1, 2, _OPT),
    ),
    "LCH": _SURGICAL_BASE
    + (
        ("Trocars", 1.0, 1, 2),
        ("Trocars", 1.0, 1, 2),
        ("Trocars", 0.5, 1, 1),
        ("Ligation clips", 1.0, 1, 2),
        ("Specimen retrieval bags", 0.9, 1, 1),
        ("Energy devices", 0.35, 1, 1),
        ("Suction and irrigation", 0.5, 1, 1),
        ("Hemostatic agents", 0.08, 1, 1, _OPT),
        ("Energy devices", 0.12, 1, 1, _OPT),
        ("Surgical staplers", 0.05, 1, 2, _OPT),
        ("Trocars", 0.10, 1, 1, _OPT),
    ),
    "IHR": _SURGICAL_BASE
    + (
        ("Hernia mesh", 1.0, 1, 1),
        ("Mesh fixation", 0.45, 1, 1),
        ("Trocars", 0.5, 1, 2),
        ("Trocars", 0.4, 1, 1),
        ("Hemostatic agents", 0.05, 1, 1, _OPT),
        ("Energy devices", 0.10, 1, 1, _OPT),
        ("Hernia mesh", 0.05, 1, 1, _OPT),
        ("Negative pressure wound therapy", 0.02, 1, 1, _OPT),
    ),
    "CABG": _SURGICAL_BASE
    + (
        ("Cardiopulmonary bypass circuits", 1.0, 1, 1),
        ("Sternal closure", 1.0, 1, 1),
        ("Chest drainage", 1.0, 2, 3),
        ("Chest drainage", 0.6, 1, 1),
        ("Hemostatic agents", 0.7, 1, 2),
        ("Urinary catheters", 1.0, 1, 1),
        ("Introducer sheaths", 1.0, 1, 2),
        ("Sutures", 1.0, 2, 4),
        ("Sutures", 1.0, 2, 4),
        ("Hemostatic agents", 0.20, 1, 2, _OPT),
        ("Energy devices", 0.15, 1, 1, _OPT),
        ("Negative pressure wound therapy", 0.10, 1, 1, _OPT),
    ),
    "PCI": _CATH_BASE
    + (
        ("Introducer sheaths", 1.0, 1, 1),
        ("Diagnostic and guide catheters", 1.0, 1, 2),
        ("Diagnostic and guide catheters", 0.6, 1, 1),
        ("Guidewires", 1.0, 1, 2),
        ("Guidewires", 0.7, 1, 1),
        ("Guidewires", 0.35, 1, 1),
        ("Balloon catheters", 1.0, 1, 2),
        ("Balloon catheters", 0.6, 1, 1),
        ("Cardiac stents", 1.0, 1, 1),
        ("Cardiac stents", 0.45, 1, 1),
        ("Cardiac stents", 0.15, 1, 1),
        ("Vascular closure devices", 0.5, 1, 1),
        ("Balloon catheters", 0.15, 1, 1, _OPT),
        ("Guidewires", 0.15, 1, 1, _OPT),
        ("Vascular closure devices", 0.10, 1, 1, _OPT),
        ("Hemostatic agents", 0.03, 1, 1, _OPT),
    ),
    "TAVR": _CATH_BASE
    + (
        ("Transcatheter heart valves", 1.0, 1, 1),
        ("Introducer sheaths", 1.0, 1, 2),
        ("Introducer sheaths", 1.0, 1, 1),
        ("Guidewires", 1.0, 1, 2),
        ("Guidewires", 1.0, 1, 2),
        ("Balloon catheters", 0.6, 1, 1),
        ("Diagnostic and guide catheters", 1.0, 1, 2),
        ("Vascular closure devices", 1.0, 1, 2),
        ("Sutures", 0.6, 1, 2),
        ("Urinary catheters", 0.7, 1, 1),
        ("Balloon catheters", 0.20, 1, 1, _OPT),
        ("Hemostatic agents", 0.10, 1, 1, _OPT),
        ("Guidewires", 0.15, 1, 1, _OPT),
    ),
    "HYS": _SURGICAL_BASE
    + (
        ("Uterine manipulators", 0.6, 1, 1),
        ("Trocars", 0.6, 1, 2),
        ("Trocars", 0.5, 1, 1),
        ("Energy devices", 0.8, 1, 1),
        ("Urinary catheters", 1.0, 1, 1),
        ("Specimen retrieval bags", 0.3, 1, 1),
        ("Hemostatic agents", 0.2, 1, 1),
        ("Energy devices", 0.15, 1, 1, _OPT),
        ("Hemostatic agents", 0.12, 1, 1, _OPT),
        ("Negative pressure wound therapy", 0.02, 1, 1, _OPT),
        ("Sutures", 0.20, 1, 2, _OPT),
    ),
}
EXTRA_ITEMS_P = 0.85  # chance an optional slot is used by an extra-items physician

# ---------------------------------------------------------------------------------------------
# Drugs: (name, class, unit cost, quantity range). No commas in names: big tables are written unquoted.
# ---------------------------------------------------------------------------------------------
DRUGS = (
    ("Cefazolin 2 g IV", "Antibiotic", 2.80, 1, 2),
    ("Vancomycin 1 g IV", "Antibiotic", 9.60, 1, 2),
    ("Tranexamic acid 1 g IV", "Antifibrinolytic", 11.50, 1, 2),
    ("Aminocaproic acid 5 g IV", "Antifibrinolytic", 24.00, 1, 2),
    ("Bupivacaine 0.25% 30 mL", "Local anaesthetic", 3.20, 1, 2),
    ("Liposomal bupivacaine 266 mg/20 mL", "Local anaesthetic", 338.00, 1, 1),
    ("Neostigmine 3 mg with glycopyrrolate 0.6 mg", "Neuromuscular reversal", 14.20, 1, 1),
    ("Sugammadex 200 mg IV", "Neuromuscular reversal", 118.00, 1, 2),
    ("Enoxaparin 40 mg SC", "Anticoagulant", 8.90, 2, 6),
    ("Rivaroxaban 10 mg PO", "Anticoagulant", 16.40, 2, 6),
    ("Heparin 5000 units IV", "Anticoagulant", 4.10, 1, 4),
    ("Bivalirudin 250 mg IV", "Anticoagulant", 640.00, 1, 1),
    ("Acetaminophen 1 g PO", "Analgesic", 0.45, 2, 6),
    ("Acetaminophen 1 g IV", "Analgesic", 32.00, 1, 4),
    ("Ketorolac 30 mg IV", "Analgesic", 2.10, 1, 3),
    ("Hydromorphone 1 mg IV", "Analgesic", 2.60, 1, 6),
    ("Fentanyl 100 mcg IV", "Analgesic", 1.90, 1, 3),
    ("Ondansetron 4 mg IV", "Antiemetic", 0.95, 1, 2),
    ("Clopidogrel 600 mg PO", "Antiplatelet", 4.20, 1, 1),
    ("Ticagrelor 180 mg PO", "Antiplatelet", 31.00, 1, 1),
    ("Iohexol 350 mgI/mL 100 mL", "Contrast agent", 42.00, 1, 3),
    ("Iodixanol 320 mgI/mL 100 mL", "Contrast agent", 96.00, 1, 3),
    ("Protamine 50 mg IV", "Heparin reversal", 26.00, 1, 2),
    ("Norepinephrine 4 mg IV", "Vasopressor", 28.00, 1, 4),
    ("Midazolam 2 mg IV", "Sedative", 1.40, 1, 3),
)
_D = {d[0].split()[0].lower(): i for i, d in enumerate(DRUGS)}
_D.update({"liposomal": 5, "acet_po": 12, "acet_iv": 13})
# Per procedure, up to six drug slots: (usual drug, costly alternative or None, chance, base chance of
# the alternative). The first two slots are always present, so every case has 2-6 drug lines.
DRUG_SLOTS = {
    "TKA": (
        (_D["cefazolin"], _D["vancomycin"], 1.0, 0.08),
        (_D["tranexamic"], None, 1.0, 0.0),
        (_D["bupivacaine"], _D["liposomal"], 0.95, 0.05),
        (_D["enoxaparin"], _D["rivaroxaban"], 0.9, 0.1),
        (_D["acet_po"], _D["acet_iv"], 0.7, 0.1),
        (_D["ondansetron"], None, 0.5, 0.0),
    ),
    "THA": (
        (_D["cefazolin"], _D["vancomycin"], 1.0, 0.08),
        (_D["tranexamic"], None, 1.0, 0.0),
        (_D["bupivacaine"], _D["liposomal"], 0.8, 0.05),
        (_D["enoxaparin"], _D["rivaroxaban"], 0.9, 0.1),
        (_D["acet_po"], _D["acet_iv"], 0.7, 0.1),
        (_D["ondansetron"], None, 0.5, 0.0),
    ),
    "SPF": (
        (_D["cefazolin"], _D["vancomycin"], 1.0, 0.12),
        (_D["neostigmine"], _D["sugammadex"], 1.0, 0.1),
        (_D["tranexamic"], None, 0.85, 0.0),
        (_D["hydromorphone"], None, 0.9, 0.0),
        (_D["ondansetron"], None, 0.6, 0.0),
        (_D["acet_po"], _D["acet_iv"], 0.5, 0.1),
    ),
    "LCH": (
        (_D["cefazolin"], _D["vancomycin"], 1.0, 0.06),
        (_D["neostigmine"], _D["sugammadex"], 1.0, 0.08),
        (_D["bupivacaine"], _D["liposomal"], 0.9, 0.03),
        (_D["ondansetron"], None, 0.9, 0.0),
        (_D["ketorolac"], None, 0.6, 0.0),
        (_D["fentanyl"], None, 0.3, 0.0),
    ),
    "IHR": (
        (_D["bupivacaine"], _D["liposomal"], 1.0, 0.05),
        (_D["cefazolin"], _D["vancomycin"], 1.0, 0.05),
        (_D["neostigmine"], _D["sugammadex"], 0.6, 0.08),
        (_D["ondansetron"], None, 0.6, 0.0),
        (_D["ketorolac"], None, 0.5, 0.0),
    ),
    "CABG": (
        (_D["cefazolin"], _D["vancomycin"], 1.0, 0.15),
        (_D["heparin"], None, 1.0, 0.0),
        (_D["tranexamic"], _D["aminocaproic"], 1.0, 0.2),
        (_D["protamine"], None, 0.95, 0.0),
        (_D["norepinephrine"], None, 0.8, 0.0),
        (_D["hydromorphone"], None, 0.6, 0.0),
    ),
    "PCI": (
        (_D["heparin"], _D["bivalirudin"], 1.0, 0.08),
        (_D["clopidogrel"], _D["ticagrelor"], 1.0, 0.3),
        (_D["iohexol"], _D["iodixanol"], 1.0, 0.1),
        (_D["midazolam"], None, 0.7, 0.0),
        (_D["fentanyl"], None, 0.6, 0.0),
        (_D["ondansetron"], None, 0.2, 0.0),
    ),
    "TAVR": (
        (_D["cefazolin"], _D["vancomycin"], 1.0, 0.1),
        (_D["heparin"], None, 1.0, 0.0),
        (_D["iohexol"], _D["iodixanol"], 1.0, 0.15),
        (_D["protamine"], None, 0.8, 0.0),
        (_D["midazolam"], None, 0.5, 0.0),
        (_D["norepinephrine"], None, 0.25, 0.0),
    ),
    "HYS": (
        (_D["cefazolin"], _D["vancomycin"], 1.0, 0.07),
        (_D["neostigmine"], _D["sugammadex"], 1.0, 0.08),
        (_D["bupivacaine"], _D["liposomal"], 0.7, 0.05),
        (_D["ondansetron"], None, 0.85, 0.0),
        (_D["ketorolac"], None, 0.6, 0.0),
        (_D["tranexamic"], None, 0.15, 0.0),
    ),
}

# ---------------------------------------------------------------------------------------------
# Evidence summaries (illustrative): per category with a preferred item.
# ---------------------------------------------------------------------------------------------
ORTHO_VAC = "Orthopaedic Value Analysis Committee"
CV_VAC = "Cardiovascular Value Analysis Committee"
PERI_VAC = "Perioperative Value Analysis Committee"
WH_VAC = "Women's Health Value Analysis Committee"
# Each source: title, venue and year, address. Joined as "Title. Venue Year. https://..." (the
# contract's citation form); the addresses are real home pages, the citations illustrative.
_SRC = {
    "njr": (
        "Implant survivorship and revision tables (illustrative).",
        "National Joint Registry Annual Report 2024.",
        "https://www.njrcentre.org.uk",
    ),
    "aoanjrr": (
        "Hip, knee and shoulder arthroplasty annual report (illustrative).",
        "AOANJRR 2024.",
        "https://aoanjrr.sahmri.com",
    ),
    "ajrr": (
        "Annual report on hip and knee arthroplasty (illustrative).",
        "American Joint Replacement Registry 2024.",
        "https://www.ajrr.net",
    ),
    "cochrane": (
        "Systematic review of comparative trials (illustrative).",
        "Cochrane Database of Systematic Reviews 2023.",
        "https://www.cochranelibrary.com",
    ),
    "nass": (
        "Evidence-based clinical guideline for lumbar fusion (illustrative summary).",
        "North American Spine Society 2023.",
        "https://www.spine.org",
    ),
    "ncdr": ("CathPCI Registry outcomes report (illustrative).", "NCDR 2024.", "https://cvquality.acc.org"),
    "acc": (
        "Guideline for coronary artery revascularization (illustrative summary).",
        "ACC/AHA/SCAI 2022.",
        "https://www.acc.org",
    ),
    "escardio": (
        "Guidelines on myocardial revascularisation and valvular heart disease (illustrative summary).",
        "European Heart Journal 2021.",
        "https://www.escardio.org",
    ),
    "sts": (
        "Adult Cardiac Surgery Database outcomes summary (illustrative).",
        "Society of Thoracic Surgeons 2024.",
        "https://www.sts.org",
    ),
    "nsqip": (
        "Risk-adjusted surgical outcomes programme report (illustrative).",
        "ACS NSQIP 2024.",
        "https://www.facs.org",
    ),
    "cdc": (
        "Guideline for the prevention of surgical site infection (illustrative summary).",
        "CDC 2017.",
        "https://www.cdc.gov/infection-control",
    ),
    "who": (
        "Global guidelines for the prevention of surgical site infection (illustrative summary).",
        "World Health Organization 2018.",
        "https://www.who.int",
    ),
    "nice": (
        "Perioperative care and surgical site infection guidance (illustrative summary).",
        "NICE 2020.",
        "https://www.nice.org.uk/guidance",
    ),
    "aorn": ("Guidelines for perioperative practice (illustrative summary).", "AORN 2025.", "https://www.aorn.org"),
    "ecri": ("Product comparison and technology assessment (illustrative).", "ECRI 2025.", "https://www.ecri.org"),
    "fda": (
        "Device safety communications and recalls search (illustrative).",
        "U.S. FDA 2025.",
        "https://www.fda.gov/medical-devices",
    ),
    "ehs": (
        "International guidelines for groin hernia management (illustrative summary).",
        "European Hernia Society 2023.",
        "https://www.europeanherniasociety.eu",
    ),
    "sages": (
        "Guidelines for the use of laparoscopy and energy devices (illustrative summary).",
        "SAGES 2023.",
        "https://www.sages.org",
    ),
    "acog": (
        "Choosing the route of hysterectomy for benign disease (illustrative summary).",
        "ACOG 2017.",
        "https://www.acog.org",
    ),
    "ahrq": (
        "Comparative effectiveness review (illustrative).",
        "AHRQ Effective Health Care Program 2022.",
        "https://effectivehealthcare.ahrq.gov",
    ),
    "vac": (
        "Internal product trial and clinician evaluation (illustrative).",
        "Value Analysis Committee minutes 2025.",
        "https://intranet.demo-hospital.org/value-analysis",
    ),
}
# category: (title, grade, outcomes, why, [findings], [sources], committee)
EVIDENCE = {
    "Knee implant systems": (
        "Primary knee replacement: two registry-proven systems",
        "high",
        "all-cause revision at 10 years; length of stay; Oxford Knee Score at 1 year",
        "One cruciate-retaining and one posterior-stabilised cemented system cover more than 95% of "
        "primary knees and carry the hospital's construct price.",
        [
            "Registry survivorship of both preferred designs is in the best group of all systems in use "
            "here (illustrative: 10-year revision 3.8% against 3.6-4.4% for the alternatives).",
            "No trial or registry analysis reviewed showed better patient-reported outcomes for premium "
            "bearings, robotic-specific systems or cementless fixation in typical patients.",
            "Non-preferred systems stay available for revision, severe deformity and metal allergy.",
        ],
        ["njr", "aoanjrr", "ajrr"],
        ORTHO_VAC,
    ),
    "Hip implant systems": (
        "Primary hip replacement: cementless stem with a ceramic-on-polyethylene bearing",
        "high",
        "all-cause revision at 10 years; dislocation at 1 year; length of stay",
        "Two stem-and-cup constructs with long registry follow-up meet the committee's benchmark of "
        "5% revision or less at 10 years at the lowest construct price.",
        [
            "Ceramic-on-highly-cross-linked polyethylene matched ceramic-on-ceramic survivorship in "
            "registry data without the squeak and fracture risk (illustrative).",
            "Dual-mobility cups are kept for patients at high risk of dislocation, not routine use.",
            "Modular-neck designs carry higher revision rates and are not recommended.",
        ],
        ["njr", "aoanjrr", "ajrr"],
        ORTHO_VAC,
    ),
    "Bone cement": (
        "Plain cement for primary joints; antibiotic-loaded cement by indication",
        "moderate",
        "deep infection at 1 year; revision for infection",
        "Routine antibiotic-loaded cement adds cost without a clear benefit in low-risk primary arthroplasty.",
        [
            "Randomised trials in primary knees found no significant difference in deep infection "
            "(illustrative pooled risk 0.8% vs 0.9%).",
            "Antibiotic-loaded cement remains preferred for revision, diabetes, BMI over 40 and immunosuppression.",
        ],
        ["cochrane", "aoanjrr", "njr"],
        ORTHO_VAC,
    ),
    "Spinal screws": (
        "Pedicle screws: two polyaxial systems",
        "moderate",
        "fusion rate at 12 months; screw-related reoperation at 2 years",
        "Polyaxial screw systems from two vendors cover open and minimally invasive fusion with shared "
        "instrument trays.",
        [
            "Fusion and reoperation rates did not differ between screw systems in the spine registry "
            "data reviewed (illustrative).",
            "Navigated and fenestrated screws are reserved for deformity and osteoporotic bone.",
        ],
        ["nass", "vac"],
        ORTHO_VAC,
    ),
    "Spinal rods": (
        "Spinal rods: titanium 5.5 mm as standard",
        "low",
        "rod fracture; reoperation at 2 years",
        "Titanium rods are compatible with both preferred screw systems and suffice for short lumbar constructs.",
        [
            "Cobalt-chrome rods are kept for long deformity constructs where stiffness matters.",
            "Evidence is limited to case series and registry subgroups.",
        ],
        ["nass", "vac"],
        ORTHO_VAC,
    ),
    "Interbody cages": (
        "Interbody cages: PEEK and titanium-coated PEEK",
        "low",
        "fusion rate at 12 months; subsidence; reoperation",
        "Small, short trials show no fusion advantage for 3D-printed or expandable titanium cages "
        "over PEEK in single-level fusion.",
        [
            "Expandable cages cost two to three times as much; their use is limited to minimally "
            "invasive cases where insertion height is a problem.",
            "The committee will revisit as longer follow-up is published.",
        ],
        ["nass", "cochrane", "vac"],
        ORTHO_VAC,
    ),
    "Bone graft substitutes": (
        "Bone graft substitutes: beta-TCP as the standard extender",
        "very low",
        "fusion rate at 12 months",
        "Autograft plus a synthetic extender is standard; cellular and bioactive products lack comparative evidence.",
        [
            "No comparative trial shows higher fusion with cellular allograft than with beta-TCP (illustrative).",
            "Requests for cellular products go to the committee case by case.",
        ],
        ["nass", "ahrq"],
        ORTHO_VAC,
    ),
    "Saw blades": (
        "Saw blades: standardised on one vendor's blades",
        "low",
        "blade breakage; cutting accuracy (surgeon-rated)",
        "A one-month trial found the preferred blades equivalent to the alternatives.",
        [
            "Surgeon ratings did not differ in the hospital's blinded trial (illustrative).",
            "Blades fit all power tools in use.",
        ],
        ["vac", "ecri"],
        ORTHO_VAC,
    ),
    "Tourniquet cuffs": (
        "Single-use tourniquet cuffs",
        "low",
        "skin injury under the cuff; cuff failure",
        "The preferred contour cuff meets the AORN recommendations for limb occlusion pressure.",
        [
            "No difference in tourniquet-related skin injury was found in the product trial.",
            "Reusable cuffs were not adopted because of reprocessing cost.",
        ],
        ["aorn", "vac"],
        ORTHO_VAC,
    ),
    "Cardiac stents": (
        "Drug-eluting stents: two thin-strut everolimus and zotarolimus platforms",
        "high",
        "target lesion failure at 1 year; stent thrombosis; target vessel revascularisation",
        "Large randomised trials show no clinically relevant difference between current-generation "
        "drug-eluting stents.",
        [
            "Target lesion failure at 1 year is 5-7% for every current platform in the trials reviewed (illustrative).",
            "Registry data from our own CathPCI submissions show comparable outcomes by platform.",
            "Long and polymer-free stents stay available for specific anatomy and bleeding risk.",
        ],
        ["ncdr", "acc", "escardio"],
        CV_VAC,
    ),
    "Guidewires": (
        "Coronary guidewires: one workhorse and one hydrophilic wire",
        "low",
        "procedural success; wire-related complications",
        "Operators agreed two workhorse wires cover most lesions; specialty wires stay for chronic total occlusions.",
        [
            "Success and complication rates did not differ by wire in the lab's audit (illustrative).",
            "Opened-but-unused wires are the largest waste item in the lab.",
        ],
        ["ncdr", "vac"],
        CV_VAC,
    ),
    "Balloon catheters": (
        "Balloon catheters: semi-compliant and non-compliant standards",
        "low",
        "procedural success; dissection requiring a stent",
        "Standard balloons cover pre-dilation and post-dilation; cutting and drug-coated balloons "
        "are for specific indications.",
        [
            "Drug-coated balloons are preferred only for in-stent restenosis.",
            "Audit found no difference in procedural success between brands (illustrative).",
        ],
        ["escardio", "vac"],
        CV_VAC,
    ),
    "Introducer sheaths": (
        "Radial-first access with a hydrophilic sheath",
        "moderate",
        "access-site bleeding; radial artery occlusion",
        "Radial access lowers bleeding and vascular complications compared with femoral access.",
        [
            "Randomised trials show lower major bleeding with radial access (illustrative: 1.5% vs 3%).",
            "Hydrophilic sheaths reduce radial spasm.",
        ],
        ["acc", "ncdr"],
        CV_VAC,
    ),
    "Diagnostic and guide catheters": (
        "Guide catheters: one vendor's standard curves",
        "very low",
        "procedural success; catheter exchanges per case",
        "Standardising on one vendor's curves simplifies stock; evidence on outcomes is expert opinion only.",
        [
            "Catheter exchanges per case did not rise after standardisation (illustrative audit).",
            "Guide extension catheters remain available on request.",
        ],
        ["vac"],
        CV_VAC,
    ),
    "Vascular closure devices": (
        "Femoral closure: collagen-plug device when a device is needed",
        "moderate",
        "access-site complications; time to ambulation",
        "Closure devices shorten time to ambulation; manual compression remains acceptable.",
        [
            "Meta-analyses show no difference in vascular complications between closure devices and "
            "manual compression (illustrative).",
            "Routine closure after radial access is not needed: a compression band is used.",
        ],
        ["cochrane", "acc"],
        CV_VAC,
    ),
    "Transcatheter heart valves": (
        "Transcatheter valves: balloon-expandable platform as first choice",
        "moderate",
        "30-day mortality; paravalvular leak; new pacemaker implantation",
        "The heart team chose one platform for most anatomies and keeps a self-expanding valve for "
        "small annuli and valve-in-valve cases.",
        [
            "Registry outcomes at 30 days are comparable across platforms (illustrative mortality 1.5-2.5%).",
            "Pacemaker rates are lower with the preferred platform in the registry data reviewed.",
        ],
        ["sts", "escardio"],
        CV_VAC,
    ),
    "Sternal closure": (
        "Sternal closure: wire sets as standard, rigid plates for high-risk patients",
        "moderate",
        "sternal wound complications at 6 months; sternal healing",
        "A randomised trial showed better sternal healing with rigid plates but no difference in "
        "mortality; plates cost ten times as much.",
        [
            "Rigid plate fixation is reserved for obesity, diabetes with bilateral mammary grafts, and re-operation.",
            "Wire sets remain standard for every other patient.",
        ],
        ["sts", "cochrane"],
        CV_VAC,
    ),
    "Chest drainage": (
        "Chest drainage: dry-suction units",
        "low",
        "air leak duration; drain-related readmission",
        "Dry-suction units are quieter and faster to set up; digital units showed no outcome benefit "
        "after cardiac surgery.",
        [
            "Digital units are reserved for thoracic surgery with prolonged air leak.",
            "Nursing staff preferred dry-suction units in the product trial.",
        ],
        ["sts", "vac"],
        CV_VAC,
    ),
    "Hernia mesh": (
        "Groin hernia mesh: lightweight polypropylene",
        "high",
        "recurrence at 2 years; chronic groin pain at 1 year",
        "Lightweight polypropylene mesh has the most evidence for groin hernia repair.",
        [
            "International guidelines recommend mesh repair with lightweight polypropylene for most "
            "adults (illustrative: recurrence under 2%).",
            "Biologic and biosynthetic meshes show no benefit in clean groin hernia repair and cost "
            "ten to thirty times as much.",
        ],
        ["ehs", "cochrane", "nsqip"],
        PERI_VAC,
    ),
    "Mesh fixation": (
        "Mesh fixation: absorbable tacks or glue",
        "moderate",
        "chronic pain at 1 year; recurrence",
        "Non-penetrating and absorbable fixation lowers chronic pain without raising recurrence.",
        [
            "Trials show less chronic pain with glue than with permanent tacks (illustrative).",
            "Many laparoscopic repairs need no fixation at all.",
        ],
        ["ehs", "cochrane"],
        PERI_VAC,
    ),
    "Surgical staplers": (
        "Linear staplers: one manual platform with reloads",
        "low",
        "staple-line leak; bleeding",
        "Powered staplers have not shown fewer leaks than manual staplers in general surgery.",
        [
            "Evidence is limited to observational studies with conflicting results.",
            "The preferred platform has reloads for every tissue thickness in use.",
        ],
        ["sages", "fda"],
        PERI_VAC,
    ),
    "Trocars": (
        "Laparoscopic trocars: bladeless 5 mm and 12 mm",
        "very low",
        "port-site hernia; port-site bleeding",
        "Bladeless trocars are standard; evidence on brand differences is expert opinion only.",
        [
            "Port-site complications are rare with every brand reviewed.",
            "Balloon-tip trocars are kept for extraperitoneal hernia repair.",
        ],
        ["sages", "vac"],
        PERI_VAC,
    ),
    "Ligation clips": (
        "Ligation clips: titanium clip appliers",
        "low",
        "bile leak; clip dislodgement",
        "Titanium clips are effective for cystic duct and artery ligation at lower cost than polymer locking clips.",
        [
            "Bile leak rates were similar across clip types in the studies reviewed (illustrative under 1%).",
            "Polymer clips are preferred for large or inflamed ducts.",
        ],
        ["sages", "nsqip"],
        PERI_VAC,
    ),
    "Specimen retrieval bags": (
        "Specimen retrieval bags: 10 mm bag as standard",
        "very low",
        "bag rupture; port-site infection",
        "A standard bag suits most specimens; larger bags are for large gallbladders.",
        [
            "No outcome data distinguish brands; the choice rests on cost and surgeon preference.",
            "Contained extraction bags are for uterine morcellation only.",
        ],
        ["vac"],
        PERI_VAC,
    ),
    "Uterine manipulators": (
        "Uterine manipulators: single-use manipulator with colpotomy cup",
        "very low",
        "ureteric injury; conversion to laparotomy",
        "Evidence is limited to case series; the preferred device fits all laparoscopic hysterectomies here.",
        [
            "Gynaecologists rated the devices similarly in the product trial.",
            "Articulating manipulators are available for large uteri.",
        ],
        ["acog", "vac"],
        WH_VAC,
    ),
    "Energy devices": (
        "Energy devices: advanced bipolar and ultrasonic shears",
        "moderate",
        "blood loss; operative time; conversion",
        "Trials comparing advanced bipolar and ultrasonic devices show similar blood loss and operative time.",
        [
            "One bipolar and one ultrasonic device cover laparoscopic and open work.",
            "Hybrid devices cost more without a proven outcome benefit (illustrative).",
        ],
        ["sages", "cochrane", "acog"],
        PERI_VAC,
    ),
    "Hemostatic agents": (
        "Topical hemostats: oxidised regenerated cellulose first",
        "low",
        "return to theatre for bleeding; transfusion",
        "Topical hemostats are adjuncts, not substitutes for surgical hemostasis; routine use adds "
        "cost without evidence of benefit.",
        [
            "Flowable thrombin products are reserved for diffuse bleeding that cellulose does not control.",
            "Usage varies tenfold between surgeons for the same procedure.",
        ],
        ["cochrane", "ecri"],
        PERI_VAC,
    ),
    "Sutures": (
        "Sutures: triclosan-coated absorbable sutures for fascia and skin",
        "moderate",
        "surgical site infection; wound dehiscence",
        "Triclosan-coated sutures reduce surgical site infection and are recommended by the WHO and NICE guidance.",
        [
            "Meta-analyses show a relative reduction in surgical site infection of about a quarter (illustrative).",
            "Barbed sutures are kept for specific closures; they cost several times as much.",
        ],
        ["who", "nice", "cochrane"],
        PERI_VAC,
    ),
    "Skin prep": (
        "Skin antisepsis: chlorhexidine-alcohol applicators",
        "high",
        "surgical site infection",
        "Alcohol-based chlorhexidine preparation lowers surgical site infection compared with aqueous povidone-iodine.",
        [
            "Randomised trials and guidelines support alcohol-based antisepsis (illustrative: SSI 9.5% "
            "vs 16.1% in clean-contaminated surgery).",
            "Povidone-iodine remains available for chlorhexidine allergy and mucosa.",
        ],
        ["cdc", "who", "nice"],
        PERI_VAC,
    ),
    "Surgical drapes": (
        "Surgical drapes: procedure-specific drapes from one vendor",
        "low",
        "surgical site infection",
        "Iodophor-impregnated incise drapes are not routine: trials show no reduction in infection.",
        [
            "Standard split and extremity drapes meet AORN barrier standards.",
            "Plastic adhesive drapes without iodophor may raise infection risk and are not stocked.",
        ],
        ["cochrane", "aorn"],
        PERI_VAC,
    ),
    "Surgical gowns": (
        "Surgical gowns: reinforced gown by case type",
        "very low",
        "strike-through; staff comfort",
        "Gowns meeting the required barrier level for the case are interchangeable.",
        ["Level 4 gowns are for high-fluid cases only.", "No outcome data distinguish brands."],
        ["aorn", "vac"],
        PERI_VAC,
    ),
    "Surgical gloves": (
        "Surgical gloves: synthetic polyisoprene with indicator underglove",
        "low",
        "glove perforation detection; latex sensitisation",
        "Double gloving with an indicator underglove lowers unnoticed perforation; latex-free gloves "
        "avoid sensitisation.",
        [
            "Trials show double gloving reduces perforations reaching the inner glove.",
            "One glove line covers every service line.",
        ],
        ["cochrane", "aorn"],
        PERI_VAC,
    ),
    "Wound dressings": (
        "Post-operative dressings: island and silicone foam dressings",
        "low",
        "surgical site infection; blistering; dressing changes",
        "Simple island dressings are adequate for most incisions; silver dressings show no reduction in infection.",
        [
            "Silicone foam dressings reduce blistering after joint replacement (illustrative).",
            "Silver and antimicrobial dressings are kept for high-risk wounds.",
        ],
        ["nice", "cochrane"],
        PERI_VAC,
    ),
    "Negative pressure wound therapy": (
        "Incisional negative pressure therapy for high-risk wounds only",
        "moderate",
        "surgical site infection; wound dehiscence",
        "Closed-incision negative pressure therapy may lower infection in high-risk patients; routine "
        "use is not cost-effective.",
        [
            "Trials in obese and diabetic patients show fewer wound complications (illustrative).",
            "The committee restricts use to patients meeting the high-risk criteria.",
        ],
        ["nice", "who", "cochrane"],
        PERI_VAC,
    ),
    "Skin adhesives": (
        "Skin adhesives: 2-octyl cyanoacrylate",
        "low",
        "wound dehiscence; cosmetic outcome",
        "Skin adhesive closes small incisions as well as sutures with less time.",
        [
            "Dehiscence rates were similar in trials of small incisions (illustrative).",
            "Mesh-tape systems are reserved for long joint incisions.",
        ],
        ["cochrane", "vac"],
        PERI_VAC,
    ),
    "Electrosurgical pencils": (
        "Electrosurgical pencils with smoke evacuation",
        "very low",
        "staff exposure to surgical smoke",
        "Smoke evacuation pencils meet the hospital's surgical smoke policy; outcome evidence is indirect.",
        ["AORN recommends evacuating surgical smoke.", "Unit cost difference is small."],
        ["aorn"],
        PERI_VAC,
    ),
    "Urinary catheters": (
        "Urinary catheters: closed-system silicone trays",
        "moderate",
        "catheter-associated urinary tract infection",
        "Silver-alloy catheters did not lower infection in large trials; early removal matters "
        "more than catheter type.",
        [
            "A large randomised trial found no difference in infection with silver-alloy catheters (illustrative).",
            "The CAUTI bundle (insertion only when needed, removal within 24 hours) applies to all.",
        ],
        ["cdc", "cochrane"],
        PERI_VAC,
    ),
    "Patient warming": (
        "Forced-air warming to keep patients normothermic",
        "moderate",
        "surgical site infection; post-operative hypothermia",
        "Active warming keeps patients normothermic, which lowers infection and bleeding.",
        [
            "Guidelines recommend active warming for anaesthesia over 30 minutes.",
            "Upper and lower body blankets are interchangeable.",
        ],
        ["nice", "who"],
        PERI_VAC,
    ),
    "Compression sleeves": (
        "Intermittent pneumatic compression sleeves",
        "moderate",
        "venous thromboembolism at 90 days",
        "Mechanical prophylaxis reduces venous thromboembolism alongside drug prophylaxis.",
        [
            "Calf sleeves are as effective as thigh sleeves and better tolerated (illustrative).",
            "Foot garments are reserved for patients who cannot wear calf sleeves.",
        ],
        ["nice", "cochrane"],
        PERI_VAC,
    ),
}
OVERDUE_REVIEWS = {"Hemostatic agents": date(2025, 6, 12), "Surgical staplers": date(2025, 9, 3)}


# ---------------------------------------------------------------------------------------------
# Supply risk, the formulary and the savings programme (issue 14): planted truths for the supply
# chain's views. Kept apart from the rest so other plants can change without touching these.
# ---------------------------------------------------------------------------------------------
# The formulary's preferred drug in each class where the drugs really are substitutes; classes of
# unlike drugs (analgesics, anticoagulants) have none, so no switch saving is claimed there.
FORMULARY_PREFERRED = (
    "Cefazolin 2 g IV",
    "Tranexamic acid 1 g IV",
    "Bupivacaine 0.25% 30 mL",
    "Neostigmine 3 mg with glycopyrrolate 0.6 mg",
    "Clopidogrel 600 mg PO",
    "Iohexol 350 mgI/mL 100 mL",
)
BACKORDER_PREFERRED_CATEGORY = "Guidewires"  # its first preferred item is on backorder
SINGLE_SOURCE_PREFERRED_CATEGORY = "Knee implant systems"  # its first preferred item has one source
# The standardization programme began with the default period, so its first year is the last 12 months
# and the baseline the 12 months before. After the start, physicians switch this share of their
# non-preferred use to the preferred items in the categories that "took"; nothing changes in the others.
PROGRAMME_START = PERIOD_START
PROGRAMME_UPTAKE = {"Cardiac stents": 0.8, "Hernia mesh": 0.8}
PROGRAMME_FLAT = ("Knee implant systems", "Hip implant systems")
PROGRAMME_HOLDOUTS = COSTLY_IMPLANTS  # the planted implant outliers do not switch
SAVINGS_TARGET_PER_CASE_USD = 30  # the year's target scales with the data set: $600,000 at 20,000 cases


# =============================================================================================
# Public entry point
# =============================================================================================
def write_demo_source(out_dir: Path, cases: int = 20000, seed: int = 42, fmt: str = "csv") -> dict:
    """Write the demo source (every table and truth.json) into out_dir and return the truth."""
    if fmt not in ("csv", "parquet"):
        raise UserError(f"unknown format {fmt!r}: use csv or parquet")
    if not isinstance(cases, (int, np.integer)) or cases < MIN_CASES:
        raise UserError(f"--cases must be at least {MIN_CASES} (got {cases})")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UserError(f"--seed must be a non-negative integer (got {seed})")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # Remove both formats first so a folder switched from CSV to Parquet never holds two sources.
    for name in TABLES:
        for ext in ("csv", "parquet"):
            (out_dir / f"{name}.{ext}").unlink(missing_ok=True)

    world = _World(int(seed))
    _episode_habits(world)
    case_cols, case_info = _generate_cases(world, int(cases))
    counts = {
        "physicians": len(PHYSICIANS),
        "procedures": len(PROCEDURES),
        "cases": int(cases),
        "items": len(world.item_ids),
        "evidence": len(world.evidence_rows),
        "users": len(world.user_rows),
        "settings": len(SETTINGS),
    }
    for name, table in (
        ("physicians", world.physicians_table()),
        ("procedures", _procedures_table()),
        ("items", world.items_table()),
        ("evidence", world.evidence_table()),
        ("users", world.users_table()),
        ("settings", _settings_table(_programme_settings(cases))),
        ("cases", _cases_table(case_cols)),
    ):
        _write_whole(table, out_dir / f"{name}.{fmt}", fmt)
    counts["supply_usage"], counts["drug_usage"] = _write_lines(world, case_cols, out_dir, fmt)
    counts["settings"] += len(_programme_settings(cases))
    counts["drugs"] = _write_formulary(out_dir, fmt)

    # Issue 15: post-acute spending and target prices (optional tables of the contract).
    post_acute, episode_info = _post_acute_table(world, case_cols)
    _write_whole(_targets_table(), out_dir / f"targets.{fmt}", fmt)
    _write_whole(post_acute, out_dir / f"post_acute.{fmt}", fmt)
    counts["post_acute"], counts["targets"] = post_acute.num_rows, len(EPISODE_TARGETS)
    truth = _truth(world, case_info, int(cases), int(seed), fmt, counts)
    truth["value_based_care"] = _value_truth(episode_info)
    (out_dir / "truth.json").write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return truth


# =============================================================================================
# The static world: physicians, items, evidence, users (small; plain Python is fine here)
# =============================================================================================
class _World:
    """Everything fixed before cases: roster, item master, physician habits, price lists."""

    def __init__(self, seed: int) -> None:
        """Build the roster, item master, evidence and per-physician habits from the seed."""
        self.seed = seed
        rng = np.random.default_rng([seed, 0])
        self.phys_index = {pid: i for i, pid in enumerate(PHYSICIAN_IDS)}
        self.proc_index = {code: i for i, code in enumerate(PROC_CODES)}
        self.emails = [_email(p[0]) for p in PHYSICIANS]
        self._build_items(rng)
        _plant_supply_risk(self)
        self._build_habits(rng)
        self._build_slots()
        self._build_evidence()
        self._build_users()

    # -- item master ---------------------------------------------------------------------------
    def _build_items(self, rng: np.random.Generator) -> None:
        """Create the item master with prices, preferred flags and per-category lookup arrays."""
        ids, desc, mfr, cat, cost, implant, preferred, crit, sources = ([] for _ in range(9))
        n_cat = len(CATEGORIES)
        self.cat_pref = [[] for _ in range(n_cat)]
        self.cat_non = [[] for _ in range(n_cat)]
        for c, (name, is_imp, n, lo, hi, n_pref, criticality, group, variants) in enumerate(CATEGORIES):
            # Log-spaced prices with a little jitter: a realistic spread from budget to premium.
            prices = np.sort(lo * (hi / lo) ** np.linspace(0, 1, n) * rng.uniform(0.96, 1.04, n))
            prices = np.round(prices, 2)
            # Preferred items are good-value but not always the cheapest (chosen on evidence too).
            pref_ranks = {1: [int(0.25 * (n - 1))], 2: [int(0.15 * n), int(0.35 * n) + 1]}.get(n_pref, [])
            models = rng.permutation(len(MODELS))[:n]
            makers = MFR[group]
            offset = int(rng.integers(len(makers)))
            # The first variants listed are the standard products the evidence text describes: they
            # go to the preferred items; the rest (listed roughly budget to premium) go, in price
            # order, to the non-preferred items.
            rest = variants[n_pref:] or variants
            non_ranks = [k for k in range(n) if k not in pref_ranks]
            variant_of = {k: variants[i] for i, k in enumerate(pref_ranks)}
            variant_of.update({k: rest[j % len(rest)] for j, k in enumerate(non_ranks)})
            for k in range(n):
                idx = len(ids)
                maker = makers[(k + offset) % len(makers)]
                ids.append(f"IT{10001 + idx}")
                desc.append(f"{maker.split()[0]} {MODELS[models[k]]} {variant_of[k]}")
                mfr.append(maker)
                cat.append(name)
                cost.append(float(prices[k]))
                implant.append(is_imp)
                is_pref = k in pref_ranks
                preferred.append(is_pref)
                crit.append(criticality)
                # Implants are often single- or dual-sourced (a supply risk); commodities have more.
                sources.append(int(rng.integers(1, 3)) if is_imp else int(rng.integers(1, 5)))
                (self.cat_pref if is_pref else self.cat_non)[c].append(idx)
        n_items = len(ids)
        # A few items on backorder, one of them preferred, so the supply-risk view has a story.
        backorder = np.zeros(n_items, dtype=bool)
        backorder[self.cat_pref[CAT_INDEX["Guidewires"]][0]] = True
        non_all = [i for lst in self.cat_non for i in lst]
        backorder[rng.choice(non_all, size=5, replace=False)] = True
        self.item_ids, self.item_desc, self.item_mfr, self.item_cat = ids, desc, mfr, cat
        self.item_cost = np.array(cost)
        self.item_implant = np.array(implant)
        self.item_preferred = np.array(preferred)
        self.item_crit, self.item_sources, self.item_backorder = crit, sources, backorder
        # Padded lookup arrays so item choice is one vectorised gather per line.
        self.cat_is_implant = np.array([c[1] for c in CATEGORIES])
        self.cat_npref = np.array([len(x) for x in self.cat_pref])
        # Categories with no preferred item draw from all their items (all are in cat_non).
        self.cat_nnon = np.array([len(x) for x in self.cat_non])
        self.pref_items = np.full((n_cat, 2), -1, dtype=np.int64)
        self.non_items = np.full((n_cat, int(self.cat_nnon.max())), -1, dtype=np.int64)
        for c in range(n_cat):
            self.pref_items[c, : len(self.cat_pref[c])] = self.cat_pref[c]
            self.non_items[c, : len(self.cat_non[c])] = self.cat_non[c]
        # Price paid differs by facility for some items (local contract tiers); rounded to cents.
        factor = np.where(
            rng.random((len(FACILITIES), n_items)) < 0.6, 1.0, rng.uniform(0.86, 1.06, (len(FACILITIES), n_items))
        )
        self.price_paid = np.round(self.item_cost[None, :] * factor, 2)

    # -- physician habits ----------------------------------------------------------------------
    def _build_habits(self, rng: np.random.Generator) -> None:
        """Give each physician small random habits and the planted ones their planted effect."""
        n, n_cat = len(PHYSICIANS), len(CATEGORIES)
        planted_cost = sorted(set(COSTLY_IMPLANTS + COSTLY_EXTRA_ITEMS + COSTLY_WASTE + COSTLY_OR_TIME))
        self.pi_imp = rng.uniform(0.6, 0.95, n)  # preferred share in implant categories
        self.pi_sup = rng.uniform(0.3, 0.92, n)  # preferred share elsewhere: some near 90%, some low
        self.fav_p = rng.uniform(0.55, 0.8, n)  # how loyal to their favourite non-preferred brand
        self.or_factor = np.exp(rng.normal(0, 0.06, n))
        self.los_factor = np.exp(rng.normal(0, 0.08, n))
        self.pharm = rng.uniform(0.0, 0.2, n)
        # Each physician's favourite non-preferred item per category.
        pick = (rng.random((n, n_cat)) * self.cat_nnon[None, :]).astype(np.int64)
        self.fav = self.non_items[np.arange(n_cat)[None, :], pick]
        self.extra = np.zeros(n, dtype=bool)
        self.waste_sup = np.full(n, 0.015)
        self.waste_imp = np.full(n, 0.002)
        for pid in planted_cost:
            # Neutral baseline for planted cost physicians so the planted component explains the gap.
            i = self.phys_index[pid]
            self.or_factor[i] = self.los_factor[i] = 1.0
            self.pi_imp[i] = max(self.pi_imp[i], 0.75)
        for pid in COSTLY_IMPLANTS:
            i = self.phys_index[pid]
            self.pi_imp[i], self.fav_p[i] = 0.06, 0.92
            for c in np.flatnonzero(self.cat_is_implant):
                non = self.cat_non[c]
                self.fav[i, c] = non[int(np.argmax(self.item_cost[non]))]
        for pid in COSTLY_EXTRA_ITEMS:
            self.extra[self.phys_index[pid]] = True
        for pid in COSTLY_WASTE:
            i = self.phys_index[pid]
            self.waste_sup[i], self.waste_imp[i] = 0.28, 0.03
        for pid in COSTLY_OR_TIME:
            self.or_factor[self.phys_index[pid]] = 1.4
        for pid in COSTLY_PHARMACY:
            self.pharm[self.phys_index[pid]] = 0.85
        for pid in CHAMPIONS.values():
            # Champions lead standardisation, so they use preferred products most of the time.
            i = self.phys_index[pid]
            self.pi_imp[i], self.pi_sup[i] = rng.uniform(0.9, 0.96), rng.uniform(0.86, 0.94)
        n_proc = len(PROCEDURES)
        self.sick = np.zeros((n, n_proc))
        for pid, code in SICKER_PATIENTS:
            self.sick[self.phys_index[pid], self.proc_index[code]] = 1.0
        self.log_or = np.zeros((len(OUTCOMES), n, n_proc))
        for pid, code, effects in WORSE_OUTCOMES:
            for outcome, odds in effects.items():
                self.log_or[OUTCOMES.index(outcome), self.phys_index[pid], self.proc_index[code]] = np.log(odds)
        self.home = np.array([p[3] for p in PHYSICIANS])

    # -- slot tables -----------------------------------------------------------------------------
    def _build_slots(self) -> None:
        """Flatten the per-procedure supply and drug slots into arrays indexed by procedure."""
        cat, p, qlo, qhi, opt, start, count = [], [], [], [], [], [], []
        for code in PROC_CODES:
            start.append(len(cat))
            count.append(len(SUPPLY_SLOTS[code]))
            for slot in SUPPLY_SLOTS[code]:
                cat.append(CAT_INDEX[slot[0]])
                p.append(slot[1])
                qlo.append(slot[2])
                qhi.append(slot[3])
                opt.append(len(slot) > 4)
        self.s_cat, self.s_p = np.array(cat), np.array(p)
        self.s_qlo, self.s_qhi, self.s_opt = np.array(qlo), np.array(qhi), np.array(opt)
        self.s_start, self.s_count = np.array(start), np.array(count)
        dcheap, dcostly, dp, dbase, dstart, dcount = [], [], [], [], [], []
        for code in PROC_CODES:
            dstart.append(len(dcheap))
            dcount.append(len(DRUG_SLOTS[code]))
            for cheap, costly, chance, base in DRUG_SLOTS[code]:
                dcheap.append(cheap)
                dcostly.append(-1 if costly is None else costly)
                dp.append(chance)
                dbase.append(base)
        self.d_cheap, self.d_costly = np.array(dcheap), np.array(dcostly)
        self.d_p, self.d_base = np.array(dp), np.array(dbase)
        self.d_start, self.d_count = np.array(dstart), np.array(dcount)
        self.drug_price = np.array([d[2] for d in DRUGS])
        self.drug_qlo = np.array([d[3] for d in DRUGS])
        self.drug_qhi = np.array([d[4] for d in DRUGS])

    # -- evidence ------------------------------------------------------------------------------
    def _build_evidence(self) -> None:
        """Write one evidence summary per category that has a preferred item."""
        rows = []
        k = 0
        for c, cat in enumerate(CAT_NAMES):
            if not self.cat_pref[c]:
                continue
            title, grade, outcomes, why, findings, srcs, committee = EVIDENCE[cat]
            pref = self.cat_pref[c]
            main = pref[0]
            non_prices = self.item_cost[self.cat_non[c]]
            pref_names = " and ".join(f"**{self.item_desc[i]}** ({self.item_mfr[i]})" for i in pref)
            k += 1
            if cat in OVERDUE_REVIEWS:
                reviewed = OVERDUE_REVIEWS[cat]
                next_review = _add_months(reviewed, 12)
            else:
                # Spread reviews over the last year; stronger evidence is reviewed less often.
                reviewed = date(2025, 12, 1) + timedelta(days=(k * 23) % 290)
                next_review = _add_months(reviewed, 24 if grade in ("high", "moderate") else 12)
            summary = "\n".join(
                [
                    "*Illustrative sample content for the Scorecard demo, not clinical guidance.*",
                    "",
                    f"**Why it is preferred.** {why} Preferred: {pref_names}.",
                    "",
                    "**What the evidence shows**",
                    "",
                    *[f"- {line}" for line in findings],
                    "",
                    "**Cost**",
                    "",
                    f"- Preferred unit cost: {_money(self.item_cost[main])}"
                    + (f" and {_money(self.item_cost[pref[1]])}" if len(pref) > 1 else "")
                    + ".",
                    f"- Other {cat.lower()} in use: {_money(non_prices.min())} to {_money(non_prices.max())} "
                    f"(median {_money(float(np.median(non_prices)))}).",
                    "- Switching saves the price difference on every unit without a measurable change in "
                    f"{outcomes.split(';')[0].strip()}.",
                    "",
                    f"**Committee decision.** The {committee} rated the certainty of evidence "
                    f"**{grade}** on {reviewed.isoformat()}. A non-preferred product can be requested for "
                    "a documented clinical reason (allergy, anatomy, revision); requests are reviewed at "
                    "the next meeting.",
                ]
            )
            rows.append(
                {
                    "evidence_id": f"EV{k:03d}",
                    "category": cat,
                    "preferred_item_id": self.item_ids[main],
                    "title": title,
                    "summary": summary,
                    "evidence_grade": grade,
                    "outcomes": outcomes,
                    "sources": "; ".join(" ".join(_SRC[s]) for s in srcs),
                    "reviewed_on": reviewed,
                    "reviewed_by": committee,
                    "next_review": next_review,
                }
            )
        self.evidence_rows = rows

    # -- users -----------------------------------------------------------------------------------
    def _build_users(self) -> None:
        """Every physician is a user; champions carry their service line; plus supply and admin."""
        champion_of = {pid: line for line, pid in CHAMPIONS.items()}
        rows = []
        for pid, email in zip(PHYSICIAN_IDS, self.emails, strict=False):
            line = champion_of.get(pid)
            rows.append(
                {"email": email, "role": "champion" if line else "physician", "physician_id": pid, "service_line": line}
            )
        for name in SUPPLY_USERS:
            rows.append({"email": f"{name}@{DOMAIN}", "role": "supply", "physician_id": None, "service_line": None})
        for name in ADMIN_USERS:
            rows.append({"email": f"{name}@{DOMAIN}", "role": "admin", "physician_id": None, "service_line": None})
        self.user_rows = rows

    # -- small tables ----------------------------------------------------------------------------
    def physicians_table(self) -> pa.Table:
        """The physicians table."""
        return pa.table(
            {
                "physician_id": list(PHYSICIAN_IDS),
                "name": [p[0] for p in PHYSICIANS],
                "specialty": [p[1] for p in PHYSICIANS],
                "service_line": [p[2] for p in PHYSICIANS],
                "email": self.emails,
            }
        )

    def items_table(self) -> pa.Table:
        """The item master."""
        return pa.table(
            {
                "item_id": self.item_ids,
                "description": self.item_desc,
                "manufacturer": self.item_mfr,
                "category": self.item_cat,
                "unit_cost": pa.array(self.item_cost, pa.float64()),
                "is_implant": pa.array(self.item_implant),
                "preferred": pa.array(self.item_preferred),
                "criticality": self.item_crit,
                "approved_sources": pa.array(self.item_sources, pa.int32()),
                "on_backorder": pa.array(self.item_backorder),
            }
        )

    def evidence_table(self) -> pa.Table:
        """The evidence summaries."""
        return pa.Table.from_pylist(
            self.evidence_rows,
            schema=pa.schema(
                [
                    ("evidence_id", pa.string()),
                    ("category", pa.string()),
                    ("preferred_item_id", pa.string()),
                    ("title", pa.string()),
                    ("summary", pa.string()),
                    ("evidence_grade", pa.string()),
                    ("outcomes", pa.string()),
                    ("sources", pa.string()),
                    ("reviewed_on", pa.date32()),
                    ("reviewed_by", pa.string()),
                    ("next_review", pa.date32()),
                ]
            ),
        )

    def users_table(self) -> pa.Table:
        """The user roster."""
        return pa.Table.from_pylist(
            self.user_rows,
            schema=pa.schema(
                [
                    ("email", pa.string()),
                    ("role", pa.string()),
                    ("physician_id", pa.string()),
                    ("service_line", pa.string()),
                ]
            ),
        )


def _procedures_table() -> pa.Table:
    """The procedures table."""
    return pa.table(
        {
            "procedure_code": [p[0] for p in PROCEDURES],
            "name": [p[1] for p in PROCEDURES],
            "service_line": [p[2] for p in PROCEDURES],
        }
    )


def _settings_table(extra: tuple = ()) -> pa.Table:
    """The settings table (values as text: a key/value table holds mixed kinds)."""
    rows = SETTINGS + tuple(extra)
    return pa.table({"key": [k for k, _ in rows], "value": [v for _, v in rows]})


# =============================================================================================
# Cases (one vectorised pass)
# =============================================================================================
def _generate_cases(world: _World, n_cases: int) -> tuple[dict, dict]:
    """Draw every case: who, what, when, the patient, OR time, length of stay and outcomes."""
    rng = np.random.default_rng([world.seed, 1])
    n_proc = len(PROCEDURES)
    # -- who does what: fixed small pairs first, the rest shared by relative volume ---------------
    pair_phys, pair_proc, pair_w = [], [], []
    for i, (*_, procs) in enumerate(PHYSICIANS):
        for code, w in procs.items():
            pair_phys.append(i)
            pair_proc.append(world.proc_index[code])
            pair_w.append(w)
    pair_phys, pair_proc, pair_w = np.array(pair_phys), np.array(pair_proc), np.array(pair_w)
    share = np.array([p[3] for p in PROCEDURES])
    proc_w = np.bincount(pair_proc, weights=pair_w, minlength=n_proc)
    prob = share[pair_proc] * pair_w / proc_w[pair_proc]
    n_fixed = sum(last + prior for _, _, last, prior in BELOW_MIN_CASES)
    per_pair = rng.multinomial(n_cases - n_fixed, prob / prob.sum())
    ph = np.repeat(pair_phys, per_pair)
    pc = np.repeat(pair_proc, per_pair)
    fixed_ph, fixed_pc, fixed_day = [], [], []
    weekdays = np.flatnonzero((np.arange(N_DAYS) + START_DATE.weekday()) % 7 < 5)
    last_lo, last_hi = _day(date(2025, 11, 1)), _day(date(2026, 9, 15))
    prior_lo, prior_hi = _day(date(2024, 10, 15)), _day(date(2025, 8, 31))
    for pid, code, last, prior in BELOW_MIN_CASES:
        # Dates kept well inside each year so "last 12 months" is unambiguous at either boundary.
        for lo, hi, k in ((last_lo, last_hi, last), (prior_lo, prior_hi, prior)):
            pool = weekdays[(weekdays >= lo) & (weekdays <= hi)]
            fixed_day.extend(np.sort(rng.choice(pool, size=k, replace=False)).tolist())
            fixed_ph.extend([world.phys_index[pid]] * k)
            fixed_pc.extend([world.proc_index[code]] * k)
    # Shuffle so no physician's cases take one contiguous run of the random stream.
    shuffle = rng.permutation(len(ph))
    ph, pc = ph[shuffle], pc[shuffle]
    n_free = len(ph)
    ph = np.concatenate([ph, np.array(fixed_ph, dtype=ph.dtype)])
    pc = np.concatenate([pc, np.array(fixed_pc, dtype=pc.dtype)])
    n = len(ph)

    P = _proc_arrays()
    sick = world.sick[ph, pc]
    # -- admission type: sicker practices see more urgent and emergency patients ----------------
    mix = P["adm"][pc].copy()
    mix[:, 0] *= 1 - 0.35 * sick
    mix /= mix.sum(axis=1, keepdims=True)
    u = rng.random(n)
    adm = (u > mix[:, 0]).astype(np.int8) + (u > mix[:, 0] + mix[:, 1])
    # -- surgery day: elective cases on weekdays, others any day; volume grows ~30% over the two
    # years (a growing programme), which also puts more cases into the default 12-month period.
    all_days = np.arange(N_DAYS)
    growth = 1 + VOLUME_GROWTH * (all_days / (N_DAYS - 1) - 0.5)
    day = np.where(
        adm == 0,
        rng.choice(weekdays, n, p=growth[weekdays] / growth[weekdays].sum()),
        rng.choice(all_days, n, p=growth / growth.sum()),
    )
    day[n_free:] = np.array(fixed_day, dtype=day.dtype)
    # Pin the latest surgery date to END_DATE so the default period is the same at every size.
    first_elective = int(np.flatnonzero(adm[:n_free] == 0)[0])
    day[first_elective] = N_DAYS - 1
    # -- the patient ----------------------------------------------------------------------------
    z = rng.normal(0, 1, n) + 1.0 * sick
    age = np.clip(
        np.round(P["age_mean"][pc] + 6 * sick + P["age_sd"][pc] * rng.normal(0, 1, n)), P["age_lo"][pc], P["age_hi"][pc]
    ).astype(np.int32)
    age_c = age - P["age_mean"][pc]
    female = rng.random(n) < P["female"][pc]
    comorb = np.minimum(rng.poisson(P["cm_mean"][pc] * np.exp(0.45 * z + 0.02 * age_c - 0.1)), 10)
    cm_c = comorb - P["cm_mean"][pc]
    s = (
        0.75 * z
        + 0.025 * age_c
        + 0.18 * cm_c
        + 0.3 * (adm == 1)
        + 0.7 * (adm == 2)
        + P["asa_shift"][pc]
        + rng.normal(0, 0.7, n)
    )
    asa = (1 + (s > -1.55).astype(np.int32) + (s > 0.15) + (s > 1.75) + (s > 3.6)).astype(np.int32)
    u = rng.random(n)
    # Payer follows age: Medicare from 65, otherwise mostly commercial.
    # Codes: 0 Medicare, 1 Commercial, 2 Medicaid, 3 Self-pay.
    payer = np.where(
        age >= 65,
        np.searchsorted([0.86, 0.96, 0.99], u, side="right"),
        np.searchsorted([0.08, 0.72, 0.94], u, side="right"),
    )
    groups = _equity_groups(world.seed, age, payer)  # issue 15: race/ethnicity, dual eligibility
    # Facility: mostly the physician's home hospital; uncomplicated elective lap chole and hernia
    # repairs often go to the ambulatory surgery center, which discharges the same day.
    fac = np.where(rng.random(n) < 0.85, world.home[ph], 1 - world.home[ph])
    asc_ok = np.isin(pc, [world.proc_index["LCH"], world.proc_index["IHR"]]) & (adm == 0) & (asa <= 3)
    fac = np.where(asc_ok & (rng.random(n) < 0.45), 2, fac)
    # -- OR time --------------------------------------------------------------------------------
    or_min = (
        P["or_med"][pc]
        * np.exp(rng.normal(0, 1, n) * P["or_sd"][pc])
        * world.or_factor[ph]
        * np.exp(0.05 * (asa - 2.4) + 0.08 * (adm > 0))
    )
    or_min = np.maximum(np.round(or_min), 15).astype(np.int32)
    # -- outcomes: logistic on patient factors, plus the planted physician effects ---------------
    male = ~female
    out = {}
    for name in ("complication", "ssi", "readmit_30d", "mortality"):
        k = OUTCOMES.index(name)
        b_age, b_asa, b_cm, b_urg, b_em, b_male = OUTCOME_COEF[name]
        x = b_age * age_c + b_asa * (asa - 2.4) + b_cm * cm_c + b_urg * (adm == 1) + b_em * (adm == 2) + b_male * male
        if name == "readmit_30d":
            x = x + 0.5 * out["complication"]  # complications bring patients back
        # Intercepts are calibrated so each procedure's overall rate matches its baseline.
        planted = world.log_or[k, ph, pc] * (day >= _day(WORSE_FROM))
        planted = planted + _equity_log_odds(name, groups)
        eta = _calibrate(x, pc, P["base"][:, k]) + x + planted
        out[name] = rng.random(n) < _expit(eta)
        if name == "ssi":
            out["complication"] |= out["ssi"]  # a surgical site infection is a complication
    out["readmit_30d"] &= ~out["mortality"]  # no readmission after an in-hospital death
    # -- length of stay -------------------------------------------------------------------------
    elective = adm == 0
    los_min = np.where(elective, P["los"][pc, 0], P["los"][pc, 2])
    risk = np.exp(0.18 * (asa - 2.4) + 0.07 * cm_c + 0.012 * age_c)
    # Normalised per procedure so the configured means hold for the average patient.
    risk /= (np.bincount(pc, weights=risk, minlength=n_proc) / np.bincount(pc, minlength=n_proc))[pc]
    los_mu = (
        np.where(elective, P["los"][pc, 1], P["los"][pc, 3])
        * world.los_factor[ph]
        * risk
        * np.exp(0.6 * out["complication"])
    )
    los = (los_min + rng.poisson(los_mu)).astype(np.int32)
    los = np.where(fac == 2, 0, los)

    # Case ids follow surgery date, as a hospital's would.
    order = np.lexsort((rng.random(n), ph, day))
    cols = {
        "ph": ph[order],
        "pc": pc[order],
        "day": day[order].astype(np.int32),
        "los": los[order],
        "age": age[order],
        "female": female[order],
        "asa": asa[order],
        "comorb": comorb[order].astype(np.int32),
        "adm": adm[order].astype(np.int8),
        "payer": payer[order].astype(np.int8),
        "or_min": or_min[order],
        "fac": fac[order].astype(np.int8),
        "race": groups["race"][order],
        "dual": groups["dual"][order],
        **{k: v[order] for k, v in out.items()},
    }
    last_year = cols["day"] >= _day(PERIOD_START)
    per_pair_last = np.zeros((len(PHYSICIANS), n_proc), dtype=np.int64)
    np.add.at(per_pair_last, (cols["ph"][last_year], cols["pc"][last_year]), 1)
    per_pair_all = np.zeros((len(PHYSICIANS), n_proc), dtype=np.int64)
    np.add.at(per_pair_all, (cols["ph"], cols["pc"]), 1)
    return cols, {"last": per_pair_last, "all": per_pair_all}


def _proc_arrays() -> dict:
    """Procedure parameters as arrays indexed by procedure number."""
    return {
        "age_mean": np.array([p[4][0] for p in PROCEDURES], dtype=float),
        "age_sd": np.array([p[4][1] for p in PROCEDURES], dtype=float),
        "age_lo": np.array([p[4][2] for p in PROCEDURES]),
        "age_hi": np.array([p[4][3] for p in PROCEDURES]),
        "female": np.array([p[5] for p in PROCEDURES]),
        "adm": np.array([p[6] for p in PROCEDURES], dtype=float),
        "cm_mean": np.array([p[7] for p in PROCEDURES]),
        "asa_shift": np.array([p[8] for p in PROCEDURES]),
        "or_med": np.array([p[9][0] for p in PROCEDURES], dtype=float),
        "or_sd": np.array([p[9][1] for p in PROCEDURES]),
        "los": np.array([p[10] for p in PROCEDURES], dtype=float),
        "base": np.array([p[11] for p in PROCEDURES]),
    }


def _cases_table(c: dict) -> pa.Table:
    """The cases table in the data contract's column order (README, *The data contract*)."""
    n = len(c["ph"])
    start = np.datetime64(START_DATE.isoformat(), "D")
    surgery = start + c["day"].astype("timedelta64[D]")
    return pa.table(
        {
            "case_id": pa.array(np.arange(1, n + 1, dtype=np.int64)),
            "physician_id": _labels(PHYSICIAN_IDS, c["ph"]),
            "procedure_code": _labels(PROC_CODES, c["pc"]),
            "surgery_date": pa.array(surgery, pa.date32()),
            "discharge_date": pa.array(surgery + c["los"].astype("timedelta64[D]"), pa.date32()),
            "patient_age": pa.array(c["age"], pa.int32()),
            "patient_sex": _labels(("M", "F"), c["female"].astype(np.int8)),
            "asa_class": pa.array(c["asa"], pa.int32()),
            "comorbidity_index": pa.array(c["comorb"], pa.int32()),
            "admission_type": _labels(("elective", "urgent", "emergency"), c["adm"]),
            "payer": _labels(("Medicare", "Commercial", "Medicaid", "Self-pay"), c["payer"]),
            "or_minutes": pa.array(c["or_min"], pa.int32()),
            "readmit_30d": pa.array(c["readmit_30d"]),
            "complication": pa.array(c["complication"]),
            "ssi": pa.array(c["ssi"]),
            "mortality": pa.array(c["mortality"]),
            "facility": _labels(FACILITIES, c["fac"]),
            "race_ethnicity": _labels(RACE_ETHNICITY, c["race"]),
            "dual_eligible": pa.array(c["dual"]),
        }
    )


# =============================================================================================
# Supply and drug lines (chunked, streamed)
# =============================================================================================
SUPPLY_SCHEMA = pa.schema(
    [
        ("case_id", pa.int64()),
        ("line", pa.int32()),
        ("item_id", pa.string()),
        ("quantity", pa.int32()),
        ("unit_cost", pa.float64()),
        ("wasted_quantity", pa.int32()),
    ]
)
DRUG_SCHEMA = pa.schema(
    [
        ("case_id", pa.int64()),
        ("line", pa.int32()),
        ("drug_name", pa.string()),
        ("drug_class", pa.string()),
        ("quantity", pa.int32()),
        ("cost", pa.float64()),
    ]
)


def _write_lines(world: _World, c: dict, out_dir: Path, fmt: str) -> tuple[int, int]:
    """Generate supply and drug lines chunk by chunk and stream them to their files."""
    n = len(c["ph"])
    item_ids = pa.array(world.item_ids)
    drug_names = pa.array([d[0] for d in DRUGS])
    drug_classes = pa.array([d[1] for d in DRUGS])
    supply = _Sink(out_dir / f"supply_usage.{fmt}", SUPPLY_SCHEMA, fmt)
    drugs = _Sink(out_dir / f"drug_usage.{fmt}", DRUG_SCHEMA, fmt)
    n_supply = n_drug = 0
    try:
        for k, lo in enumerate(range(0, n, CHUNK_CASES)):
            hi = min(lo + CHUNK_CASES, n)
            ph, pc, fac = c["ph"][lo:hi], c["pc"][lo:hi], c["fac"][lo:hi]
            case_id = np.arange(lo + 1, hi + 1, dtype=np.int64)
            s = _supply_chunk(world, np.random.default_rng([world.seed, 2, k]), ph, pc, fac, c["day"][lo:hi])
            supply.write(
                pa.table(
                    {
                        "case_id": pa.array(case_id[s["case"]]),
                        "line": pa.array(s["line"]),
                        "item_id": item_ids.take(pa.array(s["item"])),
                        "quantity": pa.array(s["qty"]),
                        "unit_cost": pa.array(s["price"], mask=~s["priced"]),
                        "wasted_quantity": pa.array(s["wasted"]),
                    },
                    schema=SUPPLY_SCHEMA,
                )
            )
            d = _drug_chunk(world, np.random.default_rng([world.seed, 3, k]), ph, pc)
            drugs.write(
                pa.table(
                    {
                        "case_id": pa.array(case_id[d["case"]]),
                        "line": pa.array(d["line"]),
                        "drug_name": drug_names.take(pa.array(d["drug"])),
                        "drug_class": drug_classes.take(pa.array(d["drug"])),
                        "quantity": pa.array(d["qty"]),
                        "cost": pa.array(d["cost"]),
                    },
                    schema=DRUG_SCHEMA,
                )
            )
            n_supply += len(s["case"])
            n_drug += len(d["case"])
    finally:
        supply.close()
        drugs.close()
    return n_supply, n_drug


def _expand(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows with (start, count), return (row of each expanded slot, slot index)."""
    row = np.repeat(np.arange(len(counts)), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    return row, starts[row] + (np.arange(len(row)) - first)


def _line_numbers(row: np.ndarray, n_rows: int) -> np.ndarray:
    """Number the lines of each row 1..k (row must be sorted)."""
    counts = np.bincount(row, minlength=n_rows)
    return (np.arange(len(row)) - (np.cumsum(counts) - counts)[row] + 1).astype(np.int32)


def _supply_chunk(
    world: _World, rng: np.random.Generator, ph: np.ndarray, pc: np.ndarray, fac: np.ndarray, day: np.ndarray
) -> dict:
    """Supply lines for one chunk of cases."""
    n = len(ph)
    row, slot = _expand(world.s_start[pc], world.s_count[pc])
    rph = ph[row]
    p = np.where(world.s_opt[slot] & world.extra[rph], np.maximum(world.s_p[slot], EXTRA_ITEMS_P), world.s_p[slot])
    keep = rng.random(len(row)) < p
    row, slot, rph = row[keep], slot[keep], rph[keep]
    m = len(row)
    cat = world.s_cat[slot]
    qlo, qhi = world.s_qlo[slot], world.s_qhi[slot]
    qty = (qlo + (rng.random(m) * (qhi - qlo + 1)).astype(np.int64)).astype(np.int32)
    # Item choice: preferred by the physician's propensity, else their favourite brand, else any.
    pi = np.where(world.cat_is_implant[cat], world.pi_imp[rph], world.pi_sup[rph])
    pi = _programme_uptake(pi, cat, rph, day[row])
    npref = world.cat_npref[cat]
    use_pref = (rng.random(m) < pi) & (npref > 0)
    pref_item = world.pref_items[cat, (rng.random(m) * np.maximum(npref, 1)).astype(np.int64)]
    use_fav = rng.random(m) < world.fav_p[rph]
    any_non = world.non_items[cat, (rng.random(m) * world.cat_nnon[cat]).astype(np.int64)]
    item = np.where(use_pref, pref_item, np.where(use_fav, world.fav[rph, cat], any_non))
    # Waste: extra units opened and not used (one for an implant: the wrong size opened).
    implant = world.item_implant[item]
    wasted_line = rng.random(m) < np.where(implant, world.waste_imp[rph], world.waste_sup[rph])
    extra = np.where(implant, 1, 1 + (rng.random(m) * 2).astype(np.int32))
    wasted = np.where(wasted_line, extra, 0).astype(np.int32)
    # Price paid is carried on most lines; where it is missing the item master's price applies.
    priced = rng.random(m) < 0.65
    price = world.price_paid[fac[row], item]
    return {
        "case": row,
        "line": _line_numbers(row, n),
        "item": item,
        "qty": qty + wasted,
        "wasted": wasted,
        "priced": priced,
        "price": price,
    }


def _drug_chunk(world: _World, rng: np.random.Generator, ph: np.ndarray, pc: np.ndarray) -> dict:
    """Drug lines for one chunk of cases."""
    n = len(ph)
    row, slot = _expand(world.d_start[pc], world.d_count[pc])
    keep = rng.random(len(row)) < world.d_p[slot]
    row, slot = row[keep], slot[keep]
    m = len(row)
    costly = world.d_costly[slot]
    use_costly = (costly >= 0) & (rng.random(m) < np.minimum(world.d_base[slot] + world.pharm[ph[row]], 0.97))
    drug = np.where(use_costly, costly, world.d_cheap[slot])
    qlo, qhi = world.drug_qlo[drug], world.drug_qhi[drug]
    qty = (qlo + (rng.random(m) * (qhi - qlo + 1)).astype(np.int64)).astype(np.int32)
    cost = np.round(qty * world.drug_price[drug], 2)
    return {"case": row, "line": _line_numbers(row, n), "drug": drug, "qty": qty, "cost": cost}


# =============================================================================================
# Writing
# =============================================================================================
class _Sink:
    """A streaming writer for one table: Parquet (zstd) or CSV with a plain header line."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: str) -> None:
        """Open the file and write the header (CSV) or schema (Parquet)."""
        self.file = None
        if fmt == "parquet":
            self.writer = pq.ParquetWriter(path, schema, compression="zstd")
        else:
            self.file = open(path, "wb")
            self.file.write((",".join(schema.names) + "\n").encode())
            # Unquoted: these tables hold no commas, quotes or newlines, and it keeps files small.
            self.writer = pacsv.CSVWriter(
                self.file, schema, write_options=pacsv.WriteOptions(include_header=False, quoting_style="none")
            )

    def write(self, table: pa.Table) -> None:
        """Append one chunk."""
        self.writer.write_table(table)

    def close(self) -> None:
        """Finish the file."""
        self.writer.close()
        if self.file is not None:
            self.file.close()


def _write_whole(table: pa.Table, path: Path, fmt: str) -> None:
    """Write a whole table; CSV quotes only tables that need it (evidence Markdown, names)."""
    if fmt == "parquet":
        pq.write_table(table, path, compression="zstd")
        return
    buf = io.BytesIO()
    try:
        pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False, quoting_style="none"))
    except pa.ArrowInvalid:
        buf = io.BytesIO()
        pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    with open(path, "wb") as f:
        f.write((",".join(table.column_names) + "\n").encode())
        f.write(buf.getvalue())


# =============================================================================================
# Value-based care (issue 15): patient groups for equity, post-acute spending and target prices
# =============================================================================================
# Kept apart from the case generator: its own random streams (seed, 15, k), so adding them moves no
# other table's numbers; the generator calls `_equity_groups` and `_equity_log_odds` once each.
RACE_ETHNICITY = (
    "White",
    "Black or African American",
    "Hispanic or Latino",
    "Asian",
    "American Indian or Alaska Native",
    "Other or unknown",
)
RACE_SHARES = (0.60, 0.14, 0.15, 0.06, 0.01, 0.04)
# Dual-eligible (Medicare and Medicaid) patients whose readmission odds are truly higher than their
# recorded risk factors explain (a well-documented disparity, e.g. in CMS's readmissions programme):
# the risk model sees age, sex, ASA, comorbidity and admission type only, so their O/E sits above 1.
WORSE_GROUP = {"dimension": "dual_eligible", "group": "true", "outcomes": {"readmit_30d": 2.2}}
DUAL_SHARE_OF_MEDICARE = 0.24
# TEAM-style episode procedures (joint replacement, spinal fusion, CABG) and their target prices.
EPISODE_TARGETS = {"TKA": 22_000.0, "THA": 22_000.0, "SPF": 39_000.0, "CABG": 46_000.0}
# Discharge to a skilled nursing facility: baseline probability for a typical patient, per procedure.
SNF_BASE = {"TKA": 0.08, "THA": 0.09, "SPF": 0.09, "CABG": 0.13}
# The surgeon whose patients go to skilled nursing far more often for the same case cost.
SNF_HEAVY = (_pid("Osei"), "TKA")
SNF_HEAVY_LOG_ODDS = 2.8
# Setting: (probability for a typical non-SNF patient, cost model). Readmissions follow readmit_30d.
READMISSION_COST = {"TKA": 16_000.0, "THA": 17_000.0, "SPF": 24_000.0, "CABG": 32_000.0}
POST_ACUTE_SETTINGS = ("snf", "irf", "home_health", "readmission", "outpatient", "other")
POST_ACUTE_SCHEMA = pa.schema(
    [
        ("case_id", pa.int64()),
        ("line", pa.int32()),
        ("setting", pa.string()),
        ("service_date", pa.date32()),
        ("cost", pa.float64()),
    ]
)
# Lines dated after the 30-day window (the build must leave them out of the episode).
LATE_LINE_SHARE = 0.03


def _equity_groups(seed: int, age: np.ndarray, payer: np.ndarray) -> dict:
    """Race/ethnicity and dual eligibility per case, from their own random stream.

    Dual-eligible patients are Medicare patients who also qualify for Medicaid (about a quarter of
    Medicare patients here); race/ethnicity follows a US-like mix, with one small group so that the
    equity view's cell-size suppression has something to do.
    """
    rng = np.random.default_rng([seed, 15, 0])
    n = len(age)
    race = np.searchsorted(np.cumsum(RACE_SHARES)[:-1], rng.random(n), side="right").astype(np.int8)
    dual = (payer == 0) & (rng.random(n) < DUAL_SHARE_OF_MEDICARE)
    return {"race": race, "dual": dual}


def _equity_log_odds(outcome: str, groups: dict) -> np.ndarray | float:
    """The planted patient-group effect on one outcome's log odds (0 for every other outcome)."""
    odds = WORSE_GROUP["outcomes"].get(outcome)
    return np.log(odds) * groups["dual"] if odds else 0.0


def _episode_habits(world: _World) -> None:
    """The SNF-heavy surgeon gets neutral OR pace and length of stay, so only the episode differs."""
    i = world.phys_index[SNF_HEAVY[0]]
    world.or_factor[i] = world.los_factor[i] = 1.0


def _targets_table() -> pa.Table:
    """The targets table: one episode target price per episode procedure."""
    return pa.table(
        {
            "procedure_code": list(EPISODE_TARGETS),
            "episode_target_usd": pa.array(list(EPISODE_TARGETS.values()), pa.float64()),
        }
    )


def _post_acute_table(world: _World, c: dict) -> tuple[pa.Table, dict]:
    """Post-acute lines for the episode procedures' cases, and the SNF rates planted (for truth.json).

    Discharge to SNF follows patient factors (age, ASA, comorbidity, non-elective admission) plus the
    planted surgeon's habit; an SNF stay replaces home health and inpatient rehabilitation. Every
    readmit_30d case has a readmission line; most patients have outpatient therapy or visits; a few
    lines fall after day 30 and must not count.
    """
    rng = np.random.default_rng([world.seed, 15, 1])
    codes = np.array([world.proc_index[code] for code in EPISODE_TARGETS])
    rows = np.flatnonzero(np.isin(c["pc"], codes))
    pc, ph = c["pc"][rows], c["ph"][rows]
    P = _proc_arrays()
    age_c = c["age"][rows] - P["age_mean"][pc]
    cm_c = c["comorb"][rows] - P["cm_mean"][pc]
    base = np.zeros(len(PROCEDURES))
    for code, p in SNF_BASE.items():
        base[world.proc_index[code]] = p
    x = 0.07 * age_c + 0.5 * (c["asa"][rows] - 2.4) + 0.2 * cm_c + 0.9 * (c["adm"][rows] > 0)
    heavy = (ph == world.phys_index[SNF_HEAVY[0]]) & (pc == world.proc_index[SNF_HEAVY[1]])
    snf = rng.random(len(rows)) < _expit(_logit(base[pc]) + x + SNF_HEAVY_LOG_ODDS * heavy)
    irf = ~snf & (rng.random(len(rows)) < np.where(pc == world.proc_index["CABG"], 0.08, 0.03))
    home = ~snf & ~irf & (rng.random(len(rows)) < 0.55)
    outpatient = rng.random(len(rows)) < np.where(snf, 0.5, 0.85)
    other = rng.random(len(rows)) < 0.3
    readmit = c["readmit_30d"][rows]
    readmit_cost = np.zeros(len(PROCEDURES))
    for code, v in READMISSION_COST.items():
        readmit_cost[world.proc_index[code]] = v
    n = len(rows)
    costs = {
        "snf": np.round(rng.uniform(560, 720, n) * rng.integers(10, 26, n), 2),
        "irf": np.round(rng.uniform(1_600, 2_000, n) * rng.integers(8, 15, n), 2),
        "home_health": np.round(rng.gamma(9.0, 2_600 / 9.0, n), 2),
        "readmission": np.round(readmit_cost[pc] * rng.lognormal(0, 0.3, n), 2),
        "outpatient": np.round(rng.integers(4, 16, n) * rng.uniform(110, 160, n), 2),
        "other": np.round(rng.gamma(2.0, 180.0, n), 2),
    }
    used = {
        "snf": snf,
        "irf": irf,
        "home_health": home,
        "readmission": readmit,
        "outpatient": outpatient,
        "other": other,
    }
    case_parts, setting_parts, cost_parts = [], [], []
    for k, setting in enumerate(POST_ACUTE_SETTINGS):
        hit = np.flatnonzero(used[setting])
        case_parts.append(rows[hit])
        setting_parts.append(np.full(len(hit), k, dtype=np.int8))
        cost_parts.append(costs[setting][hit])
    case_row = np.concatenate(case_parts)
    setting = np.concatenate(setting_parts)
    cost = np.concatenate(cost_parts)
    order = np.lexsort((setting, case_row))
    case_row, setting, cost = case_row[order], setting[order], cost[order]
    # Days after discharge: SNF and IRF start at once, the rest spread over the month.
    offset = np.where(setting <= 1, rng.integers(0, 3, len(case_row)), rng.integers(1, 31, len(case_row)))
    late = rng.random(len(case_row)) < LATE_LINE_SHARE
    offset = np.where(late, rng.integers(31, 60, len(case_row)), offset)
    discharge = c["day"][case_row] + c["los"][case_row]
    service = np.datetime64(START_DATE.isoformat(), "D") + (discharge + offset).astype("timedelta64[D]")
    table = pa.table(
        {
            "case_id": pa.array(case_row.astype(np.int64) + 1),
            "line": pa.array(_post_acute_lines(case_row), pa.int32()),
            "setting": _labels(POST_ACUTE_SETTINGS, setting),
            "service_date": pa.array(service, pa.date32()),
            "cost": pa.array(cost),
        },
        schema=POST_ACUTE_SCHEMA,
    )
    last = c["day"][rows] >= _day(PERIOD_START)
    snf_rates = {}
    for code in EPISODE_TARGETS:
        j = world.proc_index[code]
        mine = last & (pc == j) & heavy
        rest = last & (pc == j) & ~heavy
        snf_rates[code] = {
            "planted_surgeon": float(snf[mine].mean()) if mine.any() else None,
            "everyone_else": float(snf[rest].mean()),
        }
    return table, {"snf_rates_last_12_months": snf_rates, "late_lines": int(late.sum())}


def _post_acute_lines(case_row: np.ndarray) -> np.ndarray:
    """Line numbers 1..k within each case (case_row sorted)."""
    starts = np.r_[0, np.flatnonzero(np.diff(case_row)) + 1]
    counts = np.diff(np.r_[starts, len(case_row)])
    return (np.arange(len(case_row)) - np.repeat(starts, counts) + 1).astype(np.int32)


def _value_truth(episode_info: dict) -> dict:
    """What issue 15 planted, for truth.json."""
    return {
        "episode_procedures": list(EPISODE_TARGETS),
        "episode_targets_usd": dict(EPISODE_TARGETS),
        "snf_heavy": {
            "physician_id": SNF_HEAVY[0],
            "procedure_code": SNF_HEAVY[1],
            "extra_snf_log_odds": SNF_HEAVY_LOG_ODDS,
            **episode_info,
        },
        "worse_group": WORSE_GROUP,
        "race_ethnicity_groups": list(RACE_ETHNICITY),
    }


# =============================================================================================
# truth.json
# =============================================================================================
def _truth(world: _World, info: dict, n_cases: int, seed: int, fmt: str, counts: dict) -> dict:
    """What was planted, the personas, and a few facts tests and the benchmark can check."""
    last, allc = info["last"], info["all"]
    min_cases = int(dict(SETTINGS)["min_cases"])
    procs = {}
    for j, (code, name, line, *_rest) in enumerate(PROCEDURES):
        procs[code] = {
            "name": name,
            "service_line": line,
            "cases": int(allc[:, j].sum()),
            "physicians": int((allc[:, j] > 0).sum()),
            "eligible_physicians_last_12_months": int((last[:, j] >= min_cases).sum()),
        }
    champion_emails = {line: world.emails[world.phys_index[pid]] for line, pid in CHAMPIONS.items()}
    return {
        "generator": "scorecard-demo",
        "seed": seed,
        "cases": n_cases,
        "start_date": START_DATE.isoformat(),
        "end_date": END_DATE.isoformat(),
        "format": fmt,
        "default_period": {"start": PERIOD_START.isoformat(), "end": END_DATE.isoformat()},
        "planted": {
            "costly_implants": list(COSTLY_IMPLANTS),
            "costly_extra_items": list(COSTLY_EXTRA_ITEMS),
            "costly_waste": list(COSTLY_WASTE),
            "costly_or_time": list(COSTLY_OR_TIME),
            "costly_pharmacy": list(COSTLY_PHARMACY),
            "worse_outcomes": [
                {
                    "physician_id": pid,
                    "procedure_code": code,
                    "outcomes": list(eff),
                    "odds_ratios": eff,
                    "from": WORSE_FROM.isoformat(),
                }
                for pid, code, eff in WORSE_OUTCOMES
            ],
            "sicker_patients": [{"physician_id": pid, "procedure_code": code} for pid, code in SICKER_PATIENTS],
            "few_eligible_procedure": FEW_ELIGIBLE_PROCEDURE,
            "small_department": {
                "service_line": SMALL_DEPARTMENT[0],
                "procedure_code": SMALL_DEPARTMENT[1],
                "physicians": int((last[:, world.proc_index[SMALL_DEPARTMENT[1]]] > 0).sum()),
                "eligible_physicians_last_12_months": int(
                    (last[:, world.proc_index[SMALL_DEPARTMENT[1]]] >= min_cases).sum()
                ),
                "worse_outcomes": SMALL_DEPARTMENT[2],
                "sicker_patients": SMALL_DEPARTMENT[3],
            },
            "below_min_cases": [
                {
                    "physician_id": pid,
                    "procedure_code": code,
                    "cases_last_12_months": int(last[world.phys_index[pid], world.proc_index[code]]),
                    "cases_all": int(allc[world.phys_index[pid], world.proc_index[code]]),
                }
                for pid, code, _, _ in BELOW_MIN_CASES
            ],
        },
        "effects": {
            "costly_implants": "preferred share of implant units ~6% (peers 60-96%); the priciest "
            "non-preferred implant in each category chosen ~92% of the time",
            "costly_extra_items": f"optional pricey lines (hemostats, NPWT, extra energy devices, "
            f"staplers) in {EXTRA_ITEMS_P:.0%} of cases instead of 2-20%",
            "costly_waste": "28% of non-implant lines and 3% of implant lines carry 1-2 wasted units "
            "(peers 1.5% and 0.2%)",
            "costly_or_time": "or_minutes x1.4 for the same case mix",
            "costly_pharmacy": "costly alternative drug (liposomal bupivacaine, sugammadex, IV "
            "acetaminophen...) chosen ~85% of the time (peers 0-20%)",
            "worse_outcomes": "odds ratios applied on top of the patient-factor logistic model to "
            f"surgeries from {WORSE_FROM.isoformat()} on; each physician does ~6% "
            "of the procedure's volume",
            "sicker_patients": "patient severity +1 SD, age +6 years, elective share x0.65; no "
            "physician effect, so O/E is about 1",
        },
        "personas": {
            "physician": world.emails[world.phys_index[_pid("Okafor")]],
            "champion": world.emails[world.phys_index[_pid("Ångström")]],
            "supply": f"{SUPPLY_USERS[0]}@{DOMAIN}",
            "admin": f"{ADMIN_USERS[0]}@{DOMAIN}",
        },
        "persona_physician_ids": {"physician": _pid("Okafor"), "champion": _pid("Ångström")},
        "champions": {line: {"physician_id": pid, "email": champion_emails[line]} for line, pid in CHAMPIONS.items()},
        "settings": {k: v for k, v in SETTINGS},
        "procedures": procs,
        "categories_without_preferred": [CAT_NAMES[c] for c in range(len(CAT_NAMES)) if not world.cat_pref[c]],
        "overdue_evidence": [r["evidence_id"] for r in world.evidence_rows if r["next_review"] < REVIEW_TODAY],
        "overdue_as_of": REVIEW_TODAY.isoformat(),
        "backorder_items": [world.item_ids[i] for i in np.flatnonzero(world.item_backorder)],
        **_supply_truth(world, n_cases),
        "rows": counts,
    }


# =============================================================================================
# Supply risk, the formulary and the savings programme (issue 14)
# =============================================================================================
def _plant_supply_risk(world: _World) -> None:
    """One single-source preferred item (knee implants: the standardization win carries a supply risk);
    every other preferred item has at least two approved sources, as a value analysis committee would
    insist. The backordered preferred guidewire is planted with the other backorders in _build_items."""
    for c in range(len(CATEGORIES)):
        for i in world.cat_pref[c]:
            world.item_sources[i] = max(world.item_sources[i], 2)
    world.item_sources[world.cat_pref[CAT_INDEX[SINGLE_SOURCE_PREFERRED_CATEGORY]][0]] = 1


def _programme_uptake(pi: np.ndarray, cat: np.ndarray, rph: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Preferred-use propensity per line after the programme began: in the categories that took, each
    physician (but the holdouts) switches PROGRAMME_UPTAKE of their non-preferred use. No random draw
    is added, so every other plant keeps exactly its values."""
    after = day >= _day(PROGRAMME_START)
    holdout = np.isin(rph, [PHYSICIAN_IDS.index(pid) for pid in PROGRAMME_HOLDOUTS])
    for name, share in PROGRAMME_UPTAKE.items():
        hit = after & (cat == CAT_INDEX[name]) & ~holdout
        pi = np.where(hit, pi + (1 - pi) * share, pi)
    return pi


def _programme_settings(n_cases: int) -> tuple:
    """The programme's settings: its start date and the year's savings target (scaled to the data set)."""
    return (
        ("savings_target_usd", str(int(n_cases) * SAVINGS_TARGET_PER_CASE_USD)),
        ("program_start_date", PROGRAMME_START.isoformat()),
    )


def _write_formulary(out_dir: Path, fmt: str) -> int:
    """The formulary (drugs): every drug with its class, unit cost and whether it is the class's preferred one."""
    table = pa.table(
        {
            "drug_name": [d[0] for d in DRUGS],
            "drug_class": [d[1] for d in DRUGS],
            "preferred": pa.array([d[0] in FORMULARY_PREFERRED for d in DRUGS]),
            "unit_cost": pa.array([d[2] for d in DRUGS], pa.float64()),
        }
    )
    _write_whole(table, out_dir / f"drugs.{fmt}", fmt)
    return len(DRUGS)


def _supply_truth(world: _World, n_cases: int) -> dict:
    """What the supply-risk, pharmacy and savings views must find (truth.json)."""
    guide = world.cat_pref[CAT_INDEX[BACKORDER_PREFERRED_CATEGORY]]
    knee = world.cat_pref[CAT_INDEX[SINGLE_SOURCE_PREFERRED_CATEGORY]]
    evidence = {r["category"]: r for r in world.evidence_rows}
    preferred_classes = sorted({d[1] for d in DRUGS if d[0] in FORMULARY_PREFERRED})
    costly_classes = sorted(
        {
            DRUGS[costly][1]
            for code in PROC_CODES
            for _cheap, costly, _p, _b in DRUG_SLOTS[code]
            if costly is not None
            and DRUGS[costly][1] in preferred_classes
            and code in dict(PHYSICIANS[PHYSICIAN_IDS.index(COSTLY_PHARMACY[0])][4])
        }
    )
    return {
        "supply_risk": {
            "backorder_preferred_item": {
                "item_id": world.item_ids[guide[0]],
                "category": BACKORDER_PREFERRED_CATEGORY,
                "alternative_item_id": world.item_ids[guide[1]],
                "evidence_id": evidence[BACKORDER_PREFERRED_CATEGORY]["evidence_id"],
                "evidence_grade": evidence[BACKORDER_PREFERRED_CATEGORY]["evidence_grade"],
            },
            "single_source_preferred_item": {
                "item_id": world.item_ids[knee[0]],
                "category": SINGLE_SOURCE_PREFERRED_CATEGORY,
            },
        },
        "formulary": {
            "preferred_drugs": list(FORMULARY_PREFERRED),
            "classes_with_preferred": preferred_classes,
            "costly_drug_physician": COSTLY_PHARMACY[0],
            "costly_drug_procedures": sorted(PHYSICIANS[PHYSICIAN_IDS.index(COSTLY_PHARMACY[0])][4]),
            "costly_drug_classes": costly_classes,
        },
        "savings_programme": {
            "program_start_date": PROGRAMME_START.isoformat(),
            "savings_target_usd": int(n_cases) * SAVINGS_TARGET_PER_CASE_USD,
            "baseline": {
                "start": _add_months(PROGRAMME_START, -12).isoformat(),
                "end": (PROGRAMME_START - timedelta(days=1)).isoformat(),
            },
            "materialised": sorted(PROGRAMME_UPTAKE),
            "uptake_share": PROGRAMME_UPTAKE,
            "not_materialised": list(PROGRAMME_FLAT),
            "holdouts": list(PROGRAMME_HOLDOUTS),
        },
    }


# =============================================================================================
# Small helpers
# =============================================================================================
def _labels(values: tuple, codes: np.ndarray) -> pa.Array:
    """Map integer codes to strings without a Python loop."""
    return pa.array(list(values), pa.string()).take(pa.array(np.asarray(codes, dtype=np.int32)))


def _day(d: date) -> int:
    """Days since START_DATE."""
    return (d - START_DATE).days


def _calibrate(x: np.ndarray, group: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-row intercept b[group] such that mean(expit(b + x)) equals target[group] in each group."""
    # An evenly strided sample of at most ~250k rows pins the intercepts to well under 1% and keeps
    # a million-case run fast; Newton steps on the mean rate converge in a handful of iterations.
    step = max(1, len(x) // 250_000)
    xs, gs = x[::step], group[::step]
    counts = np.maximum(np.bincount(gs, minlength=len(target)), 1)
    b = _logit(target).astype(float)
    for _ in range(12):
        p = _expit(b[gs] + xs)
        mean = np.bincount(gs, weights=p, minlength=len(target)) / counts
        slope = np.bincount(gs, weights=p * (1 - p), minlength=len(target)) / counts
        b = b - (mean - target) / np.maximum(slope, 1e-12)
        if np.max(np.abs(mean - target)) < 1e-7:
            break
    return b[group]


def _logit(p: np.ndarray) -> np.ndarray:
    """log(p / (1 - p))."""
    return np.log(p / (1 - p))


def _expit(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x))."""
    return 1.0 / (1.0 + np.exp(-x))


def _money(x: float) -> str:
    """Format an amount as $1,234.56."""
    return f"${x:,.2f}"


def _add_months(d: date, months: int) -> date:
    """The same day `months` later (clamped to the 28th so every month has it)."""
    y, m = divmod(d.month - 1 + months, 12)
    return date(d.year + y, m + 1, min(d.day, 28))


def _email(name: str) -> str:
    """firstname.lastname@domain in lowercase ASCII ("Dr. Lars Ångström" -> lars.angstrom@...)."""
    plain = unicodedata.normalize("NFKD", name.removeprefix("Dr. ")).encode("ascii", "ignore").decode()
    first, *rest = plain.lower().replace("'", "").split()
    return f"{first}.{''.join(rest)}@{DOMAIN}"
