"""The market-data graph on a real Dagster instance and the real embedded PostgreSQL, end to end."""

import json
import shutil
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import pandas as pd
import psycopg
import pytest

from vn_pipeline.definitions import defs
from vn_pipeline.defs.automation.schedules import daily_close_schedule
from vn_pipeline.defs.automation.sensors import landing_file_sensor
from vn_pipeline.defs.resources import MarketSourceResource, WarehouseResource
from vn_pipeline.lib.market.timezone import VN_TZ
from vn_pipeline.lib.sources.simulator.market import MarketSimulator, SimulatorConfig
from vn_pipeline.runs import run_window
from vn_pipeline_tests.databases import own_database
from vn_pipeline_tests.instances import postgres_instance
from vn_pipeline_tests.real_data import VN_REAL, needs_vn_real

REAL = VN_REAL / "vnstock_vci"
FIRST, LAST = date(2025, 6, 2), date(2025, 6, 4)  # a window the other tests in this session leave alone
N_SYMBOLS = 4


@pytest.fixture(scope="module")
def instance(warehouse_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dg.DagsterInstance]:
    with postgres_instance(warehouse_url, str(tmp_path_factory.mktemp("dagster_home"))) as local:
        yield local


def _resources(warehouse_url: str, **source: object) -> dict[str, object]:
    return {
        "warehouse": WarehouseResource(database_url=warehouse_url),
        "market_source": MarketSourceResource(n_symbols=N_SYMBOLS, **source),
    }


def _vendor_files(landing: Path) -> MarketSourceResource:
    return MarketSourceResource(kind="vnstock_files", landing_dir=str(landing))


def _table(url: str, query: str, *params: object) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def _snapshot(url: str) -> dict[str, list]:
    tables = ["listings", "daily_bars", "raw_ticks", "ohlcv_1m", "ohlcv_1d", "foreign_flows", "untraded"]
    snapshot: dict[str, list] = {
        t: sorted(map(repr, _table(url, f"SELECT * FROM market.{t} WHERE trading_date BETWEEN %s AND %s", FIRST, LAST)))
        for t in tables
    }
    snapshot["quarantine"] = sorted(
        map(repr, _table(url, "SELECT trading_date, symbol, rule, detail, row_data FROM market.quarantine"
                         " WHERE trading_date BETWEEN %s AND %s", FIRST, LAST))
    )  # fmt: skip
    return snapshot


@pytest.fixture(scope="module")
def own_url(warehouse_url: str) -> Iterator[str]:
    """A database of its own: the checks read the days before the window too (a previous close), and other
    tests leave real vendor bars of other symbols there."""
    with own_database(warehouse_url, "market_window") as url:
        yield url


def test_window_materializes_every_table_and_passes_every_check(own_url, instance):
    warehouse_url = own_url
    resources = _resources(warehouse_url, intraday_since=LAST.isoformat())
    outcome = run_window(defs, "market_data", FIRST, LAST, instance, resources=resources)
    assert outcome.success
    assert not outcome.checks_failed
    assert {"market/raw_ticks:raw_ticks_obey_market_rules", "market/raw_ticks:vendor_files_ingested",
            "market/raw_ticks:ticks_follow_vendor_running_total", "market/ohlcv_1d:volume_reconciles",
            "market/ohlcv_1d:listed_symbols_complete", "market/ohlcv_1d:ohlc_consistent",
            "market/ohlcv_1m:ohlc_consistent"} <= set(outcome.checks_passed)  # fmt: skip

    sources = dict(_table(warehouse_url, "SELECT trading_date, min(source) FROM market.ohlcv_1d"
                          " WHERE trading_date BETWEEN %s AND %s GROUP BY 1", FIRST, LAST))  # fmt: skip
    assert sources == {FIRST: "daily_bars", date(2025, 6, 3): "daily_bars", LAST: "ticks"}

    expected = MarketSimulator(SimulatorConfig(n_symbols=N_SYMBOLS)).ticks(LAST)
    stored = _table(
        warehouse_url, "SELECT count(*), sum(volume)::bigint FROM market.raw_ticks WHERE trading_date = %s", LAST
    )
    assert stored == [(len(expected), int(expected["volume"].sum()))]
    # the tick-built daily bar of the last day equals the vendor bar the simulator publishes for it
    bars = _table(warehouse_url, "SELECT o.symbol, o.close, o.volume, d.close, d.volume FROM market.ohlcv_1d o"
                  " JOIN market.daily_bars d USING (trading_date, symbol) WHERE trading_date = %s", LAST)  # fmt: skip
    assert len(bars) == N_SYMBOLS
    assert all(close == vclose and volume == vvolume for _, close, volume, vclose, vvolume in bars)

    vn30 = _table(warehouse_url, "SELECT count(*) FROM market.index_levels WHERE index_code = 'VN30'"
                  " AND trading_date BETWEEN %s AND %s", FIRST, LAST)  # fmt: skip
    assert vn30 == [(3,)]

    materialized = instance.get_latest_materialization_event(dg.AssetKey(["market", "raw_ticks"]))
    assert materialized is not None


