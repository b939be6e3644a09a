"""features/daily: the point-in-time feature matrix, one row per (trading day, symbol)."""

import dagster as dg

from vn_pipeline.defs.common import (
    COMMON,
    CORPORATE_ACTIONS,
    FEATURES_DAILY,
    FOREIGN_FLOWS,
    INDEX_LEVELS,
    OHLCV_1D,
    PROPRIETARY_FLOWS,
    logged_result,
    window,
)
from vn_pipeline.defs.resources import WarehouseResource
from vn_pipeline.lib.features import WARMUP_DAYS
from vn_pipeline.lib.features.inputs import daily_features, lookback_start

LOOKBACK = dg.TimeWindowPartitionMapping(start_offset=-WARMUP_DAYS)


@dg.asset(
    key=FEATURES_DAILY,
    deps=[
        dg.AssetDep(key, partition_mapping=LOOKBACK)
        for key in (OHLCV_1D, FOREIGN_FLOWS, PROPRIETARY_FLOWS, INDEX_LEVELS, CORPORATE_ACTIONS)
    ],
    kinds={"timescaledb", "python"},
    **{**COMMON, "group_name": "features", "owners": ["team:research"]},
)
def features_daily(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Indicators (SMA/EMA, MACD, RSI, Bollinger, ATR, OBV, Fibonacci position, volume-spread signals,
    relative rotation vs VN30), Alpha158-class price/volume features, foreign- and proprietary-flow features and
    cross-sectional ranks, on prices adjusted for stock dividends. Day D's row uses nothing after D's close."""
    start, end = window(context)
    with warehouse.connect() as conn:
        frame = daily_features(conn, start, end)
    warehouse.write_partition("features.daily", frame, start, end)
    return logged_result(context, frame, start, end, lookback_from=str(lookback_start(start)))
