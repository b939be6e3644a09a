"""Checks that hold the data to the trading calendar: a warning, ahead of time, that the schedule is about to run
on days the official closure list does not cover, and one when a trading day is missing from every symbol."""

from datetime import date

import dagster as dg

from vn_pipeline.defs.common import window
from vn_pipeline.defs.market_data.assets import daily_bars, listings
from vn_pipeline.defs.partitions import trading_day_partitions
from vn_pipeline.defs.resources import WarehouseResource
from vn_pipeline.lib.market.calendar import OFFICIAL_THROUGH, is_provisional, next_trading_day
from vn_pipeline.lib.market_data.bar_rules import days_without_bars
from vn_pipeline.lib.warehouse.reads import stored_days

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

MISSING_DAY_TO_DO = (
    "The vendor set has no bar for these sessions although the calendar says the exchange traded: load the days "
    "from another vendor (or a newer export) before trusting returns across them. If the exchange really was "
    "closed, add the day to vn_pipeline/lib/market/data/exchange_exceptions.csv."
)


@dg.asset_check(
    asset=daily_bars,
    name="every_trading_day_has_bars",
    partitions_def=trading_day_partitions,
    description=(
        "Every trading day of the window (per the calendar) between its first and last day with bars has a daily "
        "bar from at least one symbol: warns on a session missing from the whole vendor set (CafeF: 2025-02-03), "
        "which is never stored as a day without trades."
    ),
)
def every_trading_day_has_bars(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    """WARN, not ERROR. An ERROR fails the run's outcome (the demo exits 1): it is for a problem a fix or a
    re-run removes. This hole is a fact of the vendor set: no re-run on these files can fill it, so as an ERROR
    every run over the real CafeF history (the demo of issue #11 included) would fail forever on 2025-02-03,
    and a check that always fails gets ignored. The check stores nothing, and the asset stores no bar for the
    day (it is not made a day without trades), so nothing has to be undone once the day is loaded; the warning
    names the days, so a person can load them from another vendor before trusting returns across them (a
    two-session return read as a one-day one)."""
    start, end = window(context)
    with warehouse.connect() as conn:  # distinct days only: the bars themselves stay on the server
        bar_days = [day for day in stored_days(conn, "market.daily_bars", end) if day >= start]
    missing = days_without_bars(bar_days, start, end)
    metadata: dict[str, object] = {
        "rule": "every trading day between the window's first and last bar day has a bar from some symbol",
        "days_with_bars": len(bar_days),
        "missing_days": [day.isoformat() for day in missing],
    }
    if missing:
        metadata["what_to_do"] = MISSING_DAY_TO_DO
        context.log.warning(f"trading days without a bar from any symbol: {', '.join(map(str, missing))}")
    return dg.AssetCheckResult(passed=not missing, severity=dg.AssetCheckSeverity.WARN, metadata=metadata)


CHECKS = [calendar_official_for_upcoming_days, every_trading_day_has_bars]
