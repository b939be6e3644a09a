"""Trading calendar for HOSE/HNX/UPCoM (the three exchanges close on the same days).

The calendar is data, not a formula: Vietnamese closures follow the lunar calendar and yearly government
bridge-day decisions, so `data/holidays.csv` lists every closed weekday explicitly (see its header for
sources and the 2026 assumption). Dates outside [CALENDAR_START, CALENDAR_END] raise ValueError rather than
being guessed.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import io
from functools import cache
from importlib import resources

CALENDAR_START = dt.date(2015, 1, 1)
CALENDAR_END = dt.date(2026, 12, 31)


@cache
def _holiday_table() -> dict[dt.date, str]:
    text = resources.files("vn_pipeline.lib.market").joinpath("data/holidays.csv").read_text("utf-8")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    table: dict[dt.date, str] = {}
    for row in csv.DictReader(io.StringIO("\n".join(lines))):
        d = dt.date.fromisoformat(row["date"])
        if d in table:
            raise ValueError(f"holidays.csv: duplicate date {d}")
        if d.weekday() >= 5:
            raise ValueError(f"holidays.csv: {d} is a weekend; list closed weekdays only")
        if not CALENDAR_START <= d <= CALENDAR_END:
            raise ValueError(f"holidays.csv: {d} outside {CALENDAR_START}..{CALENDAR_END}")
        table[d] = row["name"]
    return table


@cache
def _trading_days() -> tuple[dt.date, ...]:
    hol = _holiday_table()
    n = (CALENDAR_END - CALENDAR_START).days + 1
    days = (CALENDAR_START + dt.timedelta(days=i) for i in range(n))
    return tuple(d for d in days if d.weekday() < 5 and d not in hol)


def _check(d: dt.date) -> None:
    if isinstance(d, dt.datetime):  # datetime is a date subclass; silently truncating hides tz bugs
        raise TypeError("pass a date, not a datetime")
    if not CALENDAR_START <= d <= CALENDAR_END:
        raise ValueError(f"{d} is outside the trading calendar ({CALENDAR_START}..{CALENDAR_END})")


def is_trading_day(d: dt.date) -> bool:
    _check(d)
    return d.weekday() < 5 and d not in _holiday_table()


def trading_days(start: dt.date, end: dt.date) -> list[dt.date]:
    """Trading days in [start, end], inclusive."""
    _check(start)
    _check(end)
    days = _trading_days()
    return list(days[bisect.bisect_left(days, start) : bisect.bisect_right(days, end)])


def holidays(start: dt.date | None = None, end: dt.date | None = None) -> list[dt.date]:
    """Closed weekdays in [start, end] (defaults: the whole covered range)."""
    start = CALENDAR_START if start is None else start
    end = CALENDAR_END if end is None else end
    _check(start)
    _check(end)
    return sorted(d for d in _holiday_table() if start <= d <= end)


def holiday_name(d: dt.date) -> str | None:
    """Name of the closure on `d`, None for trading days and weekends."""
    _check(d)
    return _holiday_table().get(d)


def next_trading_day(d: dt.date, n: int = 1) -> dt.date:
    """The n-th trading day strictly after `d` (d itself need not be a trading day)."""
    _check(d)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    days = _trading_days()
    i = bisect.bisect_right(days, d) + n - 1
    if i >= len(days):
        raise ValueError(f"{n} trading day(s) after {d} is beyond CALENDAR_END {CALENDAR_END}")
    return days[i]


def previous_trading_day(d: dt.date, n: int = 1) -> dt.date:
    """The n-th trading day strictly before `d`."""
    _check(d)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    days = _trading_days()
    i = bisect.bisect_left(days, d) - n
    if i < 0:
        raise ValueError(f"{n} trading day(s) before {d} is before CALENDAR_START {CALENDAR_START}")
    return days[i]


def last_trading_day_on_or_before(d: dt.date) -> dt.date:
    _check(d)
    return d if is_trading_day(d) else previous_trading_day(d)


def trading_day_index(d: dt.date) -> int:
    """0-based position of trading day `d` in the calendar (useful for counting sessions between dates)."""
    if not is_trading_day(d):
        raise ValueError(f"{d} is not a trading day")
    return bisect.bisect_left(_trading_days(), d)
