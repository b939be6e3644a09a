"""Benchmark: one full-market simulated day (~1,600 symbols) of ticks, plus the daily path it needs.

Prints seconds and trades/s; the LAST line is one JSON object with the figures.
Run: .venv/bin/python bench/simulator.py [YYYY-MM-DD]
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time

from vn_pipeline.lib.sources.simulator.market import MarketSimulator, SimulatorConfig


def main() -> None:
    day = dt.date.fromisoformat(sys.argv[1]) if len(sys.argv) > 1 else dt.date(2024, 6, 4)
    sim = MarketSimulator(SimulatorConfig(universe="full"))
    t0 = time.perf_counter()
    bars = sim.daily_bars(sim.config.genesis, day)  # daily path genesis -> day (cached afterwards)
    t_daily = time.perf_counter() - t0
    t0 = time.perf_counter()
    ticks = sim.ticks(day)
    t_ticks = time.perf_counter() - t0
    n_days = bars["trading_date"].nunique()
    print(f"daily path: {n_days} days x {len(sim.universe())} symbols in {t_daily:.2f} s")
    print(f"ticks {day}: {len(ticks):,} trades for {ticks['symbol'].nunique()} symbols in {t_ticks:.2f} s")
    print(f"           {len(ticks) / t_ticks:,.0f} trades/s")
    print(
        json.dumps(
            {
                "day": day.isoformat(),
                "symbols": int(ticks["symbol"].nunique()),
                "trades": len(ticks),
                "ticks_seconds": round(t_ticks, 3),
                "trades_per_second": round(len(ticks) / t_ticks),
                "daily_path_days": int(n_days),
                "daily_path_seconds": round(t_daily, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
