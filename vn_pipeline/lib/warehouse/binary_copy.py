"""Vectorised encoding of a pandas DataFrame into PostgreSQL's binary COPY format.

Why not ``copy.write_row``: formatting row by row costs a Python call per row plus a per-cell type dispatch,
and converting a frame into Python tuples first (``Timestamp`` objects, ``tolist()``) costs as much again.
Here each column is converted once with numpy, and rows are laid out with numpy *structured arrays*.

A binary COPY row is ``int16 field_count`` then, per field, ``int32 length`` (-1 = NULL) and ``length``
bytes. Rows whose variable-length fields (text) have the same lengths and whose NULLs sit in the same
columns have the same byte layout, so they form one structured dtype. Market data has few such layouts
(symbols are 3 letters, sides one letter, session names 3–4), so we group rows by layout — row order within
a COPY does not matter — and fill one structured array per group, column by column. When a frame has too
many layouts (free text, JSON), ``encode`` returns ``None`` and the caller falls back to ``write_row``.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"

_PG_EPOCH_DAYS = 10_957  # 2000-01-01 (PostgreSQL's epoch) in days since 1970-01-01
_PG_EPOCH_US = _PG_EPOCH_DAYS * 86_400 * 1_000_000

# PostgreSQL type oids we encode natively → numpy big-endian field dtype (None: variable length).
BOOL, INT2, INT4, INT8, FLOAT4, FLOAT8 = 16, 21, 23, 20, 700, 701
DATE, TIMESTAMP, TIMESTAMPTZ = 1082, 1114, 1184
TEXT, VARCHAR, BPCHAR, JSON, JSONB = 25, 1043, 1042, 114, 3802
TEXT_ARRAY = 1009  # text[]: a column of lists of str (or None), e.g. market.daily_bars.repaired
_FIXED: dict[int, str] = {
    BOOL: "?",
    INT2: ">i2",
    INT4: ">i4",
    INT8: ">i8",
    FLOAT4: ">f4",
    FLOAT8: ">f8",
    DATE: ">i4",
    TIMESTAMP: ">i8",
    TIMESTAMPTZ: ">i8",
}
_VARIABLE = {TEXT, VARCHAR, BPCHAR, JSON, JSONB, TEXT_ARRAY}
SUPPORTED_OIDS = frozenset(_FIXED) | _VARIABLE

# Beyond this many distinct row layouts per chunk the structured-array trick stops paying off.
MAX_LAYOUTS = 256
CHUNK_ROWS = 262_144  # bounds memory: one chunk's buffers are ~20 MB for a 10-column table


class EncodingError(ValueError):
    """A frame column cannot be converted to its table column's type; the message names both."""


@dataclass
class _Column:
    name: str
    dtype: str | None  # numpy field dtype for fixed-width; None for variable-length
    null: np.ndarray | None  # bool mask, None when the column has no NULLs
    values: np.ndarray | None = None  # fixed-width values (native endianness; numpy swaps on assignment)
    codes: np.ndarray | None = None  # variable-length: index into ``blobs`` per row (-1 = NULL)
    blobs: list[bytes] | None = None
    blob_len: np.ndarray | None = None  # int64 length per blob


def _null_mask(series: pd.Series) -> np.ndarray | None:
    mask = series.isna().to_numpy(dtype=bool)
    return mask if mask.any() else None


def _as_datetime64(series: pd.Series, column: str, want_tz: bool) -> np.ndarray:
    """datetime64[us] of UTC instants (tz-aware input) or wall-clock values (naive input)."""
    if not (pd.api.types.is_datetime64_any_dtype(series.dtype)):
        # Python datetimes / strings / Arrow timestamps: let pandas parse the distinct values only.
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        if want_tz:
            if any(getattr(u, "tzinfo", None) is None for u in uniques if not isinstance(u, str)):
                raise EncodingError(f"column {column!r} has naive timestamps for a timestamptz column")
            parsed = pd.to_datetime(pd.Index(uniques), utc=True)
        else:
            parsed = pd.to_datetime(pd.Index(uniques))
        series = pd.Series(parsed.take(codes, allow_fill=True, fill_value=pd.NaT))
    tz = getattr(series.dtype, "tz", None)
    if want_tz:
        if tz is None:
            raise EncodingError(
                f"column {column!r} holds naive timestamps for a timestamptz column: "
                "localize them (e.g. .dt.tz_localize('Asia/Ho_Chi_Minh')) so the instant is unambiguous"
            )
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    elif tz is not None:
        series = series.dt.tz_localize(None)  # timestamp without time zone keeps the wall clock
    return series.to_numpy(dtype="datetime64[us]")


