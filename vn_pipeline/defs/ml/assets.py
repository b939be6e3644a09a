"""ml/models, ml/predictions, ml/evaluation: walk-forward LightGBM on the feature matrix, scored daily."""

from datetime import date
from typing import Literal

import dagster as dg
import pandas as pd

from vn_pipeline.defs.common import (
    COMMON,
    CORPORATE_ACTIONS,
    FEATURES_DAILY,
    FEATURES_UNIVERSE,
    MODELS,
    OHLCV_1D,
    PREDICTIONS,
    chart,
    logged_result,
    table,
    window,
)
from vn_pipeline.defs.resources import WarehouseResource
from vn_pipeline.lib.ml.evaluation import evaluate, plot_ic
from vn_pipeline.lib.ml.gate import approve
from vn_pipeline.lib.ml.inputs import evaluate_predictions, training_data, universe_features
from vn_pipeline.lib.ml.labels import Entry
from vn_pipeline.lib.ml.predict import predict_walk_forward, score_window
from vn_pipeline.lib.ml.registry import load_models, save_evaluation, save_models
from vn_pipeline.lib.ml.train import walk_forward_train
from vn_pipeline.lib.ml.walk_forward import walk_forward_splits
from vn_pipeline.lib.paths import state_dir
from vn_pipeline.lib.warehouse.reads import stored_days

ML = {"group_name": "ml", "owners": ["team:research"], "kinds": {"timescaledb", "lightgbm"}}


class ModelConfig(dg.Config):
    """Walk-forward training. Dates default to everything in features.daily; windows are trading days."""

    start: str | None = None
    end: str | None = None
    horizon_days: int = 2
    entry: Entry = "open"  # or "vwap": the D+1 fill the label assumes
    # Cross-sectional, per day ("none": raw forward returns; Dagster's config enums cannot hold None).
    label_normalization: Literal["none", "zscore", "rank"] = "none"
    train_days: int = 120
    valid_days: int = 40
    test_days: int = 40
    mode: Literal["expanding", "rolling"] = "expanding"
    purge_days: int = 3
    embargo_days: int = 3
    num_leaves: int = 31
    learning_rate: float = 0.05
    feature_fraction: float = 0.8
    min_data_in_leaf: int = 50
    num_boost_round: int = 300
    early_stopping_rounds: int = 30
    tune: bool = False
    n_trials: int = 10
    seed: int = 0
    min_oos_rank_ic: float = 0.0

    @property
    def normalization(self) -> Literal["zscore", "rank"] | None:
        """The labels' normalisation as lib/ml/labels.py takes it (None: none)."""
        return None if self.label_normalization == "none" else self.label_normalization


def _window_of(warehouse: WarehouseResource, config: ModelConfig) -> tuple[date, date]:
    first, last = warehouse.date_span("features.daily")
    start = date.fromisoformat(config.start) if config.start else first
    end = date.fromisoformat(config.end) if config.end else last
    return start, end


