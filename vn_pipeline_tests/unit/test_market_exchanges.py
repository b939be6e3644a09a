"""Exchange rules pinned to ../shared/VN_MARKET.md ("Exchanges and instruments")."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pytest

from vn_pipeline.lib.market import (
    BAND,
    EXCHANGES,
    FIRST_DAY_BAND,
    MAX_ORDER_SHARES_HOSE,
    board_lot,
    is_odd_lot,
    on_tick_grid,
    price_limits,
    price_limits_array,
    round_down_to_tick,
    round_up_to_tick,
    tick_size,
    tick_sizes,
)
from vn_pipeline.lib.market import exchanges as ex


def test_exchange_codes_and_band_tables() -> None:
    assert EXCHANGES == ("HOSE", "HNX", "UPCOM")
    assert dict(BAND) == {"HOSE": 0.07, "HNX": 0.10, "UPCOM": 0.15}
    assert dict(FIRST_DAY_BAND) == {"HOSE": 0.20, "HNX": 0.30, "UPCOM": 0.40}
    # The exact basis-point tables used for arithmetic must agree with the float views.
    for e in EXCHANGES:
        assert ex.BAND_BP[e] == round(BAND[e] * 10_000)
        assert ex.FIRST_DAY_BAND_BP[e] == round(FIRST_DAY_BAND[e] * 10_000)
    assert MAX_ORDER_SHARES_HOSE == 500_000


@pytest.mark.parametrize(
    ("price", "tick"),
    [
        (10, 10),
        (9_990, 10),
        (9_999, 10),
        (10_000, 50),
        (49_950, 50),
        (49_999, 50),
        (50_000, 100),
        (250_000, 100),
    ],
)
def test_hose_stock_tick_regimes(price: int, tick: int) -> None:
    assert tick_size("HOSE", price) == tick


def test_hose_fund_ticks_and_flat_ticks_elsewhere() -> None:
    assert tick_size("HOSE", 75_000, "etf") == 10
    assert tick_size("HOSE", 15_000, "cw") == 10
    for e in ("HNX", "UPCOM"):
        assert tick_size(e, 600) == 100
        assert tick_size(e, 9_000) == 100
        assert tick_size(e, 120_000) == 100
    assert tick_size("UPCoM", 600) == 100  # vendor spelling accepted
    assert tick_size("hsx", 600) == 10
    with pytest.raises(ValueError, match="unknown exchange"):
        tick_size("NYSE", 100)
    with pytest.raises(ValueError):
        tick_size("HOSE", 0)
    with pytest.raises(ValueError, match="not documented"):
        tick_size("HNX", 10_000, "etf")


def test_rounding_uses_the_tick_of_the_price_region() -> None:
    assert round_down_to_tick("HOSE", 9_995) == 9_990
    assert round_up_to_tick("HOSE", 9_995) == 10_000
    assert round_down_to_tick("HOSE", 10_049) == 10_000
    assert round_up_to_tick("HOSE", 10_001) == 10_050
    assert round_down_to_tick("HOSE", 49_999) == 49_950
    assert round_up_to_tick("HOSE", 49_951) == 50_000
    assert round_down_to_tick("HOSE", 50_020) == 50_000
    assert round_up_to_tick("HOSE", 50_020) == 50_100
    assert round_down_to_tick("UPCOM", 690) == 600
    assert round_down_to_tick("HOSE", 10_750) == 10_750  # already on grid


def test_hose_ceiling_is_rounded_down_below_seven_percent() -> None:
    # VN_MARKET.md example: ref 10,050 -> ceiling 10,750 (+6.97%), not 10,753.5 or 10,800.
    floor, ceiling = price_limits("HOSE", 10_050)
    assert ceiling == 10_750
    assert (ceiling / 10_050 - 1) < 0.07
    # floor: 10,050 x 0.93 = 9,346.5 -> rounded UP on the 10-grid of that region.
    assert floor == 9_350


@pytest.mark.parametrize(
    ("exchange", "ref", "expected"),
    [
        ("HOSE", 9_990, (9_300, 10_650)),  # 10,689.3 -> 50-grid below
        ("HOSE", 10_000, (9_300, 10_700)),
        ("HOSE", 46_800, (43_550, 50_000)),  # 50,076 -> crosses into the 100-grid -> 50,000
        ("HOSE", 50_000, (46_500, 53_500)),
        ("HOSE", 53_800, (50_100, 57_500)),  # 50,034 -> rounded up on the 100-grid
        ("HOSE", 25_000, (23_250, 26_750)),
        ("HNX", 10_000, (9_000, 11_000)),
        ("HNX", 12_300, (11_100, 13_500)),  # 11,070 up -> 11,100; 13,530 down -> 13,500
        ("UPCOM", 10_000, (8_500, 11_500)),
        ("UPCOM", 12_300, (10_500, 14_100)),  # 10,455 -> 10,500; 14,145 -> 14,100
    ],
)
def test_price_limits_normal_day(exchange: str, ref: int, expected: tuple[int, int]) -> None:
    assert price_limits(exchange, ref) == expected


@pytest.mark.parametrize(
    ("exchange", "ref", "expected"),
    [
        ("HOSE", 20_000, (16_000, 24_000)),
        ("HOSE", 10_050, (8_040, 12_050)),  # 12,060 -> 50-grid 12,050
        ("HNX", 10_000, (7_000, 13_000)),
        ("UPCOM", 10_000, (6_000, 14_000)),
    ],
)
def test_price_limits_first_day(exchange: str, ref: int, expected: tuple[int, int]) -> None:
    assert price_limits(exchange, ref, first_day=True) == expected


def test_low_priced_stock_moves_at_least_one_tick() -> None:
    # 600 x 15% = 90 VND < 100 VND tick: vendor data shows 600 -> 700 on UPCoM.
    assert price_limits("UPCOM", 600) == (500, 700)
    assert price_limits("HNX", 900) == (800, 1_000)  # 90 VND band on HNX too
    assert price_limits("HOSE", 100) == (90, 110)  # 7 VND band < 10 VND tick
    # The floor never reaches 0: a 100 VND UPCoM stock has no lower grid price.
    assert price_limits("UPCOM", 100) == (100, 200)


def test_hose_etf_limits_use_the_ten_vnd_grid() -> None:
    # 10,050 x 1.07 = 10,753.5 -> 10,750 on the 10-grid (stock grid would also give 10,750);
    # 15,010 x 1.07 = 16,060.7 -> 16,060 for an ETF but 16,050 for a stock.
    assert price_limits("HOSE", 15_010, instrument_type="etf")[1] == 16_060
    assert price_limits("HOSE", 15_010)[1] == 16_050


def test_price_limits_reject_nonpositive_reference() -> None:
    with pytest.raises(ValueError):
        price_limits("HOSE", 0)


def test_vectorized_limits_equal_scalar_on_random_refs() -> None:
    rng = np.random.default_rng(20240208)
    n = 20_000
    exch = rng.choice(np.array(EXCHANGES, dtype=object), n)
    # Mix of tiny prices (one-tick rule), regime boundaries and general prices.
    refs = np.concatenate(
        [
            rng.integers(1, 2_000, n // 4),
            rng.integers(9_000, 11_000, n // 4),
            rng.integers(45_000, 55_000, n // 4),
            rng.integers(1, 300_000, n - 3 * (n // 4)),
        ]
    )
    first = rng.random(n) < 0.3
    floor, ceiling = price_limits_array(exch, refs, first)
    assert floor.dtype == np.int64 and ceiling.dtype == np.int64
    expected = [price_limits(e, int(r), bool(f)) for e, r, f in zip(exch, refs, first, strict=True)]
    assert floor.tolist() == [fl for fl, _ in expected]
    assert ceiling.tolist() == [ce for _, ce in expected]
    # Limits are always on the grid and strictly around the reference.
    assert on_tick_grid(exch, floor).all() and on_tick_grid(exch, ceiling).all()
    assert (ceiling > refs).all()
    # ...except references at or below the smallest grid price, whose floor is that price.
    smallest = tick_sizes(exch, np.ones_like(refs))
    assert ((floor < refs) | ((refs <= smallest) & (floor == smallest))).all()


def test_vectorized_limits_broadcast_and_handle_bad_rows() -> None:
    exch = np.array(["HOSE", "HNX", "UPCOM"])
    refs = np.array([[10_050.0, 10_000.0, 600.0], [np.nan, 0.0, 12_300.0]])
    floor, ceiling = price_limits_array(exch, refs)
    assert floor.shape == (2, 3)
    assert ceiling[0].tolist() == [10_750, 11_000, 700]
    assert floor[0].tolist() == [9_350, 9_000, 500]
    assert np.isnan(ceiling[1, 0]) and np.isnan(floor[1, 1])  # bad rows do not raise
    assert ceiling[1, 2] == 14_100
    # kVND x 1000 float noise is rounded to whole VND.
    assert price_limits_array("HOSE", np.array([10.05 * 1000]))[1].tolist() == [10_750]


def test_vectorized_limits_are_fast() -> None:
    rng = np.random.default_rng(1)
    exch = rng.choice(np.array(EXCHANGES, dtype=object), 1_600)
    refs = rng.integers(100, 200_000, (3_000, 1_600))
    price_limits_array(exch[:10], refs[:10, :10])  # warm-up
    start = time.perf_counter()
    floor, _ = price_limits_array(exch, refs)
    elapsed = time.perf_counter() - start
    assert floor.shape == (3_000, 1_600)
    assert elapsed < 1.5, f"price_limits_array took {elapsed:.2f}s"


def test_tick_sizes_and_grid_check_vectorized() -> None:
    exch = np.array(["HOSE"] * 4 + ["HNX", "UPCOM"], dtype=object)
    prices = np.array([9_990, 10_000, 49_950, 50_000, 9_990, 600])
    assert tick_sizes(exch, prices).tolist() == [10, 50, 50, 100, 100, 100]
    assert on_tick_grid(exch, prices).tolist() == [True, True, True, True, False, True]
    off = np.array([9_995, 10_010, 49_960, 50_050, 10_050, 650])
    assert not on_tick_grid(exch, off).any()
    # kVND floats: 48.5 kVND is on the HOSE grid, 48.51 kVND is not; NaN is not.
    kvnd = np.array([48.5, 48.51, np.nan]) * 1_000
    assert on_tick_grid("HOSE", kvnd).tolist() == [True, False, False]
    assert ex.round_down_to_tick_array("HOSE", np.array([9_995, 50_020])).tolist() == [9_990, 50_000]
    assert ex.round_up_to_tick_array("HOSE", np.array([9_995, 49_951])).tolist() == [10_000, 50_000]


def test_board_lot_changed_on_hose_in_2021() -> None:
    assert board_lot("HOSE", dt.date(2020, 12, 31)) == 10
    assert board_lot("HOSE", dt.date(2021, 1, 4)) == 100
    assert board_lot("HNX", dt.date(2015, 6, 1)) == 100
    assert board_lot("UPCOM", dt.date(2025, 6, 1)) == 100


def test_odd_lots_are_one_to_board_lot_minus_one() -> None:
    on = dt.date(2024, 1, 2)
    assert is_odd_lot(1, "HOSE", on) and is_odd_lot(99, "HNX", on)
    assert not is_odd_lot(100, "HOSE", on)
    assert not is_odd_lot(0, "UPCOM", on)
    assert not is_odd_lot(50, "HOSE", dt.date(2020, 6, 1))  # board lot was 10 then
    assert is_odd_lot(np.array([0, 5, 99, 100, 250]), "HOSE", on).tolist() == [
        False,
        True,
        True,
        False,
        False,
    ]