def _as_dates(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        if getattr(series.dtype, "tz", None) is not None:
            series = series.dt.tz_localize(None)  # the local calendar date of an aware timestamp
        days = series.to_numpy(dtype="datetime64[D]")
    else:
        # python date objects (or strings, Arrow date32): convert each distinct value once
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        converted = pd.to_datetime(pd.Index(uniques)).to_numpy(dtype="datetime64[D]")
        if len(converted) == 0:
            converted = np.zeros(1, dtype="datetime64[D]")
        days = converted[np.where(codes < 0, 0, codes)]
    return days.astype(np.int64) - _PG_EPOCH_DAYS


def _as_numbers(series: pd.Series, column: str, oid: int, null: np.ndarray | None) -> np.ndarray:
    if oid == BOOL:
        return series.to_numpy(dtype=bool, na_value=False)
    integer = oid in (INT2, INT4, INT8)
    try:
        if integer and pd.api.types.is_float_dtype(series.dtype):
            raw = series.to_numpy(dtype=np.float64, na_value=0.0)
            raw = np.where(null, 0.0, raw) if null is not None else raw
            if not np.array_equal(raw, np.trunc(raw)):
                raise EncodingError(f"column {column!r} has fractional values for an integer column")
            return raw.astype(np.int64)
        target = np.int64 if integer else np.float64
        fill = 0 if integer else np.nan
        return series.to_numpy(dtype=target, na_value=fill)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, EncodingError):
            raise
        raise EncodingError(f"column {column!r}: cannot convert to a number ({exc})") from exc


def _text_array(value: object, column: str) -> bytes:
    """One text[] value in the binary array format: ndim, has-null flag, element oid, (size, lower bound) per
    dimension, then (length, bytes) per element; an empty list is the zero-dimensional empty array."""
    if isinstance(value, str) or not isinstance(value, (list, tuple, np.ndarray)):
        # a bare string would otherwise be split into letters: the caller meant a list
        raise EncodingError(f"column {column!r} is text[]: expected a list of str or None, got {value!r}")
    items = list(value)
    if not items:
        return struct.pack(">iii", 0, 0, TEXT)
    if not all(item is None or isinstance(item, str) for item in items):
        raise EncodingError(f"column {column!r} is text[]: elements must be str or None, got {items!r}")
    parts = [struct.pack(">iiiii", 1, int(None in items), TEXT, len(items), 1)]
    for item in items:
        if item is None:
            parts.append(struct.pack(">i", -1))
        else:
            encoded = item.encode()
            parts.append(struct.pack(">i", len(encoded)) + encoded)
    return b"".join(parts)


def _as_array_blobs(series: pd.Series, column: str) -> tuple[np.ndarray, list[bytes]]:
    """Codes and blobs for a text[] column; each distinct list is encoded once (a flag column has a handful)."""
    null = series.isna().to_numpy(dtype=bool)
    codes = np.full(len(series), -1, dtype=np.int64)
    seen: dict[tuple[object, ...], int] = {}
    blobs: list[bytes] = []
    for i, value in enumerate(series.astype(object).tolist()):
        if null[i]:
            continue
        key = tuple(value) if isinstance(value, (list, tuple, np.ndarray)) else (type(value), value)
        code = seen.get(key)
        if code is None:
            code = seen[key] = len(blobs)
            blobs.append(_text_array(value, column))
        codes[i] = code
    return codes, blobs


def _as_blobs(series: pd.Series, oid: int, column: str) -> tuple[np.ndarray, list[bytes]]:
    if oid == TEXT_ARRAY:
        return _as_array_blobs(series, column)
    if oid in (JSON, JSONB):
        # dicts are unhashable, so no factorize: one blob per row (JSON rarely needs the fast path)
        prefix = b"\x01" if oid == JSONB else b""  # jsonb binary format = version byte 1 + JSON text
        objects = series.astype(object).tolist()
        codes = np.arange(len(objects), dtype=np.int64)
        blobs = []
        for i, value in enumerate(objects):
            if value is None or (isinstance(value, float) and np.isnan(value)):
                codes[i] = -1
                blobs.append(b"")
            else:
                blobs.append(prefix + json.dumps(value, default=str, ensure_ascii=False).encode())
        return codes, blobs
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return codes.astype(np.int64, copy=False), [str(u).encode() for u in uniques]


def _encode_column(series: pd.Series, column: str, oid: int) -> _Column:
    null = _null_mask(series)
    if oid in _VARIABLE:
        codes, blobs = _as_blobs(series, oid, column)
        blobs = blobs or [b""]  # an all-NULL column still needs a length table to index (never picked)
        lengths = np.fromiter((len(b) for b in blobs), dtype=np.int64, count=len(blobs))
        null = codes < 0
        return _Column(column, None, null if null.any() else None, codes=codes, blobs=blobs, blob_len=lengths)
    if oid in (TIMESTAMP, TIMESTAMPTZ):
        micros = _as_datetime64(series, column, want_tz=oid == TIMESTAMPTZ).view(np.int64) - _PG_EPOCH_US
        return _Column(column, _FIXED[oid], null, values=micros)
    if oid == DATE:
        return _Column(column, _FIXED[oid], null, values=_as_dates(series))
    return _Column(column, _FIXED[oid], null, values=_as_numbers(series, column, oid, null))


