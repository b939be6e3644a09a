"""Cash-equity settlement: T+2, with shares sellable from the afternoon session of T+2 ("T+2.5").

This applies the current rule from VN_MARKET.md to every date. Historical cycles differed (T+3 before 2016;
the afternoon-of-T+2 sale dates from 2022-08-29 -- unconfirmed), so backtests over older data that depend on
the exact holding constraint should treat this as an approximation.
"""

from __future__ import annotations

import datetime as dt

from vn_pipeline.lib.market.calendar import is_trading_day, next_trading_day
from vn_pipeline.lib.market.timezone import VN_TZ

SETTLEMENT_LAG = 2
# Shares arrive around midday of T+2; the afternoon continuous session starts at 13:00 on every exchange.
SELLABLE_FROM = dt.time(13, 0)


def settlement_date(trade_date: dt.date) -> dt.date:
    """Trading day on which a trade done on `trade_date` settles (T+2 trading days)."""
    if not is_trading_day(trade_date):
        raise ValueError(f"{trade_date} is not a trading day; nothing can trade on it")
    return next_trading_day(trade_date, SETTLEMENT_LAG)


def earliest_sell_time(buy_date: dt.date) -> dt.datetime:
    """13:00 Asia/Ho_Chi_Minh on T+2: the first moment shares bought on `buy_date` can be sold."""
    return dt.datetime.combine(settlement_date(buy_date), SELLABLE_FROM, tzinfo=VN_TZ)


def can_sell(buy_date: dt.date, at: dt.datetime) -> bool:
    """Whether shares bought on `buy_date` are sellable at `at` (settlement only, not market hours).

    A naive `at` is read as Vietnamese local time, the convention of every local vendor feed.
    """
    if at.tzinfo is None:
        at = at.replace(tzinfo=VN_TZ)
    return at >= earliest_sell_time(buy_date)
