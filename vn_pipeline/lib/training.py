"""Training entry point named in DESIGN.md; the implementation lives in the small modules of lib/ml/."""

from vn_pipeline.lib.ml import (
    DEFAULT_PARAMS,
    Split,
    TrainedModel,
    data_hash,
    feature_columns,
    optuna_search,
    predict_for_day,
    predict_walk_forward,
    qualifies,
    rows_of,
    select_model,
    train_lgbm,
    walk_forward_splits,
    walk_forward_train,
)

__all__ = [
    "DEFAULT_PARAMS",
    "Split",
    "TrainedModel",
    "data_hash",
    "feature_columns",
    "optuna_search",
    "predict_for_day",
    "predict_walk_forward",
    "qualifies",
    "rows_of",
    "select_model",
    "train_lgbm",
    "walk_forward_splits",
    "walk_forward_train",
]
