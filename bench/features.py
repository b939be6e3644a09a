"""Benchmark: lib/features on a synthetic full market (1,600 symbols × ~10 years of daily bars).

Bars come from lib/features/synthetic.py (numpy random walks on the HOSE tick grid, not timed). Figures:
- compute_features on the whole window (every feature, all symbols at once): seconds and output rows/s;
- the classic indicators (SMA/EMA 5,10,20,60, MACD, RSI, BBANDS, ATR, OBV) with TA-Lib symbol by symbol in a
  Python loop, against lib/features/indicators.py on the whole (bars × symbols) panel; both must agree
  (max relative difference, floored at 1 VND, printed), otherwise the comparison is meaningless and the script fails.

Prints a few human lines; the LAST line is one JSON object with the figures.
Run: .venv/bin/python bench/features.py [n_symbols] [n_days]
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable

import numpy as np
import talib

from vn_pipeline.lib.features import WARMUP_DAYS, compute_features
from vn_pipeline.lib.features import indicators as ind
from vn_pipeline.lib.features.panel import build_panel
from vn_pipeline.lib.features.synthetic import random_market


def _timed(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def talib_loop(c: np.ndarray, h: np.ndarray, lo: np.ndarray, v: np.ndarray) -> dict[str, np.ndarray]:
    """The obvious way: one TA-Lib call per indicator per symbol."""
    out = {name: np.empty_like(c) for name in ("sma_20", "ema_60", "macd_signal", "rsi_14", "bb_upper", "atr", "obv")}
    for j in range(c.shape[1]):
        cj, hj, lj, vj = c[:, j], h[:, j], lo[:, j], v[:, j]
        sma = {n: talib.SMA(cj, n) for n in (5, 10, 20, 60)}
        ema = {n: talib.EMA(cj, n) for n in (5, 10, 20, 60)}
        out["sma_20"][:, j] = sma[20]
        out["ema_60"][:, j] = ema[60]
        out["macd_signal"][:, j] = talib.MACD(cj, 12, 26, 9)[1]
        out["rsi_14"][:, j] = talib.RSI(cj, 14)
        out["bb_upper"][:, j] = talib.BBANDS(cj, 20, 2.0, 2.0)[0]
        out["atr"][:, j] = talib.ATR(hj, lj, cj, 14)
        out["obv"][:, j] = talib.OBV(cj, vj)
    return out


def vectorized(c: np.ndarray, h: np.ndarray, lo: np.ndarray, v: np.ndarray) -> dict[str, np.ndarray]:
    sma = {n: ind.sma(c, n) for n in (5, 10, 20, 60)}
    ema = {n: ind.ema(c, n) for n in (5, 10, 20, 60)}
    return {
        "sma_20": sma[20],
        "ema_60": ema[60],
        "macd_signal": ind.macd(c)[1],
        "rsi_14": ind.rsi(c, 14),
        "bb_upper": ind.bbands(c, 20, 2.0)[0],
        "atr": ind.atr(h, lo, c, 14),
        "obv": ind.obv(c, v),
    }


def compare_indicators(bars: object) -> tuple[float, float, float]:
    """(TA-Lib loop seconds, vectorized seconds, max relative difference) on the same (bars × symbols) panel."""
    bp = build_panel(bars)  # type: ignore[arg-type]
    c, h, lo, v = (bp.to_panel(bp.long[k]) for k in ("close", "high", "low", "volume"))
    talib_s, ref = _timed(lambda: talib_loop(c, h, lo, v))
    vec_s, ours = _timed(lambda: vectorized(c, h, lo, v))
    worst = 0.0
    for name, r in ref.items():  # type: ignore[union-attr]
        a = ours[name]  # type: ignore[index]
        if not np.array_equal(np.isnan(a), np.isnan(r)):
            raise SystemExit(f"{name}: NaN layout differs from TA-Lib")
        ok = ~np.isnan(r)
        # Relative, floored at 1 VND: MACD values cross zero, where a plain relative error means nothing.
        worst = max(worst, float(np.max(np.abs(a[ok] - r[ok]) / np.maximum(np.abs(r[ok]), 1.0))))
    if worst > 1e-9:
        raise SystemExit(f"vectorized indicators differ from TA-Lib: {worst:.2e}")
    return talib_s, vec_s, worst


def main() -> None:
    n_symbols = int(sys.argv[1]) if len(sys.argv) > 1 else 1_600
    n_days = int(sys.argv[2]) if len(sys.argv) > 2 else 2_500
    gen_s, (bars, flows, index) = _timed(lambda: random_market(n_symbols, n_days, seed=7))
    print(f"synthetic market: {len(bars):,} bars ({n_symbols} symbols × {n_days} days) in {gen_s:.1f} s")

    talib_s, vec_s, worst = compare_indicators(bars)
    print(f"classic indicators: TA-Lib loop {talib_s:.2f} s, vectorized panel {vec_s:.2f} s "
          f"(ratio {talib_s / vec_s:.2f}; max rel diff {worst:.1e})")  # fmt: skip

    start = sorted(bars["trading_date"].unique())[WARMUP_DAYS]
    feat_s, table = _timed(lambda: compute_features(bars, flows, index, start=None))
    rows, cols = table.shape  # type: ignore[union-attr]
    print(f"compute_features: {rows:,} rows × {cols - 2} features in {feat_s:.1f} s ({rows / feat_s:,.0f} rows/s)")
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"peak RSS {rss_gb:.1f} GB; rows from {start} on are past the {WARMUP_DAYS}-bar warm-up")
    print(
        json.dumps(
            {
                "bench": "features",
                "symbols": n_symbols,
                "days": n_days,
                "bars": len(bars),
                "features": cols - 2,
                "compute_features_s": round(feat_s, 2),
                "compute_features_rows_per_s": round(rows / feat_s),
                "classic_talib_loop_s": round(talib_s, 3),
                "classic_vectorized_s": round(vec_s, 3),
                "talib_loop_over_vectorized": round(talib_s / vec_s, 2),
                "classic_max_rel_diff": worst,
                "peak_rss_gb": round(rss_gb, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
