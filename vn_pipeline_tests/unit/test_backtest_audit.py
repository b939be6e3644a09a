"""The fill audit behind the blocking backtest checks: each rule it enforces, on fills that break exactly it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vn_pipeline.lib.backtest import Rules, run_backtest
from vn_pipeline.lib.backtest.audit import fill_violations
from vn_pipeline_tests.unit.test_backtest_rules import IDX, make_bars

BARS = make_bars({"A": [10.0] * 7, "B": [20.0] * 7})


def _fills(*rows: tuple) -> pd.DataFrame:
    """rows: (bar, symbol, side, shares, price, signal_bar)."""
    return pd.DataFrame(
        [
            {"date": IDX[b], "symbol": s, "side": side, "shares": q, "price": p, "signal_date": IDX[sig]}
            for b, s, side, q, p, sig in rows
        ]
    )


def _rules_broken(fills: pd.DataFrame, bars=BARS, rules: Rules | None = None) -> list[tuple[str, str]]:
    found = fill_violations(fills, bars, rules or Rules())
    return sorted(zip(found["symbol"], found["rule"], strict=True))


def test_clean_fills_pass() -> None:
    fills = _fills((1, "A", "buy", 500, 10.0, 0), (4, "A", "sell", 500, 10.0, 3))
    assert _rules_broken(fills) == []


def test_odd_lot_fill_is_reported() -> None:
    assert _rules_broken(_fills((1, "A", "buy", 550, 10.0, 0))) == [("A", "lot")]


def test_fill_on_or_before_its_signal_is_reported() -> None:
    same_day = _fills((2, "A", "buy", 100, 10.0, 2))
    found = fill_violations(same_day, BARS, Rules())
    assert found["rule"].tolist() == ["fill_before_signal"]
    assert "is not before the fill" in found["detail"].iloc[0]
    assert _rules_broken(_fills((2, "B", "buy", 100, 20.0, 3))) == [("B", "fill_before_signal")]


def test_price_outside_the_band_is_reported() -> None:
    beyond = make_bars({"A": [10.0] * 7}, open={"A": [10, 10.8, 10, 10, 10, 10, 10]})
    assert _rules_broken(_fills((1, "A", "buy", 100, 10.8, 0)), bars=beyond) == [("A", "band")]  # ceiling 10.7


def test_a_fill_away_from_the_configured_price_is_reported() -> None:
    found = fill_violations(_fills((1, "A", "buy", 100, 9.31, 0)), BARS, Rules(fill="next_open"))
    assert found["rule"].tolist() == ["fill_price"] and "open price is 10.00" in found["detail"].iloc[0]
    closing = make_bars({"A": [10.0] * 7}, close={"A": [10, 10.2, 10, 10, 10, 10, 10]})
    assert _rules_broken(_fills((1, "A", "buy", 100, 10.2, 0)), bars=closing, rules=Rules(fill="close")) == []
    assert _rules_broken(_fills((1, "A", "buy", 100, 10.2, 0)), bars=closing) == [("A", "fill_price")]


def test_a_fill_on_a_day_without_price_limits_is_reported() -> None:
    unknown = make_bars({"A": [10.0] * 7}, ceiling={"A": [np.nan] * 7})
    assert _rules_broken(_fills((1, "A", "buy", 100, 10.0, 0)), bars=unknown) == [("A", "no_limits")]


def test_buy_at_a_locked_ceiling_and_trade_on_a_suspended_day_are_reported() -> None:
    locked = make_bars({"A": [10.0] * 7}, open={"A": [10, 10.7, 10, 10, 10, 10, 10]}, ceiling={"A": [10.7] * 7})
    assert _rules_broken(_fills((1, "A", "buy", 100, 10.7, 0)), bars=locked) == [("A", "untradable")]
    suspended = make_bars({"A": [10.0] * 7}, volume={"A": [1000, 0, 1000, 1000, 1000, 1000, 1000]})
    assert _rules_broken(_fills((1, "A", "buy", 100, 10.0, 0)), bars=suspended) == [("A", "untradable")]


@pytest.mark.parametrize(("fill", "first_sell_bar"), [("next_open", 4), ("close", 3)])
def test_selling_before_settlement_is_reported(fill: str, first_sell_bar: int) -> None:
    rules = Rules(fill=fill)
    early = _fills((1, "A", "buy", 500, 10.0, 0), (first_sell_bar - 1, "A", "sell", 500, 10.0, 0))
    found = fill_violations(early, BARS, rules)
    assert found["rule"].tolist() == ["settlement"] and "T+2" in found["detail"].iloc[0]
    on_time = _fills((1, "A", "buy", 500, 10.0, 0), (first_sell_bar, "A", "sell", 500, 10.0, 0))
    assert _rules_broken(on_time, rules=rules) == []
    # Settled shares from an earlier buy may be sold while a newer buy is still unsettled.
    mixed = _fills((1, "A", "buy", 300, 10.0, 0), (3, "A", "buy", 200, 10.0, 2), (4, "A", "sell", 300, 10.0, 3))
    assert _rules_broken(mixed, rules=rules) == []
    assert _rules_broken(mixed.assign(shares=[300, 200, 400]), rules=rules) == [("A", "settlement")]


def test_a_real_backtest_passes_its_own_audit() -> None:
    rng = np.random.default_rng(0)
    n, symbols = 60, list("ABCDEFGH")
    idx = pd.date_range("2024-01-01", periods=n, freq="B")
    steps = np.clip(rng.normal(0, 0.03, (n, 8)), -0.06, 0.06)  # inside the 7% band
    close = pd.DataFrame(10_000 * np.exp(np.cumsum(steps, axis=0)), index=idx, columns=symbols)
    bars = {k: close.copy() for k in ("open", "close", "vwap")}
    bars |= {"high": close * 1.02, "low": close * 0.98, "volume": close * 0 + 1e6}
    bars |= {"ceiling": close.shift(1) * 1.07, "floor": close.shift(1) * 0.93}
    bars["open"] = (close * rng.uniform(0.95, 1.05, (n, 8))).clip(bars["floor"], bars["ceiling"], axis=None)
    weights = pd.DataFrame(rng.dirichlet(np.ones(8), n) * 0.95, index=idx, columns=symbols)
    weights.iloc[1::2] = np.nan
    # Stock dividends: quoted prices fall by the factor from the ex-date, holdings receive bonus shares.
    factor = pd.DataFrame(np.where(rng.random((n, 8)) < 0.04, 1.125, 1.0), index=idx, columns=symbols)
    bars = {k: v / factor.cumprod() for k, v in bars.items() if k != "volume"} | {"volume": bars["volume"]}
    bars["share_factor"] = factor
    for fill in ("next_open", "close"):
        rules = Rules(fill=fill, bonus_lock_days=5)
        res = run_backtest(weights, bars, 1e9, rules)
        assert len(res.trades) > 50 and (res.trades["shares"] % 100 != 0).any()  # odd lots from bonus shares
        assert fill_violations(res.trades, bars, rules).empty
        # vectorbt's equity is the plan's: cash plus real shares at quoted closes.
        held = (res.positions * res.marks).sum(axis=1)
        assert np.allclose(res.equity, res.cash + held, rtol=1e-9)


def test_bonus_shares_odd_lot_and_listing_lock() -> None:
    factor = pd.DataFrame(1.0, index=BARS["close"].index, columns=BARS["close"].columns)
    factor.iloc[2, 0] = 1.12  # A: 100 shares become 112 on bar 2; the 12 bonus shares list on bar 2 + 3
    bars = BARS | {"share_factor": factor}
    rules = Rules(bonus_lock_days=3)
    buy = (1, "A", "buy", 100, 10.0, 0)
    whole_then_odd = _fills(buy, (4, "A", "sell", 100, 10.0, 3), (5, "A", "sell", 12, 10.0, 3))
    assert _rules_broken(whole_then_odd, bars, rules) == []
    assert _rules_broken(_fills(buy, (5, "A", "sell", 112, 10.0, 3)), bars, rules) == []
    # The bonus shares before they list; a sale that is neither whole lots nor the odd lot; the same odd sale
    # without the dividend that created the odd lot.
    assert _rules_broken(_fills(buy, (4, "A", "sell", 112, 10.0, 3)), bars, rules) == [("A", "settlement")]
    assert _rules_broken(_fills(buy, (5, "A", "sell", 50, 10.0, 3)), bars, rules) == [("A", "lot")]
    assert _rules_broken(whole_then_odd, BARS, rules) == [("A", "lot"), ("A", "settlement")]
