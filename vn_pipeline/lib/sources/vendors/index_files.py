"""Readers for vendor index levels → the ``market.index_levels`` layout (trading_date, index_code, OHLC in points).

Three formats, one set of rules:
- index files ``<CODE>.csv`` with ``time, open, high, low, close, symbol`` (ISO dates, points): the
  ``indices_ftu`` export (plus ``volume, name``) and vnstock's ``indices/`` folder (plus a third party's
  indicator columns, dropped); a file may hold several codes (vnstock's ``all_indices.csv``);
- CafeF's ``<CODE>/PriceHistory.csv`` for an index (``VNINDEX/``): the stock layout, but in points.

Rows that cannot be stored go to ``rejected`` (the vendor-quarantine layout of ``csv_text``), each under the first
rule it breaks: unparseable date or price, a price ≤ 0, a repeated day, a day the exchange did not trade (the
Saturday bar 2008-08-16 in ``indices_ftu``'s VNINDEX) and a bad print (:data:`MAX_INDEX_DAY_MOVE`). A bar whose
high and low do not bracket its open and close keeps its printed close (what benchmarks and features read):
its range is widened to the printed prices and the raw row goes to ``repaired``, so quarantine holds it too.

A range of trading days without levels is reported (:func:`missing_level_ranges`), never filled from another
series: VN30 before 2018-08-20 is absent from ``indices_ftu``, and a VNINDEX from CafeF is not a VN30.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from vn_pipeline.lib.market.calendar import CALENDAR_START, is_trading_day, trading_days
from vn_pipeline.lib.sources.vendors.csv_text import (
    REJECTED_COLUMNS,
    CsvText,
    as_quarantine,
    concat_rejected,
    parse_dates,
    read_csv_text,
    reject,
    reject_lines,
)

INDEX_LEVEL_COLUMNS: tuple[str, ...] = ("trading_date", "index_code", "open", "high", "low", "close")
INDEX_TABLE = "market.index_levels"
# No Vietnamese index can move more in a day than the widest price band of its constituents (UPCoM ±15%; HOSE
# ±7%, HNX ±10%); the worst real VNINDEX day since 2000 is well inside it. A close that moves further from the
# previous close AND is undone just as far by the next one is a bad print (VNINDEX 2007-07-23 at 445.59: −55%,
# then +120%), not a market: two such days back to back never happened. A one-way jump is left alone: without
# the reversal nothing says which side of it is wrong.
MAX_INDEX_DAY_MOVE = 0.15
FILE_REQUIRED: tuple[str, ...] = ("time", "open", "high", "low", "close", "symbol")
CAFEF_REQUIRED: tuple[str, ...] = ("Ngay", "GiaMoCua", "GiaCaoNhat", "GiaThapNhat", "GiaDongCua")
_CAFEF_PRICES = {"open": "GiaMoCua", "high": "GiaCaoNhat", "low": "GiaThapNhat", "close": "GiaDongCua"}
_PRICES = ("open", "high", "low", "close")
_CODE = re.compile(r"[A-Z0-9]{2,16}")
# Two vendors' closes of one day within this many points are the same print (they round to 2 decimals).
SAME_CLOSE_POINTS = 0.005


@dataclass(frozen=True)
class IndexLevels:
    """Index bars in the ``market.index_levels`` layout, with what could not be stored as printed.

    ``rejected``: rows not stored (``REJECTED_COLUMNS``; ``symbol`` is the index code). ``repaired``: raw rows
    of bars that are stored with their range widened (rule ``ohlc_range_widened``)."""

    levels: pd.DataFrame
    rejected: pd.DataFrame
    repaired: pd.DataFrame
    lines: np.ndarray | None = None  # the file line of each row of ``levels`` (a conflict names its line)

    def quarantine(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        """The window's rejected and repaired rows in the ``market.quarantine`` layout (rows with no readable
        date cannot be placed in a window and are left out: see ``rejected``)."""
        rows = concat_rejected([self.rejected, self.repaired])
        day = rows["trading_date"]
        in_window = day.notna() & (day >= start) & (day <= end) if len(rows) else day.notna()
        return as_quarantine(rows[in_window].reset_index(drop=True), INDEX_TABLE)

    def between(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        day = self.levels["trading_date"]
        return self.levels[(day >= start) & (day <= end)].reset_index(drop=True)


def read_index_file(path: Path) -> IndexLevels:
    """An ``indices_ftu`` or vnstock ``indices/`` file → :class:`IndexLevels`; the code of each row is its
    ``symbol`` cell (upper-cased), so a combined file of several indices is read as several series."""
    path = Path(path)
    parsed = read_csv_text(path, FILE_REQUIRED)
    codes = parsed.rows["symbol"].str.upper()
    return _levels(path, parsed, parse_dates(parsed.rows, "time", "%Y-%m-%d"), codes, {c: c for c in _PRICES})


def read_cafef_index(path: Path, index_code: str | None = None) -> IndexLevels:
    """CafeF ``<CODE>/PriceHistory.csv`` of an index (points, not kVND: ``100.0`` is 100 points) →
    :class:`IndexLevels`; ``index_code`` defaults to the folder name ('VNINDEX')."""
    path = Path(path)
    code = (index_code or path.parent.name).upper()
    parsed = read_csv_text(path, CAFEF_REQUIRED)
    codes = pd.Series(code, index=parsed.rows.index, dtype=object)
    return _levels(path, parsed, parse_dates(parsed.rows, "Ngay", "%d/%m/%Y"), codes, _CAFEF_PRICES)


def read_index_dir(directory: Path) -> IndexLevels:
    """Every ``*.csv`` of a folder of index files (vnstock ``indices/``, ``indices_ftu``).

    A code is taken from its own file ``<CODE>.csv`` when there is one: a combined file's rows of that code
    (vnstock's ``all_indices.csv`` repeats every index) are dropped when they print the same close, and rejected
    as ``conflicting_duplicate`` when they do not, so a disagreement between the two is never silent."""
    paths = sorted(Path(directory).glob("*.csv"))
    return combine_index_files([(p, read_index_file(p)) for p in paths])


def combine_index_files(parts: Sequence[tuple[Path, IndexLevels]], by_file_name: bool = True) -> IndexLevels:
    """One :class:`IndexLevels` from several files', one row per day and code: the index's own file first
    (see :func:`read_index_dir`), else the earlier part; ``by_file_name=False`` lets the order of ``parts`` alone
    decide (CafeF's ``VNINDEX/PriceHistory.csv`` before ``indices_ftu/VNINDEX.csv``). A later part only adds the
    days the earlier ones lack; where it prints another close it is rejected (``conflicting_duplicate``)."""
    if not parts:
        empty = concat_rejected([])
        return IndexLevels(_empty_levels(), empty, empty)
    frames = []
    for order, (path, part) in enumerate(parts):
        lines = part.lines if part.lines is not None else np.full(len(part.levels), -1)
        own = (part.levels["index_code"] == path.stem.upper()) & by_file_name
        frames.append(part.levels.assign(_own=own, _order=order, _file=str(path), _line=lines))
    every = pd.concat(frames, ignore_index=True)
    every = every.sort_values(["_own", "_order"], ascending=[False, True], kind="stable")
    repeated = every.duplicated(["trading_date", "index_code"], keep="first")
    kept = every[~repeated]
    extra = every[repeated].merge(
        kept[["trading_date", "index_code", "close", "_file"]],
        on=["trading_date", "index_code"],
        suffixes=("", "_kept"),
    )
    conflicting = extra[(extra["close"] - extra["close_kept"]).abs() > SAME_CLOSE_POINTS]
    conflicts = pd.DataFrame(
        {
            "file": conflicting["_file"].to_numpy(object),
            "line": conflicting["_line"].to_numpy("int64"),
            "trading_date": conflicting["trading_date"].to_numpy(object),
            "symbol": conflicting["index_code"].to_numpy(object),
            "rule": "conflicting_duplicate",
            "reason": [
                f"close {c} where {f} has {k}, the level kept"
                for c, f, k in zip(
                    conflicting["close"], conflicting["_file_kept"], conflicting["close_kept"], strict=True
                )
            ],
            "row_data": [
                {**{c: float(r[c]) for c in _PRICES}, "trading_date": r["trading_date"].isoformat()}
                for r in conflicting.to_dict("records")
            ],
        },
        columns=list(REJECTED_COLUMNS),
    )
    kept = kept.sort_values(["index_code", "trading_date"]).reset_index(drop=True)
    rejected = pd.concat([concat_rejected([p.rejected for _, p in parts]), conflicts], ignore_index=True)
    # a repaired row of a file whose row was not kept (a combined file's copy) describes nothing stored
    stored = set(zip(kept["_file"], kept["trading_date"], kept["index_code"], strict=True))
    repaired = concat_rejected([p.repaired for _, p in parts])
    repaired = repaired[[k in stored for k in zip(repaired["file"], repaired["trading_date"], repaired["symbol"],
                                                  strict=True)]].reset_index(drop=True)  # fmt: skip
    return IndexLevels(kept[list(INDEX_LEVEL_COLUMNS)], rejected, repaired, kept["_line"].to_numpy("int64"))


def _empty_levels() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64" if c in _PRICES else object) for c in INDEX_LEVEL_COLUMNS})


def _levels(path: Path, parsed: CsvText, dates: pd.Series, codes: pd.Series, fields: dict[str, str]) -> IndexLevels:
    raw = parsed.rows
    prices = pd.DataFrame({k: pd.to_numeric(raw[v], errors="coerce") for k, v in fields.items()})
    day = dates.dt.date
    checks: list[tuple[str, pd.Series, str]] = [
        ("unparseable_trading_date", dates.isna(), "the date is not a date in the file's format"),
        ("invalid_index_code", ~codes.fillna("").str.fullmatch(_CODE), "index code is not 2-16 letters or digits"),
        ("unparseable_price", ~np.isfinite(prices.astype("float64")).all(axis=1), "a level is not a number"),
        ("non_positive_price", (prices <= 0).any(axis=1), "an index level is zero or negative"),
        (
            "duplicate_trading_date",
            pd.DataFrame({"d": day, "c": codes}).duplicated(keep="first"),
            "the index already has a row for this day",
        ),
        ("not_a_trading_day", ~day.map(_traded), "a weekend, a holiday or before HOSE's first session"),
    ]  # fmt: skip
    rejects = [reject_lines(path, parsed.bad_lines, None, None)]
    bad = pd.Series(False, index=raw.index)
    for rule, mask, reason in checks:
        hit = mask.fillna(True) & ~bad
        if hit.any():
            rejects.append(reject(path, raw[hit], rule, reason, trading_date=day[hit], symbol=codes[hit]))
        bad |= hit
    for code in codes[~bad].unique():
        rows = ~bad & (codes == code)
        spikes, reasons = _bad_prints(day[rows], prices.loc[rows, "close"])
        if len(spikes):
            part = reject(path, raw.loc[spikes], "bad_print", "", trading_date=day[spikes], symbol=code)
            part["reason"] = reasons
            rejects.append(part)
            bad[spikes] = True
    good = ~bad

    kept = prices[good]
    low, high = kept.min(axis=1), kept.max(axis=1)
    widened = (kept["low"] > low) | (kept["high"] < high)
    repaired = reject(
        path, raw[good][widened], "ohlc_range_widened",
        "high/low do not bracket the printed open and close: stored with the range widened to the printed "
        "prices (close unchanged); the raw row is here", trading_date=day[good][widened], symbol=codes[good][widened],
    )  # fmt: skip
    levels = pd.DataFrame(
        {
            "trading_date": pd.Series(list(day[good]), dtype=object),
            "index_code": pd.Series(list(codes[good]), dtype=object),
            "open": kept["open"].to_numpy("float64"),
            "high": high.to_numpy("float64"),
            "low": low.to_numpy("float64"),
            "close": kept["close"].to_numpy("float64"),
            "_line": raw.loc[good, "line"].to_numpy("int64"),
        }
    )
    levels = levels.sort_values(["index_code", "trading_date"], kind="stable").reset_index(drop=True)
    lines = levels.pop("_line").to_numpy("int64")
    return IndexLevels(levels, concat_rejected(rejects), concat_rejected([repaired]), lines)


def _traded(day: object) -> bool:
    return isinstance(day, dt.date) and not pd.isna(day) and day >= CALENDAR_START and is_trading_day(day)


def _bad_prints(days: pd.Series, close: pd.Series) -> tuple[pd.Index, list[str]]:
    """Rows (index labels) whose close jumps more than ``MAX_INDEX_DAY_MOVE`` from the previous close and is
    reversed as far by the next one, and why. Repeated until none is left: a bad print can hide another."""
    limit = np.log1p(MAX_INDEX_DAY_MOVE)
    series = close.iloc[np.argsort(days.to_numpy(), kind="stable")]
    found: list[object] = []
    reasons: list[str] = []
    while len(series) >= 3:
        step = np.log(series.to_numpy(float))
        into, out = np.diff(step)[:-1], np.diff(step)[1:]
        spike = (np.abs(into) > limit) & (np.abs(out) > limit) & (np.sign(into) != np.sign(out))
        if not spike.any():
            break
        at = np.flatnonzero(spike) + 1
        for i in at:
            before, value, after = series.iloc[i - 1], series.iloc[i], series.iloc[i + 1]
            reasons.append(
                f"close {value:g} is {value / before - 1:+.1%} from the previous close {before:g} and the next close "
                f"{after:g} undoes it ({after / value - 1:+.1%}): no index moves more than "
                f"{MAX_INDEX_DAY_MOVE:.0%} in a day, let alone twice"
            )
        found += list(series.index[at])
        series = series.drop(series.index[at])
    return pd.Index(found), reasons


@dataclass(frozen=True)
class MissingRange:
    """Consecutive trading days without a level of ``index_code``."""

    index_code: str
    first: dt.date
    last: dt.date
    days: int

    def __str__(self) -> str:
        unit = "trading day" if self.days == 1 else "trading days"
        return f"no {self.index_code} levels {self.first} → {self.last} ({self.days} {unit})"


def missing_level_ranges(levels: pd.DataFrame, index_code: str, start: dt.date, end: dt.date) -> list[MissingRange]:
    """The ranges of trading days in [start, end] (clipped to the calendar's start) without a level of
    ``index_code`` in ``levels`` (``market.index_levels`` layout), for a caller to report, not to fill."""
    start = max(start, CALENDAR_START)
    if start > end:
        return []
    have = set(levels.loc[levels["index_code"] == index_code, "trading_date"])
    calendar = trading_days(start, end)
    absent = np.array([d not in have for d in calendar], dtype=bool)
    ranges: list[MissingRange] = []
    edges = np.diff(np.concatenate([[0], absent.astype(np.int8), [0]]))
    for first, stop in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        ranges.append(MissingRange(index_code, calendar[first], calendar[stop - 1], int(stop - first)))
    return ranges
