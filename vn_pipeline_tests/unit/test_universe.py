"""The point-in-time liquidity universe: known answers, and nothing of day D changes when the future does, down
to the walk-forward's predictions."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from vn_pipeline.lib.features import compute_features
from vn_pipeline.lib.features.synthetic import random_market
from vn_pipeline.lib.features.universe import liquidity_universe
from vn_pipeline.lib.market.calendar import trading_days
from vn_pipeline.lib.ml import walk_forward_splits
from vn_pipeline.lib.ml.labels import make_labels
from vn_pipeline.lib.ml.predict import predict_walk_forward
from vn_pipeline.lib.ml.train import walk_forward_train

DAYS = trading_days(dt.date(2024, 3, 1), dt.date(2024, 4, 30))[:20]


def _known_market() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Size 2, window 4, min history 3, on 20 days (0..19):
    A 100 a day; B 50 a day, 400 from day 10; D 300 a day, delisted after day 7; C listed on day 12 at 1000 a day;
    E 1,000,000 every fifth day (never 3 bars in 4 days); F 10^9 a day but never listed; A has a bar without a
    trade on day 5."""
    rows = []
    for i, day in enumerate(DAYS):
        rows += [(day, "A", 0 if i == 5 else 10, 100), (day, "B", 10, 50 if i < 10 else 400), (day, "F", 10, 10**9)]
        if i <= 7:
            rows.append((day, "D", 10, 300))
        if i >= 12:
            rows.append((day, "C", 10, 1000))
        if i % 5 == 0:
            rows.append((day, "E", 10, 1_000_000))
    bars = pd.DataFrame(rows, columns=["trading_date", "symbol", "volume", "value"])
    listings = bars.loc[bars["symbol"] != "F", ["trading_date", "symbol"]]
    return bars, listings


def test_known_answers_entry_delisting_min_history_listing_and_untraded_days() -> None:
    bars, listings = _known_market()
    universe = liquidity_universe(bars, listings, size=2, window=4, min_history=3)
    members = {day: list(group["symbol"]) for day, group in universe.groupby("trading_date")}
    expected = {i: ["D", "A"] for i in range(2, 8)}  # nobody has 3 bars before day 2; D out-trades A
    expected[5] = ["D", "B"]  # A's day-5 bar had no trade: not trading that day
    expected |= {8: ["A", "B"], 9: ["A", "B"]}  # D delisted: gone, B is next
    expected |= {i: ["B", "A"] for i in range(10, 14)}  # B's mean over 4 days overtakes A's 100 on day 10
    expected |= {i: ["C", "B"] for i in range(14, 20)}  # C enters on its third bar, and ranks first
    assert members == {DAYS[i]: names for i, names in expected.items()}
    day10 = universe[universe["trading_date"] == DAYS[10]].set_index("symbol")
    assert day10.loc["B", "avg_value"] == (3 * 50 + 400) / 4 and day10.loc["B", "liquidity_rank"] == 1
    assert day10.loc["A", "avg_value"] == 100.0 and day10.loc["A", "liquidity_rank"] == 2
    assert not universe["symbol"].isin(["E", "F"]).any()  # too few bars in the window; never listed
    # A larger size takes every eligible name, still ranked; E and F never are.
    wide = liquidity_universe(bars, listings, size=10, window=4, min_history=3)
    assert set(wide[wide["trading_date"] == DAYS[15]]["symbol"]) == {"A", "B", "C"}
    assert list(wide[wide["trading_date"] == DAYS[15]]["liquidity_rank"]) == [1, 2, 3]


def test_ties_go_to_the_first_symbol_and_a_day_without_bars_counts_in_the_window() -> None:
    bars = pd.DataFrame(
        [(d, s, 10, 100) for d in DAYS[:6] for s in ("ZZZ", "AAA", "MMM")],
        columns=["trading_date", "symbol", "volume", "value"],
    )
    universe = liquidity_universe(bars, size=2, window=3, min_history=3)
    assert set(universe.groupby("trading_date")["symbol"].apply(tuple)) == {("AAA", "MMM")}
    # On the exchange calendar a day the data lacks still counts: 2 bars in the last 3 days are too few.
    gap = bars[bars["trading_date"] != DAYS[3]]
    on_calendar = liquidity_universe(gap, size=3, window=3, min_history=3, days=DAYS[:6])
    assert sorted(set(on_calendar["trading_date"])) == [DAYS[2]]
    with pytest.raises(ValueError, match="outside the trading-day axis"):
        liquidity_universe(bars, size=2, window=3, min_history=3, days=DAYS[1:6])


N_SYMBOLS, N_DAYS = 30, 300
SIZE, WINDOW, MIN_HISTORY = 12, 20, 10


@pytest.fixture(scope="module")
def market() -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    return random_market(N_SYMBOLS, N_DAYS, seed=7, gap_prob=0.15)


def _days(bars: pd.DataFrame) -> list[dt.date]:
    return sorted(bars["trading_date"].unique())


