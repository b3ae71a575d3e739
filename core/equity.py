"""Outcomes and cost by patient group (README, *Equity*): reads and intervals, no Streamlit.

Value-based programmes are asked to track equity, not only cost: do Medicaid, dual-eligible, older or
minority patients have worse risk-adjusted outcomes, or cost more, than the patients beside them?
The figures are shown per closed calendar year only (`core.periods.closed_years`): years are disjoint,
so no two views can be subtracted to recover a small cell of the period between them. Within a year,
`suppress` is THE suppression rule (CMS cell-size rule: 1–10 cases or events show nothing) together with
the cells that would let one be worked out from what is shown, across the hospital and all its service
lines at once. The build applies it to every closed year (`mart_equity_group`); with accepted flags the
year is recomputed from `mart_equity_cell` and suppressed here the same way. Beyond that, this module
adds only row-wise arithmetic on shown cells — the exact Poisson interval of each O/E (`core.stats`), and
each group's gap to the dimension's reference group (its largest shown group) with its interval — and
never a total.

Who may see which scope is decided in `core.access.equity_scopes`.
"""

from __future__ import annotations

import heapq
import math
from datetime import date

import numpy as np
import pandas as pd
from scipy.stats import beta, norm

from core import db, metrics, scorecard, stats
from core.periods import Period, closed_years

MIN_CELL = 11  # the CMS cell-size rule: counts of 1–10 are never shown (mart_equity_group)
MEASURES = ("cost", "complication", "readmit_30d", "ssi", "mortality")
MEASURE_LABELS = {"cost": "Cost per case", **{o.key: o.label for o in metrics.OUTCOMES if o.key in MEASURES}}
_Z95 = float(norm.ppf(0.975))
# A gap is called clear only beyond 99.8%, as a physician is called out only outside the funnel's 99.8%
# limit: a page compares dozens of groups, and at 95% one in twenty would differ by chance alone.
CLEAR_LEVEL = 0.998
_Z_CLEAR = float(norm.ppf(1 - (1 - CLEAR_LEVEL) / 2))