def test_rerunning_a_window_gives_identical_tables(own_url, instance):
    warehouse_url = own_url
    resources = _resources(warehouse_url, intraday_since=LAST.isoformat())
    before = _snapshot(warehouse_url)
    assert before["raw_ticks"], "runs after the first test's window"
    assert run_window(defs, "market_data", FIRST, LAST, instance, resources=resources).success
    assert _snapshot(warehouse_url) == before


def test_schedule_runs_trading_days_and_skips_holidays():
    trading = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 2, 24, 15, 30, tzinfo=VN_TZ))
    request = daily_close_schedule(trading)
    assert isinstance(request, dg.RunRequest) and request.partition_key == "2026-02-24"

    tet = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 2, 17, 15, 30, tzinfo=VN_TZ))
    skipped = daily_close_schedule(tet)
    assert isinstance(skipped, dg.SkipReason) and "2026-02-17" in skipped.skip_message


def _evaluate(sensor_cursor: str | None, landing: Path, instance: dg.DagsterInstance):
    context = dg.build_sensor_context(
        instance=instance,
        cursor=sensor_cursor,
        resources={"market_source": _vendor_files(landing)},
    )
    return landing_file_sensor(context), context


@needs_vn_real
def test_sensor_one_run_per_new_file_and_cursor_survives(tmp_path, instance):
    landing = tmp_path / "landing"
    landing.mkdir()
    for symbol in ("ANV", "FRT"):
        shutil.copy(REAL / "intraday" / f"{symbol}.csv", landing)
    result, _ = _evaluate(None, landing, instance)
    assert sorted(r.tags["vn_pipeline/landing_file"].rsplit("/", 1)[1] for r in result.run_requests) == [
        "ANV.csv", "FRT.csv",
    ]  # fmt: skip
    cursor = result.cursor

    again, _ = _evaluate(cursor, landing, instance)  # a restarted daemon reads the stored cursor
    assert isinstance(again, dg.SkipReason)

    shutil.copy(REAL / "intraday" / "GEG.csv", landing)  # same trading day as FRT (2026-02-24)
    third, _ = _evaluate(cursor, landing, instance)
    (request,) = third.run_requests
    assert request.partition_key == "2026-02-24"
    # the cursor keeps only the versions still in the directory: it grows with the directory, not with history
    (landing / "ANV.csv").unlink()
    shutil.copy(REAL / "intraday" / "HPG.csv", landing)
    fourth, _ = _evaluate(third.cursor, landing, instance)
    assert [r.tags["vn_pipeline/landing_file"].rsplit("/", 1)[1] for r in fourth.run_requests] == ["HPG.csv"]
    assert sorted(key.split("@")[0] for key in json.loads(fourth.cursor)) == ["FRT.csv", "GEG.csv", "HPG.csv"]
    # the run rebuilds the whole day from the landing dir as found when it starts (see the landing-run test)


@needs_vn_real
def test_sensor_skips_a_file_dated_on_a_non_trading_day_without_blocking_others(tmp_path, instance):
    landing = tmp_path / "landing"
    landing.mkdir()
    sunday = (REAL / "intraday" / "FRT.csv").read_text(encoding="utf-8-sig").replace("24/02/2026", "22/02/2026")
    (landing / "FRT_sunday.csv").write_text(sunday, encoding="utf-8")
    shutil.copy(REAL / "intraday" / "GEG.csv", landing)
    result, _ = _evaluate(None, landing, instance)
    assert [r.partition_key for r in result.run_requests] == ["2026-02-24"]
    assert "FRT_sunday.csv" in result.cursor  # remembered, so it is not retried on every tick


