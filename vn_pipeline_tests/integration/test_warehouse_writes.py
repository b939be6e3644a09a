"""Partition writes against the real server: idempotence, atomicity, type round-trips."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pytest

from vn_pipeline.lib.warehouse import (
    PartitionWriteError,
    binary_copy,
    read_frame,
    read_partition,
    reads,
    write_partition,
)
from vn_pipeline.lib.warehouse.writes import write_quarantine

DAY = dt.date(2024, 1, 2)
NEXT = dt.date(2024, 1, 3)
TZ = "Asia/Ho_Chi_Minh"


def ticks(n: int, day: dt.date = DAY, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    open_ = pd.Timestamp(f"{day} 09:15", tz=TZ)
    return pd.DataFrame(
        {
            "ts": open_ + pd.to_timedelta(np.sort(rng.integers(0, 4 * 3600 * 1000, n)), unit="ms"),
            "trading_date": day,
            "symbol": np.array(["FPT", "VNM", "HPG", "SSI", "E1VFVN30"])[rng.integers(0, 5, n)],
            "seq": np.arange(1, n + 1, dtype=np.int32),
            "price": rng.integers(1_000, 20_000, n) * 10,
            "volume": rng.integers(1, 100, n) * 100,
            "side": pd.Series(np.array(["B", "S", None], dtype=object)[rng.integers(0, 3, n)]),
            "session": "CONT",
        }
    ).pipe(with_running_total)


def with_running_total(frame: pd.DataFrame) -> pd.DataFrame:
    """The vendor-style running total of each symbol's volume, in seq order."""
    return frame.assign(cum_volume=frame.groupby(["trading_date", "symbol"])["volume"].cumsum())


def table_rows(conn: psycopg.Connection[Any], day: dt.date) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT ts, trading_date, symbol, seq, price, volume, side, session FROM market.raw_ticks"
        " WHERE trading_date = %s ORDER BY seq",
        (day,),
    ).fetchall()


def test_writing_a_partition_twice_gives_identical_contents(conn: psycopg.Connection[Any]) -> None:
    frame = ticks(5_000)
    other_day = ticks(100, day=NEXT, seed=1)
    write_partition(conn, "market.raw_ticks", other_day, NEXT, NEXT)
    assert write_partition(conn, "market.raw_ticks", frame, DAY, DAY) == 5_000
    first = table_rows(conn, DAY)
    assert write_partition(conn, "market.raw_ticks", frame, DAY, DAY) == 5_000
    assert table_rows(conn, DAY) == first
    assert len(first) == 5_000
    # the neighbouring partition is untouched
    assert len(table_rows(conn, NEXT)) == 100


def test_values_round_trip_exactly(conn: psycopg.Connection[Any]) -> None:
    frame = ticks(2_000, seed=3)
    write_partition(conn, "market.raw_ticks", frame, DAY, DAY)
    back = read_partition(conn, "market.raw_ticks", DAY, DAY).sort_values("seq", ignore_index=True)
    # tz-aware timestamps are the same instants, returned in market time
    assert (back["ts"] == frame["ts"]).all()
    assert str(back["ts"].dt.tz) == "Asia/Ho_Chi_Minh"
    assert back["symbol"].tolist() == frame["symbol"].tolist()
    assert back["price"].tolist() == frame["price"].tolist()
    assert back["side"].isna().tolist() == frame["side"].isna().tolist()
    assert back["side"].dropna().tolist() == frame["side"].dropna().tolist()
    assert set(back["trading_date"]) == {DAY}


def test_read_partition_filters_columns_and_symbols(conn: psycopg.Connection[Any]) -> None:
    write_partition(conn, "market.raw_ticks", ticks(500, seed=4), DAY, DAY)
    only = read_partition(conn, "market.raw_ticks", DAY, DAY, columns=["symbol", "price"], symbols=["FPT"])
    assert list(only.columns) == ["symbol", "price"]
    assert set(only["symbol"]) == {"FPT"}
    counted = read_frame(
        conn, "SELECT count(*) AS n FROM market.raw_ticks WHERE symbol = %s AND trading_date = %s", ("FPT", DAY)
    )
    assert counted["n"].iloc[0] == len(only)


def test_a_read_in_chunks_is_the_read_in_one_piece(conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch):
    """Rows are converted a chunk at a time; a column NULL throughout the first chunk and set later (side) still
    comes back as one read would give it, and the rows are all there, in order."""
    frame = ticks(1_000, seed=5)
    frame.loc[:399, "side"] = None
    write_partition(conn, "market.raw_ticks", frame, DAY, DAY)
    query = "SELECT seq, side, price FROM market.raw_ticks WHERE trading_date = %s ORDER BY seq"
    whole = read_frame(conn, query, (DAY,))
    monkeypatch.setattr(reads, "FETCH_ROWS", 150)
    chunked = read_frame(conn, query, (DAY,))
    pd.testing.assert_frame_equal(chunked, whole)
    assert chunked["side"].iloc[:400].isna().all() and chunked["side"].iloc[400:].notna().any()


