"""Risk limits read against stored daily summaries (risk.summary rows: trading_date, metric, value)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class LimitReading:
    breaches: pd.DataFrame  # the rows above the limit
    days_checked: int
    worst: float  # the largest value read (0 when there are no rows)


def read_limit(rows: pd.DataFrame, limit: float) -> LimitReading:
    """Which rows' ``value`` exceeds ``limit`` (values are losses or weights: larger is worse)."""
    return LimitReading(
        breaches=rows[rows["value"] > limit],
        days_checked=int(rows["trading_date"].nunique()),
        worst=float(rows["value"].max()) if len(rows) else 0.0,
    )


def drawdowns_as_losses(rows: pd.DataFrame) -> pd.DataFrame:
    """Drawdown rows as positive fractions (they are stored negative), to be read against a positive limit."""
    return rows.assign(value=-rows["value"])
