"""Checks on the feature matrix: NaN only inside warm-up or flat windows, and drift against the training window."""

import dagster as dg

from vn_pipeline.defs.common import table, window
from vn_pipeline.defs.features.assets import features_daily
from vn_pipeline.defs.partitions import trading_day_partitions
from vn_pipeline.defs.resources import WarehouseResource
from vn_pipeline.lib.features import FEATURE_NAMES, UNDEFINED_ON_FLAT, WARMUP_DAYS
from vn_pipeline.lib.features.inputs import warmup_nan_rows
from vn_pipeline.lib.features.rules import feature_drift
from vn_pipeline.lib.ml.predict import reference_model
from vn_pipeline.lib.ml.registry import load_models
from vn_pipeline.lib.warehouse.reads import stored_days

PSI_WARN = 0.25  # the usual threshold for "the population has shifted"
DRIFT_DAYS = 20  # trading days compared with the training window: a month, not one day's cross-section


@dg.asset_check(asset=features_daily, partitions_def=trading_day_partitions)
def features_nan_only_in_warmup(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    """A symbol with WARMUP_DAYS bars of history has a value for every feature, except where the feature's value
    is NaN by definition (recomputed here from the inputs as the features saw them, see lib/features/rules.py):
    a feature of UNDEFINED_ON_FLAT on a flat window (e.g. rsqr_20 on 20 equal closes), a foreign- or
    proprietary-flow feature whose window lacks flow rows of the symbol (no data is not zero flow), a rotation
    feature whose lookback lacks VN30 levels (reported as ranges, never filled from another series). Any other
    NaN is flagged."""
    start, end = window(context)
    with warehouse.connect() as conn:
        result = warmup_nan_rows(conn, start, end)
    offending = result.offending
    return dg.AssetCheckResult(
        passed=offending.empty,
        metadata={
            "rule": f"no NaN feature once a symbol has {WARMUP_DAYS} bars of history, except the "
            f"{len(UNDEFINED_ON_FLAT)} features of UNDEFINED_ON_FLAT where their window is flat, flow features "
            "whose window lacks flow rows and rotation features whose lookback lacks VN30 levels",
            "offending_rows": len(offending),
            **{f"rows_nan_only_{rule}": n for rule, n in result.needs_rule.items()},
            "range_without_index_data": "; ".join(map(str, result.missing_vn30)) or "none",
            "sample": table(offending.head(20)),
        },
    )


@dg.asset_check(asset=features_daily, partitions_def=trading_day_partitions)
def feature_drift_psi(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """WARN when a feature's cross-sectional distribution over the last DRIFT_DAYS trading days up to the
    window's last day differs from the model's training window (lib/features/rules.py): the PSI of values
    z-scored within each day (a market-wide move that lifts or sinks every name is not drift, a change in how
    names spread out is) and the PSI of the raw values (z-scores of a 0/1 flag move with each day's share of
    ones) must both exceed 0.25 and the largest PSI any DRIFT_DAYS-day stretch of the training window has
    against the rest of it (with 30 names a month's PSI is noisy). Point-in-time: only
    feature rows up to the day. The reference is the newest approved model whose training data ended before
    the checked window (none yet: the check says so and passes). Both windows are the universe's rows, the names
    the model is trained on and scores."""
    _, day = window(context)
    with warehouse.connect() as conn:
        dates = stored_days(conn, "features.daily", day)
        models = load_models(conn, approved_only=True)
    checked = dates[-DRIFT_DAYS:]
    model = reference_model(models, checked[0], dates) if checked else None
    if model is None:
        return dg.AssetCheckResult(
            passed=True,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"note": f"no approved model trained before {checked[0] if checked else day}: "
                      "nothing to compare with", "window": f"{checked[0] if checked else day} → {day}"},
        )  # fmt: skip
    # The model's population, as it was trained and as it is scored: the universe's rows. The whole market over a
    # model's training years is ~16 times as many rows (22 GB for 1,600 symbols × 17 years; the step was killed).
    reference = warehouse.read_partition(
        "features.daily", model.train_start, model.train_end, within="features.universe"
    )
    current = warehouse.read_partition("features.daily", checked[0], day, within="features.universe")
    names = list(FEATURE_NAMES)
    drift = feature_drift(reference, current, names, block_days=len(checked), threshold=PSI_WARN)
    drifted = drift[drift["drifted"]]
    return dg.AssetCheckResult(
        passed=drifted.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "reference_model": model.model_id,
            "reference_window": f"{model.train_start} → {model.train_end}",
            "window": f"{checked[0]} → {day} ({len(checked)} trading days)",
            "reference_rows": len(reference),
            "rows": len(current),
            "drifted_features": len(drifted),
            "drifted": ", ".join(drifted.index) or "none",
            "over_0.25_on_raw_values": int((drift["psi_raw"] > PSI_WARN).sum()),
            "top_psi": table(drift.head(15), index="feature"),
        },
    )


CHECKS = [features_nan_only_in_warmup, feature_drift_psi]
