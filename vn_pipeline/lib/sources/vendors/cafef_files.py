"""Importer for CafeF end-of-day exports (``PriceHistory.csv``, ``GDKhoiNgoai.csv``), one symbol per folder.

CafeF is the most common free source of Vietnamese end-of-day data. Its quirks (``shared/data/vn_real``):
UTF-8 BOM, dd/mm/yyyy dates, newest-first or oldest-first order, prices in thousands of VND, a partial
intraday snapshot as the newest row (``GiaDongCua = 0``), matched value in thousands of VND in the oldest
years, and foreign-flow files padded with all-zero rows. Rows that break a rule are returned in ``rejected``
(file, line, rule, reason, raw cells), never dropped silently.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from vn_pipeline.lib.sources.vendors.csv_text import (
    CsvText,
    bar_price_checks,
    concat_rejected,
    parse_dates,
    read_csv_text,
    reject,
    reject_lines,
)
from vn_pipeline.lib.warehouse import columns

PRICE_COLUMNS: tuple[str, ...] = (
    "trading_date",
    "symbol",
    "open",
    "high",
    "low",
    "close",
    "adj_close",
    "volume",
    "value",
    "put_through_volume",
    "put_through_value",
    "value_was_kvnd",
)
FLOW_COLUMNS = columns.FOREIGN_FLOWS
_PRICE_REQUIRED = (
    "Ngay",
    "GiaDieuChinh",
    "GiaDongCua",
    "KhoiLuongKhopLenh",
    "GiaTriKhopLenh",
    "KLThoaThuan",
    "GtThoaThuan",
    "GiaMoCua",
    "GiaCaoNhat",
    "GiaThapNhat",
)
_FLOW_REQUIRED = ("Ngay", "KLGDRong", "GTDGRong", "KLMua", "GtMua", "KLBan", "GtBan", "RoomConLai")
_RAW_PRICES = {"open": "GiaMoCua", "high": "GiaCaoNhat", "low": "GiaThapNhat", "close": "GiaDongCua"}
_VOLUME_VALUE = ["KhoiLuongKhopLenh", "GiaTriKhopLenh", "KLThoaThuan", "GtThoaThuan"]


def read_cafef_prices(path: Path, symbol: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``PriceHistory.csv`` → ``(prices, rejected)``, prices in ascending date order.

    ``prices``: open/high/low/close are the raw exchange prices in int64 VND; ``adj_close`` is CafeF's
    adjusted close in (float) VND — adjusted open/high/low are raw × adj_close / close; ``volume``/``value``
    are the matched (order-book) volume and VND value, ``put_through_*`` the negotiated deals.
    ``value_was_kvnd`` marks rows whose value CafeF reported in thousands of VND (VNM in 2006: value/volume
    lands between low and high in kVND) and that were multiplied by 1000 here.

    ``rejected``: the partial intraday snapshot (newest row with a zero close), other zero-price rows,
    OHLC-inconsistent rows and unparseable numbers. ``symbol`` defaults to the folder name (CafeF layout
    ``<SYM>/PriceHistory.csv``).
    """
    path = Path(path)
    symbol = symbol or path.parent.name
    parsed_csv = read_csv_text(path, _PRICE_REQUIRED)
    raw = parsed_csv.rows
    dates = parse_dates(raw, "Ngay", "%d/%m/%Y")
    num = {c: pd.to_numeric(raw[c], errors="coerce") for c in _PRICE_REQUIRED if c != "Ngay"}
    prices_kvnd = pd.DataFrame({k: num[v] for k, v in _RAW_PRICES.items()})
    as_vnd = prices_kvnd * 1000
    newest = dates == dates.max()

    checks: list[tuple[str, pd.Series, str]] = [
        ("unparseable_trading_date", dates.isna(), "Ngay is not dd/mm/yyyy"),
        (
            "unparseable_number",
            ~np.isfinite(pd.DataFrame(num).astype("float64")).all(axis=1),
            "a price, volume or value is not a number",
        ),
        (
            "partial_snapshot",
            newest & (num["GiaDongCua"] == 0),
            "newest row has GiaDongCua = 0: an intraday snapshot taken before the close, not a daily bar",
        ),
        ("zero_price", (prices_kvnd <= 0).any(axis=1), "a raw open/high/low/close is zero or negative"),
        ("non_positive_adj_close", num["GiaDieuChinh"] <= 0, "adjusted close must be > 0"),
        *bar_price_checks(prices_kvnd),
        ("negative_volume_or_value", (pd.DataFrame(num)[_VOLUME_VALUE] < 0).any(axis=1), "must be ≥ 0"),
        ("duplicate_trading_date", dates.duplicated(keep="first"), "trading_date already seen"),
    ]
    good, rejected = _apply_checks(path, parsed_csv, dates, symbol, checks)

    volume = num["KhoiLuongKhopLenh"][good]
    value = num["GiaTriKhopLenh"][good]
    # value/volume is a VWAP: inside [low, high] in kVND means the value column was in kVND on that row.
    vwap = value / volume.where(volume > 0)
    was_kvnd = (vwap >= prices_kvnd["low"][good]) & (vwap <= prices_kvnd["high"][good])
    value_vnd = value.where(~was_kvnd, value * 1000)

    prices = pd.DataFrame(
        {
            "trading_date": pd.Series(list(dates[good].dt.date), dtype=object),
            "symbol": pd.Series([symbol] * int(good.sum()), dtype=object),
            **{c: np.rint(as_vnd.loc[good, c].to_numpy()).astype("int64") for c in _RAW_PRICES},
            "adj_close": (num["GiaDieuChinh"][good] * 1000).to_numpy(dtype="float64"),
            "volume": volume.to_numpy().astype("int64"),
            "value": np.rint(value_vnd.to_numpy()).astype("int64"),
            "put_through_volume": num["KLThoaThuan"][good].to_numpy().astype("int64"),
            "put_through_value": np.rint(num["GtThoaThuan"][good].to_numpy()).astype("int64"),
            "value_was_kvnd": was_kvnd.fillna(False).to_numpy(dtype=bool),
        }
    )
    # CafeF files come newest-first or oldest-first depending on the export: normalise to ascending.
    prices = prices.sort_values("trading_date", kind="stable").reset_index(drop=True)
    return prices[list(PRICE_COLUMNS)], rejected


