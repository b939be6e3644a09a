"""One day's risk report of a book: the portfolio summary, a row per position and the stress scenarios.

Everything passed in must already be cut at the report day's close (point-in-time is the caller's contract,
and the asset's test proves it by changing later data).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from vn_pipeline.lib.risk.liquidity import days_to_exit, foreign_room_usage
from vn_pipeline.lib.risk.metrics import drawdown, half_kelly
from vn_pipeline.lib.risk.portfolio import portfolio_risk, position_risk, top_weights
from vn_pipeline.lib.risk.stress import historical_window_loss, limit_down_loss


@dataclass(frozen=True)
class BookOnDay:
    """A book at one close and the market history it is measured on (all dated <= that close)."""

    values: pd.Series  # position value in VND per held symbol
    nav: float  # equity: positions + cash
    equity: pd.Series  # the book's equity curve up to the day
    asset_returns: pd.DataFrame  # trailing daily returns (dates × symbols), at least the held names
    benchmark_returns: pd.Series  # VN30 daily returns over the same dates
    adv_value: pd.Series  # 20-day average daily traded value per symbol (VND)
    limit_down_returns: pd.Series  # floor of the next session / close - 1 per held symbol (negative)
    foreign_room: pd.Series  # shares foreigners may still buy, per symbol
    shares: pd.Series  # shares held per symbol
    foreign_limit: pd.Series  # foreign ownership cap as a fraction of shares outstanding, per symbol (NaN: unknown)
    shares_outstanding: pd.Series  # per symbol, on the day (after its stock dividends; NaN: unknown)
    history_returns: pd.DataFrame | None = None  # longer history for the replayed windows (default: asset_returns)
    history_benchmark: pd.Series | None = None  # the benchmark over history_returns' dates


@dataclass(frozen=True)
class StressWindow:
    name: str
    start: object
    end: object


@dataclass
class RiskReport:
    summary: dict[str, float]
    positions: pd.DataFrame
    stress: pd.DataFrame


# Summary metrics others read by name: the risk limits compare these, the materialization shows the headline.
DRAWDOWN = "drawdown"  # from the book's peak, negative
VAR_HIST_95 = "var_hist_95"  # one-day historical VaR 95%, fraction of NAV
TOP1_WEIGHT = "top1_weight"  # the largest position's weight
HEADLINE = ("nav", VAR_HIST_95, "cvar_hist_95", "var_mc_99", "volatility", "beta", DRAWDOWN, TOP1_WEIGHT,
            "max_days_to_exit", "stress_limit_down_all", "stress_worst_vn30_drawdown")  # fmt: skip


def build_report(
    book: BookOnDay,
    windows: list[StressWindow],
    strategy_returns: dict[str, pd.Series],
    participation: float = 0.2,
    seed: int = 0,
) -> RiskReport:
    """The report's three parts. ``strategy_returns``: each strategy's daily returns, for half-Kelly sizing."""
    weights = (book.values / book.nav).rename("weight")
    summary = portfolio_risk(weights, book.asset_returns, book.benchmark_returns, seed=seed)
    curve = drawdown(book.equity)
    top = top_weights(weights, 5)
    exit_days = days_to_exit(book.values, book.adv_value.reindex(book.values.index), participation)
    summary |= {
        "nav": float(book.nav),
        "cash_weight": float(1.0 - weights.sum()),
        "positions": float(len(weights)),
        DRAWDOWN: float(curve.iloc[-1]) if len(curve) else np.nan,
        "max_drawdown": float(curve.min()) if len(curve) else np.nan,  # realised by the book, not the proxy
        TOP1_WEIGHT: float(top.iloc[0]) if len(top) else 0.0,
        "top5_weight": float(top.sum()),
        "max_days_to_exit": float(exit_days.max()) if len(exit_days) else 0.0,
    }
    summary |= {f"half_kelly_{name}": half_kelly(r) for name, r in strategy_returns.items()}

    positions = position_risk(weights, book.asset_returns, benchmark_returns=book.benchmark_returns)
    room = book.foreign_room.reindex(positions.index)
    positions = positions.assign(
        value=book.values.reindex(positions.index),
        shares=book.shares.reindex(positions.index),
        adv20_value=book.adv_value.reindex(positions.index),
        days_to_exit=exit_days.reindex(positions.index),
        limit_down_loss=-(weights * book.limit_down_returns.reindex(weights.index)).reindex(positions.index),
        foreign_room=room,
        # The book's size against what foreigners may still buy: > 1 means a foreign fund could not build it.
        share_of_foreign_room=book.shares.reindex(positions.index) / room.where(room > 0),
        # How full the foreign cap already is: near 1, foreign buyers of the name are about to be shut out.
        foreign_room_usage=foreign_room_usage(room, book.foreign_limit, book.shares_outstanding),
    )

    stress_rows = [
        {
            "scenario": "limit_down_all",
            "loss": limit_down_loss(weights, book.limit_down_returns),
            "detail": "every held name closes at its floor next session",
        }
    ]
    history = book.asset_returns if book.history_returns is None else book.history_returns
    history_benchmark = book.benchmark_returns if book.history_benchmark is None else book.history_benchmark
    for window in windows:
        loss = historical_window_loss(weights, history, window.start, window.end, history_benchmark)
        proxied = int(loss.contributions["proxied"].sum())
        detail = f"replay of {window.start} → {window.end}; {proxied} names proxied by beta"
        stress_rows.append({"scenario": window.name, "loss": loss.loss, "detail": detail})
    stress = pd.DataFrame(stress_rows)
    summary |= {f"stress_{row['scenario']}": float(row["loss"]) for row in stress_rows}
    return RiskReport(summary=summary, positions=positions, stress=stress)
