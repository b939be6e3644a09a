"""Vietnamese trading rules for the daily-bar backtester, and the per-day masks they imply.

Timing convention: a target-weight row dated D is decided after D's close, so its orders fill on the *next* bar
(D+1) at the configured price -- never at a price observed before the decision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vn_pipeline.lib.market.exchanges import BOARD_LOT
from vn_pipeline.lib.market.fees import DEFAULT_FEES
from vn_pipeline.lib.market.settlement import SETTLEMENT_LAG

FILLS = ("next_open", "vwap", "close")


@dataclass(frozen=True)
class Rules:
    buy_fee: float = DEFAULT_FEES.buy_fee
    sell_fee: float = DEFAULT_FEES.sell_fee
    sale_tax: float = DEFAULT_FEES.sale_tax
    lot: int = BOARD_LOT
    # Shares bought on day F arrive around midday of F+2 and are sellable in that afternoon ("T+2.5").
    settlement_days: int = SETTLEMENT_LAG
    # "next_open" = D+1 open (ATO), "vwap" = D+1 VWAP, "close" = D+1 close (ATC).
    fill: str = "next_open"
    # Bonus shares of a stock dividend are credited at the ex-date but only trade once listed, typically three to
    # five weeks later; until then they cannot be sold. 20 sessions is an assumption, not an exchange rule.
    bonus_lock_days: int = 20

    def __post_init__(self) -> None:
        if self.fill not in FILLS:
            raise ValueError(f"fill must be one of {FILLS}, got {self.fill!r}")
        if self.lot < 1 or self.settlement_days < 0 or self.bonus_lock_days < 0:
            raise ValueError("lot must be >= 1, settlement_days >= 0 and bonus_lock_days >= 0")

    @property
    def min_hold_bars(self) -> int:
        """Bars between a buy fill and the first allowed sell fill of the same shares.

        Shares are sellable from the afternoon of F + settlement_days. A close (ATC) fill happens in the afternoon,
        so the first sell is at the close of F+2. Open (ATO) fills happen in the morning, before the shares arrive,
        so the first sell is the open of F+3. A VWAP fill averages the whole day including the morning, so it is
        treated conservatively like an open fill (F+3).
        """
        return self.settlement_days if self.fill == "close" else self.settlement_days + 1


def fill_price_panel(bars: dict[str, np.ndarray], fill: str) -> np.ndarray:
    """Price at which an order *executed on a bar* fills (the caller shifts decisions by one bar)."""
    return {"next_open": bars["open"], "vwap": bars["vwap"], "close": bars["close"]}[fill]


def share_factor_panel(bars: dict[str, np.ndarray]) -> np.ndarray:
    """Shares held after each bar's corporate actions per share held before (1 + ratio on a stock dividend's
    ex-date); 1 everywhere when ``bars`` has no ``share_factor`` panel."""
    factor = bars.get("share_factor")
    if factor is None:
        return np.ones(np.shape(bars["close"]))
    factor = np.asarray(factor, dtype=float)
    if not (np.isfinite(factor) & (factor > 0)).all():
        raise ValueError("share_factor must be finite and positive (1 on days without a corporate action)")
    return factor


def cash_credit_panel(bars: dict[str, np.ndarray]) -> np.ndarray:
    """VND credited in cash per share held before each bar's corporate actions (cash dividends, and the value of
    unknown events and rights, see engine.py); 0 everywhere when ``bars`` has no ``cash_credit`` panel."""
    credit = bars.get("cash_credit")
    if credit is None:
        return np.zeros(np.shape(bars["close"]))
    credit = np.asarray(credit, dtype=float)
    if not (np.isfinite(credit) & (credit >= 0)).all():
        raise ValueError("cash_credit must be finite and >= 0 (0 on days without a corporate action)")
    return credit


def tradable_masks(bars: dict[str, np.ndarray], fill: str) -> tuple[np.ndarray, np.ndarray]:
    """(can_buy, can_sell) per bar and symbol.

    'Locked' is defined per fill price, because only the auction/time that produces the fill matters:
    - next_open: the ATO printed at the ceiling (open >= ceiling) means excess demand at the limit -> no buy;
      open <= floor -> no sell.
    - close / vwap: the fill price is at the limit AND the whole day traded at one price (high == low), i.e. the
      stock was locked all session -> no buy at the ceiling / no sell at the floor. A stock that merely touched or
      closed at the limit with a range (high > low) is considered fillable.
    A bar with zero/NaN volume (suspended, no trade) or a NaN fill price allows neither side, and so does a fill
    price outside the day's [floor, ceiling]: no trade prints there, so it is a vendor error (real CafeF history
    has a few hundred such bars), not a price anyone could have dealt at.
    """
    price = fill_price_panel(bars, fill)
    volume = bars["volume"]
    outside = (price > bars["ceiling"]) | (price < bars["floor"])  # NaN limits compare False: unknown is not out
    active = np.isfinite(price) & np.isfinite(volume) & (volume > 0) & (price > 0) & ~outside
    at_ceiling = price >= bars["ceiling"]  # NaN ceiling compares False -> no lock assumed
    at_floor = price <= bars["floor"]
    if fill != "next_open":
        one_price = bars["high"] <= bars["low"]
        at_ceiling &= one_price
        at_floor &= one_price
    return active & ~at_ceiling, active & ~at_floor
