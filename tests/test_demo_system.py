"""The real-shape generator (core/tools/demo_system.py): a valid source of a health system's shape, streamed.

README, *Performance*: sizes are measured at one physician per 250 cases a year, at least 100 procedures
over at least 8 service lines and 20,000 items at 1,000,000 cases, with a few procedures dominating and
surgeons' volumes spread tenfold. These tests hold the generator to that shape at small sizes (the
item master and roster scale from them), to the data contract (the build accepts it), to chunked
streaming and to byte-identical output for identical arguments.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from core.build.pipeline import build
from core.errors import UserError
from core.tools import demo_system
from core.tools.demo_system import System, write_system_source


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    folder = tmp_path_factory.mktemp("system")
    return folder, write_system_source(folder, cases=6000, seed=3)


def test_the_shape_scales_to_a_health_system():
    world = System(1_000_000, 42)  # the fixed part only: roster, procedures, catalogue
    assert 1900 <= world.n_phys <= 2100  # one physician per 250 cases a year over two years
    assert len(demo_system.PROCEDURES) >= 100 and len(demo_system.SERVICE_LINES) >= 8
    assert 19_000 <= world.n_items <= 21_000
    share = np.sort(world.share)[::-1]
    assert share[:5].sum() > 0.2 and share[-1] < 0.002  # a few procedures dominate, a long tail
    volume = np.percentile(world.volume, [5, 95])
    assert 8 <= volume[1] / volume[0] <= 14  # surgeons' volumes vary about tenfold


def test_the_source_builds_and_matches_its_truth(source, tmp_path):
    folder, truth = source
    result = build(folder, tmp_path / "system.duckdb")
    assert result.ok, [p.rule for p in result.errors]
    assert result.row_counts["cases"] == 6000 == truth["rows"]["cases"]
    assert result.row_counts["supply_usage"] == truth["rows"]["supply_usage"]
    assert truth["shape"] == "system" and truth["generator"] == "scorecard-demo"
    assert 25 <= truth["rows"]["supply_usage"] / 6000 <= 35  # about 30 supply lines a case
    physicians = pq.read_table(folder / "physicians.parquet")
    assert physicians.num_rows == truth["shape_facts"]["physicians"]
    assert len(set(physicians.column("email").to_pylist())) == physicians.num_rows


def test_case_ids_follow_surgery_dates_across_chunks(source, monkeypatch, tmp_path):
    monkeypatch.setattr(demo_system, "CHUNK_CASES", 500)  # many chunks at a small size
    truth = write_system_source(tmp_path, cases=3000, seed=5)
    cases = pq.read_table(tmp_path / "cases.parquet", columns=["case_id", "surgery_date"]).to_pandas()
    assert cases["case_id"].tolist() == list(range(1, 3001))
    assert cases["surgery_date"].is_monotonic_increasing
    assert str(cases["surgery_date"].max()) == truth["end_date"]  # the default period is the same at any size
    assert pq.ParquetFile(tmp_path / "supply_usage.parquet").metadata.num_row_groups >= 6  # streamed


def test_identical_arguments_give_identical_bytes(tmp_path):
    write_system_source(tmp_path / "a", cases=2000, seed=9)
    write_system_source(tmp_path / "b", cases=2000, seed=9)
    for name in ("cases", "supply_usage", "drug_usage", "items", "users"):
        assert (tmp_path / "a" / f"{name}.parquet").read_bytes() == (tmp_path / "b" / f"{name}.parquet").read_bytes()
    assert json.loads((tmp_path / "a" / "truth.json").read_text()) == json.loads(
        (tmp_path / "b" / "truth.json").read_text()
    )


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(UserError):
        write_system_source(tmp_path, cases=10)
    with pytest.raises(UserError):
        write_system_source(tmp_path, cases=5000, fmt="xlsx")
