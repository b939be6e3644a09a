"""Trading calendar: `holidays` rules + the exchange exceptions, pinned to announced closures and to every real
VNINDEX date since HOSE's first session (shared/data/vn_real; those tests skip when it is absent)."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.metadata
import time
from pathlib import Path

import holidays as holidays_pkg
import pandas as pd
import pytest

from vn_pipeline.lib.market import (
    CALENDAR_START,
    OFFICIAL_THROUGH,
    holiday_name,
    holidays,
    is_provisional,
    is_trading_day,
    last_trading_day_on_or_before,
    next_trading_day,
    previous_trading_day,
    trading_days,
)
from vn_pipeline.lib.market import calendar as cal
from vn_pipeline_tests.real_data import VN_REAL

D = dt.date
INDICES = VN_REAL / "indices_ftu"
CAFEF_VNINDEX = VN_REAL / "cafef/VNINDEX/PriceHistory.csv"
VCI_INDICES = VN_REAL / "vnstock_vci/indices"
FTU_START, FTU_END = D(2004, 1, 5), D(2026, 8, 21)
CAFEF_START, CAFEF_END = D(2000, 7, 28), D(2025, 8, 25)

# Where a vendor's VNINDEX dates and the calendar disagree, and why. The calendar is the market's (HOSE, HNX and
# UPCoM close together); VNINDEX is HOSE's, so a HOSE-only outage is a trading day here with no HOSE session.
HOSE_OUTAGES = {
    # HOSE halted after a trading-system failure on the morning of 27 May 2008 and reopened on 30 May (HOSE press
    # release; HaSTC traded on the 27th). CafeF repeats the 26 May bar three times; FTU has no rows.
    D(2008, 5, 27), D(2008, 5, 28), D(2008, 5, 29),
    # HOSE halted after the ATC failure of 22 Jan 2018 and reopened on the 25th (SSC notice; HNX traded).
    # FTU carries the 22 Jan close with volume 0; CafeF has no rows.
    D(2018, 1, 23), D(2018, 1, 24),
}  # fmt: skip
# Sessions one vendor lost: the other vendor has a full bar (distinct prices, volume), no holiday is near.
MISSING_FROM_CAFEF = {D(2024, 5, 17), D(2025, 2, 3)}  # both also in FTU's VN30, HNXINDEX and UPCOMINDEX
MISSING_FROM_FTU = {
    D(2008, 6, 10), D(2008, 6, 11), D(2008, 6, 12), D(2008, 8, 1), D(2008, 8, 18), D(2008, 8, 29), D(2008, 9, 5),
    D(2008, 9, 8), D(2008, 9, 9), D(2008, 9, 17), D(2008, 9, 18), D(2008, 9, 23), D(2009, 12, 7),
}  # fmt: skip
FTU_SATURDAY_BAR = D(2008, 8, 16)  # close 900.26 between 488.94 and 508.05: a bogus bar, no Saturday sessions
# Expected symmetric difference between each vendor's dates and the calendar's trading days.
CAFEF_DISAGREES = MISSING_FROM_CAFEF | {D(2018, 1, 23), D(2018, 1, 24)}  # calendar: trading, CafeF: no row
FTU_DISAGREES = MISSING_FROM_FTU | {D(2008, 5, 27), D(2008, 5, 28), D(2008, 5, 29)} | {FTU_SATURDAY_BAR}


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} not available (the real vendor files live in ../shared/data/vn_real)")
    return path


def _ftu_dates(name: str) -> set[D]:
    path = _need(INDICES / f"{name}.csv")
    return set(pd.to_datetime(pd.read_csv(path, encoding="utf-8-sig", usecols=["time"])["time"]).dt.date)


def _cafef_dates() -> set[D]:
    with _need(CAFEF_VNINDEX).open(encoding="utf-8-sig") as f:
        return {dt.datetime.strptime(row["Ngay"], "%d/%m/%Y").date() for row in csv.DictReader(f)}


def _weekdays(start: D, end: D) -> set[D]:
    return {d.date() for d in pd.bdate_range(start, end)}


# ----------------------------------------------------------------------------------------------- real index dates


def test_calendar_equals_cafef_vnindex_since_hose_first_session() -> None:
    cafef = _cafef_dates()
    assert min(cafef) == CAFEF_START == CALENDAR_START and max(cafef) == CAFEF_END
    got = set(trading_days(CAFEF_START, CAFEF_END))
    assert got ^ cafef == CAFEF_DISAGREES
    assert len(got) > 6_000  # 25 years of sessions: the comparison is not trivially small


def test_calendar_equals_ftu_vnindex() -> None:
    ftu = _ftu_dates("VNINDEX")
    assert min(ftu) == FTU_START and max(ftu) == FTU_END
    got = set(trading_days(FTU_START, FTU_END))
    assert got ^ ftu == FTU_DISAGREES


def test_every_closed_weekday_is_missing_from_both_vendors() -> None:
    """The converse view: the calendar's holidays are exactly the weekdays neither vendor has a bar for."""
    real = _cafef_dates() | _ftu_dates("VNINDEX")
    span_end = FTU_END
    missing = _weekdays(CALENDAR_START, span_end) - real
    closed = set(holidays(CALENDAR_START, span_end))
    assert closed == missing
    assert len(closed) > 400  # ~180 Tue/Thu without a session in 2000-2002 plus ~10 closures a year


