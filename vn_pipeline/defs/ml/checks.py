"""The gate between a trained model and published predictions."""

import dagster as dg

from vn_pipeline.defs.ml.assets import trained_models
from vn_pipeline.defs.resources import WarehouseResource
from vn_pipeline.lib.ml.registry import load_models, model_approvals


@dg.asset_check(asset=trained_models, blocking=True)
def oos_rank_ic_above_minimum(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    """The walk-forward models' out-of-sample Rank IC reaches the configured minimum (ModelConfig
    min_oos_rank_ic). ml/models decides it once and stores it in ml.models.approved; this check reads that
    decision for the models of the latest materialization, and ml/predictions uses only approved models,
    whichever run publishes them."""
    event = context.instance.get_latest_materialization_event(trained_models.key)
    metadata = event.asset_materialization.metadata if event and event.asset_materialization else {}
    model_ids = list(metadata["model_ids"].value) if "model_ids" in metadata else []
    with warehouse.connect() as conn:
        approvals = model_approvals(conn, model_ids)
        models = load_models(conn, model_ids[:1])
    extra = models[0].extra if models else {}
    return dg.AssetCheckResult(
        passed=bool(model_ids) and all(approvals.get(model_id, False) for model_id in model_ids),
        metadata={
            "oos_rank_ic": float(extra.get("rank_ic_mean", float("nan"))),
            "min_oos_rank_ic": float(extra.get("min_oos_rank_ic", 0.0)),
            "models_approved": sum(approvals.values()),
            "models": len(model_ids),
        },
    )


CHECKS = [oos_rank_ic_above_minimum]
