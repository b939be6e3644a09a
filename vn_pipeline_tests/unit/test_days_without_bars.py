"""A session missing from the whole vendor set: the rule on its own, and on the real CafeF exports."""

from __future__ import annotations

from datetime import date

from vn_pipeline.lib.market.calendar import trading_days
from vn_pipeline.lib.market_data.bar_rules import days_without_bars
from vn_pipeline.lib.sources.vendors.cafef_files import read_cafef_prices
from vn_pipeline_tests.real_data import VN_REAL, needs_vn_real

TET_2025 = (date(2025, 1, 20), date(2025, 2, 14))  # Tết closed 27 Jan → 31 Jan; 3 Feb traded (VNINDEX)


def test_a_hole_between_bar_days_is_reported_and_holidays_are_not() -> None:
    days = [d for d in trading_days(*TET_2025) if d != date(2025, 2, 3)]
    assert days_without_bars(days * 3, *TET_2025) == [date(2025, 2, 3)]  # repeats: one per symbol
    assert days_without_bars(trading_days(*TET_2025), *TET_2025) == []  # Tết week is closed, not missing


def test_the_edges_of_the_data_and_an_empty_window_are_not_holes() -> None:
    days = trading_days(date(2025, 2, 4), date(2025, 2, 10))  # data starts after the window's first day
    assert days_without_bars(days, date(2025, 2, 3), date(2025, 2, 14)) == []
    assert days_without_bars([], *TET_2025) == []
    # bars outside the window neither fill nor anchor it
    outside = [date(2025, 1, 2), date(2025, 3, 3)]
    assert days_without_bars(outside, *TET_2025) == []
    assert days_without_bars([*outside, date(2025, 2, 4), date(2025, 2, 6)], *TET_2025) == [date(2025, 2, 5)]


@needs_vn_real
def test_2025_02_03_is_missing_from_every_real_file() -> None:
    bar_days: set[date] = set()
    for path in sorted((VN_REAL / "cafef").glob("*/PriceHistory.csv")):
        prices, _ = read_cafef_prices(path)
        in_window = prices["trading_date"].between(*TET_2025)
        bar_days |= set(prices.loc[in_window, "trading_date"])
    assert days_without_bars(bar_days, *TET_2025) == [date(2025, 2, 3)]
