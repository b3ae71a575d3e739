"""A tiny, hand-computable source (README, *The data contract*) for tests: 12 cases, 6 physicians, 2 procedures.

Settings are chosen so the arithmetic is easy to follow: OR time $10/min, a bed day $100,
min_cases 2, min_peers 3. The figures the tests expect are worked out by hand in
tests/test_metrics.py next to each assertion.
"""

from __future__ import annotations

from pathlib import Path

TABLES = {
    "physicians": """physician_id,name,specialty,service_line,email
P01,Dr. Ada One,Orthopaedic Surgery,Orthopaedics,p01@fixture.org
P02,Dr. Ben Two,Orthopaedic Surgery,Orthopaedics,p02@fixture.org
P03,Dr. Cy Three,Orthopaedic Surgery,Orthopaedics,p03@fixture.org
P04,Dr. Di Four,Orthopaedic Surgery,Orthopaedics,
P05,Dr. Ed Five,Orthopaedic Surgery,Orthopaedics,p05@fixture.org
P06,Dr. Flo Six,General Surgery,General Surgery,p06@fixture.org
""",
    "procedures": """procedure_code,name,service_line
TKA,Total knee replacement,Orthopaedics
LCH,Laparoscopic cholecystectomy,General Surgery
""",
    "cases": """case_id,physician_id,procedure_code,surgery_date,discharge_date,patient_age,patient_sex,asa_class,comorbidity_index,admission_type,payer,or_minutes,readmit_30d,complication,ssi,mortality,facility
C01,P01,TKA,2026-01-10,2026-01-12,70,F,2,1,elective,Medicare,100,false,true,false,false,Main
C02,P01,TKA,2026-02-10,2026-02-11,65,M,3,2,elective,Commercial,120,false,false,false,false,Main
C03,P01,TKA,2026-03-10,2026-03-10,60,F,2,0,elective,Commercial,90,false,false,false,false,Main
C04,P02,TKA,2026-01-15,2026-01-17,72,M,3,3,urgent,Medicare,80,true,false,false,false,Main
C05,P02,TKA,2026-02-15,2026-02-16,68,F,2,1,elective,Medicare,80,false,false,false,false,Main
C06,P03,TKA,2026-03-01,2026-03-02,75,M,3,2,elective,Medicare,110,false,true,true,false,Main
C07,P03,TKA,2026-04-01,2026-04-02,59,F,1,0,elective,Commercial,100,false,false,false,false,Main
C08,P04,TKA,2026-04-05,2026-04-06,66,M,2,1,elective,Medicaid,100,false,false,false,false,Main
C09,P05,TKA,2026-05-01,2026-05-03,71,F,2,1,elective,Medicare,95,false,false,false,false,Main
C10,P05,TKA,2026-06-30,2026-07-01,64,M,2,0,elective,Commercial,105,false,false,false,false,Main
C11,P06,LCH,2026-03-03,2026-03-03,45,F,1,0,elective,Commercial,60,false,false,false,false,Main
C12,P06,LCH,2026-04-03,2026-04-03,52,M,2,1,emergency,Self-pay,70,false,false,false,false,Main
""",
    "items": """item_id,description,manufacturer,category,unit_cost,is_implant,preferred,criticality,approved_sources,on_backorder
KNEE-A,Knee system A,Acme Ortho,Knee implant systems,1000,true,true,high,2,false
KNEE-B,Knee system B,Borel Medical,Knee implant systems,1500,true,false,high,1,false
SUT-1,Braided suture,Suturex,Sutures,10,false,false,low,3,false
GLV-1,Surgical gloves (preferred),Handsafe,Gloves,2,false,true,low,4,false
GLV-2,Surgical gloves (premium),Glovio,Gloves,3,false,false,low,2,true
""",
    "supply_usage": """case_id,item_id,line,quantity,unit_cost,wasted_quantity
C01,KNEE-B,1,1,,0
C01,SUT-1,2,4,,1
C01,GLV-2,3,2,,0
C02,KNEE-B,1,1,1400,0
C02,SUT-1,2,2,,0
C02,GLV-1,3,2,,0
C03,KNEE-A,1,1,,0
C03,GLV-2,2,4,,2
C04,KNEE-A,1,1,,0
C04,SUT-1,2,2,,0
C05,KNEE-A,1,1,,0
C05,GLV-1,2,2,,0
C06,KNEE-B,1,1,,0
C06,SUT-1,2,3,,0
C07,KNEE-A,1,1,,0
C07,SUT-1,2,1,,0
C08,KNEE-A,1,1,,0
C09,KNEE-A,1,1,,0
C09,GLV-1,2,4,,0
C10,KNEE-B,1,1,,0
C10,SUT-1,2,2,,0
C11,SUT-1,1,3,,0
C11,GLV-1,2,2,,0
C12,SUT-1,1,2,,0
""",
    "drug_usage": """case_id,line,drug_name,drug_class,quantity,cost
C01,1,Cefazolin,Antibiotic,1,5
C01,2,Tranexamic acid,Antifibrinolytic,1,20
C06,1,Vancomycin,Antibiotic,1,50
C11,1,Cefazolin,Antibiotic,1,5
""",
    "evidence": """evidence_id,category,preferred_item_id,title,summary,evidence_grade,outcomes,sources,reviewed_on,reviewed_by,next_review
EV1,Knee implant systems,KNEE-A,Knee system A is preferred,"Registry survival is **equivalent** at 10 years.",moderate,revision rate,Registry report 2024. https://example.org/registry,2026-01-01,Value Analysis Committee,2027-01-01
EV2,Gloves,GLV-1,Standard gloves are preferred,Same barrier performance.,high,glove perforation,Glove study. https://example.org/gloves,2025-01-01,Value Analysis Committee,2026-01-01
""",
    "users": """email,role,physician_id,service_line
p01@fixture.org,physician,P01,
p02@fixture.org,physician,P02,
P03@Fixture.org,champion,P03,Orthopaedics
p05@fixture.org,physician,P05,
p06@fixture.org,physician,P06,
supply@fixture.org,supply,,
admin@fixture.org,admin,,
""",
    "settings": """key,value
or_cost_per_minute,10
bed_day_cost,100
min_cases,2
min_peers,3
""",
}


# The formulary and the standardization programme, for the pharmacy and savings tests (issue 14). Kept
# out of TABLES so the default fixture still has neither; pass SUPPLY_EXTRAS as overrides to add them.
# Cefazolin ($5) is the preferred antibiotic, so C06's vancomycin line ($50 for 1) could have saved $45;
# tranexamic acid is preferred with no formulary price (its median paid, $20, stands in). The programme
# began 2026-04-01: the baseline is 2025-04-01..2026-03-31 (C01-C06, C11), the current cases C07-C10, C12.
FORMULARY = """drug_name,drug_class,preferred,unit_cost
Cefazolin,Antibiotic,true,5
Vancomycin,Antibiotic,false,50
Tranexamic acid,Antifibrinolytic,true,
"""
PROGRAMME_SETTINGS = TABLES["settings"] + "savings_target_usd,1000\nprogram_start_date,2026-04-01\n"
SUPPLY_EXTRAS = {"drugs.csv": FORMULARY, "settings.csv": PROGRAMME_SETTINGS}


def write_fixture_source(folder: Path, overrides: dict[str, str | bytes | None] | None = None) -> Path:
    """Write the fixture's CSV files into `folder`; `overrides` replaces (or, with None, removes) files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = {f"{name}.csv": text for name, text in TABLES.items()}
    for name, content in (overrides or {}).items():
        files[name] = content
    for name, content in files.items():
        if content is None:
            continue
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder
