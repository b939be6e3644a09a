"""Importer for files exported with the vnstock library (VCI source).

Two formats:
- ``intraday/<SYM>.csv``: matched trades of one session → rows in the ``market.raw_ticks`` layout.
- ``stocks/<SYM>.csv``: daily bars (adjusted, thousands of VND) → rows close to ``market.ohlcv_1d``; a folder of
  them → ``market.daily_bars`` rows flagged ``adjusted`` (:func:`read_daily_bars_dir`).

Vendor files are messy (see ``shared/data/vn_real/README.md``). The rules here:
- prices arrive in thousands of VND and are converted once, here, to integer VND;
- a row that cannot be parsed is returned in ``rejected`` with its file, line and reason, never dropped
  silently;
- a bad row costs only itself: a ragged row, a line that is not UTF-8, an overlong line, a date or symbol
  that differs from the file's, a duplicated trade are rejected rows, the rest of the file is kept;
- a file that is structurally broken (no header, missing columns, too large, no valid row) raises
  :class:`VendorFileError` naming the file, the line and the rule, because no row of it can be trusted.

The CSV reading and rejection helpers (``read_csv_text``, ``reject``) live in ``csv_text``, the vendor toolkit
``cafef_files`` shares.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from vn_pipeline.lib.market.calendar import CALENDAR_START, is_trading_day
from vn_pipeline.lib.market.exchanges import is_valid_symbol, normalize_exchange
from vn_pipeline.lib.market.timezone import VN_TZ_NAME
from vn_pipeline.lib.sources.vendors.csv_text import (
    REJECTED_COLUMNS,
    WHOLE_VND_TOLERANCE,
    VendorFileError,
    bar_price_checks,
    concat_rejected,
    parse_dates,
    read_csv_text,
    reject,
    reject_lines,
)
from vn_pipeline.lib.warehouse import columns

RAW_TICK_COLUMNS = columns.RAW_TICKS
DAILY_BAR_COLUMNS = columns.DAILY_BARS

INTRADAY_REQUIRED: tuple[str, ...] = (
    "time",
    "price",
    "volume",
    "match_type",
    "trading_date",
    "symbol",
    "accumulated_volume",
)
DAILY_REQUIRED: tuple[str, ...] = ("time", "open", "high", "low", "close", "volume", "symbol")

# Aggressor side of a continuous-matching trade; auction prints have no aggressor.
_SIDES = {"buy": "B", "sell": "S"}
_MATCH_TYPES = {"buy", "sell", "ato", "atc", ""}
# Vendors stamp auction prints at the end of the auction (ATO ≈ 09:15:0x, ATC ≈ 14:45:xx, VN_MARKET.md).
# A print with an empty match_type inside these windows is an auction print whose label the feed lost.
_ATO_STAMP = (dt.time(9, 14), dt.time(9, 16))
_ATC_STAMP = (dt.time(14, 44), dt.time(14, 47))
# Exchanges that hold each auction (HNX has no ATO; UPCoM has no auctions).
_HAS_ATO = {"HOSE"}
_HAS_ATC = {"HOSE", "HNX"}
PRICE_FIELDS = ("open", "high", "low", "close")
# An explicit UTC offset on a time ('2026-02-24T09:15:07+07:00', '...Z'): converted to market time, not refused.
_HAS_OFFSET = re.compile(r"(?:[+-]\d{2}:?\d{2}|Z)$")


@dataclass(frozen=True)
class IntradayFile:
    """One vendor intraday file, parsed.

    ``ticks`` has exactly the ``market.raw_ticks`` columns; ``cum_volume`` is the vendor's running total at the
    trade, which identifies it (two trades of one symbol and day never share it). The volume accounting fields
    say how much of the session the file covers: vnstock caps files at ~2,000 trades, so some start
    mid-session, and the feed also skips a few trades inside a session (the accumulated volume jumps by more
    than the row's volume).
    """

    path: Path
    symbol: str
    trading_date: dt.date
    exchange: str | None
    ticks: pd.DataFrame
    rejected: pd.DataFrame
    complete_from_open: bool  # first trade's accumulated_volume equals its own volume
    missing_volume_before_first: int  # shares traded before the first row of the file
    missing_volume_within: int  # shares the accumulated volume counts but no row of the file carries
    vendor_final_accumulated_volume: int  # the vendor's running total at the last trade
    reference_price: int | None = None  # VND: price − price_change, the value most rows agree on
    lines: np.ndarray | None = None  # the file line of each row of ``ticks`` (errors name file and line)

    @property
    def complete(self) -> bool:
        """Every share the vendor counted is in ``ticks`` (no gap at the start nor inside the session)."""
        return (
            self.complete_from_open
            and self.missing_volume_within == 0
            and len(self.rejected) == 0
            and int(self.ticks["volume"].sum()) == self.vendor_final_accumulated_volume
        )


# --------------------------------------------------------------------------------------------------- intraday


def read_intraday_file(path: Path, exchange: str | None = None) -> IntradayFile:
    """Parse one vnstock ``intraday/<SYM>.csv`` file (one symbol, one session).

    ``exchange`` ('HOSE', 'HNX' or 'UPCOM') is not in the file; when given, the session of each continuous
    trade comes from the market's session rules (HNX's post-close PLO session), otherwise it is 'CONT'.
    The file's session and symbol are the ones most rows carry; a row with another date or symbol is
    rejected, not the file. A trade is identified by the vendor's running total (``accumulated_volume``):
    a second row with the same total is a duplicate (or, when it differs, a conflict) and is rejected.
    """
    path = Path(path)
    exchange = normalize_exchange(exchange) if exchange is not None else None
    parsed_csv = read_csv_text(path, INTRADAY_REQUIRED)
    raw = parsed_csv.rows
    if raw.empty:
        raise _no_valid_rows(path, parsed_csv.bad_lines)
    dates = pd.to_datetime(raw["trading_date"], format="%d/%m/%Y", errors="coerce")
    trading_date = _prevailing(path, dates.dt.date, "trading_date")
    symbols = raw["symbol"].str.upper()
    valid_symbol = symbols.map(is_valid_symbol)
    symbol = _prevailing(path, symbols.where(valid_symbol), "symbol")
    rejects: list[pd.DataFrame] = [reject_lines(path, parsed_csv.bad_lines, trading_date, symbol)]

    ts = _local_times(raw["time"])
    price_kvnd = pd.to_numeric(raw["price"], errors="coerce")
    volume = pd.to_numeric(raw["volume"], errors="coerce")
    accumulated = pd.to_numeric(raw["accumulated_volume"], errors="coerce")
    match_type = raw["match_type"].str.strip().str.lower()

    # Each rule flags rows it cannot accept; a row is reported once, under the first rule it breaks.
    checks: list[tuple[str, pd.Series, str]] = [
        ("unparseable_trading_date", dates.isna(), "trading_date is not dd/mm/yyyy"),
        ("other_trading_date", dates.dt.date != trading_date, f"trading_date differs from the file's {trading_date}"),
        ("invalid_symbol", ~valid_symbol, "symbol is not 3-12 letters or digits"),
        ("other_symbol", symbols != symbol, f"symbol differs from the file's {symbol}"),
        ("unparseable_time", ts.isna(), "time is not 'YYYY-MM-DD HH:MM:SS' (or ISO 8601 with an offset)"),
        (
            "time_not_on_trading_date",
            ts.notna() & (ts.dt.date != trading_date),
            f"time falls outside trading_date {trading_date}",
        ),
        ("unparseable_price", ~np.isfinite(price_kvnd.fillna(np.nan)), "price is not a number"),
        ("non_positive_price", price_kvnd <= 0, "price must be > 0"),
        (
            "price_not_whole_vnd",
            (price_kvnd * 1000 - np.rint(price_kvnd * 1000)).abs() > WHOLE_VND_TOLERANCE,
            "price × 1000 is not a whole number of VND",
        ),
        ("unparseable_volume", ~np.isfinite(volume.fillna(np.nan)), "volume is not a number"),
        ("non_positive_volume", volume <= 0, "volume must be > 0"),
        ("fractional_volume", volume != np.floor(volume), "volume must be whole shares"),
        ("unknown_match_type", ~match_type.isin(_MATCH_TYPES), f"match_type not in {sorted(_MATCH_TYPES)}"),
        (
            "unparseable_accumulated_volume",
            ~np.isfinite(accumulated.fillna(np.nan)) | (accumulated != np.floor(accumulated)),
            "accumulated_volume is not a whole number",
        ),
        (
            "accumulated_volume_below_volume",
            accumulated < volume,
            "the vendor's running total is smaller than the trade itself",
        ),
    ]
    bad = pd.Series(False, index=raw.index)
    for rule, mask, reason in checks:
        hit = mask.fillna(True) & ~bad
        if hit.any():
            rejects.append(reject(path, raw[hit], rule, reason, trading_date=trading_date, symbol=symbol))
        bad |= hit
    bad |= _reject_repeated_trades(path, raw, bad, accumulated, trading_date, symbol, rejects)
    good = ~bad
    if not good.any():
        raise _no_valid_rows(path, concat_rejected(rejects))

    ticks = pd.DataFrame(
        {
            "ts": ts[good],
            "price": np.rint(price_kvnd[good] * 1000).astype("int64"),
            "volume": volume[good].astype("int64"),
            "match_type": match_type[good],
            "accumulated_volume": accumulated[good].astype("int64"),
            "line": raw.loc[good, "line"].astype("int64"),
        }
    )
    # Same-second trades arrive out of order; the vendor's running total restores their true order.
    ticks = ticks.sort_values(["ts", "accumulated_volume"], kind="stable").reset_index(drop=True)
    lines = ticks.pop("line").to_numpy()
    ticks = _to_raw_ticks(ticks, trading_date, symbol, exchange)

    accumulated_sorted = ticks["cum_volume"].to_numpy(dtype="int64")
    volumes = ticks["volume"].to_numpy(dtype="int64")
    missing_before = int(accumulated_sorted[0] - volumes[0])
    steps = np.diff(accumulated_sorted) - volumes[1:]
    missing_within = int(steps[steps > 0].sum())

    return IntradayFile(
        path=path,
        symbol=symbol,
        trading_date=trading_date,
        exchange=exchange,
        ticks=ticks,
        rejected=concat_rejected(rejects),
        complete_from_open=missing_before == 0,
        missing_volume_before_first=missing_before,
        missing_volume_within=missing_within,
        vendor_final_accumulated_volume=int(accumulated_sorted.max()),
        reference_price=_reference_price(raw, good),
        lines=lines,
    )


def _no_valid_rows(path: Path, rejected: pd.DataFrame) -> VendorFileError:
    rules = rejected["rule"].value_counts()
    first = rejected.sort_values("line").iloc[0] if len(rejected) else None
    detail = f"all {len(rejected)} rows rejected ({', '.join(f'{r} {n}' for r, n in rules.items())})"
    if first is not None:
        detail += f"; first, line {first['line']}: {first['reason']}"
    return VendorFileError(path, "no_valid_rows", detail, line=None if first is None else int(first["line"]))


def _prevailing(path: Path, values: pd.Series, column: str) -> object:
    """The value most rows carry (one file holds one session of one symbol); none at all breaks the file."""
    counts = values.dropna().value_counts()
    if counts.empty:
        raise VendorFileError(path, f"no_valid_{column}", f"no row has a valid {column}", line=2)
    return counts.index[0]


def _local_times(text: pd.Series) -> pd.Series:
    """Naive market-time stamps; a stamp with an explicit UTC offset is converted to market time."""
    ts = pd.to_datetime(text, format="%Y-%m-%d %H:%M:%S", errors="coerce")
    offset = ts.isna() & text.str.contains(_HAS_OFFSET)
    if offset.any():
        aware = pd.to_datetime(text[offset], format="ISO8601", utc=True, errors="coerce")
        ts[offset] = aware.dt.tz_convert(VN_TZ_NAME).dt.tz_localize(None)
    return ts


def _reject_repeated_trades(
    path: Path,
    raw: pd.DataFrame,
    bad: pd.Series,
    accumulated: pd.Series,
    trading_date: dt.date,
    symbol: str,
    rejects: list[pd.DataFrame],
) -> pd.Series:
    """Rows whose running total an earlier valid row already has: the same trade again (``duplicate_trade``)
    or a row that contradicts it (``conflicting_trade``). The first is kept."""
    repeated = accumulated.where(~bad).duplicated(keep="first") & ~bad
    if not repeated.any():
        return repeated
    fields = ["time", "price", "volume", "match_type"]
    first = raw[~bad & ~repeated].assign(_acc=accumulated).drop_duplicates("_acc").set_index("_acc")
    original = first.loc[accumulated[repeated], [*fields, "line"]].set_axis(raw.index[repeated])
    same = (original[fields] == raw.loc[repeated, fields]).all(axis=1)
    for rule, rows, reason in (
        ("duplicate_trade", same, "repeats the trade on line {} (same running total and fields)"),
        ("conflicting_trade", ~same, "has the running total of line {} with different fields"),
    ):
        if rows.any():
            index = rows.index[rows]
            part = reject(path, raw.loc[index], rule, "", trading_date=trading_date, symbol=symbol)
            part["reason"] = [reason.format(line) for line in original.loc[index, "line"]]
            rejects.append(part)
    return repeated


def _reference_price(raw: pd.DataFrame, good: pd.Series) -> int | None:
    """The day's reference price in VND: vnstock stamps each trade with ``price_change`` against it. Taken from
    the value most valid rows agree on, so one empty or garbled ``price_change`` cannot move it."""
    if "price_change" not in raw.columns:
        return None
    price = pd.to_numeric(raw.loc[good, "price"], errors="coerce") * 1000
    implied = np.rint(price - pd.to_numeric(raw.loc[good, "price_change"], errors="coerce")).dropna()
    implied = implied[implied > 0]
    return int(implied.value_counts().index[0]) if len(implied) else None


def _to_raw_ticks(sorted_ticks: pd.DataFrame, trading_date: dt.date, symbol: str, exchange: str | None) -> pd.DataFrame:
    """Shape time-sorted parsed trades into the ``market.raw_ticks`` layout."""
    local = sorted_ticks["ts"].dt.tz_localize(VN_TZ_NAME).astype(f"datetime64[ns, {VN_TZ_NAME}]")
    clock = sorted_ticks["ts"].dt.time
    session_of = _session_rule(exchange)
    sessions = [_session(mt, t, exchange, session_of) for mt, t in zip(sorted_ticks["match_type"], clock, strict=True)]
    n = len(sorted_ticks)
    out = pd.DataFrame(
        {
            "ts": local,
            "trading_date": pd.Series([trading_date] * n, dtype=object),
            "symbol": pd.Series([symbol] * n, dtype=object),
            "seq": np.arange(n, dtype="int32"),
            "price": sorted_ticks["price"].astype("int64"),
            "volume": sorted_ticks["volume"].astype("int64"),
            # object dtype so that missing sides are None (SQL NULL), not NaN
            "side": pd.Series([_SIDES.get(mt) for mt in sorted_ticks["match_type"]], dtype=object),
            "session": pd.Series(sessions, dtype=object),
            "cum_volume": sorted_ticks["accumulated_volume"].astype("int64"),
        }
    )
    return out.reset_index(drop=True)


SessionRule = Callable[[str, dt.time], str | None]


def _session_rule(exchange: str | None) -> SessionRule | None:
    """The market's session function, imported only when needed (the importer works without an exchange)."""
    if exchange is None:
        return None
    from vn_pipeline.lib.market.sessions import session_of

    return session_of


