"""A landing directory where vendor intraday files (vnstock format) are dropped for ingestion.

One bad file costs only itself: every file is parsed on its own, a file that cannot be trusted is quarantined
whole (a ``market.quarantine`` record naming the file and the rule) and the rest of the market flows on. A
symbol-day whose every file was quarantined keeps what the warehouse already holds for it (``kept``): a bad
file never replaces stored good data by nothing. Files of one symbol and day (``FRT.csv`` and a re-save
``FRT (1).csv``) are merged trade by trade on the vendor's running total, so a trade is stored once.

Daily history in the same format sits in a history folder (the layout of ``shared/data/vn_real/vnstock_vci``):
``stocks/<SYM>.csv`` become ``market.daily_bars`` rows flagged ``adjusted`` (the vendor's adjusted prices, not
quoted ones) and ``indices/*.csv`` become ``market.index_levels``; their rejected rows go to the quarantine with
file, line and rule. A dataset is provided only when its folder exists, so a landing directory of intraday files
alone leaves the stored daily bars and index levels as they are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from vn_pipeline.lib.market.calendar import last_trading_day_on_or_before
from vn_pipeline.lib.market.exchanges import is_valid_symbol, normalize_exchange, price_limits
from vn_pipeline.lib.market.timezone import VN_TZ
from vn_pipeline.lib.sources.protocol import Dataset, ListingBatch, TickBatch
from vn_pipeline.lib.sources.vendors.csv_text import VendorFileError, as_quarantine, concat_rejected, reject
from vn_pipeline.lib.sources.vendors.index_files import IndexLevels, read_index_dir
from vn_pipeline.lib.sources.vendors.vnstock_files import (
    DailyHistory,
    IntradayFile,
    read_daily_bars_dir,
    read_intraday_file,
)
from vn_pipeline.lib.warehouse import columns
from vn_pipeline.lib.warehouse.columns import ROW_KEY

# No listed stock has traded near 10 million VND a share: a reference price above it is a file priced in VND
# where thousands of VND were expected (171,000 kVND for FRT's 171.0).
MAX_PLAUSIBLE_PRICE_VND = 10_000_000
# The day's reference price moves from the previous close by the band (≤ 15%) or a corporate action (a 2-for-1
# stock dividend halves it): a factor of 5 either way is a unit error, never a market move.
MAX_REFERENCE_RATIO = 5.0
# Rules under which a whole file is quarantined (one record per file, not per row).
FILE_RULES = frozenset(
    {
        "unreadable_file", "file_too_large", "unreadable_header", "empty_file", "missing_columns", "no_rows",
        "no_valid_rows", "no_valid_trading_date", "no_valid_symbol", "implausible_price", "price_magnitude",
        "no_reference_price", "duplicate_file", "unexpected_error", "changed_during_run",
    }
)  # fmt: skip
# A file that repeats trades already landed is harmless once merged: reported, not a failure.
HARMLESS_FILE_RULES = frozenset({"duplicate_file"})
_DATE = re.compile(rb"\b(\d{2})/(\d{2})/(\d{4})\b")
_PEEK_BYTES = 64 * 1024
_NAMED_SYMBOL = re.compile(r"([A-Za-z0-9]{3,12})(?:[ _.(-].*)?")


@dataclass(frozen=True)
class LandingFile:
    path: Path
    trading_date: date
    mtime_ns: int
    size: int = 0
    dated_by_mtime: bool = False  # no date could be read from the file: attributed to the day it landed

    @property
    def key(self) -> str:
        """Identity of this version of the file: a file replaced in place is a new file to ingest."""
        return f"{self.path.name}@{self.mtime_ns}"


def peek_trading_date(path: Path) -> date | None:
    """The session date of a vendor file: the first dd/mm/yyyy date in its first 64 KiB, read as bytes so that
    no encoding error, ragged row or oversized cell can hide it; None when there is none."""
    with path.open("rb") as handle:
        head = handle.read(_PEEK_BYTES)
    for match in _DATE.finditer(head):
        day, month, year = (int(g) for g in match.groups())
        try:
            return date(year, month, day)
        except ValueError:
            continue
    return None


def scan_landing_dir(directory: Path) -> list[LandingFile]:
    """Every ``*.csv`` in ``directory`` with its trading date. A file whose date cannot be read is not skipped:
    it is attributed to the trading day of its modification time, so its run quarantines it and a check fails."""
    found: list[LandingFile] = []
    for path in sorted(directory.glob("*.csv")):
        try:
            stat = path.stat()
            day = peek_trading_date(path)
        except OSError:
            continue  # removed between the listing and the read: nothing landed
        if day is None:
            landed = last_trading_day_on_or_before(datetime.fromtimestamp(stat.st_mtime_ns / 1e9, VN_TZ).date())
            found.append(LandingFile(path, landed, stat.st_mtime_ns, stat.st_size, dated_by_mtime=True))
        else:
            found.append(LandingFile(path, day, stat.st_mtime_ns, stat.st_size))
    return found


def symbol_from_name(path: Path) -> str | None:
    """The symbol a file name gives (``FRT.csv``, ``FRT (1).csv``, ``frt_2026-02-24.csv`` → FRT), if any."""
    match = _NAMED_SYMBOL.fullmatch(path.stem)
    symbol = match.group(1).upper() if match else None
    return symbol if is_valid_symbol(symbol) else None


def infer_exchange(sessions: set[str], prices: list[int]) -> str:
    """Guess the exchange when a vendor file does not say. An ATO auction or a price off the 100-VND grid exists
    only on HOSE; an ATC auction without ATO is HNX; UPCoM has no auctions. A misread only ever widens the band
    checked (HOSE ±7% < HNX ±10% < UPCoM ±15%), so good trades are never rejected for it."""
    if "ATO" in sessions or any(p % 100 for p in prices):
        return "HOSE"
    return "HNX" if "ATC" in sessions else "UPCOM"


@dataclass
class LandedDay:
    """What a window's landed files give: listings, ticks (with the file and line of each), quarantined rows and
    files, and the symbol-days that keep their stored data because no file of theirs could be used."""

    listings: pd.DataFrame
    ticks: pd.DataFrame
    origins: pd.Series | None  # "file line N" per row of ``ticks`` (None: the source has no files)
    quarantined: pd.DataFrame  # market.quarantine layout
    kept: pd.DataFrame  # trading_date, symbol
    incomplete: dict[str, int] = field(default_factory=dict)  # "SYMBOL date" → shares the files do not carry
    quarantined_files: dict[str, str] = field(default_factory=dict)  # file → "rule: detail"


def land_files(
    files: list[LandingFile], exchanges: dict[str, str] | None = None, previous_closes: pd.DataFrame | None = None
) -> LandedDay:
    """Parse ``files`` one by one into listings and ticks.

    ``previous_closes`` (trading_date, symbol, close in VND) are the warehouse's stored closes: a file whose
    reference price is not within a factor of ``MAX_REFERENCE_RATIO`` of the symbol's last close before its
    day is quarantined (wrong units), as is one above ``MAX_PLAUSIBLE_PRICE_VND``.
    """
    records: list[dict] = []
    parsed: dict[tuple[date, str], list[IntradayFile]] = {}
    for landed in files:
        changed = _changed_since_listed(landed)
        if changed:
            records.append(_file_record(landed.path, landed.trading_date, symbol_from_name(landed.path),
                                        "changed_during_run", f"{landed.path}: {changed}"))  # fmt: skip
            continue
        try:
            f = read_intraday_file(landed.path)
        except VendorFileError as err:
            records.append(_file_record(landed.path, landed.trading_date, symbol_from_name(landed.path), err.rule,
                                        str(err)))  # fmt: skip
            continue
        except (ValueError, TypeError, KeyError, OSError) as err:  # a parser gap must not stop the market
            records.append(_file_record(landed.path, landed.trading_date, symbol_from_name(landed.path),
                                        "unexpected_error", f"{landed.path}: {type(err).__name__}: {err}"))  # fmt: skip
            continue
        parsed.setdefault((f.trading_date, f.symbol), []).append(f)

    closes = _last_close_before(list(parsed), previous_closes)
    listings, ticks, origins, rejected, incomplete = [], [], [], [], {}
    for (day, symbol), group in sorted(parsed.items()):
        merged, merge_rejects, merge_records = _merge(group)
        rejected += [f.rejected for f in group] + merge_rejects
        records += merge_records
        reference = next((f.reference_price for f in group if f.reference_price), None)
        problem = _price_problem(reference, closes.get((day, symbol)))
        if problem:
            records += [_file_record(f.path, day, symbol, problem[0], f"{f.path}: {problem[1]}") for f in group]
            continue
        frame, lines = merged
        known = (exchanges or {}).get(symbol)
        exchange = known or infer_exchange(set(frame["session"]), frame["price"].tolist())
        listings.append(_listing(day, symbol, exchange, reference, inferred=known is None))
        ticks.append(frame)
        origins.append(lines)
        missing = int(frame["cum_volume"].iloc[-1] - frame["volume"].sum())
        if missing:
            incomplete[f"{symbol} {day}"] = missing

    quarantined = pd.concat(
        [as_quarantine(concat_rejected(rejected), "market.raw_ticks"), pd.DataFrame(records)], ignore_index=True
    )
    landed = {(row["trading_date"], row["symbol"]) for row in listings}
    kept = {(r["trading_date"], r["symbol"]) for r in records if r["symbol"]} - landed
    return LandedDay(
        listings=pd.DataFrame(listings, columns=[*columns.LISTINGS, "exchange_inferred"]),
        ticks=pd.concat(ticks, ignore_index=True) if ticks else pd.DataFrame(columns=list(columns.RAW_TICKS)),
        origins=pd.Series(np.concatenate(origins) if origins else [], dtype=object),
        quarantined=quarantined.reindex(columns=list(columns.QUARANTINE)),
        kept=pd.DataFrame(sorted(kept), columns=list(ROW_KEY)),
        incomplete=incomplete,
        quarantined_files={r["row_data"]["file"]: f"{r['rule']}: {r['detail']}" for r in records},
    )


def _changed_since_listed(landed: LandingFile) -> str | None:
    """Why the file is no longer the one the run's snapshot listed (its next run ingests the new version)."""
    try:
        stat = landed.path.stat()
    except OSError:
        return "removed since the run listed it"
    if (stat.st_size, stat.st_mtime_ns) != (landed.size, landed.mtime_ns):
        return "replaced since the run listed it; the sensor's next run ingests the new version"
    return None


