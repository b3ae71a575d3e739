"""A health system's real shape: `write_system_source` writes a valid source at any size, in chunks.

Why a second generator
----------------------
The demo (`core/tools/demo.py`) is a story: 60 physicians, nine procedures and planted differences a
reviewer can find. Its shape is wrong for performance: a million cases by 60 physicians is 17,000
cases each a year, and 89 physician × procedure pairs make every peer group tiny. Performance must be
measured at a real health system's shape (README, *Performance*):

* about one physician per 250 cases a year (2,000 physicians at 1,000,000 cases over the two years);
* 102 procedures over 10 service lines, with realistic skew: volumes fall off like a Zipf curve
  (the first few procedures of each line carry most of its cases) and each physician's own volume is
  log-normal with a tenfold spread between the 5th and 95th percentiles;
* an item master that grows with the system (about 20,000 items at 1,000,000 cases): every category
  of the demo's catalogue holds many SKUs (sizes and variants), a fifth of them on contract (preferred);
* about 30 supply lines and 2-6 drug lines per case, priced per facility.

Procedures are variations on the demo's nine clinical templates (supply and drug slots, OR time,
length of stay, outcome rates), jittered per procedure, so the build's risk models, cost components
and supply views see the same kinds of data as with the demo. Nothing is planted: physicians differ
only by random habits (preferred-product propensity, favourite brands, OR pace, discharge practice,
waste and a small outcome effect), which is what a real peer distribution looks like.

How
---
Everything is streamed: the two years are cut into consecutive runs of days of at most `CHUNK_CASES`
cases; each chunk's cases, supply lines and drug lines are generated with their own generator
(seeded from seed, table and chunk) and appended to the Parquet (or CSV) files. Memory stays flat at
any size (10,000,000 cases, about 300,000,000 supply lines, run in a few hundred MB) and case ids
follow surgery dates, as a hospital's do. The output is byte-identical for identical arguments.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from core.errors import UserError
from core.tools import demo

GENERATOR = "scorecard-demo"  # the build labels the database as demo data (core/build/pipeline.py)
SHAPE = "system"
CHUNK_CASES = 200_000
MIN_CASES = 1_000
CASES_PER_PHYSICIAN_YEAR = 250
ITEMS_AT_A_MILLION = 20_000
PRICE_TIERS = 3  # contract tiers per facility: price paid differs by facility for some items
START_DATE, END_DATE, PERIOD_START = demo.START_DATE, demo.END_DATE, demo.PERIOD_START
N_DAYS = (END_DATE - START_DATE).days + 1
DOMAIN = "health-system.example"
# The extract's binary outcomes (core/metrics.py, through the demo) in the order of the demo templates'
# baseline rates (complication, readmission, SSI, death): complications come first (readmission depends on them).
BASE_COLUMN = {"complication": 0, "readmit_30d": 1, "ssi": 2, "mortality": 3}
OUTCOMES = tuple(sorted(demo.OUTCOMES, key=lambda name: BASE_COLUMN.get(name, len(BASE_COLUMN))))

# ---------------------------------------------------------------------------------------------
# Service lines and procedures: (code, name, demo template, relative yearly volume). Volumes are
# rough US inpatient/ambulatory proportions; within a line the first few dominate.
# ---------------------------------------------------------------------------------------------
SERVICE_LINES = {
    "Orthopaedics": (
        ("TKA", "Total knee arthroplasty", "TKA", 100),
        ("THA", "Total hip arthroplasty", "THA", 70),
        ("HFX", "Hip fracture fixation", "THA", 40),
        ("TSA", "Total shoulder arthroplasty", "THA", 18),
        ("ACL", "ACL reconstruction", "TKA", 16),
        ("RCR", "Rotator cuff repair", "TKA", 22),
        ("ANK", "Ankle fracture fixation", "TKA", 14),
        ("UKA", "Unicompartmental knee arthroplasty", "TKA", 8),
        ("RTKA", "Revision knee arthroplasty", "TKA", 6),
        ("RTHA", "Revision hip arthroplasty", "THA", 5),
        ("KSC", "Knee arthroscopy", "TKA", 20),
        ("CTR", "Carpal tunnel release", "IHR", 18),
    ),
    "Spine": (
        ("SPF", "Lumbar spinal fusion", "SPF", 45),
        ("ACDF", "Anterior cervical discectomy and fusion", "SPF", 30),
        ("LAM", "Lumbar laminectomy", "SPF", 25),
        ("DSC", "Lumbar microdiscectomy", "SPF", 22),
        ("KYP", "Kyphoplasty", "SPF", 8),
        ("PSF", "Posterior cervical fusion", "SPF", 6),
        ("SCS", "Spinal cord stimulator implant", "SPF", 5),
        ("DEF", "Adult deformity correction", "SPF", 3),
        ("CRT", "Craniotomy for tumour", "SPF", 9),
        ("VPS", "Ventriculoperitoneal shunt", "SPF", 4),
        ("LLIF", "Lateral lumbar interbody fusion", "SPF", 5),
        ("SIJ", "Sacroiliac joint fusion", "SPF", 2),
    ),
    "General Surgery": (
        ("LCH", "Laparoscopic cholecystectomy", "LCH", 90),
        ("IHR", "Inguinal hernia repair", "IHR", 65),
        ("APP", "Laparoscopic appendectomy", "LCH", 60),
        ("VHR", "Ventral hernia repair", "IHR", 35),
        ("COL", "Colectomy", "LCH", 30),
        ("SLV", "Sleeve gastrectomy", "LCH", 25),
        ("RYGB", "Roux-en-Y gastric bypass", "LCH", 10),
        ("THY", "Thyroidectomy", "IHR", 14),
        ("SBR", "Small bowel resection", "LCH", 9),
        ("WHP", "Pancreaticoduodenectomy", "LCH", 2),
        ("FUN", "Laparoscopic fundoplication", "LCH", 5),
        ("HEM", "Haemorrhoidectomy", "IHR", 7),
    ),
    "Breast and Plastics": (
        ("MAS", "Mastectomy", "IHR", 14),
        ("LMP", "Lumpectomy", "IHR", 20),
        ("SLN", "Sentinel node biopsy", "IHR", 12),
        ("BRC", "Breast reconstruction with implant", "IHR", 8),
        ("RDM", "Reduction mammoplasty", "IHR", 5),
        ("ABD", "Abdominoplasty", "IHR", 3),
        ("SKG", "Skin graft", "IHR", 4),
        ("FLP", "Free flap reconstruction", "IHR", 2),
        ("BLP", "Blepharoplasty", "IHR", 2),
    ),
    "Cardiac Surgery": (
        ("CABG", "Coronary artery bypass graft", "CABG", 40),
        ("AVR", "Aortic valve replacement", "CABG", 14),
        ("MVR", "Mitral valve repair", "CABG", 8),
        ("CBV", "CABG with valve", "CABG", 6),
        ("AAR", "Ascending aortic repair", "CABG", 3),
        ("MAZ", "Surgical ablation (maze)", "CABG", 2),
        ("LVAD", "Left ventricular assist device", "CABG", 1),
        ("TVR", "Tricuspid valve repair", "CABG", 1),
        ("MYE", "Septal myectomy", "CABG", 1),
    ),
    "Interventional Cardiology": (
        ("PCI", "Percutaneous coronary intervention", "PCI", 80),
        ("DXC", "Diagnostic cardiac catheterisation", "PCI", 95),
        ("TAVR", "Transcatheter aortic valve replacement", "TAVR", 18),
        ("ABL", "Atrial fibrillation ablation", "PCI", 20),
        ("PPM", "Pacemaker implant", "PCI", 30),
        ("ICD", "Defibrillator implant", "PCI", 12),
        ("TEER", "Transcatheter mitral repair", "TAVR", 4),
        ("LAAO", "Left atrial appendage occlusion", "TAVR", 5),
        ("CTO", "Chronic total occlusion PCI", "PCI", 3),
    ),
    "Vascular": (
        ("EVAR", "Endovascular aneurysm repair", "TAVR", 9),
        ("CEA", "Carotid endarterectomy", "CABG", 10),
        ("PTA", "Peripheral angioplasty and stent", "PCI", 28),
        ("FPB", "Femoral-popliteal bypass", "CABG", 6),
        ("AVF", "Arteriovenous fistula creation", "IHR", 14),
        ("AMP", "Below-knee amputation", "IHR", 8),
        ("VVA", "Varicose vein ablation", "IHR", 15),
        ("TEV", "Thoracic endovascular aortic repair", "TAVR", 2),
        ("CAS", "Carotid artery stenting", "PCI", 4),
    ),
    "Women's Health": (
        ("CSX", "Caesarean delivery", "HYS", 110),
        ("HYS", "Hysterectomy", "HYS", 45),
        ("LHY", "Laparoscopic hysterectomy", "HYS", 35),
        ("MYO", "Myomectomy", "HYS", 8),
        ("OOP", "Salpingo-oophorectomy", "HYS", 14),
        ("SLG", "Midurethral sling", "HYS", 10),
        ("PRL", "Pelvic organ prolapse repair", "HYS", 9),
        ("DNC", "Hysteroscopy with D&C", "HYS", 30),
        ("TBL", "Tubal ligation", "HYS", 12),
        ("ECT", "Ectopic pregnancy surgery", "HYS", 4),
    ),
    "Urology": (
        ("RALP", "Robotic prostatectomy", "HYS", 16),
        ("TURP", "Transurethral resection of prostate", "HYS", 14),
        ("NEP", "Nephrectomy", "LCH", 9),
        ("PNP", "Partial nephrectomy", "LCH", 7),
        ("URS", "Ureteroscopy with stent", "HYS", 30),
        ("PCNL", "Percutaneous nephrolithotomy", "HYS", 5),
        ("CYS", "Radical cystectomy", "LCH", 3),
        ("TURB", "Transurethral resection of bladder tumour", "HYS", 14),
        ("IPP", "Penile prosthesis", "IHR", 2),
        ("SLU", "Male sling", "HYS", 1),
    ),
    "Thoracic and ENT": (
        ("LOB", "Lung lobectomy", "CABG", 10),
        ("WED", "Lung wedge resection", "LCH", 8),
        ("TON", "Tonsillectomy", "IHR", 22),
        ("FESS", "Endoscopic sinus surgery", "IHR", 14),
        ("SEP", "Septoplasty", "IHR", 12),
        ("PAR", "Parotidectomy", "IHR", 3),
        ("TRH", "Tracheostomy", "IHR", 8),
        ("ESO", "Oesophagectomy", "CABG", 1),
        ("CIM", "Cochlear implant", "IHR", 2),
        ("MAS2", "Mastoidectomy", "IHR", 2),
    ),
}
PROCEDURES = tuple(
    (code, name, line, template, weight)
    for line, procs in SERVICE_LINES.items()
    for code, name, template, weight in procs
)
SPECIALTY = {
    "Orthopaedics": "Orthopaedic Surgery",
    "Spine": "Neurosurgery",
    "General Surgery": "General Surgery",
    "Breast and Plastics": "Plastic Surgery",
    "Cardiac Surgery": "Cardiothoracic Surgery",
    "Interventional Cardiology": "Cardiology",
    "Vascular": "Vascular Surgery",
    "Women's Health": "Obstetrics and Gynaecology",
    "Urology": "Urology",
    "Thoracic and ENT": "Thoracic Surgery and Otolaryngology",
}
FIRST_NAMES = (
    "Aisha",
    "Alejandro",
    "Amara",
    "Anders",
    "Anna",
    "Ben",
    "Carmen",
    "Chen",
    "Chiara",
    "Daniel",
    "David",
    "Elena",
    "Emeka",
    "Emma",
    "Farid",
    "Fatima",
    "Gabriel",
    "Grace",
    "Hana",
    "Hiro",
    "Ines",
    "Isaac",
    "Jamal",
    "Jana",
    "Javier",
    "Julia",
    "Kai",
    "Kavya",
    "Laila",
    "Leo",
    "Lucia",
    "Maya",
    "Mei",
    "Mohammed",
    "Nadia",
    "Noah",
    "Olga",
    "Omar",
    "Priya",
    "Rafael",
    "Rosa",
    "Samuel",
    "Sara",
    "Sofia",
    "Tariq",
    "Thomas",
    "Uma",
    "Victor",
    "Yara",
    "Zoe",
)
LAST_NAMES = (
    "Abbott",
    "Adeyemi",
    "Alvarez",
    "Andersen",
    "Bauer",
    "Bianchi",
    "Brooks",
    "Campbell",
    "Chen",
    "Costa",
    "Das",
    "Dubois",
    "Eriksen",
    "Evans",
    "Fischer",
    "Garcia",
    "Gupta",
    "Haddad",
    "Hansen",
    "Ibrahim",
    "Ito",
    "Jensen",
    "Kaur",
    "Kim",
    "Kowalski",
    "Larsen",
    "Lopez",
    "Mahmoud",
    "Martin",
    "Mensah",
    "Meyer",
    "Moreau",
    "Murphy",
    "Nakamura",
    "Nguyen",
    "Novak",
    "Okafor",
    "Olsen",
    "Patel",
    "Petrov",
    "Quinn",
    "Rossi",
    "Santos",
    "Schmidt",
    "Silva",
    "Singh",
    "Tanaka",
    "Torres",
    "Walsh",
    "Zhang",
)
INITIALS = "ABCDEFGHJKLMNPRSTVW"


def write_system_source(
    out_dir: Path, cases: int = 100_000, seed: int = 42, fmt: str = "parquet", progress=None
) -> dict:
    """Write a real-shape source (the nine contract tables and truth.json) into out_dir; return the truth."""
    if fmt not in ("csv", "parquet"):
        raise UserError(f"unknown format {fmt!r}: use csv or parquet")
    if not isinstance(cases, (int, np.integer)) or cases < MIN_CASES:
        raise UserError(f"--cases must be at least {MIN_CASES} (got {cases})")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UserError(f"--seed must be a non-negative integer (got {seed})")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in demo.TABLES:
        for ext in ("csv", "parquet"):
            (out_dir / f"{name}.{ext}").unlink(missing_ok=True)
    (out_dir / "truth.json").unlink(missing_ok=True)  # written last: its presence means a complete source
    world = System(int(cases), int(seed))
    for name, table in (
        ("physicians", world.physicians_table()),
        ("procedures", world.procedures_table()),
        ("items", world.items_table()),
        ("evidence", world.evidence_table()),
        ("users", world.users_table()),
        ("settings", world.settings_table()),
    ):
        _write_whole(table, out_dir / f"{name}.{fmt}", fmt)
    counts = world.write_cases(out_dir, fmt, progress)
    counts.update(
        {
            "physicians": world.n_phys,
            "procedures": len(PROCEDURES),
            "items": world.n_items,
            "evidence": len(world.evidence_rows),
            "users": len(world.user_rows),
            "settings": len(demo.SETTINGS),
        }
    )
    truth = world.truth(fmt, counts)
    (out_dir / "truth.json").write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return truth


class System:
    """The fixed part of the health system (roster, procedures, catalogue, habits) and its case stream."""

    def __init__(self, cases: int, seed: int) -> None:
        self.cases, self.seed = cases, seed
        rng = np.random.default_rng([seed, 100])
        self._procedures(rng)
        self._physicians(rng)
        self._items(rng)
        self._habits(rng)
        self._evidence()
        self._users()
        self._calibrate(np.random.default_rng([seed, 101]))

    # -- procedures: the demo's templates, jittered ----------------------------------------------
    def _procedures(self, rng: np.random.Generator) -> None:
        templates = {p[0]: p for p in demo.PROCEDURES}
        self.codes = tuple(p[0] for p in PROCEDURES)
        self.lines = tuple(SERVICE_LINES)
        self.proc_line = np.array([self.lines.index(p[2]) for p in PROCEDURES])
        weight = np.array([p[4] for p in PROCEDURES], dtype=float)
        self.share = weight / weight.sum()
        t = [templates[p[3]] for p in PROCEDURES]
        n = len(PROCEDURES)
        jitter = lambda lo, hi: rng.uniform(lo, hi, n)  # noqa: E731
        self.P = {
            "age_mean": np.array([x[4][0] for x in t], float) + rng.normal(0, 4, n),
            "age_sd": np.array([x[4][1] for x in t], float),
            "age_lo": np.array([x[4][2] for x in t]),
            "age_hi": np.array([x[4][3] for x in t]),
            "female": np.clip(np.array([x[5] for x in t]) + rng.normal(0, 0.05, n), 0, 1),
            "adm": np.array([x[6] for x in t], float),
            "cm_mean": np.array([x[7] for x in t]) * jitter(0.8, 1.2),
            "asa_shift": np.array([x[8] for x in t]) + rng.normal(0, 0.15, n),
            "or_med": np.array([x[9][0] for x in t], float) * jitter(0.55, 1.45),
            "or_sd": np.array([x[9][1] for x in t]),
            "los": np.array([x[10] for x in t], float) * jitter(0.6, 1.4)[:, None],
            "base": np.clip(np.array([x[11] for x in t]) * jitter(0.6, 1.4)[:, None], 0.0003, 0.5),
        }
        self.P["los"][:, [0, 2]] = np.round(self.P["los"][:, [0, 2]])
        # Supply slots: the template's, each kept with its chance jittered; optional extras sometimes dropped.
        cat_index = {c[0]: i for i, c in enumerate(demo.CATEGORIES)}
        cat, p, qlo, qhi, start, count = [], [], [], [], [], []
        for _j, (_, _, _, template, _) in enumerate(PROCEDURES):
            start.append(len(cat))
            kept = 0
            for slot in demo.SUPPLY_SLOTS[template]:
                if len(slot) > 4 and rng.random() < 0.3:
                    continue
                cat.append(cat_index[slot[0]])
                p.append(min(1.0, slot[1] * (1.0 if slot[1] >= 1.0 else rng.uniform(0.6, 1.3))))
                qlo.append(slot[2])
                qhi.append(slot[3])
                kept += 1
            count.append(kept)
        self.s_cat, self.s_p, self.s_qlo, self.s_qhi = map(np.array, (cat, p, qlo, qhi))
        self.s_start, self.s_count = np.array(start), np.array(count)
        dcheap, dcostly, dp, dbase, dstart, dcount = [], [], [], [], [], []
        for _, _, _, template, _ in PROCEDURES:
            dstart.append(len(dcheap))
            dcount.append(len(demo.DRUG_SLOTS[template]))
            for cheap, costly, chance, base in demo.DRUG_SLOTS[template]:
                dcheap.append(cheap)
                dcostly.append(-1 if costly is None else costly)
                dp.append(chance)
                dbase.append(base)
        self.d_cheap, self.d_costly, self.d_p, self.d_base = map(np.array, (dcheap, dcostly, dp, dbase))
        self.d_start, self.d_count = np.array(dstart), np.array(dcount)
        self.drug_price = np.array([d[2] for d in demo.DRUGS])
        self.drug_qlo = np.array([d[3] for d in demo.DRUGS])
        self.drug_qhi = np.array([d[4] for d in demo.DRUGS])

    # -- physicians: one per 250 cases a year, tenfold spread in volume ---------------------------
    def _physicians(self, rng: np.random.Generator) -> None:
        years = N_DAYS / 365.25
        n_lines = len(self.lines)
        self.n_phys = max(8 * n_lines, int(round(self.cases / years / CASES_PER_PHYSICIAN_YEAR)))
        line_share = np.bincount(self.proc_line, weights=self.share, minlength=n_lines)
        # At least eight physicians in every line; the rest in proportion to the line's cases.
        rest = rng.choice(n_lines, self.n_phys - 8 * n_lines, p=line_share / line_share.sum())
        self.phys_line = np.sort(np.concatenate([np.repeat(np.arange(n_lines), 8), rest]))
        # Log-normal volume: sd 0.7 puts the 95th percentile about ten times the 5th.
        self.volume = rng.lognormal(0.0, 0.7, self.n_phys)
        pair_ph, pair_pc, pair_w = [], [], []
        for line in range(n_lines):
            members = np.flatnonzero(self.phys_line == line)
            procs = np.flatnonzero(self.proc_line == line)
            rel = self.share[procs] / self.share[procs].max()
            does = rng.random((len(members), len(procs))) < (0.08 + 0.92 * rel**0.7)[None, :]
            does[:, 0] |= ~does.any(axis=1)  # everyone does at least their line's first procedure
            for k in range(len(procs)):  # and every procedure has a few physicians
                if does[:, k].sum() < min(4, len(members)):
                    does[rng.choice(len(members), min(4, len(members)), replace=False), k] = True
            i, k = np.nonzero(does)
            pair_ph.append(members[i])
            pair_pc.append(procs[k])
            pair_w.append(self.volume[members[i]] * rng.lognormal(0.0, 0.5, len(i)))
        self.pair_ph = np.concatenate(pair_ph)
        self.pair_pc = np.concatenate(pair_pc)
        w = np.concatenate(pair_w)
        # Each procedure keeps its share of cases; its physicians split it by volume (with a personal mix).
        per_proc = np.bincount(self.pair_pc, weights=w, minlength=len(PROCEDURES))
        prob = self.share[self.pair_pc] * w / per_proc[self.pair_pc]
        self.pair_cum = np.cumsum(prob / prob.sum())
        self.pair_cum[-1] = 1.0
        names = rng.permutation(len(FIRST_NAMES) * len(LAST_NAMES) * len(INITIALS))[: self.n_phys]
        if self.n_phys > len(names):
            raise UserError("too many physicians for the name lists")
        self.names, self.emails = [], []
        for code in names:
            first, rest_ = divmod(int(code), len(LAST_NAMES) * len(INITIALS))
            last, initial = divmod(rest_, len(INITIALS))
            f, m, l_ = FIRST_NAMES[first], INITIALS[initial], LAST_NAMES[last]
            self.names.append(f"Dr. {f} {m}. {l_}")
            self.emails.append(f"{f.lower()}.{m.lower()}.{l_.lower()}@{DOMAIN}")
        self.ids = [f"P{i + 1:06d}" for i in range(self.n_phys)]
        self.n_fac = max(3, self.n_phys // 80)
        self.home = rng.integers(0, self.n_fac, self.n_phys)

    # -- the item master: many SKUs per category, a fifth on contract ------------------------------
    def _items(self, rng: np.random.Generator) -> None:
        base = np.array([c[2] for c in demo.CATEGORIES], dtype=float)
        target = max(len(base) * 4, int(ITEMS_AT_A_MILLION * (self.cases / 1_000_000) ** 0.5))
        per_cat = np.maximum(4, np.round(base / base.sum() * target)).astype(int)
        ids, desc, mfr, cat, cost, implant, preferred, crit, sources = ([] for _ in range(9))
        n_cat = len(demo.CATEGORIES)
        self.cat_pref = [[] for _ in range(n_cat)]
        self.cat_non = [[] for _ in range(n_cat)]
        for c, (name, is_imp, _, lo, hi, n_pref, criticality, group, variants) in enumerate(demo.CATEGORIES):
            n = int(per_cat[c])
            prices = np.round(np.sort(lo * (hi / lo) ** rng.random(n) * rng.uniform(0.96, 1.04, n)), 2)
            # Contract (preferred) SKUs: one or two product lines of good-value sizes, about a fifth.
            is_pref = np.zeros(n, dtype=bool)
            if n_pref:
                lo_rank = int(0.12 * n)
                is_pref[lo_rank : lo_rank + max(1, n // 5)] = True
            makers = demo.MFR[group]
            for k in range(n):
                idx = len(ids)
                ids.append(f"SK{100001 + idx}")
                variant = variants[k % len(variants)]
                desc.append(
                    f"{makers[k % len(makers)].split()[0]} {demo.MODELS[k % len(demo.MODELS)]} {variant} "
                    f"#{k // len(variants) + 1}"
                )
                mfr.append(makers[k % len(makers)])
                cat.append(name)
                cost.append(float(prices[k]))
                implant.append(is_imp)
                preferred.append(bool(is_pref[k]))
                crit.append(criticality)
                sources.append(int(rng.integers(1, 3)) if is_imp else int(rng.integers(1, 5)))
                (self.cat_pref if is_pref[k] else self.cat_non)[c].append(idx)
        self.n_items = len(ids)
        self.item_ids, self.item_desc, self.item_mfr, self.item_cat = ids, desc, mfr, cat
        self.item_cost, self.item_implant = np.array(cost), np.array(implant)
        self.item_preferred, self.item_crit, self.item_sources = np.array(preferred), crit, sources
        self.item_backorder = rng.random(self.n_items) < 0.003
        self.cat_is_implant = np.array([c[1] for c in demo.CATEGORIES])
        self.cat_npref = np.array([len(x) for x in self.cat_pref])
        self.cat_nnon = np.array([len(x) for x in self.cat_non])
        self.pref_items = np.full((n_cat, max(1, int(self.cat_npref.max()))), -1, dtype=np.int64)
        self.non_items = np.full((n_cat, int(self.cat_nnon.max())), -1, dtype=np.int64)
        for c in range(n_cat):
            self.pref_items[c, : len(self.cat_pref[c])] = self.cat_pref[c]
            self.non_items[c, : len(self.cat_non[c])] = self.cat_non[c]
        # Price paid: each facility sits on one of a few contract tiers per item (cents).
        tier = rng.integers(0, PRICE_TIERS, (self.n_fac, self.n_items)).astype(np.int8)
        factors = np.vstack(
            [np.ones(self.n_items), rng.uniform(0.86, 1.0, self.n_items), rng.uniform(0.98, 1.08, self.n_items)]
        )
        self.price_tier, self.tier_price = tier, np.round(self.item_cost[None, :] * factors, 2)

    # -- habits ------------------------------------------------------------------------------------
    def _habits(self, rng: np.random.Generator) -> None:
        n, n_cat = self.n_phys, len(demo.CATEGORIES)
        self.pi_imp = rng.beta(6, 2, n)  # preferred share in implant categories (mean 0.75)
        self.pi_sup = rng.beta(4, 2.5, n)  # elsewhere (mean 0.6)
        self.fav_p = rng.uniform(0.5, 0.85, n)  # loyalty to a favourite non-preferred SKU
        self.or_factor = np.exp(rng.normal(0, 0.12, n))
        self.los_factor = np.exp(rng.normal(0, 0.12, n))
        self.pharm = rng.beta(1.2, 8, n)
        self.waste_sup = rng.beta(1.5, 60, n)  # about 2.5% of lines
        self.waste_imp = rng.beta(1.0, 300, n)
        self.extra = rng.random(n) < 0.05  # pricey optional extras by habit
        self.outcome_effect = rng.normal(0, 0.18, n)  # a physician's own log-odds on every outcome
        pick = rng.random((n, n_cat)) * self.cat_nnon[None, :]
        self.fav = self.non_items[np.arange(n_cat)[None, :], pick.astype(np.int64)]

    # -- evidence and users --------------------------------------------------------------------------
    def _evidence(self) -> None:
        rows = []
        for c, cat in enumerate(demo.CAT_NAMES):
            if not self.cat_pref[c] or cat not in demo.EVIDENCE:
                continue
            title, grade, outcomes, why, findings, _srcs, committee = demo.EVIDENCE[cat]
            reviewed = date(2025, 12, 1) + timedelta(days=(len(rows) * 23) % 290)
            rows.append(
                {
                    "evidence_id": f"EV{len(rows) + 1:03d}",
                    "category": cat,
                    "preferred_item_id": self.item_ids[self.cat_pref[c][0]],
                    "title": title,
                    "summary": "\n".join(
                        [
                            "*Illustrative sample content, not clinical guidance.*",
                            "",
                            f"**Why it is preferred.** {why}",
                            "",
                            *[f"- {f}" for f in findings],
                        ]
                    ),
                    "evidence_grade": grade,
                    "outcomes": outcomes,
                    "sources": "Value Analysis Committee minutes 2025. https://intranet.health-system.example",
                    "reviewed_on": reviewed,
                    "reviewed_by": committee,
                    "next_review": date(reviewed.year + 2, reviewed.month, min(reviewed.day, 28)),
                }
            )
        self.evidence_rows = rows

    def _users(self) -> None:
        champion = {int(np.flatnonzero(self.phys_line == line)[0]): name for line, name in enumerate(self.lines)}
        rows = [
            {
                "email": e,
                "role": "champion" if i in champion else "physician",
                "physician_id": pid,
                "service_line": champion.get(i),
            }
            for i, (pid, e) in enumerate(zip(self.ids, self.emails, strict=False))
        ]
        rows += [
            {"email": f"supply.lead@{DOMAIN}", "role": "supply", "physician_id": None, "service_line": None},
            {"email": f"admin@{DOMAIN}", "role": "admin", "physician_id": None, "service_line": None},
        ]
        self.user_rows = rows

    # -- outcome intercepts, calibrated once on a pilot sample ----------------------------------------
    def _calibrate(self, rng: np.random.Generator) -> None:
        m = 300_000
        pc = np.searchsorted(np.cumsum(self.share), rng.random(m), side="right").clip(0, len(PROCEDURES) - 1)
        weekend = rng.random(m) < 0.1
        x = self._patients(rng, pc, weekend)["x"]
        counts = np.maximum(np.bincount(pc, minlength=len(PROCEDURES)), 1)
        self.intercept = np.zeros((len(OUTCOMES), len(PROCEDURES)))
        for k, name in enumerate(OUTCOMES):
            target = self.P["base"][:, BASE_COLUMN[name]]
            b = np.log(target / (1 - target))
            for _ in range(15):
                p = 1 / (1 + np.exp(-(b[pc] + x[k])))
                mean = np.bincount(pc, weights=p, minlength=len(target)) / counts
                slope = np.bincount(pc, weights=p * (1 - p), minlength=len(target)) / counts
                b = b - (mean - target) / np.maximum(slope, 1e-12)
            self.intercept[k] = b

    def _patients(self, rng: np.random.Generator, pc: np.ndarray, weekend: np.ndarray) -> dict:
        """Admission type, age, sex, comorbidity, ASA, payer and each outcome's patient-factor score."""
        P, n = self.P, len(pc)
        mix = P["adm"][pc].copy()
        mix[weekend, 0] = 0.0  # no elective surgery at weekends
        mix /= mix.sum(axis=1, keepdims=True)
        u = rng.random(n)
        adm = (u > mix[:, 0]).astype(np.int8) + (u > mix[:, 0] + mix[:, 1])
        z = rng.normal(0, 1, n)
        age = np.clip(
            np.round(P["age_mean"][pc] + P["age_sd"][pc] * rng.normal(0, 1, n)), P["age_lo"][pc], P["age_hi"][pc]
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
        payer = np.where(
            age >= 65,
            np.searchsorted([0.86, 0.96, 0.99], u, side="right"),
            np.searchsorted([0.08, 0.72, 0.94], u, side="right"),
        )
        x = []
        for name in OUTCOMES:
            b_age, b_asa, b_cm, b_urg, b_em, b_male = demo.OUTCOME_COEF[name]
            x.append(
                b_age * age_c
                + b_asa * (asa - 2.4)
                + b_cm * cm_c
                + b_urg * (adm == 1)
                + b_em * (adm == 2)
                + b_male * ~female
            )
        return {
            "adm": adm,
            "age": age,
            "age_c": age_c,
            "female": female,
            "comorb": comorb,
            "cm_c": cm_c,
            "asa": asa,
            "payer": payer,
            "x": x,
        }

    # -- the case stream ------------------------------------------------------------------------------
    def chunks(self) -> list[tuple[int, int, np.ndarray]]:
        """(first day, last day + 1, cases per day) of consecutive runs of at most CHUNK_CASES cases."""
        rng = np.random.default_rng([self.seed, 102])
        days = np.arange(N_DAYS)
        weekend = (days + START_DATE.weekday()) % 7 >= 5
        weight = np.where(weekend, 0.15, 1.0) * (1 + 0.3 * (days / (N_DAYS - 1) - 0.5))
        per_day = rng.multinomial(self.cases, weight / weight.sum())
        per_day[-1] = max(per_day[-1], 1)  # the latest surgery date is END_DATE at every size
        per_day[int(np.argmax(per_day[:-1]))] -= per_day.sum() - self.cases
        out, lo = [], 0
        while lo < N_DAYS:
            hi, total = lo, 0
            while hi < N_DAYS and (hi == lo or total + per_day[hi] <= CHUNK_CASES):
                total += per_day[hi]
                hi += 1
            out.append((lo, hi, per_day[lo:hi]))
            lo = hi
        return out

    def write_cases(self, out_dir: Path, fmt: str, progress=None) -> dict:
        cases = _Sink(out_dir / f"cases.{fmt}", CASE_SCHEMA, fmt)
        supply = _Sink(out_dir / f"supply_usage.{fmt}", demo.SUPPLY_SCHEMA, fmt)
        drugs = _Sink(out_dir / f"drug_usage.{fmt}", demo.DRUG_SCHEMA, fmt)
        item_ids = pa.array(self.item_ids)
        phys_ids = pa.array(self.ids)
        codes = pa.array(list(self.codes))
        drug_names = pa.array([d[0] for d in demo.DRUGS])
        drug_classes = pa.array([d[1] for d in demo.DRUGS])
        facilities = pa.array([f"Hospital {k + 1:02d}" for k in range(self.n_fac)])
        n_done = n_supply = n_drug = 0
        last = np.zeros((self.n_phys, len(PROCEDURES)), dtype=np.int64)
        try:
            for k, (lo, hi, per_day) in enumerate(self.chunks()):
                rng = np.random.default_rng([self.seed, 1, k])
                day = np.repeat(np.arange(lo, hi), per_day).astype(np.int32)
                n = len(day)
                if n == 0:
                    continue
                c = self._case_chunk(rng, day)
                case_id = np.arange(n_done + 1, n_done + n + 1, dtype=np.int64)
                surgery = np.datetime64(START_DATE.isoformat(), "D") + day.astype("timedelta64[D]")
                cases.write(
                    pa.table(
                        {
                            "case_id": case_id,
                            "physician_id": phys_ids.take(pa.array(c["ph"])),
                            "procedure_code": codes.take(pa.array(c["pc"])),
                            "surgery_date": pa.array(surgery, pa.date32()),
                            "discharge_date": pa.array(surgery + c["los"].astype("timedelta64[D]"), pa.date32()),
                            "patient_age": pa.array(c["age"], pa.int32()),
                            "patient_sex": pa.array(np.where(c["female"], "F", "M")),
                            "asa_class": pa.array(c["asa"], pa.int32()),
                            "comorbidity_index": pa.array(c["comorb"], pa.int32()),
                            "admission_type": pa.array(["elective", "urgent", "emergency"]).take(pa.array(c["adm"])),
                            "payer": pa.array(["Medicare", "Commercial", "Medicaid", "Self-pay"]).take(
                                pa.array(c["payer"])
                            ),
                            "or_minutes": pa.array(c["or_min"], pa.int32()),
                            **{name: pa.array(c[name]) for name in ("readmit_30d", "complication", "ssi", "mortality")},
                            "facility": facilities.take(pa.array(c["fac"])),
                        },
                        schema=CASE_SCHEMA,
                    )
                )
                s = self._supply_chunk(np.random.default_rng([self.seed, 2, k]), c)
                supply.write(
                    pa.table(
                        {
                            "case_id": case_id[s["case"]],
                            "line": s["line"],
                            "item_id": item_ids.take(pa.array(s["item"])),
                            "quantity": s["qty"],
                            "unit_cost": pa.array(s["price"], mask=~s["priced"]),
                            "wasted_quantity": s["wasted"],
                        },
                        schema=demo.SUPPLY_SCHEMA,
                    )
                )
                d = self._drug_chunk(np.random.default_rng([self.seed, 3, k]), c)
                drugs.write(
                    pa.table(
                        {
                            "case_id": case_id[d["case"]],
                            "line": d["line"],
                            "drug_name": drug_names.take(pa.array(d["drug"])),
                            "drug_class": drug_classes.take(pa.array(d["drug"])),
                            "quantity": d["qty"],
                            "cost": d["cost"],
                        },
                        schema=demo.DRUG_SCHEMA,
                    )
                )
                recent = day >= (PERIOD_START - START_DATE).days
                np.add.at(last, (c["ph"][recent], c["pc"][recent]), 1)
                n_done += n
                n_supply += len(s["case"])
                n_drug += len(d["case"])
                if progress:
                    progress(f"{n_done:,} cases, {n_supply:,} supply lines")
        finally:
            cases.close()
            supply.close()
            drugs.close()
        self.last = last
        return {"cases": n_done, "supply_usage": n_supply, "drug_usage": n_drug}

    def _case_chunk(self, rng: np.random.Generator, day: np.ndarray) -> dict:
        n = len(day)
        pair = np.searchsorted(self.pair_cum, rng.random(n), side="right").clip(0, len(self.pair_cum) - 1)
        ph, pc = self.pair_ph[pair], self.pair_pc[pair]
        weekend = (day + START_DATE.weekday()) % 7 >= 5
        pt = self._patients(rng, pc, weekend)
        P = self.P
        fac = np.where(rng.random(n) < 0.9, self.home[ph], rng.integers(0, self.n_fac, n))
        or_min = (
            P["or_med"][pc]
            * np.exp(rng.normal(0, 1, n) * P["or_sd"][pc])
            * self.or_factor[ph]
            * np.exp(0.05 * (pt["asa"] - 2.4) + 0.08 * (pt["adm"] > 0))
        )
        out = {}
        for k, name in enumerate(OUTCOMES):
            x = pt["x"][k] + (0.5 * out["complication"] if name == "readmit_30d" else 0.0)
            eta = self.intercept[k, pc] + x + self.outcome_effect[ph]
            out[name] = rng.random(n) < 1 / (1 + np.exp(-eta))
            if name == "ssi":
                out["complication"] |= out["ssi"]
        out["readmit_30d"] &= ~out["mortality"]
        elective = pt["adm"] == 0
        los_min = np.where(elective, P["los"][pc, 0], P["los"][pc, 2])
        risk = np.exp(0.18 * (pt["asa"] - 2.4) + 0.07 * pt["cm_c"] + 0.012 * pt["age_c"])
        los_mu = (
            np.where(elective, P["los"][pc, 1], P["los"][pc, 3])
            * self.los_factor[ph]
            * risk
            * np.exp(0.6 * out["complication"])
        )
        los = (los_min + rng.poisson(los_mu)).astype(np.int32)
        return {
            "ph": ph,
            "pc": pc,
            "fac": fac,
            "los": los,
            "or_min": np.maximum(np.round(or_min), 10).astype(np.int32),
            **{k: pt[k] for k in ("adm", "age", "female", "comorb", "asa", "payer")},
            **out,
        }

    def _supply_chunk(self, rng: np.random.Generator, c: dict) -> dict:
        ph, pc, fac = c["ph"], c["pc"], c["fac"]
        row, slot = _expand(self.s_start[pc], self.s_count[pc])
        rph = ph[row]
        p = np.where(self.extra[rph] & (self.s_p[slot] < 0.3), np.maximum(self.s_p[slot], 0.7), self.s_p[slot])
        keep = rng.random(len(row)) < p
        row, slot, rph = row[keep], slot[keep], rph[keep]
        m = len(row)
        cat = self.s_cat[slot]
        qlo, qhi = self.s_qlo[slot], self.s_qhi[slot]
        qty = (qlo + (rng.random(m) * (qhi - qlo + 1)).astype(np.int64)).astype(np.int32)
        pi = np.where(self.cat_is_implant[cat], self.pi_imp[rph], self.pi_sup[rph])
        npref = self.cat_npref[cat]
        use_pref = (rng.random(m) < pi) & (npref > 0)
        pref_item = self.pref_items[cat, (rng.random(m) * np.maximum(npref, 1)).astype(np.int64)]
        use_fav = rng.random(m) < self.fav_p[rph]
        any_non = self.non_items[cat, (rng.random(m) * self.cat_nnon[cat]).astype(np.int64)]
        item = np.where(use_pref, pref_item, np.where(use_fav, self.fav[rph, cat], any_non))
        implant = self.item_implant[item]
        wasted_line = rng.random(m) < np.where(implant, self.waste_imp[rph], self.waste_sup[rph])
        extra = np.where(implant, 1, 1 + (rng.random(m) * 2).astype(np.int32))
        wasted = np.where(wasted_line, extra, 0).astype(np.int32)
        priced = rng.random(m) < 0.65
        price = self.tier_price[self.price_tier[fac[row], item], item]
        return {
            "case": row,
            "line": _line_numbers(row, len(ph)),
            "item": item,
            "qty": qty + wasted,
            "wasted": wasted,
            "priced": priced,
            "price": price,
        }

    def _drug_chunk(self, rng: np.random.Generator, c: dict) -> dict:
        ph, pc = c["ph"], c["pc"]
        row, slot = _expand(self.d_start[pc], self.d_count[pc])
        keep = rng.random(len(row)) < self.d_p[slot]
        row, slot = row[keep], slot[keep]
        m = len(row)
        costly = self.d_costly[slot]
        use_costly = (costly >= 0) & (rng.random(m) < np.minimum(self.d_base[slot] + self.pharm[ph[row]], 0.97))
        drug = np.where(use_costly, costly, self.d_cheap[slot])
        qlo, qhi = self.drug_qlo[drug], self.drug_qhi[drug]
        qty = (qlo + (rng.random(m) * (qhi - qlo + 1)).astype(np.int64)).astype(np.int32)
        return {
            "case": row,
            "line": _line_numbers(row, len(ph)),
            "drug": drug,
            "qty": qty,
            "cost": np.round(qty * self.drug_price[drug], 2),
        }

    # -- small tables and truth -------------------------------------------------------------------------
    def physicians_table(self) -> pa.Table:
        line = [self.lines[i] for i in self.phys_line]
        return pa.table(
            {
                "physician_id": self.ids,
                "name": self.names,
                "specialty": [SPECIALTY[x] for x in line],
                "service_line": line,
                "email": self.emails,
            }
        )

    def procedures_table(self) -> pa.Table:
        return pa.table(
            {
                "procedure_code": list(self.codes),
                "name": [p[1] for p in PROCEDURES],
                "service_line": [p[2] for p in PROCEDURES],
            }
        )

    def items_table(self) -> pa.Table:
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

    def settings_table(self) -> pa.Table:
        return pa.table({"key": [k for k, _ in demo.SETTINGS], "value": [v for _, v in demo.SETTINGS]})

    def truth(self, fmt: str, counts: dict) -> dict:
        """Size, shape and a persona in the largest peer group (the screenshot's surgeon)."""
        min_cases = int(dict(demo.SETTINGS)["min_cases"])
        eligible = (self.last >= min_cases).sum(axis=0)
        per_phys_year = self.last.sum(axis=1)
        big = int(np.argmax(eligible))
        # The screenshot's surgeon: median volume in the peer group closest to 300 eligible physicians.
        near = int(np.argmin(np.abs(eligible - 300)))
        members = np.flatnonzero(self.last[:, near] >= min_cases)
        persona = int(members[np.argsort(self.last[members, near])[len(members) // 2]]) if len(members) else 0
        share = np.sort(self.share)[::-1]
        return {
            "generator": GENERATOR,
            "shape": SHAPE,
            "seed": self.seed,
            "cases": self.cases,
            "start_date": START_DATE.isoformat(),
            "end_date": END_DATE.isoformat(),
            "format": fmt,
            "default_period": {"start": PERIOD_START.isoformat(), "end": END_DATE.isoformat()},
            "shape_facts": {
                "physicians": self.n_phys,
                "service_lines": len(self.lines),
                "procedures": len(PROCEDURES),
                "items": self.n_items,
                "facilities": self.n_fac,
                "physician_procedure_pairs": int(len(self.pair_ph)),
                "cases_per_physician_year": round(self.cases / (N_DAYS / 365.25) / self.n_phys, 1),
                "top_5_procedures_share": round(float(share[:5].sum()), 3),
                "physician_cases_last_12_months_p5_p50_p95": [
                    int(np.percentile(per_phys_year, q)) for q in (5, 50, 95)
                ],
                "largest_peer_group": {"procedure_code": self.codes[big], "eligible_physicians": int(eligible[big])},
                "eligible_physicians_per_procedure": {
                    code: int(e) for code, e in zip(self.codes, eligible, strict=False)
                },
            },
            "personas": {
                "physician": self.emails[persona],
                "supply": f"supply.lead@{DOMAIN}",
                "admin": f"admin@{DOMAIN}",
            },
            "persona_physician_ids": {"physician": self.ids[persona]},
            "persona_procedure": {"procedure_code": self.codes[near], "eligible_physicians": int(eligible[near])},
            "settings": dict(demo.SETTINGS),
            "rows": counts,
        }


CASE_SCHEMA = pa.schema(
    [
        ("case_id", pa.int64()),
        ("physician_id", pa.string()),
        ("procedure_code", pa.string()),
        ("surgery_date", pa.date32()),
        ("discharge_date", pa.date32()),
        ("patient_age", pa.int32()),
        ("patient_sex", pa.string()),
        ("asa_class", pa.int32()),
        ("comorbidity_index", pa.int32()),
        ("admission_type", pa.string()),
        ("payer", pa.string()),
        ("or_minutes", pa.int32()),
        ("readmit_30d", pa.bool_()),
        ("complication", pa.bool_()),
        ("ssi", pa.bool_()),
        ("mortality", pa.bool_()),
        ("facility", pa.string()),
    ]
)


# Small helpers, kept here rather than imported so the demo's private functions can change freely.
def _expand(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows with (start, count), return (row of each expanded slot, slot index)."""
    row = np.repeat(np.arange(len(counts)), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    return row, starts[row] + (np.arange(len(row)) - first)


def _line_numbers(row: np.ndarray, n_rows: int) -> np.ndarray:
    """Number the lines of each row 1..k (row must be sorted)."""
    counts = np.bincount(row, minlength=n_rows)
    return (np.arange(len(row)) - (np.cumsum(counts) - counts)[row] + 1).astype(np.int32)


class _Sink:
    """A streaming writer for one table (Parquet with zstd, or CSV)."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: str) -> None:
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        self.file = None
        if fmt == "parquet":
            self.writer = pq.ParquetWriter(path, schema, compression="zstd")
        else:
            self.file = open(path, "wb")
            self.writer = pacsv.CSVWriter(self.file, schema, write_options=pacsv.WriteOptions(quoting_style="needed"))

    def write(self, table: pa.Table) -> None:
        self.writer.write_table(table)

    def close(self) -> None:
        self.writer.close()
        if self.file is not None:
            self.file.close()


def _write_whole(table: pa.Table, path: Path, fmt: str) -> None:
    sink = _Sink(path, table.schema, fmt)
    try:
        sink.write(table)
    finally:
        sink.close()
