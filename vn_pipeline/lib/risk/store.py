"""Reads of the risk report's tables (risk.summary, risk.positions), parameterized."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import psycopg

from vn_pipeline.lib.warehouse.reads import read_frame


def load_summary(conn: psycopg.Connection[Any], start: date, end: date, metrics: list[str]) -> pd.DataFrame:
    """The named metrics of every strategy and day in [start, end] (long: trading_date, strategy, metric, value)."""
    return read_frame(
        conn,
        "SELECT trading_date, strategy, metric, value FROM risk.summary"
        " WHERE trading_date BETWEEN %s AND %s AND metric = ANY(%s)",
        (start, end, metrics),
    )


def latest_summary(conn: psycopg.Connection[Any]) -> tuple[date | None, str | None, dict[str, float]]:
    """The newest day's report: (day, strategy, metric → value); (None, None, {}) before any report."""
    rows = conn.execute(
        "SELECT trading_date, strategy, metric, value FROM risk.summary"
        " WHERE trading_date = (SELECT max(trading_date) FROM risk.summary) ORDER BY metric"
    ).fetchall()
    if not rows:
        return None, None, {}
    return rows[0][0], rows[0][1], {metric: value for *_, metric, value in rows}


def fullest_foreign_room(conn: psycopg.Connection[Any], day: date, strategy: str) -> tuple[str, float] | None:
    """The held name that has used the largest share of its foreign cap that day, if any cap is known."""
    return conn.execute(
        "SELECT symbol, foreign_room_usage FROM risk.positions WHERE trading_date = %s AND strategy = %s"
        " AND foreign_room_usage IS NOT NULL ORDER BY foreign_room_usage DESC LIMIT 1",
        (day, strategy),
    ).fetchone()
