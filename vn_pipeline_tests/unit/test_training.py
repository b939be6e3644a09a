"""Walk-forward splits (purge/embargo), deterministic LightGBM, model records, point-in-time model choice."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from vn_pipeline.lib.market.calendar import trading_days
from vn_pipeline.lib.ml import (
    Split,
    TrainedModel,
    optuna_search,
    predict_for_day,
    rows_of,
    select_model,
    train_lgbm,
    walk_forward_splits,
)
from vn_pipeline.lib.ml.labels import label_span

DATES = trading_days(dt.date(2023, 1, 3), dt.date(2024, 6, 28))
SMALL = {"num_leaves": 7, "min_data_in_leaf": 40, "learning_rate": 0.1}


def _synthetic(n_symbols: int = 40, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A generic feature matrix (4 numeric columns, some NaN) and labels with exit dates on DATES.

    label = 0.3 * f1 + noise, so a model has something to learn.
    """
    rng = np.random.default_rng(seed)
    idx = pd.MultiIndex.from_product([DATES, [f"S{i:02d}" for i in range(n_symbols)]], names=["trading_date", "symbol"])
    x = pd.DataFrame(rng.standard_normal((len(idx), 4)), index=idx, columns=["f1", "f2", "f3", "f4"]).reset_index()
    x.loc[rng.random(len(x)) < 0.05, "f3"] = np.nan
    span = label_span(2)
    pos = {d: i for i, d in enumerate(DATES)}
    exit_i = x["trading_date"].map(pos) + span
    y = x[["trading_date", "symbol"]].copy()
    y["label"] = 0.3 * x["f1"] + rng.standard_normal(len(x))
    y["entry_date"] = [DATES[i - span + 1] if i < len(DATES) else None for i in exit_i]
    y["exit_date"] = [DATES[i] if i < len(DATES) else None for i in exit_i]
    y.loc[exit_i >= len(DATES), "label"] = np.nan
    return x, y


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    return _synthetic()


@pytest.fixture(scope="module")
def splits() -> list[Split]:
    return walk_forward_splits(DATES, train_days=120, valid_days=40, test_days=40, step_days=40)


@pytest.fixture(scope="module")
def model(data: tuple[pd.DataFrame, pd.DataFrame], splits: list[Split]) -> TrainedModel:
    return train_lgbm(*data, splits[0], SMALL, num_boost_round=60, early_stopping_rounds=10, seed=1)


