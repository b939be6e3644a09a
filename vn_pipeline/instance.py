"""The Dagster instance that `vn-pipeline demo`, `ui` and the CLI share: runs, events and schedules in PostgreSQL
on the warehouse's own server (database ``<warehouse>_dagster``), as in the compose deployment.

Why not Dagster's SQLite default: a single-run backfill of 500 trading days records one event per asset and
partition, and SQLite stores them one transaction at a time (~14 ms each: minutes per demo). dagster-postgres
writes a run's materializations as one batch insert (``DAGSTER_EVENT_BATCH_SIZE``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from psycopg import conninfo

from vn_pipeline.lib.paths import state_dir

STORAGE_ENV = "VN_PIPELINE_DAGSTER_STORAGE_URL"
EVENT_BATCH_SIZE = "1000"  # events per insert; Dagster batches only when this is set
MANAGED = "# Written by vn-pipeline: edit freely after deleting this line, and it is left alone.\n"


def storage_config(postgres_url: str | dict[str, str]) -> dict[str, dict]:
    """dagster.yaml's storage sections: dagster-postgres for runs and schedules, its event log with planned check
    evaluations serialized once per run (vn_pipeline/dagster_storage.py) for events."""
    classes = {
        "run_storage": ("dagster_postgres.run_storage", "PostgresRunStorage"),
        "event_log_storage": ("vn_pipeline.dagster_storage", "EventLogStorage"),
        "schedule_storage": ("dagster_postgres.schedule_storage", "PostgresScheduleStorage"),
    }
    return {
        section: {"module": module, "class": name, "config": {"postgres_url": postgres_url}}
        for section, (module, name) in classes.items()
    }


_CONFIG = (
    MANAGED
    + f"""\
# Runs and events live in PostgreSQL beside the warehouse; vn-pipeline sets {STORAGE_ENV} (bare `dagster`
# commands on this home need it too: `export {STORAGE_ENV}=$(vn-pipeline db url --dagster)`).
"""
    + "".join(
        f"{section}:\n  module: {c['module']}\n  class: {c['class']}\n  config:\n    postgres_url:\n"
        f"      env: {STORAGE_ENV}\n"
        for section, c in storage_config("").items()
    )
    + "telemetry:\n  enabled: false\n"
)
_OLD_DEFAULT = "telemetry:\n  enabled: false\n"  # what earlier versions wrote: SQLite storage, replaced


def storage_url() -> str:
    """The Dagster storage database on the warehouse's server, created on first use."""
    from vn_pipeline.lib.warehouse import database_url
    from vn_pipeline.lib.warehouse.connection import ensure_database

    warehouse = database_url()
    return ensure_database(warehouse, f"{conninfo.conninfo_to_dict(warehouse)['dbname']}_dagster")


def batch_events() -> None:
    """Store a run's materialization events in batches (a read of os.environ by Dagster at each event)."""
    os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", EVENT_BATCH_SIZE)


def dagster_home() -> str:
    """``DAGSTER_HOME`` when set, else ``<state dir>/dagster``; its dagster.yaml is ours unless someone edited it."""
    home = Path(os.environ.get("DAGSTER_HOME") or state_dir() / "dagster")
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    current = config.read_text() if config.exists() else None
    ours = current is None or current == _OLD_DEFAULT or current.startswith(MANAGED)
    if ours and current != _CONFIG:
        config.write_text(_CONFIG)
    if ours and not os.environ.get(STORAGE_ENV):
        os.environ[STORAGE_ENV] = storage_url()
    batch_events()
    os.environ["DAGSTER_HOME"] = str(home)
    return str(home)


@contextlib.contextmanager
def one_planned_event_per_asset() -> Iterator[None]:
    """Within this block, a run over many partitions plans each asset with one event for the whole range
    instead of one per partition (Dagster's DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS). The price, which
    Dagster documents: if such a run fails, its partitions are not marked failed (the run is)."""
    key = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"
    before = os.environ.get(key)
    os.environ[key] = "true"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = before
