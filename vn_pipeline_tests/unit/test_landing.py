"""The landing path on the real vnstock files of 2026-02-24 (29 files, 3,906 trades) with hostile variants of
single files: each bad file costs only itself (or only its bad rows), with the file, line and rule named."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from vn_pipeline.lib.sources.vendors.csv_text import MAX_FILE_BYTES
from vn_pipeline.lib.sources.vendors.landing import (
    LandedDay,
    LandingSource,
    land_files,
    peek_trading_date,
    scan_landing_dir,
    symbol_from_name,
)
from vn_pipeline.lib.sources.vendors.vnstock_files import read_intraday_file
from vn_pipeline_tests import hostile_files as hostile
from vn_pipeline_tests.real_data import VN_REAL, needs_vn_real

pytestmark = needs_vn_real
INTRADAY = VN_REAL / "vnstock_vci" / "intraday"
DAY = dt.date(2026, 2, 24)


@pytest.fixture(scope="module")
def day_files() -> list[Path]:
    files = [p for p in sorted(INTRADAY.glob("*.csv")) if peek_trading_date(p) == DAY]
    assert len(files) == 29
    return files


@pytest.fixture(scope="module")
def baseline(day_files: list[Path]) -> LandedDay:
    landed = land_files([f for f in scan_landing_dir(INTRADAY) if f.trading_date == DAY])
    assert len(landed.ticks) == 3_906 and len(landed.listings) == 29 and landed.quarantined.empty
    return landed


def _land(tmp_path: Path, day_files: list[Path], variants: dict[str, bytes]) -> LandedDay:
    """The day's real files with some replaced (or added) by the given bytes."""
    landing = tmp_path / "landing"
    landing.mkdir(exist_ok=True)
    for path in day_files:
        shutil.copy(path, landing)
    for name, data in variants.items():
        (landing / name).write_bytes(data)
    return land_files(scan_landing_dir(landing))


def _ticks_of(landed: LandedDay, symbol: str) -> pd.DataFrame:
    return landed.ticks[landed.ticks["symbol"] == symbol].reset_index(drop=True)


def _only_symbol_changed(landed: LandedDay, baseline: LandedDay, symbol: str) -> None:
    """Every other symbol's ticks and listing are exactly the baseline's: the bad file cost only itself."""
    for name in (landed, baseline):
        assert set(name.listings["symbol"]) >= set(baseline.listings["symbol"]) - {symbol}
    for frame in ("ticks", "listings"):
        ours = getattr(landed, frame)
        theirs = getattr(baseline, frame)
        keep = ours["symbol"] != symbol
        pd.testing.assert_frame_equal(
            ours[keep].reset_index(drop=True), theirs[theirs["symbol"] != symbol].reset_index(drop=True)
        )


def _rows(landed: LandedDay, rule: str) -> pd.DataFrame:
    return landed.quarantined[landed.quarantined["rule"] == rule]


def test_a_ragged_row_costs_only_that_row(tmp_path, day_files, baseline) -> None:
    lines = hostile.real_lines(INTRADAY / "PNJ.csv")
    landed = _land(tmp_path, day_files, {"PNJ.csv": hostile.ragged_row(lines, 10)})
    _only_symbol_changed(landed, baseline, "PNJ")
    bad = _rows(landed, "wrong_field_count")
    assert len(bad) == 1 and bad["detail"].iloc[0].endswith("PNJ.csv line 10: 3 fields, the header has 10")
    assert len(_ticks_of(landed, "PNJ")) == len(_ticks_of(baseline, "PNJ")) - 1
    assert landed.kept.empty


@pytest.mark.parametrize("line", [2, 200])
def test_a_byte_that_is_not_utf8_costs_only_its_row(tmp_path, day_files, baseline, line) -> None:
    lines = hostile.real_lines(INTRADAY / "ELC.csv")
    landed = _land(tmp_path, day_files, {"ELC.csv": hostile.non_utf8_byte(lines, line)})
    _only_symbol_changed(landed, baseline, "ELC")
    bad = _rows(landed, "not_utf8")
    assert bad["detail"].str.contains(f"ELC.csv line {line}: byte").all() and len(bad) == 1
    assert "\\xe9" in bad["row_data"].iloc[0]["text"]  # the raw line is kept, readable
    assert len(_ticks_of(landed, "ELC")) == len(_ticks_of(baseline, "ELC")) - 1


