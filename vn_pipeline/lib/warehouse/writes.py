"""Idempotent partition writes: delete the partition's date window and binary-COPY the new rows, atomically."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from vn_pipeline.lib.market.timezone import VN_TZ
from vn_pipeline.lib.warehouse import binary_copy
from vn_pipeline.lib.warehouse.columns import ROW_KEY


class PartitionWriteError(ValueError):
    """The frame does not fit the table or the partition window; raised before anything is written."""


@dataclass(frozen=True)
class TableColumn:
    name: str
    type_oid: int
    type_name: str
    not_null: bool


def table_columns(conn: psycopg.Connection[Any], table: str) -> dict[str, TableColumn]:
    """Columns of ``schema.table`` in table order (from the catalog, so types come with their oids)."""
    rows = conn.execute(
        """
        SELECT a.attname, a.atttypid::int, format_type(a.atttypid, a.atttypmod), a.attnotnull
        FROM pg_attribute a
        WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum
        """,
        (table,),
    ).fetchall()
    if not rows:
        raise PartitionWriteError(f"table {table!r} does not exist (or has no columns)")
    return {name: TableColumn(name, oid, type_name, not_null) for name, oid, type_name, not_null in rows}


def _qualified(table: str) -> sql.Composed:
    schema, dot, name = table.partition(".")
    if not dot or not schema or not name or "." in name:
        raise PartitionWriteError(f"table must be given as 'schema.table', got {table!r}")
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(name))


TIME_COLUMN = "ts"
# Keys a table's rows are held to by this writer (see sql/012): a frame replaces its whole window, so a frame
# without repeats leaves a table without repeats, at a fraction of a unique index's cost on every COPY.
NATURAL_KEYS: dict[str, tuple[str, ...]] = {"market.raw_ticks": (*ROW_KEY, "cum_volume")}


def _market_day_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start 00:00, end+1 00:00) in market time: where every row of trading days start..end is stamped."""
    lo = dt.datetime.combine(start, dt.time(), VN_TZ)
    return lo, dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), VN_TZ)


def _check_times(frame: pd.DataFrame, table: str, lo: dt.datetime, hi: dt.datetime) -> None:
    """A row stamped outside its trading days would escape the ts-bounded DELETE of a re-run: refuse it."""
    if TIME_COLUMN not in frame.columns or frame.empty:
        return
    stamps = pd.to_datetime(frame[TIME_COLUMN], utc=True)
    outside = (stamps < pd.Timestamp(lo)) | (stamps >= pd.Timestamp(hi))
    if outside.any():
        first = int(np.flatnonzero(outside.to_numpy())[0])
        raise PartitionWriteError(
            f"{table}: {int(outside.sum())} row(s) have {TIME_COLUMN} outside [{lo}, {hi}) "
            f"(first at position {first}: {frame[TIME_COLUMN].iloc[first]})"
        )


def _check_window(frame: pd.DataFrame, table: str, date_column: str, start: dt.date, end: dt.date) -> None:
    """Rows outside [start, end] would survive a re-run of *their* partition twice: refuse them."""
    if start > end:
        raise PartitionWriteError(f"{table}: empty window, start {start} is after end {end}")
    if date_column not in frame.columns:
        raise PartitionWriteError(f"{table}: frame lacks the partition column {date_column!r}")
    if frame.empty:
        return
    days = binary_copy._as_dates(frame[date_column])  # days since 2000-01-01, vectorised
    if frame[date_column].isna().any():
        raise PartitionWriteError(f"{table}: column {date_column!r} has NULL partition dates")
    lo = (start - dt.date(2000, 1, 1)).days
    hi = (end - dt.date(2000, 1, 1)).days
    outside = (days < lo) | (days > hi)
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        raise PartitionWriteError(
            f"{table}: {int(outside.sum())} row(s) have {date_column} outside [{start}, {end}] "
            f"(first at position {first}: {frame[date_column].iloc[first]})"
        )


def _check_key(frame: pd.DataFrame, table: str) -> None:
    key = NATURAL_KEYS.get(table)
    if key is None or frame.empty:
        return
    missing = [c for c in key if c not in frame.columns]
    if missing:
        raise PartitionWriteError(f"{table}: frame lacks key column(s) {missing} of {key}")
    repeated = frame.duplicated(list(key), keep="first").to_numpy()
    if repeated.any():
        first = int(np.flatnonzero(repeated)[0])
        raise PartitionWriteError(
            f"{table}: {int(repeated.sum())} row(s) repeat the key {key} "
            f"(first at position {first}: {frame.iloc[first][list(key)].to_dict()})"
        )


