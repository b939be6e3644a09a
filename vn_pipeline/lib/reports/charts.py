"""Small PNG charts for backtest and risk reports (equity, drawdown, exposure, rolling Sharpe, bars).

Every chart is drawn on its own ``matplotlib.figure.Figure`` attached to an Agg canvas: pyplot is never imported,
so no GUI backend is selected, no global figure registry grows, and ``matplotlib.use`` / ``rcParams`` are never
touched -- callers in other threads (Dagster runs several ops per process) are unaffected, and charts can be built
concurrently. Styling is applied per artist instead of through rcParams for the same reason.

Figures are 8 x 3 in at 90 dpi (720 x 270 px) so a PNG stays well under ~80 KB: they are written as PNG files under
the state directory (``write_png``; Dagster metadata links them by path) and embedded in the HTML tearsheets.
"""

from __future__ import annotations

import base64
import io
import math
from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from vn_pipeline.lib.reports.files import write_atomically
from vn_pipeline.lib.risk.metrics import TRADING_DAYS
from vn_pipeline.lib.risk.metrics import drawdown as risk_drawdown

WIDTH_IN = 8.0
HEIGHT_IN = 3.0
DPI = 90
# Bar charts grow with the number of bars, up to a cap; beyond MAX_BARS only the largest |values| are drawn.
MAX_BARS = 30
_BAR_ROW_IN = 0.22

STRATEGY_COLOR = "#1f4e79"
BENCHMARK_COLOR = "#9e9e9e"
NEGATIVE_COLOR = "#b22222"
POSITIVE_COLOR = "#2e7d32"
_GRID = {"color": "#e0e0e0", "linewidth": 0.6}


# --------------------------------------------------------------------------------------------------------------------
# Input normalisation
# --------------------------------------------------------------------------------------------------------------------


def as_series(values: pd.Series | None) -> pd.Series:
    """Float series on a sorted, duplicate-free, tz-naive DatetimeIndex (numeric indexes are kept as they are).

    Backtests index by ``datetime.date`` objects, the warehouse by Timestamps, vendors sometimes tz-aware: all of them
    must land on one comparable axis before benchmark/cash alignment, or ``reindex`` silently matches nothing.
    """
    if values is None:
        return pd.Series(dtype=float)
    s = pd.Series(values).copy()
    s = pd.to_numeric(s, errors="coerce").astype(float)
    idx = s.index
    if not pd.api.types.is_numeric_dtype(idx.dtype) or isinstance(idx, pd.DatetimeIndex):
        try:
            idx = pd.DatetimeIndex(pd.to_datetime(idx))
        except (TypeError, ValueError):
            idx = s.index  # labels that are not dates: plot them in order as given
    if isinstance(idx, pd.DatetimeIndex) and idx.tz is not None:
        idx = idx.tz_localize(None)  # keep the exchange wall-clock date
    s.index = idx
    s = s[~s.index.duplicated(keep="last")]
    return s.sort_index()


def rebase_benchmark(equity: pd.Series, benchmark: pd.Series | None) -> pd.Series:
    """Benchmark levels on equity's dates (forward-filled over missing dates) scaled to start at equity's value.

    The scale is taken on the first date where both are known, so a benchmark that starts late (or an index holiday
    on the first backtest day) still lines up with the strategy instead of being dropped.
    """
    eq = as_series(equity)
    if benchmark is None or eq.empty:
        return pd.Series(np.nan, index=eq.index, dtype=float)
    bm = as_series(benchmark)
    bm = bm.where(bm > 0)  # an index level <= 0 is a data error and would flip the rebased curve
    union = eq.index.union(bm.index)
    bm = bm.reindex(union).ffill().reindex(eq.index)
    both = eq.notna() & bm.notna()
    if not both.any():
        return pd.Series(np.nan, index=eq.index, dtype=float)
    t0 = both.idxmax()
    return bm * (eq[t0] / bm[t0])


def drawdown(equity: pd.Series) -> pd.Series:
    """Fractional drawdown from the running peak (0 at a new high, -0.2 = 20% below it); NaNs are skipped."""
    eq = as_series(equity).dropna()
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = risk_drawdown(eq)
    return dd.where(eq.cummax() > 0)  # no meaningful drawdown before the curve has ever been positive


