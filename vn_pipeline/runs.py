"""Running the asset graph over a window of trading days on a real Dagster instance (CLI and tests)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import date

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from vn_pipeline.instance import batch_events, one_planned_event_per_asset
from vn_pipeline.lib.market.calendar import is_trading_day


@dataclass
class WindowRun:
    success: bool
    run_id: str
    checks_passed: list[str] = field(default_factory=list)
    checks_failed: list[str] = field(default_factory=list)
    severity: dict[str, str] = field(default_factory=dict)  # check name -> "ERROR" or "WARN"
    metadata: dict[str, dict[str, object]] = field(default_factory=dict)  # check name -> its metadata values

    @property
    def errors(self) -> list[str]:
        """Failed ERROR-severity checks: blocking data problems."""
        return [name for name in self.checks_failed if self.severity.get(name, "ERROR") == "ERROR"]

    @property
    def warnings(self) -> list[str]:
        """Failed WARN-severity checks: worth a look, not a reason to stop."""
        return [name for name in self.checks_failed if self.severity.get(name) == "WARN"]


def run_window(
    defs: dg.Definitions,
    job_name: str,
    start: date,
    end: date,
    instance: dg.DagsterInstance,
    run_config: dict | None = None,
    resources: dict[str, object] | None = None,
    log_level: str = "INFO",
    assets: set[dg.AssetKey] | None = None,
    checks: set[dg.AssetCheckKey] | None = None,
) -> WindowRun:
    """One run over the trading days [start, end]: single-run backfill of every asset in the job (or of
    ``assets`` and ``checks`` only, when either is given)."""
    for bound in (start, end):
        if not is_trading_day(bound):
            raise ValueError(f"{bound} is not a trading day; a window must start and end on one")
    tags = {ASSET_PARTITION_RANGE_START_TAG: start.isoformat(), ASSET_PARTITION_RANGE_END_TAG: end.isoformat()}
    # Planning 500 days one event per partition and asset costs more than computing them.
    planning = one_planned_event_per_asset() if start != end else contextlib.nullcontext()
    with planning:
        return run_job(defs, job_name, instance, run_config, resources, log_level, tags, assets, checks)


def run_job(
    defs: dg.Definitions,
    job_name: str,
    instance: dg.DagsterInstance,
    run_config: dict | None = None,
    resources: dict[str, object] | None = None,
    log_level: str = "INFO",
    tags: dict[str, str] | None = None,
    assets: set[dg.AssetKey] | None = None,
    checks: set[dg.AssetCheckKey] | None = None,
) -> WindowRun:
    """One in-process run of ``job_name`` on ``instance``, with its asset checks' outcomes and severities.

    ``assets`` / ``checks`` narrow the run to a subset of the job (an empty ``assets`` with ``checks`` runs
    those checks alone, on what is stored)."""
    batch_events()
    job = defs.resolve_job_def(job_name)
    if assets is not None or checks is not None:
        job = job.get_subset(asset_selection=assets, asset_check_selection=checks)
    config = {"loggers": {"console": {"config": {"log_level": log_level}}}, **(run_config or {})}
    result = job.execute_in_process(
        run_config=config, instance=instance, tags=tags, raise_on_error=False, resources=resources
    )
    outcome = WindowRun(success=result.success, run_id=result.run_id)
    for evaluation in result.get_asset_check_evaluations():
        name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
        (outcome.checks_passed if evaluation.passed else outcome.checks_failed).append(name)
        outcome.severity[name] = evaluation.severity.value
        outcome.metadata[name] = {key: value.value for key, value in evaluation.metadata.items()}
    return outcome
