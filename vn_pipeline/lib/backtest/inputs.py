"""What every backtest reads from the warehouse: its window, quoted bar panels with the stock dividends that credit
bonus shares, the model's scores, and the VN30 benchmark."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import psycopg

from vn_pipeline.lib.features import adjust_prices
from vn_pipeline.lib.features.inputs import actions_between, stored_span
from vn_pipeline.lib.market.calendar import previous_trading_day
from vn_pipeline.lib.warehouse.reads import has_rows, read_partition

BAR_PANELS = ("open", "high", "low", "close", "vwap", "volume", "ceiling", "floor")
# Actions that hand holders new shares for free; a rights issue has to be paid for, so it credits none.
SHARE_CREDITING_KINDS = ("stock_dividend", "bonus_shares")
# Actions credited in cash (engine.py): a cash dividend its cash_per_share; an event of unknown kind and a rights
# issue the value the adjusted series ascribes to them, reference_before - reference_after.
CASH_DIVIDEND_KINDS = ("cash_dividend",)
VALUE_CREDITING_KINDS = ("unknown", "rights_issue")


def trading_window(conn: psycopg.Connection[Any], start: str | None, end: str | None) -> tuple[date, date]:
    """The configured [start, end] (ISO dates); a bound left out defaults to the span of the stored out-of-sample
    predictions, so the ML book and its baselines are compared over the same days; without predictions, to the
    span of the daily bars."""
    first, last = stored_span(conn, "ml.predictions" if has_rows(conn, "ml.predictions") else "market.ohlcv_1d")
    first_day = date.fromisoformat(start) if start else first
    last_day = date.fromisoformat(end) if end else last
    if first_day > last_day:
        raise ValueError(f"backtest window is empty: start {first_day} is after end {last_day}")
    return first_day, last_day


def bar_panels(conn: psycopg.Connection[Any], start: date, end: date, warmup_days: int = 0) -> dict[str, pd.DataFrame]:
    """Wide (dates × symbols) panels from ``warmup_days`` trading days before ``start`` (history for signals; the
    backtest itself starts at ``start``):

    - the quoted prices, volume and the day's ceiling and floor: what the exchange printed, so fills, lots and
      bands are the real ones;
    - ``share_factor``: shares held after the day's stock dividends per share held before (1 + ratio on an
      ex-date, else 1), so holdings receive their bonus shares;
    - ``cash_credit``: VND credited per share held before the day's other actions (cash dividends, the value of
      unknown events and rights issues), else 0;
    - ``adj_close``: the close forward-adjusted for those actions within the panel, for signals and returns
      (continuous across ex-dates; only its ratios are meaningful);
    - ``value``: VND traded, for liquidity."""
    first = previous_trading_day(start, warmup_days) if warmup_days else start
    raw = read_partition(conn, "market.ohlcv_1d", first, end)
    if raw.empty:
        raise ValueError(f"market.ohlcv_1d has no bars in {first}..{end}: materialize market data first")
    actions = actions_between(conn, first, end)
    columns = ["trading_date", "symbol", "ceiling_price", "floor_price"]
    limits = read_partition(conn, "market.listings", first, end, columns=columns)
    frame = raw.merge(limits, on=["trading_date", "symbol"], how="left")
    frame["adj_close"] = adjust_prices(raw, actions)["close"].to_numpy()  # adjust_prices keeps row order
    frame = frame.rename(columns={"ceiling_price": "ceiling", "floor_price": "floor"})
    frame["vwap"] = frame["vwap"].fillna(frame["close"])
    panels = {
        name: frame.pivot(index="trading_date", columns="symbol", values=name).sort_index().astype(float)
        for name in (*BAR_PANELS, "adj_close", "value")
    }
    panels["share_factor"] = share_factor(actions, panels["close"])
    panels["cash_credit"] = cash_credit(actions, panels["close"])
    return panels


def share_factor(actions: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    """Shares held after each day's free-share actions per share held before, on the (dates × symbols) axes of
    ``like``: 1 + the summed ratios on an ex-date, else 1."""
    factor = pd.DataFrame(1.0, index=like.index, columns=like.columns)
    crediting = actions[actions["kind"].isin(SHARE_CREDITING_KINDS)]
    if crediting.empty:
        return factor
    # Two issues on one ex-date are both paid on the shares held before it: their ratios add up.
    per_day = 1.0 + crediting["ratio"].astype(float).groupby([crediting["ex_date"], crediting["symbol"]]).sum()
    for (day, symbol), k in per_day.items():
        # An ex-date without any bar in the panel still credits its shares, on the next day that has one.
        row = factor.index.searchsorted(day)
        if row < len(factor.index) and symbol in factor.columns:
            factor.iloc[row, factor.columns.get_loc(symbol)] *= k
    return factor


def cash_credit(actions: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    """VND credited in cash per share held before each ex-date, on the (dates × symbols) axes of ``like``: a cash
    dividend's ``cash_per_share`` (the cut in the references where it is missing), the price cut
    ``reference_before - reference_after`` of an ``unknown`` event or a rights issue (never below 0), summed over
    the day's actions; 0 elsewhere. Why each kind gets what it gets: engine.py's docstring."""
    credit = pd.DataFrame(0.0, index=like.index, columns=like.columns)
    kinds = (*CASH_DIVIDEND_KINDS, *VALUE_CREDITING_KINDS)
    paying = actions[actions["kind"].isin(kinds)] if len(actions) else actions
    if paying.empty:
        return credit
    cut = (pd.to_numeric(paying["reference_before"]) - pd.to_numeric(paying["reference_after"])).astype(float)
    per_share = cut.clip(lower=0.0)
    if "cash_per_share" in paying.columns:
        cash = pd.to_numeric(paying["cash_per_share"], errors="coerce").astype(float)
        per_share = per_share.where(~(paying["kind"].isin(CASH_DIVIDEND_KINDS) & cash.notna()), cash)
    per_day = per_share.groupby([paying["ex_date"], paying["symbol"]]).sum()
    for (day, symbol), vnd in per_day.items():
        # As for bonus shares: an ex-date without a bar in the panel pays on the next day that has one.
        row = credit.index.searchsorted(day)
        if row < len(credit.index) and symbol in credit.columns:
            credit.iloc[row, credit.columns.get_loc(symbol)] += vnd
    return credit


def daily_returns(close: pd.DataFrame) -> pd.DataFrame:
    """Close-to-close returns where a day without a trade keeps the last close, so the move across a gap lands on
    the day trading resumes instead of vanishing; NaN on the untraded days themselves."""
    return close.ffill().pct_change(fill_method=None).where(close.notna())


def in_window(weights: pd.DataFrame, start: date) -> pd.DataFrame:
    """Target weights from ``start`` on. The book a signal built during the warm-up is the first day's decision,
    so a position entered on the last warm-up day is bought on the first day, not at the next change."""
    window = weights.loc[weights.index >= start].copy()
    if window.empty:
        raise ValueError(f"no trading day with bars on or after {start}: the backtest window is empty")
    decided = weights.loc[weights.index <= window.index[0]].dropna(how="all")
    if window.iloc[0].isna().all() and len(decided):
        window.iloc[0] = decided.iloc[-1]
    return window


def from_start(panels: dict[str, pd.DataFrame], start: date) -> dict[str, pd.DataFrame]:
    return {name: panel.loc[panel.index >= start] for name, panel in panels.items()}


def score_panel(conn: psycopg.Connection[Any], start: date, end: date, like: pd.DataFrame) -> pd.DataFrame:
    """ml.predictions' scores of [start, end] on the (dates × symbols) axes of ``like`` (NaN: not scored)."""
    scores = read_partition(conn, "ml.predictions", start, end)
    return scores.pivot(index="trading_date", columns="symbol", values="score").reindex(
        index=like.index, columns=like.columns
    )


def vn30_levels(conn: psycopg.Connection[Any], start: date, end: date) -> pd.Series:
    levels = read_partition(conn, "market.index_levels", start, end)
    levels = levels[levels["index_code"] == "VN30"]
    if levels.empty:
        raise ValueError(f"no VN30 levels in market.index_levels for {start}..{end}: materialize index_levels")
    return levels.set_index("trading_date")["close"].sort_index()


def vn30_returns(conn: psycopg.Connection[Any], start: date, end: date, dates: pd.Index) -> pd.Series:
    """VN30 daily close-to-close returns on ``dates`` (the first covered day's return is 0: the book starts in
    cash); NaN before VN30's first level in the window (real levels start 2018-08-20): a range without the index
    is left out of every comparison, never counted as a flat index."""
    levels = vn30_levels(conn, start, end).reindex(dates).ffill()
    returns = levels.pct_change()
    first = levels.first_valid_index()
    if first is not None:
        returns[first] = 0.0
    return returns
