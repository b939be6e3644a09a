"""Jobs the schedule and the sensor launch."""

import dagster as dg

from vn_pipeline.defs.partitions import trading_days

MARKET_DATA = dg.AssetSelection.groups("market_data")

market_daily_close = dg.define_asset_job("market_daily_close", selection=MARKET_DATA, partitions_def=trading_days)

landing_file_ingest = dg.define_asset_job(
    "landing_file_ingest",
    selection=dg.AssetSelection.assets(
        ["market", "listings"], ["market", "raw_ticks"], ["market", "ohlcv_1m"], ["market", "ohlcv_1d"]
    ),
    partitions_def=trading_days,
)
