"""The one protocol every market-data source implements: for a window of trading days, each dataset in the
warehouse's column layouts (``lib/warehouse/columns.py``), and which datasets the source provides at all.

Assets call a source without knowing which it is; adding a vendor means adding a class. A dataset a source
does not provide is not an empty frame: the asset leaves what the warehouse holds for the window alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal, Protocol

import pandas as pd

from vn_pipeline.lib.warehouse.columns import ROW_KEY

Dataset = Literal[
    "listings", "daily_bars", "ticks", "foreign_flows", "proprietary_flows", "corporate_actions", "index_levels"
]  # fmt: skip
DATASETS: tuple[Dataset, ...] = (
    "listings", "daily_bars", "ticks", "foreign_flows", "proprietary_flows", "corporate_actions", "index_levels",
)  # fmt: skip


@dataclass(frozen=True)
class TickBatch:
    """A window's trades and what could not be stored of them.

    ``first_day`` is the first day the batch covers (a simulator makes ticks only for its recent days);
    ``origins`` names the file and line of each trade for vendor sources; ``kept`` lists the symbol-days whose
    every file was unusable, for which the warehouse keeps what it holds instead of storing nothing."""

    ticks: pd.DataFrame
    first_day: date
    quarantined: pd.DataFrame = field(default_factory=pd.DataFrame)
    origins: pd.Series | None = None
    kept: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(ROW_KEY)))
    incomplete: dict[str, int] = field(default_factory=dict)
    quarantined_files: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ListingBatch:
    """A window's listings, the symbol-days to keep from the warehouse, and notes for the person running it."""

    listings: pd.DataFrame
    kept: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(ROW_KEY)))
    warnings: tuple[str, ...] = ()


class MarketSource(Protocol):
    name: str
    provides: frozenset[Dataset]

    @property
    def metadata(self) -> dict[str, object]:
        """What a run read, for its materializations' metadata (e.g. the landing files of its snapshot)."""
        ...

    def listings(self, start: date, end: date) -> ListingBatch | None:
        """None when the source has nothing for the window (a vendor whose files have not landed)."""
        ...

    def daily_bars(self, start: date, end: date) -> pd.DataFrame: ...

    def ticks(self, start: date, end: date) -> TickBatch | None:
        """None when the source has no trades for any day of the window."""
        ...

    def foreign_flows(self, start: date, end: date) -> pd.DataFrame: ...

    def proprietary_flows(self, start: date, end: date) -> pd.DataFrame:
        """Broker own-account buy and sell volume and value (``columns.PROPRIETARY_FLOWS``); called only when
        "proprietary_flows" is in ``provides`` (few vendors have it)."""
        ...

    def corporate_actions(self, start: date, end: date) -> pd.DataFrame:
        """Stock dividends with their ex-date as ``trading_date``."""
        ...

    def index_levels(self, start: date, end: date) -> pd.DataFrame: ...

    def quarantined(self, dataset: Dataset, start: date, end: date) -> pd.DataFrame | None:
        """The window's rows of a daily dataset the source could not use (``market.quarantine`` layout); None when
        the source rejects nothing of it, so the window's stored quarantine records are left alone."""
        ...
