"""ops.alerts: one row per notice and channel (migration 018). Parameterized SQL only."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pandas as pd
import psycopg
from psycopg.types.json import Jsonb

from vn_pipeline.lib.alerts.messages import Notice

NOTICE_KINDS = ("failure", "run_failure", "digest")  # the kinds a quiet period counts as "already told"
TO_DELIVER = ("pending", "failed")


def insert_notice(
    conn: psycopg.Connection[Any], notice: Notice, channel: str, status: str, now: datetime
) -> int | None:
    """The row's id, or None when this event already made this row (a tick re-reading events it stored)."""
    row = conn.execute(
        """
        INSERT INTO ops.alerts (created_at, kind, severity, subject, asset_key, check_name, partition_key, run_id,
                                source_event, title, body, details, channel, status)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (kind, source_event, partition_key, channel) WHERE source_event IS NOT NULL DO NOTHING
        RETURNING id
        """,
        (now, notice.kind, notice.severity, notice.subject, notice.asset_key, notice.check_name,
         notice.partition_key, notice.run_id, notice.source_event, notice.title, notice.body,
         Jsonb(notice.details), channel, status),
    ).fetchone()  # fmt: skip
    return row[0] if row else None


def event_seen(conn: psycopg.Connection[Any], kind: str, source_event: int) -> bool:
    """Whether this event already made a notice of this kind (read again after a cursor reset)."""
    row = conn.execute(
        "SELECT 1 FROM ops.alerts WHERE kind = %s AND source_event = %s LIMIT 1", (kind, source_event)
    ).fetchone()
    return row is not None


def recovered_after(conn: psycopg.Connection[Any], subject: str, partition_key: str, source_event: int) -> bool:
    """Whether a pass newer than event ``source_event`` closed ``subject`` on this partition: that failure is old."""
    row = conn.execute(
        "SELECT 1 FROM ops.alerts WHERE subject = %s AND partition_key = %s AND kind = 'recovery'"
        " AND source_event > %s LIMIT 1",
        (subject, partition_key, source_event),
    ).fetchone()
    return row is not None


def open_failures(conn: psycopg.Connection[Any], subject: str) -> dict[str, tuple[list[str], int]]:
    """Partitions of ``subject`` whose latest failure has had no recovery yet → (the channels it went to, the
    storage id of the event that opened it)."""
    rows = conn.execute(
        """
        WITH last_recovery AS (
            SELECT partition_key, max(id) AS id FROM ops.alerts
            WHERE subject = %s AND kind = 'recovery' GROUP BY partition_key
        )
        SELECT a.partition_key, array_agg(DISTINCT a.channel), max(a.source_event)
        FROM ops.alerts a LEFT JOIN last_recovery r USING (partition_key)
        WHERE a.subject = %s AND a.kind = 'failure' AND a.id > coalesce(r.id, 0)
        GROUP BY a.partition_key
        """,
        (subject, subject),
    ).fetchall()
    return {partition: (list(channels), event or 0) for partition, channels, event in rows}


def notified_since(conn: psycopg.Connection[Any], subject: str, channel: str, since: datetime) -> bool:
    """Whether ``subject`` already sent (or is sending) a failure notice on ``channel`` since ``since``."""
    row = conn.execute(
        "SELECT 1 FROM ops.alerts WHERE subject = %s AND channel = %s AND kind = ANY(%s)"
        " AND status <> 'grouped' AND created_at >= %s LIMIT 1",
        (subject, channel, list(NOTICE_KINDS), since),
    ).fetchone()
    return row is not None


