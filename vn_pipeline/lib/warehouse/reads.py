"""Reads into pandas: parameterized queries only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd
import psycopg
from psycopg import sql

from vn_pipeline.lib.market.timezone import VN_TZ_NAME
from vn_pipeline.lib.warehouse.columns import ROW_KEY
from vn_pipeline.lib.warehouse.writes import _qualified

FETCH_ROWS = 50_000


def read_frame(
    conn: psycopg.Connection[Any],
    query: sql.Composable | str,
    params: Sequence[Any] | dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Run ``query`` with ``params`` and return the rows as a DataFrame (columns named as in the result).

    Rows are converted FETCH_ROWS at a time: as Python tuples every number is a 32-byte object behind a pointer
    where the frame keeps 8 bytes, so a wide read (features.daily: 230 columns) is several GB of tuples for a few
    hundred MB of frame if it is converted in one piece."""
    with conn.cursor() as cur:
        cur.execute(query, params)  # type: ignore[arg-type]  # a str here is the caller's literal SQL
        columns = [d.name for d in cur.description or []]
        chunks = [
            pd.DataFrame.from_records(rows, columns=columns) for rows in iter(lambda: cur.fetchmany(FETCH_ROWS), [])
        ]
    if not chunks:
        frame = pd.DataFrame.from_records([], columns=columns)
    elif len(chunks) == 1:
        frame = chunks[0]
    else:  # a column None throughout one chunk is object there: infer it again over all rows, as one read would
        frame = pd.concat(chunks, ignore_index=True).infer_objects()
    # timestamptz arrives as tz-aware datetimes: keep them as a proper datetime64 column, not objects, in the
    # market's zone (the session's zone is whatever the server's is)
    for name in columns:
        present = frame[name].dropna()
        if frame[name].dtype == object and len(present) and isinstance(first := present.iloc[0], dt.datetime):
            frame[name] = pd.to_datetime(frame[name], utc=first.tzinfo is not None)
        if isinstance(frame[name].dtype, pd.DatetimeTZDtype):
            frame[name] = frame[name].dt.tz_convert(VN_TZ_NAME)
    return frame


def read_partition(
    conn: psycopg.Connection[Any],
    table: str,
    start: dt.date,
    end: dt.date,
    columns: Sequence[str] | None = None,
    symbols: Sequence[str] | None = None,
    date_column: str = "trading_date",
    within: str | None = None,
) -> pd.DataFrame:
    """Rows of ``schema.table`` with ``date_column`` in [start, end], optionally only some symbols, or only the
    (trading_date, symbol) rows another table ``within`` holds (a day's universe)."""
    selected = sql.SQL(", ").join(sql.Identifier("t", c) for c in columns) if columns else sql.SQL("t.*")
    query = sql.SQL("SELECT {} FROM {} t WHERE t.{d} >= %s AND t.{d} <= %s").format(
        selected, _qualified(table), d=sql.Identifier(date_column)
    )
    params: list[Any] = [start, end]
    if symbols is not None:
        query += sql.SQL(" AND t.symbol = ANY(%s)")
        params.append(list(symbols))
    if within is not None:  # a semi-join in the server: rows outside it never cross the wire
        query += sql.SQL(
            " AND EXISTS (SELECT 1 FROM {} w WHERE w.trading_date = t.trading_date AND w.symbol = t.symbol)"
        ).format(_qualified(within))
    return read_frame(conn, query, params)


# A symbol suspended longer than this has no "previous close" a unit check could rely on.
_CLOSE_LOOKBACK_DAYS = 400


def closes_before(conn: psycopg.Connection[Any], start: dt.date, end: dt.date) -> pd.DataFrame:
    """Stored daily closes a window's days can be compared with: each symbol's last close before ``start`` and
    every close inside [start, end) (trading_date, symbol, close in VND)."""
    return read_frame(
        conn,
        """
        (SELECT DISTINCT ON (symbol) trading_date, symbol, close FROM market.ohlcv_1d
         WHERE trading_date < %(start)s AND trading_date >= %(since)s ORDER BY symbol, trading_date DESC)
        UNION ALL
        (SELECT trading_date, symbol, close FROM market.ohlcv_1d
         WHERE trading_date >= %(start)s AND trading_date < %(end)s)
        """,
        {"start": start, "end": end, "since": start - dt.timedelta(days=_CLOSE_LOOKBACK_DAYS)},
    )


def read_symbol_days(
    conn: psycopg.Connection[Any], table: str, keys: pd.DataFrame, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """The stored rows of ``table`` for exactly the (trading_date, symbol) pairs in ``keys``."""
    if keys.empty:
        return read_frame(conn, sql.SQL("SELECT * FROM {} WHERE false").format(_qualified(table)))
    rows = read_partition(
        conn, table, min(keys["trading_date"]), max(keys["trading_date"]), columns, symbols=sorted(set(keys["symbol"]))
    )
    wanted = pd.MultiIndex.from_frame(keys[list(ROW_KEY)])
    return rows[pd.MultiIndex.from_frame(rows[list(ROW_KEY)]).isin(wanted)].reset_index(drop=True)


def has_rows(conn: psycopg.Connection[Any], table: str) -> bool:
    return bool(conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(_qualified(table))).fetchone()[0])


def date_span(conn: psycopg.Connection[Any], table: str) -> tuple[dt.date | None, dt.date | None]:
    """First and last trading_date stored in ``table`` (None, None when it is empty)."""
    query = sql.SQL("SELECT min(trading_date), max(trading_date) FROM {}").format(_qualified(table))
    first, last = conn.execute(query).fetchone()
    return first, last


def stored_days(conn: psycopg.Connection[Any], table: str, until: dt.date) -> list[dt.date]:
    """The distinct trading days stored in ``table`` up to ``until``, ascending."""
    query = sql.SQL("SELECT DISTINCT trading_date FROM {} WHERE trading_date <= %s ORDER BY 1").format(
        _qualified(table)
    )
    return [row[0] for row in conn.execute(query, (until,))]


def row_counts(conn: psycopg.Connection[Any], tables: Sequence[str]) -> dict[str, int]:
    """Rows in each ``schema.table``."""
    return {
        table: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(_qualified(table))).fetchone()[0]
        for table in tables
    }
