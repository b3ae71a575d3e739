"""The build's risk step fits procedures in worker processes (core/build/risk.py): the same expected
values and model notes, in the same order, as fitting them one after another in the build's process."""

from __future__ import annotations

import sys
import types

import numpy as np
import pandas as pd
from pandas.testing import assert_frame_equal

from core.build import risk


def _cases(procedures: int = 3, per_procedure: int = 400, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = procedures * per_procedure
    age = rng.integers(20, 90, n)
    frame = pd.DataFrame(
        {
            "case_id": [f"c{i}" for i in range(n)],
            "procedure_code": np.repeat([f"P{p}" for p in range(procedures)], per_procedure),
            "patient_age": age,
            "patient_sex": rng.choice(["F", "M"], n),
            "asa_class": rng.integers(1, 5, n),
            "comorbidity_index": rng.integers(0, 6, n).astype(float),
            "admission_type": rng.choice(["elective", "urgent", "emergency"], n, p=[0.7, 0.2, 0.1]),
            "los_days": rng.poisson(2 + age / 40),
            "case_cost_usd": rng.gamma(4.0, 4000.0, n),
        }
    )
    for column, rate in (("complication_flag", 0.15), ("readmit_30d_flag", 0.1), ("ssi_flag", 0.05)):
        frame[column] = rng.random(n) < rate
    frame["mortality_flag"] = rng.random(n) < 0.004  # too rare for a model: the crude-rate fallback
    return frame


def test_worker_processes_give_the_same_fits_in_the_same_order(monkeypatch, tmp_path):
    # A build runs as `python -m core build`, whose main module spawned workers import by name. Under
    # pytest, after an AppTest has run a page, `__main__` can be Streamlit's temporary script, which a
    # spawned worker would re-run and die on (the build then fits in-process: `expected_for`'s fallback).
    # A bare main module stands for the build's here, so the processes really start.
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    cases = _cases()
    alone_expected, alone_notes = risk.expected_for(cases, workers=1)
    pooled_expected, pooled_notes = risk.expected_for(cases, workers=2)
    assert_frame_equal(pooled_expected, alone_expected)
    assert_frame_equal(pooled_notes, alone_notes)
    assert list(alone_notes["procedure_code"].unique()) == ["P0", "P1", "P2"]
    assert len(alone_expected) == len(cases)
    # The processes really ran (expected_for falls back to fitting in this process if they cannot start).
    folder = tmp_path / "fits"
    folder.mkdir()
    cases_file = folder / "cases.parquet"
    cases.sort_values(["procedure_code", "case_id"]).to_parquet(cases_file, index=False)
    tasks = [(code, str(cases_file), str(folder / f"{code}.parquet")) for code in ("P0", "P1", "P2")]
    notes = risk._fit_in_processes(tasks, 2)
    assert pd.DataFrame([n for part in notes for n in part]).equals(alone_notes)
    fitted = pd.concat([pd.read_parquet(t[2]) for t in tasks], ignore_index=True)
    assert_frame_equal(fitted, alone_expected)
