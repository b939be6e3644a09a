"""Classic indicators with TA-Lib's exact definitions, vectorized over a (rows × symbols) panel.

TA-Lib (the C library behind ``import talib``) is the reference: the tests compare these functions to it on
real Vietnamese daily bars. To agree to rounding, the recursive indicators copy TA-Lib's seeding and its
order of floating-point operations:

- EMA(n): first value = SMA of the first n inputs (at row n-1), then ``prev = (x - prev) * k + prev`` with
  k = 2 / (n + 1).
- MACD(12, 26, 9): both EMAs start on row 25 (slow lookback); the fast EMA is seeded with the SMA of the 12
  inputs *ending* on row 25, not the first 12 (TA-Lib's ``INT_MACD``). Signal = EMA(9) of the MACD line,
  seeded on rows 25..33; line, signal and histogram are all reported from row 33 like TA-Lib.
- RSI(n) and ATR(n): Wilder smoothing seeded with the plain mean of the first n changes / true ranges;
  RSI is 0 when the average gain + loss is within 1e-14 of zero (TA-Lib's ``TA_IS_ZERO``).
- OBV: starts at the first bar's volume and adds/subtracts each bar's volume on an up/down close.

One deliberate difference: BBANDS' standard deviation comes from pandas' rolling std (ddof=0, the
population σ TA-Lib uses) instead of TA-Lib's ``sqrt(mean(x²) - mean²)``, which cancels digits on prices
in the tens of thousands; the two agree to ~1e-12 relative on the bands.

The recursions loop over rows (a few thousand) with numpy operations across all symbols at each step,
never over symbols. Inputs may hold leading NaN (each column's own start is found) and trailing NaN
(padding); a NaN inside a column propagates to every later value of a recursive indicator.
"""

from __future__ import annotations

import numpy as np

from vn_pipeline.lib.features.rolling import Panel, rolling_mean, rolling_std, rolling_sum

TA_EPSILON = 1e-14  # TA-Lib's TA_IS_ZERO threshold (TA_EPSILON since TA-Lib 0.6; 1e-8 before)


def _first_valid(x: Panel) -> np.ndarray:
    """Row of each column's first non-NaN value (rows if none)."""
    valid = ~np.isnan(x)
    return np.where(valid.any(axis=0), valid.argmax(axis=0), x.shape[0])


def _seed_mean(x: Panel, first: np.ndarray, n: int) -> np.ndarray:
    """Sum of n rows from ``first`` in row order, then / n (as TA-Lib's seed loops); NaN if out of range."""
    rows, cols = x.shape
    idx = np.arange(cols)
    total = np.zeros(cols)
    ok = first + n <= rows
    for i in range(n):
        total += x[np.minimum(first + i, rows - 1), idx]
    return np.where(ok, total / n, np.nan)


def ema(x: Panel, n: int, seed_end: int | None = None) -> Panel:
    """TA-Lib EMA. ``seed_end`` = rows after each column's start where the SMA seed ends (default n-1)."""
    seed_end = n - 1 if seed_end is None else seed_end
    k = 2.0 / (n + 1)
    first = _first_valid(x)
    seed_row = first + seed_end
    seed = _seed_mean(x, first + seed_end - (n - 1), n)
    out = np.full_like(x, np.nan)
    if x.shape[0] == 0:
        return out
    prev = np.full(x.shape[1], np.nan)
    tmp = np.empty_like(prev)
    seeding = set(seed_row.tolist())
    for t in range(int(seed_row.min()), x.shape[0]):
        # In place, same operation order as TA-Lib: prev = ((x - prev) * k) + prev (unseeded columns stay NaN).
        np.subtract(x[t], prev, out=tmp)
        tmp *= k
        prev += tmp
        if t in seeding:
            np.copyto(prev, seed, where=seed_row == t)
        out[t] = prev
    return out


def sma(x: Panel, n: int) -> Panel:
    return rolling_mean(x, n)


