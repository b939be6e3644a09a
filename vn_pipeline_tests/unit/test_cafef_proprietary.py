"""CafeF proprietary flows (GDTuDoanh.csv) and foreign ownership (DangSoHuu): the real exports in
../shared/data/vn_real/cafef, read in place, and generated files for the rules the real ones do not break."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vn_pipeline.lib.sources.vendors.cafef_files import read_cafef_foreign_flows
from vn_pipeline.lib.sources.vendors.cafef_proprietary import (
    PROPRIETARY_COLUMNS,
    read_cafef_proprietary_flows,
)
from vn_pipeline.lib.sources.vendors.csv_text import REJECTED_COLUMNS, VendorFileError
from vn_pipeline.lib.warehouse import columns
from vn_pipeline_tests.real_data import VN_REAL, needs_vn_real

CAFEF = VN_REAL / "cafef"
HEADER = "Symbol,Date,KLcpMua,KlcpBan,GtMua,GtBan"


def _write(tmp_path: Path, symbol: str, lines: list[str], name: str = "GDTuDoanh.csv") -> Path:
    folder = tmp_path / symbol
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode() + b"\n")
    return path


@needs_vn_real
def test_every_real_file_parses_and_only_contradictory_rows_are_rejected() -> None:
    files = sorted(p for p in CAFEF.glob("*/GDTuDoanh.csv") if p.parent.name != "VNINDEX")
    assert len(files) == 40
    rows, rejected = 0, []
    for path in files:
        flows, bad = read_cafef_proprietary_flows(path)
        raw = pd.read_csv(path, encoding="utf-8-sig")
        assert len(flows) + len(bad) == len(raw), path  # nothing dropped silently
        assert list(flows.columns) == list(columns.PROPRIETARY_FLOWS) == list(PROPRIETARY_COLUMNS)
        assert flows["trading_date"].is_monotonic_increasing and not flows["trading_date"].duplicated().any()
        assert (flows["symbol"] == path.parent.name).all()
        assert (flows[["buy_volume", "sell_volume", "buy_value", "sell_value"]] >= 0).all().all()
        assert all(flows[c].dtype == np.int64 for c in PROPRIETARY_COLUMNS[2:])
        rows += len(flows)
        rejected.append(bad)
    bad = pd.concat(rejected, ignore_index=True)
    assert rows == 4500
    assert bad["rule"].value_counts().to_dict() == {"volume_value_mismatch": 4}
    assert list(bad.columns) == list(REJECTED_COLUMNS)


@needs_vn_real
def test_acb_sale_without_value_is_rejected_with_its_line_and_cells() -> None:
    path = CAFEF / "ACB" / "GDTuDoanh.csv"
    flows, rejected = read_cafef_proprietary_flows(path)
    row = rejected.iloc[0]
    assert (row["trading_date"], row["rule"], row["symbol"]) == (dt.date(2023, 1, 10), "volume_value_mismatch", "ACB")
    assert row["row_data"]["KlcpBan"] == "10441605" and row["row_data"]["GtBan"] == "0"
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert "10/01/2023" in lines[row["line"] - 1]  # the line number opens the offending row
    assert dt.date(2023, 1, 10) not in set(flows["trading_date"])
    # the first row of the file, in VND and shares as written
    first = flows.iloc[0]
    assert first["trading_date"] == dt.date(2022, 11, 29)
    assert (first["buy_volume"], first["sell_volume"]) == (624400, 953400)
    assert (first["buy_value"], first["sell_value"]) == (13773725000, 20974010000)


@needs_vn_real
def test_newest_first_file_comes_out_ascending() -> None:
    # GEG is exported newest-first
    raw = pd.read_csv(CAFEF / "GEG" / "GDTuDoanh.csv", encoding="utf-8-sig")
    assert pd.to_datetime(raw["Date"], format="%d/%m/%Y").is_monotonic_decreasing
    flows, _ = read_cafef_proprietary_flows(CAFEF / "GEG" / "GDTuDoanh.csv")
    assert flows["trading_date"].iloc[0] == dt.date(2022, 11, 2)
    assert flows["trading_date"].is_monotonic_increasing


def test_each_rule_rejects_its_row_and_keeps_the_rest(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "XYZ",
        [
            HEADER,
            "XYZ,02/01/2024,100,0,1000000,0",  # good
            "XYZ,2024-01-03,100,0,1000000,0",  # ISO date
            "XYZ,04/01/2024,abc,0,1000000,0",  # not a number
            "ABC,05/01/2024,100,0,1000000,0",  # another symbol's row
            "XYZ,08/01/2024,-5,0,1000000,0",  # negative
            "XYZ,09/01/2024,10.5,0,105000,0",  # half a share
            "XYZ,10/01/2024,0,200,0,0",  # shares sold for nothing
            "XYZ,02/01/2024,1,0,10000,0",  # date seen before
            "XYZ,11/01/2024,1,2",  # too few fields
            "xyz,12/01/2024,0,0,0,0",  # a reported zero, lower-case symbol: kept
        ],
    )
    flows, rejected = read_cafef_proprietary_flows(path)
    assert flows["trading_date"].tolist() == [dt.date(2024, 1, 2), dt.date(2024, 1, 12)]
    assert flows.iloc[1][["buy_volume", "sell_volume", "buy_value", "sell_value"]].tolist() == [0, 0, 0, 0]
    by_line = dict(zip(rejected["line"], rejected["rule"], strict=True))
    assert by_line == {
        3: "unparseable_trading_date",
        4: "unparseable_number",
        5: "symbol_mismatch",
        6: "negative_flow",
        7: "fractional_volume",
        8: "volume_value_mismatch",
        9: "duplicate_trading_date",
        10: "wrong_field_count",
    }
    assert (rejected["file"] == str(path)).all()
    assert (rejected["symbol"] == "XYZ").all()


def test_values_with_a_decimal_point_are_whole_vnd(tmp_path: Path) -> None:
    path = _write(tmp_path, "XYZ", [HEADER, "XYZ,02/01/2024,100,3,1500000.0,45000.4"])
    flows, rejected = read_cafef_proprietary_flows(path)
    assert rejected.empty
    assert flows[["buy_value", "sell_value"]].iloc[0].tolist() == [1500000, 45000]


def test_missing_column_is_a_file_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "XYZ", ["Symbol,Date,KLcpMua,GtMua,GtBan", "XYZ,02/01/2024,1,1000,0"])
    with pytest.raises(VendorFileError, match="missing_columns"):
        read_cafef_proprietary_flows(path)


@needs_vn_real
def test_acb_ownership_is_a_fraction_at_the_bank_cap() -> None:
    own = read_cafef_foreign_flows(CAFEF / "ACB" / "GDKhoiNgoai.csv")[0]
    assert "ownership" in own.columns
    last = own.iloc[-1]
    assert last["trading_date"] == dt.date(2025, 8, 26) and last["ownership"] == pytest.approx(0.30)
    assert own["trading_date"].is_monotonic_increasing and not own["trading_date"].duplicated().any()


@needs_vn_real
def test_real_ownership_outside_0_100_percent_is_unknown_not_stored() -> None:
    files = sorted(p for p in CAFEF.glob("*/GDKhoiNgoai.csv") if p.parent.name != "VNINDEX")
    own = pd.concat([read_cafef_foreign_flows(p)[0] for p in files], ignore_index=True)
    values = own["ownership"].dropna()
    assert ((values >= 0) & (values <= 1)).all()  # the column's CHECK holds for every stored value
    assert own["ownership"].isna().sum() == 3829 + 35  # negative percentages, share counts in the % column
    anv = own[own["symbol"] == "ANV"].set_index("trading_date")["ownership"]
    assert np.isnan(anv[dt.date(2010, 8, 20)])  # DangSoHuu 4152617.0 there


def test_ownership_rules_on_a_generated_file(tmp_path: Path) -> None:
    header = "Ngay,KLGDRong,GTDGRong,ThayDoi,KLMua,GtMua,KLBan,GtBan,RoomConLai,DangSoHuu"
    path = _write(
        tmp_path,
        "XYZ",
        [
            header,
            "03/01/2024,0,0,0,0,0,0,0,100,49.5",
            "02/01/2024,0,0,0,0,0,0,0,100,-1.2",
            "04/01/2024,0,0,0,0,0,0,0,100,250",
            "05/01/2024,0,0,0,0,0,0,0,100,n/a",
            "05/01/2024,0,0,0,0,0,0,0,100,10",
            "bad,0,0,0,0,0,0,0,100,10",
        ],
        name="GDKhoiNgoai.csv",
    )
    own, rejected = read_cafef_foreign_flows(path)
    assert own["trading_date"].tolist() == [dt.date(2024, 1, d) for d in (2, 3, 4, 5)]
    assert own["ownership"].iloc[1] == pytest.approx(0.495)
    assert own["ownership"].drop(index=1).isna().all()  # negative, >100 %, and the first row of a repeated date
    assert set(rejected["rule"]) == {"duplicate_trading_date", "unparseable_trading_date"}
