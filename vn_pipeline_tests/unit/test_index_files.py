"""Index level readers on the real index files in ../shared/data/vn_real (indices_ftu, CafeF VNINDEX, vnstock
indices/) and on generated files for the rules the real files do not break."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from vn_pipeline.lib.sources.vendors.index_files import (
    INDEX_LEVEL_COLUMNS,
    IndexLevels,
    combine_index_files,
    missing_level_ranges,
    read_cafef_index,
    read_index_dir,
    read_index_file,
)
from vn_pipeline_tests.real_data import VN_REAL, needs_vn_real

FTU = VN_REAL / "indices_ftu"
CAFEF_VNINDEX = VN_REAL / "cafef" / "VNINDEX" / "PriceHistory.csv"
HEADER = "\ufefftime,open,high,low,close,volume,symbol,name\n"


@pytest.fixture(scope="module")
def ftu() -> IndexLevels:
    return read_index_dir(FTU)


@pytest.fixture(scope="module")
def cafef() -> IndexLevels:
    return read_cafef_index(CAFEF_VNINDEX)


def _raw(path: Path) -> dict[str, dict[str, str]]:
    """The file's rows by date, read without the importer."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        return {row.get("time") or row["Ngay"]: row for row in csv.DictReader(f)}


def _consistent(levels: pd.DataFrame) -> bool:
    return bool(
        ((levels["high"] >= levels[["open", "close", "low"]].max(axis=1))
         & (levels["low"] <= levels[["open", "close"]].min(axis=1))).all()
    )  # fmt: skip


@needs_vn_real
def test_ftu_files_quarantine_the_saturday_bar_and_the_bad_print_and_keep_the_rest(ftu: IndexLevels) -> None:
    assert tuple(ftu.levels.columns) == INDEX_LEVEL_COLUMNS
    assert ftu.levels.groupby("index_code").size().to_dict() == {
        "HNXINDEX": 2000, "UPCOMINDEX": 2000, "VN30": 2000, "VNINDEX": 5633 - 2,
    }  # fmt: skip
    rejected = {(r.trading_date, r.symbol, r.rule, r.line) for r in ftu.rejected.itertuples()}
    assert rejected == {
        (dt.date(2007, 7, 23), "VNINDEX", "bad_print", 887),
        (dt.date(2008, 8, 16), "VNINDEX", "not_a_trading_day", 1146),
    }
    bad = ftu.rejected[ftu.rejected["rule"] == "bad_print"].iloc[0]
    assert "-54.6%" in bad["reason"] and "+120.5%" in bad["reason"]
    assert bad["row_data"]["close"] == "445.59"  # the raw cells are kept for the person who looks
    stored = set(ftu.levels.loc[ftu.levels["index_code"] == "VNINDEX", "trading_date"])
    assert dt.date(2007, 7, 23) not in stored and dt.date(2008, 8, 16) not in stored
    assert dt.date(2008, 8, 15) in stored and dt.date(2008, 8, 19) in stored


@needs_vn_real
def test_bars_whose_range_does_not_bracket_open_and_close_keep_their_printed_close(ftu: IndexLevels) -> None:
    assert ftu.repaired["symbol"].value_counts().to_dict() == {"VNINDEX": 29, "VN30": 8, "HNXINDEX": 1, "UPCOMINDEX": 1}
    assert set(ftu.repaired["rule"]) == {"ohlc_range_widened"}
    assert _consistent(ftu.levels)
    raw = _raw(FTU / "VN30.csv")["2019-06-24"]  # open 854.21 below the day's low 868.21 (a stale open)
    day = ftu.levels[(ftu.levels["index_code"] == "VN30") & (ftu.levels["trading_date"] == dt.date(2019, 6, 24))]
    assert day[["open", "low", "close", "high"]].iloc[0].tolist() == [854.21, 854.21, float(raw["close"]),
                                                                      float(raw["high"])]  # fmt: skip
    # everything else is stored exactly as printed
    raw_vn30 = _raw(FTU / "VN30.csv")
    repaired_days = set(ftu.repaired.loc[ftu.repaired["symbol"] == "VN30", "trading_date"])
    for row in ftu.levels[ftu.levels["index_code"] == "VN30"].itertuples():
        printed = raw_vn30[row.trading_date.isoformat()]
        assert row.close == float(printed["close"])
        if row.trading_date not in repaired_days:
            assert (row.open, row.high, row.low) == tuple(float(printed[c]) for c in ("open", "high", "low"))


