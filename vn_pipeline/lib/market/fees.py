"""Trading costs: brokerage per side plus the 0.1% personal income tax on sale value (VN_MARKET.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import numpy as np

V = TypeVar("V", float, np.ndarray)


@dataclass(frozen=True)
class Fees:
    """Cost rates as fractions of traded value. Defaults are the backtest defaults in VN_MARKET.md."""

    buy_fee: float = 0.0015
    sell_fee: float = 0.0015
    sale_tax: float = 0.001

    def __post_init__(self) -> None:
        for name in ("buy_fee", "sell_fee", "sale_tax"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")

    def buy_cost(self, value: V) -> V:
        """Brokerage on a purchase of `value` VND."""
        return value * self.buy_fee

    def sell_cost(self, value: V) -> V:
        """Brokerage plus sale tax on a sale of `value` VND."""
        return value * (self.sell_fee + self.sale_tax)

    @property
    def round_trip_rate(self) -> float:
        return self.buy_fee + self.sell_fee + self.sale_tax


DEFAULT_FEES = Fees()
