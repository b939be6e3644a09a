"""Checks over every stored trade of a window, computed where the trades are: millions of rows need not leave
the server to be summed or compared with their predecessor."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import psycopg
from psycopg import sql

from vn_pipeline.lib.warehouse.reads import read_frame
from vn_pipeline.lib.warehouse.writes import _qualified

RUNNING_TOTAL_RULE = "cum_volume[i] - cum_volume[i-1] >= volume[i] within each (trading_date, symbol)"


def running_total_breaks(
    conn: psycopg.Connection[Any], start: dt.date, end: dt.date, table: str = "market.raw_ticks"
) -> pd.DataFrame:
    """Trades that contradict the vendor's running total of their symbol-day: in trade order (seq) each total
    must grow by at least the trade's volume (more when the feed skipped trades). A smaller step means a trade
    counted twice or stamped out of order; ``gap`` is the step minus the volume (negative here)."""
    query = sql.SQL("""
        SELECT trading_date, symbol, seq, ts, volume, cum_volume, gap FROM (
            SELECT trading_date, symbol, seq, ts, volume, cum_volume,
                   cum_volume - coalesce(lag(cum_volume) OVER w, 0) - volume AS gap
            FROM {} WHERE trading_date >= %s AND trading_date <= %s
            WINDOW w AS (PARTITION BY trading_date, symbol ORDER BY seq)
        ) steps
        WHERE gap < 0 ORDER BY trading_date, symbol, seq
    """).format(_qualified(table))
    return read_frame(conn, query, (start, end))


def uncovered_shares(
    conn: psycopg.Connection[Any], start: dt.date, end: dt.date, table: str = "market.raw_ticks"
) -> tuple[int, int]:
    """Symbol-days whose running total counts shares no stored trade carries (a vendor file that starts
    mid-session, quarantined trades), and how many shares that is in all."""
    query = sql.SQL("""
        SELECT count(*), coalesce(sum(total - stored), 0)::bigint FROM (
            SELECT max(cum_volume) AS total, sum(volume) AS stored FROM {}
            WHERE trading_date >= %s AND trading_date <= %s GROUP BY trading_date, symbol
        ) days WHERE total > stored
    """).format(_qualified(table))
    days, shares = conn.execute(query, (start, end)).fetchone()
    return int(days), int(shares)


def volume_by_symbol_day(conn: psycopg.Connection[Any], table: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Total volume per (trading_date, symbol) of ``table`` in [start, end]."""
    query = sql.SQL("""
        SELECT trading_date, symbol, sum(volume)::bigint AS volume FROM {}
        WHERE trading_date >= %s AND trading_date <= %s GROUP BY trading_date, symbol
    """).format(_qualified(table))
    frame = read_frame(conn, query, (start, end))
    return frame if len(frame) else pd.DataFrame(columns=["trading_date", "symbol", "volume"])
