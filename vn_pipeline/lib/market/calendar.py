"""Trading calendar for HOSE/HNX/UPCoM (the three exchanges close on the same days).

A trading day is a weekday that is not a public holiday or substituted day off in the `holidays` package's
Vietnam calendar (pinned: lunar dates and the government's day swaps come from there), corrected by the
project's own exchange exceptions in `data/exchange_exceptions.csv` (bridge days the exchanges closed that
`holidays` lacks, days it lists that the exchanges traded). Before 2002-03-04 HOSE, then the only exchange, held
sessions on Mondays, Wednesdays and Fridays only. The result is checked against every real VNINDEX date since
2000 (see the exceptions file's header and vn_pipeline_tests/unit/test_market_calendar.py).

Any future date is computed from the `holidays` rules plus weekends; nothing raises because a date is in the
future. Dates after OFFICIAL_THROUGH are *provisional* (`is_provisional`): the government and the exchanges
announce bridge days a few months ahead, so a provisional year can still gain closures. Dates before
CALENDAR_START (HOSE's first session) raise: there was no market to answer for.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import io
import threading
from dataclasses import dataclass
from functools import cache
from importlib import resources

import holidays as holidays_pkg

# HOSE's first session (the Ho Chi Minh City Securities Trading Center opened on Friday 2000-07-28); CafeF's
# VNINDEX starts that day at 100.0 points. Starting the calendar earlier would invent trading days without a market.
CALENDAR_START = dt.date(2000, 7, 28)
# The last day covered by an official decision: `holidays` 0.108's substituted days end in 2026 and the
# exchanges' 2026 trading-holiday schedule is published. Raise it when a year's closures are added.
OFFICIAL_THROUGH = dt.date(2026, 12, 31)
# HOSE traded three sessions a week (Mon/Wed/Fri) until Friday 2002-03-01 and five from Monday 2002-03-04:
# CafeF's VNINDEX has no Tuesday or Thursday row before 2002-03-05 and every non-holiday Mon/Wed/Fri.
THREE_SESSION_WEEK_UNTIL = dt.date(2002, 3, 1)
_THREE_SESSION_WEEKDAYS = frozenset({0, 2, 4})
_NO_SESSION = "No session (HOSE traded Mon/Wed/Fri until 2002-03-01)"

# Years computed ahead of today when the cache is first built; later years are added on demand.
_HORIZON_YEARS = 5
_EXCEPTIONS_FILE = "data/exchange_exceptions.csv"

# `holidays` English names -> the names this project has always used.
_NAMES = {
    "New Year's Day": "New Year's Day",
    "Lunar New Year": "Tết (Lunar New Year)",
    "Hung Kings' Commemoration Day": "Hung Kings Commemoration",
    "Liberation Day/Reunification Day": "Reunification Day",
    "International Labor Day": "Labour Day",
    "National Day": "National Day",
    "Vietnam Cultural Day": "Vietnam Cultural Day",
}
_BRIDGE_BASE = {"New Year's Day": "New Year", "Tết (Lunar New Year)": "Tết (Lunar New Year)"}


@dataclass(frozen=True)
class ExchangeException:
    day: dt.date
    kind: str  # "closed" or "open"
    name: str
    evidence: str


def parse_exceptions(text: str) -> dict[dt.date, ExchangeException]:
    """The exceptions file's rows by date (comment lines start with '#'); raises on malformed rows."""
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    table: dict[dt.date, ExchangeException] = {}
    for row in csv.DictReader(io.StringIO("\n".join(lines))):
        d = dt.date.fromisoformat(row["date"])
        if d in table:
            raise ValueError(f"exchange exceptions: duplicate date {d}")
        if d.weekday() >= 5:
            raise ValueError(f"exchange exceptions: {d} is a weekend; list weekdays only")
        if d < CALENDAR_START:
            raise ValueError(f"exchange exceptions: {d} is before CALENDAR_START {CALENDAR_START}")
        if row["kind"] not in ("closed", "open"):
            raise ValueError(f"exchange exceptions: {d} has kind {row['kind']!r}, expected 'closed' or 'open'")
        table[d] = ExchangeException(d, row["kind"], row["name"], row["evidence"])
    return table


