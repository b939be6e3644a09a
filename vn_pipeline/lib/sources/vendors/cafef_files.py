"""Importer for CafeF end-of-day exports (``PriceHistory.csv``, ``GDKhoiNgoai.csv``), one symbol per folder.

CafeF is the most common free source of Vietnamese end-of-day data. Its quirks (``shared/data/vn_real``):
UTF-8 BOM, dd/mm/yyyy dates, newest-first or oldest-first order, prices in thousands of VND, a partial
intraday snapshot as the newest row (``GiaDongCua = 0``), matched value in thousands of VND in the oldest
years, and foreign-flow files padded with all-zero rows. Rows that break a rule are returned in ``rejected``
(file, line, rule, reason, raw cells), never dropped silently; a bar with one bad price field is repaired and
kept, and its raw row is returned in ``rejected`` too (rule ``ohlc_field_repaired``, see :func:`repair_ohlc`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from vn_pipeline.lib.sources.vendors.csv_text import (
    CsvText,
    apply_checks,
    bar_price_checks,
    concat_rejected,
    parse_dates,
    read_csv_text,
    reject,
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
    "adjusted",
    "repaired",
    "value_was_kvnd",
)
REPAIRED_RULE = "ohlc_field_repaired"
FLOW_COLUMNS = (*columns.FOREIGN_FLOWS, *columns.FOREIGN_FLOW_EXTRAS)
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

    ``adjusted`` is False (the quoted series). ``repaired`` names the field :func:`repair_ohlc` changed
    (``["open"]``, ``["high"]`` or ``["low"]``), None for a bar as delivered.

    ``rejected``: the partial intraday snapshot (newest row with a zero close), other zero-price rows,
    OHLC-inconsistent rows no single-field repair explains and unparseable numbers; and the raw row of each
    repaired bar (rule ``ohlc_field_repaired``, the reason names the field and its values), which is also in
    ``prices``. ``symbol`` defaults to the folder name (CafeF layout ``<SYM>/PriceHistory.csv``).
    """
    path = Path(path)
    symbol = symbol or path.parent.name
    parsed_csv = read_csv_text(path, _PRICE_REQUIRED)
    raw = parsed_csv.rows
    dates = parse_dates(raw, "Ngay", "%d/%m/%Y")
    num = {c: pd.to_numeric(raw[c], errors="coerce") for c in _PRICE_REQUIRED if c != "Ngay"}
    prices_kvnd = pd.DataFrame({k: num[v] for k, v in _RAW_PRICES.items()})
    newest = dates == dates.max()
    fix = repair_ohlc(prices_kvnd)

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
        *_unrepairable(bar_price_checks(prices_kvnd), fix.rows),
        ("negative_volume_or_value", (pd.DataFrame(num)[_VOLUME_VALUE] < 0).any(axis=1), "must be ≥ 0"),
        ("duplicate_trading_date", dates.duplicated(keep="first"), "trading_date already seen"),
    ]
    good, rejected = apply_checks(path, parsed_csv, dates, symbol, checks)
    # Only a row that breaks no other rule is repaired; one that does is rejected under that rule alone.
    repaired_rows = fix.rows & good
    prices_kvnd = prices_kvnd.copy()
    prices_kvnd.loc[repaired_rows] = fix.prices.loc[repaired_rows]
    as_vnd = prices_kvnd * 1000
    if repaired_rows.any():
        rejected = concat_rejected([rejected, _repaired_rows(path, parsed_csv, dates, symbol, fix, repaired_rows)])
    repaired = [f if r else None for f, r in zip(fix.field[good], repaired_rows[good], strict=True)]

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
            "adjusted": False,  # open/high/low/close are the quoted prices; adj_close is the adjusted series
            "repaired": pd.Series([None if f is None else [f] for f in repaired], dtype=object),
            "value_was_kvnd": was_kvnd.fillna(False).to_numpy(dtype=bool),
        }
    )
    # CafeF files come newest-first or oldest-first depending on the export: normalise to ascending.
    prices = prices.sort_values("trading_date", kind="stable").reset_index(drop=True)
    return prices[list(PRICE_COLUMNS)], rejected


@dataclass(frozen=True)
class OhlcRepair:
    """What :func:`repair_ohlc` would change: per row of the input (same index)."""

    rows: pd.Series  # bool: the row breaks OHLC ordering in a way one field explains
    prices: pd.DataFrame  # open/high/low/close with that field repaired (other rows as given)
    field: pd.Series  # the repaired field's name, None elsewhere
    reason: pd.Series  # what was wrong and what it became, None elsewhere


