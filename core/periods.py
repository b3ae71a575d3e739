"""Periods a scorecard can cover: the default 12 months, calendar quarters and years, or any dates
(and, for the equity view, closed calendar years only: `closed_years`).

A period travels in links as a short token — `last12`, `2026Q3`, `2026`, or
`2025-10-01..2026-09-30` — parsed here, never trusted: a token outside the data or malformed
falls back to the default with a message saying so. Custom ranges are for identified viewers only:
anyone who sees blinded peers chooses among the offered whole periods.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Period:
    """An inclusive range of surgery dates with a token for links and a label for people."""

    start: date
    end: date
    token: str
    label: str

    @property
    def days(self) -> int:
        """Days in the period, both ends included."""
        return (self.end - self.start).days + 1


def _quarter_bounds(year: int, q: int) -> tuple[date, date]:
    start = date(year, 3 * q - 2, 1)
    end = date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1) - timedelta(days=1)
    return start, end


def default_period(default_start: date, default_end: date) -> Period:
    """The 12 months ending at the latest surgery date (the Definitions page)."""
    return Period(
        default_start, default_end, "last12", f"Last 12 months ({default_start:%d %b %Y} – {default_end:%d %b %Y})"
    )


def year_period(year: int) -> Period:
    """The calendar year `year` (1 January – 31 December), as the pickers offer it."""
    return Period(date(year, 1, 1), date(year, 12, 31), str(year), f"Year {year}")


def period_options(data_start: date, data_end: date, default_start: date) -> list[Period]:
    """The periods offered in pickers: the default, then each year and quarter with data, newest first."""
    options = [default_period(default_start, data_end)]
    for year in range(data_end.year, data_start.year - 1, -1):
        options.append(year_period(year))
    for year in range(data_end.year, data_start.year - 1, -1):
        for q in range(4, 0, -1):
            start, end = _quarter_bounds(year, q)
            if start <= data_end and end >= data_start:
                options.append(Period(start, end, f"{year}Q{q}", f"{year} Q{q}"))
    return options


# A period token is short ASCII: `last12`, `2026`, `2026Q3` or `2025-10-01..2026-09-30` (22 characters).
MAX_TOKEN_LENGTH = 32
_QUARTER = re.compile(r"([0-9]{4})Q([1-4])")
_YEAR = re.compile(r"[0-9]{4}")
_RANGE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})\.\.([0-9]{4})-([0-9]{2})-([0-9]{2})")


def _shown(token: str) -> str:
    """A token as quoted back in a message: bounded, so a 5,000-character link is not echoed whole."""
    return repr(token if len(token) <= MAX_TOKEN_LENGTH else token[:MAX_TOKEN_LENGTH] + "…")


def parse_period(
    token: str | None, data_start: date, data_end: date, default_start: date, *, offered_only: bool = False
) -> tuple[Period, str | None]:
    """(period, problem) for a token from a link; the default period and a message when it is unusable.

    Never raises. Only ASCII digits count as digits (a link's `２０２６` or `²` is not a year), years
    must lie within the data, and with `offered_only` (every blinded viewer) only the periods the
    pickers offer are accepted: a custom range, a day or a quarter apart from another, is exactly what
    lets two views be differenced to recover a blinded peer's operating days (README, *What a blinded
    viewer can and cannot learn*).
    """
    default = default_period(default_start, data_end)
    if token is None or token in ("", "last12"):
        return default, None
    token = str(token).strip()
    if len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        return default, "the period in the link is not understood; showing the last 12 months"
    years = range(data_start.year, data_end.year + 1)
    out_of_range = (
        f"the period {_shown(token)} has no data (data run from {data_start:%d %b %Y} "
        f"to {data_end:%d %b %Y}); showing the last 12 months"
    )
    period: Period | None = None
    if m := _QUARTER.fullmatch(token):
        if int(m[1]) not in years:
            return default, out_of_range
        start, end = _quarter_bounds(int(m[1]), int(m[2]))
        period = Period(start, end, token, f"{m[1]} Q{m[2]}")
    elif _YEAR.fullmatch(token):
        if int(token) not in years:
            return default, out_of_range
        period = year_period(int(token))
    elif m := _RANGE.fullmatch(token):
        if offered_only:
            return default, (
                "custom date ranges are not offered where peers are blinded (views a day apart "
                "could be compared to recognise a colleague); pick a year or a quarter; "
                "showing the last 12 months"
            )
        if int(m[1]) not in years or int(m[4]) not in years:
            return default, out_of_range
        try:
            start = date(int(m[1]), int(m[2]), int(m[3]))
            end = date(int(m[4]), int(m[5]), int(m[6]))
        except ValueError:
            return default, f"the period {_shown(token)} is not a valid date range; showing the last 12 months"
        if start > end:
            return default, f"the period {_shown(token)} ends before it starts; showing the last 12 months"
        period = Period(start, end, token, f"{start:%d %b %Y} – {end:%d %b %Y}")
    if period is None:
        return default, f"the period {_shown(token)} is not understood; showing the last 12 months"
    if period.end < data_start or period.start > data_end:
        return default, out_of_range
    if offered_only and period.token not in {p.token for p in period_options(data_start, data_end, default_start)}:
        return default, out_of_range
    return period, None


def closed_years(data_start: date, data_end: date) -> list[Period]:
    """Calendar years whose 31 December is on or before the data's end, newest first (README, *Equity*).

    A year the data start partway through is closed all the same: it will never gain cases. Years are
    disjoint, so no two of them can be subtracted one from another; an open year would grow with every
    refresh, and two refreshes could be differenced.
    """
    last = data_end.year if data_end >= date(data_end.year, 12, 31) else data_end.year - 1
    return [year_period(year) for year in range(last, data_start.year - 1, -1)]


def parse_closed_year(token: str | None, data_start: date, data_end: date) -> tuple[Period | None, str | None]:
    """(closed year, problem) for a token from a link where only closed calendar years are offered.

    The latest closed year when the token is absent; when it names anything else (a quarter, the last 12
    months, a custom range, an open year or none at all), the latest closed year and a message saying why.
    (None, None) when the data hold no closed year. Never raises.
    """
    years = closed_years(data_start, data_end)
    if not years:
        return None, None
    latest = years[0]
    token = "" if token is None else str(token).strip()
    if token == "":
        return latest, None
    if token in {p.token for p in years}:
        return next(p for p in years if p.token == token), None
    fallback = f"showing {latest.label}"
    if len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        return latest, f"the period in the link is not understood; {fallback}"
    why = (
        "figures by patient group are shown by closed calendar year only (two overlapping periods could "
        "be subtracted to recover a small group)"
    )
    if _YEAR.fullmatch(token) and data_start.year <= int(token) <= data_end.year:
        return latest, (
            f"the year {_shown(token)} is not closed yet (data run to {data_end:%d %b %Y}): {why}; {fallback}"
        )
    if _YEAR.fullmatch(token):
        return latest, (
            f"the period {_shown(token)} has no data (data run from {data_start:%d %b %Y} "
            f"to {data_end:%d %b %Y}); {fallback}"
        )
    return latest, f"the period {_shown(token)} is not offered here: {why}; {fallback}"
