"""The calendar's checks (the WARN ahead of provisional days, the ERROR on a session missing from every symbol)
and the schedule past the officially announced years, on a real Dagster instance."""

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from vn_pipeline.definitions import defs
from vn_pipeline.defs.automation.schedules import PROVISIONAL_TAG, daily_close_schedule
from vn_pipeline.defs.market_data.assets import daily_bars, listings
from vn_pipeline.defs.market_data.calendar_checks import (
    LOOKAHEAD_SESSIONS,
    MISSING_DAY_TO_DO,
    WHAT_TO_DO,
    build_calendar_check,
    calendar_official_for_upcoming_days,
    every_trading_day_has_bars,
)
from vn_pipeline.defs.resources import MarketSourceResource, WarehouseResource, build_resources
from vn_pipeline.lib.market.calendar import OFFICIAL_THROUGH, is_trading_day, next_trading_day, trading_days
from vn_pipeline.lib.market.timezone import VN_TZ
from vn_pipeline.runs import run_window
from vn_pipeline_tests.real_data import VN_REAL, needs_vn_real

DAY = date(2026, 12, 1)  # a partition that exists from today on (partitions open one day ahead)
CHECK_KEY = next(iter(calendar_official_for_upcoming_days.check_keys))
# Sessions from DAY to the first trading day past OFFICIAL_THROUGH: a lookahead this long reaches it, one less not.
TO_FIRST_PROVISIONAL = len(trading_days(next_trading_day(DAY), next_trading_day(OFFICIAL_THROUGH)))


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral


def _evaluate(
    instance: dg.DagsterInstance, check: dg.AssetChecksDefinition, tags: dict[str, str]
) -> dg.AssetCheckEvaluation:
    """Runs only the check (no materialization of listings) the way the UI's "execute check" does."""
    graph = dg.Definitions(assets=[listings], asset_checks=[check], resources=build_resources())
    job = graph.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection=set(), asset_check_selection={CHECK_KEY}
    )
    result = job.execute_in_process(instance=instance, tags=tags, raise_on_error=False)
    assert result.success  # a WARN check never fails the run
    (evaluation,) = result.get_asset_check_evaluations()
    # the instance recorded it: what the UI and the alerts read
    record = instance.event_log_storage.get_latest_asset_check_execution_by_key([CHECK_KEY])[CHECK_KEY]
    assert record.run_id == result.run_id
    return evaluation


def _partition(day: date) -> dict[str, str]:
    return {"dagster/partition": day.isoformat()}


def test_passes_while_the_next_sessions_are_official(instance: dg.DagsterInstance) -> None:
    evaluation = _evaluate(instance, calendar_official_for_upcoming_days, _partition(DAY))
    assert TO_FIRST_PROVISIONAL > LOOKAHEAD_SESSIONS  # 2026-12-01: 22 sessions left in the official year
    assert evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    assert evaluation.metadata["official_through"].value == OFFICIAL_THROUGH.isoformat()
    assert evaluation.metadata["checked_through"].value == next_trading_day(DAY, LOOKAHEAD_SESSIONS).isoformat()
    assert "first_provisional_day" not in evaluation.metadata


def test_warns_once_the_lookahead_reaches_a_provisional_day(instance: dg.DagsterInstance) -> None:
    short = _evaluate(instance, build_calendar_check(TO_FIRST_PROVISIONAL - 1), _partition(DAY))
    assert short.passed  # the boundary: the last official session is still fine
    warned = _evaluate(instance, build_calendar_check(TO_FIRST_PROVISIONAL), _partition(DAY))
    assert not warned.passed and warned.severity == dg.AssetCheckSeverity.WARN
    first = next_trading_day(OFFICIAL_THROUGH)
    assert warned.metadata["first_provisional_day"].value == first.isoformat() == "2027-01-04"
    assert warned.metadata["what_to_do"].value == WHAT_TO_DO and "exchange_exceptions.csv" in WHAT_TO_DO


def test_a_window_run_is_checked_from_its_last_day(instance: dg.DagsterInstance) -> None:
    window = {
        ASSET_PARTITION_RANGE_START_TAG: date(2026, 11, 2).isoformat(),
        ASSET_PARTITION_RANGE_END_TAG: DAY.isoformat(),
    }
    evaluation = _evaluate(instance, build_calendar_check(TO_FIRST_PROVISIONAL), window)
    assert not evaluation.passed and evaluation.metadata["first_provisional_day"].value == "2027-01-04"
    assert _evaluate(instance, build_calendar_check(TO_FIRST_PROVISIONAL - 1), window).passed


def test_jobs_that_select_listings_run_the_check() -> None:
    for name in ("market_data", "market_daily_close", "landing_file_ingest"):
        assert CHECK_KEY in set(defs.resolve_job_def(name).asset_layer.asset_graph.asset_check_keys), name
    assert CHECK_KEY not in set(defs.resolve_job_def("features").asset_layer.asset_graph.asset_check_keys)


