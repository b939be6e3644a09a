"""The classic indicators agree with TA-Lib on real Vietnamese daily bars (vnstock VCI export, all tickers).

Tolerance: 1e-9 relative, after TA-Lib's own warm-up (its NaN prefix must match ours exactly). The measured
maximum is ~1e-13 (MACD signal) and 0 for SMA and OBV: the recursions copy TA-Lib's seeding and operation order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

talib = pytest.importorskip("talib")

from vn_pipeline.lib.features import compute_features  # noqa: E402
from vn_pipeline.lib.features import indicators as ind  # noqa: E402
from vn_pipeline_tests.real_data import VN_REAL  # noqa: E402

STOCKS = VN_REAL / "vnstock_vci" / "stocks"
RTOL = 1e-9


@pytest.fixture(scope="module")
def real_bars() -> pd.DataFrame:
    """Daily bars of every ticker with enough history, prices converted once from kVND to integer VND."""
    if not STOCKS.is_dir():
        pytest.skip(f"real data not found at {STOCKS}")
    frames = []
    for path in sorted(STOCKS.glob("*.csv")):
        raw = pd.read_csv(path, encoding="utf-8-sig", usecols=["time", "open", "high", "low", "close", "volume"])
        if len(raw) < 80:
            continue
        bars = pd.DataFrame({"trading_date": pd.to_datetime(raw["time"]).dt.date, "symbol": path.stem})
        for col in ("open", "high", "low", "close"):
            bars[col] = np.round(raw[col].to_numpy(np.float64) * 1000).astype(np.int64)
        bars["volume"] = raw["volume"].to_numpy(np.int64)
        bars["value"] = bars["volume"] * bars["close"]  # not in the export; only Alpha158's vwap0 uses it
        frames.append(bars)
    out = pd.concat(frames, ignore_index=True)
    assert out["symbol"].nunique() >= 12
    return out


def _reference(bars: pd.DataFrame) -> dict[str, np.ndarray]:
    """TA-Lib, one symbol at a time."""
    c, h, lo = (bars[k].to_numpy(np.float64) for k in ("close", "high", "low"))
    v = bars["volume"].to_numpy(np.float64)
    ref = {f"sma_{n}": talib.SMA(c, n) for n in (5, 10, 20, 60)}
    ref |= {f"ema_{n}": talib.EMA(c, n) for n in (5, 10, 20, 60)}
    ref["macd"], ref["macd_signal"], ref["macd_hist"] = talib.MACD(c, 12, 26, 9)
    ref["rsi_14"] = talib.RSI(c, 14)
    ref["bb_upper_20"], ref["bb_middle_20"], ref["bb_lower_20"] = talib.BBANDS(c, 20, 2.0, 2.0)
    ref["atr_14"] = talib.ATR(h, lo, c, 14)
    ref["obv"] = talib.OBV(c, v)
    return ref


def _ours(bars: pd.DataFrame) -> dict[str, np.ndarray]:
    """The vectorized implementations on a one-column panel (the panel case is covered by compute_features)."""
    c, h, lo = (bars[[k]].to_numpy(np.float64) for k in ("close", "high", "low"))
    v = bars[["volume"]].to_numpy(np.float64)
    out = {f"sma_{n}": ind.sma(c, n) for n in (5, 10, 20, 60)}
    out |= {f"ema_{n}": ind.ema(c, n) for n in (5, 10, 20, 60)}
    out["macd"], out["macd_signal"], out["macd_hist"] = ind.macd(c)
    out["rsi_14"] = ind.rsi(c, 14)
    out["bb_upper_20"], out["bb_middle_20"], out["bb_lower_20"] = ind.bbands(c, 20, 2.0)
    out["atr_14"] = ind.atr(h, lo, c, 14)
    out["obv"] = ind.obv(c, v)
    return {k: x[:, 0] for k, x in out.items()}


def _max_rel(ours: np.ndarray, ref: np.ndarray, what: str) -> float:
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref), err_msg=f"{what}: warm-up (NaN prefix) differs")
    ok = ~np.isnan(ref)
    diff = np.abs(ours[ok] - ref[ok])
    # Relative to the reference; an exact 0 in TA-Lib must be an exact 0 here.
    assert np.all(diff <= RTOL * np.abs(ref[ok])), f"{what}: max abs diff {diff.max()}"
    nonzero = ref[ok] != 0
    return float((diff[nonzero] / np.abs(ref[ok][nonzero])).max(initial=0.0))


def test_indicators_match_talib_symbol_by_symbol(real_bars: pd.DataFrame) -> None:
    """One-column panels, every 6th ticker (~90; the panel test below covers all of them, faster)."""
    worst: dict[str, float] = {}
    symbols = sorted(real_bars["symbol"].unique())[::6]
    sample = real_bars[real_bars["symbol"].isin(symbols)].sort_values("trading_date", kind="stable")
    for symbol, bars in sample.groupby("symbol", sort=True):
        ours, ref = _ours(bars), _reference(bars)
        for name in ref:
            worst[name] = max(worst.get(name, 0.0), _max_rel(ours[name], ref[name], f"{symbol} {name}"))
    print("max relative error vs TA-Lib:", {k: f"{v:.1e}" for k, v in worst.items()})
    assert set(worst) >= {"sma_20", "ema_20", "macd", "rsi_14", "bb_upper_20", "atr_14", "obv"}


def test_feature_table_levels_match_talib(real_bars: pd.DataFrame) -> None:
    """The same numbers come out of compute_features for the whole panel at once (symbols start on different days)."""
    table = compute_features(real_bars, None, None)
    by_symbol = dict(iter(real_bars.sort_values("trading_date", kind="stable").groupby("symbol", sort=False)))
    names = ["sma_5", "sma_60", "ema_5", "ema_60", "macd", "macd_signal", "macd_hist", "rsi_14"]
    names += ["bb_upper_20", "bb_lower_20", "atr_14"]
    for symbol, rows in table.groupby("symbol", sort=False):
        bars = by_symbol[symbol]
        ref = _reference(bars)
        for name in names:
            _max_rel(rows[name].to_numpy(), ref[name], f"{symbol} {name}")
        # Derived ratios follow from the TA-Lib levels.
        upper, lower, c = ref["bb_upper_20"], ref["bb_lower_20"], bars["close"].to_numpy(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            pctb = np.where(upper > lower, (c - lower) / (upper - lower), np.nan)
        np.testing.assert_allclose(rows["bb_pctb_20"].to_numpy(), pctb, rtol=1e-6, atol=1e-6)


def test_flat_stretch_follows_talib_zero_rule() -> None:
    """A stock stuck at the floor for months: Wilder averages decay towards 0 without reaching TA-Lib's 1e-14
    zero threshold, so RSI keeps the last gain/loss balance (TA-Lib's behaviour, kept on purpose); a series that
    never moved has RSI exactly 0."""
    rng = np.random.default_rng(3)
    moving = np.round(10_000 * np.exp(np.cumsum(rng.normal(0, 0.02, 60))) / 10) * 10
    close = np.concatenate([moving, np.full(400, moving[-1])])
    ours = ind.rsi(close[:, None], 14)[:, 0]
    np.testing.assert_allclose(ours[14:], talib.RSI(close, 14)[14:], rtol=1e-9)
    assert 0 < ours[-1] < 100
    assert (ind.rsi(np.full((40, 1), 5_000.0), 14)[14:] == 0).all()
    np.testing.assert_array_equal(talib.RSI(np.full(40, 5_000.0), 14)[14:], 0.0)
