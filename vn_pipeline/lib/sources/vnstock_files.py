"""Importer for files exported with the vnstock library (VCI source).

Two formats:
- ``intraday/<SYM>.csv``: matched trades of one session → rows in the ``market.raw_ticks`` layout.
- ``stocks/<SYM>.csv``: daily bars (adjusted, thousands of VND) → rows close to ``market.ohlcv_1d``.

Vendor files are messy (see ``shared/data/vn_real/README.md``). The rules here:
- prices arrive in thousands of VND and are converted once, here, to integer VND;
- a row that cannot be parsed is returned in ``rejected`` with its file, line and reason, never dropped
  silently;
- a file that is structurally broken (missing columns, several dates or symbols, unparseable dates) raises
  :class:`VendorFileError` naming the file, the line and the rule, because no row of it can be trusted.

The small CSV helpers at the bottom (``read_csv_as_text``, ``reject``) are shared with ``cafef_files``.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from vn_pipeline.lib import columns

VN_TZ_NAME = "Asia/Ho_Chi_Minh"

RAW_TICK_COLUMNS = columns.RAW_TICKS
DAILY_BAR_COLUMNS = columns.DAILY_BARS
REJECTED_COLUMNS: tuple[str, ...] = ("file", "line", "trading_date", "symbol", "rule", "reason", "row_data")

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
# A kVND figure times 1000 must land on whole VND; anything further away is a corrupt value, not float noise.
_WHOLE_VND_TOLERANCE = 1e-6
PRICE_FIELDS = ("open", "high", "low", "close")


class VendorFileError(ValueError):
    """A vendor file is structurally broken: no row of it can be trusted."""

    def __init__(self, path: Path | str, rule: str, detail: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.rule = rule
        self.line = line
        where = f"{self.path}" + (f", line {line}" if line is not None else "")
        super().__init__(f"{where}: {rule}: {detail}")


@dataclass(frozen=True)
class IntradayFile:
    """One vendor intraday file, parsed.

    ``ticks`` has exactly the ``market.raw_ticks`` columns. The volume accounting fields say how much of the
    session the file covers: vnstock caps files at ~2,000 trades, so some start mid-session, and the feed also
    skips a few trades inside a session (the accumulated volume jumps by more than the row's volume).
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
    """
    path = Path(path)
    exchange = _normalise_exchange(exchange)
    raw = read_csv_as_text(path, INTRADAY_REQUIRED)
    trading_date = _single_trading_date(path, raw)
    symbol = _single_value(path, raw, "symbol")
    rejects: list[pd.DataFrame] = []

    ts = pd.to_datetime(raw["time"], format="%Y-%m-%d %H:%M:%S", errors="coerce")
    price_kvnd = pd.to_numeric(raw["price"], errors="coerce")
    volume = pd.to_numeric(raw["volume"], errors="coerce")
    accumulated = pd.to_numeric(raw["accumulated_volume"], errors="coerce")
    match_type = raw["match_type"].str.strip().str.lower()

    # Each rule flags rows it cannot accept; a row is reported once, under the first rule it breaks.
    checks: list[tuple[str, pd.Series, str]] = [
        ("unparseable_time", ts.isna(), "time is not 'YYYY-MM-DD HH:MM:SS'"),
        (
            "time_not_on_trading_date",
            ts.notna() & (ts.dt.date != trading_date),
            f"time falls outside trading_date {trading_date}",
        ),
        ("unparseable_price", ~np.isfinite(price_kvnd.fillna(np.nan)), "price is not a number"),
        ("non_positive_price", price_kvnd <= 0, "price must be > 0"),
        (
            "price_not_whole_vnd",
            (price_kvnd * 1000 - np.rint(price_kvnd * 1000)).abs() > _WHOLE_VND_TOLERANCE,
            "price × 1000 is not a whole number of VND",
        ),
        ("unparseable_volume", ~np.isfinite(volume.fillna(np.nan)), "volume is not a number"),
        ("non_positive_volume", volume <= 0, "volume must be > 0"),
        ("fractional_volume", volume != np.floor(volume), "volume must be whole shares"),
        ("unknown_match_type", ~match_type.isin(_MATCH_TYPES), f"match_type not in {sorted(_MATCH_TYPES)}"),
        (
            "unparseable_accumulated_volume",
            ~np.isfinite(accumulated.fillna(np.nan)),
            "accumulated_volume is not a number",
        ),
    ]
    bad = pd.Series(False, index=raw.index)
    for rule, mask, reason in checks:
        hit = mask.fillna(True) & ~bad
        if hit.any():
            rejects.append(reject(path, raw[hit], rule, reason, trading_date=trading_date, symbol=symbol))
        bad |= hit
    good = ~bad

    ticks = pd.DataFrame(
        {
            "ts": ts[good],
            "price": np.rint(price_kvnd[good] * 1000).astype("int64"),
            "volume": volume[good].astype("int64"),
            "match_type": match_type[good],
            "accumulated_volume": accumulated[good].astype("int64"),
        }
    )
    # Same-second trades arrive out of order; the vendor's running total restores their true order.
    ticks = ticks.sort_values(["ts", "accumulated_volume"], kind="stable").reset_index(drop=True)
    ticks = _to_raw_ticks(ticks, trading_date, symbol, exchange)

    accumulated_sorted = (
        ticks.pop("_accumulated_volume").to_numpy(dtype="int64") if len(ticks) else np.array([], "int64")
    )
    volumes = ticks["volume"].to_numpy(dtype="int64")
    if len(ticks):
        missing_before = int(accumulated_sorted[0] - volumes[0])
        steps = np.diff(accumulated_sorted) - volumes[1:]
        missing_within = int(steps[steps > 0].sum())
        final_accumulated = int(accumulated_sorted[-1])
    else:
        missing_before, missing_within, final_accumulated = 0, 0, 0

    return IntradayFile(
        path=path,
        symbol=symbol,
        trading_date=trading_date,
        exchange=exchange,
        ticks=ticks,
        rejected=concat_rejected(rejects),
        complete_from_open=bool(len(ticks)) and missing_before == 0,
        missing_volume_before_first=missing_before,
        missing_volume_within=missing_within,
        vendor_final_accumulated_volume=final_accumulated,
    )


def _to_raw_ticks(sorted_ticks: pd.DataFrame, trading_date: dt.date, symbol: str, exchange: str | None) -> pd.DataFrame:
    """Shape time-sorted parsed trades into the ``market.raw_ticks`` layout (plus ``_accumulated_volume``)."""
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
            "_accumulated_volume": sorted_ticks["accumulated_volume"].astype("int64"),
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


def _normalise_exchange(exchange: str | None) -> str | None:
    """Canonical code via the market rules ('HSX' → 'HOSE', 'UPCoM' → 'UPCOM'); imported lazily."""
    if exchange is None:
        return None
    from vn_pipeline.lib.market.exchanges import normalize_exchange

    return normalize_exchange(exchange)


def _single_trading_date(path: Path, raw: pd.DataFrame) -> dt.date:
    """The one session a file covers; several dates or an unparseable date make the file untrustworthy."""
    dates = parse_dates(path, raw, "trading_date", "%d/%m/%Y", "dd/mm/yyyy")
    distinct = dates.dt.date.unique()
    if len(distinct) > 1:
        first_other = (dates.dt.date != distinct[0]).idxmax()
        raise VendorFileError(
            path,
            "several_trading_dates",
            f"file mixes {sorted(distinct)[:5]}; one file must hold one session",
            line=int(raw.at[first_other, "line"]),
        )
    return distinct[0]


def _single_value(path: Path, raw: pd.DataFrame, column: str) -> str:
    values = raw[column].str.strip()
    distinct = values.unique()
    if len(distinct) != 1 or distinct[0] == "":
        first_other = (values != distinct[0]).idxmax() if len(distinct) > 1 else values.index[0]
        raise VendorFileError(
            path,
            f"several_{column}s" if len(distinct) > 1 else f"empty_{column}",
            f"{column} values {list(distinct)[:5]}; a file must hold exactly one",
            line=int(raw.at[first_other, "line"]),
        )
    return str(distinct[0])


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
    raw = read_csv_as_text(path, DAILY_REQUIRED)
    symbol = _single_value(path, raw, "symbol")
    dates = parse_dates(path, raw, "time", "%Y-%m-%d", "YYYY-MM-DD")
    trading_date = dates.dt.date
    prices = {c: pd.to_numeric(raw[c], errors="coerce") for c in ("open", "high", "low", "close")}
    volume = pd.to_numeric(raw["volume"], errors="coerce")
    frame = pd.DataFrame(prices)
    finite = np.isfinite(frame.fillna(np.nan)).all(axis=1)
    checks: list[tuple[str, pd.Series, str]] = [
        ("unparseable_price", ~finite, "open/high/low/close must be numbers"),
        ("unparseable_volume", ~np.isfinite(volume.fillna(np.nan)), "volume is not a number"),
        ("negative_volume", volume < 0, "volume must be ≥ 0"),
        ("zero_price", (frame <= 0).any(axis=1), "a price is zero or negative (vendor placeholder row)"),
        *bar_price_checks(frame),
        ("duplicate_trading_date", trading_date.duplicated(keep="first"), "trading_date already seen"),
    ]
    rejects: list[pd.DataFrame] = []
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


# ------------------------------------------------------------------------------------ shared CSV helpers


def read_csv_as_text(path: Path, required: Sequence[str]) -> pd.DataFrame:
    """All cells as stripped text plus a 1-based ``line`` column (header = line 1); BOM tolerated.

    Text first, numbers later: a bad cell becomes a rejected row with its line number instead of turning a
    whole column into float or failing the whole read. Rows with the wrong number of fields are kept with
    missing cells empty so that the per-column rules reject them with a line number.
    """
    path = Path(path)
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise VendorFileError(path, "unreadable_file", str(exc)) from exc
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise VendorFileError(path, "empty_file", "no header line", line=1) from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise VendorFileError(path, "unreadable_csv", str(exc), line=1) from exc
        header = [h.strip() for h in header]
        missing = [c for c in required if c not in header]
        if missing:
            raise VendorFileError(path, "missing_columns", f"missing {missing}; found {header}", line=1)
        rows: list[list[str]] = []
        lines: list[int] = []
        try:
            for record in reader:
                if not any(cell.strip() for cell in record):
                    continue  # blank line
                cells = [cell.strip() for cell in record[: len(header)]]
                rows.append(cells + [""] * (len(header) - len(cells)))
                lines.append(reader.line_num)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise VendorFileError(path, "unreadable_csv", str(exc), line=reader.line_num + 1) from exc
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    if frame.empty:
        raise VendorFileError(path, "no_rows", "header only", line=1)
    frame["line"] = lines
    return frame


def reject(
    path: Path,
    rows: pd.DataFrame,
    rule: str,
    reason: str,
    *,
    trading_date: dt.date | pd.Series | None = None,
    symbol: str | pd.Series | None = None,
) -> pd.DataFrame:
    """Rejected rows in the shared layout; ``row_data`` keeps the raw cells (for ``market.quarantine``)."""
    n = len(rows)
    data_columns = [c for c in rows.columns if c != "line"]
    return pd.DataFrame(
        {
            "file": [str(path)] * n,
            "line": rows["line"].astype("int64").to_numpy(),
            "trading_date": _broadcast(trading_date, n),
            "symbol": _broadcast(symbol, n),
            "rule": [rule] * n,
            "reason": [reason] * n,
            "row_data": [dict(zip(data_columns, values, strict=True)) for values in rows[data_columns].to_numpy()],
        },
        columns=list(REJECTED_COLUMNS),
    )


def concat_rejected(parts: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Rejected parts in line order; an empty frame with the right columns when there are none."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "line" else object) for c in REJECTED_COLUMNS})
    return pd.concat(parts, ignore_index=True).sort_values("line", kind="stable").reset_index(drop=True)


def _broadcast(value: object, n: int) -> list[object]:
    if isinstance(value, pd.Series):
        return list(value)
    return [value] * n


def bar_price_checks(prices_kvnd: pd.DataFrame) -> list[tuple[str, pd.Series, str]]:
    """Rules every vendor daily bar in thousands of VND must meet (vnstock and CafeF exports alike)."""
    as_vnd = prices_kvnd[["open", "high", "low", "close"]] * 1000
    return [
        (
            "price_not_whole_vnd",
            ((as_vnd - np.rint(as_vnd)).abs() > _WHOLE_VND_TOLERANCE).any(axis=1),
            "a price × 1000 is not a whole number of VND",
        ),
        (
            "ohlc_inconsistent",
            (prices_kvnd["high"] < prices_kvnd[["open", "close", "low"]].max(axis=1))
            | (prices_kvnd["low"] > prices_kvnd[["open", "close"]].min(axis=1)),
            "high must be ≥ open, close, low and low ≤ open, close",
        ),
    ]


def parse_dates(path: Path, raw: pd.DataFrame, column: str, fmt: str, shown: str, strip: bool = True) -> pd.Series:
    """``column`` parsed with ``fmt``; one unparseable date makes the whole file suspect (shifted columns)."""
    values = raw[column].str.strip() if strip else raw[column]
    dates = pd.to_datetime(values, format=fmt, errors="coerce")
    if dates.isna().any():
        first_bad = dates.isna().idxmax()
        raise VendorFileError(
            path,
            "unparseable_trading_date",
            f"{raw.at[first_bad, column]!r} is not {shown}",
            line=int(raw.at[first_bad, "line"]),
        )
    return dates
