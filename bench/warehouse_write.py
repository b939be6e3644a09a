"""Partition-write throughput: write_partition vs a bare psycopg binary COPY vs pandas.to_sql.

All three write the same synthetic raw_ticks rows into market.raw_ticks (with its indexes) of a scratch
database ``vn_pipeline_bench`` on the same server (the embedded one unless VN_PIPELINE_DATABASE_URL is set),
truncating in between. The last line printed is one JSON object.

    .venv/bin/python bench/warehouse_write.py [--rows 1000000] [--to-sql-rows 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from vn_pipeline.lib.market.timezone import VN_TZ_NAME
from vn_pipeline.lib.warehouse import binary_copy, database_url, migrate, sqlalchemy_url, write_partition

DAY = dt.date(2024, 1, 2)
BENCH_DB = "vn_pipeline_bench"


def synthetic_ticks(n: int, seed: int = 0) -> pd.DataFrame:
    """~1,600 symbols, a 4-hour session, 1/3 of prints without an aggressor side — like a real day."""
    rng = np.random.default_rng(seed)
    symbols = np.array([f"S{i:03d}" for i in range(1_600)])
    ticks = pd.DataFrame(
        {
            "ts": pd.Timestamp(f"{DAY} 09:15", tz=VN_TZ_NAME)
            + pd.to_timedelta(np.sort(rng.integers(0, 4 * 3600 * 1000, n)), unit="ms"),
            "trading_date": DAY,
            "symbol": symbols[rng.integers(0, len(symbols), n)],
            "seq": np.arange(1, n + 1, dtype=np.int32),
            "price": rng.integers(1_000, 20_000, n) * 10,
            "volume": rng.integers(1, 100, n) * 100,
            "side": pd.Series(np.array(["B", "S", None], dtype=object)[rng.integers(0, 3, n)]),
            "session": np.array(["ATO", "CONT", "ATC"])[rng.integers(0, 3, n)],
        }
    )
    ticks["cum_volume"] = ticks.groupby("symbol")["volume"].cumsum()
    return ticks


def bench_url() -> str:
    server = database_url()
    with psycopg.connect(server, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (BENCH_DB,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DB)))
    return urlsplit(server)._replace(path=f"/{BENCH_DB}").geturl()


def timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--to-sql-rows", type=int, default=100_000)
    args = parser.parse_args()

    url = bench_url()
    migrate(url)
    frame = synthetic_ticks(args.rows)
    results = {}
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS public.raw_ticks_noindex (LIKE market.raw_ticks)")
        conn.commit()
        for table in ("market.raw_ticks", "public.raw_ticks_noindex"):
            results[table] = run_copy_pair(conn, table, frame)
    to_sql_rate = run_to_sql(url, frame.iloc[: args.to_sql_rows])

    n = len(frame)
    print(f"rows: {n:,} synthetic ticks (1,600 symbols); to_sql on the first {args.to_sql_rows:,}")
    for table, r in results.items():
        print(f"{table}:")
        print(
            f"  write_partition       {r['write_partition']:>10,.0f} rows/s  (client-side encode {r['encode_s']:.2f} s)"
        )
        print(f"  write_partition again {r['rewrite']:>10,.0f} rows/s  (DELETE of the same day + COPY)")
        print(f"  bare COPY write_row   {r['bare_copy']:>10,.0f} rows/s  (rows prepared beforehand)")
    print(f"pandas.to_sql (default method, psycopg2) into market.raw_ticks: {to_sql_rate:,.0f} rows/s")
    main_r = results["market.raw_ticks"]
    print(
        json.dumps(
            {
                "rows": n,
                "to_sql_rows": args.to_sql_rows,
                "rows_per_s": {
                    "write_partition": round(main_r["write_partition"]),
                    "bare_copy": round(main_r["bare_copy"]),
                    "to_sql": round(to_sql_rate),
                },
                "copy_over_write_partition": round(main_r["bare_copy"] / main_r["write_partition"], 3),
                "write_partition_over_to_sql": round(main_r["write_partition"] / to_sql_rate, 1),
                "no_index_table": {
                    "write_partition": round(results["public.raw_ticks_noindex"]["write_partition"]),
                    "bare_copy": round(results["public.raw_ticks_noindex"]["bare_copy"]),
                    "write_partition_over_to_sql": round(
                        results["public.raw_ticks_noindex"]["write_partition"] / to_sql_rate, 1
                    ),
                },
            }
        )
    )


def run_copy_pair(conn: psycopg.Connection[Any], table: str, frame: pd.DataFrame) -> dict[str, float]:
    schema, name = table.split(".")
    target = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(name))
    columns = list(frame.columns)
    oids = [
        r[0]
        for r in conn.execute(
            "SELECT atttypid::int FROM pg_attribute WHERE attrelid = to_regclass(%s)"
            " AND attname = ANY(%s) ORDER BY array_position(%s, attname::text)",
            (table, columns, columns),
        )
    ]
    # (b) bare COPY: the same rows as Python tuples, prepared beforehand (not timed).
    rows = list(binary_copy.python_rows(frame, oids))
    copy_stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        target, sql.SQL(", ").join(map(sql.Identifier, columns))
    )

    def truncate() -> None:
        conn.execute(sql.SQL("TRUNCATE {}").format(target))
        conn.commit()
        conn.execute("CHECKPOINT")  # every method starts from the same clean state
        conn.commit()

    def bare_copy() -> None:
        with conn.cursor() as cur, cur.copy(copy_stmt) as copy:
            copy.set_types(oids)
            for row in rows:
                copy.write_row(row)
        conn.commit()

    n = len(frame)
    truncate()
    t_copy = timed(bare_copy)
    truncate()
    t_write = timed(lambda: write_partition(conn, table, frame, DAY, DAY))
    t_rewrite = timed(lambda: write_partition(conn, table, frame, DAY, DAY))
    truncate()
    encode_s = timed(lambda: list(binary_copy.encode(frame, oids) or []))
    return {
        "write_partition": n / t_write,
        "rewrite": n / t_rewrite,
        "bare_copy": n / t_copy,
        "encode_s": encode_s,
    }


def run_to_sql(url: str, small: pd.DataFrame) -> float:
    """(c) pandas.to_sql with its default method (executemany of INSERTs) through SQLAlchemy + psycopg2."""
    from sqlalchemy import create_engine

    with psycopg.connect(url) as conn:
        conn.execute("TRUNCATE market.raw_ticks")
    engine = create_engine(sqlalchemy_url(url))
    try:
        seconds = timed(lambda: small.to_sql("raw_ticks", engine, schema="market", if_exists="append", index=False))
    finally:
        engine.dispose()
    with psycopg.connect(url) as conn:
        conn.execute("TRUNCATE market.raw_ticks")
    return len(small) / seconds


if __name__ == "__main__":
    main()
