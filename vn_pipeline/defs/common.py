"""What every domain's definitions share: the partition window of a run, the materialization helper, the shared
asset defaults and the keys of the assets one domain reads from another.

A domain depends on another domain's asset by its key (below), never by importing that domain's ``assets.py``;
Definitions resolves the keys (``test_definitions`` checks that each one names a defined asset)."""

import math
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd

from vn_pipeline.defs.partitions import trading_day_partitions
from vn_pipeline.lib.reports.charts import write_png

# Shared defaults of the trading-day partitioned assets; each domain adds its own group_name and owners.
COMMON = {
    "partitions_def": trading_day_partitions,
    "backfill_policy": dg.BackfillPolicy.single_run(),
}

# Asset keys = [schema, table] of the warehouse.
LISTINGS = dg.AssetKey(["market", "listings"])
OHLCV_1D = dg.AssetKey(["market", "ohlcv_1d"])
FOREIGN_FLOWS = dg.AssetKey(["market", "foreign_flows"])
PROPRIETARY_FLOWS = dg.AssetKey(["market", "proprietary_flows"])
CORPORATE_ACTIONS = dg.AssetKey(["market", "corporate_actions"])
INDEX_LEVELS = dg.AssetKey(["market", "index_levels"])
FEATURES_DAILY = dg.AssetKey(["features", "daily"])
FEATURES_UNIVERSE = dg.AssetKey(["features", "universe"])  # the point-in-time liquidity universe
MODELS = dg.AssetKey(["ml", "models"])  # the walk-forward LightGBM models
PREDICTIONS = dg.AssetKey(["ml", "predictions"])
# The books that trade (the VN30 baseline is the index itself): backtest/<strategy>, as risk/report reads them.
TRADED_STRATEGIES = ("topk", "topk_overlay", "ma_momentum", "bollinger", "equal_weight")
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


def _column_type(dtype: object) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    return "string"


def _cell(value: object) -> str | int | float | bool | None:
    """A table cell as the event log stores it: NaN and missing values as None, dates and objects as text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    return str(value)


def table(frame: pd.DataFrame, index: str | None = None) -> dg.TableMetadataValue:
    """``frame`` as a metadata table (columns typed from its dtypes); ``index``: keep the index as a first column
    of that name. An empty frame is an empty table with its schema."""
    if index is not None:
        frame = frame.rename_axis(index).reset_index()
    schema = dg.TableSchema(
        columns=[dg.TableColumn(str(name), _column_type(dtype)) for name, dtype in frame.dtypes.items()]
    )
    records = [
        dg.TableRecord({str(name): _cell(value) for name, value in zip(frame.columns, row, strict=True)})
        for row in frame.itertuples(index=False, name=None)
    ]
    return dg.MetadataValue.table(records, schema)


def chart(png: bytes, path: Path) -> dg.PathMetadataValue:
    """A chart written as a PNG file (the event log links it by path instead of carrying it base64-encoded)."""
    return dg.MetadataValue.path(str(write_png(png, path.parent, path.name)))
