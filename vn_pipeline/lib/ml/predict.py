"""Scoring a day with the newest model that could have existed by then.

A model qualifies for day D only if everything it saw is in the past with an embargo:
    model.data_end < D                     (no label window of its train/valid rows reaches D), and
    model.valid_end <= D - embargo_days    (trading days; embargo >= label span, so data_end < D follows)
Among qualifying models the one with the latest valid_end wins. None qualifying -> ValueError: refusing to
score is better than silently using a model that has seen the answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from vn_pipeline.lib.market import calendar
from vn_pipeline.lib.ml.model_store import TrainedModel

PREDICTION_COLUMNS = ["trading_date", "symbol", "score", "model_id"]


def _shift_back(day: dt.date, n: int, dates: Sequence[dt.date] | None) -> dt.date | None:
    """The trading date n days before `day` (None if the axis does not go back that far)."""
    if n == 0:
        return day
    if dates is None:
        return calendar.previous_trading_day(day, n)
    before = [d for d in dates if d < day]
    return before[-n] if len(before) >= n else None


def qualifies(model: TrainedModel, day: dt.date, dates: Sequence[dt.date] | None = None) -> bool:
    cutoff = _shift_back(day, model.embargo_days, dates)
    return cutoff is not None and model.data_end < day and model.valid_end <= cutoff


def select_model(models: Sequence[TrainedModel], day: dt.date, dates: Sequence[dt.date] | None = None) -> TrainedModel:
    ok = [m for m in models if qualifies(m, day, dates)]
    if not ok:
        raise ValueError(f"no model's training data (incl. label windows and embargo) ends before {day}")
    return max(ok, key=lambda m: (m.valid_end, m.data_end, m.train_start, m.model_id))


def predict_for_day(
    models: Sequence[TrainedModel],
    features_of_day: pd.DataFrame,
    day: dt.date,
    dates: Sequence[dt.date] | None = None,
) -> pd.DataFrame:
    """Score every symbol of `day` in `features_of_day` with the newest qualifying model.

    `dates` is the trading-date axis used to count the embargo (default: the exchange calendar).
    Rows of other days in `features_of_day` are ignored; missing feature values are scored (NaN-aware trees).
    """
    model = select_model(models, day, dates)
    rows = features_of_day[features_of_day["trading_date"] == day].sort_values("symbol", ignore_index=True)
    return pd.DataFrame(
        {
            "trading_date": rows["trading_date"].to_numpy(),
            "symbol": rows["symbol"].to_numpy(),
            "score": model.predict(rows) if len(rows) else [],
            "model_id": model.model_id,
        },
        columns=PREDICTION_COLUMNS,
    )


def predict_walk_forward(
    models: Sequence[TrainedModel], features: pd.DataFrame, days: Sequence[dt.date], dates: Sequence[dt.date]
) -> pd.DataFrame:
    """predict_for_day over `days` (typically the union of the splits' test days), concatenated."""
    by_day = dict(tuple(features.groupby("trading_date", sort=False)))
    frames = [predict_for_day(models, by_day[d], d, dates) for d in days if d in by_day]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=PREDICTION_COLUMNS)


def score_window(
    models: Sequence[TrainedModel], features: pd.DataFrame, dates: Sequence[dt.date]
) -> tuple[pd.DataFrame, int, int]:
    """Scores for every day of ``features`` some model may score (see ``qualifies``), with (days in the window,
    days scored). Days no model may score yet are left without rows."""
    days = sorted(features["trading_date"].unique())
    usable = [d for d in days if any(qualifies(m, d, dates) for m in models)]
    empty = pd.DataFrame(columns=PREDICTION_COLUMNS)
    frame = predict_walk_forward(models, features, usable, dates) if usable else empty
    return frame, len(days), len(usable)


def reference_model(
    models: Sequence[TrainedModel], first_day: dt.date, dates: Sequence[dt.date]
) -> TrainedModel | None:
    """Of ``models`` (the approved ones), the newest whose training data (label windows and embargo included)
    ended before ``first_day``: the one ml/predictions would use there, and one that has seen nothing of the
    checked window."""
    usable = [m for m in models if qualifies(m, first_day, dates)]
    return max(usable, key=lambda m: (m.valid_end, m.data_end, m.train_start, m.model_id), default=None)