def macd(close: Panel, fast: int = 12, slow: int = 26, signal: int = 9) -> tuple[Panel, Panel, Panel]:
    """(line, signal, histogram) as TA-Lib's MACD: NaN before row (slow-1)+(signal-1)."""
    slow_ema = ema(close, slow)
    fast_ema = ema(close, fast, seed_end=slow - 1)
    line = fast_ema - slow_ema
    sig = ema(line, signal)
    hist = line - sig
    line = np.where(np.isnan(sig), np.nan, line)
    return line, sig, hist


def rsi(close: Panel, n: int = 14) -> Panel:
    """TA-Lib RSI (Wilder), first value on row n."""
    rows, cols = close.shape
    out = np.full_like(close, np.nan)
    first = _first_valid(close)
    idx = np.arange(cols)
    start = first + n  # first output row per column
    if rows == 0 or int(start.min()) >= rows:
        return out
    gain = np.zeros(cols)
    loss = np.zeros(cols)
    for i in range(1, n + 1):
        r = np.minimum(first + i, rows - 1)
        d = close[r, idx] - close[r - 1, idx]
        loss -= np.where(d < 0, d, 0.0)
        gain += np.where(d < 0, 0.0, d)
    loss /= n
    gain /= n
    gain[start >= rows] = np.nan
    for t in range(int(start.min()), rows):
        d = close[t] - close[t - 1]
        later = t > start  # columns already past their seed row get Wilder's update
        loss = np.where(later, (loss * (n - 1) - np.where(d < 0, d, 0.0)) / n, loss)
        gain = np.where(later, (gain * (n - 1) + np.where(d < 0, 0.0, d)) / n, gain)
        total = gain + loss
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where((total > -TA_EPSILON) & (total < TA_EPSILON), 0.0, 100.0 * (gain / total))
        out[t] = np.where(t >= start, value, np.nan)
        out[t, np.isnan(total)] = np.nan
    return out


def true_range(high: Panel, low: Panel, close: Panel) -> Panel:
    """TA-Lib TRANGE: max(high-low, |prev close-high|, |prev close-low|); NaN on each column's first bar."""
    prev = np.full_like(close, np.nan)
    prev[1:] = close[:-1]
    return np.maximum(np.maximum(high - low, np.abs(prev - high)), np.abs(prev - low))


def atr(high: Panel, low: Panel, close: Panel, n: int = 14) -> Panel:
    """TA-Lib ATR: mean of the first n true ranges (rows 1..n), then Wilder smoothing; first value on row n."""
    tr = true_range(high, low, close)
    rows = tr.shape[0]
    out = np.full_like(tr, np.nan)
    first = _first_valid(tr)
    start = first + n - 1
    seed = _seed_mean(tr, first, n)
    if rows == 0 or int(start.min()) >= rows:
        return out
    prev = np.full(tr.shape[1], np.nan)
    seeding = set(start.tolist())
    for t in range(int(start.min()), rows):
        prev *= n - 1  # TA-Lib: prevATR *= n-1; prevATR += TR; prevATR /= n
        prev += tr[t]
        prev /= n
        if t in seeding:
            np.copyto(prev, seed, where=start == t)
        out[t] = prev
    return out


def bbands(close: Panel, n: int = 20, k: float = 2.0) -> tuple[Panel, Panel, Panel]:
    """(upper, middle, lower) Bollinger bands on an SMA middle with the population σ (TA-Lib BBANDS)."""
    middle = rolling_mean(close, n)
    dev = k * rolling_std(close, n, ddof=0)
    return middle + dev, middle, middle - dev


def obv(close: Panel, volume: Panel) -> Panel:
    """TA-Lib OBV: cumulative from the first bar's volume (so its level depends on where the data starts)."""
    step = np.sign(close[1:] - close[:-1]) * volume[1:]
    out = np.empty_like(close)
    out[0] = volume[0]
    out[1:] = step
    return np.cumsum(out, axis=0)


def obv_change(close: Panel, volume: Panel, n: int) -> Panel:
    """OBV(t) - OBV(t-n) divided by the volume traded over those n bars: in [-1, 1], start-independent."""
    prev = np.full_like(close, np.nan)
    prev[1:] = close[:-1]
    signed = np.sign(close - prev) * volume
    with np.errstate(divide="ignore", invalid="ignore"):
        return rolling_sum(signed, n) / rolling_sum(volume, n)