@cache
def exchange_exceptions() -> dict[dt.date, ExchangeException]:
    text = resources.files("vn_pipeline.lib.market").joinpath(_EXCEPTIONS_FILE).read_text("utf-8")
    return parse_exceptions(text)


def _project_name(raw: str, day: dt.date) -> str:
    observed = raw.endswith(" (observed)")
    base = raw.removesuffix(" (observed)")
    name = "Tết (Lunar New Year)" if "Lunar New Year" in base else _NAMES.get(base, base)
    if name == "National Day" and not observed and (day.month, day.day) != (9, 2):
        name = "National Day (adjacent day)"  # Labour Code 2019: 2 Sep plus the day before or after
    return f"{name} (observed)" if observed else name


def _public_closures(first_year: int, last_year: int) -> dict[dt.date, str]:
    """Weekdays `holidays` lists as days off in [first_year, last_year], under the project's names."""
    # One year either side, so that a bridge day at a year's edge (2018-12-31) finds the holiday it bridges to.
    raw = holidays_pkg.country_holidays("VN", years=range(first_year - 1, last_year + 2), language="en_US")
    named: dict[dt.date, str] = {}
    substituted: list[dt.date] = []
    for day, name in raw.items():
        if day.weekday() >= 5:
            continue
        if name.startswith("Day off"):  # a government day swap: named after the holiday it bridges to
            substituted.append(day)
        else:
            named[day] = _project_name(name.split("; ")[0], day)
    anchors = sorted(named)
    for day in substituted:
        # nearest holiday, the later one on a tie (2015-04-29 bridges Hung Kings 28 Apr and 30 Apr: the long break)
        near = min(anchors, key=lambda a: (abs((a - day).days), -a.toordinal())) if anchors else None
        base = named[near].removesuffix(" (observed)").removesuffix(" (adjacent day)") if near else "Public holiday"
        named[day] = f"{_BRIDGE_BASE.get(base, base)} bridge day"
    return {d: n for d, n in named.items() if first_year <= d.year <= last_year}


def _closures(first_year: int, last_year: int) -> dict[dt.date, str]:
    """Every closed weekday (on or after CALENDAR_START) in the given years, with its name."""
    closed = _public_closures(first_year, last_year)
    for day, exc in exchange_exceptions().items():
        if first_year <= day.year <= last_year:
            if exc.kind == "closed":
                closed[day] = exc.name
            else:
                closed.pop(day, None)
    if first_year <= THREE_SESSION_WEEK_UNTIL.year:
        day = max(CALENDAR_START, dt.date(first_year, 1, 1))
        while day <= min(THREE_SESSION_WEEK_UNTIL, dt.date(last_year, 12, 31)):
            if day.weekday() < 5 and day.weekday() not in _THREE_SESSION_WEEKDAYS:
                closed.setdefault(day, _NO_SESSION)
            day += dt.timedelta(days=1)
    return {d: n for d, n in closed.items() if d >= CALENDAR_START}


@dataclass(frozen=True)
class _Span:
    """Everything computed from CALENDAR_START through Dec 31 of `last_year` (immutable: readers never lock)."""

    last_year: int
    closed: dict[dt.date, str]
    days: tuple[dt.date, ...]

    @property
    def end(self) -> dt.date:
        return dt.date(self.last_year, 12, 31)


_span: _Span | None = None
_lock = threading.Lock()


def _days_of(first_year: int, last_year: int, closed: dict[dt.date, str]) -> list[dt.date]:
    start = max(CALENDAR_START, dt.date(first_year, 1, 1))
    n = (dt.date(last_year, 12, 31) - start).days + 1
    every = (start + dt.timedelta(days=i) for i in range(n))
    return [d for d in every if d.weekday() < 5 and d not in closed]


