"""A physician's scorecard figures, read from the mart views through `core.db` (no Streamlit).

The page, the presentation and `python -m core report` all call these functions, so a figure is
computed one way everywhere. Functions that return other physicians' rows take the `Viewer` and
pass them through `core.access.present_peers`, which blinds them for anyone but supply and admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core import access, db, metrics, state, stats
from core.periods import Period, closed_years, default_period, parse_closed_year, parse_period, period_options

BLINDING_SECRET = "peer_letters"


@dataclass(frozen=True)
class DataContext:
    """What every request needs to know about the data in service."""

    settings: dict[str, Any]
    build: dict[str, Any]
    version: str

    @property
    def data_start(self) -> date:
        """Earliest surgery date."""
        return _as_date(self.settings["data_start_date"])

    @property
    def data_end(self) -> date:
        """Latest surgery date."""
        return _as_date(self.settings["data_end_date"])

    @property
    def default_start(self) -> date:
        """Start of the default 12-month period."""
        return _as_date(self.settings["default_start_date"])

    @property
    def min_peers(self) -> int:
        """Eligible physicians needed before peer figures are shown."""
        return int(self.settings["min_peers_count"])

    @property
    def min_cases(self) -> int:
        """Cases a physician needs to be eligible."""
        return int(self.settings["min_cases_count"])

    def default_period(self) -> Period:
        """The default period for this data."""
        return default_period(self.default_start, self.data_end)

    def period_options(self) -> list[Period]:
        """Periods offered in pickers."""
        return period_options(self.data_start, self.data_end, self.default_start)

    def parse_period(self, token: str | None, offered_only: bool = False) -> tuple[Period, str | None]:
        """A period from a link token, or the default and why (`offered_only` for blinded viewers)."""
        return parse_period(token, self.data_start, self.data_end, self.default_start, offered_only=offered_only)

    def closed_years(self) -> list[Period]:
        """The closed calendar years of the data, newest first (the only periods of the equity view)."""
        return closed_years(self.data_start, self.data_end)

    def parse_closed_year(self, token: str | None) -> tuple[Period | None, str | None]:
        """A closed year from a link token, or the latest and why; (None, None) without a closed year."""
        return parse_closed_year(token, self.data_start, self.data_end)


def _as_date(value) -> date:
    return (
        value.date()
        if hasattr(value, "date") and not isinstance(value, date)
        else (value if isinstance(value, date) and not hasattr(value, "hour") else pd.Timestamp(value).date())
    )


def data_context(path: Path | None = None) -> DataContext:
    """Settings, build metadata and version of the database in service."""
    return DataContext(
        db.scalar_row("mart_settings", path), db.scalar_row("mart_build_info", path), db.database_version(path)
    )


def period_variables(period: Period, excluded_case_ids: list[str] | None = None) -> dict[str, Any]:
    """The session variables that scope the period views to `period` less excluded cases."""
    return {"start_date": period.start, "end_date": period.end, "excluded_case_ids": list(excluded_case_ids or [])}


def excluded_cases(state_path: Path | None = None) -> list[str]:
    """Cases whose flag was accepted: they no longer count in any figure."""
    try:
        return state.accepted_flag_case_ids(state_path)
    except Exception:  # noqa: BLE001 - state unreadable must not hide the figures; pages warn
        return []


def roster() -> pd.DataFrame:
    """The roster (emails, roles, physician ids) for sign-in matching."""
    return db.fetch("mart_user")


def procedures() -> pd.DataFrame:
    """Every procedure with its service line."""
    return _procedures(db.database_version()).copy()


@lru_cache(maxsize=4)
def _procedures(version: str) -> pd.DataFrame:
    # A handful of rows that change only with a rebuild: read once per database version.
    return db.fetch("mart_procedure", order_by=["service_line", "procedure_name"])


def physician(physician_id: str) -> dict[str, Any] | None:
    """One physician's directory entry."""
    frame = db.fetch("mart_physician", where={"physician_id": physician_id})
    return frame.iloc[0].to_dict() if len(frame) else None


def physicians() -> pd.DataFrame:
    """The physician directory (identified: for supply and admin pickers)."""
    return db.fetch("mart_physician", order_by=["physician_name"])


