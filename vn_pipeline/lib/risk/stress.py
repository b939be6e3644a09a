"""Stress scenarios for a book of today's weights: every name at its limit-down floor, and a replay of a
historical drawdown window (by default the benchmark's worst peak-to-trough in the data).

Losses are POSITIVE fractions of NAV (0.07 = the book loses 7%), like VaR in metrics.py.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from vn_pipeline.lib.risk._book import held_weights
from vn_pipeline.lib.risk.metrics import beta, drawdown


class WindowLoss(NamedTuple):
    """Result of ``historical_window_loss``.

    ``contributions`` is indexed by held symbol with columns weight, window_return (compounded over the
    window), contribution (= -weight × window_return, positive = loss) and proxied (True when the name had no
    data in the window and beta × benchmark stood in for it). ``loss`` is the sum of the contributions.
    """

    loss: float
    contributions: pd.DataFrame


def limit_down_loss(weights: pd.Series, limit_down_returns: pd.Series) -> float:
    """Loss of the book if every held name closes at its floor, with ``limit_down_returns`` = floor / close - 1
    per symbol (negative: -0.07 on HOSE, -0.10 on HNX, -0.15 on UPCoM before tick rounding)."""
    held = held_weights(weights)
    floor = limit_down_returns.astype(float).reindex(held.index)
    if floor.isna().any():
        raise ValueError(f"no limit-down return for held names {list(floor.index[floor.isna()])}")
    if (floor > 0).any():
        # A positive value is almost certainly a band passed without its sign; it would turn a loss into a gain.
        raise ValueError(f"limit-down returns must be <= 0, got {floor[floor > 0].to_dict()}")
    return float(-(held * floor).sum())


def _in_window(index: pd.Index, start: Any, end: Any) -> np.ndarray:
    if isinstance(index, pd.DatetimeIndex):
        start, end = pd.Timestamp(start), pd.Timestamp(end)
    return np.asarray((index > start) & (index <= end))


def _compounded(returns: pd.DataFrame | pd.Series) -> pd.Series | float:
    return (1.0 + returns.fillna(0.0)).prod() - 1.0


def _proxy_betas(
    names: pd.Index, asset_returns: pd.DataFrame, benchmark_returns: pd.Series, betas: pd.Series | None
) -> pd.Series:
    """Given betas first; else the name's beta over its whole history; else 1 (moves with the market)."""
    given = (betas if betas is not None else pd.Series(dtype=float)).astype(float).reindex(names)
    estimated = pd.Series(
        [beta(asset_returns[n], benchmark_returns) if n in asset_returns else np.nan for n in names],
        index=names,
        dtype=float,
    )
    return given.fillna(estimated).fillna(1.0)


def historical_window_loss(
    weights: pd.Series,
    asset_returns: pd.DataFrame,
    start: Any,
    end: Any,
    benchmark_returns: pd.Series | None = None,
    betas: pd.Series | None = None,
) -> WindowLoss:
    """Loss of today's book if each held name repeated its compounded return over a past window.

    The window runs from the close of ``start`` to the close of ``end``: returns dated in (start, end], so the
    (peak, trough) pair of ``worst_drawdown_window`` replays exactly the peak-to-trough move. Within the window
    a NaN return counts as 0 (a suspended VN name keeps its price). A held name with no return at all in the
    window (not listed yet, or absent from ``asset_returns``) is given beta × the benchmark's compounded return
    over the window, with beta from ``betas``, else estimated on the name's full history against the
    benchmark, else 1. Such a name without ``benchmark_returns`` raises ValueError.
    """
    held = held_weights(weights)
    in_window = asset_returns.loc[_in_window(asset_returns.index, start, end)]
    observed = in_window.reindex(columns=held.index).notna().any()
    window_return = _compounded(in_window.reindex(columns=held.index)).where(observed)
    proxied = ~observed
    if proxied.any():
        names = held.index[proxied.to_numpy()]
        if benchmark_returns is None:
            raise ValueError(f"no returns in the window for {list(names)} and no benchmark to proxy them")
        bench = benchmark_returns.loc[_in_window(benchmark_returns.index, start, end)]
        if bench.notna().sum() == 0:
            raise ValueError(f"benchmark has no returns in the window ({start}, {end}]")
        proxy_betas = _proxy_betas(names, asset_returns, benchmark_returns, betas)
        window_return[names] = proxy_betas * _compounded(bench)
    contributions = pd.DataFrame(
        {
            "weight": held,
            "window_return": window_return,
            "contribution": -held * window_return,
            "proxied": proxied,
        }
    )
    return WindowLoss(float(contributions["contribution"].sum()), contributions)


def worst_drawdown_window(benchmark_levels: pd.Series) -> tuple[Any, Any]:
    """(peak, trough) index labels of the deepest drawdown of an index level series (NaN levels dropped).

    The peak is the last day the level stood at its running maximum before the trough. With no drawdown at
    all, both are the first label (an empty window: a replay loses nothing).
    """
    levels = benchmark_levels.astype(float).dropna()
    if levels.empty:
        raise ValueError("no benchmark levels")
    trough = int(np.argmin(drawdown(levels).to_numpy()))
    before = levels.to_numpy()[: trough + 1]
    peak = trough - int(np.argmax(before[::-1]))
    return levels.index[peak], levels.index[trough]