def test_vendor_disagreements_are_few_and_documented() -> None:
    # Keeps the exception list honest: a handful of days out of ~6,300 sessions, each explained above.
    assert len(CAFEF_DISAGREES | FTU_DISAGREES) <= 25
    for d in CAFEF_DISAGREES | FTU_DISAGREES - {FTU_SATURDAY_BAR}:
        assert is_trading_day(d), d  # every disagreement is a vendor missing (or faking) a day, not a closure


@pytest.mark.parametrize("name", ["VN30", "HNXINDEX", "UPCOMINDEX"])
def test_calendar_equals_other_index_histories(name: str) -> None:
    start = D(2018, 8, 20)
    dates = {d for d in _ftu_dates(name) if start <= d <= FTU_END}
    assert set(trading_days(start, FTU_END)) == dates


@pytest.mark.parametrize("name", ["VNINDEX", "VN30", "HNXINDEX", "UPCOMINDEX"])
def test_calendar_equals_vnstock_vci_indices(name: str) -> None:
    path = _need(VCI_INDICES / f"{name}.csv")
    dates = set(pd.to_datetime(pd.read_csv(path, encoding="utf-8-sig", usecols=["time"])["time"]).dt.date)
    assert set(trading_days(min(dates), max(dates))) == dates


def test_three_session_week_until_march_2002() -> None:
    """HOSE held sessions on Mon/Wed/Fri until 2002-03-01: no Tue/Thu bar before 2002-03-05, then every day."""
    cafef = _cafef_dates()
    early = {d for d in cafef if d <= cal.THREE_SESSION_WEEK_UNTIL}
    assert {d.weekday() for d in early} == {0, 2, 4}
    assert D(2002, 3, 5) in cafef and D(2002, 3, 7) in cafef  # the first Tuesday and Thursday
    assert not is_trading_day(D(2001, 5, 15)) and "Mon/Wed/Fri" in (holiday_name(D(2001, 5, 15)) or "")
    assert is_trading_day(D(2001, 5, 16))
    assert trading_days(D(2002, 2, 25), D(2002, 3, 8)) == [
        D(2002, 2, 25), D(2002, 2, 27), D(2002, 3, 1), D(2002, 3, 4), D(2002, 3, 5), D(2002, 3, 6), D(2002, 3, 7),
        D(2002, 3, 8),
    ]  # fmt: skip


# ------------------------------------------------------------------------------------ holidays package + exceptions


def test_holidays_package_is_the_pinned_version() -> None:
    # Another version can move lunar dates or substituted days; the real-data tests above are pinned to 0.108.
    assert importlib.metadata.version("holidays") == "0.108"


