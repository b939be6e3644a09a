"""Classic technical features: moving averages, MACD, RSI, Bollinger, ATR, OBV, Fibonacci, VSA, rotation.

Level features (sma_*, ema_*, macd*, bb_upper/lower_20, atr_14) are in adjusted VND, exactly as TA-Lib would
compute them on the adjusted series; each has a scale-free companion (``*_ratio`` = level / close) for models.

Definitions that are ours, not TA-Lib's:
- obv_change_20: (OBV(t) - OBV(t-20)) / Σ volume over those 20 bars, in [-1, 1]. TA-Lib's OBV level is a
  running total from the first bar of the input, so it would change with the window a partition is computed
  on; its 20-bar change does not (indicators.obv, tested against TA-Lib, stays available).
- fib_pos_60 = (close - L) / (H - L) with H = 60-bar max high, L = 60-bar min low (0 at the low, 1 at the high).
  The retracement levels H - r(H - L), r in (0.236, 0.382, 0.5, 0.618), sit at positions 1 - r;
  fib_level_60 = the r of the nearest level, fib_dist_60 = fib_pos_60 - (1 - r) (signed, in range units).
  Undefined (NaN) when H == L (no range over 60 bars).
- Volume spread analysis, against the 20 bars *before* the current one (spread = high - low):
  spread_ratio_20 = spread / mean prior spread; volume_ratio_20 = volume / mean prior volume;
  vsa_climax = +1 (up bar: close > previous close) / -1 (down or flat bar) when spread_ratio_20 > 1.5 and
  volume_ratio_20 > 2, else 0; vsa_no_demand = 1 on an up bar with spread_ratio_20 < 0.7 and volume below
  each of the two previous bars' volumes; vsa_no_supply = the same on a down bar. spread_ratio_20 is NaN
  when the prior 20 bars all had zero range.
- Relative rotation vs VN30 (a public approximation of JdK RRG, whose exact formula is unpublished):
  RS = close / VN30 close; rrg_rs_ratio = SMA10(100 × RS / SMA50(RS)); rrg_rs_momentum =
  100 × rrg_rs_ratio / rrg_rs_ratio 10 bars earlier. Both centre on 100; lookback 68 bars.
  RS uses the index close of the symbol's own trading days; NaN when no index series is given.
- ret_1 = close / previous close - 1 (adjusted, so an ex-date is not a fake crash).
"""

from __future__ import annotations

import numpy as np

from vn_pipeline.lib.features import indicators as ind
from vn_pipeline.lib.features.rolling import Panel, rolling_max, rolling_mean, rolling_min, shift

MA_WINDOWS = (5, 10, 20, 60)
FIB_WINDOW = 60
FIB_RATIOS = (0.236, 0.382, 0.5, 0.618)
VSA_WINDOW = 20
CLIMAX_SPREAD, CLIMAX_VOLUME, NARROW_SPREAD = 1.5, 2.0, 0.7
RRG_BASE, RRG_SMOOTH, RRG_LAG = 50, 10, 10

NAMES: tuple[str, ...] = (
    *(f"sma_{n}" for n in MA_WINDOWS),
    *(f"ema_{n}" for n in MA_WINDOWS),
    *(f"sma_{n}_ratio" for n in MA_WINDOWS),
    *(f"ema_{n}_ratio" for n in MA_WINDOWS),
    "macd", "macd_signal", "macd_hist", "macd_ratio", "macd_hist_ratio",
    "rsi_14",
    "bb_upper_20", "bb_lower_20", "bb_pctb_20", "bb_bandwidth_20",
    "atr_14", "atr_14_ratio",
    "obv_change_20",
    "ret_1",
    "fib_pos_60", "fib_level_60", "fib_dist_60",
    "spread_ratio_20", "volume_ratio_20", "vsa_climax", "vsa_no_demand", "vsa_no_supply",
    "rrg_rs_ratio", "rrg_rs_momentum",
)  # fmt: skip


def _div(a: Panel, b: Panel) -> Panel:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b != 0, a / b, np.nan)


