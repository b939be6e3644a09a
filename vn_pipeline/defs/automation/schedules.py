"""The daily close: 15:30 Asia/Ho_Chi_Minh, after every session (UPCoM's included) has ended."""

import dagster as dg

from vn_pipeline.defs.automation.jobs import market_daily_close
from vn_pipeline.lib.market.calendar import OFFICIAL_THROUGH, holiday_name, is_provisional, is_trading_day
from vn_pipeline.lib.market.timezone import VN_TZ_NAME

# Tag on close runs whose day is past the official closure list: the calendar_official_for_upcoming_days check
# warns ahead of them, and the tag lets a person find the runs that relied on the computed calendar.
PROVISIONAL_TAG = "vn_pipeline/calendar_provisional"


@dg.schedule(
    cron_schedule="30 15 * * 1-5",
    execution_timezone=VN_TZ_NAME,
    job=market_daily_close,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def daily_close_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    """Materializes the day's market data at the close, on trading days only (computed from the `holidays`
    rules past the officially announced years: the run still happens, tagged as provisional)."""
    day = context.scheduled_execution_time.date()
    if not is_trading_day(day):
        return dg.SkipReason(f"{day} is not a trading day: {holiday_name(day) or 'exchange closed'}")
    tags = {PROVISIONAL_TAG: f"past {OFFICIAL_THROUGH}"} if is_provisional(day) else {}
    return dg.RunRequest(run_key=day.isoformat(), partition_key=day.isoformat(), tags=tags)