def _merge(group: list[IntradayFile]) -> tuple[tuple[pd.DataFrame, np.ndarray], list[pd.DataFrame], list[dict]]:
    """One symbol-day from its files: the fullest file first, then each other file's trades that it lacks.
    A trade is its running total; another file's row with the same total is a duplicate, or a conflict when
    its time, price or volume differ. A file with nothing new is recorded as a duplicate file."""
    group = sorted(group, key=lambda f: (-len(f.ticks), f.path.stem != f.symbol, f.path.name))
    frames, lines, rejects, records = [], [], [], []
    seen: dict[int, tuple[str, int, tuple]] = {}  # running total → (file, line, (ts, price, volume))
    for f in group:
        cum = f.ticks["cum_volume"].to_numpy()
        trades = list(zip(f.ticks["ts"], f.ticks["price"], f.ticks["volume"], strict=True))
        repeated = np.fromiter((int(c) in seen for c in cum), dtype=bool, count=len(cum))
        if frames and repeated.all():
            records.append(_file_record(f.path, f.trading_date, f.symbol, "duplicate_file",
                                        f"{f.path}: every trade is already in {seen[int(cum[0])][0]}"))  # fmt: skip
            continue
        same = np.array([r and seen[int(c)][2] == t for r, c, t in zip(repeated, cum, trades, strict=True)], bool)
        for rule, hit in (("duplicate_trade", repeated & same), ("conflicting_trade", repeated & ~same)):
            if hit.any():
                rows = f.ticks[hit].assign(line=f.lines[hit])
                part = reject(f.path, rows, rule, "", trading_date=f.trading_date, symbol=f.symbol)
                part["reason"] = [f"same running total as {seen[int(c)][0]} line {seen[int(c)][1]}" for c in cum[hit]]
                part["row_data"] = [json.loads(json.dumps(r, default=str)) for r in part["row_data"]]
                rejects.append(part)
        for i in np.flatnonzero(~repeated):
            seen[int(cum[i])] = (str(f.path), int(f.lines[i]), trades[i])
        frames.append(f.ticks[~repeated])
        lines.append(np.array([f"{f.path} line {n}" for n in f.lines[~repeated]], dtype=object))
    merged = pd.concat(frames, ignore_index=True)
    order = np.lexsort((merged["cum_volume"].to_numpy(), merged["ts"].to_numpy()))
    merged = merged.iloc[order].reset_index(drop=True)
    merged["seq"] = np.arange(len(merged), dtype="int32")
    return (merged, np.concatenate(lines)[order]), rejects, records


