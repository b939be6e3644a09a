"""Versioned SQL migrations (``sql/NNN_name.sql``), each applied once, under an advisory lock."""

from __future__ import annotations

import hashlib
import re
from importlib import resources
from typing import Any

import psycopg
from psycopg import sql

from vn_pipeline.lib.warehouse.connection import connect

# Arbitrary but fixed: every process migrating this database serialises on the same key.
_LOCK_KEY = 0x766E5F706970  # "vn_pip"
_NAME = re.compile(r"^(\d{3,})_[a-z0-9_]+(\.timescale)?\.sql$")


def migration_files() -> list[tuple[str, str, bool]]:
    """``(version, sql_text, needs_timescale)`` in apply order: each plain file, then its timescale twin."""
    folder = resources.files("vn_pipeline.lib.warehouse") / "sql"
    names = sorted(p.name for p in folder.iterdir() if _NAME.match(p.name))
    # Sort key: the plain file first, then its .timescale twin, then the next number.
    names.sort(key=lambda n: (n.removesuffix(".sql").removesuffix(".timescale"), n.endswith(".timescale.sql")))
    return [
        (name.removesuffix(".sql"), (folder / name).read_text(encoding="utf-8"), name.endswith(".timescale.sql"))
        for name in names
    ]


class MigrationChanged(RuntimeError):
    """A migration file differs from the one applied to this database: its schema would silently stay old."""


def checksum(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def timescale_available(conn: psycopg.Connection[Any]) -> bool:
    return conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'").fetchone() is not None


def migrate(conn_or_url: psycopg.Connection[Any] | str | None = None) -> list[str]:
    """Apply pending migrations; return the versions applied now (empty when up to date).

    Every migration runs in its own transaction together with its ``schema_migrations`` row, so a failing
    file leaves no half-applied state. The whole run holds a session-level advisory lock: a second process
    waits, then finds everything applied. ``*.timescale.sql`` files run only when the timescaledb extension
    is available on the server; they are recorded as their own versions, so installing TimescaleDB later
    and re-running ``migrate`` upgrades an existing database.
    """
    if isinstance(conn_or_url, psycopg.Connection):
        return _migrate(conn_or_url)
    with connect(conn_or_url) as conn:
        return _migrate(conn)


def _migrate(conn: psycopg.Connection[Any]) -> list[str]:
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        conn.commit()  # a session lock taken inside a caller's open transaction would be confusing
    conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
    conn.commit()
    try:
        with conn.transaction():
            conn.execute(
                "CREATE TABLE IF NOT EXISTS public.schema_migrations ("
                " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            # ALTER takes an exclusive lock even when the column exists: only on a database from before checksums
            has_checksum = conn.execute(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = 'public'"
                " AND table_name = 'schema_migrations' AND column_name = 'checksum'"
            ).fetchone()
            if not has_checksum:
                conn.execute("ALTER TABLE public.schema_migrations ADD COLUMN checksum text")
        applied = dict(conn.execute("SELECT version, checksum FROM public.schema_migrations").fetchall())
        conn.commit()
        _check_unchanged(conn, applied)
        with_timescale = timescale_available(conn)
        conn.commit()
        done: list[str] = []
        for version, text, needs_timescale in migration_files():
            if version in applied or (needs_timescale and not with_timescale):
                continue
            with conn.transaction():
                if needs_timescale:
                    conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
                conn.execute(sql.SQL(text))  # type: ignore[arg-type]  # trusted file shipped with the package
                conn.execute(
                    "INSERT INTO public.schema_migrations (version, checksum) VALUES (%s, %s)",
                    (version, checksum(text)),
                )
            done.append(version)
        return done
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
        conn.commit()


def _check_unchanged(conn: psycopg.Connection[Any], applied: dict[str, str | None]) -> None:
    """Refuse to go on when an applied file was edited since; record the checksums a database predating them
    lacks (the files as they are now are the best record there is)."""
    files = {version: text for version, text, _ in migration_files()}
    changed = sorted(v for v, known in applied.items() if known and v in files and checksum(files[v]) != known)
    if changed:
        raise MigrationChanged(
            f"migration file(s) {changed} differ from what this database applied: never edit an applied migration, "
            "add a new one (or recreate the database)"
        )
    with conn.transaction():
        for version, known in applied.items():
            if known is None and version in files:
                conn.execute(
                    "UPDATE public.schema_migrations SET checksum = %s WHERE version = %s",
                    (checksum(files[version]), version),
                )
