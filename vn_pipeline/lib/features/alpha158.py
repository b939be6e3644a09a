"""Qlib Alpha158 price/volume features (microsoft/qlib ``qlib/contrib/data/loader.py``, ``Alpha158DL``).

Same formulas as Qlib, names in lower_snake (``KMID`` → ``kmid``, ``QTLU20`` → ``qtlu_20``), including Qlib's
``+1e-12`` guards, so a zero-range bar gives kmid2 = 0 rather than NaN. Operator semantics follow
``qlib/data/ops.py`` and ``qlib/data/_libs/rolling.pyx``: Std is the sample std (ddof=1); Slope/Resi/Rsquare
regress on x = 1..d; Quantile interpolates linearly; Rank = average rank of today within the window / d;
IdxMax/IdxMin = 1-based position in the window (oldest = 1; first occurrence on ties); Corr is NaN when
either side's rolling std is within 2e-5 of zero (as Qlib). Ref(x, d) means d bars earlier.

Deliberate differences from Qlib:
- windows must be full (Qlib uses min_periods=1 and fills the first d-1 bars with partial statistics); the
  warm-up covers them. Comparisons with a missing previous bar are NaN, not False.
- vwap0 uses the bar's vwap, or value / volume when the vendor left vwap empty; on a day without a matched trade
  (vendor rows with volume 0) it is 1: the day's only price is its close.
- Std, Corr, Slope/Resi/Rsquare and Rank use the exact window kernels of rolling.py rather than pandas' or
  Qlib's running sums: same definitions, different rounding (≤ ~1e-10 relative on Corr, measured in tests).

Legitimately undefined values (NaN outside the warm-up), all on flat or degenerate windows:
rsqr_d when the close is constant over the window; corr_d / cord_d when close, volume, the close ratio or
the volume ratio is constant over the window; cord_d when a previous volume is 0 (log of an infinite ratio).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from vn_pipeline.lib.features import rolling as r
from vn_pipeline.lib.features.rolling import Panel

WINDOWS = (5, 10, 20, 30, 60)
EPS = 1e-12  # Qlib's guard in denominators
CORR_FLAT_STD = 2e-5  # Qlib's Corr: NaN where np.isclose(rolling std, 0, atol=2e-5)

KBAR = ("kmid", "klen", "kmid2", "kup", "kup2", "klow", "klow2", "ksft", "ksft2")
PRICE = ("open0", "high0", "low0", "vwap0")
ROLLING = ("roc", "ma", "std", "beta", "rsqr", "resi", "max", "min", "qtlu", "qtld", "rank", "rsv", "imax", "imin",
           "imxd", "corr", "cord", "cntp", "cntn", "cntd", "sump", "sumn", "sumd", "vma", "vstd", "wvma", "vsump",
           "vsumn", "vsumd")  # fmt: skip
NAMES: tuple[str, ...] = (*KBAR, *PRICE, *(f"{op}_{d}" for op in ROLLING for d in WINDOWS))


def compute(p: dict[str, Panel]) -> Iterator[tuple[str, Panel]]:
    """Yield (name, panel) window by window, so a caller can store each result and free it (memory)."""
    o, h, lo, c, v = p["open"], p["high"], p["low"], p["close"], p["volume"]
    top, bottom = np.maximum(o, c), np.minimum(o, c)
    rng = h - lo + EPS
    out = {
        "kmid": (c - o) / o,
        "klen": (h - lo) / o,
        "kmid2": (c - o) / rng,
        "kup": (h - top) / o,
        "kup2": (h - top) / rng,
        "klow": (bottom - lo) / o,
        "klow2": (bottom - lo) / rng,
        "ksft": (2 * c - h - lo) / o,
        "ksft2": (2 * c - h - lo) / rng,
    }
    yield from out.items()
    with np.errstate(divide="ignore", invalid="ignore"):
        vwap = np.where(np.isnan(p["vwap"]), np.where(v == 0, c, p["value"] / v), p["vwap"])
    yield from {"open0": o / c, "high0": h / c, "low0": lo / c, "vwap0": vwap / c}.items()

    prev_c, prev_v = r.shift(c, 1), r.shift(v, 1)
    known = ~np.isnan(prev_c)
    up = np.where(known, (c > prev_c).astype(np.float64), np.nan)
    down = np.where(known, (c < prev_c).astype(np.float64), np.nan)
    dc = c - prev_c
    gain, loss, move = np.maximum(dc, 0), np.maximum(-dc, 0), np.abs(dc)  # NaN-propagating
    dv = v - prev_v
    vgain, vloss, vmove = np.maximum(dv, 0), np.maximum(-dv, 0), np.abs(dv)
    log_v = np.log(v + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        c_ratio = c / prev_c
        v_ratio_log = np.log(v / prev_v + 1)
    v_ratio_log = np.where(np.isfinite(v_ratio_log), v_ratio_log, np.nan)
    wv = np.abs(c_ratio - 1) * v

    for d in WINDOWS:
        mx, mn = r.rolling_max(h, d), r.rolling_min(lo, d)
        slope, resi, rsq = r.rolling_linreg(c, d)
        imax, imin = r.rolling_argmax(h, d), r.rolling_argmin(lo, d)
        sum_move, sum_vmove = r.rolling_sum(move, d) + EPS, r.rolling_sum(vmove, d) + EPS
        sum_gain, sum_loss = r.rolling_sum(gain, d), r.rolling_sum(loss, d)
        sum_vgain, sum_vloss = r.rolling_sum(vgain, d), r.rolling_sum(vloss, d)
        cntp, cntn = r.rolling_mean(up, d), r.rolling_mean(down, d)
        yield from {
            f"roc_{d}": r.shift(c, d) / c,
            f"ma_{d}": r.rolling_mean(c, d) / c,
            f"std_{d}": r.rolling_std(c, d) / c,
            f"beta_{d}": slope / c,
            f"rsqr_{d}": rsq,
            f"resi_{d}": resi / c,
            f"max_{d}": mx / c,
            f"min_{d}": mn / c,
            f"qtlu_{d}": r.rolling_quantile(c, d, 0.8) / c,
            f"qtld_{d}": r.rolling_quantile(c, d, 0.2) / c,
            f"rank_{d}": r.rolling_rank_pct(c, d),
            f"rsv_{d}": (c - mn) / (mx - mn + EPS),
            f"imax_{d}": imax / d,
            f"imin_{d}": imin / d,
            f"imxd_{d}": (imax - imin) / d,
            f"corr_{d}": _corr(c, log_v, d),
            f"cord_{d}": _corr(c_ratio, v_ratio_log, d),
            f"cntp_{d}": cntp,
            f"cntn_{d}": cntn,
            f"cntd_{d}": cntp - cntn,
            f"sump_{d}": sum_gain / sum_move,
            f"sumn_{d}": sum_loss / sum_move,
            f"sumd_{d}": (sum_gain - sum_loss) / sum_move,
            f"vma_{d}": r.rolling_mean(v, d) / (v + EPS),
            f"vstd_{d}": r.rolling_std(v, d) / (v + EPS),
            f"wvma_{d}": r.rolling_std(wv, d) / (r.rolling_mean(wv, d) + EPS),
            f"vsump_{d}": sum_vgain / sum_vmove,
            f"vsumn_{d}": sum_vloss / sum_vmove,
            f"vsumd_{d}": (sum_vgain - sum_vloss) / sum_vmove,
        }.items()


def _corr(x: Panel, y: Panel, d: int) -> Panel:
    """Rolling Pearson correlation, NaN where either side is (near-)constant over the window, as Qlib."""
    corr, std_x, std_y = r.rolling_corr(x, y, d)
    return np.where((std_x <= CORR_FLAT_STD) | (std_y <= CORR_FLAT_STD), np.nan, corr)
