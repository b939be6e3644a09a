"""Re-weight a strategy's chosen names (e.g. ``topk_dropout``'s equal-weight book) by a risk-based method.

``reweight`` keeps the strategy's choice of names and its gross exposure and only changes how that exposure
is split. Conventions, per decision row D of the target-weight frame (the backtester's format):

- Point-in-time: the covariance uses the trailing ``lookback`` rows of ``returns`` dated <= D (a return dated
  D is known at D's close, when the decision is taken); mean-variance uses ``expected_returns`` row D.
- Names with weight > 0 are re-weighted; zeros stay zero; NaN entries (and all-NaN rows = "no decision")
  stay NaN.
- ``max_weight`` is a fraction of equity, like the weights. If the re-weighted names cannot absorb the gross
  exposure under it (``n * max_weight < gross``), every one gets ``max_weight`` and the rest stays in cash.
- Names with fewer than ``min_history`` returns in the window (or that never moved) have no usable risk
  estimate: they keep their original weight (capped at ``max_weight``), and the method splits what is left
  among the others. Early in the history that means the row is left as it was.
- Turnover cap: two-way, ``sum |w - prev|`` over all names, where ``prev`` is the previous decision row as
  re-weighted here (drift between decisions is ignored). Selling names the strategy dropped is part of it.
  The first decision (from cash) is not capped. When the strategy's own name changes already need more than
  ``max_turnover``, the row gets the book closest to ``prev`` instead (the cap is a soft limit there, as a
  backtest cannot refuse a decision).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from vn_pipeline.lib.portfolio.covariance import covariance
from vn_pipeline.lib.portfolio.weights import mean_variance, min_turnover, min_variance, risk_parity

METHODS = ("equal", "min_variance", "mean_variance", "risk_parity")
Method = Literal["equal", "min_variance", "mean_variance", "risk_parity"]


def _dates(index: pd.Index) -> pd.DatetimeIndex:
    # target weights are often indexed by datetime.date and returns by Timestamp: compare them as Timestamps
    return pd.DatetimeIndex(pd.to_datetime(index))


def _row_mu(expected_returns: pd.DataFrame, er_dates: pd.DatetimeIndex, day: pd.Timestamp, names: pd.Index):
    pos = er_dates.get_indexer([day])[0]
    if pos < 0:
        raise ValueError(f"expected_returns has no row for decision date {day.date()}")
    mu = expected_returns.iloc[pos].reindex(names).astype(float)
    if mu.isna().all():
        raise ValueError(f"expected_returns row {day.date()} has no value for any of {list(names)}")
    return mu.fillna(mu.mean()).to_numpy()  # a name without a forecast is treated as average, not as zero


def reweight(
    target_weights: pd.DataFrame,
    returns: pd.DataFrame,
    method: Method,
    lookback: int = 60,
    max_weight: float = 1.0,
    max_turnover: float | None = None,
    risk_aversion: float = 2.5,
    expected_returns: pd.DataFrame | None = None,
    shrinkage: float | Literal["auto"] = "auto",
    min_history: int | None = None,
) -> pd.DataFrame:
    """Replace the positive weights of each decision row by ``method``'s weights at the same gross exposure.

    ``returns``: daily simple returns, wide (dates × symbols). ``method``: "equal" (input returned unchanged),
    "min_variance", "mean_variance" (needs ``expected_returns``, dates × symbols, in the units of returns —
    see ``mean_variance``) or "risk_parity". ``min_history`` defaults to ``lookback // 2``. ``shrinkage`` is
    passed to ``covariance``. See the module docstring for the conventions.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "equal":
        return target_weights.copy()
    if method == "mean_variance" and expected_returns is None:
        raise ValueError("method 'mean_variance' needs expected_returns (mu per decision date)")
    if lookback < 2:
        raise ValueError(f"lookback must be >= 2, got {lookback}")
    if not max_weight > 0:
        raise ValueError(f"max_weight must be > 0, got {max_weight}")
    min_history = lookback // 2 if min_history is None else min_history

    ret_dates = _dates(returns.index)
    order = np.argsort(ret_dates.to_numpy(), kind="stable")
    rets, ret_dates = returns.iloc[order], ret_dates[order]
    er_dates = _dates(expected_returns.index) if expected_returns is not None else None
    decision_dates = _dates(target_weights.index)

    cols = target_weights.columns
    w_in = target_weights.to_numpy(dtype=float)
    w_out = w_in.copy()
    prev: np.ndarray | None = None  # previous decision as re-weighted, absolute weights over ``cols``
    for i, day in enumerate(decision_dates):
        row = w_in[i]
        if np.isnan(row).all():
            continue
        chosen = np.flatnonzero(row > 0)
        if len(chosen):
            w_out[i, chosen] = _reweight_row(
                row, chosen, cols, rets, ret_dates, day, method, lookback, max_weight, max_turnover,
                risk_aversion, expected_returns, er_dates, shrinkage, min_history, prev,
            )  # fmt: skip
        # a NaN entry in a decision row means "leave this position": carry its previous target forward
        new = w_out[i]
        prev = np.where(np.isnan(new), 0.0 if prev is None else prev, new)
    return pd.DataFrame(w_out, index=target_weights.index, columns=cols)


