"""Trading calendar pinned to announced closures and to the real VNINDEX history (shared/data/vn_real)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from vn_pipeline.lib.market import (
    CALENDAR_END,
    CALENDAR_START,
    holiday_name,
    holidays,
    is_trading_day,
    last_trading_day_on_or_before,
    next_trading_day,
    previous_trading_day,
    trading_days,
)
from vn_pipeline.lib.market import calendar as cal

D = dt.date
INDICES = Path(__file__).resolve().parents[3] / "shared/data/vn_real/indices_ftu"
DATA_END = D(2026, 8, 21)  # last date in the index files

# Dates (weekdays, 2015-01-01..DATA_END) where the vendor file and the calendar are allowed to disagree.
# None are needed: the vendor disagreements listed in the README are resolved as follows and pinned below.
#   2018-12-31 and 2025-05-02: closed (absent from all four index files; vn-market-calendar 0.2.0 misses them)
#   2025-02-03: traded (present in all four files; vn-market-calendar 0.2.0 lists it as a holiday)
#   2008-08-16: bogus Saturday bar, outside the calendar's range.
VENDOR_ANOMALIES: frozenset[D] = frozenset()


def _index_dates(name: str) -> set[D]:
    path = INDICES / f"{name}.csv"
    if not path.exists():
        pytest.skip(f"{path} not available")
    return set(pd.to_datetime(pd.read_csv(path, encoding="utf-8-sig", usecols=["time"])["time"]).dt.date)


def _weekdays(start: D, end: D) -> set[D]:
    return {d.date() for d in pd.bdate_range(start, end)}


def test_range_constants() -> None:
    assert D(2015, 1, 1) == CALENDAR_START
    assert D(2026, 12, 31) == CALENDAR_END


@pytest.mark.parametrize(
    "closed",
    [
        *[D(2024, 2, d) for d in (8, 9, 12, 13, 14)],  # Tết 2024
        *[D(y, 4, 30) for y in (2015, 2018, 2019, 2020, 2021, 2024, 2025, 2026)],
        *[D(y, 5, 1) for y in (2015, 2017, 2018, 2019, 2020, 2023, 2024, 2025, 2026)],
        *[D(y, 9, 2) for y in (2015, 2016, 2019, 2020, 2021, 2022, 2024, 2025, 2026)],
        D(2018, 12, 31),  # New Year bridge day (vendor calendars miss it)
        D(2025, 5, 2),  # Labour Day bridge day (vendor calendars miss it)
        D(2025, 1, 1),
        D(2024, 4, 18),  # Hung Kings 2024
        D(2021, 9, 3),  # first year of the two-day National Day
    ],
)
def test_known_closures(closed: D) -> None:
    assert closed.weekday() < 5
    assert not is_trading_day(closed)
    assert holiday_name(closed) is not None


def test_national_day_has_two_days_since_2021() -> None:
    for year in range(2021, 2027):
        sept = [d for d in holidays(D(year, 8, 25), D(year, 9, 10))]
        assert len(sept) == 2, (year, sept)
        assert all("National Day" in (holiday_name(d) or "") for d in sept)


@pytest.mark.parametrize("open_day", [D(2025, 2, 3), D(2024, 2, 15), D(2024, 2, 7), D(2019, 1, 2), D(2025, 5, 5)])
def test_known_trading_days(open_day: D) -> None:
    assert is_trading_day(open_day)
    assert holiday_name(open_day) is None


def test_weekends_are_closed_but_not_holidays() -> None:
    assert not is_trading_day(D(2024, 2, 10))
    assert holiday_name(D(2024, 2, 10)) is None


def test_calendar_equals_vnindex_history() -> None:
    vnindex = _index_dates("VNINDEX")
    expected = {d for d in vnindex if CALENDAR_START <= d <= DATA_END}
    got = set(trading_days(CALENDAR_START, DATA_END))
    assert got ^ expected == set(VENDOR_ANOMALIES)
    # Sanity that the comparison is non-trivial: every calendar holiday up to DATA_END is a missing weekday.
    missing = _weekdays(CALENDAR_START, DATA_END) - vnindex
    assert set(holidays(CALENDAR_START, DATA_END)) == missing
    assert len(missing) > 120


@pytest.mark.parametrize("name", ["VN30", "HNXINDEX", "UPCOMINDEX"])
def test_calendar_equals_other_index_histories(name: str) -> None:
    start = D(2018, 8, 20)
    dates = {d for d in _index_dates(name) if start <= d <= DATA_END}
    assert set(trading_days(start, DATA_END)) == dates


def test_holidays_csv_is_clean() -> None:
    all_hol = holidays()
    assert all_hol == sorted(set(all_hol))
    assert all(d.weekday() < 5 for d in all_hol)
    assert all_hol[0] == D(2015, 1, 1)
    # Every year has New Year, Tết (>= 5 sessions), 30 Apr / 1 May (or observed) and National Day.
    for year in range(2015, 2027):
        in_year = [d for d in all_hol if d.year == year]
        assert sum("Tết" in (holiday_name(d) or "") for d in in_year) >= 5, year
        assert any("National Day" in (holiday_name(d) or "") for d in in_year), year
        assert any("New Year" in (holiday_name(d) or "") for d in in_year), year


def test_trading_days_inclusive_and_consistent() -> None:
    days = trading_days(D(2024, 2, 5), D(2024, 2, 16))
    assert days == [D(2024, 2, 5), D(2024, 2, 6), D(2024, 2, 7), D(2024, 2, 15), D(2024, 2, 16)]
    assert trading_days(D(2024, 2, 8), D(2024, 2, 14)) == []
    assert len(trading_days(D(2024, 1, 1), D(2024, 12, 31))) == 250


def test_next_and_previous_are_strict() -> None:
    assert next_trading_day(D(2024, 2, 7)) == D(2024, 2, 15)  # across Tết
    assert next_trading_day(D(2024, 2, 10)) == D(2024, 2, 15)  # from a closed day
    assert next_trading_day(D(2024, 2, 15)) == D(2024, 2, 16)
    assert next_trading_day(D(2024, 2, 7), 2) == D(2024, 2, 16)
    assert previous_trading_day(D(2024, 2, 15)) == D(2024, 2, 7)
    assert previous_trading_day(D(2024, 2, 16), 2) == D(2024, 2, 7)
    assert previous_trading_day(D(2019, 1, 2)) == D(2018, 12, 28)  # 31 Dec and 1 Jan closed
    assert last_trading_day_on_or_before(D(2024, 2, 14)) == D(2024, 2, 7)
    assert last_trading_day_on_or_before(D(2024, 2, 15)) == D(2024, 2, 15)
    with pytest.raises(ValueError):
        next_trading_day(D(2024, 2, 7), 0)


def test_outside_range_raises_instead_of_guessing() -> None:
    for bad in (D(2014, 12, 31), D(2027, 1, 4)):
        with pytest.raises(ValueError, match="outside the trading calendar"):
            is_trading_day(bad)
    with pytest.raises(ValueError):
        next_trading_day(D(2026, 12, 31))
    with pytest.raises(ValueError):
        previous_trading_day(D(2015, 1, 5))  # 1-2 Jan 2015 closed, nothing before
    with pytest.raises(ValueError):
        trading_days(D(2014, 1, 1), D(2015, 2, 1))
    with pytest.raises(TypeError):
        is_trading_day(dt.datetime(2024, 2, 15, 10))  # type: ignore[arg-type]


def test_2026_national_day_assumption_is_documented() -> None:
    assert holidays(D(2026, 8, 22), D(2026, 12, 31)) == [D(2026, 9, 1), D(2026, 9, 2)]
    header = (Path(cal.__file__).parent / "data" / "holidays.csv").read_text("utf-8")
    assert "ASSUMPTION" in header and "2026-09-01" in header
