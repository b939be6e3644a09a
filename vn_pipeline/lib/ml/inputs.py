"""What training and evaluation read from the warehouse: the features of each day's universe members with
T+2-consistent labels, and the stored predictions scored against the labels their models were trained on."""

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

KEYS = ["trading_date", "symbol"]


def universe_features(conn: psycopg.Connection[Any], start: date, end: date) -> pd.DataFrame:
    """The feature rows of [start, end] whose symbol is in that day's features.universe. Features without any
    universe row in the window are an error, not an empty result: the universe was not materialized."""
    members = read_partition(conn, "features.universe", start, end, columns=KEYS)
    if not len(members) and len(read_partition(conn, "features.daily", start, end, columns=KEYS)):
        raise ValueError(f"features.universe has no rows for {start} → {end}: materialize features/universe")
    # Filtered in the server: the full market's features are ~16 times its universe's.
    features = read_partition(conn, "features.daily", start, end, within="features.universe")
    return features.sort_values(KEYS, kind="stable").reset_index(drop=True)


# What a label reads of a bar: its prices (entry at the open or the VWAP, exit at the close).
_LABEL_COLUMNS = ["trading_date", "symbol", "open", "close", "vwap", "value", "volume"]


def _labels(
    conn: psycopg.Connection[Any],
    members: pd.DataFrame,
    end: date,
    horizon: int,
    entry: str,
    normalization: str | None,
) -> pd.DataFrame:
    """Labels of each day's universe members. Their bars are read over the whole window, not only their member
    days (an exit may fall on a day the name has left the universe), and only theirs: on the full market the other
    names' bars are most of the rows and no label of theirs is ever used. ``members``: features.universe rows
    from the first day to label; ``end``: the last bar an exit may use."""
    start = members["trading_date"].min() if len(members) else end
    bars = adjusted_bars(conn, start, end, columns=_LABEL_COLUMNS, symbols=sorted(set(members["symbol"])))
    return make_labels(bars, entry=entry, horizon_days=horizon, cross_sectional=normalization, within=members)  # type: ignore[arg-type]


def training_data(
    conn: psycopg.Connection[Any], start: date, end: date, horizon: int, entry: str, normalization: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The universe members' features and T+2-consistent labels on dividend-adjusted prices, for [start, end]."""
    members = read_partition(conn, "features.universe", start, end, columns=KEYS)
    return universe_features(conn, start, end), _labels(conn, members, end, horizon, entry, normalization)


def evaluate_predictions(conn: psycopg.Connection[Any]) -> tuple[EvaluationReport, pd.DataFrame, date, date]:
    """Every stored prediction against the realized labels of the models' own label definition (horizon, entry,
    normalisation), with coverage of each day's universe: (report, daily IC with coverage, first, last day)."""
    first, last = stored_span(conn, "ml.predictions")
    preds = read_partition(conn, "ml.predictions", first, last)
    model = load_models(conn, sorted(set(preds["model_id"])))[-1]  # the label the models were trained on
    label = (model.horizon_days, model.extra.get("entry", "open"), model.extra.get("label_normalization"))
    # Coverage of the names the model was meant to score: each day's universe, whose labels are scored.
    tradable = read_partition(conn, "features.universe", first, last, columns=KEYS)
    labels = _labels(conn, tradable, stored_span(conn, "market.ohlcv_1d")[1], *label)
    report = evaluate(preds, labels, tradable=tradable, horizon_days=model.horizon_days)
    daily = report.daily.merge(report.coverage, on="trading_date", how="left")
    # Which model each day's IC is of: the one that scored most of that day's names (one, unless a day mixes).
    day_model = preds.groupby("trading_date")["model_id"].agg(lambda ids: ids.value_counts().index[0])
    daily = daily.merge(day_model.reset_index(), on="trading_date", how="left")
    return report, daily, first, last
