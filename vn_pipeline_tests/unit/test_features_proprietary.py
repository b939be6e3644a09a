"""Proprietary-flow features: the formulas on hand-made numbers, sparse rows (zero flow inside a window with data,
NaN outside), point in time, and the NaN rule that lets features.daily's check accept missing proprietary data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vn_pipeline.lib.features import FEATURE_NAMES, compute_features
from vn_pipeline.lib.features.flows import PROP_NAMES, PROP_WINDOWS
from vn_pipeline.lib.features.rules import KEY, nan_outside_warmup, without_proprietary_data
from vn_pipeline.lib.features.synthetic import random_market, random_proprietary

WARMUP = 70


def _one_symbol(days: int = 30) -> pd.DataFrame:
    bars, _, _ = random_market(1, days, seed=4)
    return bars


def _rows(bars: pd.DataFrame, positions: list[int], buy: list[int], sell: list[int]) -> pd.DataFrame:
    picked = bars.iloc[positions]
    return pd.DataFrame(
        {
            "trading_date": picked["trading_date"].to_numpy(),
            "symbol": picked["symbol"].to_numpy(),
            "buy_volume": 1,
            "sell_volume": 1,
            "buy_value": buy,
            "sell_value": sell,
        }
    )


def test_ratios_on_hand_made_numbers() -> None:
    bars = _one_symbol()
    prop = _rows(bars, [25, 27], buy=[3_000_000, 0], sell=[1_000_000, 500_000])
    out = compute_features(bars, None, None, proprietary=prop).set_index("trading_date")
    value = bars["value"].to_numpy(np.float64)
    day = bars["trading_date"].to_numpy()
    assert out.loc[day[25], "prop_net_ratio"] == pytest.approx(2_000_000 / value[25])
    assert np.isnan(out.loc[day[26], "prop_net_ratio"])  # no row that day: a one-day window without data
    assert out.loc[day[27], "prop_net_ratio"] == pytest.approx(-500_000 / value[27])
    # day 27's 5-bar window holds both rows; day 26 counts as zero flow there
    assert out.loc[day[27], "prop_net_ratio_5"] == pytest.approx(1_500_000 / value[23:28].sum())
    assert out.loc[day[29], "prop_net_ratio_5"] == pytest.approx(1_500_000 / value[25:30].sum())
    assert out.loc[day[27], "prop_participation_20"] == pytest.approx(4_500_000 / (2 * value[8:28].sum()))
    # before the first row, no window holds data: NaN, not zero
    assert out.loc[day[:25], list(PROP_NAMES)].isna().all().all()


def test_a_window_without_any_row_is_no_data_not_zero_flow() -> None:
    bars = _one_symbol(60)
    out = compute_features(bars, None, None, proprietary=_rows(bars, [20], [1_000], [0])).set_index("trading_date")
    day = bars["trading_date"].to_numpy()
    assert out.loc[day[24], "prop_net_ratio_5"] > 0 and np.isnan(out.loc[day[25], "prop_net_ratio_5"])
    assert out.loc[day[39], "prop_net_ratio_20"] > 0 and np.isnan(out.loc[day[40], "prop_net_ratio_20"])
    assert np.isnan(out.loc[day[21], "prop_net_ratio"])


def test_no_proprietary_frame_blanks_only_the_proprietary_features() -> None:
    bars, flows, index = random_market(5, 120, seed=6)
    prop = random_proprietary(bars, seed=1, row_prob=0.3)
    with_prop = compute_features(bars, flows, index, proprietary=prop)
    without = compute_features(bars, flows, index)
    empty = compute_features(bars, flows, index, proprietary=prop.iloc[:0])
    assert without[list(PROP_NAMES)].isna().all().all() and empty[list(PROP_NAMES)].isna().all().all()
    assert with_prop[list(PROP_NAMES)].iloc[-50:].notna().any().all()
    rest = [n for n in FEATURE_NAMES if n not in PROP_NAMES]
    pd.testing.assert_frame_equal(with_prop[rest], without[rest], check_exact=True)


def test_point_in_time_a_changed_future_changes_no_earlier_row() -> None:
    bars, flows, index = random_market(4, 120, seed=9)
    prop = random_proprietary(bars, seed=2, row_prob=0.5)
    cut = sorted(bars["trading_date"].unique())[80]
    later = prop["trading_date"] > cut
    future = prop.copy()
    future.loc[later, "buy_value"] = future.loc[later, "buy_value"] * 7 + 123
    future = future[~(later & (np.arange(len(future)) % 3 == 0))]  # and some future rows vanish
    base = compute_features(bars, flows, index, proprietary=prop)
    other = compute_features(bars, flows, index, proprietary=future)
    early = base["trading_date"] <= cut
    pd.testing.assert_frame_equal(base[early], other[early], check_exact=True)
    assert not base.loc[~early, "prop_net_ratio_20"].equals(other.loc[~early, "prop_net_ratio_20"])


def test_duplicate_proprietary_rows_are_refused() -> None:
    bars = _one_symbol()
    with pytest.raises(ValueError, match="proprietary flows have duplicate"):
        compute_features(bars, None, None, proprietary=_rows(bars, [3, 3], [1, 2], [0, 0]))


def test_nan_rule_marks_exactly_where_the_features_are_nan() -> None:
    """Both ways: a NaN proprietary feature after the warm-up is explained by the rule, and the rule explains
    nothing where the feature has a value; any other NaN is still flagged."""
    bars, flows, index = random_market(4, WARMUP + 80, seed=12)
    sparse = random_proprietary(bars[bars["symbol"] != "S0003"], seed=3, row_prob=0.15)  # S0003: none at all
    dry = bars.index[bars["symbol"] == "S0000"][WARMUP + 30]
    bars.loc[dry, ["volume", "value"]] = 0  # a day without trading: 0/0 on the one-day ratio
    features = compute_features(bars, flows, index, proprietary=sparse)
    ordered = bars[KEY].sort_values(["symbol", "trading_date"])
    history = ordered.groupby("symbol").cumcount().set_axis(pd.MultiIndex.from_frame(ordered))
    rule = without_proprietary_data(bars, sparse)
    merged = features.merge(rule, on=KEY, suffixes=("", "__none"))
    seasoned = history.reindex(pd.MultiIndex.from_frame(merged[KEY])).to_numpy() > WARMUP
    for name in PROP_WINDOWS:
        nan, none = merged[name].isna().to_numpy()[seasoned], merged[f"{name}__none"].to_numpy(bool)[seasoned]
        assert (nan == none).all(), (name, int((nan != none).sum()))
        assert nan.any() and not nan.all(), name  # the market exercises the rule both ways
    assert merged.loc[seasoned & (merged["symbol"] == "S0003").to_numpy(), "prop_net_ratio_20__none"].all()

    checked = features[[*KEY, *PROP_NAMES, "rsi_14"]]
    assert not nan_outside_warmup(checked, history, WARMUP).empty  # without the rule the check would fail
    assert nan_outside_warmup(checked, history, WARMUP, rule).empty
    broken = checked.copy()
    liquid = np.flatnonzero(seasoned & (merged["symbol"] == "S0001").to_numpy())[0]
    broken.loc[liquid, "rsi_14"] = np.nan
    bad = nan_outside_warmup(broken, history, WARMUP, rule)
    assert bad["nan_features"].tolist() == ["rsi_14"]