def positions(physician_id: str, period: Period, excluded: list[str] | None = None) -> pd.DataFrame:
    """The physician's cost position for every procedure they did in the period."""
    return db.fetch(
        "mart_cost_position",
        where={"physician_id": physician_id},
        order_by=["case_count desc", "procedure_code"],
        variables=period_variables(period, excluded),
    )


def peer_distribution(
    viewer: access.Viewer,
    subject_id: str | None,
    procedure_code: str,
    period: Period,
    secret: bytes,
    excluded: list[str] | None = None,
) -> pd.DataFrame:
    """Each eligible physician's median case cost for the procedure, presented for this viewer."""
    frame = db.fetch(
        "mart_cost_position",
        columns=[
            "physician_id",
            "case_count",
            "eligible_flag",
            "median_case_cost_usd",
            "supplies_usd",
            "implants_usd",
            "pharmacy_usd",
            "or_time_usd",
            "bed_days_usd",
            "preferred_use_pct",
            "waste_per_case_usd",
            "peers_shown_flag",
            "min_peers_count",
        ],
        where={"procedure_code": procedure_code},
        variables=period_variables(period, excluded),
    )
    frame = frame[frame["eligible_flag"] | (frame["physician_id"] == subject_id)]
    if not frame["peers_shown_flag"].any():
        frame = frame[frame["physician_id"] == subject_id]
    frame = frame.merge(physicians()[["physician_id", "physician_name"]], on="physician_id", how="left")
    eligible = frame.loc[frame["eligible_flag"], "physician_id"].astype(str).tolist()
    min_peers = int(frame["min_peers_count"].max()) if len(frame) else 0
    return (
        access.present_peers(
            frame.drop(columns=["min_peers_count"]),
            viewer,
            view_key=f"{procedure_code}|{period.token}",
            secret=secret,
            min_peers=min_peers,
            you_id=subject_id,
            letter_ids=eligible,
        )
        .sort_values("median_case_cost_usd")
        .reset_index(drop=True)
    )


def component_comparison(position: dict[str, Any]) -> pd.DataFrame:
    """Mean cost per case by component: the physician against the peer median (the Definitions page)."""
    rows = []
    for comp in metrics.COMPONENTS:
        rows.append({"component": comp.label, "who": "You", "usd": position.get(comp.column)})
        peer = position.get(comp.peer_column)
        if peer is not None and not pd.isna(peer):
            rows.append({"component": comp.label, "who": "Peer median", "usd": peer})
    return pd.DataFrame(rows)


def category_drivers(
    physician_id: str, procedure_code: str, period: Period, excluded: list[str] | None = None
) -> pd.DataFrame:
    """Supply categories by spend per case: the physician against the median eligible peer, largest gap first."""
    return db.fetch(
        "mart_category_driver",
        columns=["category", "you_per_case_usd", "peer_per_case_usd", "gap_per_case_usd"],
        where={"physician_id": physician_id, "procedure_code": procedure_code},
        order_by=["gap_per_case_usd desc", "you_per_case_usd desc", "category"],
        variables=period_variables(period, excluded),
    )