def test_schedule_runs_provisional_trading_days_and_skips_their_holidays() -> None:
    def at(day: date) -> dg.RunRequest | dg.SkipReason:
        when = datetime(day.year, day.month, day.day, 15, 30, tzinfo=VN_TZ)
        return daily_close_schedule(dg.build_schedule_context(scheduled_execution_time=when))

    first = at(date(2027, 1, 4))
    assert isinstance(first, dg.RunRequest) and first.partition_key == "2027-01-04"
    assert first.tags[PROVISIONAL_TAG] == f"past {OFFICIAL_THROUGH}"
    official = at(DAY)
    assert isinstance(official, dg.RunRequest) and PROVISIONAL_TAG not in official.tags
    tet = at(date(2027, 2, 8))
    assert isinstance(tet, dg.SkipReason) and "Tết" in tet.skip_message
    far = at(date(2031, 6, 3))
    assert isinstance(far, dg.RunRequest) and far.partition_key == "2031-06-03"


def test_partitions_exclude_holidays_years_ahead() -> None:
    from vn_pipeline.defs import partitions

    excluded = set(partitions._holiday_starts())
    assert datetime(2027, 2, 8, tzinfo=VN_TZ) in excluded  # Tết 2027: provisional, from the `holidays` rules
    assert datetime(2026, 8, 31, tzinfo=VN_TZ) in excluded and datetime(2026, 11, 24, tzinfo=VN_TZ) in excluded
    assert max(excluded).year == partitions.PARTITIONS_HORIZON.year >= date.today().year + 5
    keys = partitions.trading_day_partitions.get_partition_keys_in_range(
        dg.PartitionKeyRange("2026-08-28", "2026-09-04")
    )
    assert keys == ["2026-08-28", "2026-09-03", "2026-09-04"]  # 31 Aug - 2 Sep closed


# --- a session missing from the whole vendor set ------------------------------------------------------------

MISSING_KEY = next(iter(every_trading_day_has_bars.check_keys))
HOLE = date(2025, 2, 3)  # in no CafeF file, although VNINDEX traded (indices_ftu) and the calendar has it


def _cafef_subset(tmp_path: Path, symbols: tuple[str, ...] = ("VCB", "ACB", "VNM")) -> Path:
    """A CafeF folder of a few real tickers (links to the real files: the source reads every folder it has)."""
    folder = tmp_path / "cafef"
    folder.mkdir()
    for name in (*symbols, "basic_info"):
        (folder / name).symlink_to(VN_REAL / "cafef" / name, target_is_directory=True)
    return folder


def _bars_run(warehouse_url: str, data_dir: Path, start: date, end: date) -> tuple[bool, str, dict[str, object]]:
    """(passed, severity, metadata) of the check after a run of market/daily_bars over [start, end]."""
    resources = {
        "warehouse": WarehouseResource(database_url=warehouse_url),
        "market_source": MarketSourceResource(kind="cafef", data_dir=str(data_dir)),
    }
    with dg.DagsterInstance.ephemeral() as instance:
        run = run_window(defs, "market_data", start, end, instance, resources=resources,
                         assets={daily_bars.key}, checks={MISSING_KEY})  # fmt: skip
    assert run.success and not run.errors  # a WARN: the run, and the demo, stand
    (name,) = [*run.checks_passed, *run.checks_failed]
    assert name == "market/daily_bars:every_trading_day_has_bars"
    return name in run.checks_passed, run.severity[name], run.metadata[name]


def _count(url: str, query: str, day: date) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(query, (day,)).fetchone()[0]


@needs_vn_real
def test_a_trading_day_missing_from_every_file_fails_the_check(warehouse_url: str, tmp_path: Path) -> None:
    assert is_trading_day(HOLE)
    passed, severity, metadata = _bars_run(warehouse_url, _cafef_subset(tmp_path), date(2025, 1, 20), date(2025, 2, 14))
    assert not passed and severity == "WARN"
    assert metadata["missing_days"] == [HOLE.isoformat()]  # not the Tết week before it
    assert metadata["what_to_do"] == MISSING_DAY_TO_DO
    # the window's other sessions are stored; the hole is not turned into anything
    assert (
        _count(warehouse_url, "SELECT count(*) FROM market.daily_bars WHERE trading_date = %s", date(2025, 2, 4)) == 3
    )
    for table in ("market.daily_bars", "market.untraded", "market.quarantine"):
        assert _count(warehouse_url, f"SELECT count(*) FROM {table} WHERE trading_date = %s", HOLE) == 0, table


@needs_vn_real
def test_a_window_without_holes_passes(warehouse_url: str, tmp_path: Path) -> None:
    # 2025-02-03 is the window's first day and has no bar: where the window's data starts, not a hole in it
    passed, severity, metadata = _bars_run(warehouse_url, _cafef_subset(tmp_path), HOLE, date(2025, 2, 14))
    assert passed and severity == "WARN"
    assert metadata["missing_days"] == []
    assert metadata["days_with_bars"] == len(trading_days(date(2025, 2, 4), date(2025, 2, 14)))


def test_jobs_that_select_daily_bars_run_the_missing_day_check() -> None:
    for name in ("market_data", "market_daily_close"):
        assert MISSING_KEY in set(defs.resolve_job_def(name).asset_layer.asset_graph.asset_check_keys), name