def test_a_cell_over_128_kib_costs_only_its_row(tmp_path, day_files, baseline) -> None:
    lines = hostile.real_lines(INTRADAY / "KHG.csv")
    landed = _land(tmp_path, day_files, {"KHG.csv": hostile.huge_cell(lines, 50)})
    _only_symbol_changed(landed, baseline, "KHG")
    bad = _rows(landed, "line_too_long")
    assert len(bad) == 1 and "KHG.csv line 50" in bad["detail"].iloc[0]
    assert len(bad["row_data"].iloc[0]["text"]) <= 200  # the quarantine keeps a bounded excerpt, not 130 KiB


def test_an_empty_price_change_in_the_first_row_changes_nothing(tmp_path, day_files, baseline) -> None:
    lines = hostile.real_lines(INTRADAY / "LSS.csv")
    landed = _land(tmp_path, day_files, {"LSS.csv": hostile.empty_first_price_change(lines)})
    pd.testing.assert_frame_equal(landed.listings, baseline.listings)
    pd.testing.assert_frame_equal(landed.ticks, baseline.ticks)
    assert landed.quarantined.empty


def test_times_with_a_utc_offset_are_converted_to_market_time(tmp_path, day_files, baseline) -> None:
    lines = hostile.real_lines(INTRADAY / "SAM.csv")
    landed = _land(tmp_path, day_files, {"SAM.csv": hostile.utc_offsets(lines)})
    pd.testing.assert_frame_equal(landed.ticks, baseline.ticks)
    assert landed.quarantined.empty


def test_rows_of_a_second_symbol_are_quarantined_and_the_file_symbol_flows(tmp_path, day_files, baseline) -> None:
    lines = hostile.real_lines(INTRADAY / "GEG.csv")
    landed = _land(tmp_path, day_files, {"GEG.csv": hostile.second_symbol(lines, 30, 39, "GEX")})
    _only_symbol_changed(landed, baseline, "GEG")
    bad = _rows(landed, "other_symbol")
    assert sorted(int(d.split(" line ")[1].split(":")[0]) for d in bad["detail"]) == list(range(30, 40))
    assert "GEX" not in set(landed.ticks["symbol"])
    assert len(_ticks_of(landed, "GEG")) == len(_ticks_of(baseline, "GEG")) - 10


def test_duplicated_rows_and_a_resaved_file_are_stored_once(tmp_path, day_files, baseline) -> None:
    lines = hostile.real_lines(INTRADAY / "FRT.csv")
    landed = _land(
        tmp_path,
        day_files,
        {"FRT.csv": hostile.duplicated_rows(lines, 50), "FRT (1).csv": (INTRADAY / "FRT.csv").read_bytes()},
    )
    pd.testing.assert_frame_equal(landed.ticks, baseline.ticks)  # FRT's volume is not doubled, nor +50 trades
    dup = _rows(landed, "duplicate_trade")
    assert len(dup) == 50 and dup["detail"].str.contains("repeats the trade on line").all()
    files = _rows(landed, "duplicate_file")
    assert len(files) == 1 and "FRT (1).csv" in files["detail"].iloc[0] and files["symbol"].iloc[0] == "FRT"
    assert landed.kept.empty


def test_a_partly_overlapping_second_file_adds_only_the_trades_it_has_new(tmp_path, day_files, baseline) -> None:
    lines = hostile.real_lines(INTRADAY / "FRT.csv")
    head, tail = [lines[0], *lines[1:301]], [lines[0], *lines[251:]]
    landed = _land(tmp_path, day_files, {"FRT.csv": hostile._join(head), "FRT_afternoon.csv": hostile._join(tail)})
    pd.testing.assert_frame_equal(landed.ticks, baseline.ticks)
    assert len(_rows(landed, "duplicate_trade")) == 50  # lines 252..301 of the full file are in both


@pytest.mark.parametrize(
    ("symbol", "make", "rule"),
    [
        ("CNG", hostile.prices_in_vnd, "implausible_price"),
        ("LBM", hostile.no_header, "missing_columns"),
        ("SWC", hostile.latin1_every_row, "no_valid_rows"),
        ("NBC", hostile.every_row_bad, "no_valid_rows"),
    ],
)
def test_a_file_that_cannot_be_used_is_quarantined_whole_and_its_symbol_day_kept(
    tmp_path, day_files, baseline, symbol, make, rule
) -> None:
    landed = _land(tmp_path, day_files, {f"{symbol}.csv": make(hostile.real_lines(INTRADAY / f"{symbol}.csv"))})
    _only_symbol_changed(landed, baseline, symbol)
    assert symbol not in set(landed.ticks["symbol"]) and symbol not in set(landed.listings["symbol"])
    record = _rows(landed, rule)
    assert len(record) == 1 and record["symbol"].iloc[0] == symbol and record["trading_date"].iloc[0] == DAY
    assert f"{symbol}.csv" in record["detail"].iloc[0] and record["row_data"].iloc[0]["level"] == "file"
    assert landed.kept.values.tolist() == [[DAY, symbol]]  # the stored data of the day is not replaced by nothing
    assert list(landed.quarantined_files) == [str(tmp_path / "landing" / f"{symbol}.csv")]