@pytest.mark.parametrize("mode", ["expanding", "rolling"])
def test_splits_layout_purge_and_embargo(mode: str, data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    sp = walk_forward_splits(DATES, 100, 30, 20, step_days=20, mode=mode, purge_days=3, embargo_days=5)
    assert len(sp) >= 10
    pos = {d: i for i, d in enumerate(DATES)}
    _, y = data
    for s in sp:
        assert pos[s.train_end] - pos[s.train_start] + 1 == (100 if mode == "rolling" else pos[s.train_end] + 1)
        assert pos[s.valid_start] - pos[s.train_end] - 1 == 3  # purge gap
        assert pos[s.test_start] - pos[s.valid_end] - 1 == 5  # embargo gap
        train, valid = y[rows_of(y, s, "train")], y[rows_of(y, s, "valid")]
        # no training or validation label window (D .. exit_date) reaches the test period, nor train into valid
        assert (train["exit_date"] < s.valid_start).all() and (valid["exit_date"] < s.test_start).all()
        assert len(train) and len(valid)
    assert sp[0].train_start == DATES[0] and (mode == "expanding") == (sp[-1].train_start == DATES[0])
    assert [pos[s.test_start] for s in sp] == list(range(pos[sp[0].test_start], pos[sp[-1].test_start] + 1, 20))
    assert sp[-1].test_end <= DATES[-1]


def test_purge_also_drops_ragged_label_windows(data: tuple[pd.DataFrame, pd.DataFrame], splits: list[Split]) -> None:
    _, y = data
    s = splits[0]
    y = y.copy()
    late = y["trading_date"] == s.train_start
    y.loc[late, "exit_date"] = s.valid_start  # e.g. a label computed with a longer horizon
    assert not rows_of(y, s, "train")[late.to_numpy()].any()


@pytest.mark.parametrize(("purge", "embargo"), [(2, 3), (3, 2), (0, 0)])
def test_gaps_shorter_than_the_label_window_are_refused(purge: int, embargo: int) -> None:
    with pytest.raises(ValueError, match="label span"):
        walk_forward_splits(DATES, 100, 30, 20, purge_days=purge, embargo_days=embargo, horizon_days=2)
    walk_forward_splits(DATES, 100, 30, 20, purge_days=5, embargo_days=5, horizon_days=4)
    with pytest.raises(ValueError, match="label span"):
        walk_forward_splits(DATES, 100, 30, 20, purge_days=4, embargo_days=4, horizon_days=4)


def test_training_is_deterministic_and_learns(
    data: tuple[pd.DataFrame, pd.DataFrame], splits: list[Split], model: TrainedModel
) -> None:
    again = train_lgbm(*data, splits[0], SMALL, num_boost_round=60, early_stopping_rounds=10, seed=1)
    assert again.booster.model_to_string() == model.booster.model_to_string()
    assert again.model_id == model.model_id and again.data_hash == model.data_hash
    x, _ = data
    np.testing.assert_array_equal(again.predict(x.head(500)), model.predict(x.head(500)))
    gain = dict(zip(model.booster.feature_name(), model.booster.feature_importance("gain"), strict=True))
    assert max(gain, key=gain.get) == "f1"
    assert model.train_end == splits[0].train_end and model.data_end < splits[0].test_start
    assert model.data_end >= splits[0].valid_end  # validation labels are part of what it has seen
    other = train_lgbm(*_synthetic(seed=5), splits[0], SMALL, num_boost_round=60, early_stopping_rounds=10, seed=1)
    assert other.data_hash != model.data_hash


def test_record_roundtrip_rescores_identically(data: tuple[pd.DataFrame, pd.DataFrame], model: TrainedModel) -> None:
    rec = model.to_record()
    assert set(rec) == {"model_id", "model_text", "metadata"} and all(isinstance(v, str) for v in rec.values())
    back = TrainedModel.from_record(rec)
    x, _ = data
    np.testing.assert_array_equal(back.predict(x), model.predict(x))  # bit-identical, all rows
    assert back.metadata() == model.metadata()
    with pytest.raises(ValueError, match="does not match"):
        TrainedModel.from_record({**rec, "model_id": "0" * 16})


def test_predict_for_day_uses_only_models_whose_data_ended_before_day_minus_embargo(
    data: tuple[pd.DataFrame, pd.DataFrame], splits: list[Split], model: TrainedModel
) -> None:
    x, _ = data
    s0 = splits[0]
    pos = {d: i for i, d in enumerate(DATES)}
    first_ok = DATES[pos[s0.valid_end] + s0.embargo_days + 1]
    assert first_ok == s0.test_start
    out = predict_for_day([model], x, first_ok, DATES)
    assert list(out.columns) == ["trading_date", "symbol", "score", "model_id"]
    assert len(out) == 40 and out["score"].notna().all() and set(out["model_id"]) == {model.model_id}
    for too_early in (DATES[pos[first_ok] - 1], s0.valid_end, model.data_end, s0.train_end):
        with pytest.raises(ValueError, match="no model"):
            predict_for_day([model], x, too_early, DATES)
    # a model whose recorded label window reaches the day is refused even if its valid_end looks old enough
    leaky = dataclasses.replace(model, data_end=first_ok)
    with pytest.raises(ValueError, match="no model"):
        predict_for_day([leaky], x, first_ok, DATES)


def test_newest_qualifying_model_wins_and_nan_features_are_scored(
    data: tuple[pd.DataFrame, pd.DataFrame], splits: list[Split], model: TrainedModel
) -> None:
    x, y = data
    second = train_lgbm(x, y, splits[1], SMALL, num_boost_round=30, early_stopping_rounds=10, seed=1)
    assert select_model([second, model], splits[0].test_start, DATES) is model
    assert select_model([model, second], splits[1].test_start, DATES) is second
    day = splits[1].test_start
    holes = x[x["trading_date"] == day].copy()
    holes.loc[holes.index[:5], ["f1", "f2", "f3", "f4"]] = np.nan
    out = predict_for_day([model, second], holes, day, DATES)
    assert len(out) == len(holes) and out["score"].notna().all()


def test_optuna_search_small(data: tuple[pd.DataFrame, pd.DataFrame], splits: list[Split]) -> None:
    x, y = data
    small_x = x[x["trading_date"] < splits[0].test_start]
    p1 = optuna_search(small_x, y, splits[0], n_trials=3, seed=3, num_boost_round=20)
    p2 = optuna_search(small_x, y, splits[0], n_trials=3, seed=3, num_boost_round=20)
    assert p1 == p2 and {"learning_rate", "num_leaves", "min_data_in_leaf"} <= set(p1)
    m = train_lgbm(small_x, y, splits[0], p1, num_boost_round=20, early_stopping_rounds=5, seed=3)
    assert m.params["num_leaves"] == p1["num_leaves"]
