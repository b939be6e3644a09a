"""Point-in-time: no feature (and no adjusted price) of day D changes when anything after D changes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from vn_pipeline.lib.features import adjust_prices, compute_features
from vn_pipeline.lib.features.synthetic import random_market

N_SYMBOLS, N_DAYS = 25, 320


@pytest.fixture(scope="module")
def market() -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    return random_market(N_SYMBOLS, N_DAYS, seed=11, gap_prob=0.03)


def _cut(market: tuple[pd.DataFrame, pd.DataFrame, pd.Series]) -> dt.date:
    return sorted(market[0]["trading_date"].unique())[250]


def _perturbed_future(
    market: tuple[pd.DataFrame, pd.DataFrame, pd.Series], cut: dt.date, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Every value after ``cut`` scrambled: random price factors, volume spikes, new flows and index, a new
    symbol listed after the cut, and some later bars deleted (a halt)."""
    bars, flows, index = (x.copy() for x in market)
    rng = np.random.default_rng(seed)
    late = bars["trading_date"] > cut
    k = int(late.sum())
    factor = rng.uniform(0.5, 2.0, k)
    for col in ("open", "high", "low", "close"):
        bars.loc[late, col] = np.round(bars.loc[late, col].to_numpy() * factor)
    bars.loc[late, "volume"] = bars.loc[late, "volume"].to_numpy() * rng.integers(1, 50, k)
    bars.loc[late, "value"] = bars.loc[late, "value"].to_numpy() * 3
    bars.loc[late, "vwap"] = np.nan
    late_f = flows["trading_date"] > cut
    for col in ("buy_value", "sell_value", "room_remaining"):
        flows.loc[late_f, col] = flows.loc[late_f, col].to_numpy() * rng.uniform(0, 5, int(late_f.sum()))
    later_days = index.index > cut
    index[later_days] = index[later_days].to_numpy() * rng.uniform(0.8, 1.2, int(later_days.sum()))
    newcomer = bars[late & (bars["symbol"] == "S0000")].assign(symbol="ZZZ")
    bars = pd.concat([bars, newcomer], ignore_index=True)
    dropped = bars[bars["trading_date"] > cut].sample(frac=0.1, random_state=seed).index
    return bars.drop(dropped), flows, index


def test_features_up_to_d_ignore_the_future(market: tuple[pd.DataFrame, pd.DataFrame, pd.Series]) -> None:
    cut = _cut(market)
    start = sorted(market[0]["trading_date"].unique())[100]
    base = compute_features(*market, start=start)
    past = base[base["trading_date"] <= cut].reset_index(drop=True)
    assert len(past) > 0 and past["trading_date"].nunique() == 151
    for seed in (1, 2):
        other = compute_features(*_perturbed_future(market, cut, seed), start=start)
        assert not other[other["trading_date"] > cut]["roc_5"].equals(base[base["trading_date"] > cut]["roc_5"])
        assert_frame_equal(other[other["trading_date"] <= cut].reset_index(drop=True), past, check_exact=True)
    # Truncating the input at D is the extreme case of "the future changed".
    bars, flows, index = market
    truncated = compute_features(bars[bars["trading_date"] <= cut], flows, index[index.index <= cut], start=start)
    assert_frame_equal(truncated, past, check_exact=True)


def _actions(rows: list[tuple[dt.date, str, float, int, int]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["ex_date", "symbol", "ratio", "reference_before", "reference_after"])
    return frame.assign(kind="stock_dividend")[
        ["ex_date", "symbol", "kind", "ratio", "reference_before", "reference_after"]
    ]


def test_adjust_prices_forward_and_point_in_time(market: tuple[pd.DataFrame, pd.DataFrame, pd.Series]) -> None:
    bars = market[0]
    days = sorted(bars["trading_date"].unique())
    cut = days[200]
    known = _actions([(days[50], "S0001", 0.2, 12_000, 10_000), (days[120], "S0001", 0.1, 11_000, 10_000)])
    adjusted = adjust_prices(bars, known)
    # Forward: before the first ex-date nothing moves; from each ex-date on, prices × and volume ÷ the factor.
    s1 = bars["symbol"] == "S0001"
    factor = np.select(
        [bars["trading_date"] < days[50], bars["trading_date"] < days[120]], [1.0, 1.2], default=1.2 * 1.1
    )
    factor = np.where(s1, factor, 1.0)
    np.testing.assert_allclose(adjusted["close"], bars["close"] * factor, rtol=1e-15)
    np.testing.assert_allclose(adjusted["volume"], bars["volume"] / factor, rtol=1e-15)
    assert (adjusted["value"] == bars["value"]).all()
    assert adjusted["close"].dtype == np.float64 and adjusted["volume"].dtype == np.float64
    assert (adjusted.loc[~s1, "close"] == bars.loc[~s1, "close"]).all()
    # A new action after D (and one for another symbol) leaves every row <= D exactly as it was.
    future = pd.concat(
        [known, _actions([(days[250], "S0001", 0.5, 15_000, 10_000), (days[201], "S0002", 1.0, 20_000, 10_000)])]
    )
    later = adjust_prices(bars, future)
    upto = bars["trading_date"] <= cut
    assert_frame_equal(later[upto], adjusted[upto], check_exact=True)
    assert not later[~upto].equals(adjusted[~upto])


def test_adjust_prices_falls_back_to_ratio_and_keeps_rows() -> None:
    bars, _, _ = random_market(2, 30, seed=3)
    day = sorted(bars["trading_date"].unique())[10]
    actions = _actions([(day, "S0000", 0.25, 0, 0)])
    adjusted = adjust_prices(bars.sample(frac=1.0, random_state=0), actions)  # order preserved, whatever it is
    on = (adjusted["symbol"] == "S0000") & (adjusted["trading_date"] >= day)
    original = bars.loc[adjusted.index]
    np.testing.assert_allclose(adjusted.loc[on, "close"], original.loc[on, "close"] * 1.25)
    assert list(adjusted.index) == list(original.index)
    untouched = ["trading_date", "symbol", "value", "source"]
    assert_frame_equal(adjust_prices(bars, actions.iloc[:0])[untouched], bars[untouched])


def test_adjust_prices_on_simulated_stock_dividends() -> None:
    """The simulator's ex-date cuts (reference_before → reference_after) vanish from the adjusted closes."""
    from vn_pipeline.lib.sources.simulator.market import MarketSimulator, SimulatorConfig

    sim = MarketSimulator(SimulatorConfig(universe="vn30", n_symbols=30))
    first, last = dt.date(2019, 1, 2), dt.date(2019, 12, 31)
    bars, actions = sim.daily_bars(first, last), sim.corporate_actions(first, last)
    assert len(actions) > 0
    adjusted = adjust_prices(bars, actions).sort_values(["symbol", "trading_date"])
    raw = bars.loc[adjusted.index]
    ret_raw = raw.groupby("symbol")["close"].pct_change()
    ret_adj = adjusted.groupby("symbol")["close"].pct_change()
    on_ex = adjusted.set_index(["trading_date", "symbol"]).index.isin(actions.set_index(["ex_date", "symbol"]).index)
    assert ret_raw[on_ex].min() < -0.1  # the raw series shows the dividend as a crash ...
    assert ret_adj[on_ex].abs().max() < 0.08  # ... the adjusted one moves like any HOSE day (±7% band)
