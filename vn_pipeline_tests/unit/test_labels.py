"""Labels: T+2-aware alignment on hand-made series, trading-day offsets, NaNs, separation from features."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from vn_pipeline.lib.ml.labels import join_features_labels, label_end_date, label_span, make_labels

# Thu 25 / Fri 26 Apr 2024, then the exchange was closed Mon 29 Apr (bridge day) to Wed 1 May; Thu 2 May ...
DAYS = [dt.date(2024, 4, 25), dt.date(2024, 4, 26), dt.date(2024, 5, 2), dt.date(2024, 5, 3), dt.date(2024, 5, 6),
        dt.date(2024, 5, 7)]  # fmt: skip


def _bars() -> pd.DataFrame:
    rows = []
    for i, d in enumerate(DAYS):
        # distinct prices per day and field so every alignment mistake changes the number
        rows.append((d, "AAA", 1000 + 10 * i, 1005 + 10 * i, 1000 * (i + 1), (1002 + 10 * i) * 1000 * (i + 1)))
        if d != DAYS[3]:  # BBB does not trade on 2024-05-03
            rows.append((d, "BBB", 2000 + 20 * i, 2010 + 20 * i, 500, (2004 + 20 * i) * 500))
    return pd.DataFrame(rows, columns=["trading_date", "symbol", "open", "close", "volume", "value"])


def test_default_label_enters_next_open_and_exits_close_of_d_plus_3_skipping_holidays() -> None:
    lab = make_labels(_bars()).set_index(["trading_date", "symbol"])
    # D = Fri 26 Apr: entry Thu 2 May open (i=2), exit close of Mon 6 May (i=4): 29 Apr - 1 May are closed.
    row = lab.loc[(DAYS[1], "AAA")]
    assert row["entry_date"] == DAYS[2] and row["exit_date"] == DAYS[4]
    assert row["label"] == pytest.approx((1005 + 40) / (1000 + 20) - 1)
    # D = Thu 25 Apr: entry Fri 26 open, exit Fri 3 May close
    assert lab.loc[(DAYS[0], "AAA"), "label"] == pytest.approx((1005 + 30) / (1000 + 10) - 1)
    assert lab.loc[(DAYS[0], "AAA"), "exit_date"] == label_end_date(DAYS[0], 2, DAYS) == DAYS[3]
    assert label_end_date(DAYS[1]) == DAYS[4]  # the exchange calendar agrees with the bars' axis


def test_missing_entry_or_exit_bar_gives_nan_and_tail_has_no_label() -> None:
    lab = make_labels(_bars()).set_index(["trading_date", "symbol"])
    assert np.isnan(lab.loc[(DAYS[0], "BBB"), "label"])  # exit day 3 May: BBB did not trade
    assert np.isnan(lab.loc[(DAYS[2], "BBB"), "label"])  # entry day 3 May: no fill, no return
    assert lab.loc[(DAYS[1], "BBB"), "label"] == pytest.approx((2010 + 80) / (2000 + 40) - 1)
    for d in DAYS[-3:]:  # the last span days have no exit bar in the data yet
        assert np.isnan(lab.loc[(d, "AAA"), "label"])


def test_vwap_entry_and_exit_and_horizon() -> None:
    bars = _bars()
    lab = make_labels(bars, entry="vwap", exit_price="vwap", horizon_days=1).set_index(["trading_date", "symbol"])
    assert lab.loc[(DAYS[0], "AAA"), "exit_date"] == DAYS[2]
    assert lab.loc[(DAYS[0], "AAA"), "label"] == pytest.approx((1002 + 20) / (1002 + 10) - 1)
    explicit = bars.assign(vwap=bars["value"] / bars["volume"]).drop(columns=["value", "volume"])
    again = make_labels(explicit, entry="vwap", exit_price="vwap", horizon_days=1).set_index(["trading_date", "symbol"])
    pd.testing.assert_series_equal(lab["label"], again["label"])
    with pytest.raises(ValueError, match="vwap"):
        make_labels(bars.drop(columns=["value"]), entry="vwap")


def test_cross_sectional_standardisation() -> None:
    rng = np.random.default_rng(0)
    days = pd.bdate_range("2024-01-01", periods=10).date
    bars = pd.DataFrame(
        [(d, f"S{i}", 100 + rng.integers(0, 50), 100 + rng.integers(0, 50)) for d in days for i in range(8)],
        columns=["trading_date", "symbol", "open", "close"],
    )
    z = make_labels(bars, cross_sectional="zscore").dropna()
    assert z.groupby("trading_date")["label"].mean().abs().max() < 1e-12
    assert np.allclose(z.groupby("trading_date")["label"].std(), 1.0)
    r = make_labels(bars, cross_sectional="rank").dropna()
    assert r["label"].between(0, 1).all()


def test_labels_within_a_universe_keep_its_rows_exit_off_it_and_standardise_across_it() -> None:
    bars = _bars()
    # AAA is a member on 25 and 26 Apr only: its labels still exit on 3 and 6 May, days it is not a member.
    within = pd.DataFrame({"trading_date": [DAYS[0], DAYS[1]], "symbol": ["AAA", "AAA"]})
    raw = make_labels(bars).set_index(["trading_date", "symbol"])["label"]
    kept = make_labels(bars, within=within).set_index(["trading_date", "symbol"])["label"]
    assert list(kept.index) == [(DAYS[0], "AAA"), (DAYS[1], "AAA")]
    assert np.isfinite(kept).all() and np.allclose(kept, raw.loc[kept.index])
    # On 26 Apr AAA and BBB earn the same, so across the market AAA ranks 0.75; across the universe (AAA alone) 1.0.
    market = make_labels(bars, cross_sectional="rank").set_index(["trading_date", "symbol"])["label"]
    universe = make_labels(bars, cross_sectional="rank", within=within).set_index(["trading_date", "symbol"])
    assert market[(DAYS[1], "AAA")] == 0.75 and universe["label"][(DAYS[1], "AAA")] == 1.0


def test_label_span_and_end_date_errors() -> None:
    assert label_span(2) == 3
    with pytest.raises(ValueError, match="beyond"):
        label_end_date(DAYS[-1], 2, DAYS)
    with pytest.raises(ValueError, match="not on"):
        label_end_date(dt.date(2024, 4, 30), 2, DAYS)


def test_join_keeps_labels_out_of_features_and_refuses_label_columns() -> None:
    lab = make_labels(_bars())
    feats = _bars()[["trading_date", "symbol"]].assign(f1=1.0, f2=np.arange(len(_bars()), dtype=float))
    x, y = join_features_labels(feats, lab)
    assert list(x.columns) == ["trading_date", "symbol", "f1", "f2"]
    assert list(y.columns) == ["trading_date", "symbol", "label", "entry_date", "exit_date"]
    assert (x[["trading_date", "symbol"]].to_numpy() == y[["trading_date", "symbol"]].to_numpy()).all()
    for bad in ("label", "label_zscore", "fwd_ret_2", "exit_date"):
        with pytest.raises(ValueError, match="look-ahead"):
            join_features_labels(feats.assign(**{bad: 0.0}), lab)
