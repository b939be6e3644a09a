"""What every domain's definitions share: the partition window of a run and the materialization helper."""

from datetime import date, timedelta

import dagster as dg
import pandas as pd


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