def repair_ohlc(prices_kvnd: pd.DataFrame) -> OhlcRepair:
    """The one-field repair of bars whose OHLC ordering is broken, as far as the vendor's own numbers allow.

    The close is the trusted field: CafeF's adjusted close is computed from it and the next day's reference
    price is it, so it is never changed. Measured on all 123 real files (1,660 ``ohlc_inconsistent`` rows):

    - **open outside [low, high], close inside** (665 rows, 66 symbols, 454 on HOSE, 324 in 2009): in 477 of
      them the open equals the previous close, i.e. CafeF wrote the reference price where no opening match
      was recorded; 639 lie within 7% of the previous close, 10 are plain typos (VFC 2014-05-26: 10000 for
      10.0). The open is not a price the day traded at, so **the open is clamped into [low, high]** (to the
      nearer bound). Widening high/low to reach it instead would put a price that never traded into the range
      (and a 1000× high into every range feature for VFC's typo); the column is NOT NULL, so no null.
    - **close outside [low, high], open inside** (980 rows, 69 symbols, 642 on UPCoM, 269 on HNX): 710 have no
      matched volume and in 792 the close equals the previous close — UPCoM/HNX close on round-lot matches
      (or carry the reference when there are none) while high/low also cover odd-lot and put-through prints.
      The close stands, so **the bound it passes (high or low) is moved to the close**: the smallest change
      that makes the bar consistent, and it uses a price the vendor reported for the day (median 1.1%, at most
      30% away from the old bound).
    - Not repaired, rejected as before (``ohlc_inconsistent``): low > high (7 rows) or both open and close
      outside [low, high] (8): 13 of these 15 are one vendor day, 2018-07-31, whose high/low columns are
      scrambled across symbols; no single field explains them.
    """
    o, h, lo, c = (prices_kvnd[k] for k in ("open", "high", "low", "close"))
    ordered = lo <= h
    open_in = (o >= lo) & (o <= h)
    close_in = (c >= lo) & (c <= h)
    open_out = ordered & ~open_in & close_in
    above = ordered & open_in & (c > h)
    below = ordered & open_in & (c < lo)
    fixed = prices_kvnd[["open", "high", "low", "close"]].copy()
    fixed["open"] = fixed["open"].where(~open_out, o.clip(lower=lo, upper=h))
    fixed["high"] = fixed["high"].where(~above, c)
    fixed["low"] = fixed["low"].where(~below, c)
    field = pd.Series(np.select([open_out, above, below], ["open", "high", "low"], ""), index=prices_kvnd.index)
    reason = pd.Series(None, index=prices_kvnd.index, dtype=object)
    for i in np.flatnonzero(open_out | above | below):
        row = prices_kvnd.index[i]
        bar = f"(open {o[row]:g}, high {h[row]:g}, low {lo[row]:g}, close {c[row]:g} kVND)"
        if open_out[row]:
            new = fixed.at[row, "open"]
            reason[row] = f"open {o[row]:g} outside [low, high] with the close inside {bar}: open set to {new:g}"
        else:
            bound = "high" if above[row] else "low"
            reason[row] = f"close {c[row]:g} beyond the {bound} with the open inside {bar}: {bound} set to the close"
    rows = open_out | above | below
    return OhlcRepair(rows, fixed, field.where(rows, None), reason)


def _unrepairable(checks: list[tuple[str, pd.Series, str]], repairable: pd.Series) -> list[tuple[str, pd.Series, str]]:
    """The shared bar rules with the rows :func:`repair_ohlc` repairs taken out of ``ohlc_inconsistent``."""
    return [(rule, mask & ~repairable if rule == "ohlc_inconsistent" else mask, why) for rule, mask, why in checks]


def _repaired_rows(
    path: Path, parsed_csv: CsvText, dates: pd.Series, symbol: str, fix: OhlcRepair, rows: pd.Series
) -> pd.DataFrame:
    """The raw rows of repaired bars, for quarantine: the stored bar is not what the vendor delivered."""
    out = reject(path, parsed_csv.rows[rows], REPAIRED_RULE, "", trading_date=dates[rows].dt.date, symbol=symbol)
    out["reason"] = [f"bar kept, one field repaired: {why}" for why in fix.reason[rows]]
    return out


def read_cafef_foreign_flows(path: Path, symbol: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``GDKhoiNgoai.csv`` → ``(flows, rejected)`` in the ``market.foreign_flows`` layout, ascending dates.

    Volumes in shares, values in int64 VND, ``room_remaining`` in shares. Net flow is not stored (it is
    buy − sell); rows where the file's net columns disagree with buy − sell are rejected, as are the all-zero
    padding rows of early years (no data, not "foreigners traded nothing"). ``room_remaining`` can be
    negative (foreign ownership above the cap) and is kept as reported.

    ``ownership``: ``DangSoHuu`` (foreign ownership, % of shares) as a fraction; NaN where the cell is not a
    percentage: not a number, negative (−277.66 on ALV, 3,829 rows 2009-2021 in the real files) or above 100
    (share counts written in the percent column, 35 rows, ANV 2010-08-20: 4,152,617), or the file has no such
    column. A reported 0 stays 0: most are names without foreign holders.
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
    good, rejected = apply_checks(path, parsed_csv, dates, symbol, checks)
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
            "ownership": _ownership(raw)[good].to_numpy(dtype="float64"),
        }
    )
    flows = flows.sort_values("trading_date", kind="stable").reset_index(drop=True)
    return flows[list(FLOW_COLUMNS)], rejected


def _ownership(raw: pd.DataFrame) -> pd.Series:
    if "DangSoHuu" not in raw.columns:
        return pd.Series(np.nan, index=raw.index)
    percent = pd.to_numeric(raw["DangSoHuu"], errors="coerce").astype("float64")
    return (percent / 100.0).where((percent >= 0) & (percent <= 100))