def _perturbed_future(
    market: tuple[pd.DataFrame, pd.DataFrame, pd.Series], cut: dt.date, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Every bar after ``cut`` changed: prices, volumes and values scaled at random, a tenth of the bars deleted
    (halts, delistings), and a very liquid newcomer listed after the cut."""
    bars, flows, index = (x.copy() for x in market)
    rng = np.random.default_rng(seed)
    late = bars["trading_date"] > cut
    k = int(late.sum())
    factor = rng.uniform(0.5, 2.0, k)
    for col in ("open", "high", "low", "close"):
        bars.loc[late, col] = np.round(bars.loc[late, col].to_numpy() * factor).astype(np.int64)
    bars.loc[late, "volume"] = bars.loc[late, "volume"].to_numpy() * rng.integers(1, 50, k)
    bars.loc[late, "value"] = bars.loc[late, "value"].to_numpy() * rng.integers(1, 50, k)
    newcomer = bars[late & (bars["symbol"] == "S0000")].assign(symbol="ZZZ", value=10**13)
    bars = pd.concat([bars, newcomer], ignore_index=True)
    dropped = bars[bars["trading_date"] > cut].sample(frac=0.1, random_state=seed).index
    later = index.index > cut
    index[later] = index[later].to_numpy() * rng.uniform(0.8, 1.2, int(later.sum()))
    return bars.drop(dropped).reset_index(drop=True), flows, index


def _universe(bars: pd.DataFrame, **kw: object) -> pd.DataFrame:
    return liquidity_universe(bars, size=SIZE, window=WINDOW, min_history=MIN_HISTORY, **kw)  # type: ignore[arg-type]


def test_the_universe_of_a_day_ignores_everything_after_it(market) -> None:
    bars = market[0]
    cut = _days(bars)[200]
    base = _universe(bars)
    past = base[base["trading_date"] <= cut].reset_index(drop=True)
    assert past["trading_date"].nunique() > 150 and past.groupby("trading_date").size().max() == SIZE
    for seed in (1, 2):
        other = _universe(_perturbed_future(market, cut, seed)[0])
        future = other[other["trading_date"] > cut]
        assert "ZZZ" in set(future["symbol"])  # the perturbation reached the later universes...
        assert_frame_equal(other[other["trading_date"] <= cut].reset_index(drop=True), past, check_exact=True)
    truncated = _universe(bars[bars["trading_date"] <= cut])
    assert_frame_equal(truncated, past, check_exact=True)


def test_a_window_computed_alone_from_its_lookback_equals_the_full_history(market) -> None:
    """What the asset relies on: a run of [start, end] reads only WINDOW - 1 days before start."""
    bars = market[0]
    days = _days(bars)
    start, end = days[150], days[180]
    full = _universe(bars)
    expected = full[(full["trading_date"] >= start) & (full["trading_date"] <= end)].reset_index(drop=True)
    window = bars[(bars["trading_date"] >= days[150 - WINDOW + 1]) & (bars["trading_date"] <= end)]
    alone = _universe(window, days=days[150 - WINDOW + 1 : 181], start=start)
    assert_frame_equal(alone, expected, check_exact=True)


PARAMS = {"objective": "regression", "num_leaves": 7, "learning_rate": 0.1, "min_data_in_leaf": 20, "verbose": -1}


def _in_universe(features: pd.DataFrame, universe: pd.DataFrame) -> pd.DataFrame:
    """What ml/inputs' server-side semi-join on features.universe keeps, in the features' order."""
    keys = pd.MultiIndex.from_frame(features[["trading_date", "symbol"]])
    return features[keys.isin(pd.MultiIndex.from_frame(universe[["trading_date", "symbol"]]))].reset_index(drop=True)


def _walk_forward(market: tuple[pd.DataFrame, pd.DataFrame, pd.Series]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(universe, out-of-sample predictions) the way ml/models and ml/predictions make them: features of the
    universe members only, labels from every bar, one model per split, each test day scored by the newest
    model whose data ended before it."""
    bars, flows, index = market
    days = _days(bars)
    universe = _universe(bars)
    features = _in_universe(compute_features(bars, flows, index, start=days[60]), universe)
    labels = make_labels(bars, entry="open", horizon_days=2)
    dates = sorted(features["trading_date"].unique())
    splits = walk_forward_splits(dates, train_days=80, valid_days=30, test_days=30)
    models = walk_forward_train(features, labels, splits, PARAMS, num_boost_round=25, early_stopping_rounds=5)
    test_days = [d for s in splits for d in dates if s.test_start <= d <= s.test_end]
    return universe, predict_walk_forward(models, features, test_days, dates)


def test_the_walk_forward_predictions_of_a_day_ignore_everything_after_it(market) -> None:
    bars = market[0]
    universe, predictions = _walk_forward(market)
    cut = _days(bars)[240]
    members = set(zip(universe["trading_date"], universe["symbol"], strict=True))
    assert set(zip(predictions["trading_date"], predictions["symbol"], strict=True)) <= members
    assert predictions.groupby("trading_date").size().max() == SIZE  # only members are scored
    past = predictions[predictions["trading_date"] <= cut].reset_index(drop=True)
    assert past["trading_date"].nunique() >= 30 and past["model_id"].nunique() >= 2
    other_universe, other = _walk_forward(_perturbed_future(market, cut, 3))
    later = other[other["trading_date"] > cut]
    assert "ZZZ" in set(later["symbol"]) and "ZZZ" in set(other_universe["symbol"])  # the future did change
    assert_frame_equal(other[other["trading_date"] <= cut].reset_index(drop=True), past, check_exact=True)
