"""compute_features: the daily feature table (one row per trading_date × symbol) from adjusted bars.

Point-in-time by construction: every feature of day D is a function of the symbol's bars (and flows/index
values) on days <= D only (rolling windows look back, recursions run forward, cross-sectional ranks use day D
alone), so recomputing with any later data changes no row <= D. Tests pin this by perturbing the future.

Warm-up (counted, like WARMUP_DAYS, in the symbol's bars *before* the day). The longest fixed lookback is
LOOKBACK_DAYS = 68 (rrg_rs_momentum: SMA50 then SMA10 then a 10-bar lag = 49 + 9 + 10; the 60-bar Alpha158
windows on bar-to-bar changes need 60). EMA, MACD, RSI and ATR are recursions seeded
like TA-Lib, so their value also depends, fading geometrically, on where the input starts: after
WARMUP_DAYS = 250 bars the seed's weight is below 2e-3 for EMA(60) ((59/61)^190) and below 1e-7 for the
others, so partitions computed on different windows agree to that precision. Give compute_features at
least WARMUP_DAYS bars before ``start``; no feature is NaN after the warm-up for a symbol that trades every
day, except on the degenerate windows listed in UNDEFINED_ON_FLAT (and features whose optional input, flows or
index, is missing: the proprietary-flow features are NaN wherever their window holds no proprietary row).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pandas as pd

from vn_pipeline.lib.features import alpha158, classic
from vn_pipeline.lib.features import flows as flow_features
from vn_pipeline.lib.features.panel import build_panel
from vn_pipeline.lib.features.rolling import Panel

LOOKBACK_DAYS = 68
WARMUP_DAYS = 250

XRANK_BASES: tuple[str, ...] = (
    "roc_5",
    "roc_20",
    "rsi_14",
    "foreign_net_ratio_5",
    "volume_ratio_20",
    "atr_14_ratio",
    "rrg_rs_ratio",
)
XRANK_NAMES = tuple(f"xrank_{name}" for name in XRANK_BASES)

# The proprietary-flow features come last: features.daily gained them by ALTER TABLE (sql/016), which appends.
FEATURE_NAMES: tuple[str, ...] = (
    *classic.NAMES, *alpha158.NAMES, *flow_features.NAMES, *XRANK_NAMES, *flow_features.PROP_NAMES,
)  # fmt: skip

# Features that are NaN after the warm-up on degenerate windows (0/0), by design — see each module's docstring.
UNDEFINED_ON_FLAT: tuple[str, ...] = (
    "bb_pctb_20",  # 20 identical closes: zero-width band
    "fib_pos_60",
    "fib_level_60",
    "fib_dist_60",  # max high == min low over 60 bars
    "spread_ratio_20",
    "vsa_climax",
    "vsa_no_demand",
    "vsa_no_supply",  # 20 prior zero-range bars, or (with volume_ratio_20) 20 prior bars without volume
    "volume_ratio_20",
    "obv_change_20",  # no volume over its 20 bars
    *(f"rsqr_{d}" for d in alpha158.WINDOWS),  # constant close
    *(f"corr_{d}" for d in alpha158.WINDOWS),  # constant close or volume
    *(f"cord_{d}" for d in alpha158.WINDOWS),  # constant close/volume ratio, or a zero previous volume
)  # fmt: skip  (xrank_<base> is NaN exactly where its base is)

BAR_INPUTS = ("open", "high", "low", "close", "volume", "value", "vwap")
FLOW_INPUTS = ("buy_value", "sell_value", "room_remaining")
# market.proprietary_flows' columns and the panel names they take beside the foreign flows'.
PROP_INPUTS = {"buy_value": "prop_buy_value", "sell_value": "prop_sell_value"}


def compute_features(
    bars: pd.DataFrame,
    flows: pd.DataFrame | None,
    index_close: pd.Series | None,
    start: dt.date | None = None,
    proprietary: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Features for every (trading_date >= start, symbol) row of ``bars`` (adjusted daily bars).

    ``bars``: trading_date, symbol, open, high, low, close, volume, value (vwap optional, may be NaN).
    ``flows``: trading_date, symbol, buy_value, sell_value, room_remaining (left-joined; None → NaN).
    ``index_close``: VN30 close indexed by trading_date (None → NaN rotation features).
    ``proprietary``: trading_date, symbol, buy_value, sell_value of market.proprietary_flows (None → NaN
    proprietary features; sparse rows, see flows.py).
    Returns trading_date, symbol, *FEATURE_NAMES (float64), sorted by (trading_date, symbol).
    """
    missing = {"trading_date", "symbol", "open", "high", "low", "close", "volume", "value"} - set(bars.columns)
    if missing:
        raise ValueError(f"bars lack columns {sorted(missing)}")
    frame = bars[[c for c in ("trading_date", "symbol", *BAR_INPUTS) if c in bars.columns]]
    bp = build_panel(frame)
    long = bp.long
    panels = {name: bp.to_panel(long.get(name, np.nan)) for name in BAR_INPUTS}
    panels |= {name: bp.to_panel(col) for name, col in _flow_columns(long, flows).items()}
    prop = aligned_columns(long, proprietary, tuple(PROP_INPUTS), "proprietary flows")
    panels |= {PROP_INPUTS[name]: bp.to_panel(col) for name, col in prop.items()}
    panels["index_close"] = bp.to_panel(_index_values(long["_ts"], index_close))

    keep = np.ones(len(long), dtype=bool) if start is None else (long["_ts"] >= pd.Timestamp(start)).to_numpy()
    position = {name: i for i, name in enumerate(FEATURE_NAMES)}
    # Feature-major storage: one contiguous row per feature, handed to pandas as a single block without a copy.
    matrix = np.empty((len(FEATURE_NAMES), int(keep.sum())))
    seen: set[str] = set()
    # Degenerate vendor rows (zero prices, zero volumes) divide by zero: silence numpy, then store NaN for ±inf.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for name, panel in _all_features(panels):
            row = bp.to_long(panel)[keep]
            row[np.isinf(row)] = np.nan
            matrix[position[name]] = row
            seen.add(name)
    kept = long.loc[keep, ["trading_date", "symbol", "_ts"]].reset_index(drop=True)
    for name in XRANK_BASES:
        matrix[position[f"xrank_{name}"]] = _cross_rank(kept["_ts"], bp.cols[keep], matrix[position[name]])
        seen.add(f"xrank_{name}")
    if seen != set(FEATURE_NAMES):  # a module and its NAMES disagree: fail loudly, never ship garbage columns
        raise RuntimeError(f"features computed != FEATURE_NAMES: {sorted(seen ^ set(FEATURE_NAMES))}")
    out = pd.DataFrame(matrix.T, columns=list(FEATURE_NAMES), copy=False)
    out.insert(0, "symbol", kept["symbol"].to_numpy())
    out.insert(0, "trading_date", kept["trading_date"].to_numpy())
    return out


