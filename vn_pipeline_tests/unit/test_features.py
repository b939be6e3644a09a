"""Feature table contract: names, dtypes, warm-up/NaN policy, panel == per-symbol, Alpha158 spot checks."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from vn_pipeline.lib.features import (
    FEATURE_NAMES,
    LOOKBACK_DAYS,
    UNDEFINED_ON_FLAT,
    WARMUP_DAYS,
    XRANK_NAMES,
    compute_features,
)
from vn_pipeline.lib.features import flows as flow_features
from vn_pipeline.lib.features.synthetic import random_market, random_proprietary

ROTATION = ("rrg_rs_ratio", "rrg_rs_momentum", "xrank_rrg_rs_ratio")
FLOW = (*flow_features.NAMES, "xrank_foreign_net_ratio_5")
PROP = flow_features.PROP_NAMES


@pytest.fixture(scope="module")
def full_market() -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Every symbol trades every day: after the warm-up nothing may be NaN."""
    return random_market(12, WARMUP_DAYS + 60, seed=5)


def _start(bars: pd.DataFrame, offset: int = WARMUP_DAYS) -> object:
    return sorted(bars["trading_date"].unique())[offset]


def test_feature_names_are_sql_friendly() -> None:
    assert len(FEATURE_NAMES) == len(set(FEATURE_NAMES)) >= 200
    for name in FEATURE_NAMES:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name) and len(name) <= 60, name
    assert set(UNDEFINED_ON_FLAT) <= set(FEATURE_NAMES) and set(XRANK_NAMES) <= set(FEATURE_NAMES)
    assert LOOKBACK_DAYS < WARMUP_DAYS


def test_output_layout(full_market: tuple[pd.DataFrame, pd.DataFrame, pd.Series]) -> None:
    bars, flows, index = full_market
    start = _start(bars)
    out = compute_features(bars.sample(frac=1.0, random_state=1), flows, index, start=start)
    assert list(out.columns) == ["trading_date", "symbol", *FEATURE_NAMES]
    assert (out[list(FEATURE_NAMES)].dtypes == np.float64).all()
    assert out["trading_date"].min() == start and len(out) == 12 * 60
    keys = out[["trading_date", "symbol"]]
    assert keys.equals(keys.sort_values(["trading_date", "symbol"]).reset_index(drop=True))
    assert isinstance(out["trading_date"].iloc[0], type(start))


def test_no_nan_after_warmup(full_market: tuple[pd.DataFrame, pd.DataFrame, pd.Series]) -> None:
    bars, flows, index = full_market
    out = compute_features(bars, flows, index, start=_start(bars), proprietary=random_proprietary(bars))
    nan = out[list(FEATURE_NAMES)].isna().sum()
    assert nan.sum() == 0, nan[nan > 0].to_dict()


def test_every_feature_defined_after_lookback(full_market: tuple[pd.DataFrame, pd.DataFrame, pd.Series]) -> None:
    """LOOKBACK_DAYS is the real hard lookback: every feature exists from that bar on (WARMUP_DAYS adds margin)."""
    bars, flows, index = full_market
    prop = random_proprietary(bars)
    out = compute_features(bars, flows, index, start=_start(bars, LOOKBACK_DAYS), proprietary=prop)
    nan = out[list(FEATURE_NAMES)].isna().sum()
    assert nan.sum() == 0, nan[nan > 0].to_dict()
    one_less = compute_features(bars, flows, index, start=_start(bars, LOOKBACK_DAYS - 1))
    assert one_less[list(FEATURE_NAMES)].isna().any().any()


def test_missing_optional_inputs_only_blank_their_features(
    full_market: tuple[pd.DataFrame, pd.DataFrame, pd.Series],
) -> None:
    bars, flows, index = full_market
    full = compute_features(bars, flows, index, start=_start(bars), proprietary=random_proprietary(bars))
    bare = compute_features(bars, None, None, start=_start(bars))
    blank = [c for c in FEATURE_NAMES if bare[c].isna().all()]
    assert sorted(blank) == sorted({*ROTATION, *FLOW, *PROP})
    rest = [c for c in FEATURE_NAMES if c not in blank]
    assert_frame_equal(bare[rest], full[rest], check_exact=True)


def test_flat_series_nan_only_where_documented() -> None:
    """A symbol whose price never moves: only the documented 0/0 features are NaN (and are NaN)."""
    bars, flows, index = random_market(4, WARMUP_DAYS + 20, seed=8)
    flat = bars["symbol"] == "S0000"
    for col in ("open", "high", "low", "close"):
        bars.loc[flat, col] = 25_000
    bars.loc[flat, "vwap"] = 25_000.0
    out = compute_features(bars, flows, index, start=_start(bars), proprietary=random_proprietary(bars))
    row = out[out["symbol"] == "S0000"]
    nan_cols = {c for c in FEATURE_NAMES if row[c].isna().any()}
    assert nan_cols <= set(UNDEFINED_ON_FLAT), nan_cols - set(UNDEFINED_ON_FLAT)
    assert {"rsqr_20", "corr_20", "cord_20", "bb_pctb_20", "fib_pos_60", "spread_ratio_20"} <= nan_cols
    assert (row["rsi_14"] == 0).all() and (row["kmid2"] == 0).all() and (row["bb_bandwidth_20"] == 0).all()
    others = out[out["symbol"] != "S0000"]
    assert others[list(FEATURE_NAMES)].notna().all().all()


