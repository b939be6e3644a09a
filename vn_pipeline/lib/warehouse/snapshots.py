"""ops.landing_snapshots: the landing files one run reads, fixed when its first step takes them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from vn_pipeline.lib.sources.vendors.landing import LandingFile


def run_snapshot(
    conn: psycopg.Connection[Any], run_id: str, take: Callable[[], list[LandingFile]]
) -> list[LandingFile]:
    """The run's snapshot: the one stored for ``run_id``, or ``take()`` stored now when there is none.
    Concurrent first steps of one run serialize on the run id, so they agree on one snapshot."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"landing_snapshot:{run_id}",))
        row = conn.execute("SELECT files FROM ops.landing_snapshots WHERE run_id = %s", (run_id,)).fetchone()
        if row is not None:
            return [
                LandingFile(Path(f["path"]), date.fromisoformat(f["trading_date"]), f["mtime_ns"], f["bytes"],
                            f["dated_by_mtime"])
                for f in row[0]
            ]  # fmt: skip
        files = take()
        manifest = [
            {"path": str(f.path), "trading_date": f.trading_date.isoformat(), "bytes": f.size,
             "mtime_ns": f.mtime_ns, "dated_by_mtime": f.dated_by_mtime}
            for f in files
        ]  # fmt: skip
        conn.execute("INSERT INTO ops.landing_snapshots (run_id, files) VALUES (%s, %s)", (run_id, Jsonb(manifest)))
        return files