def _all_features(panels: dict[str, Panel]) -> Iterator[tuple[str, Panel]]:
    yield from classic.compute(panels).items()
    yield from alpha158.compute(panels)
    yield from flow_features.compute(panels).items()
    yield from flow_features.compute_proprietary(panels).items()


def _flow_columns(long: pd.DataFrame, flows_frame: pd.DataFrame | None) -> dict[str, np.ndarray]:
    """Flow values aligned to the long bar rows (NaN where a bar has no flow row)."""
    return aligned_columns(long, flows_frame, FLOW_INPUTS, "flows")


def aligned_columns(
    long: pd.DataFrame, frame: pd.DataFrame | None, names: tuple[str, ...], what: str
) -> dict[str, np.ndarray]:
    """Columns ``names`` of a daily table aligned to the long bar rows (NaN where a bar has no row)."""
    if frame is None or frame.empty:
        return {name: np.full(len(long), np.nan) for name in names}
    f = frame[["trading_date", "symbol", *names]].assign(_ts=pd.to_datetime(frame["trading_date"]))
    if f.duplicated(["_ts", "symbol"]).any():
        raise ValueError(f"{what} have duplicate (trading_date, symbol) rows")
    merged = long[["_ts", "symbol"]].merge(f.drop(columns="trading_date"), on=["_ts", "symbol"], how="left")
    return {name: pd.to_numeric(merged[name], errors="coerce").to_numpy(np.float64) for name in names}


def _index_values(ts: pd.Series, index_close: pd.Series | None) -> np.ndarray:
    if index_close is None or index_close.empty:
        return np.full(len(ts), np.nan)
    series = pd.Series(index_close.to_numpy(np.float64), index=pd.to_datetime(index_close.index))
    series = series[~series.index.duplicated(keep="last")]
    return series.reindex(pd.DatetimeIndex(ts)).to_numpy(np.float64)


def _cross_rank(ts: pd.Series, cols: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Percentile rank (average ties, 1 = highest) of each value among that day's symbols; NaN stays NaN."""
    if len(values) == 0:
        return values.copy()
    day, _ = pd.factorize(ts, sort=True)
    grid = np.full((int(day.max()) + 1, int(cols.max()) + 1), np.nan)
    grid[day, cols] = values
    ranked = pd.DataFrame(grid, copy=False).rank(axis=1, method="average", pct=True).to_numpy()
    return ranked[day, cols]
