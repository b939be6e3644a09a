"""`dbt build` of the project in dbt/ against a real, migrated PostgreSQL, then concrete mart values.

Market rows are written with the same partition writer the assets use; the ticks come from a real vendor
file through the vnstock importer, so the raw_ticks layout is checked end to end as well. Hand-made rows for the
edge cases a simulated window does not produce (a vendor bar next to a tick-built one, a bar without a listing);
the Dagster path (dbt assets, checks, lineage) is integration/test_dbt_assets.py. The project's parse is checked
by every import of the definitions (vn_pipeline/defs/dbt/project.py parses it when its files change).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from psycopg import conninfo

from vn_pipeline.lib.warehouse import migrate, write_partition
from vn_pipeline_tests.databases import own_database
from vn_pipeline_tests.real_data import VN_REAL, needs_vn_real

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_DIR = PROJECT_ROOT / "dbt"
# dagster-dbt and subprocess find `dbt` only on PATH; use the interpreter's own venv explicitly.
DBT = Path(sys.executable).parent / "dbt"
VCI_INTRADAY = VN_REAL / "vnstock_vci" / "intraday"
pytestmark = needs_vn_real  # the marts are built over a real session (BKC)

D1, D2 = dt.date(2026, 2, 23), dt.date(2026, 2, 24)


@pytest.fixture(scope="module")
def dbt_db_url(warehouse_url: str) -> Iterator[str]:
    """A database of its own (migrated) so that dbt's tests see only the rows this module writes."""
    with own_database(warehouse_url, "vn_dbt") as url:
        migrate(url)
        yield url


def _listing(day: dt.date, symbol: str, exchange: str, ref: int, ceiling: int, floor: int) -> dict:
    return {
        "trading_date": day,
        "symbol": symbol,
        "exchange": exchange,
        "instrument_type": "stock",
        "sector": {"VCB": "Banks", "HPG": "Steel", "SHS": "Securities"}[symbol],
        "reference_price": ref,
        "ceiling_price": ceiling,
        "floor_price": floor,
        "first_day": False,
    }


def _bar(day: dt.date, symbol: str, o: int, h: int, low: int, c: int, volume: int, source: str = "ticks") -> dict:
    return {
        "trading_date": day,
        "symbol": symbol,
        "open": o,
        "high": h,
        "low": low,
        "close": c,
        "volume": volume,
        "value": volume * c,
        "source": source,
    }


# Bands computed per VN_MARKET.md (ceiling rounded down, floor rounded up to the tick).
LISTINGS = [
    _listing(D1, "VCB", "HOSE", 60_000, 64_200, 55_800),
    _listing(D1, "HPG", "HOSE", 26_900, 28_750, 25_050),
    _listing(D1, "SHS", "HNX", 12_400, 13_600, 11_200),
    _listing(D2, "VCB", "HOSE", 61_000, 65_200, 56_800),
    _listing(D2, "HPG", "HOSE", 28_750, 30_750, 26_750),
    _listing(D2, "SHS", "HNX", 12_400, 13_600, 11_200),
]
BARS = [
    _bar(D1, "VCB", 60_100, 61_500, 59_800, 61_000, 3_640_200),  # up
    # an adjusted vendor bar for the same day: the tick-built bar must win in staging
    _bar(D1, "VCB", 40_000, 41_000, 39_900, 40_800, 3_640_200, source="daily_bars"),
    _bar(D1, "HPG", 27_000, 28_750, 26_950, 28_750, 24_069_800),  # up, at the ceiling
    _bar(D1, "SHS", 12_300, 12_500, 12_300, 12_400, 9_200_700),  # unchanged
    _bar(D2, "VCB", 61_000, 61_200, 60_300, 60_500, 4_428_800),  # down
    _bar(D2, "HPG", 28_500, 28_600, 26_750, 26_750, 30_000_000),  # down, at the floor
    _bar(D2, "SHS", 12_400, 12_600, 12_300, 12_500, 8_000_000),  # up
    _bar(D2, "XYZ", 10_000, 10_100, 9_900, 10_000, 1_000),  # no listing row, first bar: no reference
]
FLOWS = [
    {
        "trading_date": D1,
        "symbol": "VCB",
        "buy_volume": 836_200,
        "sell_volume": 1_975_200,
        "buy_value": 53_363_390_000,
        "sell_value": 127_889_670_000,
        "room_remaining": 679_957_173,
    }
]


