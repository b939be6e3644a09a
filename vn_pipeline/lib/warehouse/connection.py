"""Where the warehouse is, and how to connect to it."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

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
