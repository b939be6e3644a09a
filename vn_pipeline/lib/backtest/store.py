"""Backtest results in the warehouse: a strategy's run, equity curve and fills, replaced as a whole."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from vn_pipeline.lib.backtest.runner import BacktestResult


def save_backtest(conn: psycopg.Connection[Any], strategy: str, result: BacktestResult, params: dict) -> None:
    """Replace ``strategy``'s rows in backtest.runs/equity/trades in one transaction."""
    equity = result.equity
    with conn.transaction(), conn.cursor() as cur:
        for table in ("trades", "equity", "runs"):
            cur.execute(psycopg.sql.SQL("DELETE FROM {} WHERE strategy = %s").format(
                psycopg.sql.Identifier("backtest", table)), (strategy,))  # fmt: skip
        stats = {k: (None if v != v else float(v)) for k, v in result.stats.items()}  # NaN is not JSON
        cur.execute(
            "INSERT INTO backtest.runs (strategy, start_date, end_date, params, stats) VALUES (%s, %s, %s, %s, %s)",
            (strategy, equity.index[0], equity.index[-1], json.dumps(params, default=str), json.dumps(stats)),
        )
        with cur.copy("COPY backtest.equity (strategy, trading_date, equity, cash) FROM STDIN") as copy:
            for day, value, cash in zip(equity.index, equity.to_numpy(), result.cash.to_numpy(), strict=True):
                copy.write_row((strategy, day, float(value), float(cash)))
        with cur.copy(
            "COPY backtest.trades (strategy, trading_date, symbol, side, shares, price, fees, tax) FROM STDIN"
        ) as copy:
            for row in result.trades.itertuples(index=False):
                copy.write_row((strategy, row.date, row.symbol, row.side, int(row.shares), float(row.price),
                                float(row.fees), float(row.tax)))  # fmt: skip
