"""What the feature matrix (and everything adjusted like it) reads from the warehouse: its history window, the
corporate actions of a window, and the bars as the features saw them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import psycopg

from vn_pipeline.lib.features.adjust import adjust_prices
from vn_pipeline.lib.features.core import UNDEFINED_ON_FLAT, WARMUP_DAYS, compute_features
from vn_pipeline.lib.features.flows import PROP_WINDOWS
from vn_pipeline.lib.features.rules import (
    FOREIGN_WINDOWS,
    ROOM_WINDOWS,
    ROTATION_WINDOWS,
    explained_nan,
    nan_outside_warmup,
)
from vn_pipeline.lib.market.calendar import CALENDAR_START, previous_trading_day
from vn_pipeline.lib.sources.vendors.index_files import MissingRange, missing_level_ranges
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


def adjusted_bars(
    conn: psycopg.Connection[Any],
    start: date,
    end: date,
    columns: Sequence[str] | None = None,
    symbols: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The daily bars of [start, end] (optionally some columns of some symbols) adjusted for the stock dividends
    with ex-dates in the same window."""
    bars = read_partition(conn, "market.ohlcv_1d", start, end, columns=columns, symbols=symbols)
    return adjust_prices(bars, actions_between(conn, start, end))


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


# The columns each NaN rule of rules.py explains (its xrank_<base> too), by the name the check reports.
RULES: dict[str, tuple[str, ...]] = {
    "on_flat_windows": UNDEFINED_ON_FLAT,
    "without_foreign_flows": (*FOREIGN_WINDOWS, *ROOM_WINDOWS, "xrank_foreign_net_ratio_5"),
    "without_vn30_levels": (*ROTATION_WINDOWS, "xrank_rrg_rs_ratio"),
    "without_proprietary_flows": tuple(PROP_WINDOWS),
}


@dataclass(frozen=True)
class WarmupNan:
    """What features_nan_only_in_warmup reports on a window.

    ``offending``: rows with a NaN no rule explains (trading_date, symbol, nan_features). ``needs_rule``: per rule
    of RULES, how many more rows would offend without it (the rows only that rule explains).
    ``missing_vn30``: the ranges of trading days the window's features read (its lookback included) without a
    VN30 level, where the rotation features are NaN by design."""

    offending: pd.DataFrame
    needs_rule: dict[str, int]
    missing_vn30: list[MissingRange]


def warmup_nan_rows(conn: psycopg.Connection[Any], start: date, end: date) -> WarmupNan:
    """Stored feature rows of [start, end] with a NaN once their symbol has WARMUP_DAYS bars of history that
    no rule of rules.py explains (flat window, no foreign flows, no VN30 levels, no proprietary flows). History
    and every rule are recomputed from the inputs as the features saw them: same lookback, same dividend
    adjustment, same flow and index rows (see lib/features/rules.py)."""
    features = read_partition(conn, "features.daily", start, end)
    first = lookback_start(start)
    bars = adjusted_bars(conn, first, end)
    history = history_lengths(bars)
    flows = read_partition(conn, "market.foreign_flows", first, end)
    proprietary = read_partition(conn, "market.proprietary_flows", first, end)
    index = read_partition(conn, "market.index_levels", first, end)
    explained = explained_nan(bars, flows, vn30_close(index), proprietary)
    offending = nan_outside_warmup(features, history, WARMUP_DAYS, explained)
    needs_rule = {}
    for rule, names in RULES.items():
        without = explained.drop(columns=[c for c in names if c in explained.columns])
        needs_rule[rule] = len(nan_outside_warmup(features, history, WARMUP_DAYS, without)) - len(offending)
    return WarmupNan(offending, needs_rule, missing_level_ranges(index, "VN30", first, end))