def groups_to_digest(conn: psycopg.Connection[Any], since: datetime) -> list[tuple[str, str, str, list[tuple]]]:
    """Held-back failures whose quiet period is over: (subject, channel, worst severity, [(id, partition,
    title, created_at)]) per subject and channel that has sent nothing since ``since``."""
    rows = conn.execute(
        """
        SELECT g.subject, g.channel, g.severity, g.id, g.partition_key, g.title, g.created_at
        FROM ops.alerts g
        WHERE g.status = 'grouped' AND g.digest_id IS NULL
          AND NOT EXISTS (SELECT 1 FROM ops.alerts n WHERE n.subject = g.subject AND n.channel = g.channel
                          AND n.kind = ANY(%s) AND n.status <> 'grouped' AND n.created_at >= %s)
        ORDER BY g.subject, g.channel, g.id
        """,
        (list(NOTICE_KINDS), since),
    ).fetchall()
    groups: dict[tuple[str, str], tuple[str, list[tuple]]] = {}
    for subject, channel, severity, id_, partition, title, created in rows:
        worst, members = groups.get((subject, channel), (severity, []))
        members.append((id_, partition, title, created))
        groups[(subject, channel)] = ("critical" if "critical" in (worst, severity) else worst, members)
    return [(s, c, sev, members) for (s, c), (sev, members) in groups.items()]


def attach_digest(conn: psycopg.Connection[Any], ids: list[int], digest_id: int) -> None:
    conn.execute("UPDATE ops.alerts SET digest_id = %s WHERE id = ANY(%s)", (digest_id, ids))


def due(conn: psycopg.Connection[Any], now: datetime) -> list[tuple[int, str, str, str, str, int]]:
    """Rows to (re)send now: (id, channel, severity, title, body, attempts), oldest first."""
    return conn.execute(
        "SELECT id, channel, severity, title, body, attempts FROM ops.alerts"
        " WHERE status = ANY(%s) AND (next_attempt_at IS NULL OR next_attempt_at <= %s) ORDER BY id",
        (list(TO_DELIVER), now),
    ).fetchall()


def mark_sent(conn: psycopg.Connection[Any], alert_id: int, attempts: int, now: datetime) -> None:
    conn.execute(
        "UPDATE ops.alerts SET status = 'sent', attempts = attempts + %s, last_attempt_at = %s, sent_at = %s,"
        " next_attempt_at = NULL WHERE id = %s",
        (attempts, now, now, alert_id),
    )


def mark_failed(
    conn: psycopg.Connection[Any], alert_id: int, attempts: int, error: str, now: datetime, retry_at: datetime
) -> None:
    conn.execute(
        "UPDATE ops.alerts SET status = 'failed', attempts = attempts + %s, last_error = %s, last_attempt_at = %s,"
        " next_attempt_at = %s WHERE id = %s",
        (attempts, error, now, retry_at, alert_id),
    )


def recent(conn: psycopg.Connection[Any], limit: int = 50) -> list[tuple]:
    """The newest rows for `vn-pipeline alerts`: (created_at, severity, status, kind, subject, partition,
    channel, attempts, last_error)."""
    return conn.execute(
        "SELECT created_at, severity, status, kind, subject, partition_key, channel, attempts, last_error"
        " FROM ops.alerts ORDER BY id DESC LIMIT %s",
        (limit,),
    ).fetchall()


def quarantine_count(conn: psycopg.Connection[Any], start: date, end: date) -> int:
    """Rows quarantined (any table, any rule) on the trading days [start, end]."""
    row = conn.execute(
        "SELECT count(*) FROM market.quarantine WHERE trading_date BETWEEN %s AND %s", (start, end)
    ).fetchone()
    return int(row[0]) if row else 0


def book_equity(conn: psycopg.Connection[Any], strategy: str, end: date | None = None) -> pd.Series:
    """A backtest book's daily equity (backtest.equity) up to ``end`` (all of it when None), by trading date."""
    rows = conn.execute(
        "SELECT trading_date, equity FROM backtest.equity WHERE strategy = %s"
        " AND (%s::date IS NULL OR trading_date <= %s::date) ORDER BY trading_date",
        (strategy, end, end),
    ).fetchall()
    return pd.Series([e for _, e in rows], index=[d for d, _ in rows], dtype=float)


def reported_books(conn: psycopg.Connection[Any], start: date, end: date) -> dict[str, list[date]]:
    """The strategies risk/report covered in [start, end], each with its reported days."""
    rows = conn.execute(
        "SELECT DISTINCT strategy, trading_date FROM risk.summary WHERE trading_date BETWEEN %s AND %s ORDER BY 1, 2",
        (start, end),
    ).fetchall()
    books: dict[str, list[date]] = {}
    for strategy, day in rows:
        books.setdefault(strategy, []).append(day)
    return books
