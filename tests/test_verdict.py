"""One decision for an outcome's flag, words and colour (`core.stats.verdict`): never a contradiction.

README "Fair numbers at a department's size": a flag, its sentence, the colour and the interval printed
beside it tell one story. These tests walk every combination of flag, side of 1 the exact 95% interval
is on, and which limits were used, then a grid of real (O, E, limits) inputs through the rendered
sentence.
"""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest

from core import stats
from core.output import sentences

SIDES = ("above", "spans", "below")
LIMITS = ("exact", "overdispersed")
# A flag beyond a high limit means O/E > upper limit > 1, which lies inside its own interval: the
# interval cannot be wholly below 1 (and the mirror image for a low flag).
IMPOSSIBLE = {("high_998", "below"), ("high_95", "below"), ("low_998", "above"), ("low_95", "above")}


def _check(flag: str, side: str, tone: str, words: str) -> None:
    """The rules every worded call keeps."""
    text = words.lower()
    if flag == "unadjusted":
        assert tone == "unadjusted" and "unadjusted" in text and "higher" not in text and "lower" not in text
        return
    if side == "above":
        assert "higher" in text and "within the expected range" not in text and "lower" not in text, words
    if side == "below":
        assert "lower" in text and "within the expected range" not in text and "higher" not in text, words
    if side == "spans":
        if flag == "within":
            assert text == "within the expected range given your patients' risk"
        else:
            assert "still reaches 1" in text, words
    # The colour follows the call: red only when called out high, the blues only for lower.
    assert (tone == "high") == flag.startswith("high")
    assert (tone == "low") == flag.startswith("low")
    assert (tone == "watch_high") == (flag == "within" and side == "above")
    assert (tone == "watch_low") == (flag == "within" and side == "below")
    # The words say which limits were used when that is why nothing is called out.
    if tone in ("watch_high", "watch_low") and "widened" in text:
        assert "usual variation between surgeons" in text


@pytest.mark.parametrize("flag,side,limits", list(itertools.product(stats.FLAGS, SIDES, LIMITS)))
def test_every_combination_is_worded_honestly(flag, side, limits):
    tone, words = stats.verdict_words(flag, side, limits)
    if flag == "unadjusted":
        _check(flag, side, tone, words)
        return
    if (flag, side) in IMPOSSIBLE:
        # Still worded without claiming the opposite side of 1 of what the flag says; never reached.
        assert tone in ("high", "low")
        return
    _check(flag, side, tone, words)
    assert stats.TONE_COLOURS[tone].startswith("#") and tone in stats.TONE_BADGES


def test_the_knee_surgeon_of_the_issue_is_not_within_the_expected_range():
    """42 complications against 15.6 expected (O/E 2.69, exact interval 1.94–3.63)."""
    ratio, lo, hi = stats.oe_ratio(42, 15.6)
    np.testing.assert_allclose([ratio, lo, hi], [2.69, 1.94, 3.63], atol=0.01)
    # With exact limits (ten surgeons are too few to estimate overdispersion) it is called out.
    exact = stats.funnel_limits([15.6], 0.0).iloc[0]
    v = stats.verdict(42, 15.6, exact, True, "exact")
    assert v.flag == "high_998" and v.tone == "high"
    # Even with limits widened so far that it is inside them, the words follow the interval.
    wide = stats.funnel_limits([15.6], 0.5).iloc[0]
    v = stats.verdict(42, 15.6, wide, True, "overdispersed")
    assert v.flag == "within" and v.tone == "watch_high"
    assert "higher than expected" in v.words and "within the expected range" not in v.words


def test_ten_surgeons_get_exact_limits_and_the_reason():
    rng = np.random.default_rng(3)
    e = rng.uniform(8, 20, 10)
    o = rng.poisson(e).astype(float)
    o[0] = 42
    e[0] = 15.6
    f = stats.funnel(o, e)
    assert f.attrs["limits"] == "exact" and f.attrs["tau2"] == 0.0
    assert "at least 20" in f.attrs["limits_reason"] and "8 surgeons" in f.attrs["limits_reason"]
    assert bool(f["outlier998"].iloc[0])
    # The exact limits are the exact test's: outside them exactly when the O/E's exact interval excludes 1.
    np.testing.assert_allclose(f[["lower95", "upper95"]].to_numpy(), np.column_stack(stats.exact_test_limits(e, 0.95)))
    _, lo, hi = stats.oe_ratios(o, e)
    assert (f["outlier95"].to_numpy() == ((lo > 1) | (hi < 1))).all()


def test_exact_limits_are_the_exact_test_on_a_grid():
    """For every count 0–150 and expected count 0.2–80: O/E is beyond the exact limit exactly when the
    Garwood interval printed beside it (`exact_poisson_intervals`) lies wholly on that side of E."""
    e = np.linspace(0.2, 80, 400)
    for level in (0.95, 0.998):
        lo, hi = stats.exact_test_limits(e, level)
        for o in range(151):
            g_lo, g_hi = stats.exact_poisson_intervals(np.full_like(e, o), level)
            assert ((o / e > hi) == (g_lo > e)).all() and ((o / e < lo) == (g_hi < e)).all(), (level, o)
    # Too small an expected count for any "lower than expected": the lower limit is 0.
    assert stats.exact_test_limits([0.02], 0.95)[0][0] == 0.0


def _interval_side(text: str) -> str:
    lo, hi = (float(x) for x in re.search(r"95% CI ([\d.]+)–([\d.]+)", text).groups())
    return "above" if lo > 1 else "below" if hi < 1 else "spans"


@pytest.mark.parametrize("limits", LIMITS)
def test_rendered_sentences_never_contradict_their_interval(limits):
    """Every (O, E) on a grid, through stats.verdict and sentences.outcome_sentence."""
    tau2 = 0.08 if limits == "overdispersed" else 0.0
    seen = set()
    for e in (0.4, 1.0, 2.5, 5.0, 9.4, 15.6, 30.0, 80.0):
        lim = stats.funnel_limits([e], tau2, method="shmi").iloc[0]
        for o in range(0, int(e * 4) + 8):
            v = stats.verdict(o, e, lim, True, limits)
            ratio, lo, hi = stats.oe_ratio(o, e)
            row = {
                "label": "Complications",
                "outcome": "complication",
                "observed": o,
                "expected": e,
                "cases": 100,
                "oe_ratio": ratio,
                "ci95_low": lo,
                "ci95_high": hi,
                "verdict": v.words,
            }
            text = sentences.outcome_sentence(row)
            # The side as a reader sees it, from the printed (rounded) interval.
            printed = _interval_side(text)
            exact_side = "above" if lo > 1 else "below" if hi < 1 else "spans"
            _check(v.flag, exact_side, v.tone, v.words)
            if printed != exact_side:  # rounding to 2 d.p. only ever moves a bound onto 1.00
                assert math.isclose(lo, 1, abs_tol=0.005) or math.isclose(hi, 1, abs_tol=0.005)
            seen.add((v.flag, exact_side))
    # The grid reaches the combinations that matter, including the honest "not called out" ones.
    assert ("high_998", "above") in seen and ("within", "spans") in seen
    if limits == "overdispersed":
        assert ("within", "above") in seen
