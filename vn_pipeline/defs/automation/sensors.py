"""Sensors: one ingest run per new vnstock-format intraday file dropped into the landing directory, the chain that
follows a successful daily close with the backtests and then that day's risk report, and the dbt marts' rebuild
after every run that changed the market tables."""

import json
from pathlib import Path

import dagster as dg

from vn_pipeline.defs.automation.jobs import backtest, dbt_marts, landing_file_ingest, market_daily_close, risk
from vn_pipeline.defs.partitions import trading_day_partitions
from vn_pipeline.defs.resources import MarketSourceResource
from vn_pipeline.lib.sources.vendors.landing import scan_landing_dir

PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"  # set by Dagster on a run over a partition range
BACKFILL_TAG = "dagster/backfill"  # set by Dagster on every run a backfill launches


@dg.sensor(job=landing_file_ingest, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def landing_file_sensor(context: dg.SensorEvaluationContext, market_source: MarketSourceResource):
    """Each file version is ingested once (the cursor, kept by the Dagster instance, survives restarts).
    A run rewrites the file's whole trading day from every file of that day found when it starts, so nothing
    is lost when several files for one day arrive, in whatever order their runs finish."""
    if market_source.kind != "vnstock_files":
        return dg.SkipReason(
            f"market_source.kind is {market_source.kind!r}: landed files are read with 'vnstock_files'"
        )
    directory = Path(market_source.landing_path())
    if not directory.is_dir():
        return dg.SkipReason(f"landing directory {directory} does not exist")
    files = scan_landing_dir(directory)
    for landed in files:
        if landed.dated_by_mtime:
            context.log.warning(f"landing file {landed.path}: no date inside, ingested (and quarantined) with "
                                f"{landed.trading_date}, the trading day it landed")  # fmt: skip
    seen = set(json.loads(context.cursor)) if context.cursor else set()
    new = [f for f in files if f.key not in seen]
    if not new:
        return dg.SkipReason(f"no new files in {directory}")
    requests = []
    for landed in new:
        day = landed.trading_date.isoformat()
        if not trading_day_partitions.has_partition_key(day):
            context.log.warning(f"landing file skipped: {landed.path}: {day} is not a trading-day partition")
            continue
        requests.append(
            dg.RunRequest(
                run_key=landed.key,
                partition_key=day,
                tags={"vn_pipeline/landing_file": str(landed.path)},
            )
        )
    # Only the versions still in the directory need remembering: the cursor stays as large as the directory.
    present = {f.key for f in files}
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(sorted(seen & present | {f.key for f in new})))


CLOSE_DAY_TAG = "vn_pipeline/close_day"
CLOSE_RUN_TAG = "vn_pipeline/close_run_id"
BACKTEST_RUN_TAG = "vn_pipeline/backtest_run_id"


def _close_day(run: dg.DagsterRun) -> str | None:
    """The trading day a close run built: its partition, or the last day of a single-run window."""
    return run.tags.get("dagster/partition") or run.tags.get(PARTITION_RANGE_END_TAG)


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[market_daily_close, backtest],
    request_jobs=[backtest, risk],
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def daily_close_chain_sensor(context: dg.RunStatusSensorContext) -> dg.RunRequest | dg.SkipReason:
    """After the close for day D succeeds: the backtests (once, unpartitioned), then risk/report for D once
    those backtests succeeded. The day and the close run travel as tags on the backtest run; run keys name the
    close run, so each successful close launches at most one backtest run and one risk run, however often the
    sensor is re-evaluated, while a close re-run for D after a data fix refreshes both. A backfill of the close is
    not chained run by run (it would re-run the whole-window backtests once per day): run `backtest` and `risk`
    once after it.

    Why a run-status sensor rather than declarative automation: the chain follows a *run* (the close, then the
    backtest run it started), not asset freshness. Eager conditions on the backtests would also fire on every
    backfill or hand-run of predictions and risk/report would not know which close day it belongs to; here
    nothing but a successful close starts the chain, the risk run waits for that day's backtest run to succeed,
    and each step shows in the sensor's ticks with its run key. Only SUCCESS events reach this sensor, so a
    failed close or backtest run starts nothing (evaluated directly on one, it returns a SkipReason)."""
    run = context.dagster_run
    if run.status != dg.DagsterRunStatus.SUCCESS:
        return dg.SkipReason(f"{run.job_name} run {run.run_id} ended {run.status.value}: nothing chained")
    if run.job_name == market_daily_close.name:
        if BACKFILL_TAG in run.tags:
            return dg.SkipReason(f"close run {run.run_id} belongs to backfill {run.tags[BACKFILL_TAG]}: not chained")
        day = _close_day(run)
        if day is None or not trading_day_partitions.has_partition_key(day):
            return dg.SkipReason(f"close run {run.run_id} has no trading-day partition ({day!r}): nothing chained")
        return dg.RunRequest(
            run_key=f"close-{day}/{run.run_id}/backtest",
            job_name=backtest.name,
            tags={CLOSE_DAY_TAG: day, CLOSE_RUN_TAG: run.run_id},
        )
    if run.job_name == backtest.name:
        day, close_run = run.tags.get(CLOSE_DAY_TAG), run.tags.get(CLOSE_RUN_TAG, "")
        if day is None:
            return dg.SkipReason(f"backtest run {run.run_id} was not started by a daily close: no risk report")
        return dg.RunRequest(
            run_key=f"close-{day}/{close_run}/risk",
            job_name=risk.name,
            partition_key=day,
            tags={CLOSE_DAY_TAG: day, CLOSE_RUN_TAG: close_run, BACKTEST_RUN_TAG: run.run_id},
        )
    return dg.SkipReason(f"{run.job_name} is not part of the daily-close chain")


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[market_daily_close, landing_file_ingest],
    request_job=dbt_marts,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def dbt_marts_after_close_sensor(context: dg.RunStatusSensorContext) -> dg.RunRequest | dg.SkipReason:
    """After a successful close (or a landed file's ingest, which rewrites its day) the dbt marts are rebuilt once
    (run key = the run that changed the data). A separate sensor from the close chain: the marts read only the
    market tables, so they need not wait for the backtests, and a failed dbt build does not hold up risk/report.
    The marts are whole-history tables, so a backfill's runs each request a rebuild too: redundant, never wrong."""
    run = context.dagster_run
    if run.status != dg.DagsterRunStatus.SUCCESS:
        return dg.SkipReason(f"{run.job_name} run {run.run_id} ended {run.status.value}: marts not rebuilt")
    day = _close_day(run) or "unpartitioned"
    return dg.RunRequest(
        run_key=f"marts/{run.run_id}", job_name=dbt_marts.name, tags={CLOSE_DAY_TAG: day, CLOSE_RUN_TAG: run.run_id}
    )