def _reweight_row(
    row: np.ndarray,
    chosen: np.ndarray,
    cols: pd.Index,
    rets: pd.DataFrame,
    ret_dates: pd.DatetimeIndex,
    day: pd.Timestamp,
    method: str,
    lookback: int,
    max_weight: float,
    max_turnover: float | None,
    risk_aversion: float,
    expected_returns: pd.DataFrame | None,
    er_dates: pd.DatetimeIndex | None,
    shrinkage: float | Literal["auto"],
    min_history: int,
    prev: np.ndarray | None,
) -> np.ndarray:
    """New weights for ``cols[chosen]`` (absolute, fractions of equity)."""
    names = cols[chosen]
    end = ret_dates.searchsorted(day, side="right")  # rows dated <= D only
    window = rets.iloc[max(0, end - lookback) : end].reindex(columns=names)
    cov = covariance(window, shrinkage=shrinkage, min_periods=min_history)
    opt = np.asarray(names.get_indexer(cov.index))  # positions within ``chosen`` that the method weights

    out = np.minimum(row[chosen], max_weight)  # names without a risk estimate keep their (capped) weight
    fixed = np.ones(len(chosen), dtype=bool)
    fixed[opt] = False
    budget = float(row[chosen].sum() - out[fixed].sum())
    m = len(opt)
    if m == 0 or budget <= 0:
        return out
    if m * max_weight < budget:  # the cap cannot absorb the exposure: hold the excess as cash
        out[opt] = max_weight
        return out

    cap = max_weight / budget  # the methods work on fractions of the budget
    prev_rel, t_rel = None, None
    if max_turnover is not None and prev is not None:
        traded = ~np.isnan(row)  # NaN entries are not traded
        traded[chosen] = False
        forced = float(np.abs(prev[traded]).sum() + np.abs(out[fixed] - prev[chosen][fixed]).sum())
        prev_rel = prev[chosen][opt] / budget
        t_rel = max((max_turnover - forced) / budget, min_turnover(prev_rel, min(cap, 1.0)))

    cap = min(cap, 1.0)
    c = cov.to_numpy()
    if method == "min_variance":
        w = min_variance(c, cap, prev_rel, t_rel)
    elif method == "risk_parity":
        w = risk_parity(c, cap, prev_rel, t_rel)
    else:
        assert expected_returns is not None and er_dates is not None
        mu = _row_mu(expected_returns, er_dates, day, cov.index)
        w = mean_variance(mu, c, risk_aversion, cap, prev_rel, t_rel)
    out[opt] = w * budget
    return out