def _session(match_type: str, t: dt.time, exchange: str | None, session_of: SessionRule | None) -> str:
    """Session of one trade.

    Labelled auction prints are trusted. An unlabelled print stamped where auction prints are stamped is
    that auction (the feed lost its label; it has no aggressor either). A trade with an aggressor side is
    continuous matching by construction, so the clock only decides between CONT and HNX's post-close PLO;
    a few seconds of stamping lag past a session boundary does not turn a buy into an auction print.
    """
    if match_type == "ato":
        return "ATO"
    if match_type == "atc":
        return "ATC"
    if match_type == "":
        if _ATO_STAMP[0] <= t < _ATO_STAMP[1] and (exchange is None or exchange in _HAS_ATO):
            return "ATO"
        if _ATC_STAMP[0] <= t < _ATC_STAMP[1] and (exchange is None or exchange in _HAS_ATC):
            return "ATC"
    if session_of is None or exchange is None:
        return "CONT"
    found = session_of(exchange, t)
    if match_type == "" and found in ("ATO", "ATC", "PLO"):
        return found
    return "PLO" if found == "PLO" else "CONT"


# ------------------------------------------------------------------------------------------------ daily bars


def read_daily_bars_file(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parse one vnstock ``stocks/<SYM>.csv`` daily-bar file → ``(bars, quarantined)``.

    ``bars`` columns: trading_date, symbol, open, high, low, close (int64 VND), volume (int64), value.
    Prices in these files are **adjusted** for corporate actions (not raw exchange prints), in kVND.
    The author's indicator columns (sma_*, rsi_14, macd*, ...) are a third party's numbers and are dropped.

    ``value`` is nullable (``Int64``, all ``<NA>``): the file carries no traded value, and any number derived
    from OHLC would be an estimate posing as a fact. ``market.ohlcv_1d.value`` is NOT NULL, so a caller that
    loads these bars must choose explicitly, e.g. :func:`estimate_daily_value` (typical-price estimate).

    ``quarantined`` (same layout as ``rejected`` elsewhere) holds rows with zero/negative prices (PMC has
    all-zero prices with volume > 0), OHLC-inconsistent rows (high below open/close/low or low above
    open/close) and unparseable numbers; each with its rule and reason.
    """
    path = Path(path)
    parsed_csv = read_csv_text(path, DAILY_REQUIRED)
    raw = parsed_csv.rows
    symbols = raw["symbol"].str.upper()
    valid_symbol = symbols.map(is_valid_symbol)
    symbol = _prevailing(path, symbols.where(valid_symbol), "symbol")
    dates = parse_dates(raw, "time", "%Y-%m-%d")
    trading_date = dates.dt.date
    prices = {c: pd.to_numeric(raw[c], errors="coerce") for c in ("open", "high", "low", "close")}
    volume = pd.to_numeric(raw["volume"], errors="coerce")
    frame = pd.DataFrame(prices)
    finite = np.isfinite(frame.fillna(np.nan)).all(axis=1)
    checks: list[tuple[str, pd.Series, str]] = [
        ("unparseable_trading_date", dates.isna(), "time is not YYYY-MM-DD"),
        ("invalid_symbol", ~valid_symbol, "symbol is not 3-12 letters or digits"),
        ("other_symbol", symbols != symbol, f"symbol differs from the file's {symbol}"),
        ("unparseable_price", ~finite, "open/high/low/close must be numbers"),
        ("unparseable_volume", ~np.isfinite(volume.fillna(np.nan)), "volume is not a number"),
        ("negative_volume", volume < 0, "volume must be ≥ 0"),
        ("zero_price", (frame <= 0).any(axis=1), "a price is zero or negative (vendor placeholder row)"),
        *bar_price_checks(frame),
        ("duplicate_trading_date", trading_date.duplicated(keep="first"), "trading_date already seen"),
    ]
    rejects: list[pd.DataFrame] = [reject_lines(path, parsed_csv.bad_lines, None, symbol)]
    bad = pd.Series(False, index=raw.index)
    for rule, mask, reason in checks:
        hit = mask.fillna(True) & ~bad
        if hit.any():
            rows = raw[hit]
            rejects.append(reject(path, rows, rule, reason, trading_date=trading_date[hit], symbol=symbol))
        bad |= hit
    good = ~bad

    bars = pd.DataFrame(
        {
            "trading_date": pd.Series(list(trading_date[good]), dtype=object),
            "symbol": pd.Series([symbol] * int(good.sum()), dtype=object),
            **{
                c: np.rint(frame.loc[good, c].to_numpy() * 1000).astype("int64")
                for c in ("open", "high", "low", "close")
            },
            "volume": volume[good].to_numpy().astype("int64"),
            "value": pd.array([pd.NA] * int(good.sum()), dtype="Int64"),
        }
    )
    bars = bars.sort_values("trading_date", kind="stable").reset_index(drop=True)
    return bars[list(DAILY_BAR_COLUMNS)], concat_rejected(rejects)


def estimate_daily_value(bars: pd.DataFrame) -> pd.Series:
    """An ESTIMATE of VND traded: volume × typical price (open+high+low+close)/4, rounded.

    Only for sources without a traded value (vnstock daily bars). Real VWAP can sit anywhere between low
    and high, so the error is bounded by volume × (high − low); prices are adjusted, so for days before a
    corporate action this is not the VND that actually changed hands.
    """
    typical = bars[["open", "high", "low", "close"]].sum(axis=1) / 4
    return np.rint(bars["volume"] * typical).astype("int64")


# The columns of a vnstock daily bar in ``market.daily_bars``: the files' prices are the vendor's adjusted series.
ADJUSTED_DAILY_BAR_COLUMNS = (*DAILY_BAR_COLUMNS, "adjusted")


@dataclass(frozen=True)
class DailyHistory:
    """A folder of vnstock ``stocks/<SYM>.csv`` files: ``bars`` in the ``market.daily_bars`` layout (``adjusted``
    true, ``value`` an estimate: see :func:`estimate_daily_value`), ``rejected`` rows (``REJECTED_COLUMNS``) and
    the files no row of which could be read (path → "rule: detail")."""

    bars: pd.DataFrame
    rejected: pd.DataFrame
    unreadable: dict[str, str]


def read_daily_bars_dir(directory: Path) -> DailyHistory:
    """Every ``*.csv`` of a vnstock ``stocks/`` folder; one bad file or row costs only itself.

    On top of :func:`read_daily_bars_file`'s rules, a row dated on a day the exchange did not trade is rejected
    (``not_a_trading_day``), and a symbol-day a second file repeats (``PMC (1).csv``) is rejected as
    ``duplicate_symbol_day`` naming the file kept (the one named after the symbol, else the first by name).
    ``market.daily_bars.value`` is NOT NULL and the files carry none: it is the typical-price estimate.
    """
    parts: list[tuple[Path, pd.DataFrame, pd.DataFrame]] = []
    unreadable: dict[str, str] = {}
    for path in sorted(Path(directory).glob("*.csv")):
        try:
            bars, rejected = read_daily_bars_file(path)
        except VendorFileError as err:
            unreadable[str(path)] = f"{err.rule}: {err}"
            continue
        parts.append((path, bars, rejected))
    if not parts:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in ADJUSTED_DAILY_BAR_COLUMNS})
        return DailyHistory(empty, concat_rejected([]), unreadable)
    frames = []
    for order, (path, bars, _) in enumerate(parts):
        own = bars["symbol"] == path.stem.upper()
        frames.append(bars.assign(_own=own, _order=order, _file=str(path)))
    every = pd.concat(frames, ignore_index=True).sort_values(["_own", "_order"], ascending=[False, True], kind="stable")
    repeated = every.duplicated(list(columns.ROW_KEY), keep="first")
    closed = ~every["trading_date"].map(lambda d: d >= CALENDAR_START and is_trading_day(d))
    kept_file = every[~repeated].set_index(list(columns.ROW_KEY))["_file"]
    extra = [
        _dropped_bars(every[closed], "not_a_trading_day", lambda _: "dated on a weekend or exchange holiday"),
        _dropped_bars(
            every[repeated & ~closed], "duplicate_symbol_day",
            lambda row: f"another file has this symbol-day; kept: {kept_file[(row['trading_date'], row['symbol'])]}",
        ),
    ]  # fmt: skip
    bars = every[~repeated & ~closed].sort_values(list(columns.ROW_KEY), kind="stable").reset_index(drop=True)
    bars["value"] = estimate_daily_value(bars)
    bars["adjusted"] = True
    rejected = concat_rejected([*(p[2] for p in parts), *extra])
    return DailyHistory(bars[list(ADJUSTED_DAILY_BAR_COLUMNS)], rejected, unreadable)


def _dropped_bars(rows: pd.DataFrame, rule: str, reason: Callable[[dict], str]) -> pd.DataFrame:
    """Parsed bars dropped by a folder-level rule, in the rejected layout (the parsed row is its data: the
    file's line is not kept past parsing)."""
    # ``value`` is not in the files (NA until estimated): the row's data is what the file said, in VND.
    records = rows.drop(columns=["_own", "_order", "_file", "value"]).astype(object).to_dict("records")
    return pd.DataFrame(
        {
            "file": rows["_file"].to_numpy(object),
            "line": None,
            "trading_date": rows["trading_date"].to_numpy(object),
            "symbol": rows["symbol"].to_numpy(object),
            "rule": rule,
            "reason": [reason(r) for r in records],
            "row_data": [{k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in r.items()} for r in records],
        },
        columns=list(REJECTED_COLUMNS),
    )
