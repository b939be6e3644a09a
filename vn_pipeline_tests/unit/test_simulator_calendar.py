"""The simulator past the officially announced calendar years: it runs, simulates only up to the day asked for, and
extending its day list never changes a day already simulated."""

import datetime as dt

import numpy as np

from vn_pipeline.lib.market.calendar import OFFICIAL_THROUGH, trading_days
from vn_pipeline.lib.sources.simulator.daily import DailyPath
from vn_pipeline.lib.sources.simulator.market import MarketSimulator, SimulatorConfig
from vn_pipeline.lib.sources.simulator.universe import universe_frame

GENESIS = dt.date(2026, 1, 5)


def _sim() -> MarketSimulator:
    # A seed no other test uses: the daily path is shared per (seed, genesis, universe) inside the process.
    return MarketSimulator(SimulatorConfig(seed=2027, n_symbols=3, genesis=GENESIS))


def test_a_window_in_2027_simulates_only_up_to_its_end() -> None:
    sim = _sim()
    bars = sim.daily_bars(dt.date(2027, 2, 1), dt.date(2027, 3, 1))
    expected = trading_days(dt.date(2027, 2, 1), dt.date(2027, 3, 1))
    assert sorted(set(bars["trading_date"])) == expected and dt.date(2027, 2, 8) not in expected  # Tết 2027
    path = sim._path
    assert len(path.records) == len(trading_days(GENESIS, dt.date(2027, 3, 1)))  # nothing after 1 March simulated
    assert path.days[-1] == dt.date(2027, 12, 31)  # the day list grew by the year asked for, not to a fixed horizon
    assert path.days[: len(trading_days(GENESIS, OFFICIAL_THROUGH))] == trading_days(GENESIS, OFFICIAL_THROUGH)


def test_extending_into_later_years_leaves_earlier_days_unchanged() -> None:
    # Two independent paths (not the shared per-config one): one grows its day list to 2031 before it simulates June.
    window = (dt.date(2026, 6, 1), dt.date(2026, 6, 30))
    plain = DailyPath(universe_frame("full"), 3, 2028, GENESIS).window(*window)
    grown = DailyPath(universe_frame("full"), 3, 2028, GENESIS)
    assert grown.index_of(dt.date(2031, 6, 3)) == len(trading_days(GENESIS, dt.date(2031, 6, 2)))
    again = grown.window(*window)
    assert [r.day for r in again] == [r.day for r in plain] == trading_days(*window)
    for a, b in zip(plain, again, strict=True):
        assert (
            np.array_equal(a.close, b.close)
            and np.array_equal(a.volume, b.volume)
            and np.array_equal(a.reference, b.reference)
        )
