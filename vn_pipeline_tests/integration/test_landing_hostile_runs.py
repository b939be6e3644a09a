"""A trading day of real vendor files, landed once clean and once with hostile variants of some of them, through
the real landing job on a real Dagster instance and the embedded PostgreSQL: the bad files cost only
themselves, the symbols whose file could not be used keep their stored day, and the checks say what happened."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import dagster as dg
import pandas as pd
import psycopg
import pytest

from vn_pipeline.definitions import defs
from vn_pipeline.defs.automation.sensors import landing_file_sensor
from vn_pipeline.defs.resources import MarketSourceResource, WarehouseResource
from vn_pipeline.lib.sources.vendors.csv_text import MAX_FILE_BYTES
from vn_pipeline.lib.sources.vendors.landing import peek_trading_date
from vn_pipeline_tests import hostile_files as hostile
from vn_pipeline_tests.instances import postgres_instance
from vn_pipeline_tests.real_data import VN_REAL, needs_vn_real

pytestmark = needs_vn_real
INTRADAY = VN_REAL / "vnstock_vci" / "intraday"
DAY = date(2026, 2, 24)
KEPT = {"CNG": "implausible_price", "LBM": "missing_columns", "NBC": "no_valid_rows", "MTH": "file_too_large"}
ROWS_LOST = {"PNJ": 1, "ELC": 1, "KHG": 1, "GEG": 10}  # rows quarantined, the rest of each file stored


@pytest.fixture(scope="module")
def instance(warehouse_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dg.DagsterInstance]:
    with postgres_instance(warehouse_url, str(tmp_path_factory.mktemp("dagster_home"))) as local:
        yield local


def _table(url: str, query: str, *params: object) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def _per_symbol(url: str) -> dict[str, tuple]:
    """Each symbol's stored day: trades, shares, minute bars, daily close and volume, reference price."""
    rows = _table(
        url,
        """
        SELECT l.symbol, l.reference_price,
               (SELECT count(*) FROM market.raw_ticks t WHERE t.trading_date = l.trading_date AND t.symbol = l.symbol),
               (SELECT sum(volume) FROM market.raw_ticks t WHERE t.trading_date = l.trading_date
                                                            AND t.symbol = l.symbol),
               (SELECT count(*) FROM market.ohlcv_1m m WHERE m.trading_date = l.trading_date AND m.symbol = l.symbol),
               d.close, d.volume
        FROM market.listings l
        LEFT JOIN market.ohlcv_1d d ON d.trading_date = l.trading_date AND d.symbol = l.symbol
        WHERE l.trading_date = %s
        """,
        DAY,
    )
    return {symbol: tuple(rest) for symbol, *rest in rows}


