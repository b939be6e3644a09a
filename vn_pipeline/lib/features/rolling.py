"""Rolling-window primitives on (rows × symbols) float64 panels, computed along axis 0 for all columns at once.

Every function reads only rows <= t to produce row t (point-in-time), and each column is computed on its own
(no cross-column state), so a panel gives exactly the numbers each symbol would give alone. A window that
contains a NaN produces NaN: windows are "full or nothing" (Qlib uses ``min_periods=1``; we prefer NaN to a
statistic over fewer rows than its name says, and the warm-up covers the difference).

Sums, means, max/min and quantiles come from pandas' rolling kernels. Second moments (std, correlation,
regression) and window ranks are computed here by looping over the n positions of the window, on row blocks
small enough to stay in the CPU cache: each window is shifted by its own first value before squaring, which
keeps them exact to a few ulps (pandas' online add/remove variance drifts: 1e-8 relative on real VND series,
measured against per-window numpy; TA-Lib's Σx²/n - mean² cancels digits on non-integer prices), and a
constant window gives exactly 0 variance.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

Panel = np.ndarray  # float64, shape (rows, symbols)

_BLOCK = 1 << 15  # elements per operand block (256 KB): the n passes over a block then hit the cache


def _frame(x: Panel) -> pd.DataFrame:
    return pd.DataFrame(x, copy=False)


def shift(x: Panel, n: int) -> Panel:
    """Value n rows earlier (Qlib ``Ref``); NaN for the first n rows."""
    out = np.full_like(x, np.nan)
    if n < x.shape[0]:
        out[n:] = x[: x.shape[0] - n]
    return out


def rolling_sum(x: Panel, n: int) -> Panel:
    return _frame(x).rolling(n).sum().to_numpy()


def rolling_mean(x: Panel, n: int) -> Panel:
    return _frame(x).rolling(n).mean().to_numpy()


def rolling_max(x: Panel, n: int) -> Panel:
    return _frame(x).rolling(n).max().to_numpy()


def rolling_min(x: Panel, n: int) -> Panel:
    return _frame(x).rolling(n).min().to_numpy()


def rolling_quantile(x: Panel, n: int, q: float) -> Panel:
    """Linear interpolation between order statistics, as pandas (and so Qlib's ``Quantile``)."""
    return _frame(x).rolling(n).quantile(q, interpolation="linear").to_numpy()


def _blocks(x: Panel, n: int) -> Iterator[tuple[int, int]]:
    """[a, b) ranges of window indices; window i covers rows i .. i+n-1 and lands on output row i+n-1."""
    windows = x.shape[0] - n + 1
    step = max(1, _BLOCK // max(1, x.shape[1]))
    for a in range(0, windows, step):
        yield a, min(windows, a + step)


def _place(x: Panel, n: int, values: np.ndarray) -> Panel:
    out = np.full_like(x, np.nan)
    out[n - 1 :] = values
    return out


def _shifted_moments(x: Panel, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per window: Σd and Σd² with d = x - (window's first value)."""
    windows = x.shape[0] - n + 1
    s1 = np.zeros((windows, x.shape[1]))
    s2 = np.zeros_like(s1)
    for a, b in _blocks(x, n):
        ref, t, m1, m2 = x[a:b], np.empty((b - a, x.shape[1])), s1[a:b], s2[a:b]
        for k in range(1, n):
            np.subtract(x[a + k : b + k], ref, out=t)
            m1 += t
            t *= t
            m2 += t
        m1 += ref - ref  # NaN-propagation of the first value (it contributes 0 otherwise)
    return s1, s2


def rolling_std(x: Panel, n: int, ddof: int = 1) -> Panel:
    """Sample std by default (Qlib/pandas); ddof=0 is the population std TA-Lib's BBANDS uses."""
    if x.shape[0] < n:
        return np.full_like(x, np.nan)
    s1, s2 = _shifted_moments(x, n)
    ss = np.maximum(s2 - s1 * s1 / n, 0.0)
    return _place(x, n, np.sqrt(ss / (n - ddof)))


def rolling_corr(x: Panel, y: Panel, n: int) -> tuple[Panel, Panel, Panel]:
    """(Pearson correlation, std of x, std of y) over each window (ddof=1 stds; correlation NaN if one is 0)."""
    if x.shape[0] < n:
        nan = np.full_like(x, np.nan)
        return nan, nan.copy(), nan.copy()
    windows = x.shape[0] - n + 1
    sx, sy, sxx, syy, sxy = (np.zeros((windows, x.shape[1])) for _ in range(5))
    for a, b in _blocks(x, n):
        rx, ry = x[a:b], y[a:b]
        bx, by, bxx, byy, bxy = sx[a:b], sy[a:b], sxx[a:b], syy[a:b], sxy[a:b]
        dx, dy, t = (np.empty((b - a, x.shape[1])) for _ in range(3))
        for k in range(1, n):
            np.subtract(x[a + k : b + k], rx, out=dx)
            np.subtract(y[a + k : b + k], ry, out=dy)
            bx += dx
            by += dy
            np.multiply(dx, dy, out=t)
            bxy += t
            np.multiply(dx, dx, out=t)
            bxx += t
            np.multiply(dy, dy, out=t)
            byy += t
        bx += rx - rx
        by += ry - ry
    cxx = np.maximum(sxx - sx * sx / n, 0.0)
    cyy = np.maximum(syy - sy * sy / n, 0.0)
    cxy = sxy - sx * sy / n
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.where((cxx > 0) & (cyy > 0), cxy / np.sqrt(cxx * cyy), np.nan)
    return _place(x, n, corr), _place(x, n, np.sqrt(cxx / (n - 1))), _place(x, n, np.sqrt(cyy / (n - 1)))


def rolling_linreg(y: Panel, n: int) -> tuple[Panel, Panel, Panel]:
    """Least-squares line of y on x = 1..n over each window: (slope, residual of the last point, R²).

    Same definitions as Qlib's ``Slope``, ``Resi`` and ``Rsquare`` (qlib/data/_libs/rolling.pyx), computed on
    window-shifted values instead of Qlib's running sums of x·y (which lose digits on long series).
    R² is NaN when y is constant over the window (0/0: no trend and no variance to explain).
    """
    if y.shape[0] < n:
        nan = np.full_like(y, np.nan)
        return nan, nan.copy(), nan.copy()
    windows = y.shape[0] - n + 1
    x_mean = (n + 1) / 2.0
    sxx = n * (n * n - 1) / 12.0
    s1, s2, sxy = (np.zeros((windows, y.shape[1])) for _ in range(3))
    for a, b in _blocks(y, n):
        ref, t = y[a:b], np.empty((b - a, y.shape[1]))
        sxy[a:b] += (1 - x_mean) * (ref - ref)
        for k in range(1, n):
            np.subtract(y[a + k : b + k], ref, out=t)
            s1[a:b] += t
            sxy[a:b] += (k + 1 - x_mean) * t
            t *= t
            s2[a:b] += t
        s1[a:b] += ref - ref
    slope = sxy / sxx
    fitted_last = y[:windows] + s1 / n + slope * (n - x_mean)  # mean + slope·(x_n - x̄)
    resi = y[n - 1 :] - fitted_last
    syy = s2 - s1 * s1 / n
    with np.errstate(divide="ignore", invalid="ignore"):
        rsq = np.where(syy > 0, sxy * sxy / (sxx * syy), np.nan)
    return _place(y, n, slope), _place(y, n, resi), _place(y, n, rsq)


def rolling_rank_pct(x: Panel, n: int) -> Panel:
    """Percentile of the last value within its window: average rank / n (Qlib ``Rank``, pandas rank pct)."""
    if x.shape[0] < n:
        return np.full_like(x, np.nan)
    windows = x.shape[0] - n + 1
    below = np.zeros((windows, x.shape[1]))
    equal = np.zeros_like(below)
    poison = np.zeros_like(below)  # stays 0 unless the window holds a NaN
    for a, b in _blocks(x, n):
        last = x[a + n - 1 : b + n - 1]
        lo, eq, bad = below[a:b], equal[a:b], poison[a:b]
        for k in range(n):
            w = x[a + k : b + k]
            lo += w < last
            eq += w == last
            bad += w
        bad -= bad
    rank = (below + (equal + 1.0) / 2.0) / n + poison
    return _place(x, n, rank)


def rolling_argmax(x: Panel, n: int) -> Panel:
    """1-based position of the (first) maximum inside the window, oldest row = 1 (Qlib ``IdxMax``)."""
    return _arg(x, n, np.argmax)


def rolling_argmin(x: Panel, n: int) -> Panel:
    """1-based position of the (first) minimum inside the window, oldest row = 1 (Qlib ``IdxMin``)."""
    return _arg(x, n, np.argmin)


def _arg(x: Panel, n: int, fn: object) -> Panel:
    out = np.full_like(x, np.nan)
    if x.shape[0] < n:
        return out
    win = np.lib.stride_tricks.sliding_window_view(x, n, axis=0)  # (windows, symbols, n) view, no copy
    step = max(1, 4_000_000 // max(1, x.shape[1] * n))  # numpy buffers strided windows: keep that buffer small
    for a in range(0, win.shape[0], step):
        part = win[a : a + step]
        out[a + n - 1 : a + n - 1 + part.shape[0]] = fn(part, axis=2) + 1.0  # type: ignore[operator]
    return out + (rolling_sum(x, n) * 0.0)  # NaN where the window holds a NaN