def funnel_data(
    viewer: access.Viewer,
    subject_id: str | None,
    procedure_code: str,
    outcome: str,
    period: Period,
    secret: bytes,
    min_peers: int,
    excluded: list[str] | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Funnel points (eligible physicians, presented for the viewer) and the model's φ, τ² and adjustment.

    Each point carries `flag`, the scorecard's call (`outcome_calls`, the same as `outcome_summary`):
    for the default period with every case counted, the build's calls (mart_outcome_summary_default);
    otherwise computed here from the peer group. φ and τ² come from the eligible physicians; a subject
    under the minimum case count is drawn against them. For a blinded viewer the peers' points are then
    made to say no more than their volume band (`_blind_funnel_peers`); meta's `group_observed` /
    `group_expected` give the group's O/E.
    """
    variables = period_variables(period, excluded)
    where = {"procedure_code": procedure_code, "outcome": outcome}
    if _reads_build_calls(procedure_code, variables):
        calls = db.fetch("mart_outcome_summary_default", where=where)
    else:
        calls = outcome_calls(db.fetch("mart_outcome_position", where=where, variables=variables), {})
    keep = calls["eligible_flag"].to_numpy(dtype=bool) | (calls["physician_id"] == subject_id).to_numpy()
    calls = calls[keep].sort_values("physician_id").reset_index(drop=True)
    meta = {
        "adjusted": bool(calls["adjusted"].all()) if len(calls) else False,
        "model_note": calls["model_note"].iloc[0] if len(calls) else "",
        "phi": np.nan,
        "tau2": 0.0,
        "peers": int(calls["eligible_flag"].sum()),
    }
    if calls.empty:
        return calls, meta
    # tau2 is what the limits use (0 for exact limits); limits_reason says which and why.
    meta["phi"], meta["tau2"] = float(calls["phi"].iloc[0]), float(calls["tau2"].iloc[0])
    group = calls["eligible_flag"].to_numpy(dtype=bool)
    meta["group_observed"] = float(calls.loc[group, "observed"].sum())
    # The group's own total is the model's sum, as on the outcomes slide (mart_outcome_group): each
    # physician's peer calibration sets them against the others, which a group total has none of.
    meta["group_expected"] = float(calls.loc[group, "model_expected"].sum())
    meta["limits"], meta["limits_reason"] = calls["limits"].iloc[0], calls["limits_reason"].iloc[0]
    points = calls[["physician_id", "cases", "eligible_flag", "observed", "expected", "oe_ratio"]].rename(
        columns={"cases": "case_count", "oe_ratio": "ratio"}
    )
    for name in ("lower95", "upper95", "lower998", "upper998"):
        points[name] = calls[name].to_numpy(dtype=float)
    ratio = points["ratio"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        for level in ("95", "998"):
            # strictly outside, as FunnelPlotR (stats.funnel); NaN is never an outlier
            points[f"outlier{level}"] = (ratio < points[f"lower{level}"].to_numpy()) | (
                ratio > points[f"upper{level}"].to_numpy()
            )
    points["flag"] = calls["flag"].to_numpy()
    points = points.merge(physicians()[["physician_id", "physician_name"]], on="physician_id", how="left")
    eligible = points.loc[points["eligible_flag"], "physician_id"].astype(str).tolist()
    cases = float(points.loc[points["eligible_flag"], "case_count"].sum())
    presented = access.present_peers(
        points,
        viewer,
        view_key=f"{procedure_code}|{period.token}",
        secret=secret,
        min_peers=min_peers,
        you_id=subject_id,
        letter_ids=eligible,
    )
    if not viewer.identified:
        per_case = meta["group_expected"] / cases if cases else np.nan
        presented = _blind_funnel_peers(presented, per_case)
    return presented, meta


# What a blinded peer's funnel point may not carry: each is a function of their exact expected count
# (the limits are exp(±z·√(1/E + τ²))) or of their volume (observed length-of-stay days grow with cases).
_EXACT_FUNNEL_COLUMNS = ("observed", "lower95", "upper95", "lower998", "upper998", "outlier95", "outlier998")


def _blind_funnel_peers(points: pd.DataFrame, expected_per_case: float) -> pd.DataFrame:
    """Peers' funnel points for a blinded viewer: drawn at their band's expected count, nothing finer.

    A point's exact expected count E divided by the viewer's own expected per case estimates the peer's
    volume to within a case or two (README, *What a blinded viewer can and cannot learn*). So a peer is
    plotted at E = (their band's typical count, `access.BAND_TYPICAL`) × (the group's expected per case):
    a function of the band alone. Their O/E is kept (it is what the funnel compares), and so is the call
    made on the exact figures (`flag`); the observed count and the limits at the exact E are dropped
    rather than recomputed, so no column disagrees with the call. The viewer's own point stays exact.
    """
    out = points.copy()
    peers = ~out["is_you"].astype(bool)
    if not peers.any():
        return out
    typical = out.loc[peers, "volume_band"].map(access.band_typical).astype(float)
    out["expected"] = out["expected"].astype(float)
    out.loc[peers, "expected"] = (typical * expected_per_case).round(2)
    for col in _EXACT_FUNNEL_COLUMNS:
        if col in out:
            out[col] = out[col].astype(object) if out[col].dtype == bool else out[col].astype(float)
            out.loc[peers, col] = np.nan if out[col].dtype != object else None
    return out


# The columns of an outcome call (`outcome_calls`), as the build stores them in mart_outcome_summary_default.
CALL_COLUMNS = [
    "procedure_code",
    "physician_id",
    "outcome_order",
    "outcome",
    "label",
    "eligible_flag",
    "cases",
    "observed",
    "expected",
    "model_expected",
    "oe_ratio",
    "ci95_low",
    "ci95_high",
    "lower95",
    "upper95",
    "lower998",
    "upper998",
    "flag",
    "verdict",
    "tone",
    "colour",
    "badge_colour",
    "badge",
    "shrunken_oe_ratio",
    "reliability",
    "adjusted",
    "model_note",
    "phi",
    "tau2",
    "limits",
    "limits_reason",
]
# What outcome_summary returns, one row per outcome in the registry's order.
SUMMARY_COLUMNS = [
    c
    for c in CALL_COLUMNS
    if c not in ("procedure_code", "physician_id", "outcome_order", "eligible_flag", "model_expected")
]


def outcome_calls(
    rows: pd.DataFrame, dispersion: dict[tuple[str, str], tuple[float, float, int, float]]
) -> pd.DataFrame:
    """The call for every row of `rows` (mart_outcome_reliability rows: any physicians, procedures, outcomes).

    A physician's limits are the funnel's at their own expected count, with the peer group's φ and τ²
    (`dispersion`, per procedure × outcome, from the eligible physicians: core/build/funnels.py for the
    default period, else computed from `rows`' eligible physicians). The flag, its words and colour
    come from one decision (`stats.verdicts`); an unadjusted model is never flagged. Vectorised over every
    row at once (each with its own group's τ²), so the build calls it once for every physician
    (mart_outcome_summary_default) and a request for its own five rows: the same numbers by construction.
    """
    if rows.empty:
        return pd.DataFrame(columns=CALL_COLUMNS)
    keys = list(zip(rows["procedure_code"], rows["outcome"], strict=True))
    eligible = rows["eligible_flag"].to_numpy(dtype=bool)
    known = dict(dispersion)
    for key in set(keys) - set(known):  # not given: from this peer group's eligible physicians
        group = eligible & np.fromiter((k == key for k in keys), dtype=bool, count=len(keys))
        known[key] = (np.nan, 0.0, 0, np.nan)  # no eligible physician: exact limits
        if group.any():
            fun = stats.funnel(
                rows["observed_count"].to_numpy(float)[group], rows["expected_count"].to_numpy(float)[group]
            )
            known[key] = (
                fun.attrs["phi"],
                fun.attrs["tau2"],
                int(fun.attrs["n_dispersion"]),
                fun.attrs["tau2_estimate"],
            )
    rules = {key: stats.limits_rule(known[key][2], known[key][3]) for key in set(keys)}
    phi = np.array([known[k][0] for k in keys], dtype=float)
    tau2 = np.array([max(known[k][1], 0.0) for k in keys], dtype=float)
    kinds = np.array([rules[k][0] for k in keys], dtype=object)
    observed = rows["observed_count"].to_numpy(float)
    expected = rows["expected_count"].to_numpy(float)
    limits = stats.funnel_limits(expected, tau2)
    adjusted = rows["adjusted_flag"].to_numpy(dtype=bool)
    call = stats.verdicts(
        observed,
        expected,
        limits["lower95"],
        limits["upper95"],
        limits["lower998"],
        limits["upper998"],
        adjusted,
        kinds,
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(expected > 0, observed / np.where(expected > 0, expected, 1.0), np.nan)
    tones = call["tone"].to_numpy()
    order = {key: i for i, key in enumerate(metrics.OUTCOME_KEYS)}
    outcomes = rows["outcome"].to_numpy()
    frame = pd.DataFrame(
        {
            "procedure_code": rows["procedure_code"].to_numpy(),
            "physician_id": rows["physician_id"].to_numpy(),
            "outcome_order": [order.get(o, len(order)) for o in outcomes],
            "outcome": outcomes,
            "label": [metrics.outcome(o).label if o in order else o for o in outcomes],
            "eligible_flag": eligible,
            "cases": rows["case_count"].to_numpy(dtype="int64"),
            "observed": observed,
            "expected": expected,
            "model_expected": _numbers(rows, "model_expected_count"),
            "oe_ratio": ratio,
            "ci95_low": call["ci95_low"].to_numpy(),
            "ci95_high": call["ci95_high"].to_numpy(),
            "lower95": limits["lower95"].to_numpy(),
            "upper95": limits["upper95"].to_numpy(),
            "lower998": limits["lower998"].to_numpy(),
            "upper998": limits["upper998"].to_numpy(),
            "flag": call["flag"].to_numpy(),
            "verdict": call["words"].to_numpy(),
            "tone": tones,
            "colour": call["colour"].to_numpy(),
            "badge_colour": [stats.TONE_BADGES[t][0] for t in tones],
            "badge": [stats.TONE_BADGES[t][1] for t in tones],
            "shrunken_oe_ratio": _numbers(rows, "shrunken_oe_ratio"),
            "reliability": _numbers(rows, "reliability"),
            "adjusted": adjusted,
            "model_note": rows["model_note"].to_numpy(),
            "phi": phi,
            "tau2": tau2,
            "limits": kinds,
            "limits_reason": [rules[k][1] for k in keys],
        }
    )
    return frame[CALL_COLUMNS]


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column as floats (NULL → NaN), or NaN throughout when the rows do not carry it (mart_outcome_position
    has no shrunken O/E; mart_outcome_reliability no model expected count)."""
    if column not in frame:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)


def outcome_summary(
    subject_id: str, procedure_code: str, period: Period, excluded: list[str] | None = None
) -> pd.DataFrame:
    """The subject's O/E per outcome with its 95% interval, funnel flag and reliability-adjusted estimate.

    The flag uses the funnel of the subject's peer group, so the limits are exactly the ones the
    plot shows: widened for overdispersion only when enough physicians remain to estimate it,
    else exact (`limits`, `limits_reason`). The calls are `outcome_calls`: for the default period with
    every case counted the build made them for every physician (mart_outcome_summary_default, five rows
    to read); otherwise from the peer group's φ and τ² (the build's where no accepted flag touched the
    procedure, else computed once per excluded set) and the subject's own rows.
    `shrunken_oe_ratio` and `reliability` come from mart_outcome_reliability (empirical Bayes).
    """
    variables = period_variables(period, excluded)
    if _reads_build_calls(procedure_code, variables):
        return db.fetch(
            "mart_outcome_summary_default",
            columns=SUMMARY_COLUMNS,
            where={"procedure_code": procedure_code, "physician_id": subject_id},
            order_by=["outcome_order"],
        )
    dispersion = _dispersions(db.database_version()) if db.is_default_request(variables) else {}
    flagged = db.excluded_by_procedure(variables) if not dispersion else None
    if flagged is not None:  # accepted flags, default period: the build's φ, τ² hold where no case was removed
        dispersion = _dispersions(db.database_version()) if procedure_code not in flagged else None
    if dispersion is None:  # a procedure with accepted flags: its calls once per excluded set (README, Performance)
        calls = _flagged_calls(db.database_version(), procedure_code, flagged[procedure_code], variables)
        return _present_calls(calls[calls["physician_id"].to_numpy() == subject_id])
    rows = _outcome_rows("mart_outcome_reliability", subject_id, procedure_code, variables, dispersion)
    calls = outcome_calls(rows, dispersion)
    return _present_calls(calls[calls["physician_id"].to_numpy() == subject_id])


def _present_calls(calls: pd.DataFrame) -> pd.DataFrame:
    """One physician's calls as the page, report and slides read them, in the registry's outcome order."""
    out = calls[calls["outcome"].isin(metrics.OUTCOME_KEYS).to_numpy()]
    return out.sort_values("outcome_order", kind="stable")[SUMMARY_COLUMNS].reset_index(drop=True)


def _reads_build_calls(procedure_code: str, variables: dict[str, Any]) -> bool:
    """Whether the build's calls (mart_outcome_summary_default) hold for this request: the default period, with
    no accepted flag on this procedure's cases (a call depends only on its procedure's cases, so a flag on
    another procedure changes none of them; README, *Performance*)."""
    if not _has_summary(db.database_version()):
        return False
    if db.is_default_request(variables):
        return True
    flagged = db.excluded_by_procedure(variables)
    return flagged is not None and procedure_code not in flagged


@lru_cache(maxsize=4)
def _has_summary(version: str) -> bool:
    """Whether the database holds the build's calls (a database built before them reads the live views)."""
    try:
        db.fetch("mart_outcome_summary_default", limit=0)
    except Exception:  # noqa: BLE001 - the table is missing: the request computes the calls itself
        return False
    return True


@lru_cache(maxsize=4)
def _dispersions(version: str) -> dict[tuple[str, str], tuple[float, float]]:
    """The build's φ and τ² per (procedure, outcome) for the default period, read once per database version."""
    try:
        frame = db.fetch("mart_funnel_default")
    except KeyError:  # pragma: no cover - a database built before the funnel step
        return {}
    return {
        (r.procedure_code, r.outcome): (float(r.phi), float(r.tau2), int(r.dispersion_count), float(r.tau2_estimate))
        for r in frame.itertuples()
    }


def _float(v: Any) -> float:
    try:
        return float(v) if v is not None and not pd.isna(v) else float("nan")
    except (TypeError, ValueError):
        return float("nan")


def prepare_flags(excluded: list[str], path: Path | None = None) -> None:
    """After a flag decision (README, *Performance*): patch the default-period snapshots for this excluded set
    (`db.prepare_excluded`) and compute, once, the funnel dispersion of every procedure a flag touches, so
    the requests that follow read snapshots and compute only the limits at their own expected count."""
    if not excluded:
        return
    try:
        db.prepare_excluded(excluded, path)
    except (db.DatabaseMissing, RuntimeError):  # no database, or one without snapshots: requests read live views
        return
    variables = {"excluded_case_ids": list(excluded)}
    flagged = db.excluded_by_procedure(variables, path) or {}
    version = db.database_version(path)
    for code, removed in flagged.items():
        _flagged_calls(version, code, removed, variables, path)


_FLAGGED_CALLS: dict[tuple, pd.DataFrame] = {}


def _flagged_calls(
    version: str, procedure_code: str, removed: frozenset[str], variables: dict[str, Any], path: Path | None = None
) -> pd.DataFrame:
    """Every physician's calls for one procedure with accepted flags' cases removed, made once per (database
    version, procedure, removed cases) as the build makes them for the unflagged data (`outcome_calls` over
    the procedure's rows with its φ and τ²), so a request on a flagged procedure reads its five rows
    like any other (README, *Performance*)."""
    key = (version, procedure_code, removed)
    if key not in _FLAGGED_CALLS:
        if len(_FLAGGED_CALLS) > 512:
            _FLAGGED_CALLS.clear()
        rows = db.fetch(
            "mart_outcome_reliability", where={"procedure_code": procedure_code}, variables=variables, path=path
        )
        _FLAGGED_CALLS[key] = outcome_calls(rows, _peer_dispersions(rows, procedure_code))
    return _FLAGGED_CALLS[key]


def _outcome_rows(
    view: str, subject_id: str, procedure_code: str, variables: dict[str, Any], dispersion: dict[tuple[str, str], Any]
) -> pd.DataFrame:
    """The rows outcome_summary needs: the subject's own when the peer group's φ and τ² are known for every
    outcome (only the limits at the subject's expected count remain to compute: 5 rows rather than every
    peer's, README *Performance*), else the whole peer group (eligible physicians, who set φ and τ², and
    the subject)."""
    if dispersion:
        mine = db.fetch(view, where={"procedure_code": procedure_code, "physician_id": subject_id}, variables=variables)
        if len(mine) and all((procedure_code, o) in dispersion for o in mine["outcome"]):
            return mine
    everything = db.fetch(view, where={"procedure_code": procedure_code}, variables=variables)
    return everything[everything["eligible_flag"].to_numpy() | (everything["physician_id"] == subject_id).to_numpy()]


def _peer_dispersions(
    frame: pd.DataFrame, procedure_code: str
) -> dict[tuple[str, str], tuple[float, float, int, float]]:
    """φ and τ² per outcome of one procedure from its outcome rows' eligible physicians, as the build's funnel
    step (core/build/funnels.py) stores them in mart_funnel_default; for a procedure with accepted flags,
    whose calls `_flagged_calls` makes (and keeps) once per excluded set."""
    eligible = frame[frame["eligible_flag"].to_numpy()]
    out = {}
    for outcome in metrics.OUTCOME_KEYS:
        group = eligible[eligible["outcome"].to_numpy() == outcome]
        if len(group):
            fun = stats.funnel(
                group["observed_count"].astype(float).tolist(), group["expected_count"].astype(float).tolist()
            )
            out[(procedure_code, outcome)] = (
                float(fun.attrs["phi"]),
                float(fun.attrs["tau2"]),
                int(fun.attrs["n_dispersion"]),
                float(fun.attrs["tau2_estimate"]),
            )
    return out


def physician_flag(limits: Any, adjusted: bool) -> str:
    """The scorecard's call for one physician: the flag of `stats.verdict` (the one function that
    decides flag, words and colour together), for callers that need only the flag.

    `limits` is a funnel row (observed, expected, lower95, upper95, lower998, upper998). A "lower
    than expected" call is kept only when chance alone would rarely give so few events (see
    `stats.verdict`). The funnel itself stays FunnelPlotR's (tests/test_stats.py).
    """
    return stats.verdict(limits["observed"], limits["expected"], limits, adjusted).flag


def cost_trend(physician_id: str, procedure_code: str, excluded: list[str] | None = None) -> pd.DataFrame:
    """Median case cost by quarter: the physician and the peer median."""
    return db.fetch(
        "mart_cost_quarter",
        where={"physician_id": physician_id, "procedure_code": procedure_code},
        order_by=["surgery_quarter"],
        variables={"excluded_case_ids": list(excluded or [])},
    )


def outcome_vlad(physician_id: str, procedure_code: str, excluded: list[str] | None = None) -> pd.DataFrame:
    """The physician's cumulative risk-adjusted chart per outcome (VLAD), case by case in date order."""
    return db.fetch(
        "mart_outcome_vlad",
        columns=[
            "outcome",
            "case_number",
            "surgery_date",
            "observed_count",
            "expected_count",
            "cumulative_observed_count",
            "cumulative_expected_count",
            "vlad_count",
            "cusum_count",
            "cusum_limit_count",
            "cusum_signal_flag",
            "adjusted_flag",
        ],
        where={"physician_id": physician_id, "procedure_code": procedure_code},
        order_by=["outcome", "case_number"],
        variables={"excluded_case_ids": list(excluded or [])},
    )


# The physician's own case list: no patient identity, every cost component and every binary outcome.
CASE_COLUMNS = [
    "surgery_date",
    "case_id",
    "procedure_code",
    "asa_class",
    "comorbidity_index",
    "los_days",
    "case_cost_usd",
    *(c.column for c in metrics.COMPONENTS),
    "waste_usd",
    *(o.source_column for o in metrics.OUTCOMES if o.binary),
]


def my_cases(physician_id: str, period: Period, procedure_code: str | None = None) -> pd.DataFrame:
    """The physician's own cases in the period (never patient identity), newest first.

    Cases removed by an accepted flag are included here, marked by the page, so the physician sees
    what happened to their flag; they are excluded from every figure.
    """
    where: dict[str, Any] = {"physician_id": physician_id}
    if procedure_code:
        where["procedure_code"] = procedure_code
    return db.fetch(
        "mart_period_case",
        columns=CASE_COLUMNS,
        where=where,
        variables=period_variables(period),
        order_by=["surgery_date desc", "case_id"],
    )


def preferred_use(
    physician_id: str, procedure_code: str | None, period: Period, excluded: list[str] | None = None
) -> pd.DataFrame:
    """The physician's preferred-product use per category (and procedure)."""
    where: dict[str, Any] = {"physician_id": physician_id}
    if procedure_code:
        where["procedure_code"] = procedure_code
    return db.fetch(
        "mart_preferred_use",
        where=where,
        variables=period_variables(period, excluded),
        order_by=["switch_saving_usd desc", "spend_usd desc"],
    )
