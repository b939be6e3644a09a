"""market.quarantine: rows that broke a rule, kept with the rule and the reason instead of being dropped."""

from __future__ import annotations

from datetime import date

import pandas as pd
import psycopg

from vn_pipeline.lib.warehouse.writes import write_quarantine


def replace_quarantine(conn: psycopg.Connection, source_table: str, rows: pd.DataFrame, start: date, end: date) -> int:
    """Replace the quarantined rows of ``source_table`` for [start, end], so a re-run never duplicates them."""
    with conn.transaction():
        conn.execute(
            "DELETE FROM market.quarantine WHERE source_table = %s AND trading_date BETWEEN %s AND %s",
            (source_table, start, end),
        )
        return write_quarantine(conn, rows.to_dict("records"))


def read_quarantine(conn: psycopg.Connection, source_table: str, start: date, end: date) -> pd.DataFrame:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT trading_date, symbol, rule, detail, row_data FROM market.quarantine"
            " WHERE source_table = %s AND trading_date BETWEEN %s AND %s ORDER BY trading_date, symbol",
            (source_table, start, end),
        )
        return pd.DataFrame(cur.fetchall(), columns=["trading_date", "symbol", "rule", "detail", "row_data"])
