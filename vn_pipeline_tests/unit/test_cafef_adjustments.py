"""Corporate actions read off CafeF's adjusted close (real exports and generated files), and the check's rule for
price cuts the vendor never adjusted (MWG 2021-08-30, generated: MWG is not in the shared set)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vn_pipeline.lib.market.calendar import trading_days
from vn_pipeline.lib.sources.vendors.cafef_adjustments import (
    ACTION_COLUMNS,
    classify,
    corporate_actions_from_adjustment,
    unadjusted_moves,
)
from vn_pipeline.lib.sources.vendors.cafef_files import read_cafef_prices
from vn_pipeline_tests.real_data import VN_REAL, needs_vn_real

HEADER = (
    "Ngay,GiaDieuChinh,GiaDongCua,ThayDoi,KhoiLuongKhopLenh,GiaTriKhopLenh,KLThoaThuan,GtThoaThuan,"
    "GiaMoCua,GiaCaoNhat,GiaThapNhat"
)


def write_cafef(path: Path, days: list[dt.date], close_kvnd: list[float], adj_kvnd: list[float]) -> Path:
    """A PriceHistory.csv in CafeF's layout (BOM, dd/mm/yyyy, kVND, newest first as VCB's export)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [HEADER]
    for day, close, adj in reversed(list(zip(days, close_kvnd, adj_kvnd, strict=True))):
        volume = 100_000
        lines.append(
            f"{day:%d/%m/%Y},{adj:.2f},{close:.2f},0(0 %),{volume},{close * 1000 * volume:.1f},0,0,"
            f"{close:.2f},{close:.2f},{close:.2f}"
        )
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def frame(days: list[dt.date], close: list[int], adj: list[float], symbol: str = "TST") -> pd.DataFrame:
    return pd.DataFrame({"trading_date": days, "symbol": symbol, "close": close, "adj_close": adj})


def vendor_adjusted(close: np.ndarray, events: dict[int, float]) -> np.ndarray:
    """CafeF's adjusted close of a raw series: backward product of the (4-decimal) factors, rounded to 10 VND."""
    k = np.ones(len(close))
    for row, factor in events.items():
        k[:row] *= round(factor, 4)
    return np.round(close * k / 10) * 10


@needs_vn_real
def test_vcb_stock_dividend_and_cash_dividends_from_the_real_export() -> None:
    prices, _ = read_cafef_prices(VN_REAL / "cafef" / "VCB" / "PriceHistory.csv")
    actions = corporate_actions_from_adjustment(prices).set_index("trading_date")
    assert list(actions.reset_index().columns) == list(ACTION_COLUMNS)
    event = actions.loc[dt.date(2025, 3, 12)]
    assert event["kind"] == "stock_dividend" and event["ratio"] == pytest.approx(0.495)
    assert event["reference_before"] == 96_800 and event["reference_after"] == round(96_800 / 1.495)
    assert pd.isna(event["cash_per_share"]) and event["inferred"]
    # VCB paid 800 VND a share in cash each year 2017-2020: the cut equals the dividend on each ex-date.
    cash = actions[(actions["kind"] == "cash_dividend") & (actions.index >= dt.date(2017, 1, 1))]
    assert len(cash) >= 4 and (cash["cash_per_share"] == 800).all()
    assert ((cash["reference_before"] - cash["reference_after"]) == 800).all()
    assert (cash["ratio"] == 0).all()


