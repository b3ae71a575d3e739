"""Statistics for the scorecard: exact Poisson intervals, O/E ratios, funnel plots, risk models.

the Definitions page asks for three things and this module is where all three live, free of Streamlit and
DuckDB so they can be tested on published data sets (tests/test_stats.py, tests/data/SOURCES.md).

1. **Exact intervals for counts.** The Garwood (1936, *Biometrika* 28:437) interval for a Poisson
   count in its chi-square form, as given for the SMR by Ulm (1990, *Am J Epidemiol* 131:373):
   ``lower = ½·χ²(α/2; 2O)``, ``upper = ½·χ²(1−α/2; 2O+2)``, lower = 0 when O = 0.
   An O/E ratio's interval is that interval divided by E (Ulm 1990: E is treated as fixed, as it
   is for an indirectly standardised ratio).

2. **Funnel plots** of O/E against E, as implemented in NHS-R's FunnelPlotR (C. Mainey, R
   package, versions 0.4–0.6; the code read for this module: R/funnel_plot.R,
   R/od_adjustment.R, R/calculate_limits.R, R/build_limits_lookup.R, R/outliers_func.R):

   * exact Poisson limits for a ratio at expected count E (Spiegelhalter 2005, *Stat Med*
     24:1185, "Funnel plots for comparing institutional performance"; FunnelPlotR
     ``calculate_limits``): ``χ²(p; 2E)/(2E)`` below and ``χ²(1−p; 2E+2)/(2E)`` above,
     p = (1 − level)/2 — the Garwood interval of a count equal to E, divided by E;
   * overdispersion (Spiegelhalter 2005, *Qual Saf Health Care* 14:347, "Handling
     over-dispersion of performance indicators"; Spiegelhalter et al. 2012, *JRSS A* 175:1):
     z-scores on a transformed scale, the extremes trimmed, dispersion ``φ = (1/n) Σ zᵢ²``
     (FunnelPlotR ``phi_func``) and the DerSimonian & Laird (1986, *Control Clin Trials* 7:177)
     moment estimate of the between-unit variance
     ``τ² = (nφ − (n − 1)) / (Σwᵢ − Σwᵢ²/Σwᵢ)``, ``wᵢ = 1/sᵢ²``, 0 when nφ < n − 1
     (FunnelPlotR ``tau_func``);
   * method "SHMI" (NHS Digital, Summary Hospital-level Mortality Indicator methodology, cited by
     FunnelPlotR as "SHMI Methodology v1.34", 2020): ``zᵢ = √Eᵢ · ln(Oᵢ/Eᵢ)``, sᵢ = 1/√Eᵢ,
     units truncated 10 % at each end by rank (FunnelPlotR ``truncation``), limits
     ``exp(±z_α · √(1/E + τ²))`` (FunnelPlotR ``calculate_limits``, sr_method "SHMI");
   * method "CQC" (Spiegelhalter 2005 QSHC, square-root transform, as used by the Care Quality
     Commission): ``zᵢ = 2(√Oᵢ − √Eᵢ)``, sᵢ = 1/(2√Eᵢ), z Winsorised at the 10th and 90th
     percentiles (FunnelPlotR ``winsorisation``), limits ``(1 ± z_α · √(1/(4E) + τ²))²``
     (FunnelPlotR ``build_limits_lookup``, method "CQC").

3. **Risk models** (the Definitions page): per procedure, one generalised linear model per outcome on patient
   factors only (age, sex, ASA class, comorbidity index, admission type; never the physician,
   never the payer), fitted with statsmodels' GLM by iteratively reweighted least squares
   (McCullagh & Nelder 1989, *Generalized Linear Models*, 2nd ed., ch. 2). The expected value of
   a case is its fitted mean; a physician's E is the sum over their cases. Where a procedure has
   too few events the fit is not attempted and every case gets the procedure's crude mean,
   labelled as unadjusted.

4. **Fair numbers at a department's size** (README section of that name): overdispersion only from
   at least `MIN_DISPERSION_UNITS` units (`limits_rule`), else exact limits; Firth's penalised
   logistic fit where the plain one separates (`firth_logistic`, checked against R logistf); one
   decision for an outcome's flag, words and colour (`verdict`); the empirical-Bayes shrunken O/E
   and its reliability (`shrink_oe`, mirrored by mart_outcome_reliability); and the cumulative
   charts over time, VLAD and the risk-adjusted CUSUM (`vlad`, `ra_cusum`, mirrored by
   mart_outcome_vlad).

Nothing here ranks physicians: a funnel calls a unit out only when it leaves a control limit.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special as _sp
from scipy import stats as _st

__all__ = [
    "PATIENT_FACTORS",
    "Z95",
    "Z998",
    "FLAGS",
    "FUNNEL_COLUMNS",
    "RiskFit",
    "exact_poisson_interval",
    "exact_poisson_intervals",
    "oe_ratio",
    "oe_ratios",
    "poisson_limits",
    "funnel_limits",
    "funnel_curve",
    "funnel",
    "fit_expected",
    "flag_for",
    "verdict",
    "Verdict",
    "shrink_oe",
    "firth_logistic",
    "limits_rule",
    "MIN_DISPERSION_UNITS",
]

# Two-sided normal quantiles for the 95 % and 99.8 % limits. FunnelPlotR hard-codes 1.959964 and
# 3.090232; the exact values differ from those only after the 7th significant digit.
Z95 = float(_st.norm.ppf(0.975))
Z998 = float(_st.norm.ppf(0.999))

# The limit levels a funnel carries, as (name suffix, two-sided coverage).
_LEVELS = (("95", 0.95), ("998", 0.998))

FUNNEL_COLUMNS = (
    "observed",
    "expected",
    "ratio",
    "lower95",
    "upper95",
    "lower998",
    "upper998",
    "outlier95",
    "outlier998",
)

# What flag_for can return, most worrying first on each side.
FLAGS = ("high_998", "high_95", "within", "low_95", "low_998", "unadjusted")

PATIENT_FACTORS = ("patient_age", "patient_sex", "asa_class", "comorbidity_index", "admission_type")

_METHODS = ("shmi", "cqc", "none")
_FAMILIES = ("binomial", "poisson", "gamma")


# --------------------------------------------------------------------------------------------
# Exact Poisson intervals and O/E ratios
# --------------------------------------------------------------------------------------------


def _check_level(level: float) -> float:
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    return float(level)


def exact_poisson_intervals(observed, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised Garwood exact interval for Poisson counts: (lower, upper) arrays.

    Garwood (1936, *Biometrika* 28:437), chi-square form as in Ulm (1990, *Am J Epidemiol*
    131:373): lower = ½·χ²(α/2; 2O), upper = ½·χ²(1−α/2; 2O+2), lower = 0 when O = 0. Counts may be
    non-integer (the formula is continuous in O, which is what funnel limits at a non-integer
    expected count need). Negative or missing counts give NaN.
    """
    alpha = 1.0 - _check_level(level)
    o = np.asarray(observed, dtype=float)
    ok = np.isfinite(o) & (o >= 0)
    safe = np.where(ok, o, 1.0)
    # chi2.ppf is undefined at 0 degrees of freedom; O = 0 is the closed-form case lower = 0.
    lower = np.where(safe > 0, _st.chi2.ppf(alpha / 2.0, 2.0 * np.maximum(safe, 1e-300)) / 2.0, 0.0)
    upper = _st.chi2.ppf(1.0 - alpha / 2.0, 2.0 * safe + 2.0) / 2.0
    lower = np.where(ok, lower, np.nan)
    upper = np.where(ok, upper, np.nan)
    return lower, upper


def exact_poisson_interval(observed: float, level: float = 0.95) -> tuple[float, float]:
    """Garwood exact interval (lower, upper) for one Poisson count; lower is 0 when observed is 0."""
    lo, hi = exact_poisson_intervals(np.asarray([observed], dtype=float), level)
    return float(lo[0]), float(hi[0])


