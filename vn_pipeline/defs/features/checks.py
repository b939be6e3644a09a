"""Checks on the feature matrix: NaN only inside warm-up windows, and drift against the training window."""

import dagster as dg
import pandas as pd

from vn_pipeline.defs.features.assets import features_daily, lookback_start
from vn_pipeline.defs.market_data.assets import window
from vn_pipeline.defs.partitions import trading_days
from vn_pipeline.defs.resources import WarehouseResource
from vn_pipeline.lib.feature_rules import feature_drift, nan_outside_warmup
from vn_pipeline.lib.features import FEATURE_NAMES, WARMUP_DAYS

PSI_WARN = 0.25  # the usual threshold for "the population has shifted"


@dg.asset_check(asset=features_daily, partitions_def=trading_days)
def features_nan_only_in_warmup(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    """A symbol with WARMUP_DAYS bars of history has a value for every feature."""
    start, end = window(context)
    features = warehouse.read_partition("features.daily", start, end)
    bars = warehouse.read_partition("market.ohlcv_1d", lookback_start(start), end, columns=["trading_date", "symbol"])
    bars = bars.sort_values(["symbol", "trading_date"])
    history = bars.groupby("symbol").cumcount().set_axis(pd.MultiIndex.from_frame(bars))
    offending = nan_outside_warmup(features, history, WARMUP_DAYS)
    return dg.AssetCheckResult(
        passed=offending.empty,
        metadata={
            "rule": f"no NaN feature once a symbol has {WARMUP_DAYS} bars of history",
            "offending_rows": len(offending),
            "sample": dg.MetadataValue.md(offending.head(20).to_markdown(index=False) if len(offending) else "none"),
        },
    )


@dg.asset_check(asset=features_daily, partitions_def=trading_days)
def feature_drift_psi(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """WARN when a feature's population stability index between the newest model's training window and the
    window's last day exceeds 0.25."""
    _, end = window(context)
    with warehouse.connect() as conn:
        row = conn.execute("SELECT train_start, train_end FROM ml.models ORDER BY valid_end DESC LIMIT 1").fetchone()
    if row is None:
        return dg.AssetCheckResult(passed=True, metadata={"note": "no trained model yet: nothing to compare with"})
    reference = warehouse.read_partition("features.daily", row[0], row[1])
    latest = warehouse.read_partition("features.daily", end, end)
    psi = feature_drift(reference, latest, list(FEATURE_NAMES))
    drifted = psi[psi > PSI_WARN]
    return dg.AssetCheckResult(
        passed=drifted.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "reference_window": f"{row[0]} → {row[1]}",
            "day": str(end),
            "drifted_features": len(drifted),
            "top_psi": dg.MetadataValue.md(psi.head(15).rename("psi").to_frame().to_markdown()),
        },
    )


CHECKS = [features_nan_only_in_warmup, feature_drift_psi]