def _price_problem(reference: int | None, previous_close: int | None) -> tuple[str, str] | None:
    if reference is None:
        return "no_reference_price", "no row gives price − price_change, the day's reference price"
    if reference > MAX_PLAUSIBLE_PRICE_VND:
        return "implausible_price", (
            f"reference price {reference:,} VND is above {MAX_PLAUSIBLE_PRICE_VND:,}: prices in VND where "
            "thousands of VND are expected?"
        )
    if previous_close and not 1 / MAX_REFERENCE_RATIO <= reference / previous_close <= MAX_REFERENCE_RATIO:
        return "price_magnitude", (
            f"reference price {reference:,} VND is {reference / previous_close:,.4g}× the stored previous close "
            f"{previous_close:,} VND: wrong price unit?"
        )
    return None


def _last_close_before(keys: list[tuple[date, str]], closes: pd.DataFrame | None) -> dict[tuple[date, str], int]:
    """Each (day, symbol)'s last stored close strictly before that day."""
    if not keys or closes is None or closes.empty:
        return {}
    wanted = pd.DataFrame(keys, columns=list(ROW_KEY))
    wanted["when"] = pd.to_datetime(wanted["trading_date"])
    known = closes.assign(when=pd.to_datetime(closes["trading_date"]))[["when", "symbol", "close"]]
    found = pd.merge_asof(
        wanted.sort_values("when"), known.sort_values("when"), on="when", by="symbol", allow_exact_matches=False
    ).dropna(subset=["close"])
    return {(d, s): int(c) for d, s, c in zip(found["trading_date"], found["symbol"], found["close"], strict=True)}