def test_every_exception_changes_what_holidays_says() -> None:
    """A row `holidays` already agrees with is stale (e.g. after an upgrade): drop it rather than keep noise."""
    exceptions = cal.exchange_exceptions()
    assert len(exceptions) >= 30
    public = holidays_pkg.country_holidays("VN", years=range(CALENDAR_START.year, OFFICIAL_THROUGH.year + 1))
    for day, exc in exceptions.items():
        assert (day in public) == (exc.kind == "open"), (day, exc)
        assert exc.evidence and exc.name, day
        assert day <= OFFICIAL_THROUGH, f"{day}: raise OFFICIAL_THROUGH with the year's closures"


def test_exceptions_parser_rejects_bad_rows() -> None:
    header = "date,kind,name,evidence\n"
    assert cal.parse_exceptions(header + "2024-05-17,open,x,y\n")[D(2024, 5, 17)].kind == "open"
    for bad, message in [
        ("2024-05-18,closed,x,y", "weekend"),
        ("1999-05-17,closed,x,y", "before CALENDAR_START"),
        ("2024-05-17,shut,x,y", "kind"),
        ("2024-05-17,closed,x,y\n2024-05-17,closed,x,y", "duplicate"),
    ]:
        with pytest.raises(ValueError, match=message):
            cal.parse_exceptions(header + bad + "\n")


@pytest.mark.parametrize(
    "closed",
    [
        *[D(2024, 2, d) for d in (8, 9, 12, 13, 14)],  # Tết 2024
        *[D(y, 4, 30) for y in (2015, 2018, 2019, 2020, 2021, 2024, 2025, 2026)],
        *[D(y, 5, 1) for y in (2015, 2017, 2018, 2019, 2020, 2023, 2024, 2025, 2026)],
        *[D(y, 9, 2) for y in (2015, 2016, 2019, 2020, 2021, 2022, 2024, 2025, 2026)],
        D(2018, 12, 31),  # New Year bridge day (vendor calendars miss it)
        D(2025, 5, 2),  # Labour Day bridge day (vendor calendars miss it)
        D(2026, 1, 2),  # New Year bridge day `holidays` 0.108 misses (exceptions file)
        D(2025, 1, 1),
        D(2024, 4, 18),  # Hung Kings 2024
        D(2021, 9, 3),  # first year of the two-day National Day
        D(2008, 4, 14),  # Hung Kings bridge day before 2015 (exceptions file)
        D(2000, 9, 4),  # National Day 2000 fell on a Saturday: observed Monday
    ],
)
def test_known_closures(closed: D) -> None:
    assert closed.weekday() < 5
    assert not is_trading_day(closed)
    assert holiday_name(closed) is not None


def test_2026_decisions_follow_holidays() -> None:
    """2026-08-31 (government day swap) and 2026-11-24 (Vietnam Cultural Day): see the exceptions file header."""
    assert not is_trading_day(D(2026, 8, 31)) and holiday_name(D(2026, 8, 31)) == "National Day bridge day"
    assert not is_trading_day(D(2026, 11, 24)) and holiday_name(D(2026, 11, 24)) == "Vietnam Cultural Day"
    assert holidays(D(2026, 8, 22), D(2026, 12, 31)) == [D(2026, 8, 31), D(2026, 9, 1), D(2026, 9, 2), D(2026, 11, 24)]
    assert not is_trading_day(D(2026, 8, 22))  # the make-up Saturday: the exchanges never trade on Saturdays
    header = (Path(cal.__file__).parent / "data" / "exchange_exceptions.csv").read_text("utf-8")
    assert "2026-08-31 (Mon) CLOSED" in header and "2026-11-24 (Tue) CLOSED" in header


def test_national_day_has_two_days_since_2021() -> None:
    for year in range(2021, 2028):
        sept = [d for d in holidays(D(year, 8, 25), D(year, 9, 10)) if holiday_name(d) != "National Day bridge day"]
        assert len(sept) == 2, (year, sept)
        assert all("National Day" in (holiday_name(d) or "") for d in sept)


@pytest.mark.parametrize("open_day", [D(2025, 2, 3), D(2024, 2, 15), D(2024, 2, 7), D(2019, 1, 2), D(2025, 5, 5)])
def test_known_trading_days(open_day: D) -> None:
    assert is_trading_day(open_day)
    assert holiday_name(open_day) is None


def test_weekends_are_closed_but_not_holidays() -> None:
    assert not is_trading_day(D(2024, 2, 10))
    assert holiday_name(D(2024, 2, 10)) is None


