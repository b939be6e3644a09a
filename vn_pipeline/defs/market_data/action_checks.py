"""A price cut no corporate action explains: the vendor never adjusted it (MWG 2021-08-30, −32.8% in both series)."""

import dagster as dg

from vn_pipeline.defs.common import CORPORATE_ACTIONS, table, window
from vn_pipeline.defs.partitions import trading_day_partitions
from vn_pipeline.defs.resources import WarehouseResource
from vn_pipeline.lib.market.calendar import CALENDAR_START, previous_trading_day
from vn_pipeline.lib.sources.vendors.cafef_adjustments import LONG_HALT_SESSIONS, unadjusted_moves

SAMPLE_ROWS = 20
DAILY_BARS = dg.AssetKey(["market", "daily_bars"])


@dg.asset_check(
    asset=CORPORATE_ACTIONS,
    partitions_def=trading_day_partitions,
    additional_deps=[DAILY_BARS],
)
def moves_beyond_band_are_adjusted(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    """No stored close moves beyond what any board's band allows (UPCoM's ±15%, ±40% after a long halt) unless a
    corporate action on that day cuts the reference by as much. Such a move is an event the vendor never adjusted:
    features and backtests would read it as a real loss. A person should look (WARN): add the action, or
    quarantine the bar if it is a vendor typo."""
    start, end = window(context)
    try:
        # The window's first day needs the previous close; a halt longer than this is a first day (wide band).
        first = previous_trading_day(start, LONG_HALT_SESSIONS + 5)
    except ValueError:
        first = CALENDAR_START
    columns = ["trading_date", "symbol", "high", "low", "close", "value", "volume"]
    bars = warehouse.read_partition("market.daily_bars", first, end, columns=columns)
    actions = warehouse.read_partition("market.corporate_actions", first, end)
    moves = unadjusted_moves(bars, actions)
    moves = moves[(moves["trading_date"] >= start) & (moves["trading_date"] <= end)]
    return dg.AssetCheckResult(
        passed=moves.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "rule": "a close beyond every board's band (vs the previous close or VWAP) has a corporate action that day",
            "unadjusted_moves": len(moves),
            "symbols": int(moves["symbol"].nunique()),
            "sample": table(moves.head(SAMPLE_ROWS)),
        },
    )


CHECKS = [moves_beyond_band_are_adjusted]
