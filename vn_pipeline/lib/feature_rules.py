"""Quality rules for the feature matrix: NaN only inside a symbol's warm-up, and drift against training."""

from __future__ import annotations

import numpy as np
import pandas as pd

KEY = ["trading_date", "symbol"]


def nan_outside_warmup(features: pd.DataFrame, history_days: pd.Series, warmup_days: int) -> pd.DataFrame:
    """Rows with a NaN feature although the symbol already had ``warmup_days`` bars of history.

    ``history_days`` holds, per (trading_date, symbol), how many bars the symbol had up to that day.
    Returns trading_date, symbol and the names of the NaN features.
    """
    values = features.drop(columns=KEY)
    seasoned = history_days.reindex(pd.MultiIndex.from_frame(features[KEY])).to_numpy() > warmup_days
    nan = values.isna().to_numpy()
    bad = seasoned & nan.any(axis=1)
    names = np.asarray(values.columns)
    return pd.DataFrame(
        {
            "trading_date": features["trading_date"].to_numpy()[bad],
            "symbol": features["symbol"].to_numpy()[bad],
            "nan_features": [",".join(names[row]) for row in nan[bad]],
        }
    )


def population_stability(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """PSI of ``current`` against ``reference`` on the reference's deciles (0.1: look, 0.25: shifted)."""
    reference = reference[np.isfinite(reference)]
    current = current[np.isfinite(current)]
    if len(reference) < bins or len(current) == 0:
        return float("nan")
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    expected = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=len(edges) + 1)
    actual = np.bincount(np.searchsorted(edges, current, side="right"), minlength=len(edges) + 1)
    # a small floor keeps an empty bin from making the index infinite
    p = np.maximum(expected / expected.sum(), 1e-4)
    q = np.maximum(actual / actual.sum(), 1e-4)
    return float(np.sum((q - p) * np.log(q / p)))


def feature_drift(reference: pd.DataFrame, current: pd.DataFrame, names: list[str]) -> pd.Series:
    """PSI per feature between a reference window (e.g. the training window) and the current day."""
    return pd.Series(
        {name: population_stability(reference[name].to_numpy(float), current[name].to_numpy(float)) for name in names}
    ).sort_values(ascending=False)
