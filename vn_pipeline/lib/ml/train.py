"""LightGBM training on one walk-forward split, plus an optional Optuna search of its parameters.

Determinism: fixed seeds for every LightGBM random stream, deterministic=True, force_row_wise, and a small
fixed thread count; rows are sorted by (trading_date, symbol) before building the Dataset. Same inputs and
seed -> identical trees (tested).
"""

from __future__ import annotations

import logging
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from vn_pipeline.lib.ml.labels import join_features_labels
from vn_pipeline.lib.ml.model_store import KEYS, TrainedModel, data_hash
from vn_pipeline.lib.ml.walk_forward import Split, rows_of

# Close to Qlib's LightGBM Alpha158 benchmark settings, scaled down for daily cross-sections of 30-1,600 names.
DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "regression",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 100,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "verbosity": -1,
}
_DETERMINISM = {"deterministic": True, "force_row_wise": True, "num_threads": 2}


def feature_columns(features: pd.DataFrame) -> list[str]:
    """Every numeric column except the keys, in frame order."""
    return [c for c in features.columns if c not in KEYS and pd.api.types.is_numeric_dtype(features[c])]


def _part(
    x: pd.DataFrame, y: pd.DataFrame, split: Split, part: str, names: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    mask = rows_of(y, split, part) & y["label"].notna().to_numpy()  # type: ignore[arg-type]
    return x.loc[mask, [*KEYS, *names]], y.loc[mask]


def _seeded(params: dict[str, Any] | None, seed: int) -> dict[str, Any]:
    p = {**DEFAULT_PARAMS, **(params or {}), **_DETERMINISM}
    for key in ("seed", "bagging_seed", "feature_fraction_seed", "data_random_seed", "drop_seed"):
        p[key] = seed
    return p


def train_lgbm(
    features: pd.DataFrame,
    labels: pd.DataFrame,
    split: Split,
    params: dict[str, Any] | None = None,
    num_boost_round: int = 200,
    early_stopping_rounds: int = 20,
    seed: int = 0,
) -> TrainedModel:
    """Fit on the split's (purged) training rows, early-stop on its validation rows."""
    x, y = join_features_labels(features, labels)
    names = feature_columns(x)
    if not names:
        raise ValueError("no numeric feature columns")
    xt, yt = _part(x, y, split, "train", names)
    xv, yv = _part(x, y, split, "valid", names)
    if xt.empty or xv.empty:
        raise ValueError(f"split {split} has {len(xt)} training and {len(xv)} validation rows with labels")
    p = _seeded(params, seed)
    dtrain = lgb.Dataset(xt[names].to_numpy(dtype=float), yt["label"].to_numpy(dtype=float), feature_name=names)
    dvalid = lgb.Dataset(xv[names].to_numpy(dtype=float), yv["label"].to_numpy(dtype=float), reference=dtrain)
    booster = lgb.train(
        p,
        dtrain,
        num_boost_round=num_boost_round,
        valid_sets=[dvalid],
        valid_names=["valid"],
        callbacks=[lgb.early_stopping(early_stopping_rounds, verbose=False)],
    )
    best = booster.best_iteration if booster.best_iteration > 0 else booster.current_iteration()
    return TrainedModel(
        booster=booster,
        feature_names=names,
        params=p,
        train_start=split.train_start,
        train_end=split.train_end,
        valid_start=split.valid_start,
        valid_end=split.valid_end,
        data_end=max(yt["exit_date"].max(), yv["exit_date"].max()),
        best_iteration=int(best),
        data_hash=data_hash(xt, yt, xv, yv),
        horizon_days=split.horizon_days,
        embargo_days=split.embargo_days,
        num_boost_round=num_boost_round,
    )


def walk_forward_train(
    features: pd.DataFrame,
    labels: pd.DataFrame,
    splits: list[Split],
    params: dict[str, Any] | None = None,
    num_boost_round: int = 200,
    early_stopping_rounds: int = 20,
    seed: int = 0,
    tune: bool = False,
    n_trials: int = 10,
) -> list[TrainedModel]:
    """One model per split; with tune=True each split's params come from optuna_search first."""
    models = []
    for split in splits:
        p = optuna_search(features, labels, split, n_trials, seed, params, num_boost_round) if tune else params
        models.append(train_lgbm(features, labels, split, p, num_boost_round, early_stopping_rounds, seed))
    return models


def _valid_rank_ic(model: TrainedModel, features: pd.DataFrame, labels: pd.DataFrame, split: Split) -> float:
    x, y = join_features_labels(features, labels)
    xv, yv = _part(x, y, split, "valid", model.feature_names)
    frame = pd.DataFrame({"d": yv["trading_date"].to_numpy(), "s": model.predict(xv), "y": yv["label"].to_numpy()})
    ic = frame.groupby("d").apply(lambda g: g["s"].rank().corr(g["y"].rank()), include_groups=False)
    return float(np.nan_to_num(ic.mean()))


def optuna_search(
    features: pd.DataFrame,
    labels: pd.DataFrame,
    split: Split,
    n_trials: int = 20,
    seed: int = 0,
    base_params: dict[str, Any] | None = None,
    num_boost_round: int = 200,
) -> dict[str, Any]:
    """TPE search (seeded) maximising the validation-period mean daily Rank IC; returns the best params.

    The objective is the metric we report, not l2: a model can lower MSE by shrinking predictions without
    ranking stocks any better. It uses only the split's train/valid rows, never its test period.
    """
    import optuna  # imported lazily: the search is optional and optuna's import is slow

    optuna.logging.set_verbosity(logging.WARNING)
    base = {**(base_params or {})}

    def objective(trial: optuna.Trial) -> float:
        p = {
            **base,
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.2, log=True),
            "num_leaves": trial.suggest_int("num_leaves", 7, 127, log=True),
            "min_data_in_leaf": trial.suggest_int("min_data_in_leaf", 20, 500, log=True),
            "feature_fraction": trial.suggest_float("feature_fraction", 0.5, 1.0),
            "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 100.0, log=True),
        }
        model = train_lgbm(features, labels, split, p, num_boost_round, 20, seed)
        return _valid_rank_ic(model, features, labels, split)

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=n_trials)
    return {**base, **study.best_params}
