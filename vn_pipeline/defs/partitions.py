"""The one trading-day partitions definition every daily asset shares, built from the market calendar."""

import os
from datetime import date, datetime

import dagster as dg

from vn_pipeline.lib.market.calendar import CALENDAR_START, OFFICIAL_THROUGH, holidays
from vn_pipeline.lib.market.timezone import VN_TZ, VN_TZ_NAME

# Where the data starts: HOSE's first session by default, so 25 years of vendor history fit; a deployment that keeps
# only recent years sets VN_PIPELINE_PARTITIONS_START (fewer partitions for the UI to draw).
PARTITIONS_START = max(CALENDAR_START, date.fromisoformat(os.environ.get("VN_PIPELINE_PARTITIONS_START", "2000-07-28")))
# Holidays are excluded through this year: partitions open one day at a time (end_offset=1), so a few years past
# today (and past the officially announced ones) is always enough; provisional years come from the `holidays` rules.
PARTITIONS_HORIZON = date(max(date.today().year, OFFICIAL_THROUGH.year) + 5, 12, 31)


def _holiday_starts() -> list[datetime]:
    return [datetime(d.year, d.month, d.day, tzinfo=VN_TZ) for d in holidays(PARTITIONS_START, PARTITIONS_HORIZON)]


# end_offset=1 opens today's partition at midnight, so the 15:30 close run can materialize it the same day.
trading_day_partitions = dg.DailyPartitionsDefinition(
    start_date=PARTITIONS_START.isoformat(),
    timezone=VN_TZ_NAME,
    end_offset=1,
    exclusions=["0 0 * * 6", "0 0 * * 0", *_holiday_starts()],
)
