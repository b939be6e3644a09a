"""Risk metrics of a daily return series: VaR / CVaR (historical, Gaussian, Monte Carlo), volatility, beta,
drawdowns and the Kelly fraction.

Conventions (every function in this package):
- Returns are simple daily returns as fractions (0.01 = +1%), one row per trading day, 252 trading days a year.
- VaR and CVaR are POSITIVE loss fractions of NAV over one day: ``historical_var(r, 0.95) == 0.023`` means
  "on 5% of days the loss is at least 2.3% of NAV". A series whose tail is a gain gives a negative VaR.
  ``level`` is the confidence level (0.95, 0.99); the tail probability is ``1 - level``.
- Drawdowns are the exception: they are NEGATIVE fractions from the running peak (-0.3 = 30% below the peak),
  as in empyrical, vectorbt and the backtest stats, so ``max_drawdown`` compares to them directly.
- NaN returns are dropped by the distribution statistics (VaR, volatility, beta, Kelly) and read as 0 where
  returns are compounded (equity curve, drawdowns) or combined into a portfolio (see _book.py).
- Functions return NaN, not an exception, when there is too little data for the statistic.

References the tests compare against: empyrical (historical VaR/CVaR, volatility, beta, max drawdown) and
quantstats (Gaussian VaR, Kelly).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from vn_pipeline.lib.risk._book import held_returns

TRADING_DAYS = 252

ArrayLike = pd.Series | np.ndarray


def _observed(returns: ArrayLike) -> np.ndarray:
    values = np.asarray(returns, dtype=float)
    return values[~np.isnan(values)]


def _tail(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    # Written exactly as the references compute their cutoff, so the quantile position is bit-identical.
    return 1 - level


def historical_var(returns: ArrayLike, level: float = 0.95) -> float:
    """Empirical one-day VaR: minus the ``1 - level`` quantile of the returns (numpy's linear interpolation)."""
    alpha = _tail(level)
    r = _observed(returns)
    if r.size == 0:
        return float("nan")
    return float(-np.percentile(r, 100 * alpha))


def historical_cvar(returns: ArrayLike, level: float = 0.95) -> float:
    """Empirical one-day CVaR (expected shortfall): minus the mean of the returns at or below the VaR quantile.

    The tail is the k + 1 smallest returns with k = floor((n - 1)(1 - level)): the interpolated quantile lies
    between the k-th and (k+1)-th order statistics (0-based), so these are the observations at or below it.
    With ties at the quantile the tail still has exactly k + 1 members (empyrical's rule), which keeps the
    estimator a function of the sorted sample and makes it sub-additive across positions.
    """
    alpha = _tail(level)
    r = _observed(returns)
    if r.size == 0:
        return float("nan")
    k = int((r.size - 1) * alpha)
    return float(-np.sort(r)[: k + 1].mean())


def _mean_std(returns: ArrayLike) -> tuple[float, float]:
    r = _observed(returns)
    if r.size < 2:
        return float("nan"), float("nan")
    return float(r.mean()), float(r.std(ddof=1))


def parametric_var(returns: ArrayLike, level: float = 0.95) -> float:
    """Gaussian one-day VaR, -(mu + z_{1-level} sigma), with the sample mean and sample std (ddof=1)."""
    mu, sigma = _mean_std(returns)
    return float(-(mu + stats.norm.ppf(_tail(level)) * sigma))


def parametric_cvar(returns: ArrayLike, level: float = 0.95) -> float:
    """Gaussian one-day CVaR, -(mu - sigma phi(z) / (1 - level)) with z = z_{1-level}: the normal tail mean."""
    alpha = _tail(level)
    mu, sigma = _mean_std(returns)
    return float(-(mu - sigma * stats.norm.pdf(stats.norm.ppf(alpha)) / alpha))


def simulate_portfolio_returns(
    asset_returns: pd.DataFrame, weights: pd.Series, n_sims: int = 10_000, seed: int = 0
) -> np.ndarray:
    """``n_sims`` one-day portfolio returns: multivariate normal asset returns (sample mean vector, sample
    covariance with ddof=1 of the held names' history, NaN as 0) times the weights. Same seed, same draws."""
    held, history = held_returns(weights, asset_returns)
    if held.empty:
        return np.zeros(n_sims)
    values = history.to_numpy()
    mean = values.mean(axis=0)
    cov = np.atleast_2d(np.cov(values, rowvar=False, ddof=1))
    rng = np.random.default_rng(seed)
    # eigh tolerates the singular covariance of names that moved together (or sat at the limit) every day.
    sims = rng.multivariate_normal(mean, cov, size=n_sims, method="eigh")
    return sims @ held.to_numpy()


def monte_carlo_var_cvar(
    asset_returns: pd.DataFrame, weights: pd.Series, level: float = 0.95, n_sims: int = 10_000, seed: int = 0
) -> tuple[float, float]:
    """(VaR, CVaR) of the simulated portfolio returns, with the historical estimators on the simulated sample."""
    sims = simulate_portfolio_returns(asset_returns, weights, n_sims=n_sims, seed=seed)
    return historical_var(sims, level), historical_cvar(sims, level)


def annualized_volatility(returns: ArrayLike, periods_per_year: int = TRADING_DAYS) -> float:
    """Sample std (ddof=1) of the daily returns times sqrt(252)."""
    r = _observed(returns)
    if r.size < 2:
        return float("nan")
    return float(r.std(ddof=1) * np.sqrt(periods_per_year))


def beta(returns: ArrayLike, benchmark_returns: ArrayLike) -> float:
    """cov(r, b) / var(b) on the days both are known: Series are aligned on their index (outer join), then
    days with a NaN on either side are dropped. Arrays must already be aligned (same length)."""
    if isinstance(returns, pd.Series) and isinstance(benchmark_returns, pd.Series):
        pair = pd.concat([returns, benchmark_returns], axis=1, join="outer").to_numpy(dtype=float)
    else:
        pair = np.column_stack([np.asarray(returns, dtype=float), np.asarray(benchmark_returns, dtype=float)])
    pair = pair[~np.isnan(pair).any(axis=1)]
    if len(pair) < 2:
        return float("nan")
    if np.ptp(pair[:, 1]) == 0:
        # A flat benchmark has no variance; tested on the values because its computed variance is rounding noise.
        return float("nan")
    cov = np.cov(pair, rowvar=False, ddof=1)
    return float(cov[0, 1] / cov[1, 1])


def equity_curve(returns: pd.Series) -> pd.Series:
    """NAV starting at 1 after each day's return (NaN as 0: no position, no change)."""
    return (1.0 + returns.astype(float).fillna(0.0)).cumprod()


def drawdown(equity: pd.Series) -> pd.Series:
    """Distance of each NAV from its running peak, as a negative fraction (0 at a new high)."""
    return equity / equity.cummax() - 1.0


def max_drawdown(series: ArrayLike, *, is_equity: bool = False) -> float:
    """Deepest drawdown as a negative fraction, from daily returns (default) or from an equity curve.

    From returns, NAV starts at 1 BEFORE the first return, so a loss on day one is already a drawdown
    (empyrical's anchor); from an equity curve the first value is the starting peak.
    """
    values = pd.Series(np.asarray(series, dtype=float))
    if values.dropna().empty:
        return float("nan")
    equity = values if is_equity else pd.concat([pd.Series([1.0]), equity_curve(values)], ignore_index=True)
    return float(drawdown(equity).min())


def kelly_fraction(returns: ArrayLike) -> float:
    """Discrete Kelly fraction p - (1 - p) / b, un-clipped (the formula of quantstats.stats.kelly_criterion).

    p = share of winning days among non-zero days, b = mean win / |mean loss|. NaN when there is no win or no
    loss (b undefined), as in quantstats.
    """
    r = _observed(returns)
    wins, losses = r[r > 0], r[r < 0]
    if wins.size == 0 or losses.size == 0:
        return float("nan")
    p = wins.size / (wins.size + losses.size)
    b = wins.mean() / abs(losses.mean())
    return float(p - (1.0 - p) / b)


def half_kelly(returns: ArrayLike) -> float:
    """Half the Kelly fraction, clipped to [0, 1]: the share of NAV to put in the strategy.

    Halving trades a little growth for much less drawdown when p and b are estimated. The clip is applied to
    the fraction actually deployed: below 0 means "don't trade" (VN retail cannot short), above 1 would need
    margin, which we do not use. NaN (undefined Kelly) stays NaN so the caller sees there was no estimate.
    """
    return float(np.clip(0.5 * kelly_fraction(returns), 0.0, 1.0))
