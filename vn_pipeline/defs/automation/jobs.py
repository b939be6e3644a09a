"""Jobs: what the schedule, the sensor, the demo and people launch."""

import dagster as dg

from vn_pipeline.defs.common import FEATURES_DAILY, FEATURES_UNIVERSE, MODELS
from vn_pipeline.defs.partitions import trading_day_partitions

MARKET_DATA = dg.AssetSelection.groups("market_data")
FEATURES = dg.AssetSelection.assets(FEATURES_DAILY, FEATURES_UNIVERSE)
PREDICTIONS = dg.AssetSelection.assets(["ml", "predictions"])

# The close: the day's market data, its features and the approved model's scores.
market_daily_close = dg.define_asset_job(
    "market_daily_close", selection=MARKET_DATA | FEATURES | PREDICTIONS, partitions_def=trading_day_partitions
)
market_data = dg.define_asset_job("market_data", selection=MARKET_DATA, partitions_def=trading_day_partitions)
features = dg.define_asset_job("features", selection=FEATURES, partitions_def=trading_day_partitions)
predict = dg.define_asset_job("predict", selection=PREDICTIONS, partitions_def=trading_day_partitions)
train = dg.define_asset_job("train", selection=dg.AssetSelection.assets(MODELS))
evaluate = dg.define_asset_job("evaluate", selection=dg.AssetSelection.assets(["ml", "evaluation"]))
backtest = dg.define_asset_job("backtest", selection=dg.AssetSelection.groups("backtest"))
risk = dg.define_asset_job("risk", selection=dg.AssetSelection.groups("risk"), partitions_def=trading_day_partitions)

# The dbt models (group analytics = their schema) and their tests, rebuilt whole over every stored day.
dbt_marts = dg.define_asset_job("dbt_marts", selection=dg.AssetSelection.groups("analytics"))

landing_file_ingest = dg.define_asset_job(
    "landing_file_ingest",
    selection=dg.AssetSelection.assets(
        ["market", "listings"], ["market", "raw_ticks"], ["market", "ohlcv_1m"], ["market", "ohlcv_1d"]
    ),
    partitions_def=trading_day_partitions,
)

JOBS = [
    market_daily_close, market_data, features, predict, train, evaluate, backtest, risk, landing_file_ingest, dbt_marts,
]  # fmt: skip
