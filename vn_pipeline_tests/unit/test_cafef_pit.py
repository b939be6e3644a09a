"""Point in time on real CafeF history: the corporate actions read off the vendor's adjusted close for days up to D,
and the bars and features they adjust, are what was known on D whatever happens after it."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from vn_pipeline.lib.features import adjust_prices, compute_features
from vn_pipeline.lib.sources.vendors.cafef_adjustments import corporate_actions_from_adjustment
from vn_pipeline.lib.sources.vendors.cafef_files import read_cafef_prices
from vn_pipeline_tests.real_data import VN_REAL, needs_vn_real

pytestmark = needs_vn_real
SYMBOLS = ("ACB", "VCB", "VNM", "HAP", "SHC")  # a bank that changed board, big caps, small caps with odd events
CUT = date(2019, 6, 28)
BARS = ["trading_date", "symbol", "open", "high", "low", "close", "volume", "value"]


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    frames = [read_cafef_prices(VN_REAL / "cafef" / s / "PriceHistory.csv")[0] for s in SYMBOLS]
    return pd.concat(frames, ignore_index=True)


def _future_rewritten(prices: pd.DataFrame) -> pd.DataFrame:
    """Every row after CUT moved: prices by a random factor (the adjusted close with them: no new event), volumes
    and values scaled, a tenth of the rows gone. (A new event would make the vendor re-adjust and re-round every
    earlier row: what that does to an old event's estimate is the rounding bound asserted below.)"""
    out = prices.copy()
    rng = np.random.default_rng(7)
    late = (out["trading_date"] > CUT).to_numpy()
    move = rng.uniform(0.6, 1.6, int(late.sum()))
    for column in ("open", "high", "low", "close"):
        out.loc[late, column] = np.rint(out.loc[late, column].to_numpy() * move / 100) * 100
    ratio = out.loc[late, "close"].to_numpy() / prices.loc[late, "close"].to_numpy()
    out.loc[late, "adj_close"] = np.rint(out.loc[late, "adj_close"].to_numpy() * ratio / 10) * 10
    out.loc[late, ["volume", "value"]] = out.loc[late, ["volume", "value"]].to_numpy() * 3
    dropped = out[late].sample(frac=0.1, random_state=3).index
    return out.drop(dropped).reset_index(drop=True)


def _early(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["trading_date"] <= CUT].sort_values(["symbol", "trading_date"]).reset_index(drop=True)


def _events(prices: pd.DataFrame) -> pd.DataFrame:
    return corporate_actions_from_adjustment(prices)


def _adjusted_and_features(prices: pd.DataFrame, actions: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    bars = prices[BARS].assign(vwap=np.nan).sort_values(["symbol", "trading_date"]).reset_index(drop=True)
    adjusted = adjust_prices(bars, actions.rename(columns={"trading_date": "ex_date"}))
    return _early(adjusted), _early(compute_features(adjusted, None, None))


def test_the_events_up_to_d_are_those_known_on_d(prices: pd.DataFrame) -> None:
    """Same ex-dates, and each event the announced number explains (cash, stock, rights) the same; an ``unknown``
    event's factor is pinned by the vendor's 10 VND rounding of later rows too, so it may move by one such step of
    the ex-date's adjusted close, relative."""
    before, after = _early(_events(prices)), _early(_events(_future_rewritten(prices)))
    assert len(before) > 50
    assert before[["trading_date", "symbol"]].equals(after[["trading_date", "symbol"]])
    known = (before["kind"] != "unknown") & (after["kind"] != "unknown")
    assert known.mean() > 0.6
    assert_frame_equal(before[known], after[known])
    # at most one 10 VND rounding step of the ex-date's adjusted close, relative: the vendor's own precision
    ex_adj = before.merge(prices, on=["trading_date", "symbol"], how="left")["adj_close"].to_numpy()
    moved = (before["reference_after"] - after["reference_after"]).abs() / before["reference_before"]
    assert (moved.to_numpy() <= 10 / ex_adj).all() and (moved > 0).sum() <= (~known).sum()


def test_the_adjusted_bars_and_features_up_to_d_do_not_see_after_it(prices: pd.DataFrame) -> None:
    actions = _events(prices)
    known_on_d = actions[actions["trading_date"] <= CUT]
    later = _future_rewritten(prices)
    for a, b in zip(_adjusted_and_features(prices, actions), _adjusted_and_features(later, known_on_d), strict=True):
        assert len(a) > 5 * 2_000
        assert_frame_equal(a, b)
