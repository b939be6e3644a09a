"""The warehouse's share of the exporter's figures: one parameterized query per family, run at scrape time.

Each function returns plain values (None or empty where the table holds nothing yet), so the collector decides
what to expose and a test can compare them with figures it computes from the same rows by other means.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

# risk.summary metrics the exporter serves (lib/risk/report.py names them): positive fractions of NAV for VaR and
# CVaR, a negative one for the drawdown.
RISK_METRICS = ("var_hist_95", "cvar_hist_95", "drawdown")


@dataclass(frozen=True)
class QuarantineRule:
    """One rule's quarantine on a day. ``rate`` = rows quarantined by the rule / rows that arrived that day in the
    tables it quarantined from (rows stored there that day + every row quarantined from them that day, whatever
    the rule); None when nothing arrived (cannot happen while the rule quarantined something, kept for safety)."""

    rule: str
    rows: int
    rate: float | None


@dataclass(frozen=True)
class StrategyFigures:
    """A backtest's latest day: NAV (equity, VND), drawdown from its peak (negative fraction), and the run's Sharpe
    and annualised turnover from backtest.runs.stats."""

    strategy: str
    trading_date: dt.date
    nav: float
    drawdown: float
    sharpe: float | None
    turnover: float | None


def last_close_day(conn: psycopg.Connection[Any]) -> dt.date | None:
    """The newest trading day with daily bars stored (the close's data)."""
    return conn.execute("SELECT max(trading_date) FROM market.ohlcv_1d").fetchone()[0]


def _arrived(conn: psycopg.Connection[Any], source_table: str, day: dt.date) -> int | None:
    """Rows stored in ``source_table`` on ``day``; None for a name that is not a table of the warehouse (the
    name comes from a row, so it is looked up before it is composed into SQL)."""
    schema, _, name = source_table.partition(".")
    exists = conn.execute(
        "SELECT 1 FROM information_schema.columns WHERE table_schema = %s AND table_name = %s"
        " AND column_name = 'trading_date'",
        (schema, name),
    ).fetchone()
    if not exists:
        return None
    query = sql.SQL("SELECT count(*) FROM {} WHERE trading_date = %s").format(sql.Identifier(schema, name))
    return conn.execute(query, (day,)).fetchone()[0]


def quarantine(conn: psycopg.Connection[Any]) -> tuple[dt.date | None, list[QuarantineRule]]:
    """The latest trading day in market.quarantine and each rule's rows and rate on it (see QuarantineRule)."""
    day = conn.execute("SELECT max(trading_date) FROM market.quarantine").fetchone()[0]
    if day is None:
        return None, []
    rows = conn.execute(
        "SELECT rule, source_table, count(*) FROM market.quarantine WHERE trading_date = %s GROUP BY 1, 2",
        (day,),
    ).fetchall()
    quarantined_from: dict[str, int] = {}
    for _, table, n in rows:
        quarantined_from[table] = quarantined_from.get(table, 0) + n
    arrived = {table: (_arrived(conn, table, day) or 0) + n for table, n in quarantined_from.items()}
    by_rule: dict[str, tuple[int, int]] = {}
    for rule, table, n in rows:
        count, denominator = by_rule.get(rule, (0, 0))
        by_rule[rule] = (count + n, denominator + arrived[table])
    return day, [
        QuarantineRule(rule, count, count / denominator if denominator else None)
        for rule, (count, denominator) in sorted(by_rule.items())
    ]


def approved_model(conn: psycopg.Connection[Any]) -> tuple[str, float | None] | None:
    """The newest approved model (the one that scores today) and its walk-forward out-of-sample Rank IC, which
    ml/models stores in the model's metadata (extra.rank_ic_mean); None before any model is approved."""
    row = conn.execute(
        "SELECT model_id, (metadata -> 'extra' ->> 'rank_ic_mean')::double precision FROM ml.models"
        " WHERE approved ORDER BY valid_end DESC, trained_at DESC LIMIT 1"
    ).fetchone()
    return (row[0], row[1]) if row else None


def strategies(conn: psycopg.Connection[Any]) -> list[StrategyFigures]:
    """Every backtested strategy's latest NAV and drawdown, with its run's Sharpe and turnover."""
    rows = conn.execute(
        "SELECT DISTINCT ON (e.strategy) e.strategy, e.trading_date, e.equity,"
        " e.equity / max(e.equity) OVER (PARTITION BY e.strategy) - 1,"
        " (r.stats ->> 'sharpe')::double precision, (r.stats ->> 'turnover')::double precision"
        " FROM backtest.equity e LEFT JOIN backtest.runs r USING (strategy)"
        " ORDER BY e.strategy, e.trading_date DESC"
    ).fetchall()
    return [StrategyFigures(*row) for row in rows]


def risk(conn: psycopg.Connection[Any]) -> dict[str, tuple[dt.date, dict[str, float | None]]]:
    """Per reported strategy, its latest risk report's day and RISK_METRICS."""
    rows = conn.execute(
        "SELECT s.strategy, s.trading_date, s.metric, s.value FROM risk.summary s"
        " JOIN (SELECT strategy, max(trading_date) AS trading_date FROM risk.summary GROUP BY strategy) latest"
        " USING (strategy, trading_date) WHERE s.metric = ANY(%s)",
        (list(RISK_METRICS),),
    ).fetchall()
    out: dict[str, tuple[dt.date, dict[str, float | None]]] = {}
    for strategy, day, metric, value in rows:
        out.setdefault(strategy, (day, {}))[1][metric] = value
    return out


def foreign_room_usage(conn: psycopg.Connection[Any]) -> list[tuple[str, str, float]]:
    """(strategy, symbol, usage) of the names each strategy holds on its latest risk report, where the foreign
    cap is known: the only per-symbol figures the exporter serves, so their number is the book's size."""
    return conn.execute(
        "SELECT p.strategy, p.symbol, p.foreign_room_usage FROM risk.positions p"
        " JOIN (SELECT strategy, max(trading_date) AS trading_date FROM risk.positions GROUP BY strategy) latest"
        " USING (strategy, trading_date) WHERE p.foreign_room_usage IS NOT NULL ORDER BY 1, 2"
    ).fetchall()
