"""market/proprietary_flows on the real embedded PostgreSQL: a source that provides it replaces the day's rows
(from a generated GDTuDoanh.csv through the real reader, rejected rows to quarantine); the simulator, which
does not, leaves the stored rows alone and says so."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd
import psycopg

from vn_pipeline.defs.market_data.assets import proprietary_flows
from vn_pipeline.defs.resources import MarketSourceResource, WarehouseResource
from vn_pipeline.lib.sources.protocol import MarketSource
from vn_pipeline.lib.sources.vendors.cafef_proprietary import read_cafef_proprietary_flows
from vn_pipeline.lib.sources.vendors.csv_text import as_quarantine

DAY = date(2024, 3, 5)  # a day the other tests leave alone
TABLE = "market.proprietary_flows"


class _FileSource:
    """The smallest source that provides proprietary flows: one generated CafeF file."""

    name = "generated"
    provides = frozenset({"proprietary_flows"})

    def __init__(self, path: Path) -> None:
        self.flows, self.rejected = read_cafef_proprietary_flows(path)

    @property
    def metadata(self) -> dict[str, object]:
        return {"source": self.name}

    def proprietary_flows(self, start: date, end: date) -> pd.DataFrame:
        return self.flows[(self.flows["trading_date"] >= start) & (self.flows["trading_date"] <= end)]

    def quarantined(self, dataset: str, start: date, end: date) -> pd.DataFrame:
        return as_quarantine(self.rejected, TABLE)


class _FileSourceResource(MarketSourceResource):
    path: str

    def source(self, warehouse: WarehouseResource, run_id: str) -> MarketSource:
        return _FileSource(Path(self.path))  # type: ignore[return-value]


def _rows(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT symbol, buy_volume, sell_volume, buy_value, sell_value FROM market.proprietary_flows"
            " WHERE trading_date = %s ORDER BY symbol",
            (DAY,),
        ).fetchall()


def _materialize(url: str, source: MarketSourceResource) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [proprietary_flows],
        partition_key=DAY.isoformat(),
        resources={"warehouse": WarehouseResource(database_url=url), "market_source": source},
    )


def test_provided_flows_replace_the_day_and_the_simulator_keeps_them(warehouse_url: str, tmp_path: Path) -> None:
    path = tmp_path / "XYZ" / "GDTuDoanh.csv"
    path.parent.mkdir()
    path.write_text(
        "Symbol,Date,KLcpMua,KlcpBan,GtMua,GtBan\n"
        "XYZ,05/03/2024,1200,300,36000000,9000000\n"
        "XYZ,05/03/2024,1,1,1,1\n"  # the day again: quarantined, not stored
    )
    with psycopg.connect(warehouse_url) as conn:  # a stale row the run must replace
        conn.execute("INSERT INTO market.proprietary_flows VALUES (%s, 'OLD', 1, 1, 1, 1)", (DAY,))
    result = _materialize(warehouse_url, _FileSourceResource(path=str(path)))
    assert result.success
    assert _rows(warehouse_url) == [("XYZ", 1200, 300, 36000000, 9000000)]
    with psycopg.connect(warehouse_url) as conn:
        quarantined = conn.execute(
            "SELECT symbol, rule, detail FROM market.quarantine WHERE source_table = %s AND trading_date = %s",
            (TABLE, DAY),
        ).fetchall()
    assert [(s, r) for s, r, _ in quarantined] == [("XYZ", "duplicate_trading_date")]
    assert f"{path} line 3" in quarantined[0][2]

    result = _materialize(warehouse_url, MarketSourceResource(n_symbols=3))
    assert result.success
    metadata = result.asset_materializations_for_node(proprietary_flows.op.name)[0].metadata
    assert metadata["provided"].value is False
    assert _rows(warehouse_url) == [("XYZ", 1200, 300, 36000000, 9000000)]  # nothing replaced by nothing
