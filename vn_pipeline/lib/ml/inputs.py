"""What training and evaluation read from the warehouse: features with T+2-consistent labels, and the stored
predictions scored against the labels their models were trained on."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import psycopg

from vn_pipeline.lib.features.inputs import adjusted_bars, stored_span
from vn_pipeline.lib.ml.evaluation import EvaluationReport, evaluate
from vn_pipeline.lib.ml.labels import make_labels
from vn_pipeline.lib.ml.registry import load_models
from vn_pipeline.lib.warehouse.reads import read_partition


def training_data(
    conn: psycopg.Connection[Any], start: date, end: date, horizon: int, entry: str, normalization: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Features and T+2-consistent labels on dividend-adjusted prices, for [start, end]."""
    features = read_partition(conn, "features.daily", start, end)
    bars = adjusted_bars(conn, start, end)
    labels = make_labels(bars, entry=entry, horizon_days=horizon, cross_sectional=normalization)  # type: ignore[arg-type]
    return features, labels


def evaluate_predictions(conn: psycopg.Connection[Any]) -> tuple[EvaluationReport, pd.DataFrame, date, date]:
    """Every stored prediction against the realized labels of the models' own label definition (horizon, entry,
    normalisation), with coverage of the tradable names: (report, daily IC with coverage, first, last day)."""
    first, last = stored_span(conn, "ml.predictions")
    preds = read_partition(conn, "ml.predictions", first, last)
    model = load_models(conn, sorted(set(preds["model_id"])))[-1]  # the label the models were trained on
    label = (model.horizon_days, model.extra.get("entry", "open"), model.extra.get("label_normalization"))
    _, labels = training_data(conn, first, stored_span(conn, "market.ohlcv_1d")[1], *label)
    tradable = read_partition(conn, "market.ohlcv_1d", first, last, columns=["trading_date", "symbol"])
    report = evaluate(preds, labels, tradable=tradable, horizon_days=model.horizon_days)
    daily = report.daily.merge(report.coverage, on="trading_date", how="left")
    return report, daily, first, last
