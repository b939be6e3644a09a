from datetime import date

import numpy as np
import pandas as pd
import pytest

from vn_pipeline.lib.market.indices import cap_weighted_index, capped_weights

D1, D2, D3 = date(2026, 2, 23), date(2026, 2, 24), date(2026, 2, 25)


def test_capped_weights_respect_the_cap_and_sum_to_one():
    weights = capped_weights(np.array([50.0, 20, 10, 5, 5, 5, 5] + [1.0] * 10), cap=0.10)
    assert weights.max() <= 0.10 + 1e-12
    assert weights.sum() == pytest.approx(1.0)
    assert weights[-1] > 1 / 95  # the excess went to the small names


def _bars(rows):
    return pd.DataFrame(rows, columns=["trading_date", "symbol", "reference_price", "open", "high", "low", "close"])


def test_index_return_is_the_cap_weighted_return_against_reference_prices():
    bars = _bars([
        (D1, "A", 100, 100, 100, 100, 110), (D1, "B", 100, 100, 100, 100, 100),
        (D2, "A", 110, 110, 110, 110, 110), (D2, "B", 100, 100, 100, 100, 90),
    ])  # fmt: skip
    shares = pd.Series({"A": 3.0, "B": 1.0})
    levels = cap_weighted_index(bars, shares, cap=1.0, base=1000).set_index("trading_date")["close"]
    assert levels[D1] == pytest.approx(1000 * (1 + 0.75 * 0.10))
    # day 2 weights from day-1 closes: A 330, B 100
    assert levels[D2] == pytest.approx(levels[D1] * (1 + (100 / 430) * -0.10))


def test_a_stock_dividend_does_not_move_the_index():
    bars = _bars([
        (D1, "A", 100, 100, 100, 100, 100), (D1, "B", 100, 100, 100, 100, 100),
        (D2, "A", 50, 50, 50, 50, 50), (D2, "B", 100, 100, 100, 100, 100),  # A: 100% stock dividend, ex D2
        (D3, "A", 50, 50, 55, 50, 55), (D3, "B", 100, 100, 100, 100, 100),
    ])  # fmt: skip
    actions = pd.DataFrame({"ex_date": [D2], "symbol": ["A"], "ratio": [1.0]})
    levels = cap_weighted_index(bars, pd.Series({"A": 1.0, "B": 1.0}), actions, cap=1.0).set_index("trading_date")
    assert levels.loc[D2, "close"] == pytest.approx(1000)
    # A keeps half the index's weight after the split (twice the shares at half the price)
    assert levels.loc[D3, "close"] == pytest.approx(1000 * (1 + 0.5 * 0.10))


def test_levels_of_a_day_ignore_later_days():
    rng = np.random.default_rng(1)
    days = pd.bdate_range("2026-01-05", periods=30).date
    rows = []
    for symbol in "ABCDE":
        close = 100 * np.cumprod(1 + rng.normal(0, 0.02, len(days)))
        ref = np.concatenate([[100], close[:-1]])
        rows += [(d, symbol, r, c, c, c, c) for d, r, c in zip(days, ref, close, strict=True)]
    bars = _bars(rows)
    shares = pd.Series(dict(zip("ABCDE", [5.0, 4, 3, 2, 1], strict=True)))
    full = cap_weighted_index(bars, shares, cap=0.3)
    cut = days[19]
    changed = bars.copy()
    later = changed["trading_date"] > cut
    changed.loc[later, ["open", "high", "low", "close"]] *= 3
    again = cap_weighted_index(changed, shares, cap=0.3)
    pd.testing.assert_frame_equal(full[full.trading_date <= cut], again[again.trading_date <= cut])
