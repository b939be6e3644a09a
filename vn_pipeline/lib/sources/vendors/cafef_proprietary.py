"""Importer for CafeF proprietary (broker own-account) flows, ``GDTuDoanh.csv``, one symbol per folder.

``GDTuDoanh.csv`` (2022-11 → 2025-08 in ``shared/data/vn_real/cafef``): ``Symbol, Date, KLcpMua, KlcpBan, GtMua,
GtBan`` — shares and VND bought and sold by securities companies for their own account. The file is sparse: a
liquid name (VCB) has a row every session, a small one (ADS) a row only on the days a desk traded it, so a day
without a row is not a day the vendor has no record of. Measured on the 40 stock files: 5,205 rows with VNINDEX's
market-wide file, 4 rejected (``volume_value_mismatch``: a side with shares but no VND, ACB 2023-01-10 sold
10,441,605 shares for 0 VND); 6 all-zero rows are kept (a reported zero is a flow of zero).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from vn_pipeline.lib.sources.vendors.csv_text import (
    apply_checks,
    parse_dates,
    read_csv_text,
)
from vn_pipeline.lib.warehouse import columns

PROPRIETARY_COLUMNS = columns.PROPRIETARY_FLOWS
OWNERSHIP_COLUMNS: tuple[str, ...] = ("trading_date", "symbol", "ownership")
_REQUIRED = ("Symbol", "Date", "KLcpMua", "KlcpBan", "GtMua", "GtBan")
_NUMBERS = {"buy_volume": "KLcpMua", "sell_volume": "KlcpBan", "buy_value": "GtMua", "sell_value": "GtBan"}


def read_cafef_proprietary_flows(path: Path, symbol: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``GDTuDoanh.csv`` → ``(flows, rejected)`` in the ``market.proprietary_flows`` layout, ascending dates.

    Volumes in shares, values in int64 VND (the file's values are already VND, unlike its prices elsewhere).
    ``rejected`` (file, line, rule, reason, raw cells): unparseable dates or numbers, negative or fractional
    share counts, a side with shares but no value or value but no shares, a ``Symbol`` cell naming another
    symbol than the folder, and repeated dates (the first row of a date is kept). ``symbol`` defaults to the
    folder name (CafeF layout ``<SYM>/GDTuDoanh.csv``).
    """
    path = Path(path)
    symbol = symbol or path.parent.name
    parsed_csv = read_csv_text(path, _REQUIRED)
    raw = parsed_csv.rows
    dates = parse_dates(raw, "Date", "%d/%m/%Y")
    num = pd.DataFrame({k: pd.to_numeric(raw[v], errors="coerce") for k, v in _NUMBERS.items()})
    volumes = num[["buy_volume", "sell_volume"]]
    checks: list[tuple[str, pd.Series, str]] = [
        ("unparseable_trading_date", dates.isna(), "Date is not dd/mm/yyyy"),
        ("unparseable_number", ~np.isfinite(num.astype("float64")).all(axis=1), "a volume or value is not a number"),
        (
            # a mislabelled row would put another company's desk trading on this symbol
            "symbol_mismatch",
            raw["Symbol"].str.upper() != symbol.upper(),
            f"the Symbol cell is not the folder's symbol {symbol}",
        ),
        ("negative_flow", (num < 0).any(axis=1), "buy/sell volume and value must be ≥ 0"),
        ("fractional_volume", (volumes != np.floor(volumes)).any(axis=1), "share counts must be whole numbers"),
        (
            # shares without VND (ACB 2023-01-10: 10.4 M shares sold for 0 VND) cannot both be right
            "volume_value_mismatch",
            ((num["buy_volume"] == 0) != (num["buy_value"] == 0))
            | ((num["sell_volume"] == 0) != (num["sell_value"] == 0)),
            "a side has shares but no value, or value but no shares",
        ),
        ("duplicate_trading_date", dates.duplicated(keep="first"), "trading_date already seen"),
    ]
    good, rejected = apply_checks(path, parsed_csv, dates, symbol, checks)
    kept = num[good]
    flows = pd.DataFrame(
        {
            "trading_date": pd.Series(list(dates[good].dt.date), dtype=object),
            "symbol": pd.Series([symbol] * int(good.sum()), dtype=object),
            **{name: np.rint(kept[name].to_numpy()).astype("int64") for name in _NUMBERS},
        }
    )
    flows = flows.sort_values("trading_date", kind="stable").reset_index(drop=True)
    return flows[list(PROPRIETARY_COLUMNS)], rejected
