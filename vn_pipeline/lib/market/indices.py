"""A capitalization-weighted index built from its constituents' daily bars, the way VN30 is computed.

Each day's index return is the weighted mean of the constituents' returns against their reference prices,
so a stock dividend (reference adjusted on the ex-date) moves neither the index nor, through it, anything
benchmarked on it. Weights are the previous close times shares outstanding (shares grow with each stock
dividend), capped at ``cap`` per stock with the excess spread over the rest (HOSE index rules: 10% per stock).
Day D's level depends only on bars up to D.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def capped_weights(caps: np.ndarray, cap: float) -> np.ndarray:
    """Weights ∝ caps, none above ``cap``: clip, hand the excess to the uncapped names, repeat."""
    weights = caps / caps.sum()
    for _ in range(len(weights)):
        over = weights > cap + 1e-12
        if not over.any():
            break
        excess = (weights[over] - cap).sum()
        weights[over] = cap
        free = ~over & (weights < cap)
        weights[free] += excess * weights[free] / weights[free].sum()
    return weights


def cap_weighted_index(
    bars: pd.DataFrame,
    shares: pd.Series,
    actions: pd.DataFrame | None = None,
    cap: float = 0.10,
    base: float = 1000.0,
) -> pd.DataFrame:
    """Index levels (trading_date, open, high, low, close) from constituents' bars with a reference price.

    ``bars``: trading_date, symbol, open, high, low, close, reference_price. ``shares``: shares outstanding by
    symbol at the start. ``actions``: stock dividends (ex_date, symbol, ratio) that grow the share count.
    Intraday levels (open/high/low) apply each constituent's open/high/low return to the previous level: an
    approximation (constituents do not all peak at once), exact for the close.
    """
    prices = {name: bars.pivot(index="trading_date", columns="symbol", values=name).sort_index()
              for name in ("open", "high", "low", "close", "reference_price")}  # fmt: skip
    closes, refs = prices["close"], prices["reference_price"].reindex_like(prices["close"])
    share_count = shares.reindex(closes.columns).to_numpy(float) * np.ones(closes.shape)
    if actions is not None and len(actions):
        column = {symbol: j for j, symbol in enumerate(closes.columns)}
        for action in actions.itertuples():
            if action.symbol in column:
                share_count[closes.index >= action.ex_date, column[action.symbol]] *= 1.0 + action.ratio
    moves = {name: prices[name].reindex_like(closes).to_numpy(float) / refs.to_numpy(float) - 1.0
             for name in ("open", "high", "low", "close")}  # fmt: skip
    caps = closes.to_numpy(float) * share_count
    levels = {name: np.empty(len(closes)) for name in moves}
    level = base
    for i in range(len(closes)):
        # weights from the previous close (the first day: from the reference price)
        day_caps = caps[i - 1] if i else refs.to_numpy(float)[0] * share_count[0]
        traded = np.isfinite(moves["close"][i]) & np.isfinite(day_caps)
        weights = capped_weights(day_caps[traded], cap) if traded.any() else np.array([])
        for name, move in moves.items():
            levels[name][i] = level * (1.0 + float(weights @ np.nan_to_num(move[i][traded]))) if len(weights) else level
        level = levels["close"][i]
    return pd.DataFrame({"trading_date": closes.index, **levels}).reset_index(drop=True)
