"""Trained models in the warehouse (ml.models): every model ever trained can be reloaded and re-scored."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pandas as pd
import psycopg

from vn_pipeline.lib.ml.evaluation import monthly_series
from vn_pipeline.lib.ml.model_store import TrainedModel
from vn_pipeline.lib.warehouse.writes import write_partition


def save_models(
    conn: psycopg.Connection[Any],
    models: list[TrainedModel],
    metrics: dict[str, dict] | None = None,
    approved: bool = False,
) -> int:
    """Insert models by content address: saving the same model twice keeps one row, with the latest metrics and
    approval (the gate's decision, stored in ml.models.approved: its one home)."""
    with conn.transaction(), conn.cursor() as cur:
        for model in models:
            record = model.to_record()
            metadata = json.loads(record["metadata"])
            # out-of-sample metrics ride in `extra`, so a reloaded model still carries them
            metadata["extra"] = {**metadata.get("extra", {}), **(metrics or {}).get(model.model_id, {})}
            cur.execute(
                "INSERT INTO ml.models (model_id, train_start, train_end, valid_end, data_end, metadata, model_text,"
                " approved) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (model_id) DO UPDATE SET metadata = EXCLUDED.metadata, approved = EXCLUDED.approved",
                (model.model_id, model.train_start, model.train_end, model.valid_end, model.data_end,
                 json.dumps(metadata, default=str), record["model_text"], approved),
            )  # fmt: skip
    return len(models)


def load_models(
    conn: psycopg.Connection[Any], model_ids: list[str] | None = None, approved_only: bool = False
) -> list[TrainedModel]:
    """Models from ml.models (all, or the given ids; only the approved ones with ``approved_only``), rebuilt from
    LightGBM's text and their metadata."""
    query = "SELECT model_id, metadata, model_text FROM ml.models WHERE (%s OR approved)"
    params: tuple = (not approved_only,)
    if model_ids is not None:
        query += " AND model_id = ANY(%s)"
        params = (*params, model_ids)
    rows = conn.execute(query + " ORDER BY valid_end, model_id", params).fetchall()
    return [
        TrainedModel.from_record({"model_id": mid, "metadata": json.dumps(meta), "model_text": text})
        for mid, meta, text in rows
    ]


def model_approvals(conn: psycopg.Connection[Any], model_ids: list[str]) -> dict[str, bool]:
    """The stored approval of each of ``model_ids`` that ml.models holds."""
    rows = conn.execute("SELECT model_id, approved FROM ml.models WHERE model_id = ANY(%s)", (model_ids,))
    return dict(rows.fetchall())


def evaluation_by_year(conn: psycopg.Connection[Any]) -> list[tuple[int, int, float, float, float, float]]:
    """Per calendar year of evaluated days: (year, days, mean IC, IC std, mean Rank IC, Rank IC std)."""
    return conn.execute(
        "SELECT extract(year FROM trading_date)::int, count(*), avg(ic), stddev_samp(ic), avg(rank_ic),"
        " stddev_samp(rank_ic) FROM ml.evaluation_daily GROUP BY 1 ORDER BY 1"
    ).fetchall()


def evaluation_totals(conn: psycopg.Connection[Any]) -> tuple[int, float, float, float, float, float]:
    """Over every evaluated day: (days, mean IC, IC std, mean Rank IC, Rank IC std, mean coverage)."""
    return conn.execute(
        "SELECT count(*), avg(ic), stddev_samp(ic), avg(rank_ic), stddev_samp(rank_ic), avg(coverage)"
        " FROM ml.evaluation_daily"
    ).fetchone()


def save_evaluation(
    conn: psycopg.Connection[Any], daily: pd.DataFrame, monthly: pd.DataFrame, first: date, last: date
) -> tuple[int, int]:
    """ml/evaluation's series over the predictions' span [first, last], in one transaction: the daily IC rows
    (ml.evaluation_daily) and the monthly table (``monthly_ic``, into ml.evaluation_monthly). Both replace the
    span's rows, so a re-run never duplicates; returns (daily rows, monthly rows)."""
    months = monthly_series(monthly)
    with conn.transaction():
        n_daily = write_partition(conn, "ml.evaluation_daily", daily, first, last)
        n_monthly = write_partition(conn, "ml.evaluation_monthly", months, first.replace(day=1), last, "month")
    return n_daily, n_monthly