def test_panel_equals_each_symbol_alone() -> None:
    bars, flows, index = random_market(8, 200, seed=21, gap_prob=0.05)
    start = _start(bars, 80)
    panel = compute_features(bars, flows, index, start=start)
    per_symbol = [
        compute_features(bars[bars["symbol"] == s], flows[flows["symbol"] == s], index, start=start)
        for s in sorted(bars["symbol"].unique())
    ]
    alone = pd.concat(per_symbol).sort_values(["trading_date", "symbol"]).reset_index(drop=True)
    columns = ["trading_date", "symbol", *(c for c in FEATURE_NAMES if c not in XRANK_NAMES)]
    assert_frame_equal(panel[columns], alone[columns], check_exact=True)


def test_cross_sectional_rank() -> None:
    bars, flows, index = random_market(6, WARMUP_DAYS + 5, seed=2)
    out = compute_features(bars, flows, index, start=_start(bars))
    for day, rows in out.groupby("trading_date"):
        expected = rows["roc_5"].rank(pct=True)
        np.testing.assert_array_equal(rows["xrank_roc_5"].to_numpy(), expected.to_numpy(), err_msg=str(day))
    assert out["xrank_rsi_14"].between(1 / 6, 1).all()


# --- Alpha158 spot checks against the formulas written out directly -------------------------------------------


@pytest.fixture(scope="module")
def one_symbol() -> tuple[pd.DataFrame, pd.DataFrame]:
    bars, _, _ = random_market(1, 90, seed=4)
    out = compute_features(bars, None, None)
    return bars.reset_index(drop=True), out


def test_alpha158_against_direct_formulas(one_symbol: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    bars, out = one_symbol
    c, h, lo, o, v = (bars[k].astype(float) for k in ("close", "high", "low", "open", "volume"))

    def same(name: str, expected: pd.Series, rtol: float = 1e-12) -> None:
        np.testing.assert_allclose(out[name].to_numpy(), expected.to_numpy(), rtol=rtol, atol=0, err_msg=name)

    same("kmid", (c - o) / o)
    same("ksft2", (2 * c - h - lo) / (h - lo + 1e-12))
    same("klow", (np.minimum(o, c) - lo) / o)
    for d in (5, 20, 60):
        same(f"roc_{d}", c.shift(d) / c)
        same(f"ma_{d}", c.rolling(d).mean() / c)
        same(f"std_{d}", c.rolling(d).std() / c, rtol=1e-9)
        mn, mx = lo.rolling(d).min(), h.rolling(d).max()
        same(f"rsv_{d}", (c - mn) / (mx - mn + 1e-12))
        up = (c > c.shift(1)).astype(float).where(c.shift(1).notna())
        down = (c < c.shift(1)).astype(float).where(c.shift(1).notna())
        same(f"cntp_{d}", up.rolling(d).mean())
        same(f"cntd_{d}", up.rolling(d).mean() - down.rolling(d).mean())
        move = (c - c.shift(1)).abs().rolling(d).sum()
        same(f"sump_{d}", (c - c.shift(1)).clip(lower=0).rolling(d).sum() / (move + 1e-12))
        same(f"qtlu_{d}", c.rolling(d).quantile(0.8) / c)
        same(f"rank_{d}", c.rolling(d).rank(pct=True))
        same(f"imax_{d}", h.rolling(d).apply(lambda w: w.argmax() + 1, raw=True) / d)
        same(f"imxd_{d}", (h.rolling(d).apply(np.argmax, raw=True) - lo.rolling(d).apply(np.argmin, raw=True)) / d)
        same(f"corr_{d}", c.rolling(d).corr(np.log(v + 1)), rtol=1e-9)
        same(f"vma_{d}", v.rolling(d).mean() / (v + 1e-12))
        same(f"beta_{d}", c.rolling(d).apply(lambda w: np.polyfit(np.arange(1, len(w) + 1), w, 1)[0], raw=True) / c,
             rtol=1e-8)  # fmt: skip


def test_alpha158_hand_made_series() -> None:
    """Five closes rising by one tick then falling: values worked out by hand."""
    closes = [10_000, 10_050, 10_100, 10_150, 10_200, 10_100]
    bars = pd.DataFrame(
        {
            "trading_date": pd.bdate_range("2025-01-01", periods=6).date,
            "symbol": "AAA",
            "open": closes,
            "high": [x + 50 for x in closes],
            "low": [x - 50 for x in closes],
            "close": closes,
            "volume": [100, 200, 300, 400, 500, 600],
            "value": [x * 100 for x in closes],
        }
    )
    last = compute_features(bars, None, None).iloc[-1]
    assert last["roc_5"] == pytest.approx(10_000 / 10_100, rel=1e-15)
    assert last["cntp_5"] == pytest.approx(4 / 5) and last["cntn_5"] == pytest.approx(1 / 5)
    assert last["sump_5"] == pytest.approx(200 / 300) and last["sumd_5"] == pytest.approx(100 / 300)
    assert last["rsv_5"] == pytest.approx((10_100 - 10_000) / (10_250 - 10_000))
    assert last["imax_5"] == pytest.approx(4 / 5) and last["imin_5"] == pytest.approx(1 / 5)  # window starts 10,050
    assert last["rank_5"] == pytest.approx(2.5 / 5)  # 10,100 ties with one earlier close: ranks 2 and 3
    assert last["vsump_5"] == pytest.approx(1.0, abs=1e-12)
    assert last["kmid"] == 0.0 and last["klen"] == pytest.approx(100 / 10_100)

    # a vendor day without a matched trade has no VWAP: its only price is the close
    bars.loc[5, ["volume", "value"]] = 0
    untraded = compute_features(bars, None, None).iloc[-1]
    assert untraded["vwap0"] == 1.0 and last["vwap0"] == pytest.approx(10_100 * 100 / 600 / 10_100)
