"""Tests for the demo source generator (core.demo): contract shape, integrity, determinism, truths.

The planted truths are checked on the raw files with plain SQL, without the app, so a failure here
means the data is wrong rather than the app.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from core.errors import UserError
from core.tools.demo import TABLES, write_demo_source

# README, *The data contract* columns (required and optional), plus the `line` key column of the two usage tables.
CONTRACT = {
    "physicians": {"physician_id", "name", "specialty", "service_line", "email"},
    "procedures": {"procedure_code", "name", "service_line"},
    "cases": {
        "case_id",
        "physician_id",
        "procedure_code",
        "surgery_date",
        "discharge_date",
        "patient_age",
        "patient_sex",
        "asa_class",
        "comorbidity_index",
        "admission_type",
        "payer",
        "or_minutes",
        "readmit_30d",
        "complication",
        "ssi",
        "mortality",
        "facility",
        "race_ethnicity",
        "dual_eligible",
    },
    "items": {
        "item_id",
        "description",
        "manufacturer",
        "category",
        "unit_cost",
        "is_implant",
        "preferred",
        "criticality",
        "approved_sources",
        "on_backorder",
    },
    "supply_usage": {"case_id", "item_id", "line", "quantity", "unit_cost", "wasted_quantity"},
    "drug_usage": {"case_id", "line", "drug_name", "drug_class", "quantity", "cost"},
    "evidence": {
        "evidence_id",
        "category",
        "preferred_item_id",
        "title",
        "summary",
        "evidence_grade",
        "outcomes",
        "sources",
        "reviewed_on",
        "reviewed_by",
        "next_review",
    },
    "users": {"email", "role", "physician_id", "service_line"},
    "settings": {"key", "value"},
    "drugs": {"drug_name", "drug_class", "preferred", "unit_cost"},
    "post_acute": {"case_id", "line", "setting", "service_date", "cost"},
    "targets": {"procedure_code", "episode_target_usd"},
}
SMALL = 3_000


def _connect(src: Path, fmt: str) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per table of the source."""
    con = duckdb.connect()
    for name in TABLES:
        reader = "read_csv" if fmt == "csv" else "read_parquet"
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM {reader}('{src / f'{name}.{fmt}'}')")
    return con


def _one(con: duckdb.DuckDBPyConnection, sql: str):
    """The single value a query returns."""
    return con.execute(sql).fetchone()[0]


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory) -> tuple[Path, dict]:
    """A small CSV source and its truth."""
    out = tmp_path_factory.mktemp("csv")
    return out, write_demo_source(out, cases=SMALL, seed=7, fmt="csv")


@pytest.fixture(scope="module")
def small_parquet(tmp_path_factory) -> tuple[Path, dict]:
    """The same small source as Parquet."""
    out = tmp_path_factory.mktemp("parquet")
    return out, write_demo_source(out, cases=SMALL, seed=7, fmt="parquet")


@pytest.fixture(scope="module")
def default(tmp_path_factory) -> tuple[duckdb.DuckDBPyConnection, dict]:
    """The default demo (20,000 cases, seed 42) with a per-case cost view, as the app defines it."""
    out = tmp_path_factory.mktemp("default")
    truth = write_demo_source(out, fmt="parquet")
    con = _connect(out, "parquet")
    settings = dict(con.execute("SELECT key, value FROM settings").fetchall())
    con.execute(f"""
        CREATE TABLE case_cost AS
        WITH s AS (
            SELECT u.case_id,
                   sum(CASE WHEN NOT i.is_implant THEN u.quantity * coalesce(u.unit_cost, i.unit_cost) END) AS supplies,
                   sum(CASE WHEN i.is_implant THEN u.quantity * coalesce(u.unit_cost, i.unit_cost) END) AS implants,
                   sum(u.wasted_quantity * coalesce(u.unit_cost, i.unit_cost)) AS waste,
                   count(*) AS lines
            FROM supply_usage u JOIN items i USING (item_id) GROUP BY 1),
        d AS (SELECT case_id, sum(cost) AS pharmacy FROM drug_usage GROUP BY 1)
        SELECT c.*, coalesce(s.supplies, 0) AS supplies, coalesce(s.implants, 0) AS implants,
               s.waste, s.lines, d.pharmacy,
               c.or_minutes * {float(settings["or_cost_per_minute"])} AS or_cost,
               (c.discharge_date - c.surgery_date) * {float(settings["bed_day_cost"])} AS bed_cost
        FROM cases c JOIN s USING (case_id) JOIN d USING (case_id)""")
    con.execute("""CREATE TABLE case_cost_total AS SELECT *,
                   supplies + implants + pharmacy + or_cost + bed_cost AS total FROM case_cost""")
    return con, truth