def test_every_year_has_the_statutory_closures() -> None:
    all_hol = holidays()
    assert all_hol == sorted(set(all_hol))
    assert all(d.weekday() < 5 for d in all_hol)
    assert all_hol[0] == D(2000, 8, 1)  # the first Tuesday without a session
    assert all_hol[-1] <= OFFICIAL_THROUGH
    # Every year has New Year, Tết (>= 3 sessions; 5 since 2013), 30 Apr / 1 May (or observed) and National Day.
    for year in range(2001, 2032):
        in_year = [holiday_name(d) or "" for d in holidays(D(year, 1, 1), D(year, 12, 31))]
        assert sum("Tết" in n for n in in_year) >= (5 if year >= 2013 else 3), year
        assert any("National Day" in n for n in in_year), year
        assert any("New Year" in n for n in in_year), year
        assert any("Reunification" in n or "Labour" in n for n in in_year), year


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


def test_before_hose_first_session_raises_instead_of_guessing() -> None:
    for bad in (D(2000, 7, 27), D(1999, 12, 31)):
        with pytest.raises(ValueError, match="before the trading calendar starts"):
            is_trading_day(bad)
    with pytest.raises(ValueError):
        previous_trading_day(CALENDAR_START)  # HOSE's first session: nothing before
    with pytest.raises(ValueError):
        trading_days(D(2000, 1, 1), D(2000, 8, 1))
    with pytest.raises(TypeError):
        is_trading_day(dt.datetime(2024, 2, 15, 10))  # type: ignore[arg-type]
    assert trading_days(CALENDAR_START, D(2000, 8, 4)) == [D(2000, 7, 28), D(2000, 7, 31), D(2000, 8, 2), D(2000, 8, 4)]


# ----------------------------------------------------------------------------------------------- the future


def test_2027_tet_closures_come_from_holidays() -> None:
    assert [d for d in holidays(D(2027, 2, 1), D(2027, 2, 28))] == [
        D(2027, 2, 4), D(2027, 2, 5), D(2027, 2, 8), D(2027, 2, 9), D(2027, 2, 10),
    ]  # fmt: skip
    assert all("Tết" in (holiday_name(d) or "") for d in holidays(D(2027, 2, 1), D(2027, 2, 28)))
    assert next_trading_day(D(2027, 2, 3)) == D(2027, 2, 11)
    assert not is_trading_day(D(2027, 1, 1)) and is_trading_day(D(2027, 1, 4))


def test_future_dates_never_raise_and_are_provisional() -> None:
    assert not is_provisional(OFFICIAL_THROUGH) and is_provisional(OFFICIAL_THROUGH + dt.timedelta(days=1))
    assert not is_provisional(D(2026, 12, 31)) and D(2026, 12, 31) == OFFICIAL_THROUGH
    d = D(2031, 6, 3)  # a Tuesday, no holiday
    assert is_trading_day(d) and is_provisional(d)
    assert not is_trading_day(D(2031, 9, 2)) and holiday_name(D(2031, 9, 2)) == "National Day"
    assert next_trading_day(D(2031, 6, 2)) == d and previous_trading_day(D(2031, 6, 4)) == d
    assert len(trading_days(D(2031, 1, 1), D(2031, 12, 31))) in range(240, 255)
    # far ahead: the cache extends on demand and stays consistent with what was computed before
    far = next_trading_day(D(2040, 12, 30), 300)
    assert far.year == 2042 and is_trading_day(far) and last_trading_day_on_or_before(D(2060, 1, 1)).year == 2059
    assert cal.trading_day_index(D(2024, 2, 15)) == len(trading_days(CALENDAR_START, D(2024, 2, 14)))


def test_calendar_calls_are_cheap() -> None:
    # The features, labels and backtests call these per row/day: a bisect over a cached tuple, not a rebuild.
    is_trading_day(D(2030, 1, 2))
    began = time.perf_counter()
    for _ in range(20_000):
        is_trading_day(D(2024, 2, 15))
        previous_trading_day(D(2029, 6, 1), 5)
    assert time.perf_counter() - began < 1.0
