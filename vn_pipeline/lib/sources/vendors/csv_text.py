"""The vendor-CSV toolkit every vendor importer shares (vnstock and CafeF exports alike).

A file is read as text first and numbers later, so a bad cell becomes a rejected row with its file, line, rule and
reason instead of turning a whole column into float or failing the whole read; a file that cannot be trusted at
all raises :class:`VendorFileError` naming the file, the line and the rule.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

REJECTED_COLUMNS: tuple[str, ...] = ("file", "line", "trading_date", "symbol", "rule", "reason", "row_data")
# A kVND figure times 1000 must land on whole VND; anything further away is a corrupt value, not float noise.
WHOLE_VND_TOLERANCE = 1e-6
# A day of the busiest symbol is ~1 MB and CafeF's 25-year history ~1 MB: far larger is not a vendor export,
# and a cap keeps one stray file from exhausting memory. Rows are ~100 characters; a line of thousands is a
# corrupt row (it would also trip csv's 128 KiB field limit, which raises instead of rejecting one row).
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_LINE_BYTES = 4096


class VendorFileError(ValueError):
    """A vendor file is structurally broken: no row of it can be trusted."""

    def __init__(self, path: Path | str, rule: str, detail: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.rule = rule
        self.line = line
        where = f"{self.path}" + (f", line {line}" if line is not None else "")
        super().__init__(f"{where}: {rule}: {detail}")


@dataclass(frozen=True)
class CsvText:
    """A vendor CSV as text: ``rows`` (stripped cells, a 1-based ``line`` column; header = line 1) and the
    ``bad_lines`` that could not be split into the header's fields (line, rule, reason, text)."""

    rows: pd.DataFrame
    bad_lines: pd.DataFrame


def read_csv_text(path: Path, required: Sequence[str]) -> CsvText:
    """All cells as stripped text, line by line; BOM tolerated.

    Text first, numbers later: a bad cell becomes a rejected row with its line number instead of turning a
    whole column into float or failing the whole read. A line that is not UTF-8, is longer than
    ``MAX_LINE_BYTES`` or has another number of fields than the header is a bad line, and costs only itself.
    Only a file that cannot be trusted at all (unreadable, too large, no header, missing columns) raises.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise VendorFileError(path, "file_too_large", f"{size:,} bytes, over the {MAX_FILE_BYTES:,} limit")
        data = path.read_bytes()
    except OSError as exc:
        raise VendorFileError(path, "unreadable_file", str(exc)) from exc
    lines = data.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    header = _header(path, lines[0])
    missing = [c for c in required if c not in header]
    if missing:
        raise VendorFileError(path, "missing_columns", f"missing {missing}; found {header[:20]}", line=1)
    rows: list[list[str]] = []
    numbers: list[int] = []
    bad: list[tuple[int, str, str, str]] = []
    for number, line in enumerate(lines[1:], start=2):
        line = line.removesuffix(b"\r")
        if not line.strip():
            continue  # blank line
        cells, problem = _split_line(line, len(header))
        if problem:
            bad.append((number, *problem, line[:200].decode("utf-8", "backslashreplace")))
        else:
            rows.append(cells)
            numbers.append(number)
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame["line"] = pd.Series(numbers, dtype="int64")
    if frame.empty and not bad:
        raise VendorFileError(path, "no_rows", "header only", line=1)
    return CsvText(frame, pd.DataFrame(bad, columns=["line", "rule", "reason", "text"]))


def _header(path: Path, line: bytes) -> list[str]:
    try:
        cells = next(csv.reader([line.removesuffix(b"\r").decode("utf-8")]), [])
    except (UnicodeDecodeError, csv.Error) as exc:
        raise VendorFileError(path, "unreadable_header", str(exc), line=1) from exc
    header = [h.strip() for h in cells]
    if not any(header):
        raise VendorFileError(path, "empty_file", "no header line", line=1)
    return header


def _split_line(line: bytes, width: int) -> tuple[list[str], tuple[str, str] | None]:
    """The line's cells, or the rule it breaks and why."""
    if len(line) > MAX_LINE_BYTES:
        return [], ("line_too_long", f"{len(line):,} bytes, over the {MAX_LINE_BYTES:,} limit for one row")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [], ("not_utf8", f"byte {exc.start} ({line[exc.start : exc.start + 1]!r}) is not UTF-8")
    try:
        cells = next(csv.reader([text]))
    except csv.Error as exc:
        return [], ("unparseable_csv_row", str(exc))
    while len(cells) > width and not cells[-1].strip():
        cells.pop()  # a trailing separator is not a field
    if len(cells) != width:
        return [], ("wrong_field_count", f"{len(cells)} fields, the header has {width}")
    return [cell.strip() for cell in cells], None


