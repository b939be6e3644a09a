"""Ticks → OHLCV bars, vectorized over every symbol of a day at once.

Trades are grouped by (symbol, bucket) after one stable sort on (symbol, trading_date, seq), so "first" and
"last" mean the exchange's trade order, not the timestamp (vendor feeds put same-second trades out of order).
A minute bucket never spans the lunch break because no trade is stamped inside it; auction prints fall in the
minute they are stamped (ATO ≈ 09:15, ATC ≈ 14:45), as the vendors publish them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vn_pipeline.lib.warehouse import columns

BAR_1M_COLUMNS = list(columns.OHLCV_1M)
BAR_1D_COLUMNS = list(columns.OHLCV_1D)


def _sorted_groups(ticks: pd.DataFrame, bucket: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order that sorts trades by (symbol, date, bucket, seq) and the start index of each group."""
    symbol_codes, _ = pd.factorize(ticks["symbol"], sort=True)
    date_codes, _ = pd.factorize(ticks["trading_date"], sort=True)
    order = np.lexsort((ticks["seq"].to_numpy(), bucket, date_codes, symbol_codes))
    keys = np.stack([symbol_codes[order], date_codes[order], bucket[order]])
    changed = np.any(keys[:, 1:] != keys[:, :-1], axis=0)
    starts = np.concatenate([[0], np.flatnonzero(changed) + 1])
    return order, starts


def _aggregate(ticks: pd.DataFrame, bucket: np.ndarray) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    order, starts = _sorted_groups(ticks, bucket)
    ends = np.append(starts[1:], len(order)) - 1
    price = ticks["price"].to_numpy(np.int64)[order]
    volume = ticks["volume"].to_numpy(np.int64)[order]
    side = ticks["side"].to_numpy(object)[order]
    value = price * volume
    volume_sum = np.add.reduceat(volume, starts)
    value_sum = np.add.reduceat(value, starts)
    with np.errstate(divide="ignore", invalid="ignore"):
        vwap = np.where(volume_sum > 0, value_sum / volume_sum, np.nan)
    first = order[starts]
    bars = pd.DataFrame(
        {
            "trading_date": ticks["trading_date"].to_numpy(object)[first],
            "symbol": ticks["symbol"].to_numpy(object)[first],
            "open": price[starts],
            "high": np.maximum.reduceat(price, starts),
            "low": np.minimum.reduceat(price, starts),
            "close": price[ends],
            "volume": volume_sum,
            "value": value_sum,
            "vwap": vwap,
            "trade_count": np.diff(np.append(starts, len(order))).astype(np.int32),
            "buy_volume": np.add.reduceat(np.where(side == "B", volume, 0), starts),
            "sell_volume": np.add.reduceat(np.where(side == "S", volume, 0), starts),
        }
    )
    return bars, order, starts


def minute_bars(ticks: pd.DataFrame) -> pd.DataFrame:
    """1-minute OHLCV bars (bar timestamp = minute start, tz-aware) for every symbol and day in ``ticks``."""
    if ticks.empty:
        return pd.DataFrame(columns=BAR_1M_COLUMNS)
    minute = ticks["ts"].dt.floor("min")
    bucket = minute.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[m]").astype(np.int64)
    bars, order, starts = _aggregate(ticks, bucket)
    # keep the tz-aware Series: .to_numpy() would box every timestamp into a Python object
    bars.insert(0, "ts", minute.iloc[order[starts]].reset_index(drop=True))
    return bars[BAR_1M_COLUMNS]


def daily_bars_from_ticks(ticks: pd.DataFrame) -> pd.DataFrame:
    """Daily bars with VWAP, aggressor volumes and the ATO/ATC auction prices, ``source='ticks'``."""
    if ticks.empty:
        return pd.DataFrame(columns=BAR_1D_COLUMNS)
    bars, _, _ = _aggregate(ticks, np.zeros(len(ticks), dtype=np.int64))
    for session, column, pick in (("ATO", "ato_price", "first"), ("ATC", "atc_price", "last")):
        prints = ticks[ticks["session"] == session].sort_values(["symbol", "trading_date", "seq"])
        auction = prints.groupby(["symbol", "trading_date"])["price"].agg(pick).rename(column)
        bars = bars.join(auction, on=["symbol", "trading_date"])
        bars[column] = bars[column].astype("Int64")
    bars["source"] = "ticks"
    return bars[BAR_1D_COLUMNS]


def combine_daily(from_ticks: pd.DataFrame, vendor_bars: pd.DataFrame) -> pd.DataFrame:
    """Tick-built bars where a (day, symbol) has ticks, the vendor's daily bar otherwise."""
    have_ticks = pd.MultiIndex.from_frame(from_ticks[list(columns.ROW_KEY)])
    vendor_keys = pd.MultiIndex.from_frame(vendor_bars[list(columns.ROW_KEY)])
    fallback = vendor_bars[~vendor_keys.isin(have_ticks)].copy()
    fallback["source"] = "daily_bars"
    with np.errstate(divide="ignore", invalid="ignore"):
        fallback["vwap"] = np.where(fallback["volume"] > 0, fallback["value"] / fallback["volume"], np.nan)
    for column in ("trade_count", "buy_volume", "sell_volume", "ato_price", "atc_price"):
        fallback[column] = pd.array([pd.NA] * len(fallback), dtype="Int64")
    parts = [frame[BAR_1D_COLUMNS] for frame in (from_ticks, fallback) if not frame.empty]
    if not parts:
        return pd.DataFrame(columns=BAR_1D_COLUMNS)
    combined = pd.concat(parts, ignore_index=True)
    return combined.sort_values(list(columns.ROW_KEY), ignore_index=True)
