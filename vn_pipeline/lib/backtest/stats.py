"""Performance statistics. Ratios come from vectorbt's returns accessor (annualised with 252 bars per year)."""

from __future__ import annotations

import numpy as np
import pandas as pd

TRADING_DAYS = 252


def compute_stats(pf, trades: pd.DataFrame, equity: pd.Series) -> dict[str, float]:
    """Stats dict; ``pf`` is a grouped vectorbt Portfolio with freq '1D' (one bar = one trading day)."""
    # Local accessor with year_freq=252 bars, so the global vectorbt settings (365 days) are left untouched.
    acc = pf.returns().vbt.returns(freq="1D", year_freq=f"{TRADING_DAYS} days")
    value_traded = float((trades["shares"] * trades["price"]).sum()) if len(trades) else 0.0
    n_bars = len(equity)
    # Turnover: one-way traded value (half of buys + sells) over mean equity, annualised -- "portfolio turned over
    # N times a year". vectorbt has no portfolio-level turnover, hence computed here.
    turnover = value_traded / 2.0 / float(equity.mean()) * TRADING_DAYS / n_bars if n_bars else float("nan")
    closed = pf.trades.closed
    return {
        "total_return": float(pf.total_return()),
        "annualized_return": float(acc.annualized()),
        "annualized_volatility": float(acc.annualized_volatility()),
        "sharpe": float(acc.sharpe_ratio()),
        "sortino": float(acc.sortino_ratio()),
        "calmar": float(acc.calmar_ratio()),
        "max_drawdown": float(acc.max_drawdown()),  # negative fraction, vectorbt convention
        "turnover": float(turnover),
        # Win rate over closed round trips (vectorbt FIFO trade matching per symbol); NaN when none closed.
        "win_rate": float(closed.win_rate()) if closed.count() > 0 else float(np.nan),
    }
