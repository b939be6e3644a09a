"""features/daily: the point-in-time feature matrix, one row per (trading day, symbol); features/universe: the
names of each day the model trains on and scores."""

import dagster as dg

from vn_pipeline.defs.common import (
    COMMON,
    CORPORATE_ACTIONS,
    FEATURES_DAILY,
    FEATURES_UNIVERSE,
    FOREIGN_FLOWS,
    INDEX_LEVELS,
    LISTINGS,
    OHLCV_1D,
    PROPRIETARY_FLOWS,
    logged_result,
    window,
)
from vn_pipeline.defs.resources import WarehouseResource
from vn_pipeline.lib.features import WARMUP_DAYS
from vn_pipeline.lib.features.inputs import daily_features, lookback_start
from vn_pipeline.lib.features.universe import (
    LIQUIDITY_WINDOW,
    MIN_HISTORY,
    UNIVERSE_SIZE,
    universe_between,
    universe_lookback_start,
)

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


class UniverseConfig(dg.Config):
    """The ``size`` names of highest mean traded value over ``window`` trading days, among those listed and
    trading that day with at least ``min_history`` bars in the window. (The lineage shows the default window.)"""

    size: int = UNIVERSE_SIZE
    window: int = LIQUIDITY_WINDOW
    min_history: int = MIN_HISTORY


@dg.asset(
    key=FEATURES_UNIVERSE,
    deps=[
        dg.AssetDep(OHLCV_1D, partition_mapping=dg.TimeWindowPartitionMapping(start_offset=1 - LIQUIDITY_WINDOW)),
        LISTINGS,
    ],
    kinds={"timescaledb", "python"},
    **{**COMMON, "group_name": "features", "owners": ["team:research"]},
)
def features_universe(
    context: dg.AssetExecutionContext, config: UniverseConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """The point-in-time liquidity universe: each day's most liquid names by mean traded value (VND) over the
    trailing window up to that day's close, ranked 1 = most liquid. Delisted names are in it while they were
    listed and trading. The model trains only on these rows and ml/predictions scores only them."""
    start, end = window(context)
    with warehouse.connect() as conn:
        frame = universe_between(conn, start, end, config.size, config.window, config.min_history)
    warehouse.write_partition("features.universe", frame, start, end)
    per_day = frame.groupby("trading_date").size()
    return logged_result(
        context, frame, start, end, lookback_from=str(universe_lookback_start(start, config.window)),
        size=config.size, window_days=config.window, min_history=config.min_history,
        smallest_day=int(per_day.min()) if len(per_day) else 0,
    )  # fmt: skip


ASSETS = [features_daily, features_universe]