@needs_vn_real
@pytest.mark.parametrize("symbol", ["VCB", "ACB", "VNM", "SPC", "THD", "TKU", "BWA", "HCC"])
def test_the_events_rebuild_the_vendors_adjusted_close(symbol: str) -> None:
    """Backward-applying the events to the raw closes gives CafeF's adjusted close back to its rounding, on every
    row but the vendor's own glitches (SPC, THD, TKU: adj = close on 2023-05-15 and 2023-06-13)."""
    prices, _ = read_cafef_prices(VN_REAL / "cafef" / symbol / "PriceHistory.csv")
    actions = corporate_actions_from_adjustment(prices)
    factor = (actions["reference_after"] / actions["reference_before"]).to_numpy()
    ex = pd.to_datetime(actions["trading_date"]).to_numpy()
    days = pd.to_datetime(prices["trading_date"]).to_numpy()
    k = np.ones(len(prices))
    for day, f in zip(ex, factor, strict=True):
        k[days < day] *= f
    rebuilt = prices["close"].to_numpy() * k
    # Rounding: 5 VND on the adjusted close and ~1e-4 per factor (the vendor rounds factors to 4 decimals).
    tolerance = 5 + rebuilt * 1.5e-4 * np.maximum(1, (days[:, None] < ex[None, :]).sum(axis=1)) + 1
    off = np.abs(rebuilt - prices["adj_close"].to_numpy()) > tolerance
    assert off.sum() <= 4, prices.loc[off, ["trading_date", "close", "adj_close"]].head()


def test_a_one_day_vendor_glitch_and_a_re_rounding_are_no_events() -> None:
    days = trading_days(dt.date(2023, 5, 2), dt.date(2023, 6, 30))
    close = np.full(len(days), 15_000) + (np.arange(len(days)) % 7) * 100
    adj = vendor_adjusted(close, {30: 0.9})
    adj[10] = close[10]  # adj_close = close for one day, then the old K again (SPC 2023-05-15)
    adj[25:30] = np.round(close[25:30] * 0.90004 / 10) * 10  # the vendor re-rounds K by 4e-5: 0.6 VND of cut
    actions = corporate_actions_from_adjustment(frame(days, list(close), list(adj)))
    assert list(actions["trading_date"]) == [days[30]]
    assert actions["reference_before"].iloc[0] == close[29]


@pytest.mark.parametrize(
    ("reference", "factor", "expected"),
    [
        (96_800, 1 / 1.495, ("stock_dividend", 0.495, None, 64_749)),
        (98_900, 1 - 800 / 98_900, ("cash_dividend", 0.0, 800, 98_100)),
        (12_900, 1 / (1 + 1 / 7), ("stock_dividend", 1 / 7, None, 11_288)),  # 7:1
        (22_000, 1 / 1.1, ("unknown", 0.0, None, 20_000)),  # 10% or 2,000 VND: the data cannot tell
        (25_000, (25_000 + 0.3 * 10_000) / (1.3 * 25_000), ("rights_issue", 0.3, None, 21_538)),  # 10:3 at par
        (9_900, 1.3077, ("unknown", 0.0, None, 12_946)),  # the adjusted series jumps up (VFR 2017-06-09)
    ],
)
def test_kind_from_the_announced_number_the_factor_fits(reference: int, factor: float, expected: tuple) -> None:
    vendor = round(factor, 4)  # what CafeF's plateaus give back: the factor to 4 decimals
    kind, ratio, cash, after = classify(reference, vendor - 1e-6, vendor + 1e-6)
    assert (kind, cash, after) == (expected[0], expected[2], expected[3])
    assert ratio == pytest.approx(expected[1])


def test_a_noisy_low_priced_cash_dividend_is_still_found_on_its_plateaus() -> None:
    """500 VND on a 3,500 VND stock whose old adjusted closes sit near 1,000 VND (±0.5% per row from rounding)."""
    days = trading_days(dt.date(2012, 1, 3), dt.date(2012, 6, 29))
    rng = np.random.default_rng(7)
    close = 3_500 + rng.integers(-5, 6, len(days)) * 100
    close[60] = 3_500
    k_later = 0.2873  # later events keep the whole window's adjusted prices small (~860 VND before the ex-date)
    adj = np.round(close * k_later * np.where(np.arange(len(days)) <= 60, 1 - 500 / 3_500, 1.0) / 10) * 10
    actions = corporate_actions_from_adjustment(frame(days, list(close), list(adj)))
    assert len(actions) == 1
    event = actions.iloc[0]
    assert event["trading_date"] == days[61] and event["kind"] == "cash_dividend"
    assert event["cash_per_share"] == 500 and event["reference_after"] == 3_000


