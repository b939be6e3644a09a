"""The market clock as numbers Prometheus can compare: a trading day as unix seconds, its age in trading days, and
when the close's data is due."""

from __future__ import annotations

import datetime as dt

from vn_pipeline.lib.market.calendar import is_trading_day, last_trading_day_on_or_before, trading_days
from vn_pipeline.lib.market.timezone import VN_TZ

# The daily close run starts at 15:30 (HOSE's ATC ends at 14:45, the vendors' files follow): by 16:00 the day's bars
# should be stored, and the alert rule fires after that.
CLOSE_DATA_DUE = dt.time(16, 0)


def day_timestamp(day: dt.date) -> float:
    """A trading day as unix seconds: its midnight in Asia/Ho_Chi_Minh, where its Dagster partition starts."""
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=VN_TZ).timestamp()


def market_today(now: dt.datetime) -> dt.date:
    """The calendar day in Vietnam at ``now`` (an aware datetime)."""
    return now.astimezone(VN_TZ).date()


def age_in_trading_days(day: dt.date, now: dt.datetime) -> int:
    """Trading days between ``day`` and the latest trading day on or before today (0: ``day`` is that day).

    Before the close today's session is already counted: at 10:00 on a trading day yesterday's partition is
    1 day old; the close rule, not this figure, says whether today's data is late."""
    latest = last_trading_day_on_or_before(market_today(now))
    if day >= latest:
        return 0
    return len(trading_days(day, latest)) - 1


def close_data_due(now: dt.datetime) -> float:
    """Today's 16:00 in Asia/Ho_Chi_Minh as unix seconds (meaningful on a trading day only)."""
    return dt.datetime.combine(market_today(now), CLOSE_DATA_DUE, tzinfo=VN_TZ).timestamp()


def today_is_trading_day(now: dt.datetime) -> bool:
    return is_trading_day(market_today(now))
