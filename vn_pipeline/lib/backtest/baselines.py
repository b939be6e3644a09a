"""Rule-based baselines the ML book is always compared with. Each returns target weights in the backtester's
layout (rows = decision dates, a row dated D decided at D's close from prices up to D; NaN row = no decision).

Every signal is a trailing window of closes, so a decision at D never sees a price after D.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _on_rebalance_days(weights: pd.DataFrame, every: int) -> pd.DataFrame:
    keep = np.arange(len(weights)) % every == 0
    return weights.where(pd.Series(keep, index=weights.index), np.nan)


def ma_momentum(close: pd.DataFrame, fast: int = 20, slow: int = 60, rebalance_days: int = 5) -> pd.DataFrame:
    """Equal weights over the names whose fast moving average is above the slow one (trend following).

    A name needs ``slow`` closes of history before it can be chosen; a day with no such name holds cash."""
    if not 0 < fast < slow:
        raise ValueError(f"need 0 < fast < slow, got fast={fast}, slow={slow}")
    close = close.ffill()  # an untraded day keeps the last close instead of blanking the averages for `slow` days
    fast_ma = close.rolling(fast, min_periods=fast).mean()
    slow_ma = close.rolling(slow, min_periods=slow).mean()
    signal = (fast_ma > slow_ma).astype(float)
    count = signal.sum(axis=1)
    weights = signal.div(count.where(count > 0), axis=0).fillna(0.0)
    return _on_rebalance_days(weights, rebalance_days)


def bollinger_reversion(
    close: pd.DataFrame, window: int = 20, n_std: float = 2.0, max_positions: int = 10
) -> pd.DataFrame:
    """Buy a name that closes below its lower Bollinger band, sell it once it closes back above the middle band.

    Each position is bought as a slot of 1/``max_positions`` of equity and then left alone (NaN in later
    decisions), so one entry does not resize the others (no churn); when more names signal than free slots, the
    most oversold (lowest z-score) are taken first. A row is emitted only on days the book changes."""
    if window < 2 or n_std <= 0 or max_positions < 1:
        raise ValueError("need window >= 2, n_std > 0 and max_positions >= 1")
    mid = close.rolling(window, min_periods=window).mean()
    std = close.rolling(window, min_periods=window).std()
    z = ((close - mid) / std).to_numpy()
    weights = np.full(close.shape, np.nan)
    held = np.zeros(close.shape[1], dtype=bool)
    slot = 1.0 / max_positions
    for t in range(len(close)):
        before = held.copy()
        held &= ~(z[t] > 0)  # exit above the middle band; a NaN z (no price today) keeps the position
        entries = np.flatnonzero(~held & (z[t] < -n_std))
        free = max_positions - int(held.sum())
        if free > 0 and entries.size:
            held[entries[np.argsort(z[t, entries], kind="stable")[:free]]] = True
        if t == 0 or (held != before).any():
            # New entries get a slot, exits 0; names that stay are NaN (kept as they are, not resized to a slot).
            weights[t] = np.where(held, np.where(before, np.nan, slot), 0.0)
    return pd.DataFrame(weights, index=close.index, columns=close.columns)


def equal_weight_buy_and_hold(close: pd.DataFrame) -> pd.DataFrame:
    """One decision on the first day: equal weights over every name with a price that day, never rebalanced."""
    weights = pd.DataFrame(np.nan, index=close.index, columns=close.columns)
    if close.empty:
        return weights
    first = close.iloc[0].notna()
    if not first.any():
        raise ValueError(f"no symbol has a close on the first day {close.index[0]}")
    weights.iloc[0] = np.where(first, 1.0 / first.sum(), 0.0)
    return weights