def read_cafef_foreign_flows(path: Path, symbol: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``GDKhoiNgoai.csv`` → ``(flows, rejected)`` in the ``market.foreign_flows`` layout, ascending dates.

    Volumes in shares, values in int64 VND, ``room_remaining`` in shares. Net flow is not stored (it is
    buy − sell); rows where the file's net columns disagree with buy − sell are rejected, as are the all-zero
    padding rows of early years (no data, not "foreigners traded nothing"). ``room_remaining`` can be
    negative (foreign ownership above the cap) and is kept as reported.
    """
    path = Path(path)
    symbol = symbol or path.parent.name
    parsed_csv = read_csv_text(path, _FLOW_REQUIRED)
    raw = parsed_csv.rows
    dates = parse_dates(raw, "Ngay", "%d/%m/%Y")
    num = pd.DataFrame({c: pd.to_numeric(raw[c], errors="coerce") for c in _FLOW_REQUIRED if c != "Ngay"})
    # Zero flows with zero room are real when the room is full (ACB at its 30% bank cap, 2009-2025):
    # only a row whose ownership share is also 0 is padding.
    padding = (num == 0).all(axis=1)
    if "DangSoHuu" in raw.columns:
        padding &= pd.to_numeric(raw["DangSoHuu"], errors="coerce") == 0

    checks: list[tuple[str, pd.Series, str]] = [
        ("unparseable_trading_date", dates.isna(), "Ngay is not dd/mm/yyyy"),
        ("unparseable_number", ~np.isfinite(num.astype("float64")).all(axis=1), "a field is not a number"),
        ("all_zero_padding", padding, "every field is 0 (ownership too): padding row, no data for the day"),
        (
            "negative_flow",
            # RoomConLai may be negative: ownership above the cap (ACB 2021) is a fact, not a parse error
            (num[["KLMua", "GtMua", "KLBan", "GtBan"]] < 0).any(axis=1),
            "buy/sell volume and value must be ≥ 0",
        ),
        (
            "net_volume_mismatch",
            num["KLGDRong"] != num["KLMua"] - num["KLBan"],
            "KLGDRong must equal KLMua − KLBan",
        ),
        (
            # values are written with a trailing '.0' in some files: compare to the VND
            "net_value_mismatch",
            (num["GTDGRong"] - (num["GtMua"] - num["GtBan"])).abs() > 0.5,
            "GTDGRong must equal GtMua − GtBan",
        ),
        ("duplicate_trading_date", dates.duplicated(keep="first"), "trading_date already seen"),
    ]
    good, rejected = _apply_checks(path, parsed_csv, dates, symbol, checks)
    kept = num[good]
    flows = pd.DataFrame(
        {
            "trading_date": pd.Series(list(dates[good].dt.date), dtype=object),
            "symbol": pd.Series([symbol] * int(good.sum()), dtype=object),
            "buy_volume": kept["KLMua"].to_numpy().astype("int64"),
            "sell_volume": kept["KLBan"].to_numpy().astype("int64"),
            "buy_value": np.rint(kept["GtMua"].to_numpy()).astype("int64"),
            "sell_value": np.rint(kept["GtBan"].to_numpy()).astype("int64"),
            "room_remaining": kept["RoomConLai"].to_numpy().astype("int64"),
        }
    )
    flows = flows.sort_values("trading_date", kind="stable").reset_index(drop=True)
    return flows[list(FLOW_COLUMNS)], rejected


def _apply_checks(
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
