"""Databases of their own on the session's server, for tests whose rows must not meet another test's."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import psycopg
from psycopg import sql

from vn_pipeline.lib.warehouse.connection import ensure_database


def fresh_database(server_url: str, prefix: str = "vn_pipeline_test") -> tuple[str, str]:
    """Create an empty database next to ``server_url``'s; return (name, url)."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    return name, ensure_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextlib.contextmanager
def own_database(server_url: str, prefix: str) -> Iterator[str]:
    """A fresh database's URL, dropped afterwards."""
    name, url = fresh_database(server_url, prefix)
    try:
        yield url
    finally:
        drop_database(server_url, name)
