"""Shared fixtures. The warehouse fixtures run against a REAL PostgreSQL: the embedded server (started in a
per-session temporary VN_PIPELINE_HOME) or, when VN_PIPELINE_DATABASE_URL is set, that server."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from vn_pipeline_tests.databases import drop_database, fresh_database
from vn_pipeline_tests.real_data import require_in_ci


def pytest_configure(config: pytest.Config) -> None:
    require_in_ci()


def server_home() -> Path:
    """A fresh directory for an embedded server's state.

    Not pytest's tmp_path: when we run as root the server runs as an unprivileged user that must traverse
    the path's ancestors, and every pytest process starting up (another session, each xdist worker)
    resets /tmp/pytest-of-root to mode 0700 — which would break a server living below it.
    """
    return Path(tempfile.mkdtemp(prefix="vn_pipeline_test_"))


@pytest.fixture(scope="session")
def warehouse_url() -> Iterator[str]:
    """URL of a fresh, migrated database for this test session."""
    from vn_pipeline.lib.warehouse import EmbeddedPostgres, migrate

    external = os.environ.get("VN_PIPELINE_DATABASE_URL", "").strip()
    embedded: EmbeddedPostgres | None = None
    with pytest.MonkeyPatch.context() as mp:
        if external:
            server_url = external
        else:
            home = server_home()
            mp.setenv("VN_PIPELINE_HOME", str(home))
            embedded = EmbeddedPostgres(home=home)
            server_url = embedded.ensure_running()
        name, url = fresh_database(server_url)
        migrate(url)
        try:
            yield url
        finally:
            if embedded is not None:
                embedded.stop()
                shutil.rmtree(embedded.home, ignore_errors=True)
            else:
                drop_database(server_url, name)


@pytest.fixture
def conn(warehouse_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection to the session's warehouse database (rolled back / closed after the test)."""
    with psycopg.connect(warehouse_url) as connection:
        yield connection
        connection.rollback()
