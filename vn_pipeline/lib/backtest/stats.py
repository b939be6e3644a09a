"""Performance statistics of a backtest: return ratios (vectorbt's returns accessor, 252 bars a year), activity
(turnover, win rate), the comparison with a benchmark (excess return, information ratio) and a bootstrap band.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vn_pipeline.lib.risk.metrics import TRADING_DAYS


def return_stats(returns: pd.Series) -> dict[str, float]:
    """Ratios of daily simple returns; the first return includes the step from the initial cash."""
    # Local accessor with year_freq=252 bars, so the global vectorbt settings (365 days) are left untouched.
    acc = returns.vbt.returns(freq="1D", year_freq=f"{TRADING_DAYS} days")
    return {
        "total_return": float(np.prod(1.0 + returns.to_numpy()) - 1.0),
        "annualized_return": float(acc.annualized()),
        "annualized_volatility": float(acc.annualized_volatility()),
        "sharpe": float(acc.sharpe_ratio()),
        "sortino": float(acc.sortino_ratio()),
        "calmar": float(acc.calmar_ratio()),
        "max_drawdown": float(acc.max_drawdown()),  # negative fraction, vectorbt convention
    }


def benchmark_stats(returns: pd.Series, benchmark: pd.Series) -> dict[str, float]:
    """Excess return (total, strategy minus benchmark, both over ``benchmark_days``) and the annualised
    information ratio of daily active returns, over the days the benchmark covers (NaN before its first level:
    not a flat index); a day inside that range it did not print counts as a zero benchmark return."""
    bench = benchmark.reindex(returns.index)
    covered = bench.index >= bench.first_valid_index() if bench.notna().any() else np.zeros(len(bench), bool)
    returns, bench = returns[covered], bench[covered].fillna(0.0)
    active = returns - bench
    tracking = float(active.std(ddof=1)) if len(active) > 1 else np.nan
    total = float(np.prod(1.0 + returns.to_numpy()) - 1.0)
    bench_total = float(np.prod(1.0 + bench.to_numpy()) - 1.0)
    return {
        "benchmark_days": int(covered.sum()),
        "benchmark_total_return": bench_total,
        "excess_return": total - bench_total,
        "tracking_error": tracking * np.sqrt(TRADING_DAYS),
        "information_ratio": float(active.mean()) / tracking * np.sqrt(TRADING_DAYS) if tracking > 0 else np.nan,
    }


def activity_stats(trades: pd.DataFrame, equity: pd.Series, closed_trades=None) -> dict[str, float]:
    """Turnover: one-way traded value (half of buys + sells) over mean equity, annualised -- "the book turned over
    N times a year". Win rate over closed round trips (vectorbt's FIFO matching per symbol); NaN when none."""
    value_traded = float((trades["shares"] * trades["price"]).sum()) if len(trades) else 0.0
    n_bars = len(equity)
    turnover = value_traded / 2.0 / float(equity.mean()) * TRADING_DAYS / n_bars if n_bars else np.nan
    has_closed = closed_trades is not None and closed_trades.count() > 0
    return {"turnover": float(turnover), "win_rate": float(closed_trades.win_rate()) if has_closed else np.nan}


def bootstrap_band(
    returns: pd.Series, n_paths: int = 1000, block: int = 5, seed: int = 0, quantiles: tuple[float, ...] = (0.05, 0.95)
) -> dict[str, float]:
    """Monte Carlo band of Sharpe and max drawdown: moving-block bootstrap of the daily returns.

    Blocks of ``block`` consecutive days keep short-range autocorrelation (momentum, reversal) that an iid
    resample would destroy. Keys like ``sharpe_p05`` and ``max_drawdown_p95`` (drawdowns are negative)."""
    r = returns.to_numpy(dtype=float)
    n = len(r)
    if n < 2 * block:
        return {f"{name}_p{round(q * 100):02d}": np.nan for name in ("sharpe", "max_drawdown") for q in quantiles}
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n - block + 1, size=(n_paths, -(-n // block)))
    paths = r[(starts[:, :, None] + np.arange(block)).reshape(n_paths, -1)[:, :n]]
    std = paths.std(axis=1, ddof=1)
    sharpe = np.where(std > 0, paths.mean(axis=1) / np.where(std > 0, std, 1.0) * np.sqrt(TRADING_DAYS), np.nan)
    wealth = np.cumprod(1.0 + paths, axis=1)
    drawdown = (wealth / np.maximum.accumulate(wealth, axis=1) - 1.0).min(axis=1)
    band = {}
    for q in quantiles:
        band[f"sharpe_p{round(q * 100):02d}"] = float(np.nanquantile(sharpe, q))
        band[f"max_drawdown_p{round(q * 100):02d}"] = float(np.quantile(drawdown, q))
    return band


def compute_stats(
    returns: pd.Series,
    equity: pd.Series,
    trades: pd.DataFrame,
    closed_trades=None,
    benchmark: pd.Series | None = None,
) -> dict[str, float]:
    """Every statistic the backtest tables show; ``benchmark`` is the benchmark's daily returns."""
    stats = {**return_stats(returns), **activity_stats(trades, equity, closed_trades)}
    if benchmark is not None:
        stats |= benchmark_stats(returns, benchmark)
    return stats | bootstrap_band(returns)
