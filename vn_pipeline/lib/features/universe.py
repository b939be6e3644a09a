"""The point-in-time liquidity universe: for each trading day D, the most liquid names by trailing traded value,
among the symbols listed and trading on D, from data up to D's close only.

The trailing window counts trading days of the calendar, not a symbol's own bars: a day's universe must be
computable from a bounded read (``window`` trading days back), identical whether D is computed alone or inside a
25-year window. Within it, a name's liquidity is the mean ``value`` of the bars it has there (a day it did not
trade has no bar and does not count), and it needs ``min_history`` such bars: a name that traded on fewer days
(a new listing, a long halt, a name that rarely trades) cannot enter. Delisted names stop having bars and so
leave the universe once they stop trading; before that they are in it like any other name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import psycopg

from vn_pipeline.lib.market.calendar import CALENDAR_START, previous_trading_day, trading_days
from vn_pipeline.lib.warehouse.reads import read_partition

UNIVERSE_SIZE = 100
LIQUIDITY_WINDOW = 60
MIN_HISTORY = 20
UNIVERSE_COLUMNS = ["trading_date", "symbol", "liquidity_rank", "avg_value"]


def _rolling_sum(matrix: np.ndarray, window: int) -> np.ndarray:
    """Sum over the last ``window`` rows, each row included (fewer at the top), exact for integers."""
    total = np.cumsum(matrix, axis=0)
    total[window:] -= total[:-window].copy()
    return total


def liquidity_universe(
    bars: pd.DataFrame,
    listings: pd.DataFrame | None = None,
    *,
    size: int = UNIVERSE_SIZE,
    window: int = LIQUIDITY_WINDOW,
    min_history: int = MIN_HISTORY,
    days: Sequence[dt.date] | None = None,
    start: dt.date | None = None,
) -> pd.DataFrame:
    """The universe of each day of ``days`` from ``start`` on: (trading_date, symbol, liquidity_rank 1..size,
    avg_value in VND), sorted by day and rank.

    ``bars``: daily bars (trading_date, symbol, volume, value) from at least ``window - 1`` trading days before
    ``start``. ``listings``: (trading_date, symbol) listed that day; None: every symbol with a bar is listed.
    ``days``: the trading-day axis the window counts (default: the days of ``bars``); pass the exchange calendar
    so that a day no vendor file has still counts. Ties in avg_value go to the symbol first in alphabetical order.
    """
    if size < 1 or window < 1 or not 1 <= min_history <= window:
        raise ValueError(f"need size ≥ 1 and 1 ≤ min_history ≤ window, got {size}, {min_history}, {window}")
    # Factorize first: hashing 4 M rows once, then only the few thousand distinct dates are looked up.
    date_code, bar_dates = pd.factorize(bars["trading_date"])
    axis = pd.Index(sorted(bar_dates) if days is None else sorted(days))
    to_axis = axis.get_indexer(bar_dates)
    if (to_axis < 0).any():
        raise ValueError(f"bars dated outside the trading-day axis: {sorted(bar_dates[to_axis < 0])[:5]}")
    row = to_axis[date_code]
    col, symbols = pd.factorize(bars["symbol"], sort=True)
    symbols = symbols.to_numpy(dtype=object)
    shape = (len(axis), len(symbols))
    value = np.zeros(shape, dtype=np.int64)
    has_bar = np.zeros(shape, dtype=np.int64)
    value[row, col] = bars["value"].to_numpy(np.int64)
    has_bar[row, col] = 1
    eligible = np.zeros(shape, dtype=bool)
    eligible[row, col] = bars["volume"].to_numpy(np.int64) > 0  # trading on D, not just a quoted row
    if listings is not None:
        listed = np.zeros(shape, dtype=bool)
        l_row = axis.get_indexer(listings["trading_date"])
        l_col = pd.Index(symbols).get_indexer(listings["symbol"])
        keep = (l_row >= 0) & (l_col >= 0)
        listed[l_row[keep], l_col[keep]] = True
        eligible &= listed

    first = 0 if start is None else int(axis.searchsorted(start))
    total = _rolling_sum(value, window)[first:]
    count = _rolling_sum(has_bar, window)[first:]
    eligible = eligible[first:] & (count >= min_history)
    avg = np.where(eligible, total / np.maximum(count, 1), -np.inf)
    # Stable sort on the negated values: equal liquidity keeps the alphabetical order of ``symbols``.
    order = np.argsort(-avg, axis=1, kind="stable")
    rank = np.empty(avg.shape, dtype=np.int64)
    np.put_along_axis(rank, order, np.arange(1, len(symbols) + 1)[None, :], axis=1)
    member_row, member_col = np.nonzero(eligible & (rank <= size))
    frame = pd.DataFrame(
        {
            "trading_date": axis.to_numpy()[first:][member_row],
            "symbol": symbols[member_col],
            "liquidity_rank": rank[member_row, member_col].astype(np.int32),
            "avg_value": avg[member_row, member_col],
        },
        columns=UNIVERSE_COLUMNS,
    )
    return frame.sort_values(["trading_date", "liquidity_rank"], ignore_index=True)


def universe_lookback_start(start: dt.date, window: int = LIQUIDITY_WINDOW) -> dt.date:
    """The first day the universe of a window starting at ``start`` reads: ``window - 1`` trading days back."""
    try:
        return previous_trading_day(start, window - 1)
    except ValueError:
        return CALENDAR_START


def universe_between(
    conn: psycopg.Connection[Any],
    start: dt.date,
    end: dt.date,
    size: int = UNIVERSE_SIZE,
    window: int = LIQUIDITY_WINDOW,
    min_history: int = MIN_HISTORY,
) -> pd.DataFrame:
    """The universe of every trading day of [start, end] from the stored daily bars and listings."""
    first = universe_lookback_start(start, window)
    bars = read_partition(conn, "market.ohlcv_1d", first, end, columns=["trading_date", "symbol", "volume", "value"])
    listings = read_partition(conn, "market.listings", start, end, columns=["trading_date", "symbol"])
    return liquidity_universe(
        bars, listings, size=size, window=window, min_history=min_history, days=trading_days(first, end), start=start
    )