def invested_fraction(equity: pd.Series, cash: pd.Series) -> pd.Series:
    """1 - cash/equity on equity's dates; NaN where equity is <= 0 or either value is missing."""
    eq = as_series(equity)
    c = as_series(cash).reindex(eq.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 1.0 - c / eq.where(eq > 0)
    return out.replace([np.inf, -np.inf], np.nan)


def rolling_sharpe(returns: pd.Series, window: int = 63) -> pd.Series:
    """Rolling annualised Sharpe (mean / std * sqrt(252), zero risk-free rate); NaN when the std is 0 or the window
    is not full."""
    if window < 2:
        raise ValueError("window must be >= 2")
    r = as_series(returns).replace([np.inf, -np.inf], np.nan)  # a return off a zero equity is no information
    roll = r.rolling(window, min_periods=window)
    mean, std = roll.mean(), roll.std(ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = mean / std.where(std > 1e-12) * math.sqrt(TRADING_DAYS)
    return out


# --------------------------------------------------------------------------------------------------------------------
# Figure plumbing
# --------------------------------------------------------------------------------------------------------------------


def _figure(height: float = HEIGHT_IN) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)  # explicit Agg canvas: PNG output without going through pyplot's backend switch
    ax = fig.add_subplot()
    ax.grid(True, **_GRID)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8)
    return fig, ax


def _title(ax: Axes, text: str) -> None:
    ax.set_title(text, fontsize=10, loc="left")


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    # No bbox_inches="tight": the pixel size stays exactly WIDTH x HEIGHT x DPI; "constrained" layout fits the labels.
    # metadata Software=None keeps the bytes independent of the matplotlib version string.
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _x(index: pd.Index) -> np.ndarray:
    if isinstance(index, pd.DatetimeIndex):
        return index.to_numpy(dtype="datetime64[ns]")
    return np.asarray(index)


def _date_axis(ax: Axes, index: pd.Index) -> None:
    if isinstance(index, pd.DatetimeIndex):
        locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _no_data(ax: Axes) -> None:
    ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, fontsize=10, color="#757575")
    ax.set_xticks([])
    ax.set_yticks([])


def _vnd(value: float, _pos: object = None) -> str:
    """Axis label for VND amounts: 1.25B, 950M, 12k (B = tỷ đồng)."""
    a = abs(value)
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


# --------------------------------------------------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------------------------------------------------


def equity_chart(
    equity: pd.Series,
    benchmark: pd.Series | None = None,
    title: str = "Equity (VND)",
    *,
    benchmark_label: str = "Benchmark (rebased)",
) -> bytes:
    """PNG: the equity curve and, when given, the benchmark rebased to the same starting value (see
    ``rebase_benchmark``; missing benchmark dates are forward-filled)."""
    eq = as_series(equity)
    fig, ax = _figure()
    _title(ax, title)
    if eq.dropna().empty:
        _no_data(ax)
        return _png(fig)
    x = _x(eq.index)
    if benchmark is not None:
        bm = rebase_benchmark(eq, benchmark)
        if bm.notna().any():
            ax.plot(x, bm.to_numpy(), color=BENCHMARK_COLOR, linewidth=1.1, label=benchmark_label)
    ax.plot(x, eq.to_numpy(), color=STRATEGY_COLOR, linewidth=1.4, label="Strategy")
    ax.yaxis.set_major_formatter(FuncFormatter(_vnd))
    _date_axis(ax, eq.index)
    if benchmark is not None:
        ax.legend(loc="best", fontsize=8, frameon=False)
    return _png(fig)


def drawdown_chart(equity: pd.Series, title: str = "Drawdown") -> bytes:
    """PNG: drawdown from the running peak, shaded; the title carries the maximum drawdown."""
    dd = drawdown(equity)
    fig, ax = _figure()
    if dd.dropna().empty:
        _title(ax, title)
        _no_data(ax)
        return _png(fig)
    worst = float(dd.min())
    _title(ax, f"{title} (max {worst:.1%})")
    x = _x(dd.index)
    y = dd.to_numpy()
    ax.fill_between(x, y, 0.0, where=np.isfinite(y), color=NEGATIVE_COLOR, alpha=0.25, linewidth=0)
    ax.plot(x, y, color=NEGATIVE_COLOR, linewidth=1.0)
    ax.set_ylim(top=0.0, bottom=min(worst * 1.1, -0.01))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    _date_axis(ax, dd.index)
    return _png(fig)


