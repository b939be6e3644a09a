"""CafeF end-of-day exports as a ``MarketSource``: a folder of ``<SYMBOL>/PriceHistory.csv`` and
``<SYMBOL>/GDKhoiNgoai.csv`` (the layout of ``shared/data/vn_real/cafef``).

It provides, for every trading day the files cover, the listings (board per day inferred from the prices where
the vendor's company list cannot say, see cafef_listings.py), the daily bars and the foreign flows. Each rejected
row, and each row dated on a day the exchange did not trade, goes to the warehouse's quarantine with its file,
line and rule.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
from datetime import date, datetime
from functools import cached_property, lru_cache
from pathlib import Path

import pandas as pd

from vn_pipeline.lib.market.calendar import is_trading_day
from vn_pipeline.lib.sources.protocol import Dataset, ListingBatch, TickBatch
from vn_pipeline.lib.sources.vendors.cafef_adjustments import corporate_actions_from_adjustment
from vn_pipeline.lib.sources.vendors.cafef_files import (
    FLOW_COLUMNS,
    PRICE_COLUMNS,
    read_cafef_foreign_flows,
    read_cafef_prices,
)
from vn_pipeline.lib.sources.vendors.cafef_listings import listings_from_prices, read_companies
from vn_pipeline.lib.sources.vendors.cafef_proprietary import read_cafef_proprietary_flows
from vn_pipeline.lib.sources.vendors.csv_text import REJECTED_COLUMNS, as_quarantine, concat_rejected
from vn_pipeline.lib.sources.vendors.index_files import (
    IndexLevels,
    combine_index_files,
    read_cafef_index,
    read_index_file,
)
from vn_pipeline.lib.warehouse import columns

PRICES_FILE = "PriceHistory.csv"
FLOWS_FILE = "GDKhoiNgoai.csv"
PROPRIETARY_FILE = "GDTuDoanh.csv"
_TABLES: dict[Dataset, str] = {
    "daily_bars": "market.daily_bars",
    "foreign_flows": "market.foreign_flows",
    "proprietary_flows": "market.proprietary_flows",
}
_DERIVED: frozenset[Dataset] = frozenset({"listings", "corporate_actions"})  # read off the prices, nothing rejected
# Not a stock: the vendor's market index, in points, with market-wide flows.
INDEX_FOLDER = "VNINDEX"
_NOT_STOCKS = {INDEX_FOLDER}


class CafefSource:
    name = "cafef"
    provides = frozenset({*_DERIVED, *_TABLES, "index_levels"})

    def __init__(self, directory: Path, index_dir: Path | None = None) -> None:
        if not directory.is_dir():
            raise FileNotFoundError(f"CafeF data dir {directory} does not exist (set VN_PIPELINE_DATA_DIR)")
        if index_dir is not None and not index_dir.is_dir():
            raise FileNotFoundError(f"index dir {index_dir} does not exist (VN_PIPELINE_INDEX_DIR)")
        self.directory = directory
        self.index_dir = index_dir

    @cached_property
    def symbols(self) -> list[str]:
        return stock_symbols(self.directory)

    @property
    def metadata(self) -> dict[str, object]:
        index_dir = None if self.index_dir is None else str(self.index_dir)
        return {
            "source": self.name,
            "data_dir": str(self.directory),
            "index_dir": index_dir,
            "symbols": len(self.symbols),
        }

    def listings(self, start: date, end: date) -> ListingBatch | None:
        rows = _in_window(self._listings, start, end)
        inferred = sorted(set(rows.loc[rows["exchange_inferred"], "symbol"]))
        shown = ", ".join(inferred[:20]) + (f" and {len(inferred) - 20} more" if len(inferred) > 20 else "")
        note = f"board inferred from the prices (the company list gives today's only) for {len(inferred)}: {shown}"
        return ListingBatch(rows, warnings=(note,) if inferred else ())

    def ticks(self, start: date, end: date) -> TickBatch | None:
        return None  # end-of-day files carry no trades

    def daily_bars(self, start: date, end: date) -> pd.DataFrame:
        return _in_window(self._prices[0], start, end)[[*columns.DAILY_BARS, *columns.DAILY_BAR_EXTRAS]]

    def foreign_flows(self, start: date, end: date) -> pd.DataFrame:
        return _in_window(self._flows[0], start, end)[list(FLOW_COLUMNS)]

    def proprietary_flows(self, start: date, end: date) -> pd.DataFrame:
        return _in_window(self._proprietary[0], start, end)[list(columns.PROPRIETARY_FLOWS)]

    def quarantined(self, dataset: Dataset, start: date, end: date) -> pd.DataFrame | None:
        """The window's rows of ``dataset`` the source could not use, in the quarantine layout."""
        if dataset == "index_levels":
            return self._index_levels.quarantine(start, end)
        if dataset not in _TABLES:
            return None
        rejected = {"daily_bars": self._prices, "foreign_flows": self._flows, "proprietary_flows": self._proprietary}[
            dataset
        ][1]
        return as_quarantine(_in_window(rejected, start, end), _TABLES[dataset])

    def corporate_actions(self, start: date, end: date) -> pd.DataFrame:
        """Events read off the change of the vendor's adjusted/raw close ratio (cafef_adjustments.py)."""
        return _in_window(self._actions, start, end)

    def index_levels(self, start: date, end: date) -> pd.DataFrame:
        """VNINDEX from the CafeF folder, then the index files: a later file only adds days the earlier lack, and
        a level it prints otherwise is quarantined (``conflicting_duplicate``), never mixed in."""
        return self._index_levels.between(start, end)

    @cached_property
    def _prices(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        return _read_all(self.directory, self.symbols, PRICES_FILE, read_cafef_prices, PRICE_COLUMNS)

    @cached_property
    def _listings(self) -> pd.DataFrame:
        return listings_from_prices(self._prices[0], read_companies(self.directory), self._actions)

    @cached_property
    def _actions(self) -> pd.DataFrame:
        return corporate_actions_from_adjustment(self._prices[0])

    @cached_property
    def _index_levels(self) -> IndexLevels:
        parts: list[tuple[Path, IndexLevels]] = []
        own = self.directory / INDEX_FOLDER / PRICES_FILE
        if own.exists():
            parts.append((own, read_cafef_index(own, INDEX_FOLDER)))
        if self.index_dir is not None:
            parts.extend((p, read_index_file(p)) for p in sorted(self.index_dir.glob("*.csv")))
        return combine_index_files(parts, by_file_name=False)

    @cached_property
    def _flows(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        return _read_all(self.directory, self.symbols, FLOWS_FILE, read_cafef_foreign_flows, FLOW_COLUMNS)

    @cached_property
    def _proprietary(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        return _read_all(
            self.directory, self.symbols, PROPRIETARY_FILE, read_cafef_proprietary_flows, columns.PROPRIETARY_FLOWS
        )


def open_cafef(directory: Path, index_dir: Path | None = None) -> CafefSource:
    """The source of a folder, shared by the steps of a process while none of its files changes: the steps of an
    in-process run (and the yearly runs of a backfill) parse the folder once, not once each. One folder is kept."""
    return _shared(directory, index_dir, _fingerprint(directory, index_dir))


def close_cafef() -> None:
    """Drop the shared source: a backfill's later stages read the warehouse, not the folder, and the parsed
    folder is the largest thing a full-market process holds (about 2.3 GB for 1,600 tickers × 25 years)."""
    _shared.cache_clear()
    gc.collect()
    # The parsed folder is millions of small objects (dates, symbols): glibc keeps their freed pages in its heap
    # unless asked, and a process that freed 2 GB would still hold them through the features.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


@lru_cache(maxsize=1)
def _shared(directory: Path, index_dir: Path | None, fingerprint: tuple) -> CafefSource:
    return CafefSource(directory, index_dir)


def _fingerprint(directory: Path, index_dir: Path | None) -> tuple:
    """Every file's path, size and modification time: a file rewritten in place is a new folder."""
    paths = sorted(directory.glob("*/*.csv")) + (sorted(index_dir.glob("*.csv")) if index_dir else [])
    return tuple((str(p), stat.st_size, stat.st_mtime_ns) for p in paths for stat in [p.stat()])


def stock_symbols(directory: Path) -> list[str]:
    """The folder's symbols: every <SYMBOL>/PriceHistory.csv but the vendor's index."""
    return sorted(p.parent.name for p in directory.glob(f"*/{PRICES_FILE}") if p.parent.name not in _NOT_STOCKS)


def covered_days(directory: Path) -> tuple[date, date]:
    """First and last date any stock file of the folder holds, from each file's first and last rows only (files
    are sorted one way or the other): the window a run over the whole history asks for, without reading it."""
    days: list[date] = []
    for symbol in stock_symbols(directory):
        for line in _edge_rows(directory / symbol / PRICES_FILE):
            try:
                days.append(datetime.strptime(line.split(",", 1)[0], "%d/%m/%Y").date())
            except ValueError:
                continue  # a malformed edge row: the parser reports it; the window comes from the others
    if not days:
        raise FileNotFoundError(f"no <SYMBOL>/{PRICES_FILE} with a dated row in {directory}")
    return min(days), max(days)


def _edge_rows(path: Path, tail_bytes: int = 4096) -> list[str]:
    """The first and the last data row of a CSV file, reading its head and its last few KB only."""
    with path.open("rb") as f:
        f.readline()  # header
        first = f.readline()
        f.seek(max(0, f.seek(0, 2) - tail_bytes))
        tail = [row for row in f.read().splitlines() if row.strip()]
    rows = [first, tail[-1]] if first.strip() and tail else []
    return [r.decode("utf-8-sig", errors="replace") for r in rows]


def _read_all(
    directory: Path, symbols: list[str], name: str, read, layout: tuple[str, ...]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every symbol's file parsed, with the rows dated on a non-trading day moved to the rejected ones; no symbol
    with the file (a folder without proprietary flows) is no rows, not an error."""
    parsed = [read(directory / symbol / name, symbol) for symbol in symbols if (directory / symbol / name).exists()]
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in layout})
    rows = pd.concat([p[0] for p in parsed], ignore_index=True) if parsed else empty
    rejected = concat_rejected([p[1] for p in parsed])
    closed = ~rows["trading_date"].map(is_trading_day).to_numpy(dtype=bool)  # an array: empty rows select rows
    if closed.any():
        rejected = pd.concat([rejected, _closed_day_rows(directory, name, rows[closed])], ignore_index=True)
    return rows[~closed].reset_index(drop=True), rejected[list(REJECTED_COLUMNS)]


def _closed_day_rows(directory: Path, name: str, rows: pd.DataFrame) -> pd.DataFrame:
    """Rows the vendor dated on a weekend or holiday (BDT 2025-05-04): no session, so no bar to store."""
    return pd.DataFrame(
        {
            "file": [str(directory / s / name) for s in rows["symbol"]],
            "line": None,
            "trading_date": rows["trading_date"].to_numpy(),
            "symbol": rows["symbol"].to_numpy(),
            "rule": "not_a_trading_day",
            "reason": "dated on a weekend or exchange holiday: no session that day",
            "row_data": [
                {k: (v.isoformat() if isinstance(v, date) else v) for k, v in r.items()}
                for r in rows.astype(object).to_dict("records")
            ],
        }
    )


def _in_window(frame: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    day = frame["trading_date"]
    return frame[day.notna() & (day >= start) & (day <= end)].reset_index(drop=True)
