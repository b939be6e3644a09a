"""text[] through the binary COPY (market.daily_bars.repaired, sql/015): the fast encoder, the row-by-row fallback
and CafeF's repaired bars, on the real server."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pytest

from vn_pipeline.lib.sources.vendors.cafef_files import read_cafef_prices
from vn_pipeline.lib.warehouse import PartitionWriteError, binary_copy, write_partition
from vn_pipeline.lib.warehouse.columns import DAILY_BAR_EXTRAS, DAILY_BARS
from vn_pipeline.lib.warehouse.writes import table_columns
from vn_pipeline_tests.real_data import VN_REAL, needs_vn_real

DAY = dt.date(2024, 1, 2)
# Every shape a text[] cell can take: NULL, empty, one element, several (with a non-ASCII one), a NULL element.
REPAIRED: list[Any] = [None, [], ["open"], ("high", "low"), np.array(["low"], dtype=object), ["giá mở", None]]
EXPECTED = [None, [], ["open"], ["high", "low"], ["low"], ["giá mở", None]]


def _bars(repaired: list[Any], day: dt.date = DAY) -> pd.DataFrame:
    n = len(repaired)
    return pd.DataFrame(
        {
            "trading_date": [day] * n,
            "symbol": [f"S{i:02d}" for i in range(n)],
            "open": 10_000,
            "high": 10_500,
            "low": 9_800,
            "close": 10_200,
            "volume": 1_000,
            "value": 10_200_000,
            "put_through_volume": 100,
            "put_through_value": 1_020_000,
            "adjusted": False,
            "repaired": pd.Series(repaired, dtype=object),
        }
    )


def _stored(conn: psycopg.Connection[Any], day: dt.date = DAY) -> list[Any]:
    rows = conn.execute(
        "SELECT repaired FROM market.daily_bars WHERE trading_date = %s ORDER BY symbol", (day,)
    ).fetchall()
    return [r[0] for r in rows]


def test_the_fast_encoder_writes_text_arrays(conn: psycopg.Connection[Any]) -> None:
    frame = _bars(REPAIRED)
    oids = [table_columns(conn, "market.daily_bars")[c].type_oid for c in frame.columns]
    assert oids[-1] == binary_copy.TEXT_ARRAY
    assert binary_copy.encode(frame, oids) is not None  # not the row-by-row fallback
    write_partition(conn, "market.daily_bars", frame, DAY, DAY)
    assert _stored(conn) == EXPECTED
    # the server sees real arrays, not text that looks like one
    (dims,) = conn.execute(
        "SELECT array_agg(coalesce(array_length(repaired, 1), -1) ORDER BY symbol) FROM market.daily_bars"
        " WHERE trading_date = %s",
        (DAY,),
    ).fetchone()
    assert dims == [-1, -1, 1, 2, 1, 2]
    assert conn.execute(
        "SELECT count(*) FROM market.daily_bars WHERE trading_date = %s AND 'low' = ANY(repaired)", (DAY,)
    ).fetchone() == (2,)


def test_the_row_by_row_fallback_stores_the_same_arrays(conn: psycopg.Connection[Any]) -> None:
    frame = _bars(REPAIRED)
    original = binary_copy.encode
    binary_copy.encode = lambda frame, oids, **kwargs: None  # type: ignore[assignment]
    try:
        write_partition(conn, "market.daily_bars", frame, DAY, DAY)
    finally:
        binary_copy.encode = original  # type: ignore[assignment]
    assert _stored(conn) == EXPECTED


@pytest.mark.parametrize("bad", ["open", [1]])
def test_a_value_that_is_not_a_list_of_str_is_refused(conn: psycopg.Connection[Any], bad: object) -> None:
    # A bare "open" would be stored as {o,p,e,n} by a naive encoder: refused, naming the column.
    with pytest.raises(PartitionWriteError, match="repaired"):
        write_partition(conn, "market.daily_bars", _bars([["open"], bad]), DAY, DAY)


@needs_vn_real
def test_cafef_repaired_bars_round_trip(conn: psycopg.Connection[Any]) -> None:
    prices, _ = read_cafef_prices(VN_REAL / "cafef" / "VCB" / "PriceHistory.csv")
    window = prices[(prices["trading_date"] >= dt.date(2019, 1, 1)) & (prices["trading_date"] <= dt.date(2019, 12, 31))]
    frame = window[[*DAILY_BARS, *DAILY_BAR_EXTRAS]].reset_index(drop=True)
    assert write_partition(conn, "market.daily_bars", frame, dt.date(2019, 1, 1), dt.date(2019, 12, 31)) == len(frame)
    stored = dict(
        conn.execute(
            "SELECT trading_date, repaired FROM market.daily_bars WHERE symbol = 'VCB' AND repaired IS NOT NULL"
            " AND trading_date BETWEEN '2019-01-01' AND '2019-12-31'"
        ).fetchall()
    )
    expected = {d: r for d, r in zip(frame["trading_date"], frame["repaired"], strict=True) if r is not None}
    assert stored == expected and stored[dt.date(2019, 7, 19)] == ["open"]
    assert conn.execute(
        "SELECT open, put_through_volume, adjusted FROM market.daily_bars WHERE symbol = 'VCB'"
        " AND trading_date = '2019-07-19'"
    ).fetchone() == (76_400, 52_000, False)
