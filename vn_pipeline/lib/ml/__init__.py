"""Model training and scoring (no Dagster): walk-forward splits, LightGBM, model records, day scoring."""

from vn_pipeline.lib.ml.model_store import TrainedModel, data_hash
from vn_pipeline.lib.ml.predict import predict_for_day, predict_walk_forward, qualifies, select_model
from vn_pipeline.lib.ml.train import DEFAULT_PARAMS, feature_columns, optuna_search, train_lgbm, walk_forward_train
from vn_pipeline.lib.ml.walk_forward import Split, rows_of, walk_forward_splits

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
