"""What every domain's definitions share: the partition window of a run, the materialization helper, the shared
asset defaults and the keys of the assets one domain reads from another.

A domain depends on another domain's asset by its key (below), never by importing that domain's ``assets.py``;
Definitions resolves the keys (``test_definitions`` checks that each one names a defined asset)."""

from datetime import date, timedelta

import dagster as dg
import pandas as pd

from vn_pipeline.defs.partitions import trading_days

# Shared defaults of the trading-day partitioned assets; each domain adds its own group_name and owners.
COMMON = {
    "partitions_def": trading_days,
    "backfill_policy": dg.BackfillPolicy.single_run(),
}

# Asset keys = [schema, table] of the warehouse.
LISTINGS = dg.AssetKey(["market", "listings"])
OHLCV_1D = dg.AssetKey(["market", "ohlcv_1d"])
FOREIGN_FLOWS = dg.AssetKey(["market", "foreign_flows"])
CORPORATE_ACTIONS = dg.AssetKey(["market", "corporate_actions"])
INDEX_LEVELS = dg.AssetKey(["market", "index_levels"])
FEATURES_DAILY = dg.AssetKey(["features", "daily"])
LGBM_MODEL = dg.AssetKey(["ml", "lgbm_model"])
PREDICTIONS = dg.AssetKey(["ml", "predictions"])
# The books that trade (the VN30 baseline is the index itself): backtest/<strategy>, as risk/report reads them.
TRADED_STRATEGIES = ("topk", "ma_momentum", "bollinger", "equal_weight")
BACKTESTS = {strategy: dg.AssetKey(["backtest", strategy]) for strategy in (*TRADED_STRATEGIES, "vn30")}


def window(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> tuple[date, date]:
    """First and last trading date (inclusive) of the run's partition window."""
    time_window = context.partition_time_window
    return time_window.start.date(), (time_window.end - timedelta(days=1)).date()


def logged_result(
    context: dg.AssetExecutionContext, frame: pd.DataFrame, start: date, end: date, **extra: object
) -> dg.MaterializeResult:
    """Log what was written (the demo's progress) and return it as the materialization's metadata."""
    symbols = frame["symbol"].nunique() if len(frame) and "symbol" in frame.columns else 0
    metadata = {"dagster/row_count": len(frame), "symbols": symbols, "window": f"{start} → {end}", **extra}
    context.log.info(f"{context.asset_key.to_user_string()}: {len(frame):,} rows, {symbols} symbols, {start} → {end}")
    return dg.MaterializeResult(metadata=metadata)