def _listing(day: date, symbol: str, exchange: str, reference: int, inferred: bool) -> dict:
    floor, ceiling = price_limits(exchange, reference)
    return {
        "trading_date": day,
        "symbol": symbol,
        "exchange": exchange,
        "instrument_type": "stock",
        "sector": None,
        "reference_price": reference,
        "ceiling_price": ceiling,
        "floor_price": floor,
        "first_day": False,
        # vnstock files carry neither: NULL, so foreign-room usage stays unknown rather than guessed
        "shares_outstanding": None,
        "foreign_limit": None,
        "exchange_inferred": inferred,
    }


def _file_record(path: Path, day: date, symbol: str | None, rule: str, detail: str) -> dict:
    """A whole file in quarantine: its rule, and enough to find it again."""
    try:
        size = path.stat().st_size
    except OSError:
        size = None
    return {
        "trading_date": day,
        "source_table": "market.raw_ticks",
        "symbol": symbol,
        "rule": rule,
        "detail": detail,
        "row_data": {"file": str(path), "bytes": size, "level": "file"},
    }


EXCHANGES_FILE = "exchanges.json"  # {"FRT": "HOSE", ...}: the exchange of each symbol, when the vendor omits it


def known_exchanges(directory: Path) -> dict[str, str]:
    """The landing directory's symbol → exchange map, if one was dropped there with the files."""
    path = directory / EXCHANGES_FILE
    if not path.exists():
        return {}
    try:
        mapping = json.loads(path.read_text(encoding="utf-8"))
        return {str(symbol).upper(): normalize_exchange(str(exchange)) for symbol, exchange in mapping.items()}
    except (ValueError, AttributeError) as err:
        raise ValueError(f"{path}: expected a JSON object of symbol → HOSE/HNX/UPCOM ({err})") from err


STOCKS_DIR = "stocks"  # the history folder's daily bars, one <SYM>.csv per symbol
INDICES_DIR = "indices"  # the history folder's index files, <CODE>.csv (and vnstock's combined all_indices.csv)
_DAILY_TABLES: dict[Dataset, str] = {"daily_bars": "market.daily_bars", "index_levels": "market.index_levels"}