def _layout_keys(columns: list[_Column], rows: slice) -> np.ndarray | None:
    """One int64 key per row identifying its byte layout (NULL positions + text lengths)."""
    key = np.zeros(rows.stop - rows.start, dtype=np.int64)
    radix = 1
    for col in columns:
        if col.dtype is None:
            assert col.codes is not None and col.blob_len is not None
            codes = col.codes[rows]
            part = np.where(codes < 0, 0, col.blob_len[np.maximum(codes, 0)] + 1)
            span = int(part.max(initial=0)) + 1
        elif col.null is not None:
            part = col.null[rows].astype(np.int64)
            span = 2
        else:
            continue
        if span > 1:
            if radix > (1 << 62) // span:
                return None  # too many combinations to number: not a frame for this encoder
            key += part * radix
            radix *= span
    return key


def _fill_group(columns: list[_Column], idx: np.ndarray, sample: int) -> np.ndarray:
    """A structured array holding the binary COPY rows ``idx`` (which all share row ``sample``'s layout)."""
    fields: list[tuple[str, str]] = [("n", ">i2")]
    plan: list[tuple[_Column, int, str | None]] = []
    for i, col in enumerate(columns):
        fields.append((f"l{i}", ">i4"))
        if col.dtype is None:
            assert col.codes is not None and col.blob_len is not None
            code = col.codes[sample]
            length = -1 if code < 0 else int(col.blob_len[code])
            if length > 0:
                fields.append((f"v{i}", f"S{length}"))
        else:
            length = -1 if col.null is not None and col.null[sample] else np.dtype(col.dtype).itemsize
            if length > 0:
                fields.append((f"v{i}", col.dtype))
        plan.append((col, length, f"v{i}" if length > 0 else None))
    out = np.empty(len(idx), dtype=np.dtype(fields))
    out["n"] = len(columns)
    for i, (col, length, field) in enumerate(plan):
        out[f"l{i}"] = length
        if field is None:
            continue
        if col.dtype is None:
            assert col.codes is not None and col.blobs is not None
            # S{length} table of blobs; only blobs of exactly this length are ever picked for this group
            table = np.array([b if len(b) == length else b"" for b in col.blobs], dtype=f"S{length}")
            out[field] = table[col.codes[idx]]
        else:
            assert col.values is not None
            out[field] = col.values[idx]
    return out


def encode(frame: pd.DataFrame, oids: list[int], cluster_by: str | None = None) -> Iterator[bytes | memoryview] | None:
    """Binary COPY data (signature, rows, trailer) for ``frame`` whose columns have type ``oids``.

    Rows are sent grouped by layout and, within a layout, ordered by ``cluster_by`` (stable, so an existing
    time order is kept): inserting (symbol, ts) index entries in key order instead of at random measured
    ~1.6x faster on the server, and the table ends up clustered by symbol for reads.

    Returns ``None`` when the frame is not suitable (an unsupported type or too many row layouts), in
    which case the caller should use ``write_row``. Raises ``EncodingError`` for values that do not fit.
    Rows are laid out lazily, chunk by chunk, while the COPY is already streaming.
    """
    if any(oid not in SUPPORTED_OIDS for oid in oids):
        return None
    columns = [
        _encode_column(frame.iloc[:, i], str(name), oid)
        for i, (name, oid) in enumerate(zip(frame.columns, oids, strict=True))
    ]
    keys = _layout_keys(columns, slice(0, len(frame)))
    if keys is None or len(np.unique(keys[:: max(1, len(keys) // 65_536)])) > MAX_LAYOUTS:
        return None
    sort_keys: list[np.ndarray] = []
    if cluster_by is not None and cluster_by in frame.columns:
        codes, _ = pd.factorize(frame[cluster_by], sort=True, use_na_sentinel=True)
        sort_keys.append(codes)
    order = np.lexsort((*sort_keys, keys)) if len(keys) else np.arange(0)
    return _stream(columns, order, keys[order])


def _stream(columns: list[_Column], order: np.ndarray, sorted_keys: np.ndarray) -> Iterator[bytes | memoryview]:
    yield SIGNATURE
    for start in range(0, len(order), CHUNK_ROWS):
        idx = order[start : start + CHUNK_ROWS]
        chunk_keys = sorted_keys[start : start + CHUNK_ROWS]
        bounds = np.flatnonzero(np.diff(chunk_keys)) + 1  # keys are sorted: each layout is one run
        for group in np.split(idx, bounds):
            yield memoryview(_fill_group(columns, group, int(group[0]))).cast("B")
    yield TRAILER


def python_rows(frame: pd.DataFrame, oids: list[int]) -> Iterator[tuple[Any, ...]]:
    """Fallback for ``write_row``: rows of plain Python values, NULLs as ``None``, JSON wrapped for psycopg."""
    from psycopg.types.json import Json, Jsonb

    lists: list[list[Any]] = []
    for i, oid in enumerate(oids):
        series = frame.iloc[:, i]
        values = series.astype(object).where(series.notna(), None).tolist()
        if oid == TEXT_ARRAY:  # psycopg dumps lists (not tuples or arrays) as arrays
            values = [None if v is None else list(v) for v in values]
        if oid in (JSON, JSONB):
            wrap = Jsonb if oid == JSONB else Json
            values = [None if v is None else wrap(v) for v in values]
        lists.append(values)
    return zip(*lists, strict=True)
