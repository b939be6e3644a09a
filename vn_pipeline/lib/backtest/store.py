"""Backtest results in the warehouse: a strategy's run, equity curve, positions, orders and fills, replaced as a
whole in one transaction."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

import pandas as pd
import psycopg
from psycopg import sql

from vn_pipeline.lib.backtest.runner import BacktestResult
from vn_pipeline.lib.warehouse.reads import read_frame

TABLES = ("trades", "positions", "orders", "equity", "runs")


def _copy(cur: psycopg.Cursor, table: str, columns: list[str], rows: Iterable[tuple]) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier("backtest", table), sql.SQL(", ").join(map(sql.Identifier, columns)))  # fmt: skip
    with cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def position_rows(result: BacktestResult) -> pd.DataFrame:
    """Long table of non-zero holdings after each bar, valued at the mark, with weights of equity."""
    shares = result.positions
    if shares.empty:
        return pd.DataFrame(columns=["trading_date", "symbol", "shares", "price", "value", "weight"])
    long = shares.where(shares > 0).stack().dropna().rename("shares").reset_index()
    long.columns = ["trading_date", "symbol", "shares"]
    marks = result.marks.stack().rename("price").reset_index()
    marks.columns = ["trading_date", "symbol", "price"]
    long = long.merge(marks, on=["trading_date", "symbol"], how="left")
    long["value"] = long["shares"] * long["price"]
    long["weight"] = long["value"] / long["trading_date"].map(result.equity).to_numpy()
    return long


def save_backtest(conn: psycopg.Connection[Any], strategy: str, result: BacktestResult, params: dict) -> None:
    """Replace ``strategy``'s rows in every backtest table."""
    equity = result.equity
    stats = {k: (float(v) if math.isfinite(v) else None) for k, v in result.stats.items()}  # NaN/inf are not JSON
    positions = position_rows(result)
    with conn.transaction(), conn.cursor() as cur:
        for table in TABLES:
            cur.execute(sql.SQL("DELETE FROM {} WHERE strategy = %s").format(sql.Identifier("backtest", table)),
                        (strategy,))  # fmt: skip
        cur.execute(
            "INSERT INTO backtest.runs (strategy, start_date, end_date, params, stats) VALUES (%s, %s, %s, %s, %s)",
            (strategy, equity.index[0], equity.index[-1], json.dumps(params, default=str), json.dumps(stats)),
        )
        curve = zip(equity.index, equity, result.cash, strict=True)
        _copy(cur, "equity", ["strategy", "trading_date", "equity", "cash"],
              ((strategy, d, float(v), float(c)) for d, v, c in curve))  # fmt: skip
        _copy(cur, "positions", ["strategy", "trading_date", "symbol", "shares", "price", "value", "weight"],
              ((strategy, r.trading_date, r.symbol, int(r.shares), float(r.price), float(r.value), float(r.weight))
               for r in positions.itertuples(index=False)))  # fmt: skip
        _copy(cur, "orders", ["strategy", "signal_date", "symbol", "target_weight"],
              ((strategy, r.signal_date, r.symbol, None if math.isnan(r.target_weight) else float(r.target_weight))
               for r in result.orders.itertuples(index=False)))  # fmt: skip
        _copy(cur, "trades",
              ["strategy", "trading_date", "symbol", "side", "shares", "price", "fees", "tax", "signal_date"],
              ((strategy, r.date, r.symbol, r.side, int(r.shares), float(r.price), float(r.fees), float(r.tax),
                r.signal_date) for r in result.trades.itertuples(index=False)))  # fmt: skip


def load_run(conn: psycopg.Connection[Any], strategy: str) -> tuple[Any, Any, dict] | None:
    """(start_date, end_date, params) of the strategy's stored run, None when it has none."""
    return conn.execute(
        "SELECT start_date, end_date, params FROM backtest.runs WHERE strategy = %s", (strategy,)
    ).fetchone()


def load_fills(conn: psycopg.Connection[Any], strategy: str) -> pd.DataFrame:
    """The strategy's stored fills in trade order, in the layout the fill audit reads."""
    return read_frame(
        conn,
        "SELECT trading_date AS date, symbol, side, shares, price, signal_date FROM backtest.trades"
        " WHERE strategy = %s ORDER BY trading_date, symbol",
        (strategy,),
    )


def lowest_cash(conn: psycopg.Connection[Any], strategy: str) -> float | None:
    (lowest,) = conn.execute("SELECT min(cash) FROM backtest.equity WHERE strategy = %s", (strategy,)).fetchone()
    return None if lowest is None else float(lowest)


def load_positions(conn: psycopg.Connection[Any], strategy: str, start: Any, end: Any) -> pd.DataFrame:
    return read_frame(
        conn,
        "SELECT trading_date, symbol, shares, value FROM backtest.positions"
        " WHERE strategy = %s AND trading_date BETWEEN %s AND %s",
        (strategy, start, end),
    )


def load_equity(conn: psycopg.Connection[Any], end: Any) -> pd.DataFrame:
    """Every strategy's equity up to ``end`` (long: strategy, trading_date, equity)."""
    return read_frame(
        conn, "SELECT strategy, trading_date, equity FROM backtest.equity WHERE trading_date <= %s", (end,)
    )


def load_runs(conn: psycopg.Connection[Any]) -> list[tuple[str, Any, Any, dict]]:
    """Every stored run: (strategy, start_date, end_date, stats)."""
    return conn.execute("SELECT strategy, start_date, end_date, stats FROM backtest.runs ORDER BY 1").fetchall()
