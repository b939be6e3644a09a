"""The Dagster instance vn-pipeline sets up: runs and events in PostgreSQL beside the warehouse, a dagster.yaml
it owns until someone edits it, and URLs that keep their credentials and options."""

import os
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
from dagster_postgres import PostgresEventLogStorage
from psycopg import conninfo

from vn_pipeline.dagster_storage import EventLogStorage
from vn_pipeline.instance import MANAGED, STORAGE_ENV, dagster_home
from vn_pipeline.lib.warehouse.connection import sibling_url
from vn_pipeline.runs import run_window


@pytest.fixture
def fresh_home(warehouse_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VN_PIPELINE_HOME", str(tmp_path))
    monkeypatch.setenv("VN_PIPELINE_DATABASE_URL", warehouse_url)
    for name in ("DAGSTER_HOME", STORAGE_ENV):
        monkeypatch.delenv(name, raising=False)  # dagster_home sets them; monkeypatch restores them after
    return tmp_path / "dagster"


def test_runs_and_events_are_stored_in_postgres_beside_the_warehouse(fresh_home: Path, warehouse_url: str):
    assert dagster_home() == str(fresh_home)
    assert (fresh_home / "dagster.yaml").read_text().startswith(MANAGED)
    storage = conninfo.conninfo_to_dict(os.environ[STORAGE_ENV])
    assert storage["dbname"] == conninfo.conninfo_to_dict(warehouse_url)["dbname"] + "_dagster"

    @dg.op
    def noop() -> None: ...

    @dg.job
    def nothing() -> None:
        noop()

    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, EventLogStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        run_id = nothing.execute_in_process(instance=instance).run_id
    with dg.DagsterInstance.get() as again:  # another process on the same home sees the run
        assert again.get_run_by_id(run_id) is not None


def test_a_window_run_plans_and_records_each_partition_of_its_checks(fresh_home: Path):
    """The event log serializes a planned check evaluation once per run: every partition still gets its row
    carrying the whole planned event, as with dagster-postgres's own storage."""
    days = dg.DailyPartitionsDefinition(start_date="2025-01-01", end_offset=0)

    @dg.asset(partitions_def=days, backfill_policy=dg.BackfillPolicy.single_run())
    def prices() -> None: ...

    @dg.asset_check(asset=prices, partitions_def=days)
    def positive(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    defs = dg.Definitions(assets=[prices], asset_checks=[positive], jobs=[dg.define_asset_job("all")])
    dagster_home()
    with dg.DagsterInstance.get() as instance:
        run = run_window(defs, "all", date(2025, 1, 6), date(2025, 1, 10), instance)
        assert run.success and run.checks_passed
        records = instance.event_log_storage.get_asset_check_execution_history(positive.check_key, limit=50)
    planned = {r.partition: r for r in records if r.partition is not None}
    assert sorted(planned) == [f"2025-01-{d:02d}" for d in range(6, 11)]
    assert {r.run_id for r in records} == {run.run_id}
    for record in planned.values():  # each row's event is the run's planned evaluation, whole
        event = record.event.get_dagster_event()
        assert event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED
        assert set(event.event_specific_data.partitions_subset.get_partition_keys()) == set(planned)


def test_a_dagster_yaml_someone_edited_is_left_alone(fresh_home: Path):
    fresh_home.mkdir(parents=True)
    mine = "telemetry:\n  enabled: true\n"
    (fresh_home / "dagster.yaml").write_text(mine)
    dagster_home()
    assert (fresh_home / "dagster.yaml").read_text() == mine


def test_the_sqlite_default_of_earlier_versions_is_replaced(fresh_home: Path):
    fresh_home.mkdir(parents=True)
    (fresh_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    dagster_home()
    assert (fresh_home / "dagster.yaml").read_text().startswith(MANAGED)


def test_a_sibling_database_keeps_credentials_and_options():
    assert sibling_url("postgresql://u:p%40ss@db.example:6543/wh?sslmode=require", "wh_dagster") == (
        "postgresql://u:p%40ss@db.example:6543/wh_dagster?sslmode=require"
    )
    assert (
        sibling_url("host=127.0.0.1 port=5432 dbname=wh user=postgres", "x") == "postgresql://postgres@127.0.0.1:5432/x"
    )
