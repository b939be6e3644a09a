"""CafeF importer on the real exports in ../shared/data/vn_real/cafef (read in place)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vn_pipeline.lib.sources.vendors.cafef_files import (
    FLOW_COLUMNS,
    read_cafef_foreign_flows,
    read_cafef_prices,
)
from vn_pipeline.lib.sources.vendors.csv_text import VendorFileError
from vn_pipeline_tests.real_data import VN_REAL, needs_vn_real

CAFEF = VN_REAL / "cafef"
SYMBOLS = ("VCB", "ACB", "VNM")

pytestmark = needs_vn_real


def _raw(symbol: str, name: str) -> pd.DataFrame:
    return pd.read_csv(CAFEF / symbol / name, encoding="utf-8-sig")


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_prices_parse_ascending_with_integer_vnd(symbol: str) -> None:
    prices, rejected = read_cafef_prices(CAFEF / symbol / "PriceHistory.csv")
    raw = _raw(symbol, "PriceHistory.csv")
    assert len(prices) + len(rejected) == len(raw)  # nothing dropped silently
    assert (prices["symbol"] == symbol).all()
    assert prices["trading_date"].is_monotonic_increasing and not prices["trading_date"].duplicated().any()
    for c in ("open", "high", "low", "close", "volume", "value"):
        assert prices[c].dtype == np.int64, c
    assert (prices[["open", "high", "low", "close"]] > 0).all().all()
    assert (prices["high"] >= prices[["open", "close", "low"]].max(axis=1)).all()
    assert set(rejected["rule"]) <= {"partial_snapshot", "ohlc_inconsistent", "zero_price"}


def test_both_sort_orders_end_ascending() -> None:
    # VCB is exported newest-first, ACB oldest-first; both come out oldest-first.
    assert _raw("VCB", "PriceHistory.csv")["Ngay"].iloc[0] == "25/08/2025"
    assert _raw("ACB", "PriceHistory.csv")["Ngay"].iloc[0] == "27/12/2006"
    vcb, _ = read_cafef_prices(CAFEF / "VCB" / "PriceHistory.csv")
    acb, _ = read_cafef_prices(CAFEF / "ACB" / "PriceHistory.csv")
    assert vcb["trading_date"].iloc[0] == dt.date(2009, 6, 30)
    assert vcb["trading_date"].iloc[-1] == dt.date(2025, 8, 22)
    assert acb["trading_date"].iloc[0] == dt.date(2006, 12, 27)


@pytest.mark.parametrize(
    ("symbol", "line", "day"), [("VCB", 2, dt.date(2025, 8, 25)), ("ACB", 4649, dt.date(2025, 8, 26))]
)
def test_newest_zero_close_row_is_a_rejected_partial_snapshot(symbol: str, line: int, day: dt.date) -> None:
    prices, rejected = read_cafef_prices(CAFEF / symbol / "PriceHistory.csv")
    snap = rejected[rejected["rule"] == "partial_snapshot"]
    assert snap["line"].tolist() == [line]
    assert snap["trading_date"].tolist() == [day]
    assert "GiaDongCua = 0" in snap["reason"].iloc[0]
    assert day not in set(prices["trading_date"])


def test_vcb_stock_dividend_adjustment() -> None:
    # 49.5% stock dividend, ex-date 2025-03-12: raw close 96.8 → 66.7 kVND.
    prices, _ = read_cafef_prices(CAFEF / "VCB" / "PriceHistory.csv")
    by_day = prices.set_index("trading_date")
    before, ex = by_day.loc[dt.date(2025, 3, 11)], by_day.loc[dt.date(2025, 3, 12)]
    assert before["close"] == 96_800 and ex["close"] == 66_700
    assert before["adj_close"] == pytest.approx(96_800 / 1.495, abs=10)  # CafeF rounds to 0.01 kVND
    assert ex["adj_close"] == ex["close"]
    assert before["value"] == 351_029_000_000 and before["volume"] == 3_640_200


def test_vnm_2006_values_in_thousands_are_rescaled() -> None:
    prices, _ = read_cafef_prices(CAFEF / "VNM" / "PriceHistory.csv")
    first = prices.iloc[0]  # 19/01/2006: 109,350 shares at 53 kVND, value written as 5,795,550 (kVND)
    assert first["trading_date"] == dt.date(2006, 1, 19)
    assert first["value_was_kvnd"] and first["value"] == 5_795_550_000
    rescaled = prices[prices["value_was_kvnd"]]
    assert rescaled["trading_date"].max() < dt.date(2007, 1, 1)
    ok = prices[(prices["volume"] > 0) & (prices["value"] > 0)]
    vwap = ok["value"] / ok["volume"]
    inside = (vwap >= ok["low"] * 0.8) & (vwap <= ok["high"] * 1.2)
    assert inside.mean() > 0.99  # value and prices now share one unit


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_foreign_flows_net_is_buy_minus_sell(symbol: str) -> None:
    flows, rejected = read_cafef_foreign_flows(CAFEF / symbol / "GDKhoiNgoai.csv")
    raw = _raw(symbol, "GDKhoiNgoai.csv")
    assert tuple(flows.columns) == FLOW_COLUMNS
    assert len(flows) + len(rejected) == len(raw)
    assert set(rejected["rule"]) <= {"all_zero_padding"}
    assert flows["trading_date"].is_monotonic_increasing and not flows["trading_date"].duplicated().any()
    merged = flows.merge(
        raw.assign(trading_date=pd.to_datetime(raw["Ngay"], format="%d/%m/%Y").dt.date)[
            ["trading_date", "KLGDRong", "GTDGRong"]
        ],
        on="trading_date",
    )
    assert len(merged) == len(flows)
    assert (merged["buy_volume"] - merged["sell_volume"] == merged["KLGDRong"]).all()
    assert ((merged["buy_value"] - merged["sell_value"]) - merged["GTDGRong"]).abs().max() < 1


def test_all_zero_padding_rows_are_rejected_but_room_full_days_kept() -> None:
    flows, rejected = read_cafef_foreign_flows(CAFEF / "ACB" / "GDKhoiNgoai.csv")
    assert (rejected["rule"] == "all_zero_padding").sum() == 484
    assert rejected["trading_date"].min() == dt.date(2007, 2, 1)
    # 2009-01-02: no foreign trades, room 0, ownership at the 30% bank cap — real data, kept.
    day = flows[flows["trading_date"] == dt.date(2009, 1, 2)].iloc[0]
    assert day[["buy_volume", "sell_volume", "room_remaining"]].tolist() == [0, 0, 0]


def test_vcb_latest_flow_values() -> None:
    flows, _ = read_cafef_foreign_flows(CAFEF / "VCB" / "GDKhoiNgoai.csv")
    day = flows[flows["trading_date"] == dt.date(2025, 8, 25)].iloc[0]
    assert day["buy_volume"] == 836_200 and day["sell_volume"] == 1_975_200
    assert day["buy_value"] == 53_363_390_000 and day["sell_value"] == 127_889_670_000
    assert day["room_remaining"] == 679_957_173


def test_bad_number_is_rejected_with_its_line(tmp_path: Path) -> None:
    lines = (CAFEF / "VNM" / "PriceHistory.csv").read_text(encoding="utf-8-sig").splitlines()
    cells = lines[2].split(",")  # line 3: 20/01/2006
    cells[9] = "n/a"  # GiaCaoNhat
    lines[2] = ",".join(cells)
    (tmp_path / "VNM").mkdir()
    broken = tmp_path / "VNM" / "PriceHistory.csv"
    broken.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    prices, rejected = read_cafef_prices(broken)
    bad = rejected[rejected["rule"] == "unparseable_number"]
    assert bad["line"].tolist() == [3] and bad["symbol"].iloc[0] == "VNM"
    assert dt.date(2006, 1, 20) not in set(prices["trading_date"])


def test_missing_column_raises(tmp_path: Path) -> None:
    raw = _raw("VCB", "GDKhoiNgoai.csv").drop(columns=["KLBan"])
    broken = tmp_path / "GDKhoiNgoai.csv"
    raw.to_csv(broken, index=False)
    with pytest.raises(VendorFileError, match="missing_columns") as info:
        read_cafef_foreign_flows(broken, symbol="VCB")
    assert info.value.path == broken
