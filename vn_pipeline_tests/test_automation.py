"""The daily-close chain: a successful close for D starts the backtests once, and their success starts risk/report
for D. Real runs on an ephemeral Dagster instance; the close and backtest runs are stand-in jobs with the real
jobs' names (one trivial op each) so that the whole asset graph is not materialized."""

import dagster as dg
import pytest

from vn_pipeline.definitions import defs
from vn_pipeline.defs.automation.sensors import CLOSE_DAY_TAG, CLOSE_RUN_TAG, daily_close_chain_sensor
from vn_pipeline_tests.stand_in_jobs import run_stand_in

DAY = "2024-03-01"


def _run(
    instance: dg.DagsterInstance, name: str, tags: dict[str, str], fail: bool = False
) -> dg.ExecuteInProcessResult:
    return run_stand_in(instance, name, tags, fail)


def _evaluate(instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult):
    event = result.get_run_failure_event() if not result.success else result.get_run_success_event()
    context = dg.build_run_status_sensor_context(
        sensor_name=daily_close_chain_sensor.name,
        dagster_event=event,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id),
    )
    return daily_close_chain_sensor(context)


@pytest.fixture
def instance():
    with dg.DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral


def test_a_succeeded_close_starts_the_backtests_once_with_a_stable_run_key(instance):
    close = _run(instance, "market_daily_close", {"dagster/partition": DAY})
    first, again = _evaluate(instance, close), _evaluate(instance, close)
    assert isinstance(first, dg.RunRequest)
    assert first.job_name == "backtest" and first.partition_key is None  # the backtests are unpartitioned
    assert first.run_key == again.run_key == f"close-{DAY}/{close.run_id}/backtest"
    assert first.tags[CLOSE_DAY_TAG] == DAY and first.tags[CLOSE_RUN_TAG] == close.run_id


def test_a_close_over_a_window_chains_its_last_day(instance):
    window = {"dagster/asset_partition_range_start": "2024-02-26", "dagster/asset_partition_range_end": DAY}
    request = _evaluate(instance, _run(instance, "market_daily_close", window))
    assert isinstance(request, dg.RunRequest) and request.tags[CLOSE_DAY_TAG] == DAY


def test_a_rerun_close_chains_again_and_a_backfill_does_not(instance):
    first = _evaluate(instance, _run(instance, "market_daily_close", {"dagster/partition": DAY}))
    rerun = _evaluate(instance, _run(instance, "market_daily_close", {"dagster/partition": DAY}))
    assert isinstance(rerun, dg.RunRequest) and rerun.run_key != first.run_key  # a data fix refreshes the chain
    backfill = {"dagster/partition": DAY, "dagster/backfill": "abcdefgh"}
    skip = _evaluate(instance, _run(instance, "market_daily_close", backfill))
    assert isinstance(skip, dg.SkipReason) and "backfill abcdefgh" in skip.skip_message


def test_a_failed_close_starts_nothing(instance):
    skip = _evaluate(instance, _run(instance, "market_daily_close", {"dagster/partition": DAY}, fail=True))
    assert isinstance(skip, dg.SkipReason) and "failure" in skip.skip_message.lower()


def test_the_backtests_of_a_close_start_its_risk_report(instance):
    backtests = _run(instance, "backtest", {CLOSE_DAY_TAG: DAY, CLOSE_RUN_TAG: "close-run"})
    request = _evaluate(instance, backtests)
    assert isinstance(request, dg.RunRequest)
    assert request.job_name == "risk" and request.partition_key == DAY
    assert request.run_key == _evaluate(instance, backtests).run_key == f"close-{DAY}/close-run/risk"
    assert defs.resolve_job_def("risk").partitions_def.has_partition_key(request.partition_key)


def test_failed_or_hand_started_backtests_start_no_risk_report(instance):
    failed = _evaluate(instance, _run(instance, "backtest", {CLOSE_DAY_TAG: DAY}, fail=True))
    assert isinstance(failed, dg.SkipReason)
    by_hand = _evaluate(instance, _run(instance, "backtest", {}))
    assert isinstance(by_hand, dg.SkipReason) and "not started by a daily close" in by_hand.skip_message


def test_the_chain_through_the_sensor_machinery(instance):
    """Ticks as the daemon evaluates them (cursor over the instance's run-status events): close → backtests →
    risk, each requested once; a failed close and runs of other jobs are never picked up."""

    def tick(cursor: str | None):
        context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
        return daily_close_chain_sensor.evaluate_tick(context)

    cursor = tick(None).cursor  # the first tick only sets the cursor: history before it is not replayed
    _run(instance, "market_daily_close", {"dagster/partition": "2024-02-29"}, fail=True)
    _run(instance, "predict", {"dagster/partition": DAY})
    close = _run(instance, "market_daily_close", {"dagster/partition": DAY})

    data = tick(cursor)
    assert [(r.job_name, r.run_key) for r in data.run_requests] == [
        ("backtest", f"close-{DAY}/{close.run_id}/backtest")
    ]
    cursor = data.cursor
    assert not tick(cursor).run_requests  # re-evaluation: the close is behind the cursor

    _run(instance, "backtest", dict(data.run_requests[0].tags))
    data = tick(cursor)
    risk_key = f"close-{DAY}/{close.run_id}/risk"
    assert [(r.job_name, r.partition_key, r.run_key) for r in data.run_requests] == [("risk", DAY, risk_key)]
    assert not tick(data.cursor).run_requests
