"""Migrations against the real server: applied once, idempotent, safe when two processes race."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import psycopg
import pytest

from vn_pipeline.lib.warehouse import migrate
from vn_pipeline.lib.warehouse.migrations import MigrationChanged, checksum, migration_files, timescale_available
from vn_pipeline_tests.databases import fresh_database


def _expected_versions(conn: psycopg.Connection[Any]) -> list[str]:
    with_ts = timescale_available(conn)
    return [v for v, _, needs_ts in migration_files() if with_ts or not needs_ts]


def test_migrations_applied_once_and_idempotent(warehouse_url: str, conn: psycopg.Connection[Any]) -> None:
    recorded = [r[0] for r in conn.execute("SELECT version FROM public.schema_migrations ORDER BY version")]
    assert recorded == sorted(_expected_versions(conn))
    assert "001_market" in recorded
    assert migrate(warehouse_url) == []
    assert migrate(conn) == []
    again = [r[0] for r in conn.execute("SELECT version FROM public.schema_migrations ORDER BY version")]
    assert again == recorded
    tables = {
        r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'market'")
    }
    assert {"listings", "raw_ticks", "ohlcv_1m", "ohlcv_1d", "foreign_flows", "quarantine"} <= tables


_CHILD = """
import json, sys, time
from vn_pipeline.lib.warehouse import migrate
url, start_at = sys.argv[1], float(sys.argv[2])
while time.time() < start_at:  # start both migrations at the same instant
    time.sleep(0.001)
print(json.dumps(migrate(url)))
"""


def test_concurrent_migrate_from_two_processes(warehouse_url: str) -> None:
    import time

    _, url = fresh_database(warehouse_url)
    start_at = str(time.time() + 1.5)  # after both interpreters have imported the package
    procs = [
        subprocess.Popen([sys.executable, "-c", _CHILD, url, start_at], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        results.append(json.loads(out.strip().splitlines()[-1]))
    with psycopg.connect(url) as conn:
        expected = _expected_versions(conn)
        recorded = [r[0] for r in conn.execute("SELECT version FROM public.schema_migrations ORDER BY version")]
    # one process applied everything, the other waited on the advisory lock and found nothing to do
    assert sorted(results, key=len) == [[], expected]
    assert recorded == sorted(expected)


def test_listing_foreign_cap_columns_are_nullable_and_checked(conn: psycopg.Connection[Any]) -> None:
    """011: shares_outstanding > 0 and foreign_limit a fraction in [0, 1], both NULL when the source lacks them."""
    insert = (
        "INSERT INTO market.listings (trading_date, symbol, exchange, reference_price, ceiling_price, floor_price,"
        " shares_outstanding, foreign_limit) VALUES ('2024-01-02', %s, 'HOSE', 10000, 10700, 9300, %s, %s)"
    )
    with conn.transaction(force_rollback=True):
        conn.execute(insert, ("AAA", None, None))
        conn.execute(insert, ("BBB", 1_000_000, 0.49))
        conn.execute(insert, ("CCC", 8_355_675_094, 1.0))
        for symbol, outstanding, limit in (("DDD", 0, 0.3), ("EEE", 1_000, 49.0), ("FFF", 1_000, -0.1)):
            with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():
                conn.execute(insert, (symbol, outstanding, limit))
    columns = dict(conn.execute(
        "SELECT column_name, is_nullable FROM information_schema.columns WHERE table_schema = 'risk'"
        " AND table_name = 'positions' AND column_name IN ('foreign_room', 'foreign_room_usage')"
    ).fetchall())  # fmt: skip
    assert columns == {"foreign_room": "YES", "foreign_room_usage": "YES"}


def test_an_applied_migration_that_changed_stops_migrate(warehouse_url: str) -> None:
    """A database records each file's checksum; one that applied another text of a file refuses to go on."""
    _, url = fresh_database(warehouse_url)
    migrate(url)
    files = {version: text for version, text, _ in migration_files()}
    with psycopg.connect(url) as conn:
        stored = dict(conn.execute("SELECT version, checksum FROM public.schema_migrations").fetchall())
        assert stored["001_market"] == checksum(files["001_market"])
        # a database from before checksums: recorded on the next migrate, nothing raised
        conn.execute("UPDATE public.schema_migrations SET checksum = NULL WHERE version = '004_ml'")
        conn.commit()
    assert migrate(url) == []
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT checksum FROM public.schema_migrations WHERE version = '004_ml'").fetchone() == (
            checksum(files["004_ml"]),
        )
        # what this database applied as 001 is not the file shipped now
        conn.execute("UPDATE public.schema_migrations SET checksum = %s WHERE version = '001_market'",
                     (checksum(files["001_market"] + "-- edited"),))  # fmt: skip
        conn.commit()
    with pytest.raises(MigrationChanged, match=r"\['001_market'\].*add a new one"):
        migrate(url)


def test_a_model_approved_before_014_keeps_its_approval_in_the_column(conn: psycopg.Connection[Any]) -> None:
    """014: the approval moves from metadata.extra.approved to ml.models.approved, its one home."""
    (text,) = [text for version, text, _ in migration_files() if version == "014_ml_model_approval"]
    backfill = text.split("DEFAULT false;", 1)[1]  # the UPDATE after the ALTER, as it runs on rows saved before 014
    insert = (
        "INSERT INTO ml.models (model_id, train_start, train_end, valid_end, data_end, metadata, model_text)"
        " VALUES (%s, '2024-01-02', '2024-03-01', '2024-04-01', '2024-04-05', %s, '')"
    )
    with conn.transaction(force_rollback=True):
        olds = {"old_yes": {"approved": True, "rank_ic_mean": 0.05}, "old_no": {"approved": False}, "never_gated": {}}
        for model_id, extra in olds.items():
            conn.execute(insert, (model_id, json.dumps({"extra": extra})))
        conn.execute(backfill)
        ids = ["old_yes", "old_no", "never_gated"]
        query = "SELECT model_id, approved, metadata -> 'extra' FROM ml.models WHERE model_id = ANY(%s)"
        rows = {r[0]: r[1:] for r in conn.execute(query, (ids,))}
    assert rows == {"old_yes": (True, {"rank_ic_mean": 0.05}), "old_no": (False, {}), "never_gated": (False, {})}
