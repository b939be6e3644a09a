"""T+2 settlement ("T+2.5" selling) and default trading costs, pinned to ../shared/VN_MARKET.md."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

from vn_pipeline.lib.market import (
    DEFAULT_FEES,
    VN_TZ,
    Fees,
    can_sell,
    earliest_sell_time,
    settlement_date,
)

D = dt.date


def test_t_plus_two_plain_week() -> None:
    assert settlement_date(D(2024, 3, 4)) == D(2024, 3, 6)  # Mon -> Wed


def test_t_plus_two_across_weekend() -> None:
    assert settlement_date(D(2024, 3, 7)) == D(2024, 3, 11)  # Thu -> Mon
    assert settlement_date(D(2024, 3, 8)) == D(2024, 3, 12)  # Fri -> Tue


def test_t_plus_two_across_tet() -> None:
    # Tết 2024 closed 8-14 Feb: a buy on Tue 6 Feb settles on Thu 15 Feb.
    assert settlement_date(D(2024, 2, 6)) == D(2024, 2, 15)
    assert settlement_date(D(2024, 2, 7)) == D(2024, 2, 16)


def test_settlement_rejects_non_trading_days() -> None:
    with pytest.raises(ValueError, match="not a trading day"):
        settlement_date(D(2024, 2, 10))


def test_shares_sellable_from_afternoon_of_t_plus_two() -> None:
    buy = D(2024, 3, 4)
    assert earliest_sell_time(buy) == dt.datetime(2024, 3, 6, 13, 0, tzinfo=VN_TZ)
    assert not can_sell(buy, dt.datetime(2024, 3, 5, 14, 0, tzinfo=VN_TZ))  # T+1
    assert not can_sell(buy, dt.datetime(2024, 3, 6, 9, 15, tzinfo=VN_TZ))  # morning of T+2
    assert not can_sell(buy, dt.datetime(2024, 3, 6, 12, 59, 59, tzinfo=VN_TZ))
    assert can_sell(buy, dt.datetime(2024, 3, 6, 13, 0, tzinfo=VN_TZ))
    assert can_sell(buy, dt.datetime(2024, 3, 7, 9, 15, tzinfo=VN_TZ))
    # Naive times are Vietnamese local; an aware UTC time is converted (06:00 UTC = 13:00 ICT).
    assert can_sell(buy, dt.datetime(2024, 3, 6, 13, 0))
    assert can_sell(buy, dt.datetime(2024, 3, 6, 6, 0, tzinfo=dt.UTC))
    assert not can_sell(buy, dt.datetime(2024, 3, 6, 5, 59, tzinfo=dt.UTC))


def test_fee_defaults() -> None:
    assert Fees(buy_fee=0.0015, sell_fee=0.0015, sale_tax=0.001) == DEFAULT_FEES
    assert DEFAULT_FEES.buy_cost(100_000_000) == pytest.approx(150_000)
    assert DEFAULT_FEES.sell_cost(100_000_000) == pytest.approx(250_000)  # 0.15% + 0.1% tax
    assert DEFAULT_FEES.round_trip_rate == pytest.approx(0.004)
    np.testing.assert_allclose(DEFAULT_FEES.sell_cost(np.array([1e6, 2e6])), [2_500, 5_000])


def test_fees_are_frozen_and_validated() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_FEES.buy_fee = 0.0  # type: ignore[misc]
    custom = Fees(buy_fee=0.001, sell_fee=0.001)
    assert custom.sell_cost(1_000_000) == pytest.approx(2_000)
    with pytest.raises(ValueError):
        Fees(buy_fee=-0.001)