@needs_vn_real
def test_landing_run_loads_real_ticks_and_quarantines_a_bad_row(tmp_path, warehouse_url, instance):
    landing = tmp_path / "landing"
    landing.mkdir()
    geg = (REAL / "intraday" / "GEG.csv").read_text(encoding="utf-8-sig").splitlines()
    bad = geg[10].split(",")
    bad[2] = "abc"  # a volume the vendor parser cannot read: quarantined by the importer, never dropped
    geg[10] = ",".join(bad)
    (landing / "GEG.csv").write_text("\n".join(geg) + "\n", encoding="utf-8")
    lines = (REAL / "intraday" / "FRT.csv").read_text(encoding="utf-8-sig").splitlines()
    fields = lines[5].split(",")
    fields[1] = str(float(fields[1]) + 0.013)  # off every tick grid
    lines[5] = ",".join(fields)
    (landing / "FRT.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    result, _ = _evaluate(None, landing, instance)
    request = result.run_requests[0]
    job = defs.resolve_job_def("landing_file_ingest")
    run = job.execute_in_process(
        instance=instance, partition_key=request.partition_key, raise_on_error=False,
        resources={"warehouse": WarehouseResource(database_url=warehouse_url), "market_source": _vendor_files(landing)},
    )  # fmt: skip
    assert run.success
    day = date(2026, 2, 24)
    quarantined = _table(
        warehouse_url, "SELECT symbol, rule, detail FROM market.quarantine WHERE trading_date = %s ORDER BY 1", day
    )
    assert [(symbol, rule) for symbol, rule, _ in quarantined] == [
        ("FRT", "price_on_tick_grid"),
        ("GEG", "unparseable_volume"),
    ]
    assert "GEG.csv line 11" in quarantined[1][2]
    assert "FRT.csv line 6: price_on_tick_grid (price=" in quarantined[0][2]  # a market rule names file and line too
    ticks = dict(_table(warehouse_url, "SELECT symbol, count(*) FROM market.raw_ticks WHERE trading_date = %s"
                        " GROUP BY 1", day))  # fmt: skip
    assert ticks == {"FRT": len(lines) - 2, "GEG": len(geg) - 2}
    checks = {e.check_name: e.passed for e in run.get_asset_check_evaluations()}
    assert checks["raw_ticks_obey_market_rules"] is True  # one bad row in ~2,000 is under the 1% limit


@needs_vn_real
def test_daily_job_reads_the_landing_directory_when_the_source_is_vendor_files(tmp_path, warehouse_url, instance):
    landing = tmp_path / "landing"
    landing.mkdir()
    for symbol in ("DGW", "HHS", "DST"):  # sessions of 2026-02-13
        shutil.copy(REAL / "intraday" / f"{symbol}.csv", landing)
    (landing / "exchanges.json").write_text('{"DGW": "HOSE"}')
    day = date(2026, 2, 13)
    resources = {
        "warehouse": WarehouseResource(database_url=warehouse_url),
        "market_source": _vendor_files(landing),
    }
    outcome = run_window(defs, "market_data", day, day, instance, resources=resources)
    assert outcome.success and not outcome.checks_failed
    closes = dict(_table(warehouse_url, "SELECT symbol, close FROM market.ohlcv_1d WHERE trading_date = %s", day))
    last_prices = {
        s: round(pd.read_csv(REAL / "intraday" / f"{s}.csv", encoding="utf-8-sig")["price"].iloc[-1] * 1000)
        for s in ("DGW", "HHS", "DST")
    }
    assert closes == last_prices
    listed = _table(
        warehouse_url,
        "SELECT symbol, exchange, exchange_inferred FROM market.listings WHERE trading_date = %s ORDER BY 1",
        day,
    )
    # DGW's exchange comes from the map dropped beside the files; the others are inferred, and flagged so
    assert listed == [("DGW", "HOSE", False), ("DST", "HNX", True), ("HHS", "HOSE", True)]


@needs_vn_real
def test_a_feed_breaking_rules_above_the_limit_blocks_downstream_bars(tmp_path, warehouse_url, instance):
    landing = tmp_path / "landing"
    landing.mkdir()
    lines = (REAL / "intraday" / "ANV.csv").read_text(encoding="utf-8-sig").splitlines()
    for i in range(1, len(lines), 20):  # 5% of trades off the tick grid: a broken feed, not a stray print
        fields = lines[i].split(",")
        fields[1] = str(float(fields[1]) + 0.013)
        lines[i] = ",".join(fields)
    (landing / "ANV.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    day = date(2026, 2, 23)
    resources = {
        "warehouse": WarehouseResource(database_url=warehouse_url),
        "market_source": _vendor_files(landing),
    }
    outcome = run_window(defs, "market_data", day, day, instance, resources=resources)
    assert not outcome.success
    assert "market/raw_ticks:raw_ticks_obey_market_rules" in outcome.checks_failed
    assert _table(warehouse_url, "SELECT count(*) FROM market.ohlcv_1d WHERE trading_date = %s", day) == [(0,)]
    corrupted = len(range(1, len(lines), 20))
    assert _table(warehouse_url, "SELECT count(*) FROM market.quarantine WHERE trading_date = %s", day) == [
        (corrupted,)
    ]


def test_stored_minute_bars_read_back_in_market_time_inside_sessions(own_url):
    bars = WarehouseResource(database_url=own_url).read_partition("market.ohlcv_1m", LAST, LAST)
    assert len(bars) and str(bars["ts"].dt.tz) == "Asia/Ho_Chi_Minh"
    minutes = bars["ts"].dt.strftime("%H:%M")
    assert minutes.between("09:00", "14:59").all()
    assert not minutes.between("11:30", "12:59").any()  # no bar spans or sits in the lunch break
    assert (bars["ts"].dt.date == bars["trading_date"]).all()


@needs_vn_real
def test_sensor_stands_by_while_the_source_is_the_simulator(tmp_path, instance):
    landing = tmp_path / "landing"
    landing.mkdir()
    shutil.copy(REAL / "intraday" / "GEG.csv", landing)
    context = dg.build_sensor_context(
        instance=instance, resources={"market_source": MarketSourceResource(landing_dir=str(landing))}
    )
    skipped = landing_file_sensor(context)
    assert isinstance(skipped, dg.SkipReason) and "vnstock_files" in skipped.skip_message