def _versus_peers(con, physician_id: str, procedure: str, expr: str) -> tuple[float, float]:
    """(the physician's mean of expr per case, the median of the other physicians' means)."""
    rows = con.execute(f"""
        SELECT physician_id = '{physician_id}' AS me, avg({expr}) AS v
        FROM case_cost_total WHERE procedure_code = '{procedure}'
        GROUP BY physician_id HAVING count(*) >= 10""").fetchall()
    mine = [v for me, v in rows if me]
    others = sorted(v for me, v in rows if not me)
    return mine[0], others[len(others) // 2]


def _procedures_of(con, physician_id: str) -> list[str]:
    """The procedures a physician does at least 10 of."""
    return [
        r[0]
        for r in con.execute(f"""SELECT procedure_code FROM cases WHERE physician_id =
            '{physician_id}' GROUP BY 1 HAVING count(*) >= 10""").fetchall()
    ]


# ---------------------------------------------------------------------------------------------
# Shape of the source
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fixture, fmt", [("small_csv", "csv"), ("small_parquet", "parquet")])
def test_every_table_is_written_with_the_contract_columns(fixture, fmt, request):
    src, truth = request.getfixturevalue(fixture)
    con = _connect(src, fmt)
    for name, columns in CONTRACT.items():
        assert (src / f"{name}.{fmt}").exists()
        got = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {name}").fetchall()}
        assert got == columns, name
        assert _one(con, f"SELECT count(*) FROM {name}") == truth["rows"][name], name
    assert truth["rows"]["cases"] == SMALL
    assert json.loads((src / "truth.json").read_text(encoding="utf-8")) == truth


def test_csv_and_parquet_hold_the_same_data(small_csv, small_parquet):
    csv, parquet = _connect(small_csv[0], "csv"), _connect(small_parquet[0], "parquet")
    checks = [
        "SELECT count(*), sum(quantity), sum(wasted_quantity), round(sum(unit_cost), 2), "
        "count(unit_cost), sum(line) FROM supply_usage",
        "SELECT count(*), sum(quantity), round(sum(cost), 2) FROM drug_usage",
        "SELECT count(*), sum(or_minutes), sum(asa_class), sum(complication::int), "
        "min(surgery_date), max(discharge_date) FROM cases",
        "SELECT string_agg(physician_id || name || email, ',' ORDER BY physician_id) FROM physicians",
        "SELECT string_agg(evidence_id || summary || sources, ',' ORDER BY evidence_id) FROM evidence",
        "SELECT string_agg(email || role || coalesce(service_line, '-'), ',' ORDER BY email) FROM users",
    ]
    for sql in checks:
        assert csv.execute(sql).fetchall() == parquet.execute(sql).fetchall(), sql


def test_csv_is_plain_utf8_with_a_header(small_csv):
    src, _ = small_csv
    for name, columns in CONTRACT.items():
        header = (src / f"{name}.csv").read_text(encoding="utf-8").split("\n", 1)[0]
        assert set(header.split(",")) == columns
    physicians = (src / "physicians.csv").read_text(encoding="utf-8")
    assert "Dr. Lars Ångström" in physicians
    first_case = (src / "cases.csv").read_text(encoding="utf-8").split("\n")[1]
    assert "true" in first_case or "false" in first_case  # booleans as true/false


def test_same_arguments_give_the_same_bytes(tmp_path):
    for fmt in ("csv", "parquet"):
        a, b, c = tmp_path / f"a_{fmt}", tmp_path / f"b_{fmt}", tmp_path / f"c_{fmt}"
        write_demo_source(a, cases=1_500, seed=3, fmt=fmt)
        write_demo_source(b, cases=1_500, seed=3, fmt=fmt)
        write_demo_source(c, cases=1_500, seed=4, fmt=fmt)
        for name in [*TABLES, "truth"]:
            ext = "json" if name == "truth" else fmt
            assert (a / f"{name}.{ext}").read_bytes() == (b / f"{name}.{ext}").read_bytes(), name
        for name in ("cases", "supply_usage", "drug_usage"):
            assert (a / f"{name}.{fmt}").read_bytes() != (c / f"{name}.{fmt}").read_bytes(), name


def test_rewriting_in_another_format_leaves_a_single_source(tmp_path):
    write_demo_source(tmp_path, cases=1_000, fmt="csv")
    write_demo_source(tmp_path, cases=1_000, fmt="parquet")
    assert not list(tmp_path.glob("*.csv"))
    assert len(list(tmp_path.glob("*.parquet"))) == len(TABLES)


def test_bad_arguments_are_user_errors(tmp_path):
    with pytest.raises(UserError):
        write_demo_source(tmp_path, cases=1_000, fmt="xlsx")
    with pytest.raises(UserError):
        write_demo_source(tmp_path, cases=10)
    with pytest.raises(UserError):
        write_demo_source(tmp_path, cases=1_000, seed=-1)


def test_command_line_writes_a_source(tmp_path):
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "core",
            "demo",
            "--out",
            str(tmp_path / "d"),
            "--cases",
            "1000",
            "--seed",
            "5",
            "--format",
            "csv",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "1000 cases" in done.stdout
    assert json.loads((tmp_path / "d" / "truth.json").read_text())["seed"] == 5
    bad = subprocess.run(
        [sys.executable, "-m", "core", "demo", "--out", str(tmp_path / "e"), "--cases", "5"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


# ---------------------------------------------------------------------------------------------
# Integrity: the build's validation rules
# ---------------------------------------------------------------------------------------------
def test_keys_are_unique_and_foreign_keys_known(small_csv):
    con = _connect(small_csv[0], "csv")
    keys = {
        "physicians": "physician_id",
        "procedures": "procedure_code",
        "cases": "case_id",
        "items": "item_id",
        "supply_usage": "case_id, item_id, line",
        "drug_usage": "case_id, line",
        "evidence": "evidence_id",
        "users": "email",
        "settings": "key",
    }
    for table, key in keys.items():
        assert _one(con, f"SELECT count(*) - count(DISTINCT ({key})) FROM {table}") == 0, table
    fks = [
        ("cases", "physician_id", "physicians", "physician_id"),
        ("cases", "procedure_code", "procedures", "procedure_code"),
        ("supply_usage", "case_id", "cases", "case_id"),
        ("supply_usage", "item_id", "items", "item_id"),
        ("drug_usage", "case_id", "cases", "case_id"),
        ("evidence", "preferred_item_id", "items", "item_id"),
        ("users", "physician_id", "physicians", "physician_id"),
    ]
    for table, col, ref, ref_col in fks:
        orphans = _one(
            con,
            f"""SELECT count(*) FROM {table} t WHERE t.{col} IS NOT NULL AND
                                NOT EXISTS (SELECT 1 FROM {ref} r WHERE r.{ref_col} = t.{col})""",
        )
        assert orphans == 0, f"{table}.{col}"
    # Every case has supply and drug lines, numbered 1..n without gaps.
    for table in ("supply_usage", "drug_usage"):
        assert _one(con, f"SELECT count(DISTINCT case_id) FROM {table}") == SMALL
        assert (
            _one(
                con,
                f"""SELECT count(*) FROM (SELECT case_id, min(line) lo, max(line) hi,
                             count(*) n FROM {table} GROUP BY 1) WHERE lo <> 1 OR hi <> n""",
            )
            == 0
        )


def test_values_are_in_range(small_csv):
    con = _connect(small_csv[0], "csv")
    assert (
        _one(
            con,
            """SELECT count(*) FROM cases WHERE discharge_date < surgery_date
                        OR asa_class NOT BETWEEN 1 AND 5 OR comorbidity_index < 0
                        OR admission_type NOT IN ('elective', 'urgent', 'emergency')
                        OR patient_sex NOT IN ('F', 'M') OR patient_age NOT BETWEEN 18 AND 100
                        OR or_minutes < 15
                        OR payer NOT IN ('Medicare', 'Medicaid', 'Commercial', 'Self-pay')""",
        )
        == 0
    )
    assert (
        _one(
            con,
            """SELECT count(*) FROM supply_usage WHERE quantity < 1 OR unit_cost < 0
                        OR wasted_quantity NOT BETWEEN 0 AND quantity""",
        )
        == 0
    )
    assert _one(con, "SELECT count(*) FROM drug_usage WHERE quantity < 1 OR cost < 0") == 0
    assert _one(con, "SELECT count(*) FROM items WHERE unit_cost <= 0 OR category IS NULL") == 0
    assert (
        _one(
            con,
            """SELECT count(*) FROM items WHERE criticality NOT IN ('high', 'medium', 'low')
                        OR approved_sources < 1""",
        )
        == 0
    )
    # Money is in cents.
    for table, col in (("items", "unit_cost"), ("supply_usage", "unit_cost"), ("drug_usage", "cost")):
        assert _one(con, f"SELECT count(*) FROM {table} WHERE abs({col} * 100 - round({col} * 100)) > 1e-6") == 0
    # Dates span the two years ending 2026-09-30 and the latest surgery is on that day.
    assert con.execute("SELECT min(surgery_date)::varchar, max(surgery_date)::varchar FROM cases").fetchone() >= (
        "2024-10-01",
        "2026-09-30",
    )
    assert _one(con, "SELECT max(surgery_date)::varchar FROM cases") == "2026-09-30"
    # Price paid is given on a good share of lines, sometimes differing from the item master.
    share, differs = con.execute("""SELECT avg((u.unit_cost IS NOT NULL)::int),
        avg((u.unit_cost <> i.unit_cost)::int) FROM supply_usage u JOIN items i USING (item_id)""").fetchone()
    assert 0.5 < share < 0.8 and 0.05 < differs < 0.5
    assert _one(con, "SELECT avg((wasted_quantity > 0)::int) FROM supply_usage") > 0
    lines, drugs = con.execute("""SELECT avg(n) FROM (SELECT count(*) n FROM supply_usage GROUP BY case_id)
        UNION ALL SELECT avg(n) FROM (SELECT count(*) n FROM drug_usage GROUP BY case_id)""").fetchall()
    assert 25 <= lines[0] <= 33 and 2 <= drugs[0] <= 6
    assert con.execute("""SELECT min(n), max(n) FROM (SELECT count(*) n FROM drug_usage
                          GROUP BY case_id)""").fetchone() >= (2, 2)
    assert _one(con, "SELECT max(n) FROM (SELECT count(*) n FROM drug_usage GROUP BY case_id)") <= 6


# ---------------------------------------------------------------------------------------------
# Content: procedures, items, evidence, roster, settings
# ---------------------------------------------------------------------------------------------
def test_procedures_and_service_lines(small_csv):
    con = _connect(small_csv[0], "csv")
    assert _one(con, "SELECT count(*) FROM procedures") >= 8
    assert _one(con, "SELECT count(DISTINCT service_line) FROM procedures") >= 3
    codes = {r[0] for r in con.execute("SELECT procedure_code FROM procedures").fetchall()}
    assert {"TKA", "THA", "SPF", "LCH", "IHR", "CABG", "PCI", "HYS", "TAVR"} <= codes
    # Every physician works within their own service line.
    assert (
        _one(
            con,
            """SELECT count(*) FROM cases c JOIN physicians p USING (physician_id)
                        JOIN procedures r USING (procedure_code)
                        WHERE p.service_line <> r.service_line""",
        )
        == 0
    )
    assert 55 <= _one(con, "SELECT count(*) FROM physicians") <= 65


def test_items_categories_and_evidence(small_csv):
    con = _connect(small_csv[0], "csv")
    assert _one(con, "SELECT count(*) FROM items") >= 300
    per_cat = dict(con.execute("""SELECT category, sum(preferred::int) FROM items GROUP BY 1""").fetchall())
    assert all(n <= 2 for n in per_cat.values())
    assert 3 <= sum(n == 0 for n in per_cat.values()) <= 8  # a few categories with no preferred item
    with_pref = {c for c, n in per_cat.items() if n > 0}
    evidence = con.execute("""SELECT category, preferred_item_id, evidence_grade, summary, sources,
                              next_review::varchar FROM evidence""").fetchall()
    assert {row[0] for row in evidence} == with_pref and len(evidence) == len(with_pref)
    preferred = {r[0]: r[1] for r in con.execute("SELECT item_id, category FROM items WHERE preferred").fetchall()}
    for category, item, grade, summary, sources, _ in evidence:
        assert preferred[item] == category
        assert summary.splitlines()[0].lower().count("illustrative") == 1
        assert "not clinical guidance" in summary.splitlines()[0]
        for source in sources.split("; "):
            assert "(illustrative" in source and source.rsplit(" ", 1)[1].startswith("https://")
    assert {row[2] for row in evidence} == {"high", "moderate", "low", "very low"}
    assert 2 <= sum(row[5] < "2026-11-22" for row in evidence) <= 3  # a couple overdue
    implant_cats = {r[0] for r in con.execute("SELECT DISTINCT category FROM items WHERE is_implant").fetchall()}
    assert {"Knee implant systems", "Hip implant systems", "Cardiac stents", "Hernia mesh"} <= implant_cats
    assert 1 <= _one(con, "SELECT count(*) FROM items WHERE on_backorder") <= 10
    knee = con.execute("""SELECT min(unit_cost), max(unit_cost) FROM items
                          WHERE category = 'Knee implant systems'""").fetchone()
    assert knee[0] >= 4000 and knee[1] <= 9500


def test_roster_personas_and_settings(small_csv):
    con = _connect(small_csv[0], "csv")
    src, truth = small_csv
    roles = dict(con.execute("SELECT role, count(*) FROM users GROUP BY 1").fetchall())
    assert set(roles) == {"physician", "champion", "supply", "admin"}
    assert roles["supply"] == 2 and roles["admin"] == 1
    # Every physician is a user with their own email; champions lead their own service line.
    assert (
        _one(
            con,
            """SELECT count(*) FROM physicians p LEFT JOIN users u USING (physician_id)
                        WHERE u.email IS DISTINCT FROM p.email""",
        )
        == 0
    )
    assert (
        _one(
            con,
            """SELECT count(*) FROM users WHERE email <> lower(email)
                        OR email NOT LIKE '%@demo-hospital.org'""",
        )
        == 0
    )
    champions = con.execute("""SELECT u.service_line, p.service_line FROM users u
                               JOIN physicians p USING (physician_id) WHERE role = 'champion'""").fetchall()
    assert len(champions) == _one(con, "SELECT count(DISTINCT service_line) FROM physicians")
    assert all(a == b for a, b in champions)
    assert (
        _one(
            con,
            """SELECT count(*) FROM users WHERE role IN ('supply', 'admin')
                        AND (physician_id IS NOT NULL OR service_line IS NOT NULL)""",
        )
        == 0
    )
    personas = truth["personas"]
    users = dict(con.execute("SELECT email, role FROM users").fetchall())
    assert users[personas["physician"]] == "physician"
    assert users[personas["champion"]] == "champion"
    assert users[personas["supply"]] == "supply" and users[personas["admin"]] == "admin"
    okafor = con.execute(f"""SELECT p.name, list(DISTINCT c.procedure_code ORDER BY c.procedure_code)
        FROM physicians p JOIN cases c USING (physician_id) WHERE p.email = '{personas["physician"]}'
        GROUP BY 1""").fetchone()
    assert okafor[0] == "Dr. Amara Okafor" and "TKA" in okafor[1]
    assert (
        _one(
            con,
            f"""SELECT name || '|' || service_line FROM physicians
                         WHERE email = '{personas["champion"]}'""",
        )
        == "Dr. Lars Ångström|Orthopaedics"
    )
    settings = dict(con.execute("SELECT key, value::varchar FROM settings").fetchall())
    assert settings == {
        "or_cost_per_minute": "38",
        "bed_day_cost": "2400",
        "min_cases": "10",
        "min_peers": "5",
        "program_start_date": truth["savings_programme"]["program_start_date"],
        "savings_target_usd": str(truth["savings_programme"]["savings_target_usd"]),
    }


def test_truth_shape(small_csv):
    _, truth = small_csv
    assert truth["generator"] == "scorecard-demo"
    assert (truth["seed"], truth["cases"], truth["format"]) == (7, SMALL, "csv")
    assert (truth["start_date"], truth["end_date"]) == ("2024-10-01", "2026-09-30")
    planted = truth["planted"]
    for key in ("costly_implants", "costly_extra_items", "costly_waste", "costly_or_time"):
        assert 2 <= len(planted[key]) <= 4 and all(p.startswith("PH") for p in planted[key])
    assert 3 <= len(planted["worse_outcomes"]) <= 4
    assert all(set(w) >= {"physician_id", "procedure_code", "outcomes"} for w in planted["worse_outcomes"])
    assert len(planted["sicker_patients"]) == 4
    # The small department (README "Fair numbers at a department's size"): both planted kinds side by side.
    small = planted["small_department"]
    assert small["procedure_code"] == "HYS" and small["service_line"] == "Women's Health"
    assert {"physician_id": small["sicker_patients"], "procedure_code": "HYS"} in planted["sicker_patients"]
    assert any(
        w["physician_id"] == small["worse_outcomes"] and w["procedure_code"] == "HYS" for w in planted["worse_outcomes"]
    )
    assert planted["few_eligible_procedure"] == "TAVR"
    assert 3 <= len(planted["below_min_cases"]) <= 4
    assert set(truth["personas"]) == {"physician", "champion", "supply", "admin"}


def test_few_eligible_and_below_min_cases(small_csv, default):
    for con, truth in ((_connect(small_csv[0], "csv"), small_csv[1]), default):
        few = truth["planted"]["few_eligible_procedure"]
        assert _one(con, f"SELECT count(DISTINCT physician_id) FROM cases WHERE procedure_code = '{few}'") < 5
        last_year = dict(
            ((p, c), n)
            for p, c, n in con.execute("""
            SELECT physician_id, procedure_code, count(*) FROM cases
            WHERE surgery_date > DATE '2025-09-30' GROUP BY 1, 2""").fetchall()
        )
        for entry in truth["planted"]["below_min_cases"]:
            n = last_year.get((entry["physician_id"], entry["procedure_code"]), 0)
            assert n == entry["cases_last_12_months"] and 1 <= n < 10
        for code, facts in truth["procedures"].items():
            eligible = sum(1 for (p, c), n in last_year.items() if c == code and n >= 10)
            assert eligible == facts["eligible_physicians_last_12_months"]
    # At the default size every other procedure has a peer group.
    con, truth = default
    for code, facts in truth["procedures"].items():
        assert (facts["eligible_physicians_last_12_months"] < 5) == (code == "TAVR"), code


# ---------------------------------------------------------------------------------------------
# Planted truths, visible in the raw data (default demo: 20,000 cases, seed 42)
# ---------------------------------------------------------------------------------------------
def test_okafor_is_costlier_on_knees_mostly_because_of_implants(default):
    con, truth = default
    okafor = _one(con, f"SELECT physician_id FROM physicians WHERE email = '{truth['personas']['physician']}'")
    assert okafor in truth["planted"]["costly_implants"]
    medians = dict(
        con.execute("""SELECT physician_id, median(total) FROM case_cost_total
        WHERE procedure_code = 'TKA' AND surgery_date > DATE '2025-09-30'
        GROUP BY 1 HAVING count(*) >= 10""").fetchall()
    )
    peers = sorted(medians.values())
    assert len(peers) >= 5
    peer_median = (peers[(len(peers) - 1) // 2] + peers[len(peers) // 2]) / 2
    assert medians[okafor] > peer_median + 2_000
    gaps = {
        part: _versus_peers(con, okafor, "TKA", part)
        for part in ("supplies", "implants", "pharmacy", "or_cost", "bed_cost")
    }
    gaps = {part: mine - peer for part, (mine, peer) in gaps.items()}
    assert max(gaps, key=gaps.get) == "implants" and gaps["implants"] > 2_000


@pytest.mark.parametrize(
    "key, expr, factor",
    [
        ("costly_implants", "implants", 1.25),
        ("costly_extra_items", "supplies", 1.15),
        ("costly_extra_items", "lines", 1.07),
        ("costly_waste", "waste", 4.0),
        ("costly_or_time", "or_minutes", 1.2),
        ("costly_pharmacy", "pharmacy", 2.0),
    ],
)
def test_planted_cost_physicians_stand_out_on_their_component(default, key, expr, factor):
    con, truth = default
    for physician in truth["planted"][key]:
        checked = 0
        for procedure in _procedures_of(con, physician):
            mine, peers = _versus_peers(con, physician, procedure, expr)
            if expr == "implants" and peers < 100:
                continue  # procedures without implants
            assert mine > factor * peers, (physician, procedure, mine, peers)
            checked += 1
        assert checked, physician


def test_costly_implant_physicians_rarely_use_preferred_implants(default):
    con, truth = default
    shares = dict(
        con.execute("""SELECT physician_id, avg(i.preferred::int) FROM supply_usage u
        JOIN items i USING (item_id) JOIN cases c USING (case_id)
        WHERE i.is_implant AND i.category IN (SELECT category FROM items WHERE preferred)
        GROUP BY 1""").fetchall()
    )
    costly = truth["planted"]["costly_implants"]
    assert max(shares[p] for p in costly) < 0.2
    assert min(v for p, v in shares.items() if p not in costly) > 0.4


def _indirect_oe(con, outcome: str) -> dict:
    """O/E per (physician, procedure): observed against the rate of *other* physicians' patients in
    the same patient-factor stratum (indirect standardisation, leaving the physician out)."""
    rows = con.execute(f"""
        WITH s AS (SELECT physician_id, procedure_code, {outcome}::int AS y,
                   CASE WHEN patient_age < 55 THEN 0 WHEN patient_age < 70 THEN 1 ELSE 2 END AS age_band,
                   least(asa_class, 4) AS asa_band, least(comorbidity_index, 3) AS cm_band,
                   admission_type = 'elective' AS elective FROM cases),
        mine AS (SELECT physician_id, procedure_code, age_band, asa_band, cm_band, elective,
                 count(*) AS n, sum(y) AS o FROM s GROUP BY ALL),
        total AS (SELECT procedure_code, age_band, asa_band, cm_band, elective,
                  count(*) AS n_all, sum(y) AS o_all FROM s GROUP BY ALL)
        SELECT physician_id, procedure_code, sum(o),
               sum(n * (o_all - o) / (n_all - n)) FILTER (n_all > n)
        FROM mine JOIN total USING (procedure_code, age_band, asa_band, cm_band, elective)
        GROUP BY 1, 2""").fetchall()
    return {(p, c): (o, e) for p, c, o, e in rows}


def test_worse_outcome_physicians_are_worse_after_risk_adjustment(default):
    con, truth = default
    for entry in truth["planted"]["worse_outcomes"]:
        for outcome in entry["outcomes"]:
            observed, expected = _indirect_oe(con, outcome)[(entry["physician_id"], entry["procedure_code"])]
            assert observed / expected > 1.5, (entry, outcome, observed, expected)
            assert observed - expected > 3.09 * expected**0.5  # beyond a 99.8% Poisson limit


def test_worse_outcome_physicians_deteriorate_from_the_planted_date(default):
    con, truth = default
    for entry in truth["planted"]["worse_outcomes"]:
        before, after = con.execute(f"""SELECT avg(complication::int) FILTER (surgery_date < DATE '{entry["from"]}'),
            avg(complication::int) FILTER (surgery_date >= DATE '{entry["from"]}') FROM cases
            WHERE physician_id = '{entry["physician_id"]}' AND procedure_code = '{entry["procedure_code"]}'""").fetchone()
        assert after > 1.5 * before, entry


def test_sicker_patient_physicians_look_worse_raw_but_not_after_adjustment(default):
    con, truth = default
    oe = _indirect_oe(con, "complication")
    for entry in truth["planted"]["sicker_patients"]:
        pid, code = entry["physician_id"], entry["procedure_code"]
        mine, peers = con.execute(f"""SELECT avg(complication::int) FILTER (physician_id = '{pid}'),
            avg(complication::int) FILTER (physician_id <> '{pid}') FROM cases
            WHERE procedure_code = '{code}'""").fetchone()
        assert mine > 1.3 * peers, entry
        severity = con.execute(f"""SELECT avg(asa_class) FILTER (physician_id = '{pid}')
            - avg(asa_class) FILTER (physician_id <> '{pid}') FROM cases
            WHERE procedure_code = '{code}'""").fetchone()[0]
        assert severity > 0.4
        observed, expected = oe[(pid, code)]
        assert 0.7 < observed / expected < 1.5, (entry, observed, expected)
