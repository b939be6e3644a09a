"""A bad vendor file never replaces what the warehouse holds by nothing: the stored rows of the symbol-days none
of whose files could be used (a batch's ``kept``) go back into the window that is rewritten, with their
quarantine records."""

from __future__ import annotations

from typing import Any

import pandas as pd
import psycopg

from vn_pipeline.lib.market_data.tick_rules import TickValidation
from vn_pipeline.lib.sources.protocol import TickBatch
from vn_pipeline.lib.sources.vendors.landing import FILE_RULES
from vn_pipeline.lib.warehouse.columns import ROW_KEY
from vn_pipeline.lib.warehouse.quarantine import read_quarantine
from vn_pipeline.lib.warehouse.reads import read_symbol_days


def with_kept(conn: psycopg.Connection[Any], table: str, frame: pd.DataFrame, kept: pd.DataFrame) -> pd.DataFrame:
    """``frame`` plus the stored rows of ``table`` for the ``kept`` symbol-days."""
    if kept.empty:
        return frame
    stored = read_symbol_days(conn, table, kept, columns=list(frame.columns))
    return pd.concat([frame, stored], ignore_index=True) if len(stored) else frame


def kept_quarantine(conn: psycopg.Connection[Any], kept: pd.DataFrame) -> pd.DataFrame:
    """The stored raw-tick quarantine records of the ``kept`` symbol-days, which stay with their kept ticks (file
    records are made anew by the landing scan, so they are left out)."""
    if kept.empty:
        return pd.DataFrame()
    stored = read_quarantine(conn, "market.raw_ticks", min(kept["trading_date"]), max(kept["trading_date"]))
    keys = pd.MultiIndex.from_frame(stored[list(ROW_KEY)])
    mine = keys.isin(pd.MultiIndex.from_frame(kept[list(ROW_KEY)])) & ~stored["rule"].isin(FILE_RULES)
    return stored[mine].assign(source_table="market.raw_ticks")


def ticks_to_write(
    conn: psycopg.Connection[Any], batch: TickBatch, checked: TickValidation
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ticks and the quarantine records a batch's window is rewritten with: the trades that passed the
    rules plus the kept days' stored trades; the batch's file and row rejections, the rule breaks, and the kept
    days' stored records."""
    found = [q for q in (batch.quarantined, checked.quarantined, kept_quarantine(conn, batch.kept)) if len(q)]
    quarantined = pd.concat(found, ignore_index=True) if found else checked.quarantined
    return with_kept(conn, "market.raw_ticks", checked.good, batch.kept), quarantined