def write_partition(
    conn: psycopg.Connection[Any],
    table: str,
    frame: pd.DataFrame,
    start: dt.date,
    end: dt.date,
    date_column: str = "trading_date",
) -> int:
    """Replace the rows of ``table`` with ``date_column`` in [start, end] by ``frame``; return rows written.

    One transaction: ``DELETE`` of the window, then a binary ``COPY`` of the frame (columns in frame order;
    table columns missing from the frame take their defaults). Re-running a partition therefore never
    duplicates or loses rows, and a failure part-way (bad value, constraint violation, Python exception)
    leaves the previous contents intact. If ``conn`` is already inside a transaction the write becomes a
    savepoint of it, and committing is the caller's business.
    """
    schema_cols = table_columns(conn, table)
    extra = [str(c) for c in frame.columns if c not in schema_cols]
    if extra:
        raise PartitionWriteError(f"{table} has no column(s) {extra}; table columns: {list(schema_cols)}")
    if frame.columns.duplicated().any():
        raise PartitionWriteError(f"{table}: frame has duplicated columns {list(frame.columns)}")
    if date_column not in schema_cols or schema_cols[date_column].type_oid != binary_copy.DATE:
        raise PartitionWriteError(f"{table}.{date_column} must be a date column to delete a window by")
    _check_window(frame, table, date_column, start, end)
    _check_key(frame, table)

    names = [str(c) for c in frame.columns]
    oids = [schema_cols[c].type_oid for c in names]
    target = _qualified(table)
    delete = sql.SQL("DELETE FROM {} WHERE {col} >= %s AND {col} <= %s").format(target, col=sql.Identifier(date_column))
    bounds: tuple[Any, ...] = (start, end)
    if TIME_COLUMN in schema_cols and schema_cols[TIME_COLUMN].type_oid == binary_copy.TIMESTAMPTZ:
        # A hypertable is chunked on ts: bounding ts too lets TimescaleDB skip every chunk outside the window.
        lo, hi = _market_day_bounds(start, end)
        _check_times(frame, table, lo, hi)
        delete += sql.SQL(" AND {ts} >= %s AND {ts} < %s").format(ts=sql.Identifier(TIME_COLUMN))
        bounds = (start, end, lo, hi)
    copy_stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        target, sql.SQL(", ").join(map(sql.Identifier, names))
    )
    try:
        with conn.transaction(), conn.cursor() as cur:
            # Two runs rewriting the same table at once (e.g. two landed files of one day) would both DELETE
            # and then both COPY: serialize writers per table until commit so the last one wins whole.
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"write_partition:{table}",))
            cur.execute(delete, bounds)
            if frame.empty:
                return 0
            # No cluster_by: with rows split by layout the (symbol, ts) index gain was within noise (bench).
            chunks = binary_copy.encode(frame, oids)
            with cur.copy(copy_stmt) as copy:
                if chunks is not None:
                    for chunk in chunks:
                        copy.write(chunk)
                else:
                    copy.set_types(oids)
                    for row in binary_copy.python_rows(frame, oids):
                        copy.write_row(row)
    except binary_copy.EncodingError as exc:
        raise PartitionWriteError(f"{table}: {exc}") from exc
    return len(frame)


def write_quarantine(conn: psycopg.Connection[Any], rows: Iterable[Mapping[str, Any]]) -> int:
    """Append rows that broke a market rule to ``market.quarantine`` (``replace_quarantine`` scopes re-runs).

    Each mapping needs trading_date, source_table, rule, detail, row_data (a dict) and optionally symbol.
    """
    frame = pd.DataFrame(list(rows), columns=["trading_date", "source_table", "symbol", "rule", "detail", "row_data"])
    if frame.empty:
        return 0
    names = list(frame.columns)
    schema_cols = table_columns(conn, "market.quarantine")
    oids = [schema_cols[c].type_oid for c in names]
    copy_stmt = sql.SQL("COPY market.quarantine ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.SQL(", ").join(map(sql.Identifier, names))
    )
    with conn.transaction(), conn.cursor() as cur, cur.copy(copy_stmt) as copy:
        copy.set_types(oids)
        for row in binary_copy.python_rows(frame, oids):
            copy.write_row(row)
    return len(frame)
