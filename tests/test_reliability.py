"""Reliability-adjusted (shrunken) O/E: `core.stats.shrink_oe`, the formulas of mart_outcome_reliability.

README "Reliability-adjusted estimates". The SQL view is held equal to this function on the demo in
tests/test_demo_truths.py; here the estimator itself.
"""

from __future__ import annotations

import numpy as np
import pytest

from core import stats


def test_shrink_oe_formulas_by_hand():
    o, e = np.array([1.0, 5, 12, 3]), np.array([2.0, 4, 5, 3.5])
    out = stats.shrink_oe(o, e)
    m = o.sum() / e.sum()
    w = e / m
    r = o / e
    q = np.sum(w * (r - m) ** 2)
    tau2 = max(0.0, (q - 3) / (w.sum() - (w**2).sum() / w.sum()))
    rel = tau2 / (tau2 + m / e)
    np.testing.assert_allclose(out["pooled_ratio"], m)
    np.testing.assert_allclose(out["tau2"], tau2)
    np.testing.assert_allclose(out["reliability"], rel)
    # The gamma–Poisson posterior mean (O + m²/τ²)/(E + m/τ²).
    np.testing.assert_allclose(out["shrunken_oe_ratio"], (o + m**2 / tau2) / (e + m / tau2))
    # Reliability grows with the expected count; the shrunken ratio lies between the raw one and m.
    assert np.all((out["reliability"] > 0) & (out["reliability"] < 1))
    lo, hi = np.minimum(r, m), np.maximum(r, m)
    assert np.all((out["shrunken_oe_ratio"] >= lo - 1e-12) & (out["shrunken_oe_ratio"] <= hi + 1e-12))


def test_no_spread_beyond_chance_means_no_reliability():
    e = np.full(10, 20.0)
    o = np.array([19, 20, 21, 20, 19, 21, 20, 20, 19, 21], dtype=float)  # tighter than Poisson
    out = stats.shrink_oe(o, e)
    assert (out["tau2"] == 0).all() and (out["reliability"] == 0).all()
    np.testing.assert_allclose(out["shrunken_oe_ratio"], o.sum() / e.sum())


def test_prior_from_the_eligible_only_and_edge_cases():
    o, e = np.array([3.0, 9, 14, 2, 40]), np.array([5.0, 6, 8, 4, 5])
    use = np.array([True, True, True, True, False])
    out = stats.shrink_oe(o, e, use)
    assert out["pooled_ratio"].iloc[0] == pytest.approx(28 / 23)
    # The non-eligible unit is still shrunk, towards the eligible peers' prior.
    assert np.isfinite(out["shrunken_oe_ratio"].iloc[4])
    assert stats.shrink_oe([1.0], [2.0])["reliability"].isna().all()  # one unit: nothing to learn from
    assert stats.shrink_oe([1.0, 2.0, 3.0], [0.0, 2.0, 2.0])["reliability"].isna().iloc[0]


def test_shrunken_is_closer_to_the_truth_for_small_departments():
    """Simulation: departments of 8–12 surgeons with 40–120 cases, true O/E spread sd ~0.3 on the log scale.

    Mean squared error against each surgeon's true ratio, raw O/E against shrunken, over 400 departments.
    """
    rng = np.random.default_rng(2026)
    raw_se, shrunk_se, n = 0.0, 0.0, 0
    for _ in range(400):
        k = int(rng.integers(8, 13))
        cases = rng.integers(40, 121, k)
        expected = cases * rng.uniform(0.08, 0.15, k)  # complication risk 8–15%
        truth = np.exp(rng.normal(0.0, 0.3, k))
        observed = rng.poisson(expected * truth).astype(float)
        out = stats.shrink_oe(observed, expected)
        raw_se += float(np.sum((observed / expected - truth) ** 2))
        shrunk_se += float(np.sum((out["shrunken_oe_ratio"].to_numpy() - truth) ** 2))
        n += k
    raw_mse, shrunk_mse = raw_se / n, shrunk_se / n
    assert shrunk_mse < 0.8 * raw_mse, (raw_mse, shrunk_mse)


def test_reliability_in_words():
    from core.output import sentences

    assert sentences.reliability_words(0.12) == "mostly noise"
    assert sentences.reliability_words(0.55) == "partly noise, partly signal"
    assert sentences.reliability_words(0.9) == "mostly signal"
    text = sentences.reliability_sentence({"cases": 12, "reliability": 0.12, "shrunken_oe_ratio": 1.04})
    assert text.startswith("With 12 cases this figure is mostly noise (reliability 0.12)")
    assert "1.04" in text
    assert "too few eligible" in sentences.reliability_sentence(
        {"cases": 3, "reliability": None, "shrunken_oe_ratio": None, "adjusted": True}
    )


def test_figures_line():
    from core.output import sentences

    line = sentences.figures_line({"oe_ratio": 2.8825, "shrunken_oe_ratio": 2.3096, "reliability": 0.6906})
    assert line == "O/E (raw) **2.88** · shrunken O/E **2.31** · reliability **0.69**"
    assert "shrunken O/E **–**" in sentences.figures_line(
        {"oe_ratio": 1.0, "shrunken_oe_ratio": None, "reliability": float("nan")}
    )
