"""features/daily: the point-in-time feature matrix, one row per (trading day, symbol)."""

import dagster as dg

from vn_pipeline.defs.market_data.assets import (
    COMMON,
    corporate_actions,
    foreign_flows,
    index_levels,
    logged_result,
    ohlcv_1d,
    window,
)
from vn_pipeline.defs.resources import WarehouseResource
from vn_pipeline.lib.features import WARMUP_DAYS, adjust_prices, compute_features
from vn_pipeline.lib.market.calendar import CALENDAR_START, previous_trading_day

LOOKBACK = dg.TimeWindowPartitionMapping(start_offset=-WARMUP_DAYS)


def lookback_start(start):
    """The first day a window's features read: WARMUP_DAYS trading days back, never before the calendar."""
    try:
        return previous_trading_day(start, WARMUP_DAYS)
    except ValueError:
        return CALENDAR_START


def actions_between(warehouse: WarehouseResource, start, end):
    """Corporate actions with ex-dates in [start, end], in the layout adjust_prices takes."""
    actions = warehouse.read_partition("market.corporate_actions", start, end)
    return actions.rename(columns={"trading_date": "ex_date"})


@dg.asset(
    key=["features", "daily"],
    deps=[
        dg.AssetDep(asset, partition_mapping=LOOKBACK)
        for asset in (ohlcv_1d, foreign_flows, index_levels, corporate_actions)
    ],
    kinds={"timescaledb", "python"},
    **{**COMMON, "group_name": "features", "owners": ["team:research"]},
)
def features_daily(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Indicators (SMA/EMA, MACD, RSI, Bollinger, ATR, OBV, Fibonacci position, volume-spread signals,
    relative rotation vs VN30), Alpha158-class price/volume features, foreign-flow features and cross-sectional
    ranks, on prices adjusted for stock dividends. Day D's row uses nothing after D's close."""
    start, end = window(context)
    first = lookback_start(start)
    bars = warehouse.read_partition("market.ohlcv_1d", first, end)
    actions = actions_between(warehouse, first, end)
    flows = warehouse.read_partition("market.foreign_flows", first, end)
    index = warehouse.read_partition("market.index_levels", first, end)
    vn30 = index[index["index_code"] == "VN30"].set_index("trading_date")["close"].sort_index()
    frame = compute_features(adjust_prices(bars, actions), flows, vn30 if len(vn30) else None, start=start)
    warehouse.write_partition("features.daily", frame, start, end)
    return logged_result(context, frame, start, end, lookback_from=str(first))