@dg.asset(key=MODELS, deps=[FEATURES_DAILY, FEATURES_UNIVERSE, OHLCV_1D, CORPORATE_ACTIONS], **ML)
def trained_models(context: dg.AssetExecutionContext, config: ModelConfig, warehouse: WarehouseResource):
    """LightGBM models trained walk-forward on each day's universe members (purge and embargo ≥ the label
    horizon, early stopping on a validation window), each stored in ml.models with its window, features,
    parameters and data hash. The out-of-sample Rank IC over the splits' test windows is measured here and
    gates the predictions."""
    start, end = _window_of(warehouse, config)
    with warehouse.connect() as conn:
        features, labels = training_data(conn, start, end, config.horizon_days, config.entry, config.normalization)
    dates = sorted(features["trading_date"].unique())
    splits = walk_forward_splits(
        dates, config.train_days, config.valid_days, config.test_days, mode=config.mode,
        purge_days=config.purge_days, embargo_days=config.embargo_days, horizon_days=config.horizon_days,
    )  # fmt: skip
    if not splits:
        raise ValueError(f"{len(dates)} feature days are too few for train/valid/test windows of "
                         f"{config.train_days}/{config.valid_days}/{config.test_days} days")  # fmt: skip
    params = {"objective": "regression", "num_leaves": config.num_leaves, "learning_rate": config.learning_rate,
              "feature_fraction": config.feature_fraction, "min_data_in_leaf": config.min_data_in_leaf,
              "verbose": -1}  # fmt: skip
    models = walk_forward_train(
        features, labels, splits, params, config.num_boost_round, config.early_stopping_rounds,
        seed=config.seed, tune=config.tune, n_trials=config.n_trials,
    )  # fmt: skip
    test_days = [d for s in splits for d in dates if s.test_start <= d <= s.test_end]
    oos = predict_walk_forward(models, features, test_days, dates)
    report = evaluate(oos, labels, boosters=[m.booster for m in models], horizon_days=config.horizon_days)
    oos_rank_ic = report.summary.get("rank_ic_mean", float("nan"))
    approved = approve(oos_rank_ic, config.min_oos_rank_ic)  # decided here, once: ml.models.approved holds it
    metrics = {**report.summary, "min_oos_rank_ic": config.min_oos_rank_ic,
               "entry": config.entry, "label_normalization": config.normalization}  # fmt: skip
    with warehouse.connect() as conn:
        save_models(conn, models, {m.model_id: metrics for m in models}, approved=approved)
    context.log.info(f"ml/models: {len(models)} walk-forward models, OOS {report.summary}, approved {approved}")
    trained = pd.DataFrame(
        [
            {"model_id": m.model_id, "train": f"{m.train_start} → {m.train_end}", "valid_end": str(m.valid_end),
             "best_iteration": m.best_iteration}
            for m in models
        ]
    )  # fmt: skip
    return dg.MaterializeResult(
        metadata={
            "models": table(trained),
            "model_ids": [m.model_id for m in models],
            "oos_rank_ic": oos_rank_ic,
            "oos_summary": {k: float(v) for k, v in report.summary.items()},
            "min_oos_rank_ic": config.min_oos_rank_ic,
            "approved": approved,
            "feature_importance": table(report.importance.head(20)),
            "window": f"{start} → {end}",
        }
    )


@dg.asset(key=PREDICTIONS, deps=[FEATURES_DAILY, FEATURES_UNIVERSE, trained_models], **{**COMMON, **ML})
def predictions(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """A score for every member of each day's universe, from the newest model whose training data (label
    windows and embargo included) ended before that day. Days no model may score yet are left empty, and said so."""
    start, end = window(context)
    with warehouse.connect() as conn:
        features = universe_features(conn, start, end)
        models = load_models(conn, approved_only=True)
        dates = stored_days(conn, "features.daily", end)
    frame, days, scored = score_window(models, features, dates)
    if days > scored:
        context.log.warning(f"no model may score {days - scored} day(s) of {start} → {end} yet")
    warehouse.write_partition("ml.predictions", frame, start, end)
    return logged_result(context, frame, start, end, days_scored=scored)


@dg.asset(key=["ml", "evaluation"], deps=[predictions], **ML)
def evaluation(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """IC, ICIR, Rank IC and Rank ICIR of the stored predictions against realized T+2 labels, overall and per
    month, with coverage. For scale, Qlib's LightGBM on Alpha158/CSI300: IC 0.045, Rank IC 0.047; on real
    data an IC far above ~0.1 calls for a leakage hunt, not a celebration. The daily and monthly series are stored
    in ml.evaluation_daily and ml.evaluation_monthly."""
    with warehouse.connect() as conn:
        report, daily, first, last = evaluate_predictions(conn)
        if len(daily):
            save_evaluation(conn, daily, report.monthly, first, last)  # the series as data, for SQL and Grafana
    context.log.info(f"ml/evaluation: {report.summary}")
    return dg.MaterializeResult(
        metadata={
            "summary": table(pd.DataFrame([report.summary])),
            "monthly": table(report.monthly),
            "ic_plot": chart(plot_ic(report.daily), state_dir() / "reports" / "ml" / "ic.png"),
            **{k: float(v) for k, v in report.summary.items()},
        }
    )


ASSETS = [trained_models, predictions, evaluation]
