from datetime import date

import numpy as np
import pandas as pd
import pytest

from vn_pipeline.lib.features import FEATURE_NAMES, UNDEFINED_ON_FLAT, compute_features
from vn_pipeline.lib.features import flows as flow_features
from vn_pipeline.lib.features.rules import (
    cross_sectional_center,
    feature_drift,
    flat_windows,
    nan_outside_warmup,
    population_stability,
)
from vn_pipeline.lib.features.synthetic import random_market

D1, D2 = date(2026, 2, 23), date(2026, 2, 24)
WARMUP = 70  # the features' hard lookback is 68 bars: a short warm-up keeps the synthetic market small
KEY = ["trading_date", "symbol"]
# NaN when their optional input (flows, the index) is missing: not what these tests are about
OPTIONAL_INPUT = {*flow_features.NAMES, "xrank_foreign_net_ratio_5", "rrg_rs_ratio", "rrg_rs_momentum",
                  "xrank_rrg_rs_ratio", *flow_features.PROP_NAMES}  # fmt: skip


def test_nan_is_flagged_only_after_the_warmup():
    features = pd.DataFrame(
        {"trading_date": [D1, D1, D2], "symbol": ["NEW", "OLD", "OLD"], "a": [np.nan, 1.0, np.nan], "b": [1.0] * 3}
    )
    history = pd.Series({(D1, "NEW"): 3, (D1, "OLD"): 100, (D2, "OLD"): 101})
    bad = nan_outside_warmup(features, history, warmup_days=60)
    assert bad.to_dict("records") == [{"trading_date": D2, "symbol": "OLD", "nan_features": "a"}]


def _illiquid_market() -> pd.DataFrame:
    """S0000 trades normally; S0001 is an illiquid name: its price moves on 1 bar in 8 (a flat bar has
    open = high = low = close), its volume stays at one lot for stretches and is 0 for weeks; S0002 has one bar without
    volume (the next bars' volume ratio is infinite)."""
    bars, _, _ = random_market(3, 260, seed=3)
    rng = np.random.default_rng(11)
    thin = (bars["symbol"] == "S0001").to_numpy()
    rows = np.flatnonzero(thin)
    moves = rng.random(len(rows)) < 1 / 8
    moves[-90:-20] = False  # one long flat stretch: every window, up to 60 bars, is flat inside it
    level = bars.loc[rows[0], "close"]
    closes = []
    for moved in moves:
        level = level + 50 * rng.choice([-1, 1]) if moved else level
        closes.append(level)
    closes = np.asarray(closes)
    for col in ("open", "high", "low", "close"):
        bars.loc[rows, col] = closes
    bars.loc[rows[moves], "high"] = closes[moves] + 50  # a moving bar has a range
    volume = bars.loc[rows, "volume"].to_numpy().copy()
    volume[100:140] = 100  # one lot a day while the price still moves now and then
    volume[200:235] = 0  # then seven weeks without a trade (vendor history has such months)
    bars.loc[rows, "volume"] = volume
    bars.loc[rows, "value"] = volume * closes
    bars.loc[rows, "vwap"] = closes.astype(float)
    dry = np.flatnonzero((bars["symbol"] == "S0002").to_numpy())[200]
    bars.loc[dry, ["volume", "value"]] = 0
    bars.loc[dry, "vwap"] = float(bars.loc[dry, "close"])
    return bars


@pytest.fixture(scope="module")
def illiquid() -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.DataFrame]:
    bars = _illiquid_market()
    features = compute_features(bars, None, None)
    features = features[[*KEY, *(n for n in FEATURE_NAMES if n not in OPTIONAL_INPUT)]]
    ordered = bars[KEY].sort_values(["symbol", "trading_date"])
    history = ordered.groupby("symbol").cumcount().set_axis(pd.MultiIndex.from_frame(ordered))
    return bars, features, history, flat_windows(bars)


def test_flat_rule_matches_where_each_flat_feature_is_nan(illiquid):
    """Both ways, feature by feature, after the warm-up: NaN exactly where the rule calls the window flat."""
    _, features, history, flat = illiquid
    merged = features.merge(flat, on=KEY, suffixes=("", "__flat"))
    seasoned = history.reindex(pd.MultiIndex.from_frame(merged[KEY])).to_numpy() > WARMUP
    for name in UNDEFINED_ON_FLAT:
        nan, is_flat = merged[name].isna().to_numpy()[seasoned], merged[f"{name}__flat"].to_numpy(bool)[seasoned]
        assert (nan == is_flat).all(), (name, int((nan != is_flat).sum()))
    # the market exercises every rule both ways: flat rows and rows that are not
    for name in ("bb_pctb_20", "fib_pos_60", "spread_ratio_20", "rsqr_5", "rsqr_20", "corr_10", "cord_5",
                 "volume_ratio_20", "obv_change_20", "vsa_climax"):  # fmt: skip
        column = merged.loc[seasoned, f"{name}__flat"]
        assert column.any() and not column.all(), name
    thin = merged.loc[seasoned & (merged["symbol"] == "S0001").to_numpy()]
    assert (thin["corr_10__flat"] & ~thin["rsqr_10__flat"]).any()  # flat volume while the price moves
    dry = merged.loc[seasoned & (merged["symbol"] == "S0002").to_numpy()]
    assert dry["cord_5__flat"].sum() == 5 and not dry["rsqr_5__flat"].any()  # a zero previous volume only


