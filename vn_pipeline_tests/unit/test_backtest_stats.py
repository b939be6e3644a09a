"""Backtest statistics against empyrical-reloaded, and the bootstrap band's behaviour."""

from __future__ import annotations

import empyrical
import numpy as np
import pandas as pd
import pytest

from vn_pipeline.lib.backtest.stats import TRADING_DAYS, benchmark_stats, bootstrap_band, return_stats

IDX = pd.bdate_range("2023-01-02", periods=500)


def _returns(seed: int, mu: float = 0.0006, sigma: float = 0.012) -> pd.Series:
    return pd.Series(np.random.default_rng(seed).normal(mu, sigma, len(IDX)), index=IDX)


def test_return_stats_agree_with_empyrical() -> None:
    r = _returns(0)
    s = return_stats(r)
    assert s["total_return"] == pytest.approx(empyrical.cum_returns_final(r))
    assert s["annualized_return"] == pytest.approx(empyrical.annual_return(r, annualization=TRADING_DAYS))
    assert s["annualized_volatility"] == pytest.approx(empyrical.annual_volatility(r, annualization=TRADING_DAYS))
    assert s["sharpe"] == pytest.approx(empyrical.sharpe_ratio(r, annualization=TRADING_DAYS))
    assert s["sortino"] == pytest.approx(empyrical.sortino_ratio(r, annualization=TRADING_DAYS))
    assert s["max_drawdown"] == pytest.approx(empyrical.max_drawdown(r))
    assert s["calmar"] == pytest.approx(empyrical.calmar_ratio(r, annualization=TRADING_DAYS))


def test_information_ratio_and_excess_return_against_the_benchmark() -> None:
    r, b = _returns(1), _returns(2, mu=0.0002)
    s = benchmark_stats(r, b)
    active = r - b
    assert s["information_ratio"] == pytest.approx(empyrical.excess_sharpe(r, b) * np.sqrt(TRADING_DAYS))
    assert s["tracking_error"] == pytest.approx(active.std(ddof=1) * np.sqrt(TRADING_DAYS))
    assert s["excess_return"] == pytest.approx(empyrical.cum_returns_final(r) - empyrical.cum_returns_final(b))
    # A missing benchmark day is a zero benchmark return, not a dropped strategy day.
    gap = benchmark_stats(r, b.drop(IDX[10]))
    assert gap["benchmark_total_return"] == pytest.approx(empyrical.cum_returns_final(b.drop(IDX[10])))


def test_a_benchmark_that_starts_late_is_compared_from_its_first_level_only() -> None:
    """Real VN30 levels start 2018-08-20: before that there is no index to beat, not a flat one."""
    r, b = _returns(1), _returns(2, mu=0.0002)
    late = b.copy()
    late.iloc[:100] = np.nan
    s = benchmark_stats(r, late)
    assert s["benchmark_days"] == len(r) - 100
    assert s["excess_return"] == pytest.approx(
        empyrical.cum_returns_final(r.iloc[100:]) - empyrical.cum_returns_final(b.iloc[100:])
    )
    assert s["information_ratio"] == pytest.approx(
        empyrical.excess_sharpe(r.iloc[100:], b.iloc[100:]) * np.sqrt(TRADING_DAYS)
    )


def test_bootstrap_band_brackets_the_point_estimate_and_is_reproducible() -> None:
    r = _returns(3)
    band = bootstrap_band(r, n_paths=2000, seed=7)
    point = return_stats(r)
    assert band["sharpe_p05"] < point["sharpe"] < band["sharpe_p95"]
    assert band["max_drawdown_p05"] < band["max_drawdown_p95"] <= 0
    assert band == bootstrap_band(r, n_paths=2000, seed=7)
    # The band's width shrinks like 1/sqrt(n): four times the history, about half the width.
    long = pd.Series(np.random.default_rng(4).normal(0.0006, 0.012, 2000))
    wide = band["sharpe_p95"] - band["sharpe_p05"]
    narrow = bootstrap_band(long, n_paths=2000, seed=7)
    assert (narrow["sharpe_p95"] - narrow["sharpe_p05"]) == pytest.approx(wide / 2, rel=0.25)
    assert np.isnan(bootstrap_band(r.iloc[:5])["sharpe_p05"])
