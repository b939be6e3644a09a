"""Backtests credit each corporate action's value: cash dividends in cash on the shares held before the ex-date,
unknown events and rights by the price cut the adjustment ascribes to them (engine.py's docstring)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from vn_pipeline.lib.backtest import Rules, run_backtest
from vn_pipeline.lib.backtest.inputs import cash_credit
from vn_pipeline.lib.sources.vendors.cafef_adjustments import corporate_actions_from_adjustment
from vn_pipeline.lib.sources.vendors.cafef_files import read_cafef_prices
from vn_pipeline_tests.real_data import VN_REAL, needs_vn_real

INIT_CASH = 1_000_000_000.0
DAYS = pd.Index([dt.date(2024, 3, d) for d in (4, 5, 6, 7, 8, 11, 12, 13, 14, 15)])
EX = 5  # row of the ex-date


def bars(close: list[float], credit: float) -> dict[str, pd.DataFrame]:
    frame = pd.DataFrame({"close": close}, index=DAYS)
    panels = {name: frame.rename(columns={"close": "AAA"}) for name in ("open", "high", "low", "close", "vwap")}
    panels["volume"] = panels["close"] * 0 + 1e6
    panels["ceiling"] = panels["close"] * 2
    panels["floor"] = panels["close"] * 0
    credit_panel = panels["close"] * 0.0
    credit_panel.iloc[EX, 0] = credit
    panels["cash_credit"] = credit_panel
    return panels


def hold(panels: dict[str, pd.DataFrame]):
    weights = pd.DataFrame({"AAA": np.nan}, index=DAYS)
    weights.iloc[0, 0] = 0.9
    return run_backtest(weights, panels, INIT_CASH, Rules(bonus_lock_days=0))


def test_a_cash_dividend_keeps_the_books_value_across_its_price_cut() -> None:
    close = [20_000.0] * EX + [19_000.0] * (len(DAYS) - EX)  # 1,000 VND dividend, nothing else moves
    res = hold(bars(close, 1_000.0))
    shares = res.positions["AAA"].iloc[EX - 1]
    assert shares > 0 and (res.positions["AAA"].iloc[1:] == shares).all()  # bought once, no share credited
    assert res.cash.iloc[EX] - res.cash.iloc[EX - 1] == pytest.approx(shares * 1_000.0)
    assert res.equity.iloc[EX] == pytest.approx(res.equity.iloc[EX - 1], rel=1e-12)
    # Without the credit the same cut is a loss of the dividend on every share.
    plain = hold(bars(close, 0.0))
    assert res.equity.iloc[EX - 1] - plain.equity.iloc[EX] == pytest.approx(shares * 1_000.0)
    assert res.stats["total_return"] > plain.stats["total_return"]
    assert res.stats["total_return"] == pytest.approx(res.equity.iloc[-1] / INIT_CASH - 1)


def test_actions_turn_into_the_cash_each_kind_credits() -> None:
    like = pd.DataFrame(0.0, index=DAYS, columns=["AAA", "BBB"])
    actions = pd.DataFrame(
        {
            "ex_date": [DAYS[2], DAYS[3], DAYS[3], DAYS[4], DAYS[6]],
            "symbol": ["AAA", "AAA", "BBB", "BBB", "AAA"],
            "kind": ["cash_dividend", "unknown", "stock_dividend", "rights_issue", "unknown"],
            "ratio": [0.0, 0.0, 0.1, 0.3, 0.0],
            "reference_before": [20_000, 30_000, 22_000, 25_000, 9_900],
            "reference_after": [19_000, 28_700, 20_000, 21_538, 12_946],  # the last: a vendor's upward jump
            "cash_per_share": [1_000, None, None, None, None],
        }
    )
    credit = cash_credit(actions, like)
    assert credit.loc[DAYS[2], "AAA"] == 1_000 and credit.loc[DAYS[3], "AAA"] == 1_300
    assert credit.loc[DAYS[3], "BBB"] == 0  # shares, not cash
    assert credit.loc[DAYS[4], "BBB"] == 25_000 - 21_538
    assert credit.loc[DAYS[6], "AAA"] == 0  # a price-raising "cut" takes nothing from holders
    assert credit.to_numpy().sum() == 1_000 + 1_300 + 3_462


@needs_vn_real
def test_holding_vcb_through_a_real_cash_dividend_earns_the_adjusted_return() -> None:
    """VCB's 800 VND dividend, ex-date 2020-12-21, read off CafeF's adjustment: held through it, the book's value
    follows CafeF's adjusted close (to its 10 VND rounding), not the raw close's −0.8% cut."""
    prices, _ = read_cafef_prices(VN_REAL / "cafef" / "VCB" / "PriceHistory.csv")
    actions = corporate_actions_from_adjustment(prices)
    ex = dt.date(2020, 12, 21)
    event = actions[actions["trading_date"] == ex].iloc[0]
    assert event["kind"] == "cash_dividend" and event["cash_per_share"] == 800
    window = prices[(prices["trading_date"] >= dt.date(2020, 12, 10)) & (prices["trading_date"] <= dt.date(2021, 1, 5))]
    frame = window.set_index("trading_date")
    panels = {name: frame[[name]].rename(columns={name: "VCB"}).astype(float) for name in ("open", "high", "low")}
    panels["close"] = frame[["close"]].rename(columns={"close": "VCB"}).astype(float)
    panels["vwap"] = panels["close"]
    panels["volume"] = frame[["volume"]].rename(columns={"volume": "VCB"}).astype(float)
    panels["ceiling"], panels["floor"] = panels["close"] * 2, panels["close"] * 0
    panels["cash_credit"] = cash_credit(actions.rename(columns={"trading_date": "ex_date"}), panels["close"])
    weights = pd.DataFrame({"VCB": np.nan}, index=frame.index)
    weights.iloc[0, 0] = 1.0
    res = run_backtest(weights, panels, INIT_CASH, Rules())
    shares = res.positions["VCB"].loc[ex]
    assert res.cash.loc[ex] - res.cash.iloc[frame.index.get_loc(ex) - 1] == pytest.approx(shares * 800)
    held = res.equity.loc[frame.index[frame.index > frame.index[1]]]  # from the close after the entry fill
    adj = frame["adj_close"].loc[held.index]
    # Value = cash + shares × close; its moves equal the adjusted close's moves (cash earns nothing).
    invested = held - res.cash.loc[held.index].where(held.index < ex, res.cash.loc[held.index] - shares * 800)
    assert (invested / invested.iloc[0]).to_numpy() == pytest.approx((adj / adj.iloc[0]).to_numpy(), rel=2e-4)
