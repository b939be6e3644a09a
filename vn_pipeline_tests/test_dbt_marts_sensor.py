"""The dbt marts follow the close: a successful close (or landed-file ingest) requests one `dbt_marts` run, on ticks as
the daemon evaluates them. Real runs on an ephemeral Dagster instance; the close and ingest runs are stand-in jobs
with the real jobs' names, so that no market data is materialized."""

import dagster as dg
import pytest

from vn_pipeline.definitions import defs
from vn_pipeline.defs.automation.sensors import CLOSE_DAY_TAG, dbt_marts_after_close_sensor
from vn_pipeline_tests.stand_in_jobs import run_stand_in

DAY = "2024-03-01"


def _run(instance: dg.DagsterInstance, name: str, tags: dict[str, str], fail: bool = False) -> str:
    return run_stand_in(instance, name, tags, fail).run_id


@pytest.fixture
def instance():
    with dg.DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral


def test_a_close_or_an_ingest_rebuilds_the_marts_once(instance):
    def tick(cursor: str | None):
        context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
        return dbt_marts_after_close_sensor.evaluate_tick(context)

    cursor = tick(None).cursor  # history before the first tick is not replayed
    _run(instance, "market_daily_close", {"dagster/partition": "2024-02-29"}, fail=True)
    _run(instance, "backtest", {})  # not a run that changes the market tables
    close = _run(instance, "market_daily_close", {"dagster/partition": DAY})
    ingest = _run(instance, "landing_file_ingest", {"dagster/partition": DAY})

    requests = []
    for _ in range(4):  # a tick handles the events after its cursor a batch at a time
        data = tick(cursor)
        requests += data.run_requests
        cursor = data.cursor
    assert [(r.job_name, r.run_key, r.partition_key) for r in requests] == [
        ("dbt_marts", f"marts/{close}", None),  # the marts are not partitioned: one rebuild of every stored day
        ("dbt_marts", f"marts/{ingest}", None),
    ]
    assert requests[0].tags[CLOSE_DAY_TAG] == DAY
    assert not tick(cursor).run_requests  # re-evaluation requests nothing twice
    assert defs.resolve_job_def("dbt_marts").partitions_def is None
