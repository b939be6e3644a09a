"""A real stock dividend through the backtester: VCB's 49.5% bonus issue (ex-date 2025-03-12) on CafeF's quoted
prices. Holding through it must earn what CafeF's adjusted close says the stock earned, on real share counts."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from vn_pipeline.lib.backtest import Rules, run_backtest
from vn_pipeline.lib.backtest.audit import fill_violations
from vn_pipeline.lib.market.exchanges import price_limits, round_down_to_tick
from vn_pipeline.lib.sources.vendors.cafef_files import read_cafef_prices
from vn_pipeline_tests.real_data import VN_REAL, needs_vn_real

CAFEF_VCB = VN_REAL / "cafef" / "VCB"
pytestmark = needs_vn_real
EX_DATE, RATIO = dt.date(2025, 3, 12), 0.495  # VCB's stock dividend (shared/data/vn_real/README.md)
START, EXIT_SIGNAL, END = dt.date(2025, 3, 3), dt.date(2025, 4, 21), dt.date(2025, 4, 25)
INIT_CASH = 1_000_000_000.0


@pytest.fixture(scope="module")
def vcb() -> tuple[dict[str, pd.DataFrame], pd.Series]:
    """Quoted bars of VCB with the day's HOSE band (reference = previous close, cut by the dividend on its
    ex-date), the share factor, and CafeF's adjusted close."""
    prices, _ = read_cafef_prices(CAFEF_VCB / "PriceHistory.csv")
    prices = prices.set_index("trading_date").sort_index()
    reference = prices["close"].shift(1)
    reference[EX_DATE] = round_down_to_tick("HOSE", round(reference[EX_DATE] / (1 + RATIO)))
    days = prices.loc[START:END].index
    limits = [price_limits("HOSE", int(reference[d])) for d in days]
    frame = pd.DataFrame(
        {
            "open": prices.loc[days, "open"],
            "high": prices.loc[days, "high"],
            "low": prices.loc[days, "low"],
            "close": prices.loc[days, "close"],
            "vwap": prices.loc[days, "value"] / prices.loc[days, "volume"],
            "volume": prices.loc[days, "volume"],
            "floor": [f for f, _ in limits],
            "ceiling": [c for _, c in limits],
            "share_factor": np.where(days == EX_DATE, 1 + RATIO, 1.0),
        },
        index=days,
    ).astype(float)
    bars = {name: frame[[name]].rename(columns={name: "VCB"}) for name in frame.columns}
    return bars, prices.loc[days, "adj_close"].astype(float)


def test_holding_through_the_dividend_earns_the_adjusted_return(vcb) -> None:
    bars, adj_close = vcb
    days = bars["close"].index
    weights = pd.DataFrame({"VCB": np.nan}, index=days)
    weights.loc[START, "VCB"] = 1.0
    weights.loc[EXIT_SIGNAL, "VCB"] = 0.0
    rules = Rules(bonus_lock_days=20)
    res = run_backtest(weights, bars, INIT_CASH, rules)

    shares = res.positions["VCB"]
    bought = shares.loc[:EX_DATE].iloc[-2]  # held at the close before the ex-date
    assert bought > 0 and bought % 100 == 0
    assert shares.loc[EX_DATE] == math.floor(bought * (1 + RATIO))  # bonus shares credited, fraction cancelled
    assert shares.loc[EX_DATE] % 100 != 0  # ... which leaves an odd lot (sold on the odd-lot board at the exit)

    # Held value from the entry fill to the last close before the exit, against CafeF's adjusted prices.
    entry = res.trades.iloc[0]
    last_held = days[days.get_loc(EXIT_SIGNAL)]
    adj_entry = entry["price"] * adj_close[entry["date"]] / bars["close"].loc[entry["date"], "VCB"]
    expected = bought * entry["price"] * adj_close[last_held] / adj_entry
    held = shares.loc[last_held] * bars["close"].loc[last_held, "VCB"]
    assert held == pytest.approx(expected, rel=2e-4)  # CafeF rounds its adjusted close to 10 VND

    # The exit sells every share, odd lot included, once the bonus shares have listed; every fill obeys the rules.
    sells = res.trades[res.trades["side"] == "sell"]
    assert sells["shares"].sum() == shares.loc[EX_DATE] and shares.iloc[-1] == 0
    assert fill_violations(res.trades, bars, rules).empty
