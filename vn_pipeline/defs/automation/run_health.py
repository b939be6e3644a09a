"""Runs whose process died stay STARTED in a local instance forever (the default run launcher cannot check a
run worker's health, so Dagster's run monitoring never marks them). This marks them failed, with the reason,
so the UI tells the truth: at the next demo or UI start, and every minute from a sensor while the daemon runs."""

from __future__ import annotations

import os

import dagster as dg
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage

_ACTIVE = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive
    return True


def _run_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The pid that started executing the run (its RUN_START event), if it got that far."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_START, limit=1).records
    event = records[0].event_log_entry.dagster_event if records else None
    return event.pid if event is not None else None


def fail_runs_whose_process_died(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed every active run whose process no longer exists; return their ids. Only for an instance
    kept on this machine (SQLite storage): with shared storage another host's pids are not visible here."""
    if not isinstance(instance.run_storage, SqliteRunStorage):
        return []
    failed = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=_ACTIVE)):
        pid = _run_pid(instance, run.run_id)
        if pid is not None and pid != os.getpid() and not _alive(pid):
            instance.report_run_failed(run, f"the process running it (pid {pid}) is gone: killed or crashed")
            failed.append(run.run_id)
    return failed


@dg.sensor(minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def dead_run_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    """Marks failed the runs whose process died, so that no killed run shows as running."""
    failed = fail_runs_whose_process_died(context.instance)
    for run_id in failed:
        context.log.warning(f"run {run_id} marked failed: its process is gone")
    return dg.SkipReason(f"{len(failed)} dead run(s) marked failed" if failed else "no dead runs")
