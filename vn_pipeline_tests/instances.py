"""Real Dagster instances for tests, stored as vn-pipeline stores its own: in PostgreSQL (a fresh database on
the session's server), with materialization events written in batches."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import dagster as dg

from vn_pipeline.instance import batch_events, storage_config
from vn_pipeline_tests.databases import own_database


@contextlib.contextmanager
def postgres_instance(warehouse_url: str, home: str | None = None) -> Iterator[dg.DagsterInstance]:
    batch_events()
    with (
        own_database(warehouse_url, "dagster_test") as storage,
        dg.instance_for_test(overrides=storage_config(storage), temp_dir=home) as instance,
    ):
        yield instance
