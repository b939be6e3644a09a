"""What the feature matrix (and everything adjusted like it) reads from the warehouse: its history window, the
corporate actions of a window, and the bars as the features saw them."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import psycopg

from vn_pipeline.lib.features.adjust import adjust_prices
from vn_pipeline.lib.features.core import WARMUP_DAYS, compute_features
from vn_pipeline.lib.features.rules import KEY, flat_windows, nan_outside_warmup, without_proprietary_data
from vn_pipeline.lib.market.calendar import CALENDAR_START, previous_trading_day
from vn_pipeline.lib.warehouse.reads import date_span, read_partition


def stored_span(conn: psycopg.Connection[Any], table: str) -> tuple[date, date]:
    """First and last trading_date stored in ``table`` ("schema.table"); an empty table is an error.
    (Every domain reads spans this way: its home is lib/warehouse/reads.py once that module is free to change.)"""
    first, last = date_span(conn, table)
    if first is None or last is None:
        raise ValueError(f"{table} is empty: materialize it first")
    return first, last


def lookback_start(start: date) -> date:
    """The first day a window's features read: WARMUP_DAYS trading days back, never before the calendar."""
    try:
        return previous_trading_day(start, WARMUP_DAYS)
    except ValueError:
        return CALENDAR_START


def actions_between(conn: psycopg.Connection[Any], start: date, end: date) -> pd.DataFrame:
    """Corporate actions with ex-dates in [start, end], in the layout adjust_prices takes."""
    actions = read_partition(conn, "market.corporate_actions", start, end)
    return actions.rename(columns={"trading_date": "ex_date"})


def adjusted_bars(conn: psycopg.Connection[Any], start: date, end: date) -> pd.DataFrame:
    """The daily bars of [start, end] adjusted for the stock dividends with ex-dates in the same window."""
    return adjust_prices(read_partition(conn, "market.ohlcv_1d", start, end), actions_between(conn, start, end))


def history_lengths(bars: pd.DataFrame) -> pd.Series:
    """Per (trading_date, symbol) of ``bars``, how many bars of the symbol came before it (0 on its first)."""
    keys = bars[["trading_date", "symbol"]].sort_values(["symbol", "trading_date"])
    return keys.groupby("symbol").cumcount().set_axis(pd.MultiIndex.from_frame(keys))


def vn30_close(index_levels: pd.DataFrame) -> pd.Series | None:
    """VN30's closes by trading date from market.index_levels rows; None when the window has none."""
    vn30 = index_levels[index_levels["index_code"] == "VN30"].set_index("trading_date")["close"].sort_index()
    return vn30 if len(vn30) else None


def daily_features(conn: psycopg.Connection[Any], start: date, end: date) -> pd.DataFrame:
    """The feature rows of [start, end], computed from lookback_start(start) on: dividend-adjusted bars, foreign
    and proprietary flows and VN30 (relative rotation)."""
    first = lookback_start(start)
    bars = adjusted_bars(conn, first, end)
    flows = read_partition(conn, "market.foreign_flows", first, end)
    proprietary = read_partition(conn, "market.proprietary_flows", first, end)
    index = read_partition(conn, "market.index_levels", first, end)
    return compute_features(bars, flows, vn30_close(index), start=start, proprietary=proprietary)


def warmup_nan_rows(conn: psycopg.Connection[Any], start: date, end: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stored feature rows of [start, end] with a NaN once their symbol has WARMUP_DAYS bars of history:
    (those neither a flat window nor missing proprietary flows explain, those missing proprietary flows do not
    explain). History, flat windows and proprietary rows are recomputed from the inputs as the features saw
    them: same lookback, same dividend adjustment (see lib/features/rules.py)."""
    features = read_partition(conn, "features.daily", start, end)
    first = lookback_start(start)
    bars = adjusted_bars(conn, first, end)
    history = history_lengths(bars)
    proprietary = read_partition(conn, "market.proprietary_flows", first, end)
    no_proprietary = without_proprietary_data(bars, proprietary)
    explained = flat_windows(bars).merge(no_proprietary, on=KEY, how="outer")
    offending = nan_outside_warmup(features, history, WARMUP_DAYS, explained)
    # before the flat-window rule, for the record (a symbol without proprietary flows is not a flat window)
    with_nan = nan_outside_warmup(features, history, WARMUP_DAYS, no_proprietary)
    return offending, with_nan