@needs_vn_real
def test_cafef_vnindex_is_in_points_and_agrees_with_the_ftu_closes_but_for_a_few_days(
    cafef: IndexLevels, ftu: IndexLevels
) -> None:
    assert len(cafef.levels) == 6097 and cafef.rejected.empty and len(cafef.repaired) == 16
    first = cafef.levels.iloc[0]
    assert (first["trading_date"], first["index_code"], first["close"]) == (dt.date(2000, 7, 28), "VNINDEX", 100.0)
    assert _consistent(cafef.levels)
    both = ftu.levels[ftu.levels["index_code"] == "VNINDEX"].merge(cafef.levels, on=["trading_date", "index_code"])
    gap = (both["close_x"] - both["close_y"]).abs()
    assert len(both) == 5380 and int((gap > 0.005).sum()) == 18
    worst = both.loc[gap.idxmax()]
    assert (worst["trading_date"], worst["close_x"], worst["close_y"]) == (dt.date(2022, 10, 25), 997.70, 981.18)


@needs_vn_real
def test_missing_ranges_are_reported_not_filled(ftu: IndexLevels, cafef: IndexLevels) -> None:
    (vn30,) = missing_level_ranges(ftu.levels, "VN30", dt.date(1999, 1, 1), dt.date(2026, 8, 21))
    assert str(vn30) == "no VN30 levels 2000-07-28 → 2018-08-17 (4348 trading days)"
    gaps = missing_level_ranges(cafef.levels, "VNINDEX", dt.date(2000, 7, 28), dt.date(2025, 8, 25))
    assert [(g.first, g.last) for g in gaps] == [
        (dt.date(2018, 1, 23), dt.date(2018, 1, 24)), (dt.date(2024, 5, 17),) * 2, (dt.date(2025, 2, 3),) * 2,
    ]  # fmt: skip
    assert str(gaps[-1]) == "no VNINDEX levels 2025-02-03 → 2025-02-03 (1 trading day)"
    # a code the series does not carry is one range of the calendar's trading days (Tết 2025: 27-31 January)
    (none,) = missing_level_ranges(cafef.levels, "VN30", dt.date(2025, 1, 1), dt.date(2025, 1, 31))
    assert (none.first, none.last, none.days) == (dt.date(2025, 1, 2), dt.date(2025, 1, 24), 17)
    # ftu's VNINDEX lacks 17 trading days after its start, among them the day of the bad print
    ftu_gaps = missing_level_ranges(ftu.levels, "VNINDEX", dt.date(2004, 1, 5), dt.date(2026, 8, 21))
    assert sum(g.days for g in ftu_gaps) == 17 and ftu_gaps[0].first == dt.date(2007, 7, 23)


@needs_vn_real
def test_vnstock_indices_folder_takes_each_code_from_its_own_file() -> None:
    levels = read_index_dir(VN_REAL / "vnstock_vci" / "indices")
    counts = levels.levels.groupby("index_code").size()
    assert len(counts) == 18 and set(counts) == {249}  # all_indices.csv repeats them: read once, same closes
    assert levels.rejected.empty
    # the range is repaired where the bar is stored: in each index's own file, not again in the combined file's copy
    assert sorted(zip(levels.repaired["symbol"], levels.repaired["line"], strict=True)) == [
        ("VNHEAL", 46), ("VNMAT", 46), ("VNREAL", 46), ("VNSML", 46),
    ]  # fmt: skip
    assert {Path(f).name for f in levels.repaired["file"]} == {"VNHEAL.csv", "VNMAT.csv", "VNREAL.csv", "VNSML.csv"}