def _ingest(landing: Path, url: str, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    source = MarketSourceResource(kind="vnstock_files", landing_dir=str(landing))
    return defs.resolve_job_def("landing_file_ingest").execute_in_process(
        instance=instance, partition_key=DAY.isoformat(), raise_on_error=False,
        resources={"warehouse": WarehouseResource(database_url=url), "market_source": source},
    )  # fmt: skip


def _land_hostile_day(landing: Path) -> None:
    real = {s: hostile.real_lines(INTRADAY / f"{s}.csv") for s in ("PNJ", "ELC", "KHG", "GEG", "CNG", "LBM", "NBC")}
    (landing / "PNJ.csv").write_bytes(hostile.ragged_row(real["PNJ"], 10))
    (landing / "ELC.csv").write_bytes(hostile.non_utf8_byte(real["ELC"], 2))
    (landing / "KHG.csv").write_bytes(hostile.huge_cell(real["KHG"], 50))
    (landing / "GEG.csv").write_bytes(hostile.second_symbol(real["GEG"], 30, 39, "GEX"))
    (landing / "CNG.csv").write_bytes(hostile.prices_in_vnd(real["CNG"]))
    (landing / "LBM.csv").write_bytes(hostile.no_header(real["LBM"]))
    (landing / "NBC.csv").write_bytes(hostile.every_row_bad(real["NBC"]))
    (landing / "FRT.csv").write_bytes(hostile.duplicated_rows(hostile.real_lines(INTRADAY / "FRT.csv"), 50))
    shutil.copy(INTRADAY / "FRT.csv", landing / "FRT (1).csv")
    hostile.oversized(landing / "MTH.csv", MAX_FILE_BYTES + 1)
    landed_at = datetime(2026, 2, 24, 15, 5, tzinfo=timezone(timedelta(hours=7))).timestamp()
    os.utime(landing / "MTH.csv", (landed_at, landed_at))


def test_bad_files_cost_only_themselves_and_never_erase_a_stored_day(tmp_path, warehouse_url, instance) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    for path in sorted(INTRADAY.glob("*.csv")):
        if peek_trading_date(path) == DAY:
            shutil.copy(path, landing)
    clean = _ingest(landing, warehouse_url, instance)
    assert clean.success
    assert all(e.passed for e in clean.get_asset_check_evaluations())
    before = _per_symbol(warehouse_url)
    assert len(before) == 29 and sum(v[1] for v in before.values()) == 3_906

    _land_hostile_day(landing)
    run = _ingest(landing, warehouse_url, instance)
    assert run.success  # one bad file no longer blocks the day
    after = _per_symbol(warehouse_url)
    assert set(after) == set(before)
    for symbol, stored in before.items():
        trades, shares = after[symbol][1], after[symbol][2]
        if symbol in ROWS_LOST:
            assert trades == stored[1] - ROWS_LOST[symbol], symbol
            assert after[symbol][0] == stored[0], symbol  # the reference price still comes from the file
        else:  # kept (no usable file), merged duplicates (FRT), or untouched: exactly as stored before
            assert after[symbol] == stored, symbol
        assert shares <= stored[2]

    files = _table(warehouse_url, "SELECT symbol, rule, detail FROM market.quarantine WHERE trading_date = %s"
                   " AND row_data->>'level' = 'file' ORDER BY symbol", DAY)  # fmt: skip
    assert {(s, r) for s, r, _ in files} == {*KEPT.items(), ("FRT", "duplicate_file")}
    rows = dict(_table(warehouse_url, "SELECT rule, count(*) FROM market.quarantine WHERE trading_date = %s"
                       " AND row_data->>'level' IS DISTINCT FROM 'file' GROUP BY 1", DAY))  # fmt: skip
    assert rows == {"wrong_field_count": 1, "not_utf8": 1, "line_too_long": 1, "other_symbol": 10,
                    "duplicate_trade": 50}  # fmt: skip
    details = [d for (d,) in _table(warehouse_url, "SELECT detail FROM market.quarantine WHERE trading_date = %s"
                                    " AND rule = 'wrong_field_count'", DAY)]  # fmt: skip
    assert details[0].endswith("PNJ.csv line 10: 3 fields, the header has 10")

    checks = {e.check_name: e for e in run.get_asset_check_evaluations()}
    ingested = checks["vendor_files_ingested"]
    assert not ingested.passed and ingested.severity == dg.AssetCheckSeverity.ERROR
    assert ingested.metadata["by_rule"].data == {"implausible_price": 1, "missing_columns": 1, "no_valid_rows": 1,
                                                 "file_too_large": 1}  # fmt: skip
    assert ingested.metadata["duplicate_files"].value == 1
    listed = {(r.data["symbol"], r.data["rule"]) for r in ingested.metadata["files"].records}  # a typed table
    assert listed == {*KEPT.items(), ("FRT", "duplicate_file")}
    # 13 bad rows of ~3,900 trades (duplicates are no bad trades): under the 1% limit, the bars are built
    assert checks["raw_ticks_obey_market_rules"].passed
    assert checks["ticks_follow_vendor_running_total"].passed
    assert checks["volume_reconciles"].passed and checks["listed_symbols_complete"].passed

    # running it again changes nothing: the kept days stay kept, the quarantine is replaced, not added to
    again = _ingest(landing, warehouse_url, instance)
    assert again.success and _per_symbol(warehouse_url) == after
    assert len(_table(warehouse_url, "SELECT 1 FROM market.quarantine WHERE trading_date = %s", DAY)) == (
        len(files) + sum(rows.values())
    )


def test_the_sensor_starts_a_run_for_every_hostile_file_and_never_raises(tmp_path, instance) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    _land_hostile_day(landing)  # a 130 KiB cell, no header, bytes that are not UTF-8, a 64 MiB file without a date
    context = dg.build_sensor_context(
        instance=instance,
        resources={"market_source": MarketSourceResource(kind="vnstock_files", landing_dir=str(landing))},
    )
    result = landing_file_sensor(context)
    files = sorted(p.name for p in landing.glob("*.csv"))
    assert sorted(Path(r.tags["vn_pipeline/landing_file"]).name for r in result.run_requests) == files
    assert {r.partition_key for r in result.run_requests} == {DAY.isoformat()}  # MTH.csv: dated by when it landed


def test_a_file_landing_between_two_steps_changes_nothing_in_that_run(tmp_path, warehouse_url, instance) -> None:
    """The run's first step fixes its snapshot of the landing directory; a file dropped right after the listings
    step (by a real success hook of that step) is not half-ingested by the steps after it."""
    day = date(2026, 2, 25)  # a day no other test of the session writes
    landing = tmp_path / "landing"
    landing.mkdir()
    for symbol in ("CCR", "DND"):
        shutil.copy(INTRADAY / f"{symbol}.csv", landing)

    @dg.success_hook
    def land_after_listings(context: dg.HookContext) -> None:
        if context.op.name == "market__listings":
            shutil.copy(INTRADAY / "HAD.csv", landing)  # a session of the same day

    source = MarketSourceResource(kind="vnstock_files", landing_dir=str(landing))
    resources = {"warehouse": WarehouseResource(database_url=warehouse_url), "market_source": source}
    job = defs.resolve_job_def("landing_file_ingest").with_hooks({land_after_listings})
    run = job.execute_in_process(instance=instance, partition_key=day.isoformat(), resources=resources)
    assert run.success and all(e.passed for e in run.get_asset_check_evaluations())
    query = "SELECT DISTINCT symbol FROM market.{} WHERE trading_date = %s"
    tables = ("listings", "raw_ticks", "ohlcv_1d")
    symbols = {t: {s for (s,) in _table(warehouse_url, query.format(t), day)} for t in tables}
    assert symbols == {t: {"CCR", "DND"} for t in symbols}
    assert _table(warehouse_url, "SELECT count(*) FROM market.quarantine WHERE trading_date = %s", day) == [(0,)]
    snapshot = _table(warehouse_url, "SELECT jsonb_array_length(files) FROM ops.landing_snapshots WHERE run_id = %s",
                      run.run_id)  # fmt: skip
    assert snapshot == [(2,)]
    [listed] = run.asset_materializations_for_node("market__listings")
    assert listed.metadata["snapshot_files"].value == 2

    again = defs.resolve_job_def("landing_file_ingest").execute_in_process(
        instance=instance, partition_key=day.isoformat(), resources=resources
    )
    assert again.success
    assert {s for (s,) in _table(warehouse_url, "SELECT DISTINCT symbol FROM market.raw_ticks WHERE trading_date = %s",
                                 day)} == {"CCR", "DND", "HAD"}  # fmt: skip


def test_a_dataset_the_source_does_not_provide_keeps_what_the_warehouse_holds(tmp_path, warehouse_url, instance):
    day = date(2026, 2, 26)  # a day no other test of the session writes
    warehouse = WarehouseResource(database_url=warehouse_url)
    flows = pd.DataFrame([{"trading_date": day, "symbol": "CVT", "buy_volume": 100, "sell_volume": 0,
                           "buy_value": 2_000_000, "sell_value": 0, "room_remaining": 1_000}])  # fmt: skip
    warehouse.write_partition("market.foreign_flows", flows, day, day)
    landing = tmp_path / "landing"
    landing.mkdir()
    shutil.copy(INTRADAY / "CVT.csv", landing)
    source = MarketSourceResource(kind="vnstock_files", landing_dir=str(landing))
    run = defs.resolve_job_def("market_data").execute_in_process(
        instance=instance, partition_key=day.isoformat(), resources={"warehouse": warehouse, "market_source": source}
    )
    assert run.success
    assert _table(warehouse_url, "SELECT symbol, buy_volume FROM market.foreign_flows WHERE trading_date = %s",
                  day) == [("CVT", 100)]  # fmt: skip
    [flows_result] = run.asset_materializations_for_node("market__foreign_flows")
    assert flows_result.metadata["provided"].value is False and flows_result.metadata["source"].text == "vnstock_files"
