"""Fair both ways at a real department's size (README "Fair numbers at a department's size").

Simulated departments of 8–12 surgeons with 40–120 cases each: one surgeon's complication odds are
×3 whatever the patient, one surgeon operates on much sicker patients with ordinary care, the rest
are ordinary. Each department goes through the app's own steps — the risk model on patient factors
only (`stats.fit_expected`), each surgeon's expected count set against their peers alone
(`stats.peer_calibration`, as mart_outcome_calibration does), the funnel over the department
(`stats.funnel`: at this size the exact limits, which are the exact test of O/E = 1), the one call
(`stats.verdict`) — and we count who is called out as worse than expected at the 95% level (flag
high_95 or high_998). Done when: the worse surgeon in at least 90% of departments, the
sicker-patients surgeon and the ordinary surgeons in at most 5%.
"""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest

from core import stats

WORSE_ODDS = 3.0
# A typical patient's complication risk: 15%, as in the department of the issue this test answers
# (15.6 expected complications over a surgeon's ~100 knee cases).
BASE_LOGIT = float(np.log(0.15 / 0.85))


def department(seed: int) -> pd.DataFrame:
    """One simulated department: its cases with patient factors, surgeon and complication."""
    rng = np.random.default_rng(seed)
    n_surgeons = int(rng.integers(8, 13))
    volumes = rng.integers(40, 121, n_surgeons)
    frames = []
    for s, n in enumerate(volumes):
        sicker = s == 1
        age = rng.normal(74 if sicker else 67, 8.5, n).clip(40, 95).round()
        asa = np.clip(rng.choice([1, 2, 3, 4], n, p=[0.02, 0.28, 0.5, 0.2] if sicker else [0.1, 0.55, 0.3, 0.05]), 1, 4)
        comorb = rng.gamma(3.0 if sicker else 1.4, 1.0, n).round(1)
        admission = rng.choice(
            ["elective", "urgent", "emergency"], n, p=[0.6, 0.25, 0.15] if sicker else [0.92, 0.06, 0.02]
        )
        sex = rng.choice(["f", "m"], n, p=[0.58, 0.42])
        eta = (
            BASE_LOGIT
            + 0.025 * (age - 67)
            + 0.45 * (asa - 2.2)
            + 0.18 * (comorb - 1.4)
            + 0.35 * (admission == "urgent")
            + 0.8 * (admission == "emergency")
            + 0.1 * (sex == "m")
        )
        if s == 0:
            eta = eta + np.log(WORSE_ODDS)
        y = rng.random(n) < 1 / (1 + np.exp(-eta))
        frames.append(
            pd.DataFrame(
                {
                    "surgeon": s,
                    "patient_age": age,
                    "patient_sex": sex,
                    "asa_class": asa,
                    "comorbidity_index": comorb,
                    "admission_type": admission,
                    "complication": y,
                }
            )
        )
    return pd.DataFrame(pd.concat(frames, ignore_index=True))


def department_flags(cases: pd.DataFrame, calibrate: bool = True, exact: str = "test") -> pd.DataFrame:
    """The app's call per surgeon: risk model, peer calibration, funnel over the department, verdict.

    `calibrate=False, exact="funnelplotr"` is the call as it was before those two steps."""
    fit = stats.fit_expected(
        cases, "complication", "binomial", words=("complication", "complications", "complications")
    )
    per = pd.DataFrame({"surgeon": cases["surgeon"], "o": cases["complication"].astype(float), "e": fit.expected})
    per = per.groupby("surgeon", sort=True).sum()
    if calibrate:
        per["e"] = per["e"] * stats.peer_calibration(per["o"], per["e"], per["o"].sum(), per["e"].sum())
    fun = stats.funnel(per["o"].to_numpy(), per["e"].to_numpy(), exact=exact)
    flags = [
        stats.verdict(r.observed, r.expected, r._asdict(), fit.adjusted, fun.attrs["limits"]).flag
        for r in fun.itertuples(index=False)
    ]
    return pd.DataFrame({"surgeon": per.index, "flag": flags, "limits": fun.attrs["limits"]})


def called_out_rates(seeds, **call) -> dict[str, float]:
    worse, sicker, ordinary, ordinary_n, exact = 0, 0, 0, 0, 0
    for seed in seeds:
        f = department_flags(department(seed), **call)
        high = f["flag"].isin(["high_95", "high_998"]).to_numpy()
        worse += int(high[0])
        sicker += int(high[1])
        ordinary += int(high[2:].sum())
        ordinary_n += len(f) - 2
        exact += int((f["limits"] == "exact").all())
    n = len(seeds)
    return {"worse": worse / n, "sicker": sicker / n, "ordinary": ordinary / ordinary_n, "exact_limits": exact / n}


@lru_cache(maxsize=1)
def _two_hundred() -> dict[str, float]:
    return called_out_rates(range(200))


def test_small_departments_are_fair_both_ways():
    """Over 200 departments: the worse surgeon is called out in at least nine of ten, nobody for sicker
    patients or for chance (README "Fair numbers at a department's size" has the longer runs)."""
    rates = _two_hundred()
    assert rates["exact_limits"] == 1.0  # 8–12 surgeons: too few to estimate overdispersion
    assert rates["worse"] >= 0.90, rates
    assert rates["sicker"] <= 0.05, rates
    assert rates["ordinary"] <= 0.05, rates


def test_what_each_step_buys():
    """Without the peer calibration (the surgeon's own excess raises their expected count) and with
    FunnelPlotR's exact limits (about one event beyond the exact test), the same departments call the
    worse surgeon out less often: the two steps are what reach 90%."""
    plain = called_out_rates(range(200), calibrate=False, exact="funnelplotr")["worse"]
    assert plain < 0.90 <= _two_hundred()["worse"], (plain, _two_hundred())


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("SCORECARD_SLOW"), reason="long run: SCORECARD_SLOW=1 to run it")
def test_small_departments_over_500_seeds():
    """The long runs written down in the README (section "Fair numbers at a department's size")."""
    for seeds in (range(1000, 1500), range(2000, 2500)):
        rates = called_out_rates(seeds)
        print(seeds, rates)
        assert rates["sicker"] <= 0.05 and rates["ordinary"] <= 0.05 and rates["worse"] >= 0.90, rates


def test_the_ceiling_even_with_the_true_expected_counts():
    """What FunnelPlotR's exact limits would allow even with the true expected counts (no model, no
    masking): a surgeon with 40–120 cases (uniform) and odds ×3 clears its 95% limit with probability
    85.6% at a typical risk of 12%, 89.5% at 15% and 92.9% at 20% — computed exactly from the binomial.
    The exact test's own limits (`exact_test_limits`, what the app draws and calls by) give 91.7%, 94.3%
    and 95.9% (README "Fair numbers at a department's size")."""
    from scipy.stats import binom

    n = np.arange(40, 121)

    def ceiling(limits, base: float) -> float:
        """Mean over volumes of P(called out): O/E > the upper limit, i.e. O > E × upper."""
        worse = WORSE_ODDS * base / (1 - base + WORSE_ODDS * base)
        _, upper95 = limits(n * base, 0.95)
        return round(float(np.mean(binom.sf(np.floor(n * base * upper95), n, worse))), 3)

    bases = (0.12, 0.15, 0.20)
    assert [ceiling(stats.poisson_limits, b) for b in bases] == [0.856, 0.895, 0.929]
    assert [ceiling(stats.exact_test_limits, b) for b in bases] == [0.917, 0.943, 0.959]