def test_nan_on_a_flat_window_is_allowed_and_every_other_nan_is_flagged(illiquid):
    _, features, history, flat = illiquid
    without_rule = nan_outside_warmup(features, history, WARMUP)
    assert set(without_rule["symbol"]) == {"S0001", "S0002"}  # flat-window NaN would fail the check
    assert nan_outside_warmup(features, history, WARMUP, flat).empty

    merged = features.merge(flat, on=KEY, suffixes=("", "__flat"))
    seasoned = history.reindex(pd.MultiIndex.from_frame(merged[KEY])).to_numpy() > WARMUP
    thin = seasoned & (merged["symbol"] == "S0001").to_numpy()
    # a NaN where the feature's own window is not flat, though a shorter window is
    short_only = np.flatnonzero(thin & merged["rsqr_5__flat"].to_numpy(bool) & ~merged["rsqr_20__flat"].to_numpy(bool))
    # a NaN on a fully flat row, in a feature that is defined on flat windows (RSI is 0 there)
    all_flat = np.flatnonzero(thin & merged["rsqr_20__flat"].to_numpy(bool))
    liquid = np.flatnonzero(seasoned & (merged["symbol"] == "S0000").to_numpy())
    broken = features.copy()
    broken.loc[short_only[0], "rsqr_20"] = np.nan
    broken.loc[all_flat[0], "rsi_14"] = np.nan
    broken.loc[liquid[0], "corr_5"] = np.nan
    bad = nan_outside_warmup(broken, history, WARMUP, flat).set_index(KEY)["nan_features"]
    expected = {
        tuple(features.loc[short_only[0], KEY]): "rsqr_20",
        tuple(features.loc[all_flat[0], KEY]): "rsi_14",
        tuple(features.loc[liquid[0], KEY]): "corr_5",
    }
    assert bad.to_dict() == expected


def test_psi_is_near_zero_for_the_same_distribution_and_large_for_a_shift():
    rng = np.random.default_rng(0)
    reference = rng.normal(0, 1, 20_000)
    assert population_stability(reference, rng.normal(0, 1, 2_000)) < 0.02
    assert population_stability(reference, rng.normal(1.5, 1, 2_000)) > 0.25


def _panel(days: int, names: int, rng: np.random.Generator, start: int = 0) -> pd.DataFrame:
    dates = pd.bdate_range("2025-01-01", periods=start + days)[start:]
    frame = pd.DataFrame(
        {"trading_date": np.repeat(dates.date, names), "symbol": np.tile([f"S{i:02d}" for i in range(names)], days)}
    )
    frame["x"] = rng.normal(0, 1, len(frame))
    return frame


def test_a_market_wide_move_is_not_drift_a_new_cross_sectional_shape_is():
    rng = np.random.default_rng(1)
    reference = _panel(120, 30, rng)
    moved = _panel(20, 30, rng, start=120).assign(x=lambda f: f["x"] + 3.0)  # every name lifted alike
    raw = feature_drift(reference, moved, ["x"], block_days=20, standardize=False)
    assert raw.loc["x", "psi"] > 2 and raw.loc["x", "drifted"]
    both = feature_drift(reference, moved, ["x"], block_days=20)
    assert both.loc["x", "psi_raw"] == raw.loc["x", "psi"] and both.loc["x", "psi"] < 0.25
    assert not both.loc["x", "drifted"]
    skewed = _panel(20, 30, rng, start=120).assign(x=lambda f: np.exp(1.5 * f["x"]))  # a few names run away
    drift = feature_drift(reference, skewed, ["x"], block_days=20)
    assert drift.loc["x", "psi"] > 0.25 and drift.loc["x", "drifted"]


def test_a_window_like_one_the_model_trained_on_is_not_drift():
    """The training window had a month with a skewed cross-section: a new month like it is not flagged, though
    its PSI is over 0.25, because no threshold can tell it from what the model already learnt on."""
    rng = np.random.default_rng(2)
    reference = _panel(120, 30, rng)
    odd = reference["trading_date"].isin(sorted(reference["trading_date"].unique())[40:60]).to_numpy()
    reference.loc[odd, "x"] = np.exp(1.5 * reference.loc[odd, "x"])
    again = _panel(20, 30, rng, start=120).assign(x=lambda f: np.exp(1.5 * f["x"]))
    drift = feature_drift(reference, again, ["x"], block_days=20)
    assert drift.loc["x", "psi"] > 0.25 and drift.loc["x", "stable_psi"] >= drift.loc["x", "psi"]
    assert not drift.loc["x", "drifted"]
    assert feature_drift(reference, again, ["x"]).loc["x", "drifted"]  # without the stable bar it would be


def test_a_flag_whose_daily_share_of_ones_moves_is_not_drift():
    """z-scores of a 0/1 flag depend on the day's share of ones, so they scatter though nothing changed: the raw
    values, whose distribution has not moved, keep it from being flagged."""
    rng = np.random.default_rng(3)
    reference, current = _panel(120, 30, rng), _panel(20, 30, rng, start=120)
    for frame in (reference, current):
        share = rng.uniform(0.03, 0.3, frame["trading_date"].nunique())
        frame["x"] = (rng.random(len(frame)) < np.repeat(share, 30)).astype(float)
    drift = feature_drift(reference, current, ["x"])  # no stable bar: the raw PSI alone must hold it back
    assert drift.loc["x", "psi"] > 0.25 > drift.loc["x", "psi_raw"] and not drift.loc["x", "drifted"]


def test_cross_sectional_standardization_per_day():
    frame = pd.DataFrame({"trading_date": [D1] * 3 + [D2] * 3, "x": [1.0, 2.0, 3.0, 5.0, 5.0, np.nan]})
    z = cross_sectional_center(frame, ["x"])["x"].to_numpy()
    assert z[:3] == pytest.approx([-1.224744871, 0.0, 1.224744871])
    assert z[3] == z[4] == 0.0 and np.isnan(z[5])  # a day with no spread carries no cross-sectional information
