"""Where the warehouse is, and how to connect to it."""

from __future__ import annotations

import contextlib
import os
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import conninfo, sql

ENV_VAR = "VN_PIPELINE_DATABASE_URL"


def database_url() -> str:
    """``VN_PIPELINE_DATABASE_URL`` when set; otherwise the embedded server's URL (started or reused)."""
    url = os.environ.get(ENV_VAR, "").strip()
    if url:
        return url
    from vn_pipeline.lib.warehouse.embedded import EmbeddedPostgres  # lazy: only needed without a URL

    return EmbeddedPostgres().ensure_running()


def sqlalchemy_url(url: str) -> str:
    """The same database as a SQLAlchemy URL for psycopg2 (what dagster-postgres and pandas.to_sql use)."""
    for prefix in ("postgresql+psycopg2://", "postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url.split('@')[-1]!r}")  # never echo credentials


def masked(url: str) -> str:
    """``url`` with its password replaced by ``***``: the form a URL is printed, logged or shown in."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def connect(url: str | None = None, **kwargs: Any) -> psycopg.Connection[Any]:
    """A psycopg connection to ``url`` (default: ``database_url()``). Not autocommit: use transactions."""
    return psycopg.connect(url or database_url(), **kwargs)


def sibling_url(url: str, database: str) -> str:
    """A ``postgresql://`` URL of another database on ``url``'s server, with the same credentials (``url`` may
    be a URL or a key=value conninfo string; SQLAlchemy, and so dagster-postgres, takes URLs only)."""
    params = conninfo.conninfo_to_dict(url)
    user = quote(str(params.get("user", "")), safe="")
    password = f":{quote(str(params['password']), safe='')}" if params.get("password") else ""
    auth = f"{user}{password}@" if user else ""
    host = str(params.get("host", "127.0.0.1"))
    port = f":{params['port']}" if params.get("port") else ""
    options = {k: v for k, v in params.items() if k not in {"user", "password", "host", "port", "dbname"}}
    query = f"?{urlencode(options)}" if options else ""  # sslmode and the like carry over
    return f"postgresql://{auth}{host}{port}/{quote(database, safe='')}{query}"


def ensure_database(server_url: str, database: str) -> str:
    """Create ``database`` on ``server_url``'s server unless it exists; return its URL."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone() is None:
            # Two processes may race (demo and UI starting together): the loser finds it made, which is the goal.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    return sibling_url(server_url, database)
