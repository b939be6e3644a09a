"""Book-level risk: concentration, the per-position risk table and the portfolio risk summary.

Assumption behind every history-based figure here: TODAY's weights are applied to the whole returns history
(portfolio return of day t = Σ_i w_i r_i,t), i.e. the risk of the book as it stands, not of the strategy's
past books. A held name's NaN return (suspended, not yet listed) counts as 0 on that day (see _book.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from vn_pipeline.lib.risk._book import held_returns, held_weights
from vn_pipeline.lib.risk.metrics import (
    annualized_volatility,
    beta,
    historical_cvar,
    historical_var,
    max_drawdown,
    parametric_cvar,
    parametric_var,
    simulate_portfolio_returns,
)

LEVELS = (0.95, 0.99)


def level_tag(level: float) -> str:
    """Key suffix for a confidence level: 0.95 -> "95", 0.975 -> "97_5"."""
    return f"{level * 100:g}".replace(".", "_")


def hhi(weights: pd.Series) -> float:
    """Herfindahl index of the invested book: Σ (w_i / Σ|w|)², normalised by gross exposure.

    Normalising means cash does not dilute it: n equal positions give 1/n whether the book is 100% or 50%
    invested; one position gives 1. NaN for an all-cash book.
    """
    held = held_weights(weights)
    gross = held.abs().sum()
    if gross == 0:
        return float("nan")
    return float(((held / gross) ** 2).sum())


def top_weights(weights: pd.Series, n: int = 5) -> pd.Series:
    """The ``n`` largest positions by |weight| (weights as given, fractions of NAV), largest first."""
    held = held_weights(weights)
    return held.loc[held.abs().sort_values(ascending=False, kind="stable").index[:n]]


def portfolio_returns(weights: pd.Series, asset_returns: pd.DataFrame) -> pd.Series:
    """Daily return history of today's book: asset returns (NaN as 0) @ weights."""
    held, history = held_returns(weights, asset_returns)
    return history @ held if not held.empty else pd.Series(0.0, index=asset_returns.index)


def position_risk(
    weights: pd.Series,
    asset_returns: pd.DataFrame,
    levels: Sequence[float] = LEVELS,
    benchmark_returns: pd.Series | None = None,
) -> pd.DataFrame:
    """One row per held name, largest weight first: weight, then the standalone one-day VaR / CVaR of the
    position as a fraction of NAV (historical and Gaussian: ``var_hist_95``, ``cvar_param_99``, ...), the
    name's own annualised ``volatility`` and, with a benchmark, its ``beta``.

    Standalone = the VaR of the series w × r_i, which is w × the name's own VaR for a long position. Each name
    uses its own observed days (NaN dropped), not the NaN-as-0 portfolio history.
    """
    held, _ = held_returns(weights, asset_returns)
    rows = {}
    for name, w in held.items():
        own = asset_returns[name].astype(float).dropna()
        row = {"weight": w}
        for level in levels:
            tag = level_tag(level)
            row[f"var_hist_{tag}"] = historical_var(w * own, level)
            row[f"cvar_hist_{tag}"] = historical_cvar(w * own, level)
            row[f"var_param_{tag}"] = parametric_var(w * own, level)
            row[f"cvar_param_{tag}"] = parametric_cvar(w * own, level)
        row["volatility"] = annualized_volatility(own)
        if benchmark_returns is not None:
            row["beta"] = beta(own, benchmark_returns)
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "symbol"
    return table.sort_values("weight", ascending=False, kind="stable") if len(table) else table


def portfolio_risk(
    weights: pd.Series,
    asset_returns: pd.DataFrame,
    benchmark_returns: pd.Series | None = None,
    levels: Sequence[float] = LEVELS,
    n_sims: int = 10_000,
    seed: int = 0,
) -> dict[str, float]:
    """Risk summary of today's book on its returns history.

    Keys, per level (tags "95", "99"): ``var_hist_``, ``cvar_hist_``, ``var_param_``, ``cvar_param_``,
    ``var_mc_``, ``cvar_mc_`` (one-day, positive loss fractions of NAV); then ``volatility`` (annualised),
    ``beta`` (NaN without a benchmark), ``max_drawdown`` (negative), ``gross_exposure`` (Σ|w|) and ``hhi``.
    The Monte Carlo figures of all levels come from the same ``n_sims`` draws.
    """
    history = portfolio_returns(weights, asset_returns)
    sims = simulate_portfolio_returns(asset_returns, weights, n_sims=n_sims, seed=seed)
    out: dict[str, float] = {}
    for level in levels:
        tag = level_tag(level)
        out[f"var_hist_{tag}"] = historical_var(history, level)
        out[f"cvar_hist_{tag}"] = historical_cvar(history, level)
        out[f"var_param_{tag}"] = parametric_var(history, level)
        out[f"cvar_param_{tag}"] = parametric_cvar(history, level)
        out[f"var_mc_{tag}"] = historical_var(sims, level)
        out[f"cvar_mc_{tag}"] = historical_cvar(sims, level)
    out["volatility"] = annualized_volatility(history)
    out["beta"] = beta(history, benchmark_returns) if benchmark_returns is not None else float("nan")
    out["max_drawdown"] = max_drawdown(history)
    out["gross_exposure"] = float(held_weights(weights).abs().sum())
    out["hhi"] = hhi(weights)
    return out