def compute(p: dict[str, Panel]) -> dict[str, Panel]:
    """All classic features from panels open/high/low/close/volume (+ index_close, NaN when absent)."""
    high, low, close, volume = p["high"], p["low"], p["close"], p["volume"]
    out: dict[str, Panel] = {}
    for n in MA_WINDOWS:
        out[f"sma_{n}"] = ind.sma(close, n)
        out[f"ema_{n}"] = ind.ema(close, n)
    for n in MA_WINDOWS:
        out[f"sma_{n}_ratio"] = out[f"sma_{n}"] / close
        out[f"ema_{n}_ratio"] = out[f"ema_{n}"] / close
    line, signal, hist = ind.macd(close)
    out |= {"macd": line, "macd_signal": signal, "macd_hist": hist}
    out["macd_ratio"] = line / close
    out["macd_hist_ratio"] = hist / close
    out["rsi_14"] = ind.rsi(close, 14)
    upper, middle, lower = ind.bbands(close, 20, 2.0)
    out["bb_upper_20"], out["bb_lower_20"] = upper, lower
    out["bb_pctb_20"] = _div(close - lower, upper - lower)  # NaN on 20 identical closes (zero band)
    out["bb_bandwidth_20"] = (upper - lower) / middle
    out["atr_14"] = ind.atr(high, low, close, 14)
    out["atr_14_ratio"] = out["atr_14"] / close
    out["obv_change_20"] = ind.obv_change(close, volume, 20)
    prev_close = shift(close, 1)
    out["ret_1"] = close / prev_close - 1.0
    out |= _fibonacci(high, low, close)
    out |= _vsa(high, low, close, prev_close, volume)
    out |= _rotation(close, p["index_close"])
    return out


def _fibonacci(high: Panel, low: Panel, close: Panel) -> dict[str, Panel]:
    hi, lo = rolling_max(high, FIB_WINDOW), rolling_min(low, FIB_WINDOW)
    pos = _div(close - lo, hi - lo)
    levels = 1.0 - np.asarray(FIB_RATIOS)  # retracement ratio r sits at position 1 - r of the range
    dist = pos[..., None] - levels  # (rows, symbols, 4)
    nearest = np.argmin(np.abs(np.where(np.isnan(dist), np.inf, dist)), axis=-1)
    defined = ~np.isnan(pos)
    level = np.where(defined, np.asarray(FIB_RATIOS)[nearest], np.nan)
    signed = np.where(defined, np.take_along_axis(dist, nearest[..., None], axis=-1)[..., 0], np.nan)
    return {"fib_pos_60": pos, "fib_level_60": level, "fib_dist_60": signed}


def _vsa(high: Panel, low: Panel, close: Panel, prev_close: Panel, volume: Panel) -> dict[str, Panel]:
    spread = high - low
    spread_ratio = _div(spread, shift(rolling_mean(spread, VSA_WINDOW), 1))
    volume_ratio = _div(volume, shift(rolling_mean(volume, VSA_WINDOW), 1))
    known = ~(np.isnan(spread_ratio) | np.isnan(volume_ratio) | np.isnan(prev_close))
    up = close > prev_close
    climax = (spread_ratio > CLIMAX_SPREAD) & (volume_ratio > CLIMAX_VOLUME)
    quiet = (spread_ratio < NARROW_SPREAD) & (volume < shift(volume, 1)) & (volume < shift(volume, 2))
    down = close < prev_close

    def flag(x: np.ndarray) -> Panel:
        return np.where(known, x.astype(np.float64), np.nan)

    return {
        "spread_ratio_20": spread_ratio,
        "volume_ratio_20": volume_ratio,
        "vsa_climax": flag(climax * np.where(up, 1, -1)),
        "vsa_no_demand": flag(quiet & up),
        "vsa_no_supply": flag(quiet & down),
    }


def _rotation(close: Panel, index_close: Panel) -> dict[str, Panel]:
    rs = _div(close, index_close)
    ratio = rolling_mean(100.0 * rs / rolling_mean(rs, RRG_BASE), RRG_SMOOTH)
    return {"rrg_rs_ratio": ratio, "rrg_rs_momentum": 100.0 * ratio / shift(ratio, RRG_LAG)}