class LandingSource:
    """vnstock-format files as one run's snapshot of them: listings and ticks from the intraday files of the
    landing directory; daily bars and index levels from the ``stocks/`` and ``indices/`` folders of
    ``history_dir`` when they exist (the files carry no flows or corporate actions)."""

    name = "vnstock_files"

    def __init__(
        self,
        files: list[LandingFile],
        exchanges: dict[str, str],
        previous_closes: Callable[[date, date], pd.DataFrame],
        history_dir: Path | None = None,
    ) -> None:
        self.files = files
        self.exchanges = exchanges
        self.previous_closes = previous_closes
        self.history_dir = history_dir
        self.provides: frozenset[Dataset] = frozenset(
            {"listings", "ticks"} | {d for d, folder in self._history_folders().items() if folder.is_dir()}
        )

    def _history_folders(self) -> dict[Dataset, Path]:
        if self.history_dir is None:
            return {}
        return {"daily_bars": self.history_dir / STOCKS_DIR, "index_levels": self.history_dir / INDICES_DIR}

    @property
    def metadata(self) -> dict[str, object]:
        found: dict[str, object] = {
            "source": self.name,
            "snapshot_files": len(self.files),
            "snapshot_bytes": sum(f.size for f in self.files),
        }
        if self.history_dir is not None:
            found["history_dir"] = str(self.history_dir)
        if "daily_bars" in self.provides:
            # what the estimate is, where it is stored: the files carry no traded value
            found["daily_value"] = "estimated: volume × (open + high + low + close) / 4, adjusted prices"
        if "_daily" in self.__dict__ and self._daily.unreadable:  # known once the bars were read, never forced
            found["unreadable_daily_files"] = self._daily.unreadable
        return found

    def land(self, start: date, end: date) -> LandedDay | None:
        """The window's files parsed one by one (None when none landed). Each asset step builds its own source,
        so each parses the snapshot once."""
        files = [f for f in self.files if start <= f.trading_date <= end]
        return land_files(files, self.exchanges, self.previous_closes(start, end)) if files else None

    def listings(self, start: date, end: date) -> ListingBatch | None:
        landed = self.land(start, end)
        if landed is None:
            return None
        inferred = sorted(landed.listings.loc[landed.listings["exchange_inferred"], "symbol"])
        note = f"exchange inferred from the trades (add them to {EXCHANGES_FILE}): {inferred}"
        return ListingBatch(landed.listings, kept=landed.kept, warnings=(note,) if inferred else ())

    def ticks(self, start: date, end: date) -> TickBatch | None:
        landed = self.land(start, end)
        if landed is None:
            return None
        return TickBatch(
            ticks=landed.ticks, first_day=start, quarantined=landed.quarantined, origins=landed.origins,
            kept=landed.kept, incomplete=landed.incomplete, quarantined_files=landed.quarantined_files,
        )  # fmt: skip

    def daily_bars(self, start: date, end: date) -> pd.DataFrame:
        self._require("daily_bars")
        return _in_window(self._daily.bars, start, end)

    def index_levels(self, start: date, end: date) -> pd.DataFrame:
        self._require("index_levels")
        return self._indices.between(start, end)

    def _require(self, dataset: Dataset) -> None:
        if dataset not in self.provides:
            folder = self._history_folders().get(dataset)
            where = f"no {folder}" if folder else "no history folder configured"
            raise NotImplementedError(f"{self.name} provides only {sorted(self.provides)} ({where})")

    def _not_provided(self, start: date, end: date) -> pd.DataFrame:
        raise NotImplementedError(f"{self.name} provides only {sorted(self.provides)}")

    foreign_flows = proprietary_flows = corporate_actions = _not_provided

    def quarantined(self, dataset: Dataset, start: date, end: date) -> pd.DataFrame | None:
        """The window's rejected rows of the daily files (intraday files report theirs with the ticks)."""
        if dataset not in _DAILY_TABLES or dataset not in self.provides:
            return None
        if dataset == "index_levels":
            return self._indices.quarantine(start, end)
        return as_quarantine(_in_window(self._daily.rejected, start, end), _DAILY_TABLES[dataset])

    @cached_property
    def _daily(self) -> DailyHistory:
        return read_daily_bars_dir(self._history_folders()["daily_bars"])

    @cached_property
    def _indices(self) -> IndexLevels:
        return read_index_dir(self._history_folders()["index_levels"])


def _in_window(frame: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """Rows dated in [start, end]; a rejected row without a readable date belongs to no window."""
    day = frame["trading_date"]
    return frame[day.notna() & (day >= start) & (day <= end)].reset_index(drop=True)
