"""Baseline strategies: the signals each rule describes, and point-in-time decisions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vn_pipeline.lib.backtest.baselines import bollinger_reversion, equal_weight_buy_and_hold, ma_momentum

IDX = pd.date_range("2024-01-01", periods=120, freq="B")


def _random_closes(seed: int = 0, n_symbols: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    steps = rng.normal(0, 0.02, size=(len(IDX), n_symbols))
    return pd.DataFrame(10_000 * np.exp(np.cumsum(steps, axis=0)), index=IDX, columns=[f"S{i}" for i in range(8)])


def test_ma_momentum_holds_uptrends_only() -> None:
    up = np.linspace(10, 20, len(IDX))
    close = pd.DataFrame({"UP": up, "DOWN": up[::-1], "FLAT": np.full(len(IDX), 15.0)}, index=IDX)
    w = ma_momentum(close, fast=5, slow=20, rebalance_days=5)
    decided = w.dropna(how="all")
    assert decided.index[0] == IDX[0] and (decided.iloc[0] == 0).all()  # not enough history yet: cash
    late = decided.loc[IDX[30] :]
    assert (late["UP"] == 1.0).all() and (late["DOWN"] == 0).all() and (late["FLAT"] == 0).all()
    assert w.iloc[1:5].isna().all().all()  # decisions only every 5th bar
    with pytest.raises(ValueError, match="fast < slow"):
        ma_momentum(close, fast=20, slow=5)


def test_bollinger_enters_below_lower_band_and_exits_above_middle() -> None:
    base = np.full(60, 100.0) + np.tile([0.5, -0.5], 30)
    path = base.copy()
    path[30] = 90.0  # a crash far below the lower band
    path[31:34] = [92.0, 95.0, 101.0]  # recovers above the middle band on bar 33
    close = pd.DataFrame({"A": path, "B": base}, index=IDX[:60])
    w = bollinger_reversion(close, window=20, n_std=2.0, max_positions=4)
    assert w.loc[IDX[30], "A"] == pytest.approx(0.25)  # one slot of four
    assert w.loc[IDX[30], "B"] == 0.0
    assert w.loc[IDX[31] : IDX[32]].isna().all().all()  # still below the middle: no new decision
    assert w.loc[IDX[33], "A"] == 0.0  # exit
    assert w.dropna(how="all").sum(axis=1).max() <= 1.0 + 1e-12


def test_bollinger_fills_free_slots_with_the_most_oversold_first() -> None:
    flat = np.full(40, 100.0) + np.tile([0.5, -0.5], 20)
    cols = {}
    for name, drop in (("MILD", 97.0), ("DEEP", 90.0), ("MID", 94.0)):
        path = flat.copy()
        path[30] = drop
        cols[name] = path
    w = bollinger_reversion(pd.DataFrame(cols, index=IDX[:40]), window=20, n_std=2.0, max_positions=2)
    row = w.loc[IDX[30]]
    assert set(row[row > 0].index) == {"DEEP", "MID"}


@pytest.mark.parametrize("strategy", [
    lambda c: ma_momentum(c, fast=5, slow=20, rebalance_days=1),
    lambda c: bollinger_reversion(c, window=10, n_std=1.0, max_positions=3),
])  # fmt: skip
def test_baseline_decisions_never_see_later_prices(strategy) -> None:
    close = _random_closes()
    before = strategy(close)
    cut = IDX[70]
    changed = close.copy()
    changed.loc[changed.index > cut] *= np.random.default_rng(1).uniform(
        0.5, 1.5, size=changed.loc[changed.index > cut].shape
    )
    after = strategy(changed)
    pd.testing.assert_frame_equal(before.loc[:cut], after.loc[:cut])
    assert not before.loc[cut:].equals(after.loc[cut:])  # the perturbation mattered later


def test_equal_weight_buy_and_hold_decides_once_over_listed_names() -> None:
    close = _random_closes()
    close.iloc[0, 0] = np.nan  # not listed yet on day one
    w = equal_weight_buy_and_hold(close)
    assert w.iloc[0].iloc[0] == 0.0 and w.iloc[0].iloc[1:].tolist() == pytest.approx([1 / 7] * 7)
    assert w.iloc[1:].isna().all().all()