def test_mwg_unadjusted_event_is_raised_and_an_adjusted_one_is_not(tmp_path: Path) -> None:
    days = trading_days(dt.date(2021, 8, 16), dt.date(2021, 9, 10))
    ex = days.index(dt.date(2021, 8, 30))
    close = [148.0 + (i % 3) * 0.5 for i in range(ex)] + [99.5 + (i % 3) * 0.3 for i in range(len(days) - ex)]
    path = write_cafef(tmp_path / "MWG" / "PriceHistory.csv", days, close, close)  # adjusted = raw: never adjusted
    prices, rejected = read_cafef_prices(path)
    assert rejected.empty and len(prices) == len(days)
    actions = corporate_actions_from_adjustment(prices)
    assert actions.empty  # K never changed
    moves = unadjusted_moves(prices, actions)
    assert list(moves["trading_date"]) == [dt.date(2021, 8, 30)] and list(moves["symbol"]) == ["MWG"]
    assert moves["raw_return"].iloc[0] == pytest.approx(99.5 / close[ex - 1] - 1)
    assert moves["adjusted_return"].iloc[0] == pytest.approx(moves["raw_return"].iloc[0])

    # The same cut with the vendor's adjustment (K changes on the ex-date) is an event, not an alarm.
    adjusted = list(vendor_adjusted(np.array(close) * 1000, {ex: 99_500 / 149_000}) / 1000)
    prices, _ = read_cafef_prices(write_cafef(tmp_path / "MWG2" / "PriceHistory.csv", days, close, adjusted))
    actions = corporate_actions_from_adjustment(prices)
    assert list(actions["trading_date"]) == [dt.date(2021, 8, 30)]
    assert unadjusted_moves(prices, actions).empty
    # From the stored tables (bars without adj_close) the stored event explains its own ex-date too ...
    bars = prices.drop(columns="adj_close")
    assert unadjusted_moves(bars, actions).empty
    # ... and without it the cut is raised.
    assert list(unadjusted_moves(bars, actions.iloc[0:0])["trading_date"]) == [dt.date(2021, 8, 30)]


def test_a_move_within_upcoms_band_or_after_a_long_halt_is_not_raised() -> None:
    days = trading_days(dt.date(2024, 1, 2), dt.date(2024, 4, 30))
    rows = [0, 1, 2, 40]  # the symbol is halted between rows 2 and 40: 37 sessions
    close = [10_000, 11_400, 10_100, 13_600]  # +14%, −11.4%, then +34.7% on the first day after the halt
    bars = frame([days[i] for i in rows], close, [float(c) for c in close])
    assert unadjusted_moves(bars, corporate_actions_from_adjustment(bars)).empty
    close[1] = 11_800  # +18%: beyond UPCoM's ±15%, the widest board
    bars = frame([days[i] for i in rows], close, [float(c) for c in close])
    assert list(unadjusted_moves(bars, corporate_actions_from_adjustment(bars))["trading_date"]) == [days[1]]


@needs_vn_real
def test_every_real_ticker_parses_into_events_with_consistent_fields() -> None:
    folders = sorted(p for p in (VN_REAL / "cafef").iterdir() if (p / "PriceHistory.csv").exists())
    folders = [p for p in folders if p.name != "VNINDEX"][::10]  # every tenth ticker: the full set is in the note
    prices = pd.concat([read_cafef_prices(p / "PriceHistory.csv")[0] for p in folders], ignore_index=True)
    actions = corporate_actions_from_adjustment(prices)
    assert len(actions) > 5 * len(folders) and not actions.duplicated(["trading_date", "symbol"]).any()
    cash = actions["kind"] == "cash_dividend"
    assert (
        (actions.loc[cash, "reference_before"] - actions.loc[cash, "reference_after"])
        .eq(actions.loc[cash, "cash_per_share"].astype("int64"))
        .all()
    )
    assert actions.loc[~cash, "cash_per_share"].isna().all() and actions["inferred"].all()
    assert set(actions["kind"]) <= {"stock_dividend", "cash_dividend", "rights_issue", "unknown"}
