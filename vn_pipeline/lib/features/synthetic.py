"""Fast synthetic market (random walks on the HOSE tick grid) for feature tests and benchmarks.

Not the project simulator (vn_pipeline.lib.sources.simulator): that one models the exchange faithfully and is
too slow for 1,600 symbols × 10 years. Here prices are log-normal random walks rounded to the HOSE tick,
volumes in board lots, flows a random fraction of the day's trading, all in one numpy pass.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd


def hose_tick(price: np.ndarray) -> np.ndarray:
    """HOSE stock tick: 10 VND below 10,000; 50 below 50,000; 100 above (VN_MARKET.md)."""
    return np.where(price < 10_000, 10, np.where(price < 50_000, 50, 100))


def business_days(n_days: int, end: dt.date = dt.date(2025, 12, 31)) -> pd.DatetimeIndex:
    return pd.bdate_range(end=end, periods=n_days)


def random_market(
    n_symbols: int, n_days: int, seed: int = 0, gap_prob: float = 0.0
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """(bars, flows, index_close). ``gap_prob``: chance a symbol skips a day (halts), to exercise gaps."""
    rng = np.random.default_rng(seed)
    days = business_days(n_days)
    start = np.exp(rng.uniform(np.log(3_000), np.log(150_000), n_symbols))
    vol = rng.uniform(0.01, 0.035, n_symbols)
    log_ret = rng.standard_normal((n_days, n_symbols)) * vol
    mid = start * np.exp(np.cumsum(log_ret, axis=0))
    close = _on_tick(mid)
    prev = np.vstack([close[:1], close[:-1]])
    open_ = _on_tick(prev * np.exp(rng.standard_normal(close.shape) * vol * 0.3))
    wick = np.abs(rng.standard_normal((2, *close.shape))) * vol * 0.5
    high = np.maximum(_on_tick(np.maximum(open_, close) * (1 + wick[0])), np.maximum(open_, close))
    low = np.minimum(_on_tick(np.minimum(open_, close) * (1 - wick[1])), np.minimum(open_, close))
    volume = np.maximum(1, np.round(rng.lognormal(8.0, 1.0, close.shape))).astype(np.int64) * 100
    vwap = (open_ + high + low + close) / 4.0
    value = np.round(volume * vwap).astype(np.int64)
    traded = rng.random(close.shape) >= gap_prob
    d_idx, s_idx = np.nonzero(traded)
    symbols = np.array([f"S{i:04d}" for i in range(n_symbols)])
    dates = np.array([d.date() for d in days], dtype=object)
    bars = pd.DataFrame(
        {
            "trading_date": dates[d_idx],
            "symbol": symbols[s_idx],
            "open": open_[d_idx, s_idx].astype(np.int64),
            "high": high[d_idx, s_idx].astype(np.int64),
            "low": low[d_idx, s_idx].astype(np.int64),
            "close": close[d_idx, s_idx].astype(np.int64),
            "volume": volume[d_idx, s_idx],
            "value": value[d_idx, s_idx],
            "vwap": value[d_idx, s_idx] / volume[d_idx, s_idx],
            "source": "synthetic",
        }
    )
    share = rng.uniform(0.0, 0.3, (2, *close.shape))
    room0 = rng.uniform(1e6, 5e7, n_symbols)
    room = np.maximum(0.0, room0 - np.cumsum((share[0] - share[1]) * volume, axis=0)).round()
    flows = pd.DataFrame(
        {
            "trading_date": bars["trading_date"],
            "symbol": bars["symbol"],
            "buy_volume": np.round(share[0] * volume)[d_idx, s_idx],
            "sell_volume": np.round(share[1] * volume)[d_idx, s_idx],
            "buy_value": np.round(share[0] * value)[d_idx, s_idx],
            "sell_value": np.round(share[1] * value)[d_idx, s_idx],
            "room_remaining": room[d_idx, s_idx],
        }
    )
    index_close = pd.Series(
        1_300.0 * np.exp(np.cumsum(rng.standard_normal(n_days) * 0.012)).round(2), index=dates, name="close"
    )
    return bars, flows, index_close


def random_proprietary(bars: pd.DataFrame, seed: int = 0, row_prob: float = 1.0) -> pd.DataFrame:
    """market.proprietary_flows rows for ``bars``: desks buy and sell a random 0-10% of the day's value each;
    ``row_prob``: chance a bar has a row at all (CafeF's file is sparse: a row only on days a desk traded)."""
    rng = np.random.default_rng(seed)
    rows = bars[rng.random(len(bars)) < row_prob]
    share = rng.uniform(0.0, 0.1, (4, len(rows)))
    return pd.DataFrame(
        {
            "trading_date": rows["trading_date"].to_numpy(),
            "symbol": rows["symbol"].to_numpy(),
            "buy_volume": np.round(share[0] * rows["volume"].to_numpy()).astype(np.int64),
            "sell_volume": np.round(share[1] * rows["volume"].to_numpy()).astype(np.int64),
            "buy_value": np.round(share[0] * rows["value"].to_numpy()).astype(np.int64),
            "sell_value": np.round(share[1] * rows["value"].to_numpy()).astype(np.int64),
        }
    )


def _on_tick(price: np.ndarray) -> np.ndarray:
    price = np.maximum(price, 100.0)
    tick = hose_tick(price)
    return np.round(price / tick) * tick