def oe_ratios(observed, expected, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised O/E ratios with exact intervals: (ratio, lower, upper) arrays, NaN where E <= 0."""
    o = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float)
    o, e = np.broadcast_arrays(o, e)
    lo, hi = exact_poisson_intervals(o, level)
    ok = np.isfinite(e) & (e > 0)
    safe_e = np.where(ok, e, 1.0)
    # Ulm (1990): with E fixed, the interval for O/E is the interval for O divided by E.
    ratio = np.where(ok, o / safe_e, np.nan)
    return ratio, np.where(ok, lo / safe_e, np.nan), np.where(ok, hi / safe_e, np.nan)


def oe_ratio(observed: float, expected: float, level: float = 0.95) -> tuple[float, float, float]:
    """O/E ratio and its exact Poisson interval (ratio, lower, upper); NaNs when expected <= 0."""
    r, lo, hi = oe_ratios([observed], [expected], level)
    return float(r[0]), float(lo[0]), float(hi[0])


# --------------------------------------------------------------------------------------------
# Funnel limits
# --------------------------------------------------------------------------------------------


def poisson_limits(expected, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact Poisson control limits for a ratio at expected count E: (lower, upper), NaN where E <= 0.

    Spiegelhalter (2005, *Stat Med* 24:1185) as coded in FunnelPlotR R/calculate_limits.R:
    lower = χ²(p; 2E)/(2E), upper = χ²(1−p; 2E+2)/(2E), p = (1−level)/2.
    This is the Garwood interval of a count equal to E, divided by E.
    """
    e = np.asarray(expected, dtype=float)
    lo, hi = exact_poisson_intervals(e, level)
    ok = np.isfinite(e) & (e > 0)
    safe_e = np.where(ok, e, 1.0)
    # At E = 0 the lower limit formula gives 0/0; there is no funnel there.
    return np.where(ok, lo / safe_e, np.nan), np.where(ok, hi / safe_e, np.nan)


def exact_test_limits(expected, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Funnel limits that are exactly the exact test of O/E = 1: (lower, upper), NaN where E <= 0.

    A count O lies above the upper limit exactly when its Garwood exact interval (the one printed
    beside O/E, `exact_poisson_intervals`) lies wholly above E, i.e. when the one-sided exact Poisson
    probability of O or more events at E is below (1 − level)/2; below the lower limit exactly when
    the interval lies wholly below E. The limit is the (real-valued) count at which that happens:
    the upper solves ½·χ²(α/2; 2O) = E, the lower ½·χ²(1 − α/2; 2O + 2) = E, both through the gamma
    distribution's inverse in its shape (`scipy.special.gdtrib`), then divided by E.

    Why not FunnelPlotR's `poisson_limits` here: those are the Garwood interval *of a count equal to
    E*, which sits about one event beyond the test's boundary, so a surgeon whose own exact interval
    lies wholly above 1 could still fall inside them — at a department's size that costs about five
    points of power (README "Fair numbers at a department's size") and makes the call disagree with
    the interval beside it. Published FunnelPlotR output is reproduced with ``exact="funnelplotr"``.
    """
    e = np.asarray(expected, dtype=float)
    p = (1.0 - _check_level(level)) / 2.0
    ok = np.isfinite(e) & (e > 0)
    safe = np.where(ok, e, 1.0)
    upper_count = _sp.gdtrib(1.0, p, safe)
    # Below E ≈ −ln(1 − α/2) no count is low enough: the lower limit is 0 and nobody is "lower".
    lower_count = np.maximum(_sp.gdtrib(1.0, 1.0 - p, safe) - 1.0, 0.0)
    return np.where(ok, lower_count / safe, np.nan), np.where(ok, upper_count / safe, np.nan)


_EXACT = ("test", "funnelplotr")


PEER_PRIOR_EVENTS = 5.0  # mart_outcome_calibration.sql says the same 5.0


def peer_calibration(observed, expected, total_observed, total_expected, prior: float | None = None) -> np.ndarray:
    """The factor that sets a physician's expected count against their peers alone (vectorised).

    The risk model is fitted on every case of the procedure, the physician's own included, so its
    intercept makes ΣO = ΣE over all of them: a surgeon with many excess events raises everyone's
    expected risk, their own too, and so hides part of their own excess ("masking"; in a department
    of ten, one surgeon is a tenth of the fit). Multiplying their expected count by the peers' own
    O/E — (ΣO − Oⱼ + a) / (ΣE − Eⱼ + a) over the procedure's other cases — measures them against the
    others only. ``a`` (`PEER_PRIOR_EVENTS`) adds a few events at O/E = 1 to both, so a rare outcome
    whose peers had no events does not set the factor to 0. README "Fair numbers at a department's
    size"; tests/test_department_sim.py measures what it buys.
    """
    a = PEER_PRIOR_EVENTS if prior is None else float(prior)
    o = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = (np.asarray(total_observed, dtype=float) - o + a) / (np.asarray(total_expected, dtype=float) - e + a)
    return np.where(np.isfinite(factor) & (factor > 0), factor, 1.0)


def _adjusted_limits(e: np.ndarray, tau2: float, z: float, method: str) -> tuple[np.ndarray, np.ndarray]:
    ok = np.isfinite(e) & (e > 0)
    safe_e = np.where(ok, e, 1.0)
    if method == "shmi":
        # NHS Digital SHMI specification; FunnelPlotR calculate_limits.R (sr_method "SHMI").
        sd = np.sqrt(1.0 / safe_e + tau2)
        lower, upper = np.exp(-z * sd), np.exp(z * sd)
    else:
        # Spiegelhalter (2005 QSHC) square-root scale: √(O/E) ~ N(1, 1/(4E) + τ²), squared back.
        # FunnelPlotR's build_limits_lookup.R squares both limits; a lower limit that would cross
        # zero on the root scale is zero on the ratio scale (squaring would fold it back up).
        sd = np.sqrt(1.0 / (4.0 * safe_e) + tau2)
        lower = np.square(np.maximum(1.0 - z * sd, 0.0))
        upper = np.square(1.0 + z * sd)
    return np.where(ok, lower, np.nan), np.where(ok, upper, np.nan)


def funnel_limits(expected_values, tau2: float = 0.0, *, method: str = "shmi", exact: str = "test") -> pd.DataFrame:
    """Funnel limits at each expected value: columns expected, lower95, upper95, lower998, upper998.

    ``tau2`` is one value for all, or one per expected value (the build draws every peer group's limits at once).

    tau2 = 0 (or method "none") gives exact limits: the exact test's boundaries (`exact_test_limits`,
    the default, so the call always agrees with the O/E's exact interval) or, with
    ``exact="funnelplotr"``, FunnelPlotR's (see `poisson_limits`); tau2 > 0
    gives the overdispersed limits of `method`: "shmi" exp(±z·√(1/E + τ²)) or "cqc"
    (1 ± z·√(1/(4E) + τ²))² (FunnelPlotR R/calculate_limits.R, R/build_limits_lookup.R).
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if exact not in _EXACT:
        raise ValueError(f"exact must be one of {_EXACT}, got {exact!r}")
    e = np.asarray(expected_values, dtype=float).ravel()
    t = np.asarray(0.0 if tau2 is None else tau2, dtype=float).ravel()
    t = np.where(np.isfinite(t), t, 0.0)
    widened = np.broadcast_to(t > 0, e.shape) if method != "none" else np.zeros(e.shape, dtype=bool)
    out = {"expected": e}
    for name, level in _LEVELS:
        lo, hi = np.full(e.shape, np.nan), np.full(e.shape, np.nan)
        if widened.any():
            z = _st.norm.ppf(0.5 + level / 2.0)
            wide = _adjusted_limits(e[widened], np.broadcast_to(t, e.shape)[widened], z, method)
            lo[widened], hi[widened] = wide
        if not widened.all():
            exact_lo, exact_hi = (exact_test_limits if exact == "test" else poisson_limits)(e[~widened], level)
            lo[~widened], hi[~widened] = exact_lo, exact_hi
        out[f"lower{name}"] = lo
        out[f"upper{name}"] = hi
    return pd.DataFrame(out)


def funnel_curve(
    expected_values, tau2: float = 0.0, *, method: str = "shmi", points: int = 200, exact: str = "test"
) -> pd.DataFrame:
    """Limit lines for drawing a smooth funnel across the range of `expected_values` (log-spaced grid).

    Same columns as `funnel_limits`. The grid runs from half the smallest positive expected value
    (at least 0.1, where FunnelPlotR's lookup table also starts) to 1.1 × the largest.
    """
    e = np.asarray(expected_values, dtype=float)
    e = e[np.isfinite(e) & (e > 0)]
    if e.size == 0:
        return funnel_limits(np.empty(0), tau2, method=method, exact=exact)
    lo = max(0.1, float(e.min()) / 2.0)
    hi = max(lo * 1.01, float(e.max()) * 1.1)
    # Log spacing: the funnel changes fastest at small E, so points are spent there.
    grid = np.geomspace(lo, hi, int(max(points, 2)))
    return funnel_limits(grid, tau2, method=method, exact=exact)


# --------------------------------------------------------------------------------------------
# Overdispersion (φ, τ²)
# --------------------------------------------------------------------------------------------


def _truncate_keep(z: np.ndarray, trim: float) -> np.ndarray:
    """Which units the SHMI truncation keeps (FunnelPlotR R/od_adjustment.R `truncation`).

    Units are ranked (ties averaged) and cut into k = 1/trim groups by
    ``floor(rank · k / (n + 1))``; the lowest group (0) and the groups at or above k − 1 are
    dropped. With trim = 0.1 and 54 units this drops ranks 1–5 and 50–54, as FunnelPlotR does.
    """
    if trim <= 0:
        return np.ones(z.shape, dtype=bool)
    k = 1.0 / trim
    rank = _st.rankdata(z, method="average")
    group = np.floor(rank * k / (z.size + 1))
    return (group > 0) & (group < k - 1)


def _winsorise(z: np.ndarray, trim: float) -> np.ndarray:
    """Winsorise z at its trim and 1 − trim quantiles (FunnelPlotR `winsorisation`).

    R's default quantile (type 7) is numpy's default linear interpolation.
    """
    if trim <= 0 or z.size == 0:
        return z
    lz, uz = np.quantile(z, [trim, 1.0 - trim])
    return np.clip(z, lz, uz)


def _dispersion(z: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """φ = mean z² and DerSimonian–Laird τ² from retained z-scores and weights w = 1/s².

    FunnelPlotR R/od_adjustment.R `phi_func` and `tau_func`; Spiegelhalter (2005, QSHC 14:347);
    DerSimonian & Laird (1986): τ² = max(0, (nφ − (n−1)) / (Σw − Σw²/Σw)), 0 when nφ < n − 1.
    """
    n = z.size
    if n == 0:
        return math.nan, 0.0
    phi = float(np.mean(np.square(z)))
    if n < 2 or n * phi < n - 1:
        return phi, 0.0
    sw = float(np.sum(w))
    denom = sw - float(np.sum(np.square(w))) / sw
    if not denom > 0:  # a single effective unit: no between-unit variance can be estimated
        return phi, 0.0
    return phi, max(0.0, (n * phi - (n - 1)) / denom)


# --------------------------------------------------------------------------------------------
# Funnel
# --------------------------------------------------------------------------------------------

# Overdispersion is estimated only from at least this many units *after trimming* (README, "Fair
# numbers at a department's size"; Definitions page, "Funnel plot"). Why a floor at all: φ and the
# DerSimonian–Laird τ² are moment estimates whose sampling error is large for few units — with k
# units, φ under pure Poisson variation is roughly χ²(k)/k, so with the 8 units left after trimming a
# 10-surgeon department φ exceeds 1.5 by chance 15 % of the time (7 % with 20 units, under 2 % with
# the 44 of FunnelPlotR's medpar example), and a single true outlier
# that survives the trim inflates τ² until it widens its own limits past itself (Spiegelhalter 2005,
# *Qual Saf Health Care* 14:347, "Handling over-dispersion of performance indicators": the
# random-effects limits assume the in-control units define the spread, which needs "a reasonable
# number" of them; Spiegelhalter et al. 2012, *JRSS A* 175:1, sect. 5 warn the estimate is unstable
# with few units). The SHMI that FunnelPlotR's method comes from estimates τ² over ~120 NHS trusts
# (NHS Digital, SHMI methodology), FunnelPlotR's worked example over 54 hospitals. Twenty retained
# units (about 25 before the 10 % trim at each end) is this project's line: a typical 8–12 surgeon
# department gets the exact Poisson limits it can support, a hospital-wide comparison the SHMI ones.
MIN_DISPERSION_UNITS = 20


def limits_rule(
    units: int,
    tau2: float,
    *,
    method: str = "shmi",
    min_units: int = MIN_DISPERSION_UNITS,
    unit_words: tuple[str, str] = ("surgeon", "surgeons"),
) -> tuple[str, str]:
    """Which funnel limits to use and why, in plain words: ("overdispersed" | "exact", reason).

    ``units`` is how many units entered the dispersion estimate (after trimming), ``tau2`` what
    they gave. Overdispersed limits need both enough units (``min_units``) and τ² > 0.
    """
    one, many = unit_words
    n = int(units)
    counted = f"{n:,} {one if n == 1 else many}"
    if method == "none":
        return "exact", "Exact Poisson limits (no overdispersion adjustment asked for)."
    if n < int(min_units):
        return "exact", (
            f"Exact Poisson limits: overdispersion is estimated only from at least {int(min_units)} "
            f"{many} after trimming the extremes, and this peer group leaves {counted} — too few to "
            "estimate the usual spread between them, so the limits allow for chance alone."
        )
    if not (math.isfinite(tau2) and tau2 > 0):
        return "exact", (
            f"Exact Poisson limits: the {counted} who set the spread vary no more than chance "
            "alone would make them (no overdispersion)."
        )
    return "overdispersed", (
        f"Limits widened for overdispersion (the SHMI method, τ² = {tau2:.3g}, estimated from "
        f"{counted} after trimming the extremes): {many} differ by more than chance, so only a "
        "larger difference is called out."
    )


def funnel(
    observed: Sequence[float],
    expected: Sequence[float],
    *,
    method: str = "shmi",
    trim: float = 0.1,
    shmi_rounding: bool = False,
    min_units: int = MIN_DISPERSION_UNITS,
    exact: str = "test",
    in_dispersion: Sequence[bool] | None = None,
) -> pd.DataFrame:
    """Funnel-plot table: one row per unit in input order, limits widened for overdispersion.

    Columns: observed, expected, ratio, lower95, upper95, lower998, upper998, outlier95,
    outlier998. ``df.attrs`` holds ``phi``, ``tau2``, ``method``, ``trim``, ``adjusted`` (whether
    the limits are the overdispersed ones) and ``n_dispersion`` (units that entered φ).

    method "shmi" (default) follows FunnelPlotR ``funnel_plot(draw_adjusted = TRUE,
    sr_method = "SHMI")``: z = √E·ln(O/E), 10 % truncated each end, φ = mean z², τ² by
    DerSimonian–Laird with wᵢ = Eᵢ, limits exp(±z_α·√(1/E + τ²)). "cqc" is FunnelPlotR's
    sr_method "CQC": z = 2(√O − √E), 10 % Winsorised, wᵢ = 4Eᵢ, limits (1 ± z_α·√(1/(4E)+τ²))².
    "none" gives exact Poisson limits (φ and τ² are still computed the SHMI way, for display).
    Exact limits are the exact test's boundaries (`exact_test_limits`), so a unit is outside them
    exactly when its own exact interval excludes 1; ``exact="funnelplotr"`` gives FunnelPlotR's
    (`poisson_limits`), which the published-output tests reproduce.

    The limits (and so the outlier flags) are the overdispersed ones only when τ² > 0, as in
    FunnelPlotR, which draws the exact Poisson limits when τ² = 0, *and* when at least
    ``min_units`` units entered φ (after trimming; `MIN_DISPERSION_UNITS`, see `limits_rule`):
    below that the limits are the exact Poisson ones and ``attrs["tau2_estimate"]`` keeps what the
    few units would have given, for display. τ² > 0 exactly when
    nφ > n − 1, i.e. φ > 1 − 1/n: overdispersion shown by the data. A unit is an outlier when its
    ratio lies strictly outside a limit, as in FunnelPlotR R/outliers_func.R.

    ``shmi_rounding=True`` rounds expected counts to 2 decimals for the SHMI and "none"
    calculations, as FunnelPlotR does by default (``SHMI_rounding = TRUE``, a convention of the
    hospital-level SHMI publication); with it the published FunnelPlotR output is reproduced to
    7 digits. It is off by default because a physician's expected count for a rare outcome can
    be 0.01, where rounding would move E by up to 50 %; on hospital-sized counts the two agree to
    about 1e-4. The ``expected`` and ``ratio`` columns always keep the unrounded values.

    When ``observed`` is a pandas Series its index is kept (e.g. physician ids).

    ``in_dispersion`` (a mask, default every unit) says which units set φ and τ²: the scorecard passes
    the eligible physicians, so a physician under the minimum case count gets limits at their own
    expected count from the peer group's spread without moving it (their O/E is the noisiest there is).

    Units with E <= 0 or a missing value get NaN ratio and limits, are never outliers and do not
    enter φ. A unit with O = 0 has z = −∞ on the SHMI log scale: it ranks lowest, so truncation
    usually removes it; if it survives truncation (few units) it is left out of φ and τ² rather
    than making them infinite (FunnelPlotR would return φ = ∞ there).
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if not 0.0 <= float(trim) < 0.5:
        raise ValueError(f"trim must be in [0, 0.5), got {trim!r}")
    o = np.asarray(observed, dtype=float).ravel()
    e = np.asarray(expected, dtype=float).ravel()
    if o.shape != e.shape:
        raise ValueError(f"observed and expected differ in length ({o.size} vs {e.size})")

    log_scale = method in ("shmi", "none")
    # FunnelPlotR rounds the SHMI expected counts to 2 d.p. before anything else (funnel_plot.R).
    e_calc = np.round(e, 2) if (log_scale and shmi_rounding) else e
    valid = np.isfinite(o) & (o >= 0) & np.isfinite(e_calc) & (e_calc > 0)
    safe_e = np.where(valid, e_calc, 1.0)
    safe_o = np.where(valid, o, 0.0)

    with np.errstate(divide="ignore", invalid="ignore"):
        ratio_shown = np.where(np.isfinite(e) & (e > 0) & np.isfinite(o), o / np.where(e > 0, e, 1.0), np.nan)
        ratio_calc = np.where(valid, safe_o / safe_e, np.nan)

        if log_scale:
            # SHMI z-score (FunnelPlotR transformed_zscore, sr_method "SHMI"): √E·ln(O/E).
            z_all = np.sqrt(safe_e) * np.log(ratio_calc)
            w_all = safe_e  # 1/s² with s = 1/√E
        else:
            # CQC z-score: (√(O/E) − 1)/(1/(2√E)) = 2(√O − √E).
            z_all = 2.0 * (np.sqrt(safe_o) - np.sqrt(safe_e))
            w_all = 4.0 * safe_e  # 1/s² with s = 1/(2√E)

    enters = valid if in_dispersion is None else valid & np.asarray(in_dispersion, dtype=bool).ravel()
    z = z_all[enters]
    w = w_all[enters]
    if log_scale:
        keep = _truncate_keep(z, float(trim))
        # O = 0 → z = −∞: cannot enter a mean of squares (see docstring).
        keep &= np.isfinite(z)
        phi, tau2 = _dispersion(z[keep], w[keep])
        n_disp = int(keep.sum())
    else:
        zw = _winsorise(z, float(trim))
        phi, tau2 = _dispersion(zw, w)
        n_disp = int(zw.size)

    kind, reason = limits_rule(n_disp, tau2, method=method, min_units=min_units)
    adjusted = kind == "overdispersed"
    limits = funnel_limits(np.where(valid, e_calc, np.nan), tau2 if adjusted else 0.0, method=method, exact=exact)

    out = pd.DataFrame(
        {
            "observed": o,
            "expected": e,
            "ratio": ratio_shown,
            "lower95": limits["lower95"].to_numpy(),
            "upper95": limits["upper95"].to_numpy(),
            "lower998": limits["lower998"].to_numpy(),
            "upper998": limits["upper998"].to_numpy(),
        }
    )
    for name, _ in _LEVELS:
        lo = out[f"lower{name}"].to_numpy()
        hi = out[f"upper{name}"].to_numpy()
        with np.errstate(invalid="ignore"):
            # Strictly outside, as FunnelPlotR: inside means lower <= rr <= upper. NaN → False.
            out[f"outlier{name}"] = valid & ((ratio_calc < lo) | (ratio_calc > hi))
    if isinstance(observed, pd.Series) and len(observed.index) == len(out):
        out.index = observed.index
    out.attrs.update(
        {
            "phi": float(phi),
            # τ² the limits use (0 for exact limits); tau2_estimate is what the data gave.
            "tau2": float(tau2) if adjusted else 0.0,
            "tau2_estimate": float(tau2),
            "method": method,
            "trim": float(trim),
            "adjusted": bool(adjusted),
            "n_dispersion": n_disp,
            "limits": kind,
            "limits_reason": reason,
        }
    )
    return out


def _numbers(values, n: int | None = None) -> np.ndarray:
    """Floats from numbers, None, pd.NA or text (missing or unreadable → NaN), as a 1-d array."""
    try:
        out = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        items = np.atleast_1d(np.asarray(values, dtype=object)).ravel()
        out = pd.to_numeric(pd.Series(items, dtype=object), errors="coerce").to_numpy(dtype=float)
    out = np.atleast_1d(out).ravel()
    return np.broadcast_to(out, (n,)).astype(float) if n is not None and out.size == 1 else out


def flags_for(observed, expected, lower95, upper95, lower998, upper998, adjusted) -> np.ndarray:
    """`flag_for` over arrays (one element per physician): what the build and the funnel use for many at once."""
    o = _numbers(observed)
    n = o.size
    e = _numbers(expected, n)
    lo95, hi95, lo998, hi998 = (_numbers(v, n) for v in (lower95, upper95, lower998, upper998))
    adj = np.broadcast_to(np.atleast_1d(np.asarray(adjusted, dtype=bool)).ravel(), (n,))
    ok = np.isfinite(o) & np.isfinite(e) & (e > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(ok, o / np.where(ok, e, 1.0), np.nan)
        # Comparisons with NaN are False, so a missing limit never triggers a flag.
        conditions = [~adj, ~ok, r > hi998, r > hi95, r < lo998, r < lo95]
    return np.select(conditions, ["unadjusted", "within", "high_998", "high_95", "low_998", "low_95"], "within").astype(
        object
    )


def flag_for(
    observed: float, expected: float, lower95: float, upper95: float, lower998: float, upper998: float, adjusted: bool
) -> str:
    """Where a ratio O/E sits against its limits: high_998, high_95, within, low_95, low_998 or unadjusted.

    ``adjusted`` is whether the expected count came from a risk model (RiskFit.adjusted); a
    crude, unadjusted comparison is never flagged. A ratio that cannot be computed (E <= 0) or a
    missing limit is "within": there is nothing to call out. Limits are strict, as in FunnelPlotR.
    """
    return str(flags_for(observed, expected, lower95, upper95, lower998, upper998, bool(adjusted))[0])


# --------------------------------------------------------------------------------------------
# The verdict: flag, words and colour from one decision
# --------------------------------------------------------------------------------------------

# What the flag says, before any caveat (Definitions page, "Funnel plot").
_FLAG_WORDS = {
    "high_998": "clearly higher than expected given your patients' risk (outside the 99.8% limit)",
    "high_95": "somewhat higher than expected given your patients' risk (outside the 95% limit, within 99.8%)",
    "within": "within the expected range given your patients' risk",
    "low_95": "somewhat lower than expected given your patients' risk (better than the 95% limit)",
    "low_998": "clearly lower than expected given your patients' risk (better than the 99.8% limit)",
    "unadjusted": "shown unadjusted: too few events to fit a fair risk model, so no comparison is made",
}
# Diverging red–blue (ColorBrewer RdBu), readable with red–green colour blindness; grey when nothing is said.
TONE_COLOURS = {
    "high": "#b2182b",  # outside a high limit: called out
    "watch_high": "#e08214",  # its own interval lies above 1 but the funnel does not call it out
    "as_expected": "#4d4d4d",
    "watch_low": "#67a9cf",
    "low": "#2166ac",
    "unadjusted": "#9e9e9e",
}


# A named colour for badges (Streamlit's palette) and a short label, per tone.
TONE_BADGES = {
    "high": ("red", "Higher than expected"),
    "watch_high": ("orange", "Above 1, not called out"),
    "as_expected": ("gray", "As expected"),
    "watch_low": ("blue", "Below 1, not called out"),
    "low": ("blue", "Lower than expected"),
    "unadjusted": ("gray", "Unadjusted"),
}


@dataclass(frozen=True)
class Verdict:
    """One physician's outcome call: the flag, the words that go with it, and their colour."""

    flag: str  # one of FLAGS
    tone: str  # a key of TONE_COLOURS
    words: str  # the clause after "O/E … (95% CI …) —"
    colour: str  # hex

    @property
    def badge(self) -> tuple[str, str]:
        """(named colour, short label) for a badge beside the sentence."""
        return TONE_BADGES[self.tone]


def verdict_words(flag: str, side: str, limits: str) -> tuple[str, str]:
    """(tone, words) for a flag, the side of 1 its exact interval is on, and which limits were used.

    Every combination is worded so it never contradicts the interval printed beside it
    (tests/test_verdict.py walks them all): an interval wholly above 1 is never "within the
    expected range"; a flag whose own interval still includes 1 says so.
    """
    if flag == "unadjusted":
        return "unadjusted", _FLAG_WORDS["unadjusted"]
    widened = limits == "overdispersed"
    if flag in ("high_998", "high_95"):
        words = _FLAG_WORDS[flag]
        if side != "above":
            words += ", although its own 95% interval still reaches 1"
        return "high", words
    if flag in ("low_998", "low_95"):
        words = _FLAG_WORDS[flag]
        if side != "below":
            words += ", although its own 95% interval still reaches 1"
        return "low", words
    if side == "above":
        why = (
            "the funnel's limits, widened for the usual variation between surgeons, do not call it out"
            if widened
            else "it is just inside the funnel's 95% limit, so it is not called out — worth watching"
        )
        return "watch_high", (
            f"higher than expected given your patients' risk (the 95% interval lies above 1), but {why}"
        )
    if side == "below":
        why = (
            "the funnel's limits, widened for the usual variation between surgeons, do not call it out"
            if widened
            else "with so few events it is not called out"
        )
        return "watch_low", f"lower than expected given your patients' risk (the 95% interval lies below 1), but {why}"
    return "as_expected", _FLAG_WORDS["within"]


def verdicts(observed, expected, lower95, upper95, lower998, upper998, adjusted, limits_kind="exact") -> pd.DataFrame:
    """THE call for each physician's outcome (arrays, one element each): flag, tone, words and colour decided together.

    The limits are lower95, upper95, lower998, upper998; ``limits_kind`` is "exact" or "overdispersed"
    (`limits_rule`), one for all or one each. The flag is where O/E sits against the funnel limits
    (`flags_for`), with a "lower than expected" call kept only when chance alone would rarely give so
    few events: on the log scale of the SHMI limits a count of 0 always falls below the lower limit,
    even when 0 events happen by chance a fifth of the time (E = 1.5), so a low call must also clear
    the one-sided exact Poisson probability of so few events (under 0.1% for 99.8%, 2.5% for 95%) —
    nobody is praised, or blamed, for small numbers. The words then describe the flag *and* the exact
    95% interval of O/E (`oe_ratios`), so they can never contradict it. Columns: flag, tone, words,
    colour, ci95_low, ci95_high.
    """
    o = _numbers(observed)
    n = o.size
    e = _numbers(expected, n)
    flag = flags_for(o, e, lower95, upper95, lower998, upper998, adjusted)
    low = np.isin(flag, ("low_95", "low_998")) & np.isfinite(e) & (e > 0)
    if low.any():
        p_low = _st.poisson.cdf(np.round(o[low]), e[low])
        flag[low] = np.where(p_low < 0.001, flag[low], np.where(p_low < 0.025, "low_95", "within"))
    _, ci_low, ci_high = oe_ratios(o, e)
    computable = (flag != "unadjusted") & np.isfinite(o) & np.isfinite(e) & (e > 0)
    side = np.where(computable & (ci_low > 1.0), "above", np.where(computable & (ci_high < 1.0), "below", "spans"))
    kinds = np.broadcast_to(np.atleast_1d(np.asarray(limits_kind, dtype=object)).ravel(), (n,))
    said = {key: verdict_words(*key) for key in set(zip(flag, side, kinds, strict=True))}
    tone_words = [said[key] for key in zip(flag, side, kinds, strict=True)]
    tones = [t for t, _ in tone_words]
    return pd.DataFrame(
        {
            "flag": flag.astype(object),
            "tone": tones,
            "words": [w for _, w in tone_words],
            "colour": [TONE_COLOURS[t] for t in tones],
            "ci95_low": ci_low,
            "ci95_high": ci_high,
        }
    )


def verdict(observed: float, expected: float, limits: Any, adjusted: bool, limits_kind: str = "exact") -> Verdict:
    """The call for one physician's outcome (`verdicts` for one): ``limits`` holds lower95, upper95, lower998,
    upper998 (a funnel row or dict)."""

    def get(key: str) -> Any:
        try:
            return limits[key]
        except (KeyError, IndexError, TypeError):
            return math.nan

    row = verdicts(
        [observed],
        [expected],
        [get("lower95")],
        [get("upper95")],
        [get("lower998")],
        [get("upper998")],
        bool(adjusted),
        limits_kind,
    ).iloc[0]
    return Verdict(flag=row["flag"], tone=row["tone"], words=row["words"], colour=row["colour"])


# --------------------------------------------------------------------------------------------
# Reliability-adjusted (shrunken) O/E
# --------------------------------------------------------------------------------------------


def shrink_oe(observed, expected, in_prior=None) -> pd.DataFrame:
    """Empirical-Bayes (gamma–Poisson) shrunken O/E and its reliability, per unit.

    The model (Clayton & Kaldor 1987, *Biometrics* 43:671; the same idea as CMS's hierarchical
    hospital measures): Oᵢ ~ Poisson(Eᵢ·θᵢ), θᵢ ~ Gamma with mean m and variance τ² across the peer
    group. Moment estimates from the units with ``in_prior`` (the eligible physicians):
    m = ΣO/ΣE (the pooled ratio), and the DerSimonian–Laird between-unit variance on the ratio scale,
    wᵢ = Eᵢ/m (Var(Oᵢ/Eᵢ | θ = m) = m/Eᵢ), Q = Σwᵢ(rᵢ − m)², τ² = max(0, (Q − (k − 1)) /
    (Σw − Σw²/Σw)). Then reliability ρᵢ = τ²/(τ² + m/Eᵢ) (the share of the spread of Oᵢ/Eᵢ
    that is real difference rather than chance) and the posterior mean
    shrunken = m + ρᵢ·(Oᵢ/Eᵢ − m) = (Oᵢ + m²/τ²)/(Eᵢ + m/τ²). With τ² = 0 every reliability is 0 and
    every shrunken ratio is m: the peer group shows no difference beyond chance.

    Mirrors the SQL of `mart_outcome_reliability` (tests/test_reliability.py holds the two equal).
    Returns columns pooled_ratio, tau2, reliability, shrunken_oe_ratio (NaN where E <= 0).
    """
    o = np.asarray(observed, dtype=float).ravel()
    e = np.asarray(expected, dtype=float).ravel()
    use = np.ones(o.shape, dtype=bool) if in_prior is None else np.asarray(in_prior, dtype=bool).ravel()
    ok = np.isfinite(o) & np.isfinite(e) & (e > 0)
    k_mask = use & ok
    k = int(k_mask.sum())
    nan = np.full(o.shape, np.nan)
    if k < 2 or not float(e[k_mask].sum()) > 0:
        return pd.DataFrame({"pooled_ratio": nan, "tau2": nan, "reliability": nan, "shrunken_oe_ratio": nan})
    m = float(o[k_mask].sum() / e[k_mask].sum())
    if not m > 0:
        tau2 = 0.0
    else:
        w = e[k_mask] / m
        r = o[k_mask] / e[k_mask]
        q = float(np.sum(w * (r - m) ** 2))
        denom = float(w.sum() - np.sum(w**2) / w.sum())
        tau2 = max(0.0, (q - (k - 1)) / denom) if denom > 0 else 0.0
    safe_e = np.where(ok, e, 1.0)
    rel = np.where(ok, tau2 / (tau2 + m / safe_e) if m > 0 and tau2 > 0 else 0.0, np.nan)
    shrunk = np.where(ok, m + rel * (o / safe_e - m), np.nan)
    return pd.DataFrame(
        {
            "pooled_ratio": np.full(o.shape, m),
            "tau2": np.full(o.shape, tau2),
            "reliability": rel,
            "shrunken_oe_ratio": shrunk,
        }
    )


# --------------------------------------------------------------------------------------------
# Outcomes over time: VLAD and the risk-adjusted CUSUM
# --------------------------------------------------------------------------------------------

# The CUSUM looks for a doubling of the odds of the event (RA = 2) and signals at h = 4.5, the
# choices of Steiner et al. (2000) for their cardiac surgery example.
CUSUM_ODDS_RATIO = 2.0
CUSUM_LIMIT = 4.5


def vlad(observed, expected) -> np.ndarray:
    """Variable life-adjusted display: the running sum of expected − observed, case by case.

    Lovegrove, Valencia, Treasure, Sherlaw-Johnson & Gallivan (1997, *Lancet* 350:1128). Each case
    adds its expected risk and subtracts its event: "net events avoided" so far.
    """
    return np.cumsum(np.asarray(expected, dtype=float) - np.asarray(observed, dtype=float))


def cusum_weights(observed, expected, odds_ratio: float = CUSUM_ODDS_RATIO) -> np.ndarray:
    """Steiner et al. (2000, *Biostatistics* 1:441) log-likelihood-ratio score of each case.

    w = y·ln(RA) − ln(1 − p + RA·p) for an event y ∈ {0, 1} with expected risk p, testing the odds
    ratio RA against 1 (as R `vlad::llr_score`, R0 = 1).
    """
    y = np.asarray(observed, dtype=float)
    p = np.asarray(expected, dtype=float)
    return y * math.log(odds_ratio) - np.log(1.0 - p + odds_ratio * p)


def ra_cusum(observed, expected, odds_ratio: float = CUSUM_ODDS_RATIO) -> np.ndarray:
    """The upper risk-adjusted CUSUM S_t = max(0, S_{t−1} + w_t), S_0 = 0, without restarts.

    The recursion, on purpose: mart_outcome_vlad computes the same from window sums
    (S_t = C_t − min(0, min_{s≤t} C_s), C the running sum of w) and the tests hold the two equal.
    """
    out = np.empty(len(np.atleast_1d(observed)))
    s = 0.0
    for i, w in enumerate(cusum_weights(observed, expected, odds_ratio)):
        s = max(0.0, s + float(w))
        out[i] = s
    return out


# --------------------------------------------------------------------------------------------
# Risk models
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)  # eq=False: numpy arrays do not compare to a single bool
class RiskFit:
    """Expected values for one outcome of one procedure, and whether a risk model made them."""

    expected: np.ndarray  # one per input row, same order
    adjusted: bool  # True: fitted GLM on patient factors; False: procedure's crude mean
    reason: str  # plain words: what was fitted, or why not
    events: int  # binomial: number of events; otherwise number of cases with a value
    penalised: bool = False  # True: Firth's penalised logistic model (the plain fit separated)


_FAMILY_WORDS = {"binomial": "logistic", "poisson": "Poisson (log link)", "gamma": "gamma (log link)"}

# A category level gets its own coefficient only with at least this many cases and, for a binary
# outcome, this many events and non-events; rarer levels are pooled (see _pool_levels). A level
# with no events is what makes a logistic fit separate, so this keeps fits finite.
_MIN_LEVEL_ROWS = 30
_MIN_LEVEL_EVENTS = 3
# A coefficient this large on a standardised covariate or a 0/1 dummy means an odds ratio above
# e^15 ≈ 3·10⁶ per unit: in practice only reached when the likelihood has no maximum (separation).
_MAX_ABS_COEF = 15.0
_ORDINAL = {"asa_class"}
_SEPARATION = "the outcome is perfectly predicted by some patient factors (separation)"
_FACTOR_WORDS = {"patient_sex": "sex", "asa_class": "ASA", "admission_type": "admission type"}


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _fallback(n: int, crude: float, reason: str, events: int) -> RiskFit:
    exp = np.full(n, crude if math.isfinite(crude) else np.nan, dtype=float)
    return RiskFit(expected=exp, adjusted=False, reason=reason, events=int(events))


def _level_sort_key(level: str):
    try:
        return (0, float(level), level)
    except ValueError:
        return (1, 0.0, level)


def _category_codes(raw: pd.Series, numeric: bool) -> tuple[np.ndarray, list[str]]:
    """Integer code per row and the sorted level names; blanks become the level "missing".

    Factorising first and normalising only the distinct values keeps this fast on 100,000 rows.
    """
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    labels = []
    for u in uniques:
        if numeric:
            # ASA class is a number: 3 and "3.0" are one level, and levels sort numerically.
            try:
                v = float(u)
                labels.append(f"{v:g}" if math.isfinite(v) else "missing")
            except (TypeError, ValueError):
                labels.append(str(u).strip().lower() or "missing")
        else:
            labels.append(str(u).strip().lower() or "missing")
    labels.append("missing")  # code −1 (NaN) indexes this last entry
    names = sorted(set(labels), key=_level_sort_key)
    to_name = np.array([names.index(lb) for lb in labels], dtype=np.int64)
    return to_name[codes], names


def _pool_levels(
    codes: np.ndarray, names: list[str], y: np.ndarray, has_y: np.ndarray, binary: bool, ordinal: bool
) -> tuple[np.ndarray, list[str], list[str]]:
    """Pool rare levels; returns (new code per row, kept level names, notes).

    Ordinal factors (ASA class) pool a rare level into its larger neighbour, so ASA 5 joins ASA 4
    rather than ASA 1; nominal ones (sex, admission type) pool into the most common level.
    Counting uses only the rows with an outcome, the rows the model is fitted on.
    """
    k = len(names)
    rows = np.bincount(codes[has_y], minlength=k).astype(float)
    ev = np.bincount(codes[has_y], weights=y[has_y], minlength=k) if binary else np.zeros(k)
    target_of = np.arange(k)
    order = [i for i in range(k) if rows[i] > 0]  # levels only seen on rows without an outcome
    notes: list[str] = []

    def fails(i: int) -> bool:
        if rows[i] < _MIN_LEVEL_ROWS:
            return True
        return binary and (ev[i] < _MIN_LEVEL_EVENTS or rows[i] - ev[i] < _MIN_LEVEL_EVENTS)

    while len(order) > 1:
        failing = [i for i in order if fails(i)]
        if not failing:
            break
        # Pool the rarest failing level first (ties: sort order) so merges are deterministic.
        lv = min(failing, key=lambda i: (rows[i], order.index(i)))
        pos = order.index(lv)
        if ordinal:
            cands = [order[j] for j in (pos - 1, pos + 1) if 0 <= j < len(order)]
        else:
            cands = [i for i in order if i != lv]
        tgt = max(cands, key=lambda i: (rows[i], -order.index(i)))
        rows[tgt] += rows[lv]
        ev[tgt] += ev[lv]
        target_of[target_of == lv] = tgt
        order.remove(lv)
        notes.append(f"{names[lv]} pooled with {names[tgt]}")
    if not order:
        return np.zeros(codes.shape, dtype=np.int64), ["all"], notes
    # Levels never seen on a fitted row (only on rows without an outcome) join the most common one.
    common = max(order, key=lambda i: (rows[i], -order.index(i)))
    for i in range(k):
        if i not in order and target_of[i] == i:
            target_of[i] = common
    kept = sorted(order)
    new_index = {old: n for n, old in enumerate(kept)}
    remap = np.array([new_index[int(target_of[i])] for i in range(k)], dtype=np.int64)
    return remap[codes], [names[i] for i in kept], notes


def _design(
    frame: pd.DataFrame, y: np.ndarray, has_y: np.ndarray, binary: bool
) -> tuple[np.ndarray, list[str], list[str]]:
    """Design matrix (intercept first) from the patient factors; returns (X, column names, notes)."""
    n = len(frame)
    cols = [np.ones(n)]
    names = ["intercept"]
    notes: list[str] = []
    for name in ("patient_age", "comorbidity_index"):
        x = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        fit_x = x[has_y & np.isfinite(x)]
        if fit_x.size == 0:
            notes.append(f"{name} missing")
            continue
        # A missing value takes the median, so one blank cell does not drop a case.
        x = np.where(np.isfinite(x), x, float(np.median(fit_x)))
        mu, sd = float(fit_x.mean()), float(fit_x.std())
        if not sd > 0:
            continue  # constant within this procedure: carries no information, would be collinear
        # Standardised so IRLS is well conditioned and _MAX_ABS_COEF means the same for every column.
        cols.append((x - mu) / sd)
        names.append(name)
    for name in ("patient_sex", "asa_class", "admission_type"):
        codes, levels = _category_codes(frame[name], numeric=name in _ORDINAL)
        codes, kept, lv_notes = _pool_levels(codes, levels, y, has_y, binary, ordinal=name in _ORDINAL)
        notes.extend(f"{_FACTOR_WORDS[name]} {t}" for t in lv_notes)
        if len(kept) < 2:
            continue
        counts = np.bincount(codes[has_y], minlength=len(kept))
        # The most common level is the reference, so the other coefficients are contrasts with
        # the typical patient and are estimated as precisely as the data allow.
        ref = int(np.argmax(counts))
        for j, lv in enumerate(kept):
            if j != ref:
                cols.append((codes == j).astype(float))
                names.append(f"{name}[{lv}]")
    return np.column_stack(cols), names, notes


# A binary outcome needs at least this many events (and non-events) for any risk model, plain or
# penalised; fewer and the procedure's crude rate is shown, labelled unadjusted (Definitions page,
# "Risk adjustment"). Twenty events is about two per coefficient of the patient-factor model
# (intercept, age, comorbidity, sex, up to three ASA and two admission-type contrasts): Firth's
# penalty keeps estimates finite with fewer, but not meaningful.
MIN_EVENTS = 20


def fit_expected(
    frame: pd.DataFrame,
    outcome: str,
    family: str,
    *,
    min_events: int = MIN_EVENTS,
    words: tuple[str, str, str] | None = None,
) -> RiskFit:
    """Expected value per case for one outcome of one procedure, from a GLM on patient factors only.

    family: "binomial" (logit link; complication, readmit_30d, ssi, mortality), "poisson" (log
    link; length of stay — the quasi-Poisson mean model, whose fitted means equal Poisson's) or
    "gamma" (log link; case cost). Covariates are `PATIENT_FACTORS`: age and comorbidity index
    linear (standardised), sex, ASA class and admission type as categories with rare levels pooled.

    ``words`` = (one event, several events, the outcome) in plain words for the reason, from the
    registry (`core.metrics.Outcome.one/many/label`); without it the column name is used.

    Falls back to the procedure's crude mean for every case (adjusted=False, reason in plain
    words) when a binary outcome has fewer than `min_events` events or non-events, when fewer
    than `min_events` cases have a value, or when the fit fails or does not converge. A logistic
    fit that separates (some patient factor predicts the outcome perfectly, or a coefficient runs
    off to infinity — common for rare outcomes such as mortality) is refitted with Firth's
    penalised likelihood (`firth_logistic`), with its intercept corrected so Σ expected =
    Σ observed (FLIC), rather than giving up the risk adjustment.
    For the canonical links (logit, Poisson log) Σ expected = Σ observed over the fitted cases by
    the score equations; the gamma fit is rescaled to the same total (calibration in the large),
    so a procedure's overall O/E is 1 for every outcome.
    """
    if family not in _FAMILIES:
        raise ValueError(f"family must be one of {_FAMILIES}, got {family!r}")
    missing = [c for c in (*PATIENT_FACTORS, outcome) if c not in frame.columns]
    if missing:
        raise KeyError(f"fit_expected: frame lacks columns {missing}")
    n = len(frame)
    binary = family == "binomial"
    one, many, label = words or (f"{outcome} event", f"{outcome} events", outcome.replace("_", " "))

    raw = frame[outcome]
    if raw.dtype == bool or str(raw.dtype) == "boolean":
        y = raw.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    elif binary and not pd.api.types.is_numeric_dtype(raw):
        # Booleans that came through as text ("true"/"false") from an extract.
        words = {
            "true": 1.0,
            "t": 1.0,
            "yes": 1.0,
            "y": 1.0,
            "1": 1.0,
            "false": 0.0,
            "f": 0.0,
            "no": 0.0,
            "n": 0.0,
            "0": 0.0,
        }
        y = raw.astype("string").str.strip().str.lower().map(words).to_numpy(dtype=float, na_value=np.nan)
    else:
        y = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    has_y = np.isfinite(y)
    n_y = int(has_y.sum())
    crude = float(y[has_y].mean()) if n_y else math.nan

    if n == 0:
        return RiskFit(expected=np.empty(0), adjusted=False, reason="no cases", events=0)
    if binary:
        if np.any((y[has_y] != 0) & (y[has_y] != 1)):
            raise ValueError(f"fit_expected: {outcome} must be boolean (0/1) for the binomial family")
        events = int(y[has_y].sum())
        non_events = n_y - events
        if events < min_events:
            return _fallback(
                n,
                crude,
                f"only {_plural(events, one, many)}: too few to fit a risk model (at least {min_events} are needed)",
                events,
            )
        if non_events < min_events:
            return _fallback(
                n,
                crude,
                f"only {_plural(non_events, 'case', 'cases')} without a {one}: too few to fit a risk model "
                f"(at least {min_events} are needed)",
                events,
            )
    else:
        events = n_y
        if n_y < min_events:
            return _fallback(
                n,
                crude,
                f"only {_plural(n_y, 'case', 'cases')} with a {label}: too few to fit a risk "
                "model "
                f"(at least {min_events} are needed)",
                n_y,
            )
        if family == "poisson":
            if np.any(y[has_y] < 0):
                raise ValueError(f"fit_expected: {outcome} must be >= 0 for the poisson family")
            if not crude > 0:
                return _fallback(n, crude, f"every case has {label} 0: nothing to model", n_y)
        else:
            bad = int(np.sum(y[has_y] <= 0))
            if bad:
                return _fallback(
                    n,
                    crude,
                    f"{_plural(bad, 'case has', 'cases have')} a {label} of zero or less: cannot fit a gamma model",
                    n_y,
                )

    X, names, notes = _design(frame, y, has_y, binary)
    cols = _independent_columns(X[has_y])
    if len(cols) < X.shape[1]:
        dropped = ", ".join(names[j] for j in range(X.shape[1]) if j not in cols)
        notes.append(f"left out as a duplicate of other factors: {dropped}")
        X = X[:, cols]
    if X.shape[1] < 2:
        # Only the intercept is left: the "model" would be the crude mean, so say so.
        return _fallback(n, crude, "patient factors do not vary within this procedure: no risk model", events)
    fit = _fit_glm(X[has_y], y[has_y], family)
    penalised = False
    if isinstance(fit, str) and binary and fit.startswith(_SEPARATION):
        firth = firth_logistic(X[has_y], y[has_y])
        if firth.converged:
            fit, penalised = _flic_intercept(X[has_y], y[has_y], firth.params), True
        else:
            fit = "the penalised (Firth) risk model did not converge"
    if isinstance(fit, str):
        return _fallback(n, crude, fit, events)
    params = fit
    eta = X @ params
    if binary:
        mu = _sp.expit(eta)  # no overflow warning for extreme linear predictors
    else:
        mu = np.exp(eta)
        if family == "gamma":
            # Non-canonical link: rescale so Σ expected = Σ observed on the fitted cases.
            mu = mu * (float(y[has_y].sum()) / float(mu[has_y].sum()))
    if not np.all(np.isfinite(mu)):
        return _fallback(n, crude, "the risk model gave non-finite predictions", events)

    kind = "Firth penalised logistic" if penalised else _FAMILY_WORDS[family]
    what = f"{kind} model of {label} on patient factors ({_plural(n_y, 'case', 'cases')}"
    what += f", {_plural(events, one, many)})" if binary else ")"
    if penalised:
        notes.insert(
            0,
            "the plain model has no finite fit (separation: some patient factor predicts the outcome "
            "perfectly), so "
            "the likelihood is penalised (Firth 1993) and the intercept recalibrated (FLIC)",
        )
    if notes:
        what += "; " + "; ".join(notes)
    return RiskFit(expected=mu, adjusted=True, reason="risk-adjusted: " + what, events=events, penalised=penalised)


def _independent_columns(X: np.ndarray, tol: float = 1e-9) -> list[int]:
    """Indices of columns kept so that none is a linear combination of earlier ones.

    Greedy on the Gram matrix XᵀX (p × p, cheap for any n): column j is kept when its residual
    sum of squares after projecting on the kept columns is above tol × its own sum of squares.
    E.g. when every urgent admission in a procedure is ASA 4, the two dummies coincide and the
    later one is dropped, rather than leaving IRLS a singular system.
    """
    G = X.T @ X
    kept: list[int] = []
    for j in range(X.shape[1]):
        if G[j, j] <= 0:
            continue
        if kept:
            K = np.asarray(kept)
            coef = np.linalg.lstsq(G[np.ix_(K, K)], G[K, j], rcond=None)[0]
            resid = G[j, j] - G[j, K] @ coef
        else:
            resid = G[j, j]
        if resid > tol * G[j, j]:
            kept.append(j)
    return kept


# Above this many cases a GLM is fitted on the distinct patient-factor patterns, each weighted by its
# number of cases (`_patterns`): the same likelihood, so the same coefficients, from a few thousand rows.
PATTERNS_ABOVE = 20_000


def _patterns(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(distinct rows of X, the mean outcome of each, its number of cases), or None when grouping saves
    little (more than half of the rows distinct).

    Exact, not an approximation: for the binomial, Poisson and gamma (log link) families the
    log-likelihood is a sum over cases of terms in y_i and μ(x_i), linear in y_i, so the cases that share
    a pattern x contribute n·ℓ(ȳ, μ(x)) — the likelihood of the pattern's mean outcome with frequency
    weight n (McCullagh & Nelder 1989, *Generalized Linear Models*, §4.4). Age and comorbidity index are
    whole numbers and the rest are categories, so a procedure of a million cases has some thousands of
    patterns and each IRLS step costs that, not a million."""
    codes = pd.DataFrame(X).groupby(list(range(X.shape[1])), sort=True).ngroup().to_numpy()
    k = int(codes.max()) + 1 if codes.size else 0
    if k == 0 or k > X.shape[0] // 2:
        return None
    counts = np.bincount(codes, minlength=k).astype(float)
    means = np.bincount(codes, weights=y, minlength=k) / counts
    first = np.full(k, -1)
    first[codes[::-1]] = np.arange(codes.size)[::-1]  # the first row of each pattern
    return X[first], means, counts


def _fit_glm(X: np.ndarray, y: np.ndarray, family: str) -> np.ndarray | str:
    """Fit a GLM by IRLS; the coefficients, or a plain-words reason why there are none.

    Above `PATTERNS_ABOVE` cases the fit runs on the distinct patterns with frequency weights
    (`_patterns`), which gives the same coefficients."""
    import statsmodels.api as sm  # imported here: the rest of the module does not need it
    from statsmodels.tools.sm_exceptions import PerfectSeparationError, PerfectSeparationWarning

    fam = {
        "binomial": sm.families.Binomial(),
        "poisson": sm.families.Poisson(),
        "gamma": sm.families.Gamma(link=sm.families.links.Log()),
    }[family]
    # Start at the crude mean (intercept only): IRLS then never starts from an impossible mean,
    # which the gamma family with a log link is prone to.
    start = np.zeros(X.shape[1])
    m = float(y.mean())
    start[0] = math.log(m / (1.0 - m)) if family == "binomial" else math.log(m)
    grouped = _patterns(X, y) if len(y) > PATTERNS_ABOVE else None
    X_fit, y_fit, weights = grouped if grouped is not None else (X, y, None)
    res, error = None, None
    # QR least squares in each IRLS step is about twice as fast as the default SVD-based lstsq on
    # 100,000 rows. Collinear columns are removed before this (_independent_columns); lstsq is the
    # fallback should QR still fail.
    for wls_method in ("qr", "lstsq"):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                with np.errstate(all="ignore"):
                    res = sm.GLM(y_fit, X_fit, family=fam, freq_weights=weights).fit(
                        start_params=start, maxiter=100, tol=1e-8, wls_method=wls_method
                    )
        except PerfectSeparationError:
            return _SEPARATION
        except (np.linalg.LinAlgError, ValueError, FloatingPointError, OverflowError, ZeroDivisionError) as exc:
            res, error = None, exc
            continue
        if np.all(np.isfinite(np.asarray(res.params, dtype=float))):
            break
    if res is None:
        return f"the risk model could not be fitted ({type(error).__name__})"
    if any(issubclass(w.category, PerfectSeparationWarning) for w in caught):
        return _SEPARATION
    params = np.asarray(res.params, dtype=float)
    if not np.all(np.isfinite(params)):
        return "the risk model could not be fitted (non-finite coefficients)"
    if not getattr(res, "converged", True):
        return "the risk model did not converge"
    if family == "binomial" and params.size > 1 and np.max(np.abs(params[1:])) > _MAX_ABS_COEF:
        return _SEPARATION
    return params


# --------------------------------------------------------------------------------------------
# Firth's penalised logistic regression
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class FirthFit:
    """Coefficients of a Firth-penalised logistic fit, its penalised log-likelihood and standard errors."""

    params: np.ndarray
    bse: np.ndarray
    loglik: float  # penalised: ℓ(β) + ½·log|XᵀWX|
    iterations: int
    converged: bool


def _firth_parts(X: np.ndarray, y: np.ndarray, beta: np.ndarray):
    eta = X @ beta
    p = _sp.expit(eta)
    w = p * (1.0 - p)
    info = X.T @ (X * w[:, None])
    sign, logdet = np.linalg.slogdet(info)
    # log p and log(1 − p) without overflow: −log(1 + e^−η) and −log(1 + e^η).
    ll = float(np.sum(-y * np.logaddexp(0.0, -eta) - (1.0 - y) * np.logaddexp(0.0, eta)))
    pen = ll + 0.5 * logdet if sign > 0 else -math.inf
    return p, w, info, pen


def firth_logistic(
    X, y, *, max_iter: int = 100, max_step: float = 5.0, max_halfstep: int = 25, tol: float = 1e-8
) -> FirthFit:
    """Logistic regression with Firth's (1993, *Biometrika* 80:27) bias-reducing penalty.

    Maximises the log-likelihood penalised by the Jeffreys prior, ℓ*(β) = ℓ(β) + ½·log|I(β)|,
    I(β) = XᵀWX, by Newton–Raphson on the modified score U*(β) = Xᵀ(y − p + h(½ − p)), hᵢ the
    diagonal of the hat matrix W^½X(XᵀWX)⁻¹XᵀW^½ — the algorithm of R's `logistf` (Heinze &
    Schemper 2002, *Stat Med* 21:2409; logistf.fit: steps capped at ``max_step`` and halved until
    ℓ* increases). Unlike plain maximum likelihood its estimates are finite under separation, which
    is what makes a rare outcome's risk model possible. ``X`` includes the intercept column.
    Checked against logistf's documented example (the `sex2` data, tests/test_stats.py).
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    beta = np.zeros(X.shape[1])
    p, w, info, pen = _firth_parts(X, y, beta)
    converged = False
    it = 0
    while it < max_iter:
        it += 1
        try:
            inv = np.linalg.inv(info)
        except np.linalg.LinAlgError:
            break
        h = w * np.einsum("ij,jk,ik->i", X, inv, X)
        score = X.T @ (y - p + h * (0.5 - p))
        step = inv @ score
        biggest = float(np.max(np.abs(step))) if step.size else 0.0
        if biggest > max_step:
            step = step * (max_step / biggest)
        new = beta + step
        new_parts = _firth_parts(X, y, new)
        halves = 0
        while new_parts[3] < pen and halves < max_halfstep:
            step = step / 2.0
            new = beta + step
            new_parts = _firth_parts(X, y, new)
            halves += 1
        beta = new
        p, w, info, pen = new_parts
        if float(np.max(np.abs(step))) < tol and float(np.max(np.abs(score))) < 1e-5 * max(1.0, len(y)) ** 0.5:
            converged = True
            break
    try:
        bse = np.sqrt(np.diag(np.linalg.inv(info)))
    except np.linalg.LinAlgError:
        bse = np.full(beta.shape, np.nan)
    ok = converged and bool(np.all(np.isfinite(beta)))
    return FirthFit(params=beta, bse=bse, loglik=float(pen), iterations=it, converged=ok)


def _flic_intercept(X: np.ndarray, y: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Firth's coefficients with the intercept re-estimated so Σ p = Σ y (FLIC).

    Puhr, Heinze, Nold, Lusa & Geroldinger (2017, *Stat Med* 36:2302), `logistf::flic`: Firth's
    penalty pulls predicted probabilities towards ½, so the average prediction of a rare outcome is
    too high; refitting the intercept with the other coefficients held fixed (an offset) restores
    calibration in the large, which an O/E ratio needs (a procedure's overall O/E is 1).
    """
    from scipy.optimize import brentq

    offset = X[:, 1:] @ beta[1:]
    target = float(y.sum())

    def gap(b0: float) -> float:
        return float(_sp.expit(b0 + offset).sum()) - target

    lo, hi = beta[0] - 20.0, beta[0] + 20.0
    if gap(lo) > 0 or gap(hi) < 0:
        return beta
    out = beta.copy()
    out[0] = brentq(gap, lo, hi, xtol=1e-12)
    return out
