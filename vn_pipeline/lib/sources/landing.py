"""A landing directory where vendor intraday files (vnstock format) are dropped for ingestion."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from vn_pipeline.lib import columns
from vn_pipeline.lib.market.exchanges import normalize_exchange, price_limits
from vn_pipeline.lib.sources.vnstock_files import read_intraday_file


@dataclass(frozen=True)
class LandingFile:
    path: Path
    trading_date: date
    mtime_ns: int

    @property
    def key(self) -> str:
        """Identity of this version of the file: a file replaced in place is a new file to ingest."""
        return f"{self.path.name}@{self.mtime_ns}"


def peek_trading_date(path: Path) -> date:
    """The session date of a vnstock intraday file, from its first data row, without reading the rest."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        row = next(reader, None)
    if row is None or not row.get("trading_date"):
        raise ValueError(f"{path}: line 2: no data row with a trading_date (vnstock intraday format expected)")
    return datetime.strptime(row["trading_date"], "%d/%m/%Y").date()


def scan_landing_dir(directory: Path) -> tuple[list[LandingFile], dict[str, str]]:
    """Every readable ``*.csv`` in ``directory`` with its date, and the files that could not be read and why."""
    found: list[LandingFile] = []
    unreadable: dict[str, str] = {}
    for path in sorted(directory.glob("*.csv")):
        try:
            found.append(LandingFile(path, peek_trading_date(path), path.stat().st_mtime_ns))
        except (ValueError, OSError, UnicodeDecodeError) as err:
            unreadable[str(path)] = str(err)
    return found, unreadable


def reference_price(path: Path) -> int:
    """The day's reference price in VND: vnstock stamps every trade with ``price_change`` against it."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        row = next(csv.DictReader(handle), None)
    if row is None:
        raise ValueError(f"{path}: line 2: empty file")
    try:
        return round(float(row["price"]) * 1000 - float(row["price_change"]))
    except (KeyError, ValueError) as err:
        raise ValueError(f"{path}: line 2: cannot derive the reference price from price/price_change") from err


def infer_exchange(sessions: set[str], prices: list[int]) -> str:
    """Guess the exchange when a vendor file does not say. An ATO auction or a price off the 100-VND grid exists
    only on HOSE; an ATC auction without ATO is HNX; UPCoM has no auctions. A misread only ever widens the band
    checked (HOSE ±7% < HNX ±10% < UPCoM ±15%), so good trades are never rejected for it."""
    if "ATO" in sessions or any(p % 100 for p in prices):
        return "HOSE"
    return "HNX" if "ATC" in sessions else "UPCOM"


@dataclass(frozen=True)
class LandedTicks:
    ticks: pd.DataFrame
    quarantined: pd.DataFrame  # rows the vendor parser rejected, in market.quarantine's layout
    incomplete: dict[str, int]  # "SYMBOL date" → shares the vendor counted but the file does not carry


def load_landed_ticks(paths: list[Path]) -> LandedTicks:
    """Ticks of every landed file, with the rows that could not be parsed kept for quarantine."""
    parsed = [read_intraday_file(path) for path in paths]
    return LandedTicks(
        ticks=pd.concat([f.ticks for f in parsed], ignore_index=True),
        quarantined=_as_quarantine([f.rejected for f in parsed if len(f.rejected)]),
        incomplete={
            f"{f.symbol} {f.trading_date}": f.missing_volume_before_first + f.missing_volume_within
            for f in parsed
            if not f.complete
        },
    )


def _as_quarantine(rejected: list[pd.DataFrame]) -> pd.DataFrame:
    if not rejected:
        return pd.DataFrame(columns=list(columns.QUARANTINE))
    rows = pd.concat(rejected, ignore_index=True)
    return pd.DataFrame(
        {
            "trading_date": rows["trading_date"],
            "source_table": "market.raw_ticks",
            "symbol": rows["symbol"],
            "rule": rows["rule"],
            "detail": rows["file"].astype(str) + " line " + rows["line"].astype(str) + ": " + rows["reason"],
            "row_data": rows["row_data"],
        }
    )


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


def listings_from_landing_files(paths: list[Path], exchanges: dict[str, str] | None = None) -> pd.DataFrame:
    """One listing per landed file: symbol, exchange (from ``exchanges``, else inferred from the trades, and
    then flagged ``exchange_inferred``), reference price and the day's limits. Shares outstanding and the
    foreign ownership limit are not in vnstock's files: left NULL."""
    rows = []
    for path in paths:
        ticks = read_intraday_file(path).ticks
        symbol = ticks["symbol"].iloc[0]
        known = (exchanges or {}).get(symbol)
        exchange = known or infer_exchange(set(ticks["session"]), ticks["price"].tolist())
        reference = reference_price(path)
        floor, ceiling = price_limits(exchange, reference)
        rows.append(
            {
                "trading_date": ticks["trading_date"].iloc[0],
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
                "exchange_inferred": known is None,
            }
        )
    frame = pd.DataFrame(rows, columns=[*columns.LISTINGS, "exchange_inferred"])
    return frame.drop_duplicates(["trading_date", "symbol"], keep="last")
