"""Benchmark index levels for the simulated market."""

from __future__ import annotations

from datetime import date

import pandas as pd

from vn_pipeline.lib.market.indices import cap_weighted_index
from vn_pipeline.lib.sources.simulator.market import MarketSimulator
from vn_pipeline.lib.sources.simulator.universe import vn30
from vn_pipeline.lib.warehouse.columns import ROW_KEY


def simulated_vn30(simulator: MarketSimulator, end: date) -> pd.DataFrame:
    """VN30 levels from the simulator's start to ``end``. The constituents are fixed (the real list of the
    simulator's universe; no semi-annual review), weighted by shares outstanding and grown by stock dividends."""
    members = vn30()[["symbol", "shares_outstanding"]].set_index("symbol")["shares_outstanding"]
    start = simulator.config.genesis
    listed = simulator.listings(start, end)
    listed = listed[listed["symbol"].isin(members.index)][["trading_date", "symbol", "reference_price"]]
    bars = simulator.daily_bars(start, end)
    bars = bars[bars["symbol"].isin(members.index)].merge(listed, on=list(ROW_KEY))
    actions = simulator.corporate_actions(start, end)
    return cap_weighted_index(bars, members, actions)
