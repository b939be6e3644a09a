"""Target-weight strategies: Qlib-style TopkDropout on model scores."""

from __future__ import annotations

import numpy as np
import pandas as pd


def topk_dropout(
    scores: pd.DataFrame, k: int, n_drop: int, rebalance_every: int = 1, keep_held: bool = True
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
        if i % rebalance_every:
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
