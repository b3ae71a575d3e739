"""Periods a scorecard can cover: the default 12 months, calendar quarters and years, or any dates.

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


def period_options(data_start: date, data_end: date, default_start: date) -> list[Period]:
    """The periods offered in pickers: the default, then each year and quarter with data, newest first."""
    options = [default_period(default_start, data_end)]
    for year in range(data_end.year, data_start.year - 1, -1):
        options.append(Period(date(year, 1, 1), date(year, 12, 31), str(year), f"Year {year}"))
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
        period = Period(date(int(token), 1, 1), date(int(token), 12, 31), token, f"Year {token}")
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
