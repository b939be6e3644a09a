"""Listings from CafeF history: the board of each day inferred from the prices where the company list (today's
board only) cannot say, flagged; references and limits by the rules of that day's board."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from vn_pipeline.lib.market.calendar import trading_days
from vn_pipeline.lib.market.exchanges import price_limits
from vn_pipeline.lib.sources.vendors.cafef_adjustments import corporate_actions_from_adjustment
from vn_pipeline.lib.sources.vendors.cafef_files import read_cafef_prices
from vn_pipeline.lib.sources.vendors.cafef_listings import listings_from_prices, read_companies
from vn_pipeline_tests.real_data import VN_REAL, needs_vn_real

NO_ACTIONS = pd.DataFrame()


def _bars(symbol: str, start: date, closes: list[int], volume: int = 1000) -> pd.DataFrame:
    days = trading_days(start, date(2030, 1, 1))[: len(closes)]
    close = np.asarray(closes, dtype=np.int64)
    return pd.DataFrame(
        {
            "trading_date": days, "symbol": symbol, "open": close, "high": close, "low": close, "close": close,
            "volume": volume, "value": close * volume,
        }
    )  # fmt: skip


def _companies(**boards: str | None) -> pd.DataFrame:
    return pd.DataFrame({"symbol": list(boards), "board": list(boards.values()), "sector": "Tài chính"})


def _walk(n: int, start: int = 20_000, step: int = 100) -> list[int]:
    """A quiet series on every board's grid: ±1 tick a day, nothing any band excludes."""
    return [start + (step if i % 2 else 0) for i in range(n)]


def test_a_move_no_hose_band_allows_dates_an_earlier_board() -> None:
    closes = _walk(300)
    for day in (50, 100, 150):  # +9% and back next day: beyond HOSE's 7%, inside HNX's 10%
        closes[day] = closes[day - 1] + 1_800
    closes[250:] = [21_050 + (50 if i % 2 else 0) for i in range(50)]  # 50 VND steps: HOSE only
    listed = listings_from_prices(_bars("AAA", date(2017, 1, 3), closes), _companies(AAA="HOSE"), NO_ACTIONS)
    boards = listed["exchange"].to_numpy()
    assert set(boards[:250]) == {"HNX"} and set(boards[250:]) == {"HOSE"}  # moved when HOSE-only prices begin
    assert listed["exchange_inferred"].to_numpy()[:250].all() and not listed["exchange_inferred"][250:].any()
    assert listed["first_day"].to_numpy()[[0, 250]].all() and listed["first_day"].sum() == 2


def test_one_odd_day_does_not_invent_a_transfer_and_back() -> None:
    closes = [21_050 + (50 if i % 2 else 0) for i in range(200)]
    closes[120] = int(closes[119] * 1.09) // 50 * 50  # one vendor typo beyond HOSE's band
    listed = listings_from_prices(_bars("AAA", date(2018, 1, 2), closes), _companies(AAA="HOSE"), NO_ACTIONS)
    assert set(listed["exchange"]) == {"HOSE"} and not listed["exchange_inferred"].any()


def test_no_board_before_it_opened_and_a_delisted_symbol_is_all_inferred() -> None:
    bars = _bars("OLD", date(2004, 6, 1), _walk(400))  # spans HASTC's opening on 2005-07-14
    listed = listings_from_prices(bars, _companies(OLD=None), NO_ACTIONS)
    before = listed["trading_date"] < date(2005, 7, 14)
    assert set(listed.loc[before, "exchange"]) == {"HOSE"}
    assert listed["exchange_inferred"].all()  # no exchange today: nothing here is the vendor's word


def test_references_and_limits_follow_the_board_of_the_day() -> None:
    hose = _bars("HHH", date(2024, 3, 1), [30_000, 30_500, 31_000])
    upcom = _bars("UUU", date(2024, 3, 1), [10_000, 10_400, 10_800])
    upcom.loc[1, ["low", "high", "value"]] = [10_000, 10_600, 1000 * 10_260]  # average 10,260 → 10,300 on the grid
    companies = _companies(HHH="HOSE", UUU="UPCOM")
    listed = listings_from_prices(pd.concat([hose, upcom]), companies, NO_ACTIONS).set_index(["symbol"])
    h, u = listed.loc["HHH"].iloc[2], listed.loc["UUU"].iloc[2]
    assert h["reference_price"] == 30_500 and (h["floor_price"], h["ceiling_price"]) == price_limits("HOSE", 30_500)
    assert u["reference_price"] == 10_300 and (u["floor_price"], u["ceiling_price"]) == price_limits("UPCOM", 10_300)
    first = listed.loc["HHH"].iloc[0]
    assert first["first_day"] and first["ceiling_price"] == price_limits("HOSE", 30_000, first_day=True)[1]


def test_an_ex_date_cuts_the_reference_by_the_actions_factor() -> None:
    bars = _bars("VVV", date(2024, 3, 1), [96_800, 96_800, 66_700])
    actions = pd.DataFrame({"trading_date": [bars["trading_date"][2]], "symbol": ["VVV"],
                            "reference_before": [96_800], "reference_after": [64_749]})  # fmt: skip
    listed = listings_from_prices(bars, _companies(VVV="HOSE"), actions)
    assert listed["reference_price"].iloc[2] == 64_700  # 96,800 / 1.495 on HOSE's 100 VND grid
    assert listed["exchange"].iloc[2] == "HOSE"  # the −31% cut is the action, no evidence against HOSE


def test_the_company_list_is_required() -> None:
    with pytest.raises(FileNotFoundError, match=r"companies_vnallshare\.csv"):
        read_companies(VN_REAL / "no_such_folder")


@needs_vn_real
def test_acb_was_on_hnx_until_december_2020() -> None:
    prices, _ = read_cafef_prices(VN_REAL / "cafef" / "ACB" / "PriceHistory.csv")
    actions = corporate_actions_from_adjustment(prices)
    listed = listings_from_prices(prices, read_companies(VN_REAL / "cafef"), actions).set_index("trading_date")
    assert listed.loc[date(2019, 6, 3), "exchange"] == "HNX" and listed.loc[date(2019, 6, 3), "exchange_inferred"]
    assert listed.loc[date(2021, 6, 1), "exchange"] == "HOSE" and not listed.loc[date(2021, 6, 1), "exchange_inferred"]
    assert listed.loc[date(2020, 12, 9), "first_day"]  # its first session on HOSE
    hose = listed[listed["exchange"] == "HOSE"].index
    assert min(hose) == date(2020, 12, 9)
    assert listed.loc[date(2021, 6, 1), "sector"] == "Tài chính"


def test_a_long_halt_of_zero_volume_rows_opens_with_the_wide_band() -> None:
    """BWA 2013: the vendor lists a halted name with volume 0 every day; after 25 such sessions the first trade
    may move ±40% on UPCoM (it fell to 17,400 from 29,000), so that day's limits are the first-day band's."""
    bars = _bars("HLT", date(2018, 1, 2), [29_000] * 40 + [17_400])
    bars.loc[5:39, ["volume", "value"]] = 0
    listed = listings_from_prices(bars, _companies(HLT="UPCOM"), NO_ACTIONS)
    last = listed.iloc[-1]
    assert last["first_day"] and (last["floor_price"], last["ceiling_price"]) == price_limits("UPCOM", 29_000, True)
    assert not listed["first_day"].iloc[1:30].any()  # 24 sessions without a trade are not a long halt yet