def test_read_partition_within_another_table_keeps_only_its_rows(conn: psycopg.Connection[Any]) -> None:
    bars = pd.DataFrame({"trading_date": [DAY, DAY, NEXT], "symbol": ["FPT", "VNM", "FPT"], "reason": "halt"})
    write_partition(conn, "market.untraded", bars.iloc[[0, 2]], DAY, NEXT)
    write_partition(conn, "market.raw_ticks", ticks(300, seed=6), DAY, DAY)
    inside = read_partition(conn, "market.raw_ticks", DAY, NEXT, within="market.untraded")
    assert set(inside["symbol"]) == {"FPT"} and set(inside["trading_date"]) == {DAY}
    assert len(inside) == (ticks(300, seed=6)["symbol"] == "FPT").sum()


def test_constraint_violation_after_many_good_rows_keeps_previous_contents(
    conn: psycopg.Connection[Any],
) -> None:
    good = ticks(3_000, seed=5)
    write_partition(conn, "market.raw_ticks", good, DAY, DAY)
    before = table_rows(conn, DAY)
    bad = ticks(300_000, seed=6)  # > one encoder chunk, so good rows reach the server first
    bad.loc[len(bad) - 1, "session"] = None  # NOT NULL violation in the very last row
    with pytest.raises(psycopg.errors.NotNullViolation):
        write_partition(conn, "market.raw_ticks", bad, DAY, DAY)
    assert table_rows(conn, DAY) == before


def test_check_violation_rolls_back(conn: psycopg.Connection[Any]) -> None:
    bars = pd.DataFrame(
        {
            "trading_date": [DAY] * 3,
            "symbol": ["FPT", "VNM", "HPG"],
            "open": [1, 2, 3],
            "high": [1, 2, 3],
            "low": [1, 2, 3],
            "close": [1, 2, 3],
            "volume": [10, 20, 30],
            "value": [10, 40, 90],
            "source": ["ticks", "ticks", "ticks"],
        }
    )
    write_partition(conn, "market.ohlcv_1d", bars, DAY, DAY)
    broken = bars.assign(source=["ticks", "ticks", "made_up"])  # violates the CHECK on source
    with pytest.raises(psycopg.errors.CheckViolation):
        write_partition(conn, "market.ohlcv_1d", broken, DAY, DAY)
    assert read_partition(conn, "market.ohlcv_1d", DAY, DAY)["symbol"].tolist() == ["FPT", "VNM", "HPG"]


def test_python_exception_during_copy_keeps_previous_contents(conn: psycopg.Connection[Any]) -> None:
    write_partition(conn, "market.raw_ticks", ticks(1_000, seed=7), DAY, DAY)
    before = table_rows(conn, DAY)
    frame = ticks(1_000, seed=8)
    original = binary_copy.encode

    def failing_encode(frame: pd.DataFrame, oids: list[int], **kwargs: Any) -> Any:
        # A real encoder stream that breaks after its first chunk has been sent to the server.
        chunks = original(frame, oids, **kwargs)
        assert chunks is not None
        yield next(chunks)
        yield next(chunks)
        raise RuntimeError("source iterator failed mid-copy")

    binary_copy.encode = failing_encode  # type: ignore[assignment]
    try:
        with pytest.raises(RuntimeError, match="mid-copy"):
            write_partition(conn, "market.raw_ticks", frame, DAY, DAY)
    finally:
        binary_copy.encode = original  # type: ignore[assignment]
    assert table_rows(conn, DAY) == before


def test_unknown_column_and_rows_outside_window_are_refused(conn: psycopg.Connection[Any]) -> None:
    frame = ticks(10)
    with pytest.raises(PartitionWriteError, match=r"market\.raw_ticks.*'colour'"):
        write_partition(conn, "market.raw_ticks", frame.assign(colour="red"), DAY, DAY)
    with pytest.raises(PartitionWriteError, match=r"outside \[2024-01-03, 2024-01-03\]"):
        write_partition(conn, "market.raw_ticks", frame, NEXT, NEXT)
    naive = frame.assign(ts=frame["ts"].dt.tz_localize(None))
    with pytest.raises(PartitionWriteError, match="naive"):
        write_partition(conn, "market.raw_ticks", naive, DAY, DAY)


