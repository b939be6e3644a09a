"""The gate between a trained model and published predictions."""

import dagster as dg

from vn_pipeline.defs.ml.assets import lgbm_model


@dg.asset_check(asset=lgbm_model, blocking=True)
def oos_rank_ic_above_minimum(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    """The walk-forward models' out-of-sample Rank IC reaches the configured minimum (ModelConfig
    min_oos_rank_ic). ml/predictions uses only models that passed, whichever run publishes them."""
    event = context.instance.get_latest_materialization_event(lgbm_model.key)
    metadata = event.asset_materialization.metadata if event and event.asset_materialization else {}
    rank_ic = metadata["oos_rank_ic"].value if "oos_rank_ic" in metadata else float("nan")
    minimum = metadata["min_oos_rank_ic"].value if "min_oos_rank_ic" in metadata else 0.0
    return dg.AssetCheckResult(
        passed=bool(rank_ic >= minimum),
        metadata={"oos_rank_ic": rank_ic, "min_oos_rank_ic": minimum},
    )


CHECKS = [oos_rank_ic_above_minimum]
