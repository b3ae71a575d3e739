"""Periods a scorecard can cover: the default 12 months, calendar quarters and years, or any dates.

A period travels in links as a short token — `last12`, `2026Q3`, `2026`, or
`2025-10-01..2026-09-30` — parsed here, never trusted: a token outside the data or malformed
falls back to the default with a message saying so.
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
    return Period(default_start, default_end, "last12",
                  f"Last 12 months ({default_start:%d %b %Y} – {default_end:%d %b %Y})")


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


def parse_period(token: str | None, data_start: date, data_end: date, default_start: date
                 ) -> tuple[Period, str | None]:
    """(period, problem) for a token from a link; the default period and a message when it is unusable."""
    default = default_period(default_start, data_end)
    if not token or token == "last12":
        return default, None
    token = token.strip()
    period: Period | None = None
    if m := re.fullmatch(r"(\d{4})Q([1-4])", token):
        start, end = _quarter_bounds(int(m[1]), int(m[2]))
        period = Period(start, end, token, f"{m[1]} Q{m[2]}")
    elif re.fullmatch(r"\d{4}", token):
        period = Period(date(int(token), 1, 1), date(int(token), 12, 31), token, f"Year {token}")
    elif m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", token):
        try:
            start, end = date.fromisoformat(m[1]), date.fromisoformat(m[2])
        except ValueError:
            return default, f"the period {token!r} is not a valid date range; showing the last 12 months"
        if start > end:
            return default, f"the period {token!r} ends before it starts; showing the last 12 months"
        period = Period(start, end, token, f"{start:%d %b %Y} – {end:%d %b %Y}")
    if period is None:
        return default, f"the period {token!r} is not understood; showing the last 12 months"
    if period.end < data_start or period.start > data_end:
        return default, (f"the period {period.label} has no data (data run from {data_start:%d %b %Y} "
                         f"to {data_end:%d %b %Y}); showing the last 12 months")
    return period, None