def test_nullable_and_python_typed_columns(conn: psycopg.Connection[Any]) -> None:
    """pandas NA / None / NaN become NULL; datetime64 dates, nullable Int64 and floats are accepted."""
    bars = pd.DataFrame(
        {
            "trading_date": pd.to_datetime([DAY, DAY]),  # datetime64 instead of python dates
            "symbol": ["FPT", "VNM"],
            "open": [100, 200],
            "high": [110, 210],
            "low": [90, 190],
            "close": [105, 205],
            "volume": [1_000, 2_000],
            "value": [105_000, 410_000],
            "vwap": [105.5, np.nan],
            "trade_count": pd.array([7, None], dtype="Int64"),
            "buy_volume": [600.0, np.nan],  # float holding integers (what pandas makes of int + NaN)
            "source": ["ticks", "daily_bars"],
        }
    )
    write_partition(conn, "market.ohlcv_1d", bars, DAY, DAY)
    rows = conn.execute(
        "SELECT symbol, vwap, trade_count, buy_volume FROM market.ohlcv_1d WHERE trading_date = %s ORDER BY 1",
        (DAY,),
    ).fetchall()
    assert rows == [("FPT", 105.5, 7, 600), ("VNM", None, None, None)]


def test_quarantine_jsonb_rows(conn: psycopg.Connection[Any]) -> None:
    rows = [
        {
            "trading_date": DAY,
            "source_table": "market.raw_ticks",
            "symbol": "FPT",
            "rule": "prices_on_tick_grid",
            "detail": f"price {p} is not a multiple of 100",
            "row_data": {"price": p, "seq": i, "nested": {"ok": False}},
        }
        for i, p in enumerate([96_550, 96_650])
    ]
    assert write_quarantine(conn, rows) == 2
    conn.commit()
    got = conn.execute(
        "SELECT row_data FROM market.quarantine WHERE rule = 'prices_on_tick_grid' ORDER BY row_data->>'seq'"
    ).fetchall()
    assert [r[0] for r in got][-2:] == [row["row_data"] for row in rows]


def test_fast_encoder_matches_row_by_row_copy(conn: psycopg.Connection[Any]) -> None:
    """The vectorised encoder and psycopg's write_row must store exactly the same rows."""
    frame = ticks(3_000, seed=9)
    write_partition(conn, "market.raw_ticks", frame, DAY, DAY)
    fast = table_rows(conn, DAY)
    oids = [20 if c in ("price", "volume") else 0 for c in frame.columns]  # any unsupported oid → fallback
    assert binary_copy.encode(frame, [*oids[:-1], 1700]) is None
    original = binary_copy.encode
    binary_copy.encode = lambda frame, oids, **kwargs: None  # type: ignore[assignment]
    try:
        write_partition(conn, "market.raw_ticks", frame, DAY, DAY)
    finally:
        binary_copy.encode = original  # type: ignore[assignment]
    assert table_rows(conn, DAY) == fast


def test_all_null_text_column_is_written_as_nulls(conn: psycopg.Connection[Any]) -> None:
    """Listings without any sector (vendor files carry none) must load, not crash the encoder."""
    listings = pd.DataFrame(
        {
            "trading_date": [DAY, DAY],
            "symbol": ["FPT", "VNM"],
            "exchange": ["HOSE", "HOSE"],
            "instrument_type": ["stock", "stock"],
            "sector": [None, None],
            "reference_price": [100_000, 60_000],
            "ceiling_price": [107_000, 64_200],
            "floor_price": [93_000, 55_800],
            "first_day": [False, False],
        }
    )
    assert write_partition(conn, "market.listings", listings, DAY, DAY) == 2
    rows = conn.execute(
        "SELECT symbol, sector FROM market.listings WHERE trading_date = %s ORDER BY 1", (DAY,)
    ).fetchall()
    assert rows == [("FPT", None), ("VNM", None)]


def test_a_tick_stamped_outside_its_trading_day_is_refused(conn: psycopg.Connection[Any]) -> None:
    """The rewrite deletes by trading_date and by ts (chunk exclusion on hypertables), so a row whose ts lies
    outside its trading day would survive a re-run: it must never get in."""
    frame = ticks(10)
    frame.loc[3, "ts"] = pd.Timestamp(f"{NEXT} 09:30", tz=TZ)
    with pytest.raises(PartitionWriteError, match=r"raw_ticks: 1 row\(s\) have ts outside"):
        write_partition(conn, "market.raw_ticks", frame, DAY, DAY)


def test_a_trade_cannot_be_stored_twice(conn: psycopg.Connection[Any]) -> None:
    """The vendor's running total identifies a trade: the same trade twice in one write is refused whole, and
    what was stored stays."""
    frame = ticks(50, seed=5)
    assert write_partition(conn, "market.raw_ticks", frame, DAY, DAY) == 50
    stored = table_rows(conn, DAY)
    doubled = pd.concat([frame, frame.iloc[[7]].assign(seq=10_000)], ignore_index=True)
    with pytest.raises(PartitionWriteError, match=r"1 row\(s\) repeat the key .*cum_volume"):
        write_partition(conn, "market.raw_ticks", doubled, DAY, DAY)
    assert table_rows(conn, DAY) == stored
