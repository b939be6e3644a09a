"""CafeF importer on the real exports in ../shared/data/vn_real/cafef (read in place)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vn_pipeline.lib.sources.vendors.cafef_files import (
    FLOW_COLUMNS,
    PRICE_COLUMNS,
    REPAIRED_RULE,
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
    dropped = rejected[rejected["rule"] != REPAIRED_RULE]  # a repaired bar is stored AND quarantined raw
    assert len(prices) + len(dropped) == len(raw)  # nothing dropped silently
    assert (prices["symbol"] == symbol).all()
    assert prices["trading_date"].is_monotonic_increasing and not prices["trading_date"].duplicated().any()
    for c in ("open", "high", "low", "close", "volume", "value"):
        assert prices[c].dtype == np.int64, c
    assert (prices[["open", "high", "low", "close"]] > 0).all().all()
    assert (prices["high"] >= prices[["open", "close", "low"]].max(axis=1)).all()
    assert set(rejected["rule"]) <= {"partial_snapshot", "ohlc_inconsistent", "zero_price", REPAIRED_RULE}


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


# --- per-field repair of OHLC-inconsistent bars ---------------------------------------------------------------

HEADER = (
    "Ngay,GiaDieuChinh,GiaDongCua,ThayDoi,KhoiLuongKhopLenh,GiaTriKhopLenh,KLThoaThuan,GtThoaThuan,"
    "GiaMoCua,GiaCaoNhat,GiaThapNhat"
)


def _file(tmp_path: Path, rows: list[str]) -> Path:
    """A CafeF PriceHistory.csv (oldest first) with the given rows: date,adj,close,vol,value,open,high,low."""
    lines = []
    for row in rows:
        day, adj, close, vol, value, o, h, lo = row.split(",")
        lines.append(f"{day},{adj},{close},0(0 %),{vol},{value},100,2000000,{o},{h},{lo}")
    (tmp_path / "TST").mkdir(exist_ok=True)
    path = tmp_path / "TST" / "PriceHistory.csv"
    path.write_text("\ufeff" + HEADER + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_vcb_open_below_low_is_clamped_and_the_raw_row_quarantined() -> None:
    # VCB 2019-07-19 (line 1525): open 75.9 under the day's low 76.4, close 79.0 inside [76.4, 79.8].
    prices, rejected = read_cafef_prices(CAFEF / "VCB" / "PriceHistory.csv")
    bar = prices[prices["trading_date"] == dt.date(2019, 7, 19)].iloc[0]
    assert bar[["open", "high", "low", "close"]].tolist() == [76_400, 79_800, 76_400, 79_000]
    assert bar["repaired"] == ["open"]
    assert bar["volume"] == 1_316_760 and bar["put_through_volume"] == 52_000
    quarantined = rejected[rejected["trading_date"] == dt.date(2019, 7, 19)]
    assert quarantined["rule"].tolist() == [REPAIRED_RULE]
    raw = quarantined.iloc[0]
    assert raw["line"] == 1525 and raw["row_data"]["GiaMoCua"] == "75.9"  # the vendor's row, unrepaired
    assert "open 75.9" in raw["reason"] and "open set to 76.4" in raw["reason"]
    # the other bars were delivered as they are
    assert prices["repaired"].isna().sum() == len(prices) - (rejected["rule"] == REPAIRED_RULE).sum()


def test_every_real_file_keeps_its_one_field_typos_and_rejects_the_rest() -> None:
    """All 123 tickers: 1,660 OHLC-inconsistent rows, 1,645 of which one field explains (see repair_ohlc)."""
    by_field: dict[str, int] = {}
    by_rule: dict[str, int] = {}
    for path in sorted(CAFEF.glob("*/PriceHistory.csv")):
        if path.parent.name == "VNINDEX":
            continue
        prices, rejected = read_cafef_prices(path)
        assert tuple(prices.columns) == PRICE_COLUMNS
        assert (prices["high"] >= prices[["open", "close", "low"]].max(axis=1)).all(), path
        assert (prices["low"] <= prices[["open", "close"]].min(axis=1)).all(), path
        repaired = prices["repaired"].dropna()
        for fields in repaired:
            by_field[fields[0]] = by_field.get(fields[0], 0) + 1
        for rule, n in rejected["rule"].value_counts().items():
            by_rule[str(rule)] = by_rule.get(str(rule), 0) + int(n)
        # one quarantine row per repaired bar, on the same symbol-day
        fixed_days = set(prices.loc[repaired.index, "trading_date"])
        assert fixed_days == set(rejected.loc[rejected["rule"] == REPAIRED_RULE, "trading_date"]), path
    assert by_field == {"open": 665, "high": 713, "low": 267}
    assert by_rule["ohlc_field_repaired"] == 1645 and by_rule["ohlc_inconsistent"] == 15
    assert by_rule["zero_price"] == 56


def test_repair_rules_on_generated_rows(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        [
            "02/01/2019,10.0,10.0,1000,10000000,10.0,10.0,10.0",  # consistent: as delivered
            "03/01/2019,10.2,10.2,1000,10200000,10.0,10.4,10.1",  # open under low, close inside → open 10.1
            "04/01/2019,10.3,10.3,1000,10300000,10.6,10.5,10.2",  # open above high → open 10.5
            "07/01/2019,10.9,10.9,0,0,10.3,10.3,10.3",  # close above high (no match) → high 10.9
            "08/01/2019,9.8,9.8,10,98000,10.3,10.3,10.0",  # close below low → low 9.8
            "09/01/2019,9.9,9.9,1000,9900000,9.9,9.5,10.0",  # low > high: rejected
            "10/01/2019,9.9,9.9,1000,9900000,10.5,10.2,10.1",  # open and close outside: rejected
            "11/01/2019,0.0,0.0,1000,9900000,10.5,10.2,10.1",  # zero price is the rule it breaks
        ],
    )
    prices, rejected = read_cafef_prices(path)
    bars = prices.set_index("trading_date")
    ohlc = ["open", "high", "low", "close"]
    assert bars.loc[dt.date(2019, 1, 2), ohlc].tolist() == [10_000, 10_000, 10_000, 10_000]
    assert bars.loc[dt.date(2019, 1, 2), "repaired"] is None
    assert bars.loc[dt.date(2019, 1, 3), ohlc].tolist() == [10_100, 10_400, 10_100, 10_200]
    assert bars.loc[dt.date(2019, 1, 4), ohlc].tolist() == [10_500, 10_500, 10_200, 10_300]
    assert bars.loc[dt.date(2019, 1, 7), ohlc].tolist() == [10_300, 10_900, 10_300, 10_900]
    assert bars.loc[dt.date(2019, 1, 8), ohlc].tolist() == [10_300, 10_300, 9_800, 9_800]
    assert bars["repaired"].tolist() == [None, ["open"], ["open"], ["high"], ["low"]]
    assert bars["put_through_volume"].tolist() == [100] * 5 and bars["put_through_value"].tolist() == [2_000_000] * 5
    assert not bars["adjusted"].any()
    assert bars.loc[dt.date(2019, 1, 7), "volume"] == 0  # the no-match day stays a no-match day
    rules = dict(zip(rejected["trading_date"], rejected["rule"], strict=True))
    assert rules == {
        dt.date(2019, 1, 3): REPAIRED_RULE,
        dt.date(2019, 1, 4): REPAIRED_RULE,
        dt.date(2019, 1, 7): REPAIRED_RULE,
        dt.date(2019, 1, 8): REPAIRED_RULE,
        dt.date(2019, 1, 9): "ohlc_inconsistent",
        dt.date(2019, 1, 10): "ohlc_inconsistent",
        dt.date(2019, 1, 11): "partial_snapshot",  # newest row with a zero close
    }
    reasons = dict(zip(rejected["trading_date"], rejected["reason"], strict=True))
    assert "close 10.9 beyond the high" in reasons[dt.date(2019, 1, 7)]
    assert "high set to the close" in reasons[dt.date(2019, 1, 7)]
    assert "low set to the close" in reasons[dt.date(2019, 1, 8)]
    assert rejected.loc[rejected["trading_date"] == dt.date(2019, 1, 4), "row_data"].iloc[0]["GiaMoCua"] == "10.6"


def test_a_repairable_row_that_breaks_another_rule_is_rejected_not_repaired(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        [
            "02/01/2019,10.2,10.2,1000,10200000,10.0,10.4,10.1",
            "02/01/2019,10.2,10.2,1000,10200000,10.0,10.4,10.1",  # same day again: a duplicate
            "03/01/2019,10.2,10.2,-5,10200000,10.0,10.4,10.1",  # negative volume
        ],
    )
    prices, rejected = read_cafef_prices(path)
    assert prices["trading_date"].tolist() == [dt.date(2019, 1, 2)] and prices["repaired"].tolist() == [["open"]]
    assert sorted(rejected["rule"]) == sorted([REPAIRED_RULE, "duplicate_trading_date", "negative_volume_or_value"])
    assert rejected.loc[rejected["rule"] == REPAIRED_RULE, "line"].tolist() == [2]