def test_a_file_priced_in_vnd_below_the_absolute_bound_is_caught_by_the_previous_close(tmp_path, day_files) -> None:
    lines = hostile.real_lines(INTRADAY / "FIT.csv")  # 4.66 kVND: 4,660,000 "VND" passes a plausibility bound
    closes = pd.DataFrame({"trading_date": [dt.date(2026, 2, 23)], "symbol": ["FIT"], "close": [4_650]})
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "FIT.csv").write_bytes(hostile.prices_in_vnd(lines))
    landed = land_files(scan_landing_dir(landing), previous_closes=closes)
    record = _rows(landed, "price_magnitude")
    assert len(record) == 1 and "1,011× the stored previous close 4,650 VND" in record["detail"].iloc[0]
    assert landed.ticks.empty and landed.kept.values.tolist() == [[DAY, "FIT"]]
    # the real file, against the same stored close, is fine
    (landing / "FIT.csv").write_bytes((INTRADAY / "FIT.csv").read_bytes())
    assert land_files(scan_landing_dir(landing), previous_closes=closes).quarantined.empty


def test_an_oversized_file_is_quarantined_unread_and_dated_by_when_it_landed(tmp_path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    hostile.oversized(landing / "MTH.csv", MAX_FILE_BYTES + 1)
    landed_at = dt.datetime(2026, 2, 24, 15, 0, tzinfo=dt.timezone(dt.timedelta(hours=7))).timestamp()
    os.utime(landing / "MTH.csv", (landed_at, landed_at))
    [found] = scan_landing_dir(landing)
    assert found.dated_by_mtime and found.trading_date == DAY
    landed = land_files([found])
    assert _rows(landed, "file_too_large")["symbol"].tolist() == ["MTH"]
    assert landed.kept.values.tolist() == [[DAY, "MTH"]]


def test_a_long_symbol_costs_only_its_row(tmp_path, day_files, baseline) -> None:
    lines = hostile.real_lines(INTRADAY / "TD6.csv")
    landed = _land(tmp_path, day_files, {"TD6.csv": hostile.long_symbol(lines, 5, 5_000)})
    _only_symbol_changed(landed, baseline, "TD6")
    assert len(_rows(landed, "line_too_long")) == 1  # 5,000 characters do not fit one row
    landed = _land(tmp_path, day_files, {"TD6.csv": hostile.long_symbol(lines, 5, 300)})
    bad = _rows(landed, "invalid_symbol")
    assert len(bad) == 1 and "TD6.csv line 5" in bad["detail"].iloc[0]
    assert len(_ticks_of(landed, "TD6")) == len(_ticks_of(baseline, "TD6")) - 1


def test_every_variant_at_once_still_lands_the_rest_of_the_market(tmp_path, day_files, baseline) -> None:
    r = {s: hostile.real_lines(INTRADAY / f"{s}.csv") for s in ("PNJ", "ELC", "KHG", "GEG", "CNG", "LBM", "FRT")}
    landed = _land(
        tmp_path,
        day_files,
        {
            "PNJ.csv": hostile.ragged_row(r["PNJ"], 10),
            "ELC.csv": hostile.non_utf8_byte(r["ELC"], 2),
            "KHG.csv": hostile.huge_cell(r["KHG"], 50),
            "GEG.csv": hostile.second_symbol(r["GEG"], 30, 39, "GEX"),
            "CNG.csv": hostile.prices_in_vnd(r["CNG"]),
            "LBM.csv": hostile.no_header(r["LBM"]),
            "FRT (1).csv": hostile._join(r["FRT"]),
        },
    )
    untouched = set(baseline.listings["symbol"]) - {"PNJ", "ELC", "KHG", "GEG", "CNG", "LBM"}
    assert untouched <= set(landed.listings["symbol"]) and len(untouched) == 23
    for symbol in untouched:
        pd.testing.assert_frame_equal(_ticks_of(landed, symbol), _ticks_of(baseline, symbol))
    assert sorted(landed.kept["symbol"]) == ["CNG", "LBM"]


def test_rows_name_their_file_and_line_in_every_rejection(tmp_path, day_files) -> None:
    lines = hostile.real_lines(INTRADAY / "PNJ.csv")
    lines[7] = hostile._set(lines[7], "volume", "abc")
    landed = _land(tmp_path, day_files, {"PNJ.csv": hostile._join(lines)})
    assert landed.quarantined["detail"].tolist() == [f"{tmp_path}/landing/PNJ.csv line 8: volume is not a number"]
    # every stored tick knows where it came from, for the market rules' rejections downstream
    assert landed.origins.str.fullmatch(r".+\.csv line \d+").all() and len(landed.origins) == len(landed.ticks)


@pytest.mark.parametrize(
    ("name", "symbol"), [("FRT.csv", "FRT"), ("FRT (1).csv", "FRT"), ("frt_2026-02-24.csv", "FRT"), ("?.csv", None)]
)
def test_symbol_from_file_name(name: str, symbol: str | None) -> None:
    assert symbol_from_name(Path(name)) == symbol


def test_the_parser_names_the_file_symbol_from_most_rows_and_keeps_running_totals() -> None:
    f = read_intraday_file(INTRADAY / "FRT.csv")
    assert f.symbol == "FRT" and f.reference_price == 171_900  # 171.0 − (−0.9) thousand, the previous close
    assert f.ticks["cum_volume"].is_monotonic_increasing and f.ticks["cum_volume"].is_unique


# ------------------------------------------------------------------------------------------ daily history


def _history(tmp_path: Path, stocks: bool = True, indices: bool = True) -> Path:
    """A history folder in the vnstock_vci layout with two real stock files (PMC's zero rows, FMC's
    OHLC-inconsistent 2025-05-13) and two real index files."""
    folder = tmp_path / "history"
    for wanted, sub, names in ((stocks, "stocks", ("PMC", "FMC")), (indices, "indices", ("VN30", "VNHEAL"))):
        if wanted:
            (folder / sub).mkdir(parents=True)
            for name in names:
                shutil.copy(VN_REAL / "vnstock_vci" / sub / f"{name}.csv", folder / sub)
    return folder


def _no_closes(start: dt.date, end: dt.date) -> pd.DataFrame:
    return pd.DataFrame(columns=["trading_date", "symbol", "close"])


def test_the_landing_source_provides_daily_datasets_whose_folder_exists(tmp_path) -> None:
    assert LandingSource([], {}, _no_closes).provides == {"listings", "ticks"}
    only_stocks = LandingSource([], {}, _no_closes, _history(tmp_path / "a", indices=False))
    assert only_stocks.provides == {"listings", "ticks", "daily_bars"}
    with pytest.raises(NotImplementedError, match="indices"):
        only_stocks.index_levels(dt.date(2025, 5, 5), dt.date(2025, 5, 16))
    assert only_stocks.quarantined("index_levels", dt.date(2025, 5, 5), dt.date(2025, 5, 16)) is None


def test_daily_files_give_adjusted_bars_index_levels_and_their_quarantine_by_window(tmp_path) -> None:
    source = LandingSource([], {}, _no_closes, _history(tmp_path))
    start, end = dt.date(2025, 5, 12), dt.date(2025, 5, 16)
    bars = source.daily_bars(start, end)
    assert set(bars["symbol"]) == {"FMC"} and bars["adjusted"].all()  # PMC prints only zeros that week
    assert bars["trading_date"].between(start, end).all()
    assert dt.date(2025, 5, 13) not in set(bars.loc[bars["symbol"] == "FMC", "trading_date"])
    quarantined = source.quarantined("daily_bars", start, end)
    assert set(quarantined["source_table"]) == {"market.daily_bars"}
    assert quarantined["trading_date"].between(start, end).all()
    fmc = quarantined[quarantined["symbol"] == "FMC"].iloc[0]
    assert (fmc["trading_date"], fmc["rule"]) == (dt.date(2025, 5, 13), "ohlc_inconsistent")
    assert fmc["detail"].startswith(f"{tmp_path}/history/stocks/FMC.csv line 63: ")
    pmc = quarantined[quarantined["symbol"] == "PMC"]
    assert set(pmc["rule"]) == {"zero_price"} and set(pmc["trading_date"]) == {
        start + dt.timedelta(d) for d in range(5)
    }
    assert "daily_value" in source.metadata and "unreadable_daily_files" not in source.metadata

    levels = source.index_levels(start, end)
    assert set(levels["index_code"]) == {"VN30", "VNHEAL"} and len(levels) == 2 * 5
    assert set(source.quarantined("index_levels", dt.date(2025, 5, 1), dt.date(2025, 5, 31))["rule"]) == {
        "ohlc_range_widened"  # VNHEAL 2025-05-05: low 1230.5 printed above nothing, stored widened
    }