def exposure_chart(equity: pd.Series, cash: pd.Series, title: str = "Invested fraction (1 − cash / equity)") -> bytes:
    """PNG: invested fraction of equity over time; dates with zero/negative/missing equity or cash are gaps."""
    inv = invested_fraction(equity, cash)
    fig, ax = _figure()
    _title(ax, title)
    if inv.dropna().empty:
        _no_data(ax)
        return _png(fig)
    x = _x(inv.index)
    y = inv.to_numpy()
    ax.fill_between(x, y, 0.0, where=np.isfinite(y), color=STRATEGY_COLOR, alpha=0.2, linewidth=0)
    ax.plot(x, y, color=STRATEGY_COLOR, linewidth=1.0)
    lo, hi = float(np.nanmin(y)), float(np.nanmax(y))
    ax.set_ylim(min(0.0, lo * 1.05), max(1.05, hi * 1.05))  # always show the 0..100% frame; margin can exceed it
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    _date_axis(ax, inv.index)
    return _png(fig)


def rolling_sharpe_chart(returns: pd.Series, window: int = 63, title: str | None = None) -> bytes:
    """PNG: rolling ``window``-day Sharpe annualised with 252 days, with the full-period Sharpe as a dashed line."""
    rs = rolling_sharpe(returns, window)
    fig, ax = _figure()
    text = title or f"Rolling {window}-day Sharpe (annualised)"
    if rs.dropna().empty:
        _title(ax, text)
        _no_data(ax)
        return _png(fig)
    r = as_series(returns).replace([np.inf, -np.inf], np.nan).dropna()
    x = _x(rs.index)
    ax.plot(x, rs.to_numpy(), color=STRATEGY_COLOR, linewidth=1.2)
    ax.axhline(0.0, color="#616161", linewidth=0.8)
    sd = float(r.std(ddof=1)) if len(r) > 1 else float("nan")
    if np.isfinite(sd) and sd > 1e-12:
        full = float(r.mean()) / sd * math.sqrt(TRADING_DAYS)
        ax.axhline(full, color=BENCHMARK_COLOR, linewidth=1.0, linestyle="--")
        text += f" — dashed: full period {full:.2f}"  # in the title, not a legend that would cover the line
    _title(ax, text)
    _date_axis(ax, rs.index)
    return _png(fig)


def bar_chart(values: pd.Series, title: str, *, percent: bool = True, max_bars: int = MAX_BARS) -> bytes:
    """PNG: horizontal bars, one per label, in the given order top to bottom (e.g. position weights, VaR by symbol).

    ``percent`` formats values as fractions (0.12 -> 12%). With more than ``max_bars`` labels only the largest by
    absolute value are drawn (the title says so), keeping the image small enough to embed.
    """
    s = pd.to_numeric(pd.Series(values), errors="coerce").astype(float).dropna()
    s.index = [str(i) for i in s.index]
    n_total = len(s)
    if n_total > max_bars:
        keep = s.abs().nlargest(max_bars).index
        s = s[s.index.isin(keep)]
        title = f"{title} (largest {max_bars} of {n_total})"
    height = max(HEIGHT_IN, min(0.8 + _BAR_ROW_IN * len(s), 0.8 + _BAR_ROW_IN * max_bars))
    fig, ax = _figure(height)
    _title(ax, title)
    if s.empty:
        _no_data(ax)
        return _png(fig)
    ax.grid(False)
    ax.grid(True, axis="x", **_GRID)
    pos = np.arange(len(s))
    v = s.to_numpy()
    ax.barh(pos, v, color=np.where(v < 0, NEGATIVE_COLOR, STRATEGY_COLOR), height=0.7)
    ax.set_yticks(pos, labels=list(s.index))
    ax.invert_yaxis()  # first label on top, like a table
    ax.axvline(0.0, color="#616161", linewidth=0.8)
    fmt = (lambda t: f"{t:.1%}") if percent else (lambda t: f"{t:,.2f}")
    for p, val in zip(pos, v, strict=True):
        ax.annotate(
            fmt(val),
            (val, p),
            xytext=(3 if val >= 0 else -3, 0),
            textcoords="offset points",
            ha="left" if val >= 0 else "right",
            va="center",
            fontsize=7,
        )
    ax.margins(x=0.12)  # room for the value labels
    if percent:
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    return _png(fig)


def write_png(png: bytes, directory: Path | str, filename: str) -> Path:
    """Write a chart to ``directory/filename`` atomically; returns its path."""
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError(f"{filename}: not a PNG image")
    return write_atomically(png, directory, filename)


def png_markdown(png: bytes, alt: str) -> str:
    """``![alt](data:image/png;base64,...)`` for ``MetadataValue.md``; brackets/backslashes in ``alt`` escaped."""
    safe = " ".join(str(alt).split())
    for ch in ("\\", "[", "]"):
        safe = safe.replace(ch, "\\" + ch)
    return f"![{safe}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def png_data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` for an ``<img src>``."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
