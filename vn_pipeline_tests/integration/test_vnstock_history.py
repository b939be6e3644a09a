"""vnstock-format daily history (../shared/data/vn_real/vnstock_vci: 543 stocks/ files, 18 indices/) through the
market-data assets in a real Dagster run on the embedded PostgreSQL: the bars are stored flagged as adjusted, the
index levels are stored, and the rows the files break rules with (PMC's all-zero prices, nine OHLC-inconsistent
bars, VNHEAL's range) are in market.quarantine with file, line and rule."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd
import psycopg
import pytest

from vn_pipeline.definitions import defs
from vn_pipeline.defs.market_data.assets import daily_bars, index_levels
from vn_pipeline.defs.resources import MarketSourceResource, WarehouseResource
from vn_pipeline.runs import run_window
from vn_pipeline_tests.instances import postgres_instance
from vn_pipeline_tests.real_data import VN_REAL, needs_vn_real

pytestmark = needs_vn_real
VCI = VN_REAL / "vnstock_vci"
START, END = date(2025, 5, 5), date(2025, 5, 16)
# The files' OHLC-inconsistent bars in the window (high below open/close or low above them), found by eye
OHLC_INCONSISTENT = {
    ("C69", date(2025, 5, 5)), ("SHS", date(2025, 5, 5)), ("IPA", date(2025, 5, 12)), ("SHS", date(2025, 5, 12)),
    ("TIG", date(2025, 5, 12)), ("FMC", date(2025, 5, 13)), ("FTS", date(2025, 5, 13)), ("GEX", date(2025, 5, 13)),
    ("VNM", date(2025, 5, 13)),
}  # fmt: skip


@pytest.fixture(scope="module")
def instance(warehouse_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dg.DagsterInstance]:
    with postgres_instance(warehouse_url, str(tmp_path_factory.mktemp("dagster_vnstock"))) as local:
        yield local


@pytest.fixture(scope="module")
def run(warehouse_url: str, instance: dg.DagsterInstance, tmp_path_factory: pytest.TempPathFactory) -> str:
    landing = tmp_path_factory.mktemp("landing")  # no intraday file landed: only the history folder speaks
    resources = {
        "warehouse": WarehouseResource(database_url=warehouse_url),
        "market_source": MarketSourceResource(kind="vnstock_files", landing_dir=str(landing), data_dir=str(VCI)),
    }
    result = run_window(defs, "market_data", START, END, instance, resources=resources,
                        assets={daily_bars.key, index_levels.key}, checks=set())  # fmt: skip
    assert result.success
    return result.run_id


def _rows(url: str, query: str, *params: object) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def _files_in_window(folder: Path) -> pd.DataFrame:
    """Every row of the folder's files dated in the window, read with pandas, not the importer."""
    frames = [pd.read_csv(p, encoding="utf-8-sig", usecols=["time", "open", "high", "low", "close", "symbol"])
              for p in sorted(folder.glob("*.csv")) if p.name != "all_indices.csv"]  # fmt: skip
    every = pd.concat(frames, ignore_index=True)
    every["trading_date"] = pd.to_datetime(every["time"]).dt.date
    return every[(every["trading_date"] >= START) & (every["trading_date"] <= END)]


def test_stock_files_are_stored_as_adjusted_daily_bars(run: str, warehouse_url: str) -> None:
    printed = _files_in_window(VCI / "stocks")
    zero = printed[(printed[["open", "high", "low", "close"]] == 0).all(axis=1)]
    assert set(zero["symbol"]) == {"PMC"} and len(zero) == 10  # PMC prints zeros on every day of the window
    stored = _rows(warehouse_url, "SELECT symbol, trading_date, close, adjusted FROM market.daily_bars"
                   " WHERE trading_date BETWEEN %s AND %s", START, END)  # fmt: skip
    assert len(stored) == len(printed) - len(zero) - len(OHLC_INCONSISTENT)
    assert all(adjusted for *_, adjusted in stored)
    keys = {(s, d) for s, d, *_ in stored}
    assert not keys & OHLC_INCONSISTENT and "PMC" not in {s for s, _ in keys}
    close = {(s, d): c for s, d, c, _ in stored}
    for row in printed[printed["symbol"].isin(["HPG", "VCB", "ACB"])].itertuples():
        assert close[(row.symbol, row.trading_date)] == round(row.close * 1000)  # kVND → VND, once


def test_rejected_stock_rows_are_in_quarantine_with_file_line_and_rule(run: str, warehouse_url: str) -> None:
    quarantined = _rows(warehouse_url, "SELECT symbol, trading_date, rule, detail FROM market.quarantine"
                        " WHERE source_table = 'market.daily_bars' AND trading_date BETWEEN %s AND %s",
                        START, END)  # fmt: skip
    by_rule: dict[str, set] = {}
    for symbol, day, rule, _ in quarantined:
        by_rule.setdefault(rule, set()).add((symbol, day))
    assert set(by_rule) == {"zero_price", "ohlc_inconsistent"}
    assert by_rule["ohlc_inconsistent"] == OHLC_INCONSISTENT
    assert {s for s, _ in by_rule["zero_price"]} == {"PMC"} and len(by_rule["zero_price"]) == 10
    fmc = next(detail for symbol, day, _, detail in quarantined if symbol == "FMC")
    assert fmc.startswith(f"{VCI}/stocks/FMC.csv line 63: high must be")


def test_index_files_are_stored_as_index_levels(run: str, warehouse_url: str, instance: dg.DagsterInstance) -> None:
    printed = _files_in_window(VCI / "indices")
    stored = _rows(warehouse_url, "SELECT index_code, trading_date, open, high, low, close FROM market.index_levels"
                   " WHERE trading_date BETWEEN %s AND %s", START, END)  # fmt: skip
    assert len(stored) == len(printed) == 18 * 10
    levels = {(code, day): (o, h, lo, c) for code, day, o, h, lo, c in stored}
    for row in printed.itertuples():
        assert levels[(row.symbol, row.trading_date)][3] == row.close
    # VNHEAL 2025-05-05 prints low 1230.5 with open 1930.81 and close 1968.63 above high 1953.38: kept, range
    # widened to the printed prices, the raw row in quarantine
    assert levels[("VNHEAL", date(2025, 5, 5))] == (1930.81, 1968.63, 1230.5, 1968.63)
    widened = _rows(warehouse_url, "SELECT symbol, rule, detail FROM market.quarantine WHERE source_table ="
                    " 'market.index_levels' AND trading_date BETWEEN %s AND %s ORDER BY 1", START, END)  # fmt: skip
    assert [(s, r) for s, r, _ in widened] == [
        (c, "ohlc_range_widened") for c in ("VNHEAL", "VNMAT", "VNREAL", "VNSML")
    ]
    assert widened[0][2].startswith(f"{VCI}/indices/VNHEAL.csv line 46: ")

    records = instance.get_records_for_run(run, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    metadata = {r.event_log_entry.asset_materialization.asset_key.to_user_string():
                r.event_log_entry.asset_materialization.metadata for r in records}  # fmt: skip
    assert metadata["market/daily_bars"]["quarantined"].value == 10 + len(OHLC_INCONSISTENT)
    assert metadata["market/daily_bars"]["daily_value"].text.startswith("estimated")
    assert metadata["market/index_levels"]["quarantined"].value == 4