def rate_ratio_interval(o1, e1, o2, e2, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ratio, low, high) of (o1/e1) ÷ (o2/e2), exact conditional on o1 + o2 (vectorised).

    Given n = o1 + o2 events, o1 is binomial with p = R·e1 / (R·e1 + e2); the Clopper–Pearson interval
    for p maps to R = p / (1 − p) · e2 / e1 (Breslow & Day 1987, vol. II §2.4; the method of
    `poisson.test` for two samples in R). o1 = 0 gives a lower limit of 0; o2 = 0 an upper of ∞.
    """
    o1, e1, o2, e2 = (np.asarray(x, dtype=float) for x in (o1, e1, o2, e2))
    alpha = 1 - level
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (o1 / e1) / (o2 / e2)
        p_low = np.where(o1 > 0, beta.ppf(alpha / 2, np.maximum(o1, 1e-12), o2 + 1), 0.0)
        p_high = np.where(o2 > 0, beta.ppf(1 - alpha / 2, o1 + 1, np.maximum(o2, 1e-12)), 1.0)
        low = p_low / (1 - p_low) * e2 / e1
        high = np.where(p_high < 1, p_high / (1 - p_high) * e2 / e1, np.inf)
    bad = ~(np.isfinite(e1) & np.isfinite(e2) & (e1 > 0) & (e2 > 0) & np.isfinite(o1) & np.isfinite(o2))
    return (np.where(bad, np.nan, ratio), np.where(bad, np.nan, low), np.where(bad, np.nan, high))


# --- suppression: one rule, in one place (README, *Equity*) -------------------------------------------

HOSPITAL_COLUMN = "\x00hospital"  # the hospital's cells, one more column of the linked table
UNSHOWN_COLUMN = ""  # cases with no service line: counted in the hospital, shown in no scope
OUTCOME_MEASURES = tuple(m for m in MEASURES if m != "cost")
# The columns of mart_equity_group (one closed year, every scope), in order.
COLUMNS = [
    "year",
    "scope",
    "scope_value",
    "dimension",
    "dimension_label",
    "dimension_order",
    "group_value",
    "measure",
    "suppressed_flag",
    "case_count",
    "observed_count",
    "expected_count",
    "mean_case_cost_usd",
    "cost_index",
    "cost_index_var",
    "reference_group",
    "reference_flag",
    "ref_case_count",
    "ref_observed_count",
    "ref_expected_count",
    "ref_cost_index",
    "ref_cost_index_var",
]
_FIGURES = ["case_count", "observed_count", "expected_count", "mean_case_cost_usd", "cost_index", "cost_index_var"]

Edge = tuple[str, str]  # (patient group, column: a service line, HOSPITAL_COLUMN or UNSHOWN_COLUMN)


def _cheapest_cycle(
    values: dict[Edge, int], lower: dict[Edge, int], upper: dict[Edge, int], hidden: set[Edge], need: Edge
) -> list[Edge] | None:
    """The cells of the cheapest cycle through `need` along which every cell can move by 1, or None.

    A cycle alternates +1 and −1 in the signed table (a hospital cell enters its rows with a minus: its
    groups' line cells add up to it, so it moves with them); each cell must have room to move its way
    (`lower` ≤ value ± 1 ≤ `upper`). Dijkstra from `need`'s column back to its row, for either direction
    of `need`; a hidden cell costs nothing, a shown one its count plus one (a shown 0 is still a cell to
    hide), so the cycle hides as few cases as it can and reuses cells already hidden.
    """

    def room(e: Edge, step: int) -> bool:
        moved = values[e] + step * (-1 if e[1] == HOSPITAL_COLUMN else 1)
        return lower.get(e, 0) <= moved <= upper.get(e, math.inf)

    adj: dict[tuple[str, str], list[tuple[tuple[str, str], Edge]]] = {}
    for e in values:
        if e != need and (e in hidden or e[1] != UNSHOWN_COLUMN):
            adj.setdefault(("g", e[0]), []).append((("c", e[1]), e))
            adj.setdefault(("c", e[1]), []).append((("g", e[0]), e))
    found: tuple[float, list[Edge]] | None = None
    for delta in (1, -1):
        if not room(need, delta):
            continue
        start, goal = ("c", need[1]), ("g", need[0])
        best: dict[tuple[str, str], float] = {start: 0.0}
        came: dict[tuple[str, str], tuple[tuple[str, str], Edge]] = {}
        heap: list[tuple[float, tuple[str, str]]] = [(0.0, start)]
        while heap:
            cost, node = heapq.heappop(heap)
            if node == goal:
                path = []
                while node != start:
                    node, e = came[node]
                    path.append(e)
                if found is None or cost < found[0]:
                    found = (cost, path)
                break
            if cost > best[node]:
                continue
            # leaving a column node the cell moves by −delta (signed), leaving a row node by +delta
            step = -delta if node[0] == "c" else delta
            for nxt, e in adj.get(node, ()):
                if not room(e, step):
                    continue
                total = cost + (0.0 if e in hidden else 1.0 + values[e])
                if total < best.get(nxt, math.inf):
                    best[nxt], came[nxt] = total, (node, e)
                    heapq.heappush(heap, (total, nxt))
    return None if found is None else found[1]


def linked_suppression(
    values: dict[Edge, int],
    primary: set[Edge],
    lower: dict[Edge, int] | None = None,
    upper: dict[Edge, int] | None = None,
) -> set[Edge]:
    """The cells to suppress in one dimension and measure of the linked table (README, *Equity*).

    The table: rows are the dimension's groups, columns the service lines, the cases with no service line
    (UNSHOWN_COLUMN: never shown) and the hospital (HOSPITAL_COLUMN: H[g] = Σ_l x[g, l], Σ_g H[g] = N).
    Every margin is taken as public — a service line's or the hospital's total is given away by any
    complete dimension — and an absent cell is a known zero. With every margin known, a hidden cell can
    be worked out exactly when it lies on no cycle of hidden cells in the bipartite graph of the table
    (row node — column node): it is a *bridge*. On a cycle, the cells can move by 1 in turn and every
    margin stays the same — provided each has room to move its way: what a reader knows bounds them (a
    listed group has at least 1 case, and at least as many cases as events; events lie between 0 and
    the cases), given here as `lower` and `upper`.

    For each cell of `primary`, smallest first, the cheapest such cycle through it (`_cheapest_cycle`) is
    hidden too. Every cell of that cycle can then move by 1, so the cells hidden to protect it are not
    pinned either, and hiding more later never breaks a cycle. A cell no cycle can protect (a dimension
    of one group: it equals the margin, small in every dimension) stays hidden as it is. Returns every
    hidden cell, the unshown column included.
    """
    lower, upper = lower or {}, upper or {}
    hidden = set(primary) | {e for e in values if e[1] == UNSHOWN_COLUMN}
    for need in sorted((e for e in primary if e[1] != UNSHOWN_COLUMN), key=lambda e: (values[e], e)):
        cycle = _cheapest_cycle(values, lower, upper, hidden, need)
        if cycle is not None:
            hidden.update(cycle)
    return hidden


def _hidden_cells(cells: pd.DataFrame) -> dict[str, set[tuple[str, str, str]]]:
    """{measure: {(dimension, group, column)}} hidden in the hospital and service-line scopes."""
    hidden: dict[str, set] = {m: set() for m in MEASURES}
    for dim in dict.fromkeys(cells["dimension"]):  # a rule per dimension: nothing is added up here
        part = cells[cells["dimension"] == dim]
        keys = list(zip(part["group_value"], part["column"], strict=True))
        cases = dict(zip(keys, part["case_count"].astype(int), strict=True))
        events = {
            m: dict(zip(keys, part[f"{m}_observed"].fillna(0).astype(int), strict=True)) for m in OUTCOME_MEASURES
        }
        # A listed group has at least one case, and at least as many as any outcome's events in it.
        most = {e: max([1 if e[1] != UNSHOWN_COLUMN else 0, *(events[m][e] for m in events)]) for e in keys}
        small = {e for e, n in cases.items() if 1 <= n < MIN_CELL and e[1] != UNSHOWN_COLUMN}
        by_cases = linked_suppression(cases, small, lower=most)
        hidden["cost"] |= {(dim, *e) for e in by_cases if e[1] != UNSHOWN_COLUMN}
        for m in OUTCOME_MEASURES:
            primary = by_cases | {e for e, o in events[m].items() if 1 <= o < MIN_CELL}
            out = linked_suppression(events[m], {e for e in primary if e[1] != UNSHOWN_COLUMN}, upper=cases)
            hidden[m] |= {(dim, *e) for e in out if e[1] != UNSHOWN_COLUMN}
    return hidden


def suppress(cells: pd.DataFrame) -> pd.DataFrame:
    """Every (scope, dimension, group, measure) cell of one period from `mart_equity_cell`, suppressed.

    The one place the cell-size rule is applied (README, *Equity*). The hospital and its service lines
    are one linked table (a supply analyst sees them all: Hospital Medicaid − Ortho Medicaid − Cardiac
    Medicaid would give Spine Medicaid), so `linked_suppression` runs over all of them at once, per
    dimension: on case counts for cost, then on each outcome's events, starting from the cells hidden for
    their cases plus those with 1–10 events. A physician's own patients are shown by a dimension only when
    no cell of it has 1–10 cases (and, for an outcome, 1–10 events): the whole dimension or nothing.
    Suppressed cells keep only their names; every figure of them is null. Each row carries its dimension's
    reference group (the largest shown group) for the gaps. Cases with no service line (the service-line
    row with an empty name) are an unshown column of the linked table, and left out of the result.
    """
    cells = cells.copy()
    cells["column"] = np.where(cells["scope"] == "hospital", HOSPITAL_COLUMN, cells["scope_value"])
    linked = cells[cells["scope"] != "physician"]
    hidden = _hidden_cells(linked) if len(linked) else {m: set() for m in MEASURES}
    doctor = cells["scope"] == "physician"
    small_cases = cells["case_count"] < MIN_CELL
    per_dim = ["scope", "scope_value", "dimension"]
    frames = []
    for m in MEASURES:
        frame = cells.drop(columns=[c for c in cells if c.endswith(("_observed", "_expected"))]).assign(measure=m)
        if m == "cost":
            frame["observed_count"], frame["expected_count"] = np.nan, np.nan
            small = small_cases
        else:
            frame["observed_count"] = cells[f"{m}_observed"].astype(float)
            frame["expected_count"] = cells[f"{m}_expected"].astype(float)
            small = small_cases | frame["observed_count"].between(1, MIN_CELL - 1)
            frame[["mean_case_cost_usd", "cost_index", "cost_index_var"]] = np.nan
        keys = zip(cells["dimension"], cells["group_value"], cells["column"], strict=True)
        flag = np.array([k in hidden[m] for k in keys], dtype=bool)
        scopes = list(zip(*(cells[c] for c in per_dim), strict=True))
        any_small = {k for k, is_small in zip(scopes, small, strict=True) if is_small}
        whole = np.array([k in any_small for k in scopes], dtype=bool)
        frame["suppressed_flag"] = np.where(doctor, whole, flag)
        frames.append(frame[frame["column"] != UNSHOWN_COLUMN])
    out = pd.concat(frames, ignore_index=True).drop(columns="column")
    out.loc[out["suppressed_flag"], _FIGURES] = np.nan
    return _with_reference(out)


def _with_reference(frame: pd.DataFrame) -> pd.DataFrame:
    """Each row with its dimension's reference group (its largest shown group) and that group's figures."""
    key = ["scope", "scope_value", "dimension", "measure"]
    ref = (
        frame[~frame["suppressed_flag"]]
        .sort_values(["case_count", "group_value"], ascending=[False, True])
        .drop_duplicates(key)[[*key, "group_value", *_FIGURES[:3], "cost_index", "cost_index_var"]]
        .rename(columns={"group_value": "reference_group"} | {c: f"ref_{c}" for c in _FIGURES})
    )
    out = frame.merge(ref, on=key, how="left")
    shown = ~out["suppressed_flag"]
    out["reference_flag"] = shown & (out["group_value"] == out["reference_group"])
    refs = [f"ref_{c}" for c in ("case_count", "observed_count", "expected_count", "cost_index", "cost_index_var")]
    out.loc[~shown, refs] = np.nan
    out.loc[out["measure"] != "cost", ["ref_cost_index", "ref_cost_index_var"]] = np.nan
    return out


def year_table(cells: pd.DataFrame, year: int) -> pd.DataFrame:
    """One closed year of `mart_equity_group`: `suppress` over the year's `mart_equity_cell`, typed."""
    out = suppress(cells).assign(year=year) if len(cells) else pd.DataFrame(columns=COLUMNS)
    out = out[COLUMNS].copy()
    for col in ("year", "dimension_order"):
        out[col] = out[col].astype("int64")
    for col in ("suppressed_flag", "reference_flag"):
        out[col] = out[col].astype(bool)
    for col in [*_FIGURES, "ref_case_count", "ref_observed_count", "ref_expected_count", "ref_cost_index"]:
        out[col] = out[col].astype(float)
    out["ref_cost_index_var"] = out["ref_cost_index_var"].astype(float)
    return out


# --- reads ---------------------------------------------------------------------------------------------


def closed_year(period: Period, data_start: date, data_end: date) -> int:
    """The year of `period` when it is one of the closed calendar years equity is shown for, else ValueError.

    Only closed calendar years are shown (README, *Equity*): two overlapping periods — a year and three of
    its quarters, two 12-month windows a month apart — could be subtracted to recover a small cell.
    """
    if period not in closed_years(data_start, data_end):
        raise ValueError(f"equity figures are shown by closed calendar year only, not for {period.label}")
    return period.start.year


def groups(
    scope: str,
    scope_value: str,
    period: Period,
    excluded: list[str] | None = None,
    also_seen: list[tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """Every (dimension, group, measure) cell of one scope in one closed year, with intervals and gaps.

    `also_seen`: the hospital and service-line scopes the same viewer may open (a champion's own line).
    Their own patients' cells are exact counts of part of those scopes' cells, so an attacker who sees
    both can bound a hidden cell beside one — a lower bound that may pin it. A physician's own patients
    are therefore shown by a dimension and measure only where none of those scopes hides a cell of it.

    Suppressed cells keep their names and nothing else. Without accepted flags the build's suppressed
    table is read; with them the year is recomputed from `mart_equity_cell` and suppressed by `suppress`
    over every scope (the rule is the same; the table the build holds is for every case counted).
    Columns added to the mart's: `oe_ratio`, `ci95_low`, `ci95_high` (outcomes: exact Poisson; cost: the
    cost index's normal interval), `gap`, `gap_low`, `gap_high` (outcomes: ratio of O/E to the reference
    group's, exact conditional interval; cost: difference of cost index, Welch interval) and
    `gap_clear` (the 99.8% interval of the gap excludes no difference: see CLEAR_LEVEL).
    """
    ctx = scorecard.data_context()
    year = closed_year(period, ctx.data_start, ctx.data_end)
    order = ["dimension_order", "measure", "group_value"]
    linked = [s for s in (also_seen or []) if s[0] != "physician"] if scope == "physician" else []
    wanted = [(scope, scope_value), *linked]
    if not excluded:
        table = db.fetch(
            "mart_equity_group",
            where={"year": year, "scope": [s for s, _ in wanted], "scope_value": [v for _, v in wanted]},
            order_by=order,
        )
    else:
        table = year_table(db.fetch("mart_equity_cell", variables=scorecard.period_variables(period, excluded)), year)
    pairs = list(zip(table["scope"], table["scope_value"], strict=True))
    mine = np.array([p == (scope, scope_value) for p in pairs], dtype=bool)
    others = np.array([p in linked for p in pairs], dtype=bool)
    frame = table[mine].sort_values(order).reset_index(drop=True)
    if linked and len(frame):
        seen_hidden = table[others & table["suppressed_flag"].to_numpy(dtype=bool)]
        blocks = set(zip(seen_hidden["dimension"], seen_hidden["measure"], strict=True))
        hide = np.array([b in blocks for b in zip(frame["dimension"], frame["measure"], strict=True)], dtype=bool)
        refs = [c for c in frame.columns if c.startswith("ref_")]
        frame.loc[hide, "suppressed_flag"] = True
        frame.loc[hide, [*_FIGURES, *refs]] = np.nan
        frame.loc[hide, "reference_flag"] = False
    return with_intervals(frame)


def with_intervals(frame: pd.DataFrame) -> pd.DataFrame:
    """Row-wise intervals and gaps of shown cells (see `groups`); suppressed rows stay empty."""
    if frame.empty:
        return frame.assign(oe_ratio=[], ci95_low=[], ci95_high=[], gap=[], gap_low=[], gap_high=[], gap_clear=[])
    frame = frame.copy()
    cost = (frame["measure"] == "cost").to_numpy()
    obs = frame["observed_count"].astype(float).to_numpy()
    exp = frame["expected_count"].astype(float).to_numpy()
    ratio, low, high = stats.oe_ratios(np.nan_to_num(obs), np.where(np.isfinite(exp), exp, np.nan))
    n = frame["case_count"].astype(float).to_numpy()
    index = frame["cost_index"].astype(float).to_numpy()
    se = np.sqrt(frame["cost_index_var"].astype(float).to_numpy() / n)
    shown = ~frame["suppressed_flag"].to_numpy(dtype=bool)
    frame["oe_ratio"] = np.where(shown, np.where(cost, index, ratio), np.nan)
    frame["ci95_low"] = np.where(shown, np.where(cost, index - _Z95 * se, low), np.nan)
    frame["ci95_high"] = np.where(shown, np.where(cost, index + _Z95 * se, high), np.nan)
    rr, rr_low, rr_high = rate_ratio_interval(
        obs, exp, frame["ref_observed_count"].astype(float), frame["ref_expected_count"].astype(float)
    )
    ref_se = np.sqrt(
        frame["ref_cost_index_var"].astype(float).to_numpy() / frame["ref_case_count"].astype(float).to_numpy()
    )
    diff = index - frame["ref_cost_index"].astype(float).to_numpy()
    diff_se = np.sqrt(se**2 + ref_se**2)
    is_ref = frame["reference_flag"].fillna(False).to_numpy(dtype=bool)
    keep = shown & ~is_ref
    frame["gap"] = np.where(keep, np.where(cost, diff, rr), np.nan)
    frame["gap_low"] = np.where(keep, np.where(cost, diff - _Z95 * diff_se, rr_low), np.nan)
    frame["gap_high"] = np.where(keep, np.where(cost, diff + _Z95 * diff_se, rr_high), np.nan)
    _, c_low, c_high = rate_ratio_interval(
        obs, exp, frame["ref_observed_count"].astype(float), frame["ref_expected_count"].astype(float), CLEAR_LEVEL
    )
    c_low = np.where(cost, diff - _Z_CLEAR * diff_se, c_low)
    c_high = np.where(cost, diff + _Z_CLEAR * diff_se, c_high)
    no_gap = np.where(cost, 0.0, 1.0)
    frame["gap_clear"] = keep & ((c_low > no_gap) | (c_high < no_gap))
    frame["measure_label"] = frame["measure"].map(MEASURE_LABELS)
    return frame


def clear_gaps(frame: pd.DataFrame) -> pd.DataFrame:
    """The cells whose gap to the reference group is clear at 99.8% (worse first), for the page's summary."""
    if frame.empty:
        return frame
    out = frame[frame["gap_clear"]].copy()
    out["worse"] = np.where(out["measure"] == "cost", out["gap"] > 0, out["gap"] > 1)
    return out.sort_values(["worse", "dimension_order"], ascending=[False, True]).reset_index(drop=True)


def gap_sentence(row: dict) -> str:
    """'Dual-eligible patients: 30-day readmissions 1.77 times the reference group's O/E (95% CI 1.45–2.15).'"""
    if row["measure"] == "cost":
        return (
            f"{row['group_value']} — {row['dimension_label']}: cost index {row['gap']:+.2f} against "
            f"{row['reference_group']} (95% CI {row['gap_low']:+.2f} to {row['gap_high']:+.2f})."
        )
    high = "∞" if not math.isfinite(row["gap_high"]) else f"{row['gap_high']:.2f}"
    return (
        f"{row['group_value']} — {row['dimension_label']}: {row['measure_label'].lower()} "
        f"{row['gap']:.2f} times the O/E of {row['reference_group']} (95% CI {row['gap_low']:.2f}–{high})."
    )
