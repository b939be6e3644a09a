"""Reading one window of risk inputs from the warehouse, then cutting a point-in-time book for each day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import psycopg

from vn_pipeline.lib.backtest.inputs import bar_panels, daily_returns, vn30_levels
from vn_pipeline.lib.backtest.store import load_equity, load_positions
from vn_pipeline.lib.features.inputs import stored_span
from vn_pipeline.lib.market.calendar import previous_trading_day, trading_days
from vn_pipeline.lib.market.exchanges import price_limits_array
from vn_pipeline.lib.risk.liquidity import average_daily_value
from vn_pipeline.lib.risk.report import BookOnDay
from vn_pipeline.lib.risk.stress import worst_drawdown_window
from vn_pipeline.lib.warehouse.reads import read_partition


@dataclass
class RiskInputs:
    """Everything the reports of [start, end] need, read once; ``book_on`` cuts it at one day's close."""

    strategy: str
    positions: pd.DataFrame  # backtest.positions rows of the strategy
    equity: pd.DataFrame  # backtest.equity of every strategy (dates × strategy)
    returns: pd.DataFrame  # adjusted daily returns, history + window
    adv: pd.DataFrame  # 20-day average traded value (VND)
    close: pd.DataFrame  # quoted closes
    exchange: pd.DataFrame  # listing exchange per day and symbol
    room: pd.DataFrame  # foreign room remaining (shares)
    foreign_limit: pd.DataFrame  # foreign ownership cap, fraction of shares outstanding (NaN: source lacks it)
    outstanding: pd.DataFrame  # shares outstanding on the day (NaN: source lacks it)
    vn30: pd.Series  # VN30 levels
    worst_vn30: dict[date, tuple[date, date]]  # per report day, the deepest VN30 drawdown up to that day
    lookback_days: int

    def book_on(self, day: date) -> BookOnDay:
        held = self.positions[self.positions["trading_date"] == day].set_index("symbol")
        if day not in self.equity.index or pd.isna(self.equity.loc[day, self.strategy]):
            raise ValueError(f"backtest/{self.strategy} has no equity on {day}: re-materialize it over this day")
        past = self.returns.loc[self.returns.index <= day].tail(self.lookback_days)
        vn30 = self.vn30.loc[self.vn30.index <= day].pct_change()
        # A held name that did not trade today is valued, and limited, off its last close and listing.
        close = self.close.loc[self.close.index <= day].ffill().iloc[-1].reindex(held.index).astype(float)
        listed = self.exchange.loc[self.exchange.index <= day].ffill().iloc[-1]
        exchange = listed.reindex(held.index).to_numpy(dtype=object)
        floor, _ = price_limits_array(exchange, close.to_numpy())  # the next session's floor off today's close
        return BookOnDay(
            values=held["value"].astype(float),
            nav=float(self.equity.loc[day, self.strategy]),
            equity=self.equity.loc[self.equity.index <= day, self.strategy].dropna(),
            asset_returns=past,
            benchmark_returns=vn30.reindex(past.index),
            adv_value=self.adv.loc[day],
            limit_down_returns=pd.Series(np.asarray(floor, dtype=float) / close.to_numpy() - 1.0, index=held.index),
            foreign_room=_on(self.room, day),
            shares=held["shares"].astype(float),
            # The day's own listing, as the room is the day's own: a stock dividend changes both on its ex-date.
            foreign_limit=_on(self.foreign_limit, day),
            shares_outstanding=_on(self.outstanding, day),
            history_returns=self.returns.loc[self.returns.index <= day],
            history_benchmark=vn30,
        )

    def strategy_returns(self, day: date) -> dict[str, pd.Series]:
        curves = self.equity.loc[self.equity.index <= day]
        return {name: curves[name].dropna().pct_change().dropna() for name in curves.columns}


def _on(panel: pd.DataFrame, day: date) -> pd.Series:
    """The day's row of a (dates × symbols) panel; empty when the day has none (every name unknown)."""
    return panel.loc[day] if day in panel.index else pd.Series(dtype=float)


def read_risk_inputs(
    conn: psycopg.Connection[Any],
    strategy: str,
    start: date,
    end: date,
    lookback_days: int,
    extra_starts: tuple[date, ...] = (),
) -> RiskInputs:
    """``extra_starts``: first days of configured stress windows, so their replays have the names' returns."""
    first, _ = stored_span(conn, "market.ohlcv_1d")
    vn30 = vn30_levels(conn, stored_span(conn, "market.index_levels")[0], end)
    # Returns reach back to the earliest worst-drawdown peak any day of the window replays (when data has it).
    worst = {day: worst_drawdown_window(vn30.loc[vn30.index <= day]) for day in trading_days(start, end)}
    peaks = [peak for peak, _ in worst.values()]
    history_start = max(first, min([previous_trading_day(start, lookback_days + 20), *peaks, *extra_starts]))
    panels = bar_panels(conn, history_start, end)
    listings = read_partition(conn, "market.listings", history_start, end, columns=["trading_date", "symbol",
                              "exchange", "foreign_limit", "shares_outstanding"])  # fmt: skip
    room = read_partition(conn, "market.foreign_flows", start, end,
                          columns=["trading_date", "symbol", "room_remaining"])  # fmt: skip
    positions = load_positions(conn, strategy, start, end)
    equity = load_equity(conn, end)
    return RiskInputs(
        strategy=strategy,
        positions=positions,
        equity=equity.pivot(index="trading_date", columns="strategy", values="equity"),
        returns=daily_returns(panels["adj_close"]),
        adv=average_daily_value(panels["value"]),
        close=panels["close"],
        exchange=listings.pivot(index="trading_date", columns="symbol", values="exchange"),
        room=room.pivot(index="trading_date", columns="symbol", values="room_remaining"),
        foreign_limit=_numeric_panel(listings, "foreign_limit"),
        outstanding=_numeric_panel(listings, "shares_outstanding"),
        vn30=vn30,
        worst_vn30=worst,
        lookback_days=lookback_days,
    )


def _numeric_panel(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """(dates × symbols) floats of a nullable column: NULL → NaN (all-NULL columns arrive as objects)."""
    return frame.assign(**{column: pd.to_numeric(frame[column]).astype(float)}).pivot(
        index="trading_date", columns="symbol", values=column
    )
