"""Features whose optional input is missing: foreign flows (no row before a ticker's first foreign trade, on days
foreigners did not trade, or no file at all) and VN30 levels (none before 2018-08-20). The features are NaN there,
never zero or filled, and the NaN rule of features.daily's check excuses exactly those NaN, nothing else."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from vn_pipeline.lib.features import WARMUP_DAYS, compute_features
from vn_pipeline.lib.features.flows import NAMES as FOREIGN_NAMES
from vn_pipeline.lib.features.inputs import history_lengths, vn30_close
from vn_pipeline.lib.features.rules import (
    KEY,
    ROTATION_WINDOWS,
    explained_nan,
    flat_windows,
    nan_outside_warmup,
    without_foreign_data,
    without_index_data,
    without_proprietary_data,
)
from vn_pipeline.lib.features.synthetic import random_market
from vn_pipeline.lib.sources.vendors.cafef_files import read_cafef_foreign_flows, read_cafef_prices
from vn_pipeline.lib.sources.vendors.index_files import missing_level_ranges, read_index_file
from vn_pipeline_tests.real_data import VN_REAL, needs_vn_real

WARMUP = 70
FOREIGN_CHECKED = (*FOREIGN_NAMES, "xrank_foreign_net_ratio_5")
ROTATION_CHECKED = (*ROTATION_WINDOWS, "xrank_rrg_rs_ratio")


def _history(bars: pd.DataFrame) -> pd.Series:
    ordered = bars[KEY].sort_values(["symbol", "trading_date"])
    return ordered.groupby("symbol").cumcount().set_axis(pd.MultiIndex.from_frame(ordered))


def _seasoned(frame: pd.DataFrame, history: pd.Series) -> np.ndarray:
    return history.reindex(pd.MultiIndex.from_frame(frame[KEY])).to_numpy() > WARMUP


def _bar(bars: pd.DataFrame, symbol: str, k: int) -> int:
    """Index label of the k-th bar of ``symbol``."""
    return bars.index[bars["symbol"] == symbol][k]


@pytest.fixture(scope="module")
def sparse_flows() -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, dict[str, object]]:
    """Four names: S0000 complete flows but one day without trading, S0001 foreign trading only from bar
    WARMUP + 20 on (the padding rows before it rejected), S0002 one day without a row, S0003 no flow file."""
    bars, flows, index = random_market(4, WARMUP + 90, seed=21)
    dry = _bar(bars, "S0000", WARMUP + 40)
    bars.loc[dry, ["volume", "value"]] = 0
    first_trade = bars.loc[_bar(bars, "S0001", WARMUP + 20), "trading_date"]
    gap_day = bars.loc[_bar(bars, "S0002", WARMUP + 50), "trading_date"]
    drop = (
        (flows["symbol"] == "S0003")
        | ((flows["symbol"] == "S0001") & (flows["trading_date"] < first_trade))
        | ((flows["symbol"] == "S0002") & (flows["trading_date"] == gap_day))
    )
    marks = {"dry": bars.loc[dry, "trading_date"], "first_trade": first_trade, "gap_day": gap_day}
    return bars, flows[~drop].reset_index(drop=True), index, marks


def test_foreign_features_are_nan_not_zero_where_there_is_no_flow_row(sparse_flows) -> None:
    bars, flows, index, marks = sparse_flows
    out = compute_features(bars, flows, index).set_index(KEY)
    assert out.xs("S0003", level="symbol")[list(FOREIGN_NAMES)].isna().all().all()  # no file: no value at all
    s1 = out.xs("S0001", level="symbol")
    before = s1.index < marks["first_trade"]
    assert s1.loc[before, list(FOREIGN_NAMES)].isna().all().all()  # padding is no data, not zero flow
    assert s1.loc[~before, "foreign_net_ratio"].notna().all()
    # the 20-bar ratio needs 20 bars of rows: NaN on the first 19 after the first trade, then a value
    after = s1.loc[~before, "foreign_net_ratio_20"]
    assert after.iloc[:19].isna().all() and after.iloc[19:].notna().all()
    s2 = out.xs("S0002", level="symbol")
    assert np.isnan(s2.loc[marks["gap_day"], "foreign_net_ratio"])
    assert s2.loc[s2.index > marks["gap_day"], "foreign_net_ratio"].notna().all()


def test_foreign_rule_marks_exactly_where_the_features_are_nan(sparse_flows) -> None:
    """Both ways, per feature: a NaN after the warm-up is explained, and nothing with a value is."""
    bars, flows, index, _ = sparse_flows
    features = compute_features(bars, flows, index)
    rule = without_foreign_data(bars, flows)
    assert set(FOREIGN_CHECKED) <= set(rule.columns)
    merged = features.merge(rule, on=KEY, suffixes=("", "__none"))
    seasoned = _seasoned(merged, _history(bars))
    for name in FOREIGN_CHECKED:
        nan = merged[name].isna().to_numpy()[seasoned]
        none = merged[f"{name}__none"].to_numpy(bool)[seasoned]
        assert (nan == none).all(), (name, int((nan != none).sum()))
        assert nan.any() and not nan.all(), name  # the market exercises the rule both ways


def test_check_excuses_missing_foreign_flows_and_flags_any_other_nan(sparse_flows) -> None:
    bars, flows, index, _ = sparse_flows
    features = compute_features(bars, flows, index)
    history = _history(bars)
    rule = without_foreign_data(bars, flows)
    checked = features[[*KEY, *FOREIGN_CHECKED, "rsi_14"]]
    assert set(nan_outside_warmup(checked, history, WARMUP)["symbol"]) == {"S0000", "S0001", "S0002", "S0003"}
    assert nan_outside_warmup(checked, history, WARMUP, rule).empty
    # S0000's 20-bar ratio on its last day: its window has every flow row and traded value, so a NaN is a bug
    broken = checked.copy()
    last = np.flatnonzero((broken["symbol"] == "S0000").to_numpy())[-1]
    broken.loc[last, "foreign_net_ratio_20"] = np.nan
    bad = nan_outside_warmup(broken, history, WARMUP, rule)
    assert bad[["symbol", "nan_features"]].values.tolist() == [["S0000", "foreign_net_ratio_20"]]


@pytest.fixture(scope="module")
def late_index() -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Timestamp]:
    """VN30 levels from bar WARMUP + 10 on (as real VN30 from 2018-08-20), and one later day missing."""
    bars, flows, index = random_market(3, WARMUP + 120, seed=5, gap_prob=0.05)
    days = sorted(index.index)
    late = index[index.index >= days[WARMUP + 10]].drop(days[WARMUP + 100])
    return bars, flows, late, days[WARMUP + 10]


def test_rotation_features_need_their_whole_lookback_of_vn30_levels(late_index) -> None:
    bars, flows, index, first_level = late_index
    out = compute_features(bars, flows, index).set_index(KEY)
    for symbol in ("S0000", "S0001", "S0002"):
        own = out.xs(symbol, level="symbol")
        since = own.index >= first_level
        assert own.loc[~since, list(ROTATION_CHECKED)].isna().all().all()
        ratio = own.loc[since, "rrg_rs_ratio"]  # the symbol's own bars from the first level on
        n = ROTATION_WINDOWS["rrg_rs_ratio"]
        assert ratio.iloc[: n - 1].isna().all() and np.isfinite(ratio.iloc[n - 1])


def test_rotation_rule_marks_exactly_where_the_features_are_nan(late_index) -> None:
    bars, flows, index, _ = late_index
    features = compute_features(bars, flows, index)
    history = _history(bars)
    rule = without_index_data(bars, index)
    merged = features.merge(rule, on=KEY, suffixes=("", "__none"))
    seasoned = _seasoned(merged, history)
    for name in ROTATION_CHECKED:
        nan = merged[name].isna().to_numpy()[seasoned]
        none = merged[f"{name}__none"].to_numpy(bool)[seasoned]
        assert (nan == none).all(), (name, int((nan != none).sum()))
        assert nan.any() and not nan.all(), name
    checked = features[[*KEY, *ROTATION_CHECKED, "roc_5"]]
    assert not nan_outside_warmup(checked, history, WARMUP).empty
    assert nan_outside_warmup(checked, history, WARMUP, rule).empty
    # a row whose 69-bar lookback has every level (between the first level and the missing day): a NaN is a bug
    complete = np.flatnonzero(seasoned & ~merged["rrg_rs_momentum__none"].to_numpy(bool))
    assert len(complete) > 0
    broken = checked.copy()
    at = broken.index[(broken[KEY] == merged.loc[complete[0], KEY]).all(axis=1)][0]
    broken.loc[at, "rrg_rs_momentum"] = np.nan
    bad = nan_outside_warmup(broken, history, WARMUP, rule)
    assert bad["nan_features"].tolist() == ["rrg_rs_momentum"]


def test_no_index_at_all_excuses_every_rotation_nan_and_nothing_else() -> None:
    bars, flows, _ = random_market(2, WARMUP + 40, seed=8)
    features = compute_features(bars, flows, None)
    rule = without_index_data(bars, None)
    assert features[list(ROTATION_CHECKED)].isna().all().all()
    assert rule[list(ROTATION_CHECKED)].all().all()
    assert set(rule.columns) == {*KEY, *ROTATION_CHECKED}


def test_all_rules_together_explain_a_market_missing_every_optional_input(sparse_flows, late_index) -> None:
    """Sparse flows, a late VN30 and no proprietary flows: every NaN is explained, and a NaN a rule does not
    cover (rsi_14 on a liquid day) is still the only one flagged."""
    bars, flows, _, _ = sparse_flows
    _, _, index, _ = late_index
    features = compute_features(bars, flows, index)
    history = _history(bars)
    explained = explained_nan(bars, flows, index, None)
    assert len(nan_outside_warmup(features, history, WARMUP)) > 0
    assert nan_outside_warmup(features, history, WARMUP, explained).empty
    broken = features.copy()
    last = np.flatnonzero((broken["symbol"] == "S0002").to_numpy())[-1]
    broken.loc[last, "rsi_14"] = np.nan
    bad = nan_outside_warmup(broken, history, WARMUP, explained)
    assert bad["nan_features"].tolist() == ["rsi_14"]


REAL_FIRST, REAL_START, REAL_END = dt.date(2016, 1, 1), dt.date(2017, 1, 1), dt.date(2019, 12, 31)
# Liquid names with a bar every session of 2016-2019 (no zero-volume day, where vwap0 has no VWAP): ACB, HUT and
# SPI each miss 5 days of foreign flows in the window (rows rejected or absent), VCB misses none, and VNM's flow
# file is withheld, as for a ticker that has no GDKhoiNgoai.csv.
REAL_SYMBOLS = ("ACB", "HUT", "SPI", "VCB", "VNM")
WITHOUT_FLOW_FILE = "VNM"


def _real_adjusted_bars(symbol: str) -> pd.DataFrame:
    prices, _ = read_cafef_prices(VN_REAL / "cafef" / symbol / "PriceHistory.csv")
    prices = prices[(prices["trading_date"] >= REAL_FIRST) & (prices["trading_date"] <= REAL_END)].copy()
    factor = prices["adj_close"] / prices["close"]  # CafeF's own adjustment, as read_cafef_prices documents
    for column in ("open", "high", "low", "close"):
        prices[column] = prices[column] * factor
    return prices


@needs_vn_real
def test_real_cafef_features_2017_2019_nan_only_where_documented() -> None:
    """Real CafeF bars and flows, real VN30 (from 2018-08-20): the check's rule without the two new excuses flags
    rows (rotation before VN30 exists, flow windows without rows), with them none."""
    bars = pd.concat([_real_adjusted_bars(s) for s in REAL_SYMBOLS], ignore_index=True)
    flows = pd.concat(
        [
            read_cafef_foreign_flows(VN_REAL / "cafef" / s / "GDKhoiNgoai.csv")[0]
            for s in REAL_SYMBOLS
            if s != WITHOUT_FLOW_FILE
        ],
        ignore_index=True,
    )
    levels = read_index_file(VN_REAL / "indices_ftu" / "VN30.csv").between(REAL_FIRST, REAL_END)
    vn30 = vn30_close(levels)
    features = compute_features(bars, flows, vn30, start=REAL_START)
    history = history_lengths(bars)

    explained = explained_nan(bars, flows, vn30, None)
    assert nan_outside_warmup(features, history, WARMUP_DAYS, explained).empty
    before = flat_windows(bars).merge(without_proprietary_data(bars, None), on=KEY)
    flagged = nan_outside_warmup(features, history, WARMUP_DAYS, before)
    names = {n for row in flagged["nan_features"] for n in row.split(",")}
    assert names == {*FOREIGN_CHECKED, *ROTATION_CHECKED}
    assert set(flagged["symbol"]) == set(REAL_SYMBOLS)
    # VCB trades every session: its momentum is NaN until VN30's 69th level, then defined on every row
    vcb = features[features["symbol"] == "VCB"].set_index("trading_date")["rrg_rs_momentum"]
    first = sorted(vn30.index)[ROTATION_WINDOWS["rrg_rs_momentum"] - 1]
    assert vcb[vcb.index < first].isna().all() and vcb[vcb.index >= first].notna().all()
    assert features.loc[features["symbol"] == WITHOUT_FLOW_FILE, list(FOREIGN_NAMES)].isna().all().all()
    ranges = [str(r) for r in missing_level_ranges(levels, "VN30", REAL_FIRST, REAL_END)]
    assert ranges == ["no VN30 levels 2016-01-04 → 2018-08-17 (657 trading days)"]