def _covering(year: int) -> _Span:
    """The cached span, extended (by whole years, appending) so that it covers `year`."""
    span = _span
    if span is not None and span.last_year >= year:
        return span
    return _extend(year)


def _extend(year: int) -> _Span:
    global _span
    with _lock:
        span = _span
        if span is not None and span.last_year >= year:
            return span
        target = max(year, OFFICIAL_THROUGH.year, dt.date.today().year + _HORIZON_YEARS)
        first = CALENDAR_START.year if span is None else span.last_year + 1
        closed = _closures(first, target)
        days = _days_of(first, target, closed)
        if span is not None:
            closed = {**span.closed, **closed}
            days = [*span.days, *days]
        _span = _Span(last_year=target, closed=closed, days=tuple(days))
        return _span


def _check(d: dt.date) -> None:
    if isinstance(d, dt.datetime):  # datetime is a date subclass; silently truncating hides tz bugs
        raise TypeError("pass a date, not a datetime")
    if d < CALENDAR_START:
        raise ValueError(f"{d} is before the trading calendar starts ({CALENDAR_START}, HOSE's first session)")


def is_provisional(d: dt.date) -> bool:
    """True when `d` is after OFFICIAL_THROUGH: computed from rules, not yet from an official closure list."""
    _check(d)
    return d > OFFICIAL_THROUGH


def is_trading_day(d: dt.date) -> bool:
    _check(d)
    return d.weekday() < 5 and d not in _covering(d.year).closed


def trading_days(start: dt.date, end: dt.date) -> list[dt.date]:
    """Trading days in [start, end], inclusive."""
    _check(start)
    _check(end)
    days = _covering(end.year).days
    return list(days[bisect.bisect_left(days, start) : bisect.bisect_right(days, end)])


def holidays(start: dt.date | None = None, end: dt.date | None = None) -> list[dt.date]:
    """Closed weekdays in [start, end] (defaults: CALENDAR_START and OFFICIAL_THROUGH). Before 2002-03-04 they
    include the Tuesdays and Thursdays without a session."""
    start = CALENDAR_START if start is None else start
    end = OFFICIAL_THROUGH if end is None else end
    _check(start)
    _check(end)
    return sorted(d for d in _covering(end.year).closed if start <= d <= end)


def holiday_name(d: dt.date) -> str | None:
    """Name of the closure on `d`, None for trading days and weekends."""
    _check(d)
    return _covering(d.year).closed.get(d)


def next_trading_day(d: dt.date, n: int = 1) -> dt.date:
    """The n-th trading day strictly after `d` (d itself need not be a trading day)."""
    _check(d)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    span = _covering(d.year + 1)
    i = bisect.bisect_right(span.days, d) + n - 1
    while i >= len(span.days):  # far ahead: ~250 sessions a year, extend until the n-th one exists
        span = _extend(span.last_year + max(1, (i - len(span.days)) // 200 + 1))
    return span.days[i]


def previous_trading_day(d: dt.date, n: int = 1) -> dt.date:
    """The n-th trading day strictly before `d`."""
    _check(d)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    days = _covering(d.year).days
    i = bisect.bisect_left(days, d) - n
    if i < 0:
        raise ValueError(f"{n} trading day(s) before {d} is before CALENDAR_START {CALENDAR_START}")
    return days[i]


def last_trading_day_on_or_before(d: dt.date) -> dt.date:
    _check(d)
    return d if is_trading_day(d) else previous_trading_day(d)


def trading_day_index(d: dt.date) -> int:
    """0-based position of trading day `d` in the calendar (useful for counting sessions between dates); stable
    as the calendar extends, since later years only append."""
    if not is_trading_day(d):
        raise ValueError(f"{d} is not a trading day")
    return bisect.bisect_left(_covering(d.year).days, d)
