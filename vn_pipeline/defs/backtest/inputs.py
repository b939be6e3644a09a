"""The configuration every backtest shares: its window and trading costs (what it reads: lib/backtest/inputs.py)."""

from datetime import date
from typing import Literal

import dagster as dg

from vn_pipeline.defs.resources import WarehouseResource
from vn_pipeline.lib.backtest import Rules
from vn_pipeline.lib.backtest.inputs import trading_window
from vn_pipeline.lib.market.fees import DEFAULT_FEES


class BacktestConfig(dg.Config):
    """Window and trading costs shared by every backtest. The window defaults to the span of the stored
    out-of-sample predictions, so the ML book and its baselines are compared over the same days; without
    predictions, to the span of the daily bars."""

    start: str | None = None
    end: str | None = None
    fill: Literal["next_open", "vwap", "close"] = "next_open"  # the price of the day after the signal
    init_cash: float = 1_000_000_000.0
    buy_fee: float = DEFAULT_FEES.buy_fee
    sell_fee: float = DEFAULT_FEES.sell_fee
    sale_tax: float = DEFAULT_FEES.sale_tax
    bonus_lock_days: int = 20  # sessions from a stock dividend's ex-date until its bonus shares can be sold

    def rules(self) -> Rules:
        return Rules(buy_fee=self.buy_fee, sell_fee=self.sell_fee, sale_tax=self.sale_tax, fill=self.fill,
                     bonus_lock_days=self.bonus_lock_days)  # fmt: skip

    @classmethod
    def rules_of_run(cls, params: dict) -> Rules:
        """The rules a stored run was configured with (its params are a config that extends this one)."""
        return cls(**{k: v for k, v in params.items() if k in cls.model_fields}).rules()

    def trading_window(self, warehouse: WarehouseResource) -> tuple[date, date]:
        with warehouse.connect() as conn:
            return trading_window(conn, self.start, self.end)
