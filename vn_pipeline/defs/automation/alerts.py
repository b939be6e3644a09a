"""The alerts sensor: every failed asset-check evaluation and every failed run becomes a notice in ops.alerts,
delivered to the channels of VN_PIPELINE_ALERT_URLS (vn_pipeline.lib.alerts has the rules; this file only reads
the Dagster instance).

Events are read after the sensor's cursor (kept by the instance: it survives daemon restarts), in storage-id
order. Exactly one alert per (check, partition) failure: a failure already open in ops.alerts is not alerted
again, however often it is re-evaluated or re-read, until a passing evaluation closes it with a recovery notice.

Partitions of a range run (a single-run backfill, ``dagster/asset_partition_range_*`` tags): Dagster records
one evaluation for the whole range with no partition. A check that names its failing days in a
``failed_days`` metadata list gets one alert per failing day; any other check gets one alert for the range,
keyed "start...end". A passing evaluation closes every open failure whose days it covers."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from vn_pipeline.defs.resources import WarehouseResource
from vn_pipeline.lib.alerts.config import AlertConfigError, AlertSettings
from vn_pipeline.lib.alerts.engine import (
    TickSummary,
    deliver_due,
    make_digests,
    quarantine_lookup,
    record_check_outcomes,
    record_run_failure,
)
from vn_pipeline.lib.alerts.messages import CheckOutcome, range_key, run_failure_notice

BATCH = 500  # events read per kind and tick; a backlog is worked off over the next ticks


def _plain(value: dg.MetadataValue) -> object:
    """A metadata value as the alerts read it: tables as lists of dicts, everything else as its value."""
    if isinstance(value, dg.TableMetadataValue):
        # the event log stores a record's cells sorted by name: the schema has the check's column order
        order = [column.name for column in value.schema.columns] if value.schema else []
        return [{**{c: r.data[c] for c in order if c in r.data}, **r.data} for r in value.records]
    return value.value


def _run_range(run: dg.DagsterRun | None) -> tuple[str, str] | None:
    if run is None:
        return None
    start, end = run.tags.get(ASSET_PARTITION_RANGE_START_TAG), run.tags.get(ASSET_PARTITION_RANGE_END_TAG)
    return (start, end) if start and end else None


def _run_partition(run: dg.DagsterRun | None) -> str:
    if run is None:
        return ""
    if run.tags.get("dagster/partition"):
        return run.tags["dagster/partition"]
    span = _run_range(run)
    return range_key(*span) if span else ""


def _read_cursor(cursor: str | None) -> dict[str, int]:
    stored = json.loads(cursor) if cursor else {}
    return {"checks": int(stored.get("checks", 0)), "runs": int(stored.get("runs", 0))}


@dg.sensor(minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def alerts_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource) -> dg.SensorResult | dg.SkipReason:
    """Failed checks (ERROR → critical, WARN → warning) and failed runs (critical) to ops.alerts and the
    configured channels; recoveries when a check passes again; retries of what a down channel refused."""
    try:
        settings = AlertSettings.from_env()
    except AlertConfigError as error:
        return dg.SkipReason(f"alerts not configured: {error}")
    cursor = _read_cursor(context.cursor)
    instance = context.instance
    checks = instance.event_log_storage.get_event_records(
        dg.EventRecordsFilter(dg.DagsterEventType.ASSET_CHECK_EVALUATION, after_cursor=cursor["checks"]),
        limit=BATCH,
        ascending=True,
    )
    runs = instance.fetch_run_status_changes(
        dg.RunStatusChangeRecordsFilter(dg.DagsterEventType.RUN_FAILURE, after_storage_id=cursor["runs"]),
        limit=BATCH,
        ascending=True,
    ).records
    run_cache: dict[str, dg.DagsterRun | None] = {}

    def run_of(run_id: str) -> dg.DagsterRun | None:
        if run_id not in run_cache:
            run_cache[run_id] = instance.get_run_by_id(run_id)
        return run_cache[run_id]

    outcomes = []
    for record in checks:
        evaluation = record.event_log_entry.get_dagster_event().event_specific_data
        outcomes.append(
            CheckOutcome(
                asset_key=evaluation.asset_key.to_user_string(),
                check_name=evaluation.check_name,
                passed=evaluation.passed,
                severity=evaluation.severity.value,
                partition=evaluation.partition,
                run_range=_run_range(run_of(record.run_id)) if evaluation.partition is None else None,
                metadata={key: _plain(value) for key, value in evaluation.metadata.items()},
                run_id=record.run_id,
                storage_id=record.storage_id,
                description=evaluation.description,
            )
        )
    now = datetime.now(UTC)
    summary = TickSummary()
    with warehouse.connect() as conn:
        with conn.transaction():  # the notices of this batch, all or none (the cursor moves only after)
            record_check_outcomes(conn, settings, outcomes, quarantine_lookup(conn), now, summary)
            for record in runs:
                run = run_of(record.run_id)
                notice = run_failure_notice(
                    run.job_name if run else "(unknown job)",
                    record.run_id,
                    _run_partition(run),
                    record.event_log_entry.message or "",
                    record.storage_id,
                    settings.ui_url,
                )
                record_run_failure(conn, settings, notice, now, summary)
            make_digests(conn, settings, now, summary)
        deliver_due(conn, settings, now, summary)
    for error in summary.errors:
        context.log.warning(f"alert not delivered, will be retried: {error}")
    new_cursor = {
        "checks": checks[-1].storage_id if checks else cursor["checks"],
        "runs": runs[-1].storage_id if runs else cursor["runs"],
    }
    return dg.SensorResult(skip_reason=str(summary), cursor=json.dumps(new_cursor))


def catch_up(instance: dg.DagsterInstance, warehouse: WarehouseResource, max_ticks: int = 1000) -> list[str]:
    """The sensor's ticks from the first event until it has read every one, with what each did: what a process
    that runs without the daemon (the demo) does at its end. Safe to repeat: a failure already alerted is not
    alerted again (see above), so starting from no cursor sends nothing twice."""
    cursor: str | None = None
    summaries: list[str] = []
    for _ in range(max_ticks):
        context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"warehouse": warehouse})
        result = alerts_sensor(context)
        if isinstance(result, dg.SkipReason):  # not configured: nothing was read
            return [result.skip_message or ""]
        summaries.append(result.skip_reason.skip_message if result.skip_reason else "")
        if result.cursor == cursor:
            break
        cursor = result.cursor
    return summaries
