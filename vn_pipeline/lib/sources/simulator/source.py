"""The deterministic simulator behind the source protocol: every dataset, ticks only from its intraday start."""

from __future__ import annotations

from datetime import date

import pandas as pd

from vn_pipeline.lib.market.calendar import trading_days
from vn_pipeline.lib.sources.protocol import DATASETS, Dataset, ListingBatch, TickBatch
from vn_pipeline.lib.sources.simulator.benchmarks import simulated_vn30
from vn_pipeline.lib.sources.simulator.market import MarketSimulator


class SimulatorSource:
    name = "simulator"
    # The simulated market has no broker own-account desks: proprietary flows are not made up.
    provides = frozenset(DATASETS) - {"proprietary_flows"}

    def __init__(self, simulator: MarketSimulator, first_intraday_day: date) -> None:
        self.simulator = simulator
        # earlier history comes as daily bars only, as vendor history does
        self.first_intraday_day = first_intraday_day

    @property
    def metadata(self) -> dict[str, object]:
        config = self.simulator.config
        return {"source": self.name, "seed": config.seed, "universe": config.universe}

    def listings(self, start: date, end: date) -> ListingBatch:
        return ListingBatch(self.simulator.listings(start, end))

    def daily_bars(self, start: date, end: date) -> pd.DataFrame:
        return self.simulator.daily_bars(start, end)

    def ticks(self, start: date, end: date) -> TickBatch | None:
        first = max(start, self.first_intraday_day)
        if first > end:
            return None
        ticks = pd.concat([self.simulator.ticks(day) for day in trading_days(first, end)], ignore_index=True)
        return TickBatch(ticks=ticks, first_day=first)

    def foreign_flows(self, start: date, end: date) -> pd.DataFrame:
        return self.simulator.foreign_flows(start, end)

    def proprietary_flows(self, start: date, end: date) -> pd.DataFrame:
        raise NotImplementedError(f"{self.name} provides no proprietary flows")

    def corporate_actions(self, start: date, end: date) -> pd.DataFrame:
        return self.simulator.corporate_actions(start, end).rename(columns={"ex_date": "trading_date"})

    def index_levels(self, start: date, end: date) -> pd.DataFrame:
        levels = simulated_vn30(self.simulator, end)
        return levels[levels["trading_date"] >= start].assign(index_code="VN30")

    def quarantined(self, dataset: Dataset, start: date, end: date) -> pd.DataFrame | None:
        return None  # a daily dataset of this source has no row to reject
