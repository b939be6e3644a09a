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
