"""The CafeF source through the market-data assets, on the real exports in ../shared/data/vn_real/cafef: daily bars
and foreign flows of every trading day reach the warehouse with a listing for each bar, a row dated on a Sunday
goes to quarantine with its rule, and the datasets the source does not provide yet leave the stored rows alone."""

import csv
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from vn_pipeline.definitions import defs
from vn_pipeline.defs.market_data.assets import (
    corporate_actions,
    daily_bars,
    foreign_flows,
    index_levels,
    listings,
    proprietary_flows,
)
from vn_pipeline.defs.resources import MarketSourceResource, WarehouseResource
from vn_pipeline.lib.market.exchanges import price_limits
from vn_pipeline.lib.sources.vendors.cafef_source import CafefSource
from vn_pipeline.lib.warehouse import columns
from vn_pipeline.runs import run_window
from vn_pipeline_tests.instances import postgres_instance
from vn_pipeline_tests.real_data import VN_REAL, needs_vn_real

pytestmark = needs_vn_real
CAFEF = VN_REAL / "cafef"
START, END = date(2025, 5, 5), date(2025, 5, 16)  # BDT has rows dated Sunday 2025-05-11 in between


@pytest.fixture(scope="module")
def instance(warehouse_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dg.DagsterInstance]:
    with postgres_instance(warehouse_url, str(tmp_path_factory.mktemp("dagster_cafef"))) as local:
        yield local


