"""A run whose process is killed is marked failed on a real local Dagster instance, not left STARTED."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg

from vn_pipeline.defs.automation.run_health import dead_run_sensor, fail_runs_whose_process_died

WORKER = textwrap.dedent(
    """
    import sys, time
    import dagster as dg

    @dg.op
    def wait_forever():
        time.sleep(600)

    @dg.job
    def long_job():
        wait_forever()

    with dg.DagsterInstance.local_temp(sys.argv[1]) as instance:
        long_job.execute_in_process(instance=instance)
    """
)


def _started_run(instance: dg.DagsterInstance, home: Path, script: Path) -> tuple[subprocess.Popen, dg.DagsterRun]:
    worker = subprocess.Popen([sys.executable, str(script), str(home)])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
        if runs:
            return worker, runs[0]
        time.sleep(0.5)
    worker.kill()
    raise AssertionError("the worker's run never started")


def test_a_killed_run_is_marked_failed_and_a_live_one_is_left_alone(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    with dg.DagsterInstance.local_temp(str(home)) as instance:
        worker, run = _started_run(instance, home, script)
        try:
            assert fail_runs_whose_process_died(instance) == []  # alive: not touched
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)
            assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED  # what Dagster leaves
            result = dead_run_sensor(dg.build_sensor_context(instance=instance))
            assert "1 dead run(s) marked failed" in result.skip_message
            assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
            failure = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
            assert f"pid {worker.pid}" in failure[0].event_log_entry.dagster_event.message
            assert fail_runs_whose_process_died(instance) == []  # once
        finally:
            if worker.poll() is None:
                worker.kill()
