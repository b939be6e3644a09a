"""Feature library: point-in-time price adjustment and the daily feature table (see core.py, adjust.py).

    adjusted = adjust_prices(bars, actions)
    table = compute_features(adjusted_window, flows, vn30_close, start=day)   # window: WARMUP_DAYS before day

Modules: adjust (forward adjustment), panel (long rows ⇄ per-symbol bar panels), rolling (window primitives),
indicators (TA-Lib-exact SMA/EMA/MACD/RSI/BBANDS/ATR/OBV), classic, alpha158 (Qlib), flows, core.
"""

from vn_pipeline.lib.features.adjust import adjust_prices
from vn_pipeline.lib.features.core import (
    FEATURE_NAMES,
    LOOKBACK_DAYS,
    UNDEFINED_ON_FLAT,
    WARMUP_DAYS,
    XRANK_NAMES,
    compute_features,
)

__all__ = [
    "FEATURE_NAMES",
    "LOOKBACK_DAYS",
    "UNDEFINED_ON_FLAT",
    "WARMUP_DAYS",
    "XRANK_NAMES",
    "adjust_prices",
    "compute_features",
]
