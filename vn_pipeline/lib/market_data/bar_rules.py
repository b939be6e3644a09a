"""Consistency rules for stored bars: OHLC ordering, volume reconciliation, listing completeness.

Each function returns the offending rows (empty when the rule holds) so a check can show them to a person.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import pandas as pd

from vn_pipeline.lib.market.calendar import trading_days
from vn_pipeline.lib.warehouse.columns import ROW_KEY

KEY = list(ROW_KEY)


def ohlc_violations(bars: pd.DataFrame) -> pd.DataFrame:
    """Rows where high < max(open, close), low > min(open, close), high < low, or volume < 0."""
    body_high = bars[["open", "close"]].max(axis=1)
    body_low = bars[["open", "close"]].min(axis=1)
    rules = {
        "high_ge_open_close": bars["high"] < body_high,
        "low_le_open_close": bars["low"] > body_low,
        "high_ge_low": bars["high"] < bars["low"],
        "volume_non_negative": bars["volume"] < 0,
    }
    broken = pd.DataFrame(rules)
    hit = broken.any(axis=1)
    offending = bars[hit].copy()
    offending["rule"] = [",".join(broken.columns[row]) for row in broken[hit].to_numpy()]
    return offending


def volume_mismatches(daily: pd.DataFrame, minute: pd.DataFrame, ticks: pd.DataFrame) -> pd.DataFrame:
    """Tick-built days whose 1-minute volume or tick volume differs from the daily volume."""
    built = daily[daily["source"] == "ticks"].set_index(KEY)["volume"].rename("daily_volume")
    sums = pd.concat(
        [
            minute.groupby(KEY)["volume"].sum().rename("minute_volume"),
            ticks.groupby(KEY)["volume"].sum().rename("tick_volume"),
        ],
        axis=1,
    )
    joined = pd.concat([built, sums], axis=1).fillna(0).astype("int64")
    bad = (joined["daily_volume"] != joined["minute_volume"]) | (joined["daily_volume"] != joined["tick_volume"])
    return joined[bad].reset_index()


def missing_bars(listings: pd.DataFrame, daily: pd.DataFrame, untraded: pd.DataFrame) -> pd.DataFrame:
    """Listed (day, symbol) pairs with neither a daily bar nor a 'not traded' record."""
    accounted = pd.concat([daily[KEY], untraded[KEY]], ignore_index=True).drop_duplicates()
    merged = listings[KEY].merge(accounted, how="left", indicator=True)
    return merged[merged["_merge"] == "left_only"].drop(columns="_merge").reset_index(drop=True)


def untraded_symbols(listings: pd.DataFrame, daily: pd.DataFrame, quarantined: pd.DataFrame) -> pd.DataFrame:
    """Listed (day, symbol) pairs the source reports no trade for. A symbol with quarantined trades did trade:
    it is left out here, so `listed_symbols_complete` flags its missing bar instead of hiding it."""
    accounted = pd.concat([daily[KEY], quarantined[KEY]], ignore_index=True).drop_duplicates()
    merged = listings[KEY].merge(accounted, how="left", indicator=True)
    untraded = merged[merged["_merge"] == "left_only"].drop(columns="_merge").reset_index(drop=True)
    return untraded.assign(reason="no trade reported by the source")


def days_without_bars(bar_days: Iterable[date], start: date, end: date) -> list[date]:
    """Trading days of [start, end] (per the calendar) on which no symbol has a bar while the window has bars
    on days before and after: a session missing from the whole vendor set (no CafeF file has 2025-02-03,
    although VNINDEX traded), not a day on which nothing traded.

    ``bar_days`` are the days with at least one bar (any order, repeats allowed; days outside the window are
    ignored). Days of the window before its first or after its last bar day are where the data starts or ends
    (a vendor export stops on its download day), not a hole in it: they are not reported, and a window without
    any bar reports nothing (a source that provides no daily bars, or a one-day run, cannot tell the two apart).
    """
    days = {day for day in bar_days if start <= day <= end}
    if not days:
        return []
    return [day for day in trading_days(min(days), max(days)) if day not in days]
