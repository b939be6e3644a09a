"""Shared handling of a book: today's weights (fractions of NAV, indexed by symbol) against a returns history.

Weights need not sum to 1: the remainder is cash, which has no risk here. Zero weights are names not held.
"""

from __future__ import annotations

import pandas as pd


def held_weights(weights: pd.Series) -> pd.Series:
    """Non-zero weights as float; a NaN weight is rejected because it would silently drop a position."""
    if weights.isna().any():
        raise ValueError(f"NaN weights for {list(weights.index[weights.isna()])}")
    weights = weights.astype(float)
    return weights[weights != 0]


def held_returns(weights: pd.Series, asset_returns: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """(held weights, their daily returns with NaN as 0), columns in the order of the weights.

    NaN is read as "no price change": a suspended or not-yet-listed VN name keeps its reference price, and a
    portfolio return needs a number for every held name every day. A held name with no returns column at all
    is an error, since treating its whole history as flat would hide its risk.
    """
    held = held_weights(weights)
    missing = held.index.difference(asset_returns.columns)
    if len(missing):
        raise ValueError(f"no returns for held names {list(missing)}")
    return held, asset_returns[held.index].astype(float).fillna(0.0)
