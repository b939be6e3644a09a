"""Real Dagster instances for tests, stored as vn-pipeline stores its own: in PostgreSQL (a fresh database on
the session's server), with materialization events written in batches."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import dagster as dg
import psycopg
from psycopg import sql

from vn_pipeline.instance import batch_events
from vn_pipeline.lib.warehouse.connection import ensure_database


@contextlib.contextmanager
def postgres_instance(warehouse_url: str, home: str | None = None) -> Iterator[dg.DagsterInstance]:
    name = f"dagster_test_{uuid.uuid4().hex[:8]}"
    storage = ensure_database(warehouse_url, name)
    batch_events()
    try:
        with dg.instance_for_test(
            overrides={"storage": {"postgres": {"postgres_url": storage}}}, temp_dir=home
        ) as instance:
            yield instance
    finally:
        with psycopg.connect(warehouse_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