def reject_lines(path: Path, bad_lines: pd.DataFrame, trading_date: object, symbol: object) -> pd.DataFrame:
    """Bad lines in the shared rejected layout (the raw text is the row's data)."""
    return pd.DataFrame(
        {
            "file": [str(path)] * len(bad_lines),
            "line": bad_lines["line"].astype("int64").to_numpy(),
            "trading_date": [trading_date] * len(bad_lines),
            "symbol": [symbol] * len(bad_lines),
            "rule": bad_lines["rule"].to_numpy(object),
            "reason": bad_lines["reason"].to_numpy(object),
            "row_data": [{"text": text} for text in bad_lines["text"]],
        },
        columns=list(REJECTED_COLUMNS),
    )


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
            ((as_vnd - np.rint(as_vnd)).abs() > WHOLE_VND_TOLERANCE).any(axis=1),
            "a price × 1000 is not a whole number of VND",
        ),
        (
            "ohlc_inconsistent",
            (prices_kvnd["high"] < prices_kvnd[["open", "close", "low"]].max(axis=1))
            | (prices_kvnd["low"] > prices_kvnd[["open", "close"]].min(axis=1)),
            "high must be ≥ open, close, low and low ≤ open, close",
        ),
    ]


def parse_dates(raw: pd.DataFrame, column: str, fmt: str) -> pd.Series:
    """``column`` parsed with ``fmt``; an unparseable date is NaT, for the caller to reject that row."""
    return pd.to_datetime(raw[column].str.strip(), format=fmt, errors="coerce")


def as_quarantine(rejected: pd.DataFrame, source_table: str) -> pd.DataFrame:
    """Rejected rows (``REJECTED_COLUMNS``) in the ``market.quarantine`` layout, for ``source_table``; the file and
    line lead the detail, so a person can open the row that broke the rule."""
    lines = ["" if pd.isna(line) else f" line {int(line)}" for line in rejected["line"]]
    where = pd.Series(lines, index=rejected.index, dtype=object)
    return pd.DataFrame(
        {
            "trading_date": rejected["trading_date"],
            "source_table": source_table,
            "symbol": rejected["symbol"],
            "rule": rejected["rule"],
            "detail": rejected["file"].astype(str) + where + ": " + rejected["reason"],
            "row_data": rejected["row_data"],
        }
    )


def apply_checks(
    path: Path,
    parsed_csv: CsvText,
    dates: pd.Series,
    symbol: str,
    checks: list[tuple[str, pd.Series, str]],
) -> tuple[pd.Series, pd.DataFrame]:
    """Run the rules in order; each row is reported once, under the first rule it breaks."""
    raw = parsed_csv.rows
    parts: list[pd.DataFrame] = [reject_lines(path, parsed_csv.bad_lines, None, symbol)]
    bad = pd.Series(False, index=raw.index)
    for rule, mask, reason in checks:
        hit = mask.fillna(True) & ~bad
        if hit.any():
            parts.append(reject(path, raw[hit], rule, reason, trading_date=dates[hit].dt.date, symbol=symbol))
        bad |= hit
    return ~bad, concat_rejected(parts)
