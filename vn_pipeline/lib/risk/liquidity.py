"""Liquidity risk: how many trading days it takes to exit a position without being most of the market.

Traded value is in VND (close × volume, or the bars' ``value`` column). ADV = average daily traded value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ADV_WINDOW = 20


def traded_value(close: pd.DataFrame, volume: pd.DataFrame) -> pd.DataFrame:
    """Daily traded value panel (dates × symbols) as close × volume, for feeds without a value column."""
    return close.astype(float) * volume.astype(float)


def average_daily_value(value_panel: pd.DataFrame, window: int = ADV_WINDOW) -> pd.DataFrame:
    """Trailing mean daily traded value over the last ``window`` rows up to and including each day.

    Point-in-time: row D uses rows D - window + 1 .. D only. A NaN cell counts as a day with nothing traded
    (0), because a panel pivoted from daily bars has no row for a day nobody traded the name; this makes a
    freshly listed name look illiquid until it has ``window`` days, which errs on the safe side. The first
    ``window - 1`` rows of the panel are NaN: the window is not full yet.
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    return value_panel.astype(float).fillna(0.0).rolling(window, min_periods=window).mean()


def days_to_exit(position_value: pd.Series, adv_value: pd.Series, participation: float = 0.2) -> pd.Series:
    """|position value| / (participation × ADV) per symbol: trading days to sell out at that share of volume.

    Indexed like ``position_value``. inf where the ADV is 0, NaN or missing (the position cannot be exited at
    any participation); 0 for an empty position; NaN for an unknown position value.
    """
    if not 0.0 < participation <= 1.0:
        raise ValueError(f"participation must be in (0, 1], got {participation}")
    size = position_value.astype(float).abs()
    capacity = participation * adv_value.astype(float).reindex(size.index)
    capacity = capacity.where(capacity > 0)  # 0 or negative ADV: no exit capacity, same as unknown
    days = (size / capacity).mask(capacity.isna() & size.notna(), np.inf)
    return days.mask(size == 0, 0.0)


def foreign_room_usage(room: pd.Series, foreign_limit: pd.Series, shares_outstanding: pd.Series) -> pd.Series:
    """Fraction of the foreign ownership cap already used, per symbol: foreign-held / (limit × outstanding)
    = 1 − room / (limit × outstanding), with ``room`` the shares foreigners may still buy and ``foreign_limit``
    a fraction (0.49, 0.30 for banks, 1.0).

    Indexed like ``room``. NaN where the room, the limit or the outstanding shares are unknown or the cap is 0 (no
    foreign ownership allowed: usage undefined), never a guess. Not clipped: a vendor's negative room (foreign
    ownership above the cap, which happens after a cap is lowered) gives a usage above 1, and that is the fact.
    """
    room = room.astype(float)
    cap = foreign_limit.astype(float).reindex(room.index) * shares_outstanding.astype(float).reindex(room.index)
    return (1.0 - room / cap.where(cap > 0)).rename("foreign_room_usage")
