"""Starts one ingest run per new vnstock-format intraday file dropped into the landing directory."""

import json
from pathlib import Path

import dagster as dg

from vn_pipeline.defs.automation.jobs import landing_file_ingest
from vn_pipeline.defs.partitions import trading_days
from vn_pipeline.defs.resources import MarketSourceResource
from vn_pipeline.lib.sources.landing import scan_landing_dir


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
    files, unreadable = scan_landing_dir(directory)
    for path, reason in unreadable.items():
        context.log.warning(f"landing file skipped: {path}: {reason}")
    seen = set(json.loads(context.cursor)) if context.cursor else set()
    new = [f for f in files if f.key not in seen]
    if not new:
        return dg.SkipReason(f"no new files in {directory}")
    requests = []
    for landed in new:
        day = landed.trading_date.isoformat()
        if not trading_days.has_partition_key(day):
            context.log.warning(f"landing file skipped: {landed.path}: {day} is not a trading-day partition")
            continue
        requests.append(
            dg.RunRequest(
                run_key=landed.key,
                partition_key=day,
                tags={"vn_pipeline/landing_file": str(landed.path)},
            )
        )
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(sorted(seen | {f.key for f in new})))
