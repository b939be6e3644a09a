"""Benchmark: lib/market_data/bars.py (minute + daily bars) on one full-market simulated day, against plain pandas
groupby.

The simulated day (~1,600 symbols, ~1.3 M trades) is generated first and not timed. Each implementation is
timed best of 3; the pandas groupby version is the obvious way to write the same bars and must give identical
frames, otherwise the comparison is meaningless and the script fails.

Prints a few human lines; the LAST line is one JSON object with the figures.
Run: .venv/bin/python bench/bars.py [YYYY-MM-DD]
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from vn_pipeline.lib.market_data.bars import BAR_1D_COLUMNS, BAR_1M_COLUMNS, daily_bars_from_ticks, minute_bars
from vn_pipeline.lib.sources.simulator.market import MarketSimulator, SimulatorConfig

DEFAULT_DAY = dt.date(2026, 2, 24)  # a recent trading day (Tuesday)
REPEATS = 3
_KEYS = ["symbol", "trading_date"]


def _prepared(ticks: pd.DataFrame) -> pd.DataFrame:
    """Ticks in exchange trade order with the per-trade columns the aggregations sum."""
    # Stable sort by seq inside (symbol, date): groupby 'first'/'last' then mean trade order, as in
    # lib/market_data/bars.py.
    t = ticks.sort_values([*_KEYS, "seq"], kind="stable")
    volume = t["volume"].to_numpy(np.int64)
    return t.assign(
        value=t["price"].to_numpy(np.int64) * volume,
        buy=np.where(t["side"] == "B", volume, 0),
        sell=np.where(t["side"] == "S", volume, 0),
    )


def _agg(grouped: pd.core.groupby.DataFrameGroupBy) -> pd.DataFrame:
    bars = grouped.agg(
        open=("price", "first"),
        high=("price", "max"),
        low=("price", "min"),
        close=("price", "last"),
        volume=("volume", "sum"),
        value=("value", "sum"),
        trade_count=("price", "size"),
        buy_volume=("buy", "sum"),
        sell_volume=("sell", "sum"),
    ).reset_index()
    with np.errstate(divide="ignore", invalid="ignore"):
        bars["vwap"] = np.where(bars["volume"] > 0, bars["value"] / bars["volume"], np.nan)
    return bars


def pandas_minute_bars(ticks: pd.DataFrame) -> pd.DataFrame:
    t = _prepared(ticks)
    t["ts"] = t["ts"].dt.floor("min")
    return _agg(t.groupby([*_KEYS, "ts"], sort=True))[BAR_1M_COLUMNS]


def pandas_daily_bars(ticks: pd.DataFrame) -> pd.DataFrame:
    t = _prepared(ticks)
    bars = _agg(t.groupby(_KEYS, sort=True))
    ato = t[t["session"] == "ATO"].groupby(_KEYS)["price"].first().rename("ato_price")
    atc = t[t["session"] == "ATC"].groupby(_KEYS)["price"].last().rename("atc_price")
    bars = bars.join(ato, on=_KEYS).join(atc, on=_KEYS)
    bars[["ato_price", "atc_price"]] = bars[["ato_price", "atc_price"]].astype("Int64")
    bars["source"] = "ticks"
    return bars[BAR_1D_COLUMNS]


def best_of(fn: Callable[[pd.DataFrame], pd.DataFrame], ticks: pd.DataFrame) -> tuple[float, pd.DataFrame]:
    best = float("inf")
    out = pd.DataFrame()
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        out = fn(ticks)
        best = min(best, time.perf_counter() - t0)
    return best, out


def assert_same(ours: pd.DataFrame, theirs: pd.DataFrame, what: str) -> None:
    """Same rows, same order, same values; integer widths may differ (lib stores trade_count as int32)."""
    a, b = ours.reset_index(drop=True), theirs.reset_index(drop=True)
    b["trade_count"] = b["trade_count"].astype(a["trade_count"].dtype)
    pd.testing.assert_frame_equal(a, b, check_exact=True, obj=what)


def main() -> None:
    day = dt.date.fromisoformat(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DAY
    t0 = time.perf_counter()
    ticks = MarketSimulator(SimulatorConfig(universe="full")).ticks(day)
    t_gen = time.perf_counter() - t0
    n_symbols, n_trades = int(ticks["symbol"].nunique()), len(ticks)
    print(f"simulated {day}: {n_trades:,} trades for {n_symbols:,} symbols (generated in {t_gen:.1f} s, not timed)")

    t_minute, minute = best_of(minute_bars, ticks)
    t_daily, daily = best_of(daily_bars_from_ticks, ticks)
    t_pd_minute, pd_minute = best_of(pandas_minute_bars, ticks)
    t_pd_daily, pd_daily = best_of(pandas_daily_bars, ticks)
    assert_same(minute, pd_minute, "minute bars")
    assert_same(daily, pd_daily, "daily bars")

    ours, theirs = t_minute + t_daily, t_pd_minute + t_pd_daily
    print(
        f"market_data/bars.py minute {t_minute:.3f} s ({len(minute):,} bars),"
        f" daily {t_daily:.3f} s ({len(daily):,} bars)"
    )
    print(f"pandas groupby      minute {t_pd_minute:.3f} s, daily {t_pd_daily:.3f} s (identical results)")
    print(
        f"speed-up vs pandas groupby: minute {t_pd_minute / t_minute:.2f}x, daily {t_pd_daily / t_daily:.2f}x, "
        f"both {theirs / ours:.2f}x; {n_trades / ours:,.0f} trades/s through both"
    )
    print(
        json.dumps(
            {
                "symbols": n_symbols,
                "trades": n_trades,
                "minute_bars_s": round(t_minute, 4),
                "daily_bars_s": round(t_daily, 4),
                # trades per second through minute + daily bars together
                "rows_per_s": round(n_trades / ours),
                # pandas minute + daily, same outputs
                "pandas_groupby_s": round(theirs, 4),
                "speedup_vs_pandas_groupby": round(theirs / ours, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
