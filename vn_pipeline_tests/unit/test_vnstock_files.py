"""vnstock (VCI) importer on the real, messy vendor files in ../shared/data/vn_real (read in place)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vn_pipeline.lib.sources.vendors.csv_text import VendorFileError
from vn_pipeline.lib.sources.vendors.vnstock_files import (
    DAILY_BAR_COLUMNS,
    RAW_TICK_COLUMNS,
    estimate_daily_value,
    read_daily_bars_dir,
    read_daily_bars_file,
    read_intraday_file,
)
from vn_pipeline_tests.real_data import VN_REAL, needs_vn_real

VCI = VN_REAL / "vnstock_vci"
INTRADAY_FILES = sorted((VCI / "intraday").glob("*.csv"))

pytestmark = needs_vn_real

# Files capped at ~2,000 trades that start mid-session: first accumulated_volume − first volume.
GAP_FILES = {"HPG": 8_311_400, "TCB": 228_800, "MWG": 1_377_500, "VGI": 305_900}


@pytest.fixture(scope="module")
def parsed() -> dict[str, object]:
    return {p.stem: read_intraday_file(p) for p in INTRADAY_FILES}


def test_every_intraday_file_parses_into_the_raw_ticks_layout(parsed: dict) -> None:
    assert len(parsed) == len(INTRADAY_FILES) >= 100
    for symbol, f in parsed.items():
        t = f.ticks
        assert tuple(t.columns) == RAW_TICK_COLUMNS, symbol
        assert str(t["ts"].dtype) == "datetime64[ns, Asia/Ho_Chi_Minh]"
        assert t["seq"].dtype == np.int32 and t["price"].dtype == np.int64 and t["volume"].dtype == np.int64
        assert len(f.rejected) == 0, (symbol, f.rejected.head())
        assert len(t) > 0 and f.symbol == symbol and (t["symbol"] == symbol).all()
        assert (t["trading_date"] == f.trading_date).all()
        assert (t["ts"].dt.date == f.trading_date).all()
        assert set(t["side"].dropna()) <= {"B", "S"}
        assert set(t["session"]) <= {"ATO", "CONT", "ATC", "PLO"}


def test_prices_are_whole_vnd_on_the_10_vnd_grid(parsed: dict) -> None:
    for symbol, f in parsed.items():
        assert (f.ticks["price"] % 10 == 0).all(), symbol
        assert (f.ticks["price"] > 0).all()


def test_price_is_exact_thousands_conversion() -> None:
    f = read_intraday_file(VCI / "intraday" / "HPG.csv")
    first = f.ticks.iloc[0]
    # first line of the file: 2026-02-13 13:18:47,26.95,5100,sell,...
    assert first["price"] == 26_950 and first["volume"] == 5_100 and first["side"] == "S"
    assert first["ts"] == pd.Timestamp("2026-02-13 13:18:47", tz="Asia/Ho_Chi_Minh")


def test_seq_follows_time_and_vendor_running_total(parsed: dict) -> None:
    for symbol, f in parsed.items():
        t = f.ticks
        assert (t["seq"].to_numpy() == np.arange(len(t))).all(), symbol
        assert t["ts"].is_monotonic_increasing, symbol


def test_same_second_disorder_is_fixed_by_accumulated_volume() -> None:
    # DGW lines 103/104 (09:42:55) are out of order in the file: accumulated 134200 before 134100.
    t = read_intraday_file(VCI / "intraday" / "DGW.csv").ticks
    same_second = t[t["ts"] == pd.Timestamp("2026-02-13 09:42:55", tz="Asia/Ho_Chi_Minh")]
    assert same_second["volume"].tolist() == [500, 100]


def test_complete_files_sum_to_the_final_accumulated_volume(parsed: dict) -> None:
    complete = [f for f in parsed.values() if f.complete]
    assert len(complete) >= 80  # 87 of 103 on the pinned snapshot
    for f in complete:
        assert int(f.ticks["volume"].sum()) == f.vendor_final_accumulated_volume, f.symbol
    # Accounting identity for every file: rows + gap before the first row + gaps inside = vendor total.
    for f in parsed.values():
        total = int(f.ticks["volume"].sum()) + f.missing_volume_before_first + f.missing_volume_within
        assert total == f.vendor_final_accumulated_volume, f.symbol


def test_bkc_complete_file_known_totals() -> None:
    f = read_intraday_file(VCI / "intraday" / "BKC.csv")
    assert f.complete and f.complete_from_open
    assert f.vendor_final_accumulated_volume == 50_400 == int(f.ticks["volume"].sum())
    assert f.trading_date == dt.date(2026, 2, 23)


@pytest.mark.parametrize(("symbol", "missing"), sorted(GAP_FILES.items()))
def test_gap_files_are_flagged_with_missing_volume(parsed: dict, symbol: str, missing: int) -> None:
    if symbol not in parsed:
        pytest.skip(f"{symbol}.csv not in this snapshot")
    f = parsed[symbol]
    assert not f.complete_from_open and not f.complete
    assert f.missing_volume_before_first == missing


def test_files_with_internal_gaps_are_complete_from_open_but_not_complete(parsed: dict) -> None:
    # ANV's feed skipped a 100-share trade at 14:15:07 (accumulated volume jumps by 200 on a 100 row).
    f = parsed["ANV"]
    assert f.complete_from_open and not f.complete and f.missing_volume_within == 100


def test_auction_prints_have_no_side_and_an_auction_session() -> None:
    # ANV: an 'ato' print and an unlabelled print at 09:15:07, an 'atc' print at 14:45:04.
    t = read_intraday_file(VCI / "intraday" / "ANV.csv", exchange="HOSE").ticks
    auctions = t[t["side"].isna()]
    assert auctions["session"].tolist() == ["ATO", "ATO", "ATC"]
    assert auctions["volume"].tolist() == [87_700, 41_600, 22_300]


def test_exchange_drives_post_close_session() -> None:
    # DCV trades at 14:49:21: HNX's post-close (PLO) session; without an exchange it stays CONT.
    with_exchange = read_intraday_file(VCI / "intraday" / "DCV.csv", exchange="HNX").ticks
    assert with_exchange["session"].iloc[-1] == "PLO"
    without = read_intraday_file(VCI / "intraday" / "DCV.csv").ticks
    assert without["session"].iloc[-1] == "CONT"


def test_bad_price_on_line_n_is_rejected_and_good_rows_survive(tmp_path: Path) -> None:
    source = VCI / "intraday" / "BKC.csv"
    lines = source.read_text(encoding="utf-8-sig").splitlines()
    n = 10  # 1-based line number in the file (line 1 is the header)
    cells = lines[n - 1].split(",")
    cells[1] = "2x.5"
    lines[n - 1] = ",".join(cells)
    broken = tmp_path / "BKC.csv"
    broken.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")

    f = read_intraday_file(broken)
    assert f.rejected["line"].tolist() == [n]
    row = f.rejected.iloc[0]
    assert row["rule"] == "unparseable_price" and row["file"] == str(broken)
    assert row["row_data"]["price"] == "2x.5" and row["symbol"] == "BKC"
    assert len(f.ticks) == len(lines) - 2  # header and the bad row
    assert not f.complete  # a rejected row means the day is not fully accounted for


def test_missing_column_raises_naming_the_file(tmp_path: Path) -> None:
    source = VCI / "intraday" / "BKC.csv"
    frame = pd.read_csv(source, encoding="utf-8-sig").drop(columns=["accumulated_volume"])
    broken = tmp_path / "BKC_missing.csv"
    frame.to_csv(broken, index=False)
    with pytest.raises(VendorFileError, match=r"BKC_missing\.csv.*missing_columns.*accumulated_volume"):
        read_intraday_file(broken)


def test_a_row_of_another_trading_date_costs_only_itself(tmp_path: Path) -> None:
    lines = (VCI / "intraday" / "BKC.csv").read_text(encoding="utf-8-sig").splitlines()
    lines[5] = lines[5].replace("23/02/2026", "24/02/2026")
    broken = tmp_path / "BKC.csv"
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
    f = read_intraday_file(broken)
    assert f.trading_date == dt.date(2026, 2, 23)
    assert f.rejected[["line", "rule"]].values.tolist() == [[6, "other_trading_date"]]
    assert len(f.ticks) == len(lines) - 2


def test_unparseable_trading_date_rejects_the_row(tmp_path: Path) -> None:
    lines = (VCI / "intraday" / "BKC.csv").read_text(encoding="utf-8-sig").splitlines()
    lines[3] = lines[3].replace("23/02/2026", "2026-02-23")
    broken = tmp_path / "BKC.csv"
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
    f = read_intraday_file(broken)
    assert f.rejected[["line", "rule"]].values.tolist() == [[4, "unparseable_trading_date"]]
    assert str(broken) == f.rejected["file"].iloc[0]


def test_a_file_without_any_valid_date_raises_naming_file_and_rule(tmp_path: Path) -> None:
    text = (VCI / "intraday" / "BKC.csv").read_text(encoding="utf-8-sig").replace("23/02/2026", "2026-02-23")
    broken = tmp_path / "BKC.csv"
    broken.write_text(text, encoding="utf-8")
    with pytest.raises(VendorFileError, match=r"BKC\.csv, line 2: no_valid_trading_date"):
        read_intraday_file(broken)


# ----------------------------------------------------------------------------------------------- daily bars


def test_daily_bars_convert_prices_and_drop_indicator_columns() -> None:
    bars, quarantined = read_daily_bars_file(VCI / "stocks" / "HPG.csv")
    assert list(bars.columns) == ["trading_date", "symbol", "open", "high", "low", "close", "volume", "value"]
    assert len(quarantined) == 0
    assert bars["trading_date"].is_monotonic_increasing and not bars["trading_date"].duplicated().any()
    for c in ("open", "high", "low", "close", "volume"):
        assert bars[c].dtype == np.int64
    assert (bars["high"] >= bars[["open", "close", "low"]].max(axis=1)).all()
    # the file's last session is the intraday file's day; its close is the last (ATC) trade
    last = bars.iloc[-1]
    ticks = read_intraday_file(VCI / "intraday" / "HPG.csv").ticks
    assert last["trading_date"] <= dt.date(2026, 2, 26)
    on_day = bars[bars["trading_date"] == dt.date(2026, 2, 13)].iloc[0]
    assert on_day["close"] == ticks["price"].iloc[-1]
    # no traded value in the file: left missing rather than invented
    assert bars["value"].isna().all()


def test_pmc_zero_price_rows_are_quarantined_with_reason() -> None:
    raw = pd.read_csv(VCI / "stocks" / "PMC.csv", encoding="utf-8-sig")
    zero_rows = int((raw[["open", "high", "low", "close"]] == 0).all(axis=1).sum())
    bars, quarantined = read_daily_bars_file(VCI / "stocks" / "PMC.csv")
    assert zero_rows > 0
    assert (quarantined["rule"] == "zero_price").sum() == zero_rows
    assert len(bars) + len(quarantined) == len(raw)
    assert (bars[["open", "high", "low", "close"]] > 0).all().all()
    assert quarantined["line"].min() == 2  # first data line of the file


def test_ohlc_inconsistent_rows_are_quarantined() -> None:
    # FMC 2025-05-13: close 33.998 below low 35.557
    bars, quarantined = read_daily_bars_file(VCI / "stocks" / "FMC.csv")
    row = quarantined[quarantined["trading_date"] == dt.date(2025, 5, 13)].iloc[0]
    assert row["rule"] == "ohlc_inconsistent" and row["symbol"] == "FMC"
    assert dt.date(2025, 5, 13) not in set(bars["trading_date"])


def test_estimated_value_is_typical_price_times_volume() -> None:
    bars = pd.DataFrame({"open": [100], "high": [120], "low": [90], "close": [110], "volume": [1_000]})
    assert estimate_daily_value(bars).tolist() == [105_000]


# ------------------------------------------------------------------------------------------ daily bars folder

DAILY_HEADER = "\ufefftime,open,high,low,close,volume,sma_20,symbol\n"


def _daily_file(path: Path, rows: list[str]) -> None:
    path.write_text(DAILY_HEADER + "".join(f"{r}\n" for r in rows), encoding="utf-8")


def test_a_folder_of_daily_files_loads_as_adjusted_bars_and_each_bad_file_or_row_costs_only_itself(
    tmp_path: Path,
) -> None:
    _daily_file(tmp_path / "AAA.csv", [
        "2025-03-03,10.0,10.5,9.9,10.2,1000,0.0,AAA",
        "2025-03-04,10.2,10.4,10.1,10.3,2000,0.0,AAA",
        "2025-03-08,10.3,10.3,10.3,10.3,100,0.0,AAA",   # a Saturday
        "2025-03-05,0.0,0.0,0.0,0.0,700,0.0,AAA",       # line 5: PMC's placeholder row
    ])  # fmt: skip
    _daily_file(tmp_path / "AAA (1).csv", ["2025-03-04,10.2,11.0,10.1,10.9,2000,0.0,AAA"])  # a re-save, other close
    _daily_file(tmp_path / "BBB.csv", ["2025-03-03,20.0,19.0,19.5,20.0,500,0.0,BBB"])  # high below open: its only row
    (tmp_path / "CCC.csv").write_text("time,close\n2025-03-03,1\n", encoding="utf-8")  # missing columns

    history = read_daily_bars_dir(tmp_path)
    bars = history.bars
    assert list(bars.columns) == [*DAILY_BAR_COLUMNS, "adjusted"] and bars["adjusted"].all()
    assert bars[["trading_date", "symbol", "close", "value"]].values.tolist() == [
        [dt.date(2025, 3, 3), "AAA", 10_200, round(1000 * (10_000 + 10_500 + 9_900 + 10_200) / 4)],
        [dt.date(2025, 3, 4), "AAA", 10_300, round(2000 * (10_200 + 10_400 + 10_100 + 10_300) / 4)],
    ]  # the symbol's own file wins the repeated day; value is the typical-price estimate
    rules = {(Path(r.file).name, r.rule, r.trading_date) for r in history.rejected.itertuples()}
    assert rules == {
        ("AAA.csv", "zero_price", dt.date(2025, 3, 5)),
        ("AAA.csv", "not_a_trading_day", dt.date(2025, 3, 8)),
        ("AAA (1).csv", "duplicate_symbol_day", dt.date(2025, 3, 4)),
        ("BBB.csv", "ohlc_inconsistent", dt.date(2025, 3, 3)),
    }
    duplicate = history.rejected[history.rejected["rule"] == "duplicate_symbol_day"].iloc[0]
    assert duplicate["reason"].endswith("AAA.csv") and duplicate["row_data"]["close"] == 10_900
    assert list(history.unreadable) == [str(tmp_path / "CCC.csv")]
    assert history.unreadable[str(tmp_path / "CCC.csv")].startswith("missing_columns")


def test_an_empty_daily_folder_gives_no_bars(tmp_path: Path) -> None:
    history = read_daily_bars_dir(tmp_path)
    assert history.bars.empty and list(history.bars.columns) == [*DAILY_BAR_COLUMNS, "adjusted"]
    assert history.rejected.empty and history.unreadable == {}
