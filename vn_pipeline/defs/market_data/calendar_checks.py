"""A warning, ahead of time, that the schedule is about to run on days the official closure list does not cover."""

from datetime import date

import dagster as dg

from vn_pipeline.defs.common import window
from vn_pipeline.defs.market_data.assets import listings
from vn_pipeline.defs.partitions import trading_day_partitions
from vn_pipeline.lib.market.calendar import OFFICIAL_THROUGH, is_provisional, next_trading_day

# About a month of sessions: the government announces Tết and National Day bridge days a few months ahead and
# the exchanges publish their schedule in November/December, so a month's notice leaves time to add them.
LOOKAHEAD_SESSIONS = 20
WHAT_TO_DO = (
    "Add the year's official closures (government day swaps, exchange bridge days) to "
    "vn_pipeline/lib/market/data/exchange_exceptions.csv, or upgrade the pinned `holidays` package once it has "
    "them, then raise OFFICIAL_THROUGH in vn_pipeline/lib/market/calendar.py. Until then the days come from the "
    "`holidays` rules and may miss a bridge day."
)


def first_provisional_day(start: date, end: date, lookahead: int = LOOKAHEAD_SESSIONS) -> date | None:
    """The first trading day in [start, `lookahead` sessions after end] past the official closure list, or None."""
    if is_provisional(start):
        return start
    if not is_provisional(next_trading_day(end, lookahead)):
        return None
    return next_trading_day(OFFICIAL_THROUGH)


def build_calendar_check(lookahead: int = LOOKAHEAD_SESSIONS) -> dg.AssetChecksDefinition:
    """The check, looking `lookahead` sessions past the partition window (tests move the boundary with it)."""

    description = (
        f"The partition's days and the next {lookahead} sessions are covered by the official closure list "
        f"(through OFFICIAL_THROUGH); warns when they reach days the calendar only computes from the `holidays` rules."
    )

    @dg.asset_check(
        asset=listings,
        name="calendar_official_for_upcoming_days",
        partitions_def=trading_day_partitions,
        description=description,
    )
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        start, end = window(context)
        first = first_provisional_day(start, end, lookahead)
        metadata: dict[str, object] = {
            "official_through": OFFICIAL_THROUGH.isoformat(),
            "checked_through": next_trading_day(end, lookahead).isoformat(),
            "lookahead_sessions": lookahead,
        }
        if first is not None:
            metadata |= {"first_provisional_day": first.isoformat(), "what_to_do": WHAT_TO_DO}
            context.log.warning(f"trading day {first} is past the official closure list: {WHAT_TO_DO}")
        return dg.AssetCheckResult(passed=first is None, severity=dg.AssetCheckSeverity.WARN, metadata=metadata)

    return _check


calendar_official_for_upcoming_days = build_calendar_check()
CHECKS = [calendar_official_for_upcoming_days]
