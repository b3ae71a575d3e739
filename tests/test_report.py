"""`python -m core report`: the JSON shape of the issue, the same figures as the marts, clear errors."""

from __future__ import annotations

import json

import pytest

from core.__main__ import main


def _run(capsys, *args):
    code = main(["report", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_report_shape_and_figures(fixture_db, capsys):
    code, out, err = _run(capsys, "--db", str(fixture_db), "--physician", "P01")
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == {"physician_id", "start", "end", "procedures"}
    assert (data["start"], data["end"]) == ("2025-07-01", "2026-06-30")
    tka = data["procedures"][0]
    assert set(tka) == {
        "procedure_code",
        "cases",
        "eligible",
        "median_case_cost_usd",
        "peer_physicians",
        "peer_median_case_cost_usd",
        "cost_percentile",
        "components_usd",
        "preferred_use_pct",
        "switch_saving_usd",
        "waste_usd_per_case",
        "outcomes",
        "pharmacy_by_class_usd",
        "drug_switch_saving_usd",
        "episode",
    }
    assert tka["episode"] is None  # the fixture has no post-acute data
    assert tka["procedure_code"] == "TKA" and tka["cases"] == 3 and tka["eligible"]
    assert tka["median_case_cost_usd"] == 2724 and tka["peer_median_case_cost_usd"] == 2429.5
    assert tka["peer_physicians"] == 4 and tka["cost_percentile"] == 100
    assert tka["components_usd"] == {
        "supplies": 27.33,
        "implants": 1300.0,
        "pharmacy": 8.33,
        "or_time": 1033.33,
        "bed_days": 100.0,
    }
    assert tka["switch_saving_usd"] == 906 and tka["waste_usd_per_case"] == 5.33
    assert set(tka["outcomes"]) == {"complication", "readmit_30d", "ssi", "mortality", "los_days"}
    comp = tka["outcomes"]["complication"]
    assert set(comp) == {
        "observed",
        "expected",
        "oe_ratio",
        "ci95_low",
        "ci95_high",
        "flag",
        "limits",
        "shrunken_oe_ratio",
        "reliability",
    }
    assert comp["flag"] == "unadjusted"  # far too few events in the fixture to fit a model
    # No reliability-adjusted figure for an unadjusted outcome.
    assert comp["shrunken_oe_ratio"] is None and comp["reliability"] is None


def test_peer_figures_null_below_min_peers(fixture_db, capsys):
    code, out, _ = _run(capsys, "--db", str(fixture_db), "--physician", "P06")
    lch = json.loads(out)["procedures"][0]
    assert lch["peer_physicians"] is None and lch["peer_median_case_cost_usd"] is None
    assert lch["cost_percentile"] is None


def test_dates_are_inclusive_and_csv_works(fixture_db, capsys):
    code, out, _ = _run(
        capsys,
        "--db",
        str(fixture_db),
        "--physician",
        "P01",
        "--start",
        "2026-01-10",
        "--end",
        "2026-02-10",
        "--format",
        "csv",
    )
    assert code == 0
    header, row = out.strip().splitlines()
    assert dict(zip(header.split(","), row.split(","), strict=False))["cases"] == "2"


@pytest.mark.parametrize(
    "args,message",
    [
        (["--physician", "NOPE"], "unknown physician"),
        (["--physician", "P01", "--start", "2020-01-01", "--end", "2020-12-31"], "no cases"),
        (["--physician", "P01", "--start", "yesterday"], "YYYY-MM-DD"),
    ],
)
def test_clear_errors_exit_2(fixture_db, capsys, args, message):
    code, out, err = _run(capsys, "--db", str(fixture_db), *args)
    assert code == 2 and message in err and "Traceback" not in err


def test_missing_database(tmp_path, capsys):
    code, _, err = _run(capsys, "--db", str(tmp_path / "none.duckdb"), "--physician", "P01")
    assert code == 2 and "no database" in err