def _raw_close(symbol: str, day: date) -> int:
    """The file's own close (GiaDongCua, thousands of VND) for ``day``, read without the importer."""
    with (CAFEF / symbol / "PriceHistory.csv").open(encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            if row["Ngay"] == day.strftime("%d/%m/%Y"):
                return round(float(row["GiaDongCua"]) * 1000)
    raise LookupError(f"{symbol} has no row for {day}")


def _rows(url: str, query: str, *params) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def test_real_daily_bars_and_flows_reach_the_warehouse(warehouse_url: str, instance: dg.DagsterInstance) -> None:
    resources = {
        "warehouse": WarehouseResource(database_url=warehouse_url),
        "market_source": MarketSourceResource(
            kind="cafef", data_dir=str(CAFEF), index_dir=str(VN_REAL / "indices_ftu")
        ),
    }
    wanted = {daily_bars.key, foreign_flows.key, listings.key, corporate_actions.key, index_levels.key,
              proprietary_flows.key}  # fmt: skip
    run = run_window(defs, "market_data", START, END, instance, resources=resources, assets=wanted, checks=set())
    assert run.success

    symbols = sorted(p.name for p in CAFEF.iterdir() if (p / "PriceHistory.csv").exists() and p.name != "VNINDEX")
    stored = dict(_rows(warehouse_url, "SELECT symbol, count(*) FROM market.daily_bars"
                        " WHERE trading_date BETWEEN %s AND %s GROUP BY 1", START, END))  # fmt: skip
    assert len(stored) >= 100 and set(stored) <= set(symbols)
    for symbol, day in (("VCB", date(2025, 5, 6)), ("ACB", date(2025, 5, 16)), ("BDT", date(2025, 5, 12))):
        (close,) = _rows(warehouse_url, "SELECT close FROM market.daily_bars WHERE symbol = %s AND trading_date = %s",
                         symbol, day)[0]  # fmt: skip
        assert close == _raw_close(symbol, day), symbol

    # the Sunday row is in quarantine with its rule and file, not in the bars
    assert not _rows(warehouse_url, "SELECT 1 FROM market.daily_bars WHERE trading_date = %s", date(2025, 5, 11))
    sunday = _rows(warehouse_url, "SELECT symbol, rule, detail FROM market.quarantine WHERE source_table ="
                   " 'market.daily_bars' AND trading_date = %s", date(2025, 5, 11))  # fmt: skip
    assert ("BDT", "not_a_trading_day") in {(s, r) for s, r, _ in sunday}
    assert all("BDT/PriceHistory.csv" in d for s, _, d in sunday if s == "BDT")

    flows = _rows(warehouse_url, "SELECT count(DISTINCT symbol), count(*) FROM market.foreign_flows"
                  " WHERE trading_date BETWEEN %s AND %s", START, END)[0]  # fmt: skip
    assert flows[0] >= 100 and flows[1] >= 10 * 90
    (owned,) = _rows(warehouse_url, "SELECT ownership FROM market.foreign_flows WHERE symbol = 'VCB'"
                     " AND trading_date = %s", date(2025, 5, 6))[0]  # fmt: skip
    assert 0.2 < owned < 0.3  # DangSoHuu in percent, stored as a fraction (VCB: about 23% foreign-held)
    proprietary = _rows(warehouse_url, "SELECT count(DISTINCT symbol) FROM market.proprietary_flows"
                        " WHERE trading_date BETWEEN %s AND %s", START, END)[0][0]  # fmt: skip
    assert proprietary >= 5  # the vendor file is sparse: 9 of the 40 symbols with one trade in this window

    # every bar has its listing, with the limits of its board around the previous close
    unlisted = _rows(warehouse_url, "SELECT count(*) FROM market.daily_bars b LEFT JOIN market.listings l"
                     " USING (trading_date, symbol) WHERE l.symbol IS NULL AND b.trading_date BETWEEN %s AND %s",
                     START, END)  # fmt: skip
    assert unlisted == [(0,)]
    exchange, reference, floor, ceiling = _rows(
        warehouse_url, "SELECT exchange, reference_price, floor_price, ceiling_price FROM market.listings"
        " WHERE symbol = 'VCB' AND trading_date = %s", date(2025, 5, 6))[0]  # fmt: skip
    assert exchange == "HOSE" and reference == _raw_close("VCB", date(2025, 5, 5))
    assert (floor, ceiling) == price_limits("HOSE", reference)

    # VNINDEX from the CafeF folder, VN30 and the exchange indices from the index files, every day of the window
    levels = dict(_rows(warehouse_url, "SELECT index_code, count(*) FROM market.index_levels"
                        " WHERE trading_date BETWEEN %s AND %s GROUP BY 1", START, END))  # fmt: skip
    assert levels == {code: 10 for code in ("VNINDEX", "VN30", "HNXINDEX", "UPCOMINDEX")}
    actions = _rows(warehouse_url, "SELECT kind, inferred FROM market.corporate_actions"
                    " WHERE trading_date BETWEEN %s AND %s", START, END)  # fmt: skip
    assert actions and all(inferred for _, inferred in actions)

    materialized = {m.asset_key.to_user_string(): m.metadata for m in run_materializations(instance, run.run_id)}
    assert materialized["market/listings"]["source"].text == "cafef"
    assert materialized["market/daily_bars"]["quarantined"].value >= 2


def run_materializations(instance: dg.DagsterInstance, run_id: str) -> list[dg.AssetMaterialization]:
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    return [r.event_log_entry.asset_materialization for r in records]


def test_the_cafef_source_says_which_folder_it_needs(warehouse_url: str) -> None:
    resource = MarketSourceResource(kind="cafef")
    with pytest.raises(ValueError, match="VN_PIPELINE_DATA_DIR"):
        resource.source(WarehouseResource(database_url=warehouse_url), "run")
    with pytest.raises(FileNotFoundError, match="no_such_dir"):
        MarketSourceResource(kind="cafef", data_dir="/no_such_dir").source(
            WarehouseResource(database_url=warehouse_url), "run"
        )


def test_a_file_whose_every_row_is_rejected_gives_no_rows_and_its_quarantine(tmp_path: Path) -> None:
    """ACB's files under another code: every GDTuDoanh.csv row names ACB, so all are rejected, none stored."""
    shutil.copytree(CAFEF / "ACB", tmp_path / "ACB01")
    source = CafefSource(tmp_path)
    stored = source.proprietary_flows(date(2022, 1, 1), date(2025, 12, 31))
    assert stored.empty and list(stored.columns) == list(columns.PROPRIETARY_FLOWS)
    rejected = source.quarantined("proprietary_flows", date(2022, 1, 1), date(2025, 12, 31))
    assert len(rejected) > 600 and set(rejected["rule"]) == {"symbol_mismatch"}
    assert len(source.daily_bars(date(2025, 5, 5), date(2025, 5, 16))) == 10  # the other files are ACB01's
