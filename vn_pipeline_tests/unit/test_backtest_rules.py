"""Each VN trading rule of the backtester, checked on tiny hand-made panels where the rule changes the outcome."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from vn_pipeline.lib.backtest import Rules, run_backtest

N = np.nan
IDX = pd.date_range("2024-01-01", periods=7, freq="B")


def make_bars(
    prices: dict[str, list[float]], n: int = 7, **overrides: dict[str, list[float]]
) -> dict[str, pd.DataFrame]:
    """Flat bars (open=high=low=close=vwap=price) with a wide band and volume; ``overrides`` patch single panels."""
    idx = IDX[:n]
    base = pd.DataFrame(prices, index=idx, dtype=float)
    bars = {k: base.copy() for k in ("open", "close", "vwap")}
    bars["high"] = base * 1.01  # a range, so nothing counts as locked unless a test says so
    bars["low"] = base * 0.99
    bars["volume"] = pd.DataFrame(1000.0, index=idx, columns=base.columns)
    bars["ceiling"] = base * 1.07
    bars["floor"] = base * 0.93
    for field, cols in overrides.items():
        for col, values in cols.items():
            bars[field][col] = np.asarray(values, dtype=float)
    return bars


def weights(cols: dict[str, list[float]], n: int = 7) -> pd.DataFrame:
    return pd.DataFrame(cols, index=IDX[:n], dtype=float)


def trade_rows(res) -> list[tuple]:
    t = res.trades
    return [
        (d.strftime("%Y-%m-%d"), s, side, int(q), float(p))
        for d, s, side, q, p in zip(t["date"], t["symbol"], t["side"], t["shares"], t["price"], strict=True)
    ]


# --- fees and sale tax ---------------------------------------------------------------------------------------------


def test_fees_and_sale_tax_exact_cash() -> None:
    bars = make_bars({"A": [10, 10, 10, 12, 12, 12, 12]})
    w = weights({"A": [0.5, N, N, 0.0, N, N, N]})
    res = run_backtest(w, bars, 100_000.0, Rules())
    # Buy 5,000 @10 on bar 1: 50,000 + 0.15% = 50,075. Sell 5,000 @12 on bar 4: 60,000 - 0.15% fee - 0.1% tax.
    assert trade_rows(res) == [("2024-01-02", "A", "buy", 5000, 10.0), ("2024-01-05", "A", "sell", 5000, 12.0)]
    assert res.trades["fees"].tolist() == pytest.approx([75.0, 90.0])
    assert res.trades["tax"].tolist() == pytest.approx([0.0, 60.0])
    assert res.equity.iloc[-1] == pytest.approx(100_000 - 50_075 + 60_000 - 90 - 60)
    free = run_backtest(w, bars, 100_000.0, Rules(buy_fee=0.0, sell_fee=0.0, sale_tax=0.0))
    assert free.equity.iloc[-1] == pytest.approx(110_000.0)


# --- lots, shared cash, sells before buys, cash >= 0 ---------------------------------------------------------------


def test_board_lot_rounds_down() -> None:
    bars = make_bars({"A": [33.0] * 7})
    res = run_backtest(weights({"A": [1.0] + [N] * 6}), bars, 10_000.0, Rules())
    # 10,000 / (33 * 1.0015) = 302.6 shares -> 300 (3 lots), not 302.
    assert trade_rows(res) == [("2024-01-02", "A", "buy", 300, 33.0)]
    assert res.cash.iloc[-1] == pytest.approx(10_000 - 300 * 33 * 1.0015)
    assert (res.positions.to_numpy() % 100 == 0).all()


def test_sells_fund_same_day_buys_with_shared_cash() -> None:
    bars = make_bars({"A": [10.0] * 7, "B": [10.0] * 7})
    w = weights({"A": [1.0, N, N, 0.0, N, N, N], "B": [0.0, N, N, 1.0, N, N, N]})
    res = run_backtest(w, bars, 10_000.0, Rules())
    # Only 986.5 cash is idle before bar 4; B's 900 shares are affordable only because A's sale settles first.
    assert trade_rows(res) == [
        ("2024-01-02", "A", "buy", 900, 10.0),
        ("2024-01-05", "A", "sell", 900, 10.0),
        ("2024-01-05", "B", "buy", 900, 10.0),
    ]
    assert res.cash.min() >= 0.0


def test_cash_never_negative_when_weights_overcommit() -> None:
    bars = make_bars({"A": [10.0] * 7, "B": [10.0] * 7})
    res = run_backtest(weights({"A": [0.8] + [N] * 6, "B": [0.8] + [N] * 6}), bars, 10_000.0, Rules())
    # 1,600 shares cost 16,024 with fees: each name gets the same 62% of its lots (400), not A first.
    assert res.positions.iloc[-1].tolist() == [400.0, 400.0]
    assert res.cash.iloc[-1] == pytest.approx(10_000 - 800 * 10 * 1.0015)
    assert res.cash.min() >= 0.0


# --- T+2 ("T+2.5") settlement --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fill", "sell_date"), [("next_open", "2024-01-05"), ("close", "2024-01-04")])
def test_t2_defers_sell_of_fresh_shares(fill: str, sell_date: str) -> None:
    bars = make_bars({"A": [10, 10, 11, 12, 13, 14, 15]})
    # Buy decided bar 0 -> filled bar 1; the exit is decided already at bar 1 (would fill on bar 2).
    w = weights({"A": [0.5, 0.0, N, N, N, N, N]})
    res = run_backtest(w, bars, 100_000.0, Rules(fill=fill))
    # Open fill: bought at the open of bar 1, sellable from the afternoon of bar 3 -> first open is bar 4.
    # Close fill: bought in bar 1's ATC, sellable in bar 3's ATC.
    assert [(r[0], r[2]) for r in trade_rows(res)] == [("2024-01-02", "buy"), (sell_date, "sell")]
    assert res.positions["A"].iloc[2] == res.positions["A"].iloc[1] > 0


# --- price limits and suspensions ----------------------------------------------------------------------------------


def test_no_buy_when_open_locked_at_ceiling() -> None:
    bars = make_bars({"A": [10, 10.7, 11, 11, 11, 11, 11]}, ceiling={"A": [N, 10.7, 11.4, N, N, N, N]})
    res = run_backtest(weights({"A": [0.5] + [N] * 6}), bars, 100_000.0, Rules(fill="next_open"))
    # Bar 1 opens at the ceiling -> no fill; the pending order fills at bar 2's open.
    assert trade_rows(res)[0][:2] == ("2024-01-03", "A")
    assert trade_rows(res)[0][4] == 11.0


def test_close_fill_lock_requires_single_price_day() -> None:
    prices = {"A": [10, 10.7, 11, 11, 11, 11, 11]}
    ceiling = {"A": [N, 10.7, N, N, N, N, N]}
    w = weights({"A": [0.5] + [N] * 6})
    locked = make_bars(
        prices, ceiling=ceiling, high={"A": [10, 10.7, 11, 11, 11, 11, 11]}, low={"A": [10, 10.7, 11, 11, 11, 11, 11]}
    )
    traded = make_bars(prices, ceiling=ceiling)  # closed at ceiling but traded a range -> fillable
    assert trade_rows(run_backtest(w, locked, 100_000.0, Rules(fill="close")))[0][0] == "2024-01-03"
    assert trade_rows(run_backtest(w, traded, 100_000.0, Rules(fill="close")))[0][0] == "2024-01-02"


def test_no_sell_when_locked_at_floor() -> None:
    bars = make_bars({"A": [10, 10, 10, 10, 9.3, 9.0, 9.0]}, floor={"A": [N, N, N, N, 9.3, 8.5, N]})
    res = run_backtest(weights({"A": [0.5, N, N, 0.0, N, N, N]}), bars, 100_000.0, Rules())
    # Exit would fill at bar 4's open, which is the floor -> deferred to bar 5.
    assert trade_rows(res)[1][:3] == ("2024-01-08", "A", "sell")
    assert trade_rows(res)[1][4] == 9.0


def test_no_fill_at_a_vendor_price_outside_the_band() -> None:
    """A sell whose open prints above the ceiling (VFC 2013-12-30 in the CafeF files: 8,000 over 7,800) is no
    price anyone dealt at: the order waits for the next real print."""
    bars = make_bars({"A": [10, 10, 10, 10, 12, 10, 10]}, ceiling={"A": [N, N, N, N, 11, 11, N]})
    res = run_backtest(weights({"A": [0.5, N, N, 0.0, N, N, N]}), bars, 100_000.0, Rules())
    assert trade_rows(res)[1][:3] == ("2024-01-08", "A", "sell") and trade_rows(res)[1][4] == 10.0


def test_no_trade_on_zero_volume_day() -> None:
    bars = make_bars({"A": [10, 10, 12, 12, 12, 12, 12]}, volume={"A": [1000, 0, 1000, 1000, 1000, 1000, 1000]})
    res = run_backtest(weights({"A": [0.5] + [N] * 6}), bars, 100_000.0, Rules())
    # Nothing fills on the suspended bar 1; the order (5,000 shares, sized at the decision) fills on bar 2 at 12.
    assert trade_rows(res) == [("2024-01-03", "A", "buy", 5000, 12.0)]


# --- fill timing: never a price from before the signal -------------------------------------------------------------


@pytest.mark.parametrize("fill", ["next_open", "vwap", "close"])
def test_fill_is_next_bar_price_sized_at_the_signal_close(fill: str) -> None:
    prices = {"A": [10.0] * 7}
    opens = {"A": [10, 9.5, 10, 10, 10, 10, 10]}
    vwaps = {"A": [10, 9.8, 10, 10, 10, 10, 10]}
    closes = {"A": [10, 10.2, 10, 10, 10, 10, 10]}
    w = weights({"A": [0.5] + [N] * 6})
    a = run_backtest(w, make_bars(prices, open=opens, vwap=vwaps, close=closes), 100_000.0, Rules(fill=fill))
    closes_b = {"A": [20, 10.2, 10, 10, 10, 10, 10]}  # signal bar's close changes
    b = run_backtest(w, make_bars(prices, open=opens, vwap=vwaps, close=closes_b), 100_000.0, Rules(fill=fill))
    expected = {"next_open": 9.5, "vwap": 9.8, "close": 10.2}[fill]
    assert [row[0] for row in trade_rows(a) + trade_rows(b)] == ["2024-01-02"] * 2
    assert trade_rows(a)[0][4] == trade_rows(b)[0][4] == expected
    # The order is sized at the signal's close (the last price known when it is placed), never at the fill price:
    # half of 100,000 at 10 is 5,000 shares, at 20 it is 2,500, whatever the next bar's price.
    assert (trade_rows(a)[0][3], trade_rows(b)[0][3]) == (5000, 2500)


# --- result shape and statistics -----------------------------------------------------------------------------------


def test_equity_positions_and_stats_match_numpy() -> None:
    rng = np.random.default_rng(7)
    n = 120
    idx = pd.bdate_range("2024-01-01", periods=n)
    px = pd.DataFrame({s: 20 * np.exp(np.cumsum(rng.normal(0, 0.02, n))) for s in ("A", "B", "C")}, index=idx).round(2)
    bars = {k: px.copy() for k in ("open", "close", "vwap")}
    bars |= {"high": px * 1.01, "low": px * 0.99, "volume": px * 0 + 1e6, "ceiling": px * 1.2, "floor": px * 0.8}
    w = pd.DataFrame(N, index=idx, columns=px.columns)
    w.iloc[::10] = rng.dirichlet(np.ones(3), size=len(w.iloc[::10])) * 0.95
    res = run_backtest(w, bars, 1e9, Rules())

    eq = res.equity.to_numpy()
    assert np.allclose(eq, res.cash.to_numpy() + (res.positions * px).sum(axis=1).to_numpy())
    rets = np.diff(np.concatenate([[1e9], eq])) / np.concatenate([[1e9], eq[:-1]])
    dd = eq / np.maximum.accumulate(np.concatenate([[1e9], eq]))[1:] - 1
    s = res.stats
    assert s["total_return"] == pytest.approx(eq[-1] / 1e9 - 1)
    assert s["annualized_volatility"] == pytest.approx(rets.std(ddof=1) * np.sqrt(252))
    assert s["sharpe"] == pytest.approx(rets.mean() / rets.std(ddof=1) * np.sqrt(252))
    assert s["max_drawdown"] == pytest.approx(dd.min())
    assert 0.0 <= s["win_rate"] <= 1.0 and s["turnover"] > 0
    assert set(s) >= {"annualized_return", "sortino", "calmar"}
    assert list(res.trades.columns) == ["date", "symbol", "side", "shares", "price", "fees", "tax", "signal_date"]


# --- stock dividends -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ratio", [0.07, 0.15, 0.333, 0.5])
def test_bonus_shares_keep_the_value_and_float_noise_is_no_fraction(ratio: float) -> None:
    # 30,500 × 1.07 = 32,635.000000000004: whole shares, not a fraction to cancel (nor a vectorbt dust order).
    factor = 1.0 + ratio
    bars = make_bars({"A": [10_000.0] * 3 + [10_000.0 / factor] * 4})
    bars["share_factor"] = pd.DataFrame({"A": [1.0] * 3 + [factor] + [1.0] * 3}, index=IDX)
    res = run_backtest(weights({"A": [0.3055] + [N] * 6}), bars, 1e9, Rules())
    shares = res.positions["A"]
    assert shares.iloc[2] == 30_500 and shares.iloc[3] == math.floor(30_500 * factor + 1e-6)
    held = shares * bars["close"]["A"]
    assert held.iloc[3] == pytest.approx(held.iloc[2], rel=1e-4)  # at most the cancelled fraction of a share


def test_a_cancelled_fraction_is_not_a_losing_trade() -> None:
    # 9,500 shares × 1.125 = 10,687.5: half a share is cancelled on the ex-date; the only round trip is a winner.
    bars = make_bars({"A": [10_000.0] * 2 + [10_000.0 / 1.125] * 2 + [9_500.0] * 3})
    bars["share_factor"] = pd.DataFrame({"A": [1.0, 1.0, 1.125, 1.0, 1.0, 1.0, 1.0]}, index=IDX)
    res = run_backtest(weights({"A": [0.95, N, N, N, 0.0, N, N]}), bars, 1e8, Rules(bonus_lock_days=2))
    assert res.positions["A"].tolist() == [0, 9_500, 10_687, 10_687, 10_687, 0, 0]
    assert res.stats["win_rate"] == 1.0
