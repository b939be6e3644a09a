"""The running-total and volume sums over stored trades, computed by the server, on a real PostgreSQL."""

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from vn_pipeline.lib.warehouse.tick_totals import running_total_breaks, uncovered_shares, volume_by_symbol_day

DAY = date(2026, 2, 24)
TABLE = "pg_temp.ticks"


@pytest.fixture
def ticks(conn: psycopg.Connection[Any]):
    """Write (symbol, seq, volume, cum_volume) trades of DAY into a temporary copy of market.raw_ticks."""
    conn.execute("CREATE TEMP TABLE ticks (LIKE market.raw_ticks) ON COMMIT DROP")

    def write(rows: list[tuple[str, int, int, int]]) -> None:
        conn.execute("TRUNCATE ticks")
        opened = datetime(2026, 2, 24, 10, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO ticks (ts, trading_date, symbol, seq, price, volume, side, session, cum_volume)"
                " VALUES (%s, %s, %s, %s, 20000, %s, 'B', 'CONT', %s)",
                [(opened + timedelta(seconds=seq), DAY, s, seq, v, c) for s, seq, v, c in rows],
            )

    yield write
    conn.rollback()


def test_a_trade_stored_twice_breaks_the_running_total(conn: psycopg.Connection[Any], ticks) -> None:
    good = [("AAA", 0, 100, 100), ("AAA", 1, 200, 300), ("AAA", 2, 300, 600), ("BBB", 0, 50, 50)]
    ticks(good)
    assert running_total_breaks(conn, DAY, DAY, TABLE).empty
    ticks([*good[:2], ("AAA", 2, 300, 1_100), good[3]])  # the feed skipped 500 shares: no break, reported
    assert running_total_breaks(conn, DAY, DAY, TABLE).empty
    assert uncovered_shares(conn, DAY, DAY, TABLE) == (1, 500)
    ticks([*good, ("AAA", 3, 200, 300)])  # the 200-share trade again, after the total reached 600
    broken = running_total_breaks(conn, DAY, DAY, TABLE)
    assert broken[["symbol", "seq", "gap"]].values.tolist() == [["AAA", 3, 300 - 600 - 200]]


def test_the_first_trade_of_a_symbol_day_steps_from_zero(conn: psycopg.Connection[Any], ticks) -> None:
    ticks([("AAA", 0, 100, 60)])  # a total below the first trade's own volume
    assert running_total_breaks(conn, DAY, DAY, TABLE)["gap"].tolist() == [-40]


def test_volume_sums_per_symbol_day(conn: psycopg.Connection[Any], ticks) -> None:
    ticks([("AAA", 0, 100, 100), ("AAA", 1, 200, 300), ("BBB", 0, 50, 50)])
    sums = volume_by_symbol_day(conn, TABLE, DAY, DAY).sort_values("symbol")
    assert sums[["symbol", "volume"]].values.tolist() == [["AAA", 300], ["BBB", 50]]
    assert volume_by_symbol_day(conn, TABLE, DAY + timedelta(days=1), DAY + timedelta(days=1)).empty
