"""The daily close: 15:30 Asia/Ho_Chi_Minh, after every session (UPCoM's included) has ended."""

import dagster as dg

from vn_pipeline.defs.automation.jobs import market_daily_close
from vn_pipeline.lib.market.calendar import CALENDAR_END, holiday_name, is_trading_day


@dg.schedule(
    cron_schedule="30 15 * * 1-5",
    execution_timezone="Asia/Ho_Chi_Minh",
    job=market_daily_close,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def daily_close_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    """Materializes the day's market data at the close, on trading days only."""
    day = context.scheduled_execution_time.date()
    if day > CALENDAR_END:
        return dg.SkipReason(f"{day} is past the trading calendar ({CALENDAR_END}): add the year's closures")
    if not is_trading_day(day):
        return dg.SkipReason(f"{day} is not a trading day: {holiday_name(day) or 'exchange closed'}")
    return dg.RunRequest(run_key=day.isoformat(), partition_key=day.isoformat())