def _write(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text(header + "".join(f"{r}\n" for r in rows), encoding="utf-8")
    return path


def test_every_rule_costs_only_its_row(tmp_path: Path) -> None:
    path = _write(tmp_path / "VN30.csv", [
        "2025-03-03,100,101,99,100,1,VN30,VN30",
        "2025-03-04,100,101,99,100.5,1,VN30,VN30",
        "2025-03-04,100,101,99,100.5,1,VN30,VN30",     # line 4: the day again
        "2025-03-08,100,101,99,100.5,1,VN30,VN30",     # line 5: a Saturday
        "03/05/2025,100,101,99,100.5,1,VN30,VN30",     # line 6: not ISO
        "2025-03-05,100,101,0,100.5,1,VN30,VN30",      # line 7: a zero low
        "2025-03-06,100,101,99,n/a,1,VN30,VN30",       # line 8
        "2025-03-07,100,101,99,1,VN30",                # line 9: a field short
        "2025-03-10,100,101,99,101,1,,VN30",           # line 10: no code
        "2025-03-11,40,41,39,40,1,VN30,VN30",          # line 11: −60% then back: a bad print
        "2025-03-12,101,102,100,101.5,1,VN30,VN30",
        "2025-03-13,101,140,101,135,1,VN30,VN30",      # +33% and it stays: a one-way jump is kept
        "2025-03-14,135,136,134,135,1,VN30,VN30",
    ])  # fmt: skip
    got = read_index_file(path)
    assert dict(zip(got.rejected["line"], got.rejected["rule"], strict=True)) == {
        4: "duplicate_trading_date", 5: "not_a_trading_day", 6: "unparseable_trading_date", 7: "non_positive_price",
        8: "unparseable_price", 9: "wrong_field_count", 10: "invalid_index_code", 11: "bad_print",
    }  # fmt: skip
    assert got.levels["trading_date"].tolist() == [dt.date(2025, 3, d) for d in (3, 4, 12, 13, 14)]
    assert got.lines.tolist() == [2, 3, 12, 13, 14]
    quarantine = got.quarantine(dt.date(2025, 3, 1), dt.date(2025, 3, 31))
    # rows without a readable date belong to no window; every other one names file and line
    assert len(quarantine) == 6 and set(quarantine["source_table"]) == {"market.index_levels"}
    assert all(d.startswith(f"{path} line ") for d in quarantine["detail"])


def test_a_bad_print_next_to_another_is_found_too(tmp_path: Path) -> None:
    path = _write(tmp_path / "X.csv", [f"2025-03-{d:02d},{c},{c},{c},{c},1,VNX,VNX" for d, c in (
        (3, 100), (4, 101), (5, 30), (6, 400), (7, 102), (10, 103),
    )])  # fmt: skip
    got = read_index_file(path)
    assert sorted(got.rejected["trading_date"]) == [dt.date(2025, 3, 5), dt.date(2025, 3, 6)]
    assert set(got.rejected["rule"]) == {"bad_print"}
    assert got.levels["close"].tolist() == [100, 101, 102, 103]


def test_a_combined_file_that_disagrees_with_an_index_own_file_is_quarantined(tmp_path: Path) -> None:
    header = "time,open,high,low,close,volume,symbol\n"
    _write(tmp_path / "VN30.csv", ["2025-03-03,1,1,1,1300.5,1,VN30", "2025-03-04,1,1,1,1301,1,VN30"], header)
    _write(tmp_path / "all_indices.csv", [
        "2025-03-03,1,1,1,1300.5,1,VN30",  # the same close: dropped quietly
        "2025-03-04,1,1,1,1299,1,VN30",    # line 3: another close for the day
        "2025-03-04,2,2,2,250,1,HNX30",    # only here: stored from here
    ], header)  # fmt: skip
    got = read_index_dir(tmp_path)
    assert got.levels[["trading_date", "index_code", "close"]].values.tolist() == [
        [dt.date(2025, 3, 4), "HNX30", 250.0],
        [dt.date(2025, 3, 3), "VN30", 1300.5],
        [dt.date(2025, 3, 4), "VN30", 1301.0],
    ]  # fmt: skip
    (conflict,) = got.rejected.itertuples()
    assert (conflict.rule, conflict.line, conflict.symbol) == ("conflicting_duplicate", 3, "VN30")
    assert conflict.file.endswith("all_indices.csv") and "VN30.csv has 1301" in conflict.reason


@needs_vn_real
def test_cafef_vnindex_first_and_ftu_after_it_leave_no_vnindex_day_without_a_level(cafef: IndexLevels) -> None:
    ftu_vnindex = FTU / "VNINDEX.csv"
    both = combine_index_files(
        [(CAFEF_VNINDEX, cafef), (ftu_vnindex, read_index_file(ftu_vnindex))], by_file_name=False
    )
    assert missing_level_ranges(both.levels, "VNINDEX", dt.date(2000, 7, 28), dt.date(2026, 8, 21)) == []
    kept = both.levels.set_index("trading_date")["close"]
    assert kept[dt.date(2022, 10, 25)] == 981.18 and kept[dt.date(2025, 2, 3)] > 0  # CafeF's, then ftu's own day
    conflicts = both.rejected[both.rejected["rule"] == "conflicting_duplicate"]
    assert len(conflicts) == 18 and set(conflicts["file"]) == {str(ftu_vnindex)}
    assert "close 997.7 where" in conflicts.loc[conflicts["trading_date"] == dt.date(2022, 10, 25), "reason"].iloc[0]