@pytest.fixture(scope="module")
def loaded(dbt_db_url: str) -> str:
    from vn_pipeline.lib.sources.vendors.vnstock_files import read_intraday_file

    ticks = read_intraday_file(VCI_INTRADAY / "BKC.csv", exchange="HNX").ticks  # a real session of D1
    assert ticks["trading_date"].iloc[0] == D1
    minute = {
        "ts": pd.Timestamp("2026-02-23 09:15", tz="Asia/Ho_Chi_Minh"),
        "trading_date": D1,
        "symbol": "VCB",
        "open": 60_100,
        "high": 60_300,
        "low": 60_000,
        "close": 60_200,
        "volume": 30_000,
        "value": 1_806_000_000,
        "vwap": 60_200.0,
        "trade_count": 12,
        "buy_volume": 20_000,
        "sell_volume": 10_000,
    }
    with psycopg.connect(dbt_db_url) as conn:
        write_partition(conn, "market.listings", pd.DataFrame(LISTINGS), D1, D2)
        write_partition(conn, "market.ohlcv_1d", pd.DataFrame(BARS), D1, D2)
        write_partition(conn, "market.foreign_flows", pd.DataFrame(FLOWS), D1, D2)
        write_partition(conn, "market.ohlcv_1m", pd.DataFrame([minute]), D1, D1)
        write_partition(conn, "market.raw_ticks", ticks, D1, D1)
        conn.commit()
    return dbt_db_url


def _dbt(command: str, url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    params = conninfo.conninfo_to_dict(url)
    env = {
        **os.environ,
        "VN_PIPELINE_DBT_HOST": str(params.get("host") or "127.0.0.1"),
        "VN_PIPELINE_DBT_PORT": str(params.get("port") or 5432),
        "VN_PIPELINE_DBT_USER": str(params.get("user") or "postgres"),
        "VN_PIPELINE_DBT_PASSWORD": str(params.get("password") or ""),
        "VN_PIPELINE_DBT_DBNAME": str(params["dbname"]),
        "VN_PIPELINE_DBT_SCHEMA": "analytics",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",  # no network from tests
    }
    args = [str(DBT), command, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR)]
    # keep build artefacts out of the repository
    args += ["--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=600, check=False)


def test_dbt_build_and_mart_values(loaded: str, tmp_path: Path) -> None:
    result = _dbt("build", loaded, tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "ERROR=0" in result.stdout.replace(" ", "")

    with psycopg.connect(loaded) as conn:
        mart = pd.DataFrame(
            conn.execute(
                "select trading_date, exchange, symbols_with_bar, symbols_traded, advancers, decliners,"
                " unchanged, without_reference, limit_up, limit_down, total_volume, total_value"
                " from analytics.mart_daily_market_summary order by trading_date, exchange"
            ).fetchall(),
            columns=[
                "trading_date",
                "exchange",
                "symbols_with_bar",
                "symbols_traded",
                "advancers",
                "decliners",
                "unchanged",
                "without_reference",
                "limit_up",
                "limit_down",
                "total_volume",
                "total_value",
            ],
        ).set_index(["trading_date", "exchange"])
        assert list(mart.index) == [(D1, "HNX"), (D1, "HOSE"), (D2, "HNX"), (D2, "HOSE"), (D2, "UNKNOWN")]
        hose1, hose2 = mart.loc[(D1, "HOSE")], mart.loc[(D2, "HOSE")]
        assert (hose1["symbols_traded"], hose1["advancers"], hose1["decliners"]) == (2, 2, 0)
        assert (hose1["limit_up"], hose1["limit_down"]) == (1, 0)
        # the tick-built VCB bar was used, not the adjusted vendor bar of the same day
        assert hose1["total_volume"] == 3_640_200 + 24_069_800
        assert hose1["total_value"] == 3_640_200 * 61_000 + 24_069_800 * 28_750
        assert (hose2["advancers"], hose2["decliners"], hose2["limit_up"], hose2["limit_down"]) == (0, 2, 0, 1)
        assert (mart.loc[(D1, "HNX"), "unchanged"], mart.loc[(D2, "HNX"), "advancers"]) == (1, 1)
        assert mart.loc[(D2, "UNKNOWN"), "without_reference"] == 1

        vcb = conn.execute(
            "select close_kvnd, prev_close, daily_return, source from analytics.stg_market__ohlcv_1d"
            " where symbol = 'VCB' order by trading_date"
        ).fetchall()
        assert [(float(r[0]), r[1], r[3]) for r in vcb] == [(61.0, None, "ticks"), (60.5, 61_000, "ticks")]
        assert float(vcb[1][2]) == pytest.approx(60_500 / 61_000 - 1)

        net = conn.execute(
            "select net_buy_value, net_buy_volume from analytics.stg_market__foreign_flows where symbol = 'VCB'"
        ).fetchone()
        assert net == (53_363_390_000 - 127_889_670_000, 836_200 - 1_975_200)

        imbalance = conn.execute("select order_imbalance from analytics.stg_market__ohlcv_1m").fetchone()[0]
        assert imbalance == pytest.approx(1 / 3)

        # the real BKC session went through the importer, the binary COPY writer and dbt's source tests
        n_ticks, volume = conn.execute(
            "select count(*), sum(volume) from market.raw_ticks where symbol = 'BKC' and trading_date = %s", (D1,)
        ).fetchone()
        assert (n_ticks, volume) == (88, 50_400)
