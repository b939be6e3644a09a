"""Target-weight strategies: Qlib-style TopkDropout on model scores."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from vn_pipeline.lib.backtest.inputs import daily_returns
from vn_pipeline.lib.portfolio.construction import Method, reweight


def topk_dropout(
    scores: pd.DataFrame, k: int, n_drop: int, rebalance_days: int = 1, keep_held: bool = True
) -> pd.DataFrame:
    """A book of ``k`` names, in the manner of Qlib's TopkDropoutStrategy.

    ``scores``: wide (decision dates × symbols), NaN where a symbol has no score that day. On each rebalance
    day the ``n_drop`` lowest-scored holdings are sold and replaced by the best-scored names not held (the
    book is filled up to ``k`` if it is short); between rebalances the row is NaN ("no new decision").
    New names get 1/k of equity. With ``keep_held`` the names that stay are NaN ("keep the shares held"), so, as
    in Qlib, they are not traded back to 1/k at every rebalance; without it every name in the book is 1/k (for a
    re-weighting that sizes the whole book).
    """
    if not 0 <= n_drop <= k:
        raise ValueError(f"need 0 <= n_drop <= k, got n_drop={n_drop}, k={k}")
    weights = pd.DataFrame(np.nan, index=scores.index, columns=scores.columns)
    held: list[str] = []
    for i, day in enumerate(scores.index):
        if i % rebalance_days:
            continue
        today = scores.loc[day].dropna().sort_values(ascending=False)
        if today.empty:
            continue
        held = [s for s in held if s in today.index]  # a name without a score today cannot be ranked: sell it
        worst_first = sorted(held, key=lambda s: today[s])
        keep = worst_first[min(n_drop, len(worst_first)) :] if len(held) >= k else held
        candidates = [s for s in today.index if s not in keep]
        before = set(held)
        held = keep + candidates[: k - len(keep)]
        weights.loc[day] = 0.0
        weights.loc[day, held] = 1.0 / k
        if keep_held:
            weights.loc[day, [s for s in held if s in before]] = np.nan
    return weights


def topk_book(
    scores: pd.DataFrame,
    adj_close: pd.DataFrame,
    start: date,
    k: int,
    n_drop: int,
    rebalance_days: int,
    weighting: Method = "equal",
    lookback: int = 60,
    max_weight: float = 0.2,
    max_turnover: float | None = None,
) -> pd.DataFrame:
    """Target weights of a TopkDropout book on ``scores`` from ``start`` on: equal weights that leave the names
    staying in the book alone, as Qlib does, or a risk weighting (``reweight``) that sizes the whole book on the
    returns of ``adj_close`` over ``lookback`` days (the scores as expected returns for mean-variance)."""
    equal = weighting == "equal"
    weights = topk_dropout(scores.loc[scores.index >= start], k, n_drop, rebalance_days, keep_held=equal)
    if equal:
        return weights
    return reweight(weights, daily_returns(adj_close), weighting, lookback=lookback, max_weight=max_weight,
                    max_turnover=max_turnover, expected_returns=scores)  # fmt: skip
